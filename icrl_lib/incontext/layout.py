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
from typing import Mapping

import torch

from .._validation import as_tensor, broadcast_batch, check_shape

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
        if name not in self.names:
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


def block_rows(layout: PromptLayout, names) -> torch.Tensor:
    """Row indices (LongTensor) of the blocks ``names`` concatenated in the given order (chapters 4-6)."""
    return torch.cat([torch.arange(layout.rows(n).start, layout.rows(n).stop) for n in names])


def assemble(layout: PromptLayout, data: Mapping, params: Mapping, dtype: torch.dtype | None = None,
             batch: tuple | None = None) -> torch.Tensor:
    """Stack ``N`` context columns and one query column into a prompt ``(..., D, N+1)`` (chapters 3-5).

    ``data[name]`` is ``(..., N, size)`` (one row per transition, written into the context columns of the
    rows ``name``), ``params[name]`` is ``(..., size)`` (written into the query column). Blocks not given
    are zero. Leading batch dimensions broadcast (``batch`` skips that computation); ``dtype`` defaults to
    the dtype of the first data block. Inputs must already be tensors (the prompt functions check them).
    """
    if not data:
        raise ValueError("data must hold at least one block (it fixes N)")
    first = next(iter(data.values()))
    N = first.shape[-2]
    dtype = dtype or first.dtype
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
    out = {m: torch.zeros(layout.dim, layout.dim, dtype=dtype) for m in matrices}
    for key, value in table.items():
        if not (isinstance(key, tuple) and len(key) == 3 and key[0] in out):
            raise ValueError(f"table keys must be (matrix, row_block, col_block) with matrix in {matrices}; "
                             f"got {key!r}")
        m, row, col = key
        r, c = layout.rows(row), layout.rows(col)
        shape = (r.stop - r.start, c.stop - c.start)
        if is_matrix_value(value):
            block = torch.as_tensor(value, dtype=dtype)
            if tuple(block.shape) != shape:
                raise ValueError(f"table[{key!r}] must have shape {shape}; got {tuple(block.shape)}")
        else:
            if shape[0] != shape[1]:
                raise ValueError(f"table[{key!r}] is a scalar but the block {shape} is not square")
            block = float(value) * torch.eye(shape[0], dtype=dtype)
        out[m][r, c] = block
    return tuple(out[m] for m in matrices)


def check_transitions(names, feats, feats_next, rewards):
    """Validate the per-transition arguments every prompt shares (chapters 3-5).

    ``feats`` ``(..., N, d)``, ``feats_next`` of the same trailing shape and ``rewards`` ``(..., N)``, all
    converted to the features' dtype; ``names`` = the two feature argument names for error messages.
    """
    feats = as_tensor(feats, names[0])
    check_shape(feats, names[0], (None, None))
    N, d = feats.shape[-2:]
    feats_next = as_tensor(feats_next, names[1], dtype=feats.dtype)
    check_shape(feats_next, names[1], (N, d))
    rewards = as_tensor(rewards, "rewards", dtype=feats.dtype)
    check_shape(rewards, "rewards", (N,))
    return feats, feats_next, rewards


def check_prompt(H, name: str, dim: int) -> torch.Tensor:
    """A prompt ``(..., dim, N+1)`` with ``N >= 1`` (chapters 3-5); ``ValueError`` naming ``name`` otherwise."""
    H = as_tensor(H, name)
    check_shape(H, name, (dim, None))
    if H.shape[-1] < 2:
        raise ValueError(f"{name} must have at least 2 columns; got shape {tuple(H.shape)}")
    return H
