"""sympy builders of the SARSA and actor-critic prompts and blocks (chapters 4 and 5).

The row layouts come from :func:`icrl_lib.prompts.sarsa_layout` and
:func:`icrl_lib.prompts.actor_critic_layout`, the same :class:`icrl_lib.prompts.PromptLayout` objects that
place the rows of the torch prompts and of the torch constructions (:mod:`icrl_lib.constructions`), so the
numbers, the proofs and the figures all use one row order. Two kinds of builders, matching the two kinds of
proof of :mod:`icrl_lib.symbolic`:

* **Explicit** (``symbolic_*``): sympy ``Matrix`` objects for concrete sizes; every entry may be a symbol.
  Argument conventions follow the torch functions: features are ``(N, d)`` (one row per transition),
  rewards have ``N`` entries, parameter vectors ``d`` entries.
* **Block** (``block_*``): ``BlockMatrix`` objects whose block sizes may be symbols (``d``, ``N``). The
  context enters as matrix symbols whose *columns* are the transitions (``Phi`` is ``d x N``, ``r`` is
  ``1 x N``), the query as ``d x 1`` vectors. :func:`block_layout` turns a numeric layout function into a
  :class:`~icrl_lib.prompts.PromptLayout` with symbolic sizes, by reading off how each block size grows
  with the dimensions; :func:`block_tokens` returns the context block ``C`` (``D x N``) and the query
  ``h_q`` (``D x 1``) in the form :func:`icrl_lib.symbolic.block_lsa_query_output` expects.

Constructions follow the book's convention: ``(P, V)`` = (key-query, value), as in [LL26].
"""
from __future__ import annotations

from typing import Callable

import sympy as sp
from sympy import BlockMatrix, Identity, ZeroMatrix

from .prompts import PromptLayout, actor_critic_layout, sarsa_layout

__all__ = ["symbolic_prompt", "symbolic_block_matrix", "symbolic_sarsa_prompt", "symbolic_sarsa_readout",
           "symbolic_sarsa_construction", "symbolic_actor_critic_prompt", "symbolic_actor_critic_readout",
           "symbolic_actor_critic_construction", "block_layout", "block_index", "block_tokens",
           "block_matrix", "block_part", "block_sarsa_tokens", "block_sarsa_construction",
           "block_actor_critic_tokens", "block_actor_critic_construction"]


# ---------------------------------------------------------------------------------------------------------
# Explicit matrices (concrete sizes)
# ---------------------------------------------------------------------------------------------------------

def _as_matrix(x, name: str, shape: tuple) -> sp.Matrix:
    """Sympify ``x`` into a Matrix of ``shape``; a flat sequence or row/column vector of the right length is
    accepted for vectors (``shape[1] == 1``)."""
    try:
        M = sp.Matrix(x)
    except (TypeError, ValueError, sp.SympifyError) as exc:
        raise ValueError(f"{name} must be a sympy Matrix or nested sequence; got {type(x).__name__}") from exc
    if shape[1] == 1 and M.shape in ((1, shape[0]), (shape[0], 1)):
        return M.reshape(shape[0], 1)
    if M.shape != shape:
        raise ValueError(f"{name} must have shape {shape}; got {M.shape}")
    return M


def _first_dim(x, name: str) -> tuple[int, int]:
    try:
        M = sp.Matrix(x)
    except (TypeError, ValueError, sp.SympifyError) as exc:
        raise ValueError(f"{name} must be a sympy Matrix of shape (N, d); got {type(x).__name__}") from exc
    if M.shape[0] < 1 or M.shape[1] < 1:
        raise ValueError(f"{name} must have shape (N, d) with N, d >= 1; got {M.shape}")
    return M.shape


def symbolic_prompt(layout: PromptLayout, data: dict, params: dict, n_context: int) -> sp.Matrix:
    """A ``D x (N+1)`` sympy prompt: ``data[name]`` is ``(N, size)`` (one row per transition, written into
    the context columns of the rows ``name``), ``params[name]`` is ``(size, 1)`` (written into the query
    column). Blocks not given are zero. Mirrors ``icrl_lib.prompts._assemble`` (chapters 4-5)."""
    H = sp.zeros(layout.dim, n_context + 1)
    for name, block in data.items():
        H[layout.rows(name), :n_context] = block.T
    for name, vec in params.items():
        H[layout.rows(name), n_context] = vec
    return H


def symbolic_block_matrix(layout: PromptLayout, entries: dict) -> sp.Matrix:
    """A ``D x D`` sympy Matrix that is zero except ``entries[(row_block, col_block)]`` (explicit blocks)."""
    M = sp.zeros(layout.dim, layout.dim)
    for (row, col), block in entries.items():
        rows, cols = layout.rows(row), layout.rows(col)
        M[rows, cols] = _as_matrix(block, f"entries[{(row, col)!r}]", (rows.stop - rows.start, cols.stop - cols.start))
    return M


def symbolic_sarsa_prompt(phi, phi_next, rewards, w) -> sp.Matrix:
    """The SARSA prompt of :func:`icrl_lib.prompts.sarsa_prompt` as a sympy Matrix (chapter 4).

    ``phi``, ``phi_next``: ``(N, d)``; ``rewards``: ``N`` entries; ``w``: ``d`` entries. Returns the
    ``(3d + 2) x (N + 1)`` matrix with columns ``(phi_t; phi'_t; R_t; 0; 0_d)`` and the query
    ``(0_d; 0_d; 0; 1; w)``.
    """
    N, d = _first_dim(phi, "phi")
    phi = _as_matrix(phi, "phi", (N, d))
    phi_next = _as_matrix(phi_next, "phi_next", (N, d))
    rewards = _as_matrix(rewards, "rewards", (N, 1))
    w = _as_matrix(w, "w", (d, 1))
    return symbolic_prompt(sarsa_layout(d), {"phi": phi, "phi_next": phi_next, "r": rewards},
                           {"one": sp.Matrix([[1]]), "w": w}, N)


def symbolic_sarsa_readout(H: sp.Matrix) -> sp.Matrix:
    """The ``w`` rows of the query column, a ``d x 1`` Matrix (chapter 4)."""
    if not isinstance(H, sp.MatrixBase):
        raise ValueError(f"H must be a sympy Matrix; got {type(H).__name__}")
    D = H.shape[0]
    if D < 5 or (D - 2) % 3 != 0 or H.shape[1] < 2:
        raise ValueError(f"H must have shape (3d + 2, N + 1) with d, N >= 1; got {H.shape}")
    return H[sarsa_layout((D - 2) // 3).rows("w"), H.shape[1] - 1]


def symbolic_sarsa_construction(d: int, alpha, gamma) -> tuple[sp.Matrix, sp.Matrix]:
    """:func:`icrl_lib.constructions.sarsa_construction` with symbolic ``alpha``, ``gamma`` (chapter 4).

    ``P[(phi, phi', r), (1, w)] = [[0, -I], [0, gamma I], [1, 0]]``, ``V[w, phi] = alpha I``, zero elsewhere.
    """
    d = _check_dim(d, "d")
    alpha, gamma = sp.sympify(alpha), sp.sympify(gamma)
    L = sarsa_layout(d)
    P = symbolic_block_matrix(L, {("phi", "w"): -sp.eye(d), ("phi_next", "w"): gamma * sp.eye(d),
                                  ("r", "one"): sp.Matrix([[1]])})
    V = symbolic_block_matrix(L, {("w", "phi"): alpha * sp.eye(d)})
    return P, V


def symbolic_actor_critic_prompt(x, x_next, rewards, psi, w, theta) -> sp.Matrix:
    """The actor-critic prompt of :func:`icrl_lib.prompts.actor_critic_prompt` as a sympy Matrix (chapter 5).

    ``x``, ``x_next``: ``(N, d_c)``; ``rewards``: ``N`` entries; ``psi``: ``(N, d_a)``; ``w``: ``d_c``
    entries; ``theta``: ``d_a`` entries.
    """
    N, dc = _first_dim(x, "x")
    x = _as_matrix(x, "x", (N, dc))
    x_next = _as_matrix(x_next, "x_next", (N, dc))
    rewards = _as_matrix(rewards, "rewards", (N, 1))
    _, da = _first_dim(psi, "psi")
    psi = _as_matrix(psi, "psi", (N, da))
    w = _as_matrix(w, "w", (dc, 1))
    theta = _as_matrix(theta, "theta", (da, 1))
    return symbolic_prompt(actor_critic_layout(dc, da), {"x": x, "x_next": x_next, "r": rewards, "psi": psi},
                           {"one": sp.Matrix([[1]]), "w": w, "theta": theta}, N)


def symbolic_actor_critic_readout(H: sp.Matrix, d_critic: int, d_actor: int) -> tuple[sp.Matrix, sp.Matrix]:
    """``(w, theta)`` from the query column (``d_c x 1`` and ``d_a x 1`` Matrices; chapter 5)."""
    if not isinstance(H, sp.MatrixBase):
        raise ValueError(f"H must be a sympy Matrix; got {type(H).__name__}")
    L = actor_critic_layout(_check_dim(d_critic, "d_critic"), _check_dim(d_actor, "d_actor"))
    if H.shape[0] != L.dim or H.shape[1] < 2:
        raise ValueError(f"H must have shape ({L.dim}, N + 1) with N >= 1; got {H.shape}")
    q = H.shape[1] - 1
    return H[L.rows("w"), q], H[L.rows("theta"), q]


def symbolic_actor_critic_construction(d_critic: int, d_actor: int, alpha, beta, gamma
                                       ) -> tuple[sp.Matrix, sp.Matrix]:
    """:func:`icrl_lib.constructions.actor_critic_construction` with symbolic step sizes (chapter 5, ours).

    ``P`` as in SARSA on ``(x, x', r)`` against ``(1, w)``; ``V[w, x] = alpha I``, ``V[theta, psi] = beta I``.
    """
    dc, da = _check_dim(d_critic, "d_critic"), _check_dim(d_actor, "d_actor")
    alpha, beta, gamma = sp.sympify(alpha), sp.sympify(beta), sp.sympify(gamma)
    L = actor_critic_layout(dc, da)
    P = symbolic_block_matrix(L, {("x", "w"): -sp.eye(dc), ("x_next", "w"): gamma * sp.eye(dc),
                                  ("r", "one"): sp.Matrix([[1]])})
    V = symbolic_block_matrix(L, {("w", "x"): alpha * sp.eye(dc), ("theta", "psi"): beta * sp.eye(da)})
    return P, V


def _check_dim(n, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {n!r}")
    return n


# ---------------------------------------------------------------------------------------------------------
# Block matrices (symbolic sizes)
# ---------------------------------------------------------------------------------------------------------

def block_layout(layout_fn: Callable[..., PromptLayout], *dims) -> PromptLayout:
    """The layout ``layout_fn(*dims)`` with symbolic dimensions (chapters 4-5).

    Every block size of the book's layouts is affine in the dimensions (``d``, ``d_c``, ``d_a``, or the
    constant 1). The affine coefficients are read off the numeric layout at ``(1, ..., 1)`` and with one
    dimension raised to 2, and checked at a third point, so the block names, order and sizes come from
    ``layout_fn`` itself. Example: ``block_layout(sarsa_layout, d)`` has blocks
    ``(phi: d, phi_next: d, r: 1, one: 1, w: d)``.
    """
    if not callable(layout_fn):
        raise ValueError("layout_fn must be a layout function such as prompts.sarsa_layout")
    if not dims:
        raise ValueError("dims must hold at least one dimension (an integer or a sympy expression)")
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
    """Position of the block ``name`` in ``layout.blocks``."""
    names = [n for n, _ in layout.blocks]
    if name not in names:
        raise ValueError(f"name must be one of {names}; got {name!r}")
    return names.index(name)


def _size(layout: PromptLayout, name: str):
    return layout.blocks[block_index(layout, name)][1]


def _block_of(x, name: str, shape: tuple):
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
    """
    N = sp.sympify(n_context)
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
    sizes = dict(layout.blocks)
    for (row, col), block in entries.items():
        for n in (row, col):
            if n not in sizes:
                raise ValueError(f"entries must name blocks of the layout {list(sizes)}; got {n!r}")
        _block_of(block, f"entries[{(row, col)!r}]", (sizes[row], sizes[col]))
    return BlockMatrix([[entries.get((row, col), ZeroMatrix(rs, cs)) for col, cs in layout.blocks]
                        for row, rs in layout.blocks])


def block_part(column: BlockMatrix, layout: PromptLayout, name: str):
    """The block ``name`` of a column BlockMatrix (for example the ``w`` rows of the query output)."""
    if not isinstance(column, BlockMatrix) or column.blockshape != (len(layout.blocks), 1):
        raise ValueError(f"column must be a BlockMatrix with {len(layout.blocks)} x 1 blocks")
    return column.blocks[block_index(layout, name), 0]


def block_sarsa_tokens(Phi, Phi_next, r, w) -> tuple[BlockMatrix, BlockMatrix]:
    """``(C, h_q)`` of the SARSA prompt for symbolic ``d`` and ``N`` (chapter 4).

    ``Phi``, ``Phi_next``: ``d x N`` (column ``t`` is ``phi_t``, ``phi'_t``); ``r``: ``1 x N``; ``w``: ``d x 1``.
    """
    d, N = Phi.shape
    L = block_layout(sarsa_layout, d)
    return block_tokens(L, {"phi": Phi, "phi_next": Phi_next, "r": r}, {"one": Identity(1), "w": w}, N)


def block_sarsa_construction(d, alpha, gamma) -> tuple[BlockMatrix, BlockMatrix]:
    """The SARSA ``(P, V)`` as BlockMatrices for symbolic ``d`` (chapter 4; see
    :func:`symbolic_sarsa_construction`)."""
    L = block_layout(sarsa_layout, d)
    d = _size(L, "w")
    P = block_matrix(L, {("phi", "w"): -Identity(d), ("phi_next", "w"): gamma * Identity(d),
                         ("r", "one"): Identity(1)})
    V = block_matrix(L, {("w", "phi"): alpha * Identity(d)})
    return P, V


def block_actor_critic_tokens(X, X_next, r, Psi, w, theta) -> tuple[BlockMatrix, BlockMatrix]:
    """``(C, h_q)`` of the actor-critic prompt for symbolic sizes (chapter 5).

    ``X``, ``X_next``: ``d_c x N``; ``r``: ``1 x N``; ``Psi``: ``d_a x N``; ``w``: ``d_c x 1``; ``theta``:
    ``d_a x 1``.
    """
    dc, N = X.shape
    da = Psi.shape[0]
    L = block_layout(actor_critic_layout, dc, da)
    return block_tokens(L, {"x": X, "x_next": X_next, "r": r, "psi": Psi},
                        {"one": Identity(1), "w": w, "theta": theta}, N)


def block_actor_critic_construction(d_critic, d_actor, alpha, beta, gamma) -> tuple[BlockMatrix, BlockMatrix]:
    """The actor-critic ``(P, V)`` as BlockMatrices for symbolic sizes (chapter 5, our construction)."""
    L = block_layout(actor_critic_layout, d_critic, d_actor)
    dc, da = _size(L, "w"), _size(L, "theta")
    P = block_matrix(L, {("x", "w"): -Identity(dc), ("x_next", "w"): gamma * Identity(dc),
                         ("r", "one"): Identity(1)})
    V = block_matrix(L, {("w", "x"): alpha * Identity(dc), ("theta", "psi"): beta * Identity(da)})
    return P, V
