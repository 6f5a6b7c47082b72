"""Single-head linear self-attention with a residual connection as plain functions (chapter 2).

[LL26] form: tokens are the columns of ``H`` in R^{D x (N+1)} (columns 1..N are context tokens, column
N+1 is the query) and

    LSA_{P,V}(H) = H + (1/N) V H (H^T P H),

with ``V`` (D x D) the value/output matrix and ``P`` (D x D) the merged key-query matrix. With
``mask=True`` the query column is removed as a *source* ([W25]: ``H + (1/N) V H M (H^T P H)`` with
``M = diag(1, ..., 1, 0)``); it still receives an update. A general ``(N+1) x (N+1)`` matrix ``M`` can be
passed as ``mask`` (for example [W25]'s eligibility-trace mask for TD(lambda), chapter 3).
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import torch

from .._validation import as_tensor, check_bool, check_finite_result, check_layer_inputs, check_pairs, check_shape

__all__ = ["linear_self_attention", "apply_layers", "lsa_unchecked"]


def lsa_unchecked(H: torch.Tensor, P: torch.Tensor, V: torch.Tensor, mask=False) -> torch.Tensor:
    """The [LL26] layer without input checks: the hot-path form for training loops (chapters 2, 3, 6).

    Same conventions as :func:`linear_self_attention` (``H`` (..., D, N+1), ``P``, ``V`` (..., D, D),
    ``mask`` a bool or an (N+1, N+1) tensor) but no conversion, no shape checks and no dtype casts: pass
    tensors of one dtype. Costs ``O(D^2 N)``: it forms the D x D moment ``H M H^T`` instead of the
    (N+1) x (N+1) score matrix.
    """
    N = H.shape[-1] - 1
    src = H
    if isinstance(mask, torch.Tensor):
        src = H @ mask
    elif mask:
        src = H.clone()
        src[..., -1] = 0
    # (V H M)(H^T P H) = V (H M H^T) P H: a D x D moment instead of an (N+1) x (N+1) score matrix.
    moment = src @ H.transpose(-1, -2)
    return H + (V @ moment @ P @ H) / N


def linear_self_attention(H, P, V, mask=False) -> torch.Tensor:
    """Apply one [LL26] linear self-attention layer ``H + (1/N) V H (H^T P H)`` (chapter 2).

    Args:
        H: prompt ``(..., D, N+1)``; the last column is the query, ``N >= 1`` context columns.
        P: key-query matrix ``(..., D, D)``; V: value matrix ``(..., D, D)`` (batch dimensions broadcast).
        mask: ``True`` removes the query column as a source ([W25]); a matrix ``M`` of shape
            ``(N+1, N+1)`` gives the general form ``H + (1/N) V H M (H^T P H)``.

    Returns ``(..., D, N+1)`` in the common dtype of the inputs; ``ValueError`` if it overflows (scale down
    ``H``, ``P`` or ``V``).
    """
    H, P, V = check_layer_inputs(H, "H", {"P": P, "V": V})
    D, cols = H.shape[-2:]
    if isinstance(mask, (bool, np.bool_)):
        M = bool(mask)
    elif isinstance(mask, (torch.Tensor, np.ndarray, list, tuple)):
        M = as_tensor(mask, "mask", dtype=H.dtype)
        check_shape(M, "mask", (cols, cols), batch=False)
    else:  # a truthy string or int must not silently mean "masked"
        raise ValueError(f"mask must be True, False or an ({cols}, {cols}) matrix; got {mask!r}")
    return check_finite_result(lsa_unchecked(H, P, V, mask=M), "the attention output",
                               "H, P or V is too large: rescale them")


def apply_layers(H, layers: Sequence[tuple] | Iterable[tuple], mask=False) -> torch.Tensor:
    """Apply :func:`linear_self_attention` once per ``(P, V)`` pair in ``layers``, in order (chapters 2-3).

    ``H`` (..., D, N+1); ``layers`` an iterable of ``(P, V)`` pairs, each (..., D, D); returns (..., D, N+1).
    """
    layers = check_pairs(layers, "layers")
    if isinstance(mask, (bool, np.bool_, int, float, str)):
        check_bool(mask, "mask")
    out = H
    for pair in layers:
        out = linear_self_attention(out, pair[0], pair[1], mask=mask)
    return out
