"""Generic sympy builders on a :class:`~icrl_lib.incontext.PromptLayout` (chapters 2-5).

Two kinds, matching the two kinds of proof of :mod:`icrl_lib.symbolic.core`:

* **Explicit** (``symbolic_*``, :func:`render_blocks_sympy`): sympy ``Matrix`` objects for concrete sizes;
  every entry may be a symbol. Features are ``(N, d)`` (one row per transition), as in the torch prompts.
* **Block** (``block_*``, :func:`render_block_matrices`): ``BlockMatrix`` objects whose block sizes may be
  symbols (``d``, ``N``). The context enters as matrix symbols whose *columns* are the transitions, the
  query as ``size x 1`` vectors. :func:`block_layout` turns a numeric layout function into a layout with
  symbolic sizes; :func:`block_tokens` returns the context block ``C`` (``D x N``) and the query ``h_q``
  (``D x 1``) in the form :func:`icrl_lib.symbolic.block_lsa_query_output` expects.

Constructions are never restated here: :func:`render_blocks_sympy` and :func:`render_block_matrices` render
the algorithm's block table (for example :func:`icrl_lib.incontext.sarsa_blocks`), the same table that
:func:`icrl_lib.incontext.render_blocks` renders numerically.
"""
from __future__ import annotations

from typing import Callable

import sympy as sp
from sympy import BlockMatrix, Identity, ZeroMatrix

from ..incontext import PromptLayout, is_matrix_value
from .core import check_scalar, check_symbolic_size

__all__ = ["as_matrix", "matrix_shape", "check_dim", "symbolic_prompt", "symbolic_block_matrix",
           "render_blocks_sympy", "block_layout", "block_index", "block_size", "block_tokens", "block_matrix",
           "block_part", "render_block_matrices"]


def as_matrix(x, name: str, shape: tuple) -> sp.Matrix:
    """Sympify ``x`` into a Matrix of ``shape`` (``ValueError`` naming ``name`` otherwise); a flat sequence or
    row/column vector of the right length is accepted for vectors (``shape[1] == 1``). Chapters 4-5."""
    if not (isinstance(shape, tuple) and len(shape) == 2
            and all(isinstance(k, int) and not isinstance(k, bool) and k >= 1 for k in shape)):
        raise ValueError(f"shape must be a pair of integers >= 1; got {shape!r}")
    try:
        M = sp.Matrix(x)
    except (TypeError, ValueError, sp.SympifyError) as exc:
        raise ValueError(f"{name} must be a sympy Matrix or nested sequence; got {type(x).__name__}") from exc
    if shape[1] == 1 and M.shape in ((1, shape[0]), (shape[0], 1)):
        return M.reshape(shape[0], 1)
    if M.shape != shape:
        raise ValueError(f"{name} must have shape {shape}; got {M.shape}")
    return M


def matrix_shape(x, name: str) -> tuple[int, int]:
    """The shape ``(N, d)`` of a non-empty sympy matrix (or nested sequence) ``x``. Chapters 4-5."""
    try:
        M = sp.Matrix(x)
    except (TypeError, ValueError, sp.SympifyError) as exc:
        raise ValueError(f"{name} must be a sympy Matrix of shape (N, d); got {type(x).__name__}") from exc
    if M.shape[0] < 1 or M.shape[1] < 1:
        raise ValueError(f"{name} must have shape (N, d) with N, d >= 1; got {M.shape}")
    return M.shape


def check_dim(n, name: str) -> int:
    """A concrete dimension: a Python integer >= 1 (``ValueError`` naming ``name``). Chapters 4-5."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {n!r}")
    return n


def _check_layout(layout) -> PromptLayout:
    if not isinstance(layout, PromptLayout):
        raise ValueError(f"layout must be a PromptLayout (e.g. incontext.sarsa_layout(d)); got {type(layout).__name__}")
    return layout


def _check_blocks(blocks, name: str, layout: PromptLayout) -> dict:
    if not isinstance(blocks, dict):
        raise ValueError(f"{name} must be a dict {{block name: matrix}}; got {type(blocks).__name__}")
    unknown = sorted(set(blocks) - set(layout.names), key=str)
    if unknown:
        raise ValueError(f"{name} must name blocks of the layout {list(layout.names)}; got {unknown}")
    return blocks


def symbolic_prompt(layout: PromptLayout, data: dict, params: dict, n_context: int) -> sp.Matrix:
    """A ``D x (N+1)`` sympy prompt: ``data[name]`` is ``(N, size)`` (one row per transition, written into
    the context columns of the rows ``name``), ``params[name]`` is ``(size, 1)`` (written into the query
    column). Blocks not given are zero. Mirrors :func:`icrl_lib.incontext.assemble` (chapters 2-5)."""
    _check_layout(layout)
    n_context = check_dim(n_context, "n_context")
    _check_blocks(data, "data", layout)
    _check_blocks(params, "params", layout)
    H = sp.zeros(layout.dim, n_context + 1)
    for name, block in data.items():
        H[layout.rows(name), :n_context] = as_matrix(block, f"data[{name!r}]", (n_context, layout.size(name))).T
    for name, vec in params.items():
        H[layout.rows(name), n_context] = as_matrix(vec, f"params[{name!r}]", (layout.size(name), 1))
    return H


def symbolic_block_matrix(layout: PromptLayout, entries: dict) -> sp.Matrix:
    """A ``D x D`` sympy Matrix that is zero except ``entries[(row_block, col_block)]`` (explicit blocks;
    chapters 4-5)."""
    _check_layout(layout)
    _check_entries(entries, layout)
    M = sp.zeros(layout.dim, layout.dim)
    for (row, col), block in entries.items():
        rows, cols = layout.rows(row), layout.rows(col)
        M[rows, cols] = as_matrix(block, f"entries[{(row, col)!r}]", (rows.stop - rows.start, cols.stop - cols.start))
    return M


def _check_entries(entries, layout: PromptLayout) -> dict:
    if not isinstance(entries, dict):
        raise ValueError(f"entries must be a dict {{(row_block, col_block): matrix}}; got {type(entries).__name__}")
    for key in entries:
        if not (isinstance(key, tuple) and len(key) == 2 and all(k in layout.names for k in key)):
            raise ValueError(f"entries keys must be (row_block, col_block) pairs of blocks of the layout "
                             f"{list(layout.names)}; got {key!r}")
    return entries


def _split_table(table, matrices) -> dict:
    if not isinstance(table, dict):
        raise ValueError(f"table must be a dict {{(matrix, row_block, col_block): value}}; got {type(table).__name__}")
    out = {m: {} for m in matrices}
    for key, value in table.items():
        if not (isinstance(key, tuple) and len(key) == 3 and key[0] in out):
            raise ValueError(f"table keys must be (matrix, row_block, col_block) with matrix in {matrices}; "
                             f"got {key!r}")
        out[key[0]][(key[1], key[2])] = value
    return out


def _table_value(value, where: str):
    # a block-table value: an explicit matrix / matrix expression, or a scalar coefficient of the identity
    if is_matrix_value(value):
        return value
    return check_scalar(value, where)


def render_blocks_sympy(layout: PromptLayout, table, matrices: tuple = ("P", "V")) -> tuple:
    """Render a block table (see :mod:`icrl_lib.incontext.layout`) as explicit ``D x D`` sympy Matrices, one
    per name in ``matrices``: a scalar value ``c`` becomes ``c I``, a matrix value is copied (chapters 2-5).
    ``layout`` must have concrete (integer) sizes; the symbolic twin of :func:`icrl_lib.incontext.render_blocks`.
    """
    _check_layout(layout)
    out = []
    for m, entries in _split_table(table, matrices).items():
        explicit = {}
        for (row, col), value in entries.items():
            if row not in layout.names or col not in layout.names:
                raise ValueError(f"table key {(m, row, col)!r} must name blocks of the layout {list(layout.names)}")
            value = _table_value(value, f"table[{(m, row, col)!r}]")
            r, c = layout.size(row), layout.size(col)
            if is_matrix_value(value):
                explicit[(row, col)] = sp.Matrix(value.as_explicit() if isinstance(value, sp.MatrixExpr) else value)
            else:
                if r != c:
                    raise ValueError(f"table[{(m, row, col)!r}] is a scalar but the block ({r}, {c}) is not square")
                explicit[(row, col)] = value * sp.eye(r)
        out.append(symbolic_block_matrix(layout, explicit))
    return tuple(out)


def block_layout(layout_fn: Callable[..., PromptLayout], *dims) -> PromptLayout:
    """The layout ``layout_fn(*dims)`` with symbolic dimensions (chapters 4-5).

    Every block size of the book's layouts is affine in the dimensions (``d``, ``d_c``, ``d_a``, or the
    constant 1). The affine coefficients are read off the numeric layout at ``(1, ..., 1)`` and with one
    dimension raised to 2, and checked at a third point, so the block names, order and sizes come from
    ``layout_fn`` itself. Example: ``block_layout(sarsa_layout, d)`` has blocks
    ``(phi: d, phi_next: d, r: 1, one: 1, w: d)``.
    """
    if not callable(layout_fn):
        raise ValueError("layout_fn must be a layout function such as incontext.sarsa_layout")
    if not dims:
        raise ValueError("dims must hold at least one dimension (an integer or a sympy expression)")
    dims = tuple(check_symbolic_size(x, "dims") for x in dims)
    k = len(dims)
    base = layout_fn(*([1] * k))
    names = [n for n, _ in base.blocks]
    coeffs = []
    for i in range(k):
        bumped = layout_fn(*[2 if j == i else 1 for j in range(k)])
        coeffs.append([s2 - s1 for (_, s1), (_, s2) in zip(base.blocks, bumped.blocks)])
    consts = [s - sum(c[b] for c in coeffs) for b, (_, s) in enumerate(base.blocks)]
    probe = [3 + 2 * i for i in range(k)]
    if [s for _, s in layout_fn(*probe).blocks] != [consts[b] + sum(c[b] * p for c, p in zip(coeffs, probe))
                                                    for b in range(len(names))]:
        raise ValueError("layout_fn must have block sizes that are affine in its dimensions")
    dims = [sp.sympify(x) for x in dims]
    sizes = [sp.Integer(consts[b]) + sum((c[b] * x for c, x in zip(coeffs, dims)), sp.Integer(0))
             for b in range(len(names))]
    return PromptLayout(tuple(zip(names, sizes)), base.n_data_blocks)


def block_index(layout: PromptLayout, name: str) -> int:
    """Position of the block ``name`` in ``layout.blocks`` (chapters 4-5)."""
    _check_layout(layout)
    names = [n for n, _ in layout.blocks]
    if name not in names:
        raise ValueError(f"name must be one of {names}; got {name!r}")
    return names.index(name)


def block_size(layout: PromptLayout, name: str):
    """The (possibly symbolic) size of block ``name`` of ``layout`` (chapters 4-5)."""
    _check_layout(layout)
    return layout.blocks[block_index(layout, name)][1]


def _block_of(x, name: str, shape: tuple):
    """``x`` as a matrix expression of ``shape`` (sizes compared symbolically)."""
    if isinstance(x, sp.MatrixBase):
        x = sp.ImmutableMatrix(x)
    if not isinstance(x, sp.MatrixExpr) and not isinstance(x, sp.MatrixBase):
        raise ValueError(f"{name} must be a sympy matrix expression; got {type(x).__name__}")
    if any(sp.simplify(a - b) != 0 for a, b in zip(x.shape, shape)):
        raise ValueError(f"{name} must have shape {shape}; got {x.shape}")
    return x


def block_tokens(layout: PromptLayout, data: dict, params: dict, n_context) -> tuple[BlockMatrix, BlockMatrix]:
    """``(C, h_q)``: the context block (``D x N``) and the query (``D x 1``) as column BlockMatrices.

    ``data[name]`` is a ``size x N`` matrix expression (column ``t`` = transition ``t``), ``params[name]`` a
    ``size x 1`` expression; missing blocks are zero. Data blocks are zero in the query and parameter
    blocks are zero in the context, as in the numeric prompts.
    Chapters 4-5.
    """
    _check_layout(layout)
    N = check_symbolic_size(n_context, "n_context")
    for arg, name in ((data, "data"), (params, "params")):
        if not isinstance(arg, dict):
            raise ValueError(f"{name} must be a dict {{block name: matrix expression}}; got {type(arg).__name__}")
    unknown = (set(data) | set(params)) - {n for n, _ in layout.blocks}
    if unknown:
        raise ValueError(f"data and params must name blocks of the layout {[n for n, _ in layout.blocks]}; "
                         f"got {sorted(unknown)}")
    C_blocks, q_blocks = [], []
    for name, size in layout.blocks:
        C_blocks.append([_block_of(data[name], f"data[{name!r}]", (size, N)) if name in data
                         else ZeroMatrix(size, N)])
        q_blocks.append([_block_of(params[name], f"params[{name!r}]", (size, 1)) if name in params
                         else ZeroMatrix(size, 1)])
    return BlockMatrix(C_blocks), BlockMatrix(q_blocks)


def block_matrix(layout: PromptLayout, entries: dict) -> BlockMatrix:
    """A ``D x D`` BlockMatrix with row and column blocks from ``layout``: ``entries[(row, col)]``, zero
    elsewhere (chapters 4-5)."""
    _check_layout(layout)
    sizes = dict(layout.blocks)
    if not isinstance(entries, dict):
        raise ValueError(f"entries must be a dict {{(row_block, col_block): matrix}}; got {type(entries).__name__}")
    for key, block in entries.items():
        if not (isinstance(key, tuple) and len(key) == 2):
            raise ValueError(f"entries keys must be (row_block, col_block) pairs; got {key!r}")
        row, col = key
        for n in (row, col):
            if n not in sizes:
                raise ValueError(f"entries must name blocks of the layout {list(sizes)}; got {n!r}")
        _block_of(block, f"entries[{(row, col)!r}]", (sizes[row], sizes[col]))
    return BlockMatrix([[entries.get((row, col), ZeroMatrix(rs, cs)) for col, cs in layout.blocks]
                        for row, rs in layout.blocks])


def block_part(column: BlockMatrix, layout: PromptLayout, name: str):
    """The block ``name`` of a column BlockMatrix (for example the ``w`` rows of the query output;
    chapters 4-5)."""
    if not isinstance(column, BlockMatrix) or column.blockshape != (len(layout.blocks), 1):
        raise ValueError(f"column must be a BlockMatrix with {len(layout.blocks)} x 1 blocks")
    return column.blocks[block_index(layout, name), 0]



def render_block_matrices(layout: PromptLayout, table, matrices: tuple = ("P", "V")) -> tuple:
    """Render a block table as ``D x D`` BlockMatrices on a (possibly symbolic-size) layout, one per name in
    ``matrices``: a scalar value ``c`` becomes ``c Identity(size)``, a matrix value is used as the block
    (chapters 3-5). The general-size twin of :func:`render_blocks_sympy`.
    """
    _check_layout(layout)
    out = []
    for m, entries in _split_table(table, matrices).items():
        blocks = {}
        for (row, col), value in entries.items():
            if row not in layout.names or col not in layout.names:
                raise ValueError(f"table key {(m, row, col)!r} must name blocks of the layout {list(layout.names)}")
            value = _table_value(value, f"table[{(m, row, col)!r}]")
            if is_matrix_value(value):
                blocks[(row, col)] = value
            else:
                r, c = block_size(layout, row), block_size(layout, col)
                if sp.simplify(r - c) != 0:
                    raise ValueError(f"table[{(m, row, col)!r}] is a scalar but the block ({r}, {c}) is not square")
                blocks[(row, col)] = value * Identity(r)
        out.append(block_matrix(layout, blocks))
    return tuple(out)
