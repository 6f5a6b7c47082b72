"""Multi-head linear self-attention: the sum of ``M`` [LL26] heads with one residual (chapter 11).

    MLSA(H) = H + (1/N) sum_m V_m H M (H^T P_m H)

with ``P``, ``V`` of shape ``(..., M, D, D)`` (head ``m`` is ``(P[..., m, :, :], V[..., m, :, :])``). One head
is :func:`icrl_lib.attention.lsa_unchecked`; chapter 11 asks whether two heads trained by teacher mimicking
split the work of one construction between them.
"""
from __future__ import annotations

import torch

from .._validation import as_tensor, check_bool, check_finite_result, check_layer_inputs, check_shape
from .linear import lsa_unchecked

__all__ = ["multihead_lsa", "multihead_lsa_unchecked"]


def multihead_lsa_unchecked(H: torch.Tensor, P: torch.Tensor, V: torch.Tensor, mask=False) -> torch.Tensor:
    """:func:`multihead_lsa` without input checks, for training loops (chapter 11). ``P``, ``V`` (M, D, D)."""
    out = H
    for m in range(P.shape[-3]):
        out = out + lsa_unchecked(H, P[..., m, :, :], V[..., m, :, :], mask=mask) - H
    return out


def multihead_lsa(H, P, V, mask=False) -> torch.Tensor:
    """``H + (1/N) sum_m V_m H M (H^T P_m H)`` for prompts ``H`` (..., D, N+1) and heads ``P``, ``V``
    (M, D, D), M >= 1 (chapter 11). ``mask=True`` removes the query column as a source, as in the one-head layer.
    Every head is checked (shape, finiteness). Returns (..., D, N+1) in ``H``'s dtype; ``ValueError`` if it
    overflows."""
    H, = check_layer_inputs(H, "H", {})
    D = H.shape[-2]
    P = as_tensor(P, "P", dtype=H.dtype)
    V = as_tensor(V, "V", dtype=H.dtype)
    if P.dim() != 3 or V.dim() != 3 or P.shape != V.shape:
        raise ValueError(f"P and V must have the same shape (M, D, D); got {tuple(P.shape)} and {tuple(V.shape)}")
    check_shape(P, "P", (None, D, D), batch=False)
    mask = check_bool(mask, "mask")
    return check_finite_result(multihead_lsa_unchecked(H, P, V, mask=mask), "the attention output",
                               "H, P or V is too large: rescale them")
