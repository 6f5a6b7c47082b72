"""Prompt layouts: named row blocks shared by prompts, readouts, constructions and the sympy proofs.

A prompt is a ``D x (N+1)`` token matrix: columns ``1..N`` are *context* (transition) tokens, column
``N+1`` is the *query*. A :class:`PromptLayout` names its row blocks once, in row order, for example
``(phi: d, phi_next: d, r: 1 | one: 1, w: d)`` for SARSA (chapter 4): the first ``n_data_blocks`` blocks are
*data* rows (filled in the context columns), the rest *parameter* rows (filled in the query column).

Constructions are written once, as *block tables*:
``{(matrix, row_block, col_block): value}`` with ``matrix`` one of ``"P"``, ``"V"`` and ``value`` a scalar
coefficient ``c`` (meaning ``c I``; the two blocks must have equal sizes) or an explicit matrix. The same
table is rendered numerically by :func:`render_blocks` and symbolically by
:func:`icrl_lib.symbolic.render_blocks_sympy` / :func:`icrl_lib.symbolic.render_block_matrices`, so the
coefficients of a construction live in exactly one place (the algorithm's file).
"""
from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from typing import Mapping

import numpy as np
import torch

from .._validation import as_tensor, broadcast_batch, check_gamma, check_int, check_positive, check_real, check_shape

__all__ = ["PromptLayout", "assemble", "render_blocks", "block_rows", "is_matrix_value",
           "check_transitions", "check_prompt"]

@dataclass(frozen=True)
class PromptLayout:
    """Named row blocks of a prompt: ``blocks`` is a tuple of ``(name, size)`` in row order (chapters 3-5).

    ``layout.rows("w")`` is the slice of rows named ``w``; ``layout.data`` / ``layout.param`` are the
    slices of the data blocks (filled in transition columns) and of the parameter blocks (filled in the
    query column); ``layout.dim`` is ``D``. Sizes may be sympy expressions (symbolic layouts of
    :func:`icrl_lib.symbolic.block_layout`); then only ``names``, ``size`` and ``index`` are meaningful.
    """

    blocks: tuple
    n_data_blocks: int

    def __post_init__(self):
        blocks = self.blocks
        if isinstance(blocks, (str, bytes)) or not isinstance(blocks, (tuple, list)):
            raise ValueError(f"blocks must be a tuple of (name, size) pairs; got {type(blocks).__name__}")
        if not blocks:
            raise ValueError("blocks must hold at least one (name, size) pair; got an empty tuple")
        for entry in blocks:
            if not (isinstance(entry, (tuple, list)) and len(entry) == 2 and isinstance(entry[0], str)):
                raise ValueError(f"blocks must be a tuple of (name, size) pairs with a str name; got entry {entry!r}")
            size = entry[1]
            if is_sympy_object(size):     # symbolic layouts (icrl_lib.symbolic.block_layout)
                continue
            if isinstance(size, bool) or not isinstance(size, (Integral, np.integer)):
                raise ValueError(f"blocks sizes must be integers >= 1 (or sympy expressions); got {entry!r}")
            if size < 1:
                raise ValueError(f"blocks sizes must be integers >= 1; got {entry!r}")
        names = [name for name, _ in blocks]
        if len(set(names)) != len(names):
            raise ValueError(f"blocks names must be distinct; got {names}")
        n = self.n_data_blocks
        if isinstance(n, bool) or not isinstance(n, (Integral, np.integer)) or not 0 <= n <= len(blocks):
            raise ValueError(f"n_data_blocks must be an integer in [0, {len(blocks)}] (the number of blocks); "
                             f"got {n!r}")
        # a frozen dataclass: normalise to hashable tuples once
        object.__setattr__(self, "blocks", tuple((name, size) for name, size in blocks))
        object.__setattr__(self, "n_data_blocks", int(n))

    @property
    def names(self) -> tuple:
        """The block names in row order."""
        return tuple(name for name, _ in self.blocks)

    @property
    def dim(self) -> int:
        """The token dimension ``D`` (sum of the block sizes)."""
        return sum(size for _, size in self.blocks)

    def index(self, name: str) -> int:
        """Position of block ``name`` in ``blocks``; ``ValueError`` naming ``name`` if it is not a block."""
        if not isinstance(name, str) or name not in self.names:
            raise ValueError(f"name must be one of {list(self.names)}; got {name!r}")
        return self.names.index(name)

    def size(self, name: str):
        """The number of rows of block ``name``."""
        return self.blocks[self.index(name)][1]

    def rows(self, name: str) -> slice:
        """The row slice of block ``name``."""
        i = self.index(name)
        start = sum(size for _, size in self.blocks[:i])
        return slice(start, start + self.blocks[i][1])

    @property
    def data(self) -> slice:
        """The rows of the data blocks (filled in the context columns)."""
        return slice(0, sum(size for _, size in self.blocks[: self.n_data_blocks]))

    @property
    def param(self) -> slice:
        """The rows of the parameter blocks (filled in the query column)."""
        return slice(self.data.stop, self.dim)

    @property
    def data_names(self) -> tuple:
        return self.names[: self.n_data_blocks]

    @property
    def param_names(self) -> tuple:
        return self.names[self.n_data_blocks:]


def is_sympy_object(x) -> bool:
    """True for sympy objects (symbolic sizes and coefficients), without importing sympy."""
    return type(x).__module__.split(".")[0] == "sympy"


def check_layout(layout, name: str = "layout") -> PromptLayout:
    if not isinstance(layout, PromptLayout):
        raise ValueError(f"{name} must be a PromptLayout; got {type(layout).__name__}")
    return layout


def check_float_dtype(dtype, name: str = "dtype") -> torch.dtype:
    """A floating torch dtype (an integer dtype would silently truncate the coefficients)."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"{name} must be a floating torch dtype such as torch.float64; got {dtype!r}")
    return dtype


def check_coefficient(x, name: str, kind: str = "real"):
    """A block-table coefficient: a sympy expression (passed through) or a number checked by ``kind``
    (``"real"``: finite; ``"positive"``: > 0; ``"gamma"``: in [0, 1))."""
    if is_sympy_object(x):
        return x
    if kind == "gamma":
        return check_gamma(x, name)
    return check_positive(x, name) if kind == "positive" else check_real(x, name)


def block_rows(layout: PromptLayout, names) -> torch.Tensor:
    """Row indices (LongTensor) of the blocks ``names`` concatenated in the given order (chapters 4-6).

    ``names`` is a sequence of block names (a single ``str`` counts as one name)."""
    check_layout(layout)
    if isinstance(names, str):
        names = (names,)
    if not isinstance(names, (tuple, list)) or not names:
        raise ValueError(f"names must be a non-empty sequence of block names of {list(layout.names)}; got {names!r}")
    for n in names:
        if not isinstance(n, str) or n not in layout.names:
            raise ValueError(f"names must hold block names of {list(layout.names)}; got {n!r}")
    return torch.cat([torch.arange(layout.rows(n).start, layout.rows(n).stop) for n in names])


def assemble(layout: PromptLayout, data: Mapping, params: Mapping, dtype: torch.dtype | None = None,
             batch: tuple | None = None) -> torch.Tensor:
    """Stack ``N`` context columns and one query column into a prompt ``(..., D, N+1)`` (chapters 3-5).

    ``data[name]`` is ``(..., N, size)`` (one row per transition, written into the context columns of the
    rows ``name``), ``params[name]`` is ``(..., size)`` (written into the query column). Blocks not given
    are zero. Leading batch dimensions broadcast (``batch`` skips that computation); ``dtype`` defaults to
    the dtype of the first data block. Blocks are converted with ``as_tensor`` (numpy arrays work) and checked:
    known block names, trailing sizes, one ``N``, broadcasting batch dimensions.
    """
    check_layout(layout)
    if not isinstance(data, Mapping) or not isinstance(params, Mapping):
        raise ValueError(f"data and params must be mappings {{block name: array}}; got {type(data).__name__} and "
                         f"{type(params).__name__}")
    if not data:
        raise ValueError("data must hold at least one block (it fixes N)")
    for arg, blocks in (("data", data), ("params", params)):
        unknown = [k for k in blocks if k not in layout.names]
        if unknown:
            raise ValueError(f"{arg} has blocks {unknown} that are not in the layout {list(layout.names)}")
    if dtype is not None:
        check_float_dtype(dtype)
    data = {k: as_tensor(v, f"data[{k!r}]", dtype=dtype) for k, v in data.items()}
    first = next(iter(data.values()))
    dtype = dtype or first.dtype
    N = first.shape[-2] if first.dim() >= 2 else 0
    for k, v in data.items():
        check_shape(v, f"data[{k!r}]", (N or None, layout.size(k)))
    params = {k: as_tensor(v, f"params[{k!r}]", dtype=dtype) for k, v in params.items()}
    for k, v in params.items():
        check_shape(v, f"params[{k!r}]", (layout.size(k),))
    if batch is None:
        shapes = {f"data[{k!r}]": v.shape for k, v in data.items()}
        shapes.update({f"params[{k!r}]": v.shape for k, v in params.items()})
        trailing = {f"data[{k!r}]": 2 for k in data}
        trailing.update({f"params[{k!r}]": 1 for k in params})
        batch = tuple(broadcast_batch(shapes, trailing))
    H = torch.zeros(tuple(batch) + (layout.dim, N + 1), dtype=dtype)
    for name, block in data.items():
        H[..., layout.rows(name), :N] = block.transpose(-1, -2)
    for name, vec in params.items():
        H[..., layout.rows(name), N] = vec
    return H


def is_matrix_value(value) -> bool:
    """True if a block-table value is an explicit matrix (anything with a 2-d ``shape``), False for a scalar
    coefficient of the identity (chapters 2-5)."""
    shape = getattr(value, "shape", None)
    return shape is not None and len(shape) == 2


def render_blocks(layout: PromptLayout, table: Mapping, dtype: torch.dtype = torch.float64,
                  matrices: tuple = ("P", "V")) -> tuple:
    """Render a block table as dense ``D x D`` torch matrices, one per name in ``matrices`` (chapters 2-5).

    A scalar value ``c`` at ``(m, row, col)`` fills ``c I`` (``row`` and ``col`` of equal size); a matrix
    value is copied into the block. Every other entry is zero. Returns ``(P, V)`` by default.
    """
    check_layout(layout)
    check_float_dtype(dtype)
    if isinstance(matrices, str) or not isinstance(matrices, (tuple, list)) or not matrices \
            or not all(isinstance(m, str) for m in matrices):
        raise ValueError(f"matrices must be a non-empty tuple of matrix names such as ('P', 'V'); got {matrices!r}")
    if not isinstance(table, Mapping):
        raise ValueError(f"table must be a mapping {{(matrix, row_block, col_block): value}}; got "
                         f"{type(table).__name__}")
    out = {m: torch.zeros(layout.dim, layout.dim, dtype=dtype) for m in matrices}
    for key, value in table.items():
        if not (isinstance(key, tuple) and len(key) == 3 and key[0] in out
                and all(isinstance(b, str) and b in layout.names for b in key[1:])):
            raise ValueError(f"table keys must be (matrix, row_block, col_block) with matrix in {tuple(matrices)} "
                             f"and block names in {list(layout.names)}; got {key!r}")
        m, row, col = key
        r, c = layout.rows(row), layout.rows(col)
        shape = (r.stop - r.start, c.stop - c.start)
        if is_matrix_value(value):
            if is_sympy_object(value):
                raise ValueError(f"table[{key!r}] is a sympy matrix; render it with icrl_lib.symbolic.render_blocks_sympy")
            block = as_tensor(value, f"table[{key!r}]", dtype=dtype)
            if tuple(block.shape) != shape:
                raise ValueError(f"table[{key!r}] must have shape {shape}; got {tuple(block.shape)}")
        else:
            if shape[0] != shape[1]:
                raise ValueError(f"table[{key!r}] is a scalar but the block {shape} is not square")
            if is_sympy_object(value):
                raise ValueError(f"table[{key!r}] is a sympy expression; render the table with "
                                 f"icrl_lib.symbolic.render_blocks_sympy or substitute numbers first")
            block = check_real(value, f"table[{key!r}]") * torch.eye(shape[0], dtype=dtype)
        out[m][r, c] = block
    return tuple(out[m] for m in matrices)


def check_transitions(names, feats, feats_next, rewards):
    """Validate the per-transition arguments every prompt shares (chapters 3-5).

    ``feats`` ``(..., N, d)``, ``feats_next`` of the same trailing shape and ``rewards`` ``(..., N)``, all
    converted to the features' dtype; ``names`` = the two feature argument names for error messages.
    """
    if isinstance(names, str) or not isinstance(names, (tuple, list)) or len(names) != 2 \
            or not all(isinstance(n, str) for n in names):
        raise ValueError(f"names must be a pair of argument names (str, str); got {names!r}")
    feats = as_tensor(feats, names[0])
    check_shape(feats, names[0], (None, None))
    N, d = feats.shape[-2:]
    feats_next = as_tensor(feats_next, names[1], dtype=feats.dtype)
    check_shape(feats_next, names[1], (N, d))
    rewards = as_tensor(rewards, "rewards", dtype=feats.dtype)
    check_shape(rewards, "rewards", (N,))
    broadcast_batch({names[0]: feats.shape, names[1]: feats_next.shape, "rewards": rewards.shape},
                    {names[0]: 2, names[1]: 2, "rewards": 1})
    return feats, feats_next, rewards


def check_prompt(H, name: str, dim: int) -> torch.Tensor:
    """A prompt ``(..., dim, N+1)`` with ``N >= 1`` (chapters 3-5); ``ValueError`` naming ``name`` otherwise."""
    if not isinstance(name, str):
        raise ValueError(f"name must be the argument name (a str); got {name!r}")
    dim = check_int(dim, "dim")
    H = as_tensor(H, name)
    check_shape(H, name, (dim, None))
    if H.shape[-1] < 2:
        raise ValueError(f"{name} must have at least 2 columns; got shape {tuple(H.shape)}")
    return H
