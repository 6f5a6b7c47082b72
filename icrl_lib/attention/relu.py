"""ReLU attention and the ReLU MLP layer of [LBM24] (chapters 9 and 10).

Tokens are the columns of ``H`` in R^{D x N}. One attention layer with ``M`` heads is

    h'_i = h_i + sum_m (1/i) sum_{j <= i} ReLU(<Q_m h_i, K_m h_j>) V_m h_j        (causal, [LBM24])
    h'_i = h_i + sum_m (1/N) sum_{j <= N} ReLU(<Q_m h_i, K_m h_j>) V_m h_j        (causal=False)

so token ``i`` is the destination (its query ``Q_m h_i``) and token ``j`` the source. The causal form averages
over the ``i`` tokens token ``i`` may see, which is what lets one layer compute the in-context mean of a gradient
(chapter 10). In matrix form (one head) the update is ``V H (ReLU(Hᵀ Kᵀ Q H) ⊙ C)`` with ``C[j, i] = 1/i`` for
``j <= i`` and 0 otherwise.

The MLP layer is ``H + W_2 ReLU(W_1 H + b_1)`` applied to every column.

Memory: the attention forms the (N, N) score matrix of every head and prompt, ``O(B M N^2)`` entries; the
checked functions refuse it above ``icrl_lib._validation.MAX_INTERMEDIATE_BYTES`` before allocating.
"""
from __future__ import annotations

from math import prod

import torch

from .._validation import (
    as_tensor, broadcast_batch, check_bool, check_finite_result, check_float_dtype, check_int, check_memory,
    check_shape)

__all__ = ["relu_attention", "relu_attention_unchecked", "relu_mlp", "causal_average_weights"]


def causal_average_weights(n: int, causal: bool = True, dtype=torch.float64, device=None) -> torch.Tensor:
    """The (N, N) weights ``C[j, i]`` of source ``j`` for destination ``i`` (chapter 10): ``1/i`` on ``j <= i``
    (1-based) when ``causal``, else ``1/N`` everywhere. ``O(n^2)`` memory (refused above 4 GiB)."""
    n = check_int(n, "n")
    causal = check_bool(causal, "causal")
    dtype = check_float_dtype(dtype)
    check_memory(n * n, dtype, f"the ({n}, {n}) weight matrix", "n")
    if not causal:
        return torch.full((n, n), 1.0 / n, dtype=dtype, device=device)
    i = torch.arange(1, n + 1, dtype=dtype, device=device)
    return torch.triu(torch.ones(n, n, dtype=dtype, device=device)) / i


def relu_attention_unchecked(H: torch.Tensor, Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor,
                             causal: bool = True) -> torch.Tensor:
    """:func:`relu_attention` without input checks (training hot path; chapters 9-10).

    ``H`` (..., D, N); ``Q``, ``K``, ``V`` (..., M, D, D); ``causal`` a bool. Returns (..., D, N). ``O(B M N^2)``
    memory (the score matrices), not checked here.
    """
    Hm = H.unsqueeze(-3)                                            # (..., 1, D, N): broadcast over heads
    scores = (K @ Hm).transpose(-1, -2) @ (Q @ Hm)                  # (..., M, N, N): [j, i] = <Q h_i, K h_j>
    weights = torch.relu(scores) * causal_average_weights(H.shape[-1], causal, H.dtype, H.device)
    return H + (V @ Hm @ weights).sum(-3)


def relu_attention(H, Q, K, V, causal: bool = True) -> torch.Tensor:
    """One [LBM24] ReLU-attention layer with ``M`` heads (chapter 10).

    Args:
        H: tokens as columns, (..., D, N).
        Q, K, V: query, key and value matrices, (..., M, D, D) with the head index third from last, or (D, D)
            for one head (a batched single head is (..., 1, D, D)). The weight of source ``j`` for destination
            ``i`` is ``ReLU(<Q_m h_i, K_m h_j>)``.
        causal: average over ``j <= i`` with weight ``1/i`` ([LBM24]); else over all ``N`` tokens with ``1/N``.

    Returns ``H + sum_m (avg_j ReLU(<Q_m h_i, K_m h_j>) V_m h_j)_i`` of shape (..., D, N) in ``H``'s dtype.

    Memory ``O(B M N^2)`` (the score matrices, B the batch size): refused with the size it would need above
    ``MAX_INTERMEDIATE_BYTES``. ``ValueError`` if the output overflows (rescale ``H``, ``Q``, ``K`` or ``V``).
    """
    H = as_tensor(H, "H")
    check_shape(H, "H", (None, None))
    causal = check_bool(causal, "causal")
    D, N = H.shape[-2:]
    mats = []
    for name, m in (("Q", Q), ("K", K), ("V", V)):
        m = as_tensor(m, name, dtype=H.dtype)
        check_shape(m, name, (D, D))
        mats.append(m.unsqueeze(-3) if m.dim() == 2 else m)
    heads = {m.shape[-3] for m in mats}
    if len(heads) != 1:
        raise ValueError(f"Q, K and V must have the same number of heads; got {[m.shape[-3] for m in mats]}")
    batch = broadcast_batch({"H": H.shape, "Q": mats[0].shape, "K": mats[1].shape, "V": mats[2].shape},
                            {"H": 2, "Q": 3, "K": 3, "V": 3})
    check_memory(prod(batch) * heads.pop() * N * N, H.dtype, f"the ({N}, {N}) score matrices", "H")
    return check_finite_result(relu_attention_unchecked(H, *mats, causal=causal), "the attention output",
                               "H, Q, K or V is too large: rescale them")


def relu_mlp(H, W1, W2, b1=None) -> torch.Tensor:
    """The [LBM24] MLP layer ``H + W_2 ReLU(W_1 H + b_1)`` on every column (chapter 10).

    ``H`` (..., D, N), ``W1`` (..., D_hidden, D), ``W2`` (..., D, D_hidden), ``b1`` (..., D_hidden) or None.
    Returns (..., D, N).
    """
    H = as_tensor(H, "H")
    check_shape(H, "H", (None, None))
    D = H.shape[-2]
    W1 = as_tensor(W1, "W1", dtype=H.dtype)
    W2 = as_tensor(W2, "W2", dtype=H.dtype)
    check_shape(W1, "W1", (None, D))
    check_shape(W2, "W2", (D, W1.shape[-2]))
    shapes, trailing = {"H": H.shape, "W1": W1.shape, "W2": W2.shape}, {"H": 2, "W1": 2, "W2": 2}
    if b1 is not None:
        b1 = as_tensor(b1, "b1", dtype=H.dtype)
        check_shape(b1, "b1", (W1.shape[-2],))
        shapes["b1"], trailing["b1"] = b1.shape, 1
    broadcast_batch(shapes, trailing)
    pre = W1 @ H
    if b1 is not None:
        pre = pre + b1.unsqueeze(-1)
    return check_finite_result(H + W2 @ torch.relu(pre), "the MLP output", "H, W1, W2 or b1 is too large: rescale them")
