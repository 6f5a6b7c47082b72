"""Softmax self-attention with the query masked as a source ([X26]), as a function and as a trainable stack
(chapter 8).

Tokens are the columns of ``Z`` in R^{D x (N+1)}; the last column is the query. One layer is

    Z' = Z + V Z softmax_col(Z^T A Z + M),

where entry ``(i, j)`` of ``Z^T A Z`` is the logit of source ``i`` for destination ``j``, the softmax runs over
the sources ``i`` of each column ``j``, and ``M = -inf`` on the query's source row (so the query receives an
update but is never read). The masked row is dropped rather than set to ``-inf``, and the softmax is
max-shifted, so logits of 1e3 give finite outputs.

Memory: a layer forms the (N, N+1) logit matrix of every prompt and head, ``O(B N^2)`` entries; the checked
functions refuse it above ``icrl_lib._validation.MAX_INTERMEDIATE_BYTES`` before allocating.
"""
from __future__ import annotations

import math
from math import prod

import torch
from torch import nn

from .._validation import (
    as_generator, as_tensor, check_bool, check_finite_result, check_float_dtype, check_int,
    check_layer_inputs, check_memory, check_pairs, check_real, check_shape)

__all__ = ["softmax_attention", "softmax_attention_unchecked", "column_shift", "SoftmaxTransformer"]


def softmax_attention_unchecked(Z: torch.Tensor, A: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """:func:`softmax_attention` without input checks (the training hot path; chapter 8).

    ``Z`` (..., D, N+1), ``A`` and ``V`` (..., D, D), one dtype. Returns (..., D, N+1). ``O(B N^2)`` memory,
    not checked here.
    """
    return Z + _update(Z, A, V)


def _update(Z: torch.Tensor, A: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    src = Z[..., :-1]                                              # sources: every column but the query
    logits = src.transpose(-1, -2) @ A @ Z                         # (..., N, N+1): source i, destination j
    weights = torch.softmax(logits, dim=-2)                        # column softmax over the sources
    return V @ (src @ weights)


def softmax_attention(Z, A, V) -> torch.Tensor:
    """One [X26] softmax-attention layer ``Z + V Z softmax_col(Z^T A Z + M)`` (chapter 8).

    Args:
        Z: prompt (..., D, N+1), N >= 1 source columns and the query last.
        A: key-query matrix (..., D, D): the logit of source ``i`` for destination ``j`` is ``z_i^T A z_j``.
        V: value matrix (..., D, D).

    The query column is masked as a source (``M = -inf`` on its row). Returns (..., D, N+1) in ``Z``'s dtype.

    Memory ``O(B N^2)`` (the logits, B the batch size): refused with the size it would need above
    ``MAX_INTERMEDIATE_BYTES``. Logits that overflow to inf (``Z`` or ``A`` far too large) raise ``ValueError``
    instead of returning NaN.
    """
    Z, A, V = check_layer_inputs(Z, "Z", {"A": A, "V": V}, sources="sources")
    _check_logit_memory(Z, A, 1)
    return check_finite_result(softmax_attention_unchecked(Z, A, V), "the attention output",
                               "Z, A or V is too large (the logits overflow): rescale them")


def _check_logit_memory(Z: torch.Tensor, A: torch.Tensor, n_heads: int) -> None:
    N = Z.shape[-1] - 1
    batch = torch.broadcast_shapes(Z.shape[:-2], A.shape[:-2])
    check_memory(prod(batch) * n_heads * N * (N + 1), Z.dtype, f"the ({N}, {N + 1}) logit matrices", "Z")


def column_shift(Z, from_row: int, to_row: int, scale: float) -> torch.Tensor:
    """The fixed shift step: row ``to_row`` of column ``j`` becomes ``scale * Z[from_row, j+1]`` (chapter 8).

    ``Z`` (..., D, N+1) (any array); ``from_row``, ``to_row`` ints in ``[0, D-1]``; ``scale`` a finite real. The
    last column's entry becomes 0 (it has no successor). This is the right multiplication of one row by a
    column-shift matrix; no parameters. Returns a new (..., D, N+1) tensor.
    """
    Z = as_tensor(Z, "Z")
    check_shape(Z, "Z", (None, None))
    D = Z.shape[-2]
    from_row, to_row = check_int(from_row, "from_row", 0), check_int(to_row, "to_row", 0)
    if not (from_row < D and to_row < D):
        raise ValueError(f"from_row and to_row must be row indices in [0, {D - 1}]; got {from_row}, {to_row}")
    return _shift(Z, from_row, to_row, check_real(scale, "scale"))


def _shift(Z: torch.Tensor, from_row: int, to_row: int, scale: float) -> torch.Tensor:
    shifted = torch.cat([Z[..., from_row, 1:] * scale, torch.zeros_like(Z[..., from_row, :1])], -1)
    return torch.cat([Z[..., :to_row, :], shifted.unsqueeze(-2), Z[..., to_row + 1:, :]], -2)


class SoftmaxTransformer(nn.Module):
    """``n_layers`` masked softmax-attention layers with ``n_heads`` heads each, optionally followed by the fixed
    shift step (chapter 8).

    Layer ``l`` maps ``Z`` to ``Z + sum_h V_{l,h} Z softmax_col(Z^T A_{l,h} Z + M)``, then, if ``shift`` is
    ``(from_row, to_row, scale)``, applies :func:`column_shift`. The dual-head realisation of weighted softmax
    TD uses two heads and no shift; the one-head realisation uses one head plus the shift.

    Args:
        dim: token dimension ``D``.
        n_layers: ``L``; n_heads: heads per layer.
        shared: one set of heads applied ``L`` times instead of one per layer.
        shift: ``None`` or ``(from_row, to_row, scale)``.
        param_masks: optional ``{"A": mask, "V": mask}`` of shape (D, D) (or (n_heads, D, D)); masked entries are
            held at zero (the parameter is multiplied by the mask in every forward pass).
        init_scale: entries start as ``N(0, init_scale^2 / D)``; generator: a ``torch.Generator`` or int seed.
        dtype: parameter dtype.

    Parameters ``A`` and ``V`` have shape ``(L', n_heads, D, D)``, ``L' = 1`` if shared else ``L``.
    """

    def __init__(self, dim: int, n_layers: int, n_heads: int = 1, shared: bool = True, shift=None,
                 param_masks: dict | None = None, init_scale: float = 0.1, generator=0,
                 dtype: torch.dtype = torch.float32):
        super().__init__()
        self.dim = check_int(dim, "dim")
        self.n_layers = check_int(n_layers, "n_layers")
        self.n_heads = check_int(n_heads, "n_heads")
        self.shared = check_bool(shared, "shared")
        dtype = check_float_dtype(dtype)
        scale = check_real(init_scale, "init_scale")
        if scale < 0:
            raise ValueError(f"init_scale must be >= 0; got {scale}")
        if shift is not None:
            if not (isinstance(shift, (tuple, list)) and len(shift) == 3):
                raise ValueError(f"shift must be None or (from_row, to_row, scale); got {shift!r}")
            fr, to = check_int(shift[0], "shift[0]", 0), check_int(shift[1], "shift[1]", 0)
            if fr >= dim or to >= dim:
                raise ValueError(f"shift rows must be < dim = {dim}; got {shift!r}")
            shift = (fr, to, check_real(shift[2], "shift[2]"))
        self.shift = shift
        gen = as_generator(generator, "generator")
        n_sets = 1 if self.shared else self.n_layers
        std = scale / math.sqrt(dim)
        self.A = nn.Parameter(torch.randn(n_sets, self.n_heads, dim, dim, generator=gen, dtype=dtype) * std)
        self.V = nn.Parameter(torch.randn(n_sets, self.n_heads, dim, dim, generator=gen, dtype=dtype) * std)
        masks = {} if param_masks is None else param_masks
        if not isinstance(masks, dict):
            raise ValueError(f"param_masks must be None or a dict {{'A': mask, 'V': mask}}; got {type(masks).__name__}")
        if set(masks) - {"A", "V"}:
            raise ValueError(f"param_masks keys must be 'A' and/or 'V'; got {sorted(masks)}")
        for key in ("A", "V"):
            m = masks.get(key)
            if m is None:
                m = torch.ones(dim, dim, dtype=dtype)
            else:
                m = as_tensor(m, f"param_masks['{key}']", dtype=dtype)
                if m.shape not in ((dim, dim), (self.n_heads, dim, dim)):
                    raise ValueError(f"param_masks['{key}'] must have shape ({dim}, {dim}) or "
                                     f"({self.n_heads}, {dim}, {dim}); got {tuple(m.shape)}")
            self.register_buffer(f"mask_{key}", m)
        with torch.no_grad():
            self.A.mul_(self.mask_A)
            self.V.mul_(self.mask_V)

    @classmethod
    def from_heads(cls, heads, n_layers: int, shift=None, dtype: torch.dtype | None = None) -> "SoftmaxTransformer":
        """A shared-layer transformer whose heads are the given ``[(A_1, V_1), ...]`` (e.g. a construction; chapter 8)."""
        heads = check_pairs(heads, "heads", what="(A, V) pair")
        A0 = as_tensor(heads[0][0], "heads[0][0]")
        check_shape(A0, "heads[0][0]", (None, None), batch=False)
        dtype = A0.dtype if dtype is None else check_float_dtype(dtype)
        D = A0.shape[-1]
        model = cls(D, n_layers, n_heads=len(heads), shared=True, shift=shift, init_scale=0.0, dtype=dtype)
        with torch.no_grad():
            for h, (A, V) in enumerate(heads):
                for k, (name, m) in enumerate((("A", A), ("V", V))):
                    m = as_tensor(m, f"heads[{h}][{k}]", dtype=dtype)
                    check_shape(m, f"heads[{h}][{k}]", (D, D), batch=False)
                    getattr(model, name)[0, h] = m
        return model

    def layer_params(self, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The masked ``(A, V)`` of layer ``layer`` (an int in ``[0, n_layers - 1]``), each (n_heads, D, D)
        (chapter 8)."""
        layer = check_int(layer, "layer", 0)
        if layer >= self.n_layers:
            raise ValueError(f"layer must be in [0, {self.n_layers - 1}]; got {layer}")
        i = 0 if self.shared else layer
        return self.A[i] * self.mask_A, self.V[i] * self.mask_V

    def forward(self, Z: torch.Tensor, return_all: bool = False) -> torch.Tensor:
        """Apply the ``L`` layers to ``Z`` (..., D, N+1); with ``return_all`` stack every layer (..., L+1, D, N+1).

        ``Z`` may be any array (converted, cast to the parameters' dtype). Memory ``O(B N^2)`` per head (refused
        above ``MAX_INTERMEDIATE_BYTES``); ``ValueError`` if the logits or the output overflow."""
        Z = as_tensor(Z, "Z")
        if Z.dim() < 2 or Z.shape[-2] != self.dim or Z.shape[-1] < 2:
            raise ValueError(f"Z must have shape (..., {self.dim}, N+1) with N >= 1; got {tuple(Z.shape)}")
        return_all = check_bool(return_all, "return_all")
        Z = Z.to(self.A.dtype)
        _check_logit_memory(Z, Z[..., :1, :1], 1)
        path = [Z]
        for layer in range(self.n_layers):
            A, V = self.layer_params(layer)
            out = Z
            for h in range(self.n_heads):
                out = out + _update(Z, A[h], V[h])
            if self.shift is not None:
                out = _shift(out, *self.shift)
            Z = out
            path.append(Z)
        check_finite_result(Z, "the transformer output", "Z or the parameters are too large (the logits "
                            "overflow): rescale Z")
        return torch.stack(path, dim=-3) if return_all else Z
