"""Multi-head linear self-attention: the sum of ``M`` [LL26] heads with one residual (chapter 11).

    MLSA(H) = H + (1/N) sum_m V_m H M (H^T P_m H)

with ``P``, ``V`` of shape ``(..., M, D, D)`` (head ``m`` is ``(P[..., m, :, :], V[..., m, :, :])``). One head
is :func:`icrl_lib.attention.lsa_unchecked`; chapter 11 asks whether two heads trained by teacher mimicking
split the work of one construction between them.
"""
from __future__ import annotations

import torch

from .._validation import check_layer_inputs
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
    (M, D, D) (chapter 11). ``mask=True`` removes the query column as a source, as in the one-head layer.
    Returns (..., D, N+1) in the common dtype."""
    P = torch.as_tensor(P)
    V = torch.as_tensor(V)
    if P.dim() != 3 or V.dim() != 3 or P.shape != V.shape:
        raise ValueError(f"P and V must have the same shape (M, D, D); got {tuple(P.shape)} and {tuple(V.shape)}")
    H, _, _ = check_layer_inputs(H, "H", {"P": P[0], "V": V[0]})
    P, V = P.to(H.dtype), V.to(H.dtype)
    if not isinstance(mask, bool):
        raise ValueError("mask must be a bool")
    return multihead_lsa_unchecked(H, P, V, mask=mask)
