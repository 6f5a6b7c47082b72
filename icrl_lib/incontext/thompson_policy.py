"""The rest of linear Thompson sampling after the posterior moments: a Newton-Schulz square root and a ReLU network
for the argmax probabilities (chapter 10; our construction, [ours]).

:func:`~icrl_lib.incontext.thompson_construction` writes the arm-value means ``m`` (A) and covariances ``C`` (A, A)
into the token. Thompson sampling plays arm ``k`` with probability ``P(v_k = max_l v_l)``, ``v ~ N(m, C)``. Two
steps remain, both written here as the per-layer operations a ReLU transformer can express:

1. :func:`newton_schulz_sqrt`: the coupled Newton-Schulz iteration ``P = Z Y``, ``Y <- Y (3I - P) / 2``,
   ``Z <- (3I - P) Z / 2`` from ``Y = C / s``, ``Z = I`` converges to ``(C/s)^{1/2}`` (and ``Z`` to the inverse
   root on the range of ``C``) for ``0 <= C <= s I``. Every step is two bilinear maps of the token's own entries:
   each entry of ``Z Y`` is a bilinear form, which one opposite-sign pair of *local* ReLU-attention heads
   computes (score ``<Q h_i, K h_j> + G (j - i)`` with ``G`` above the score bound, value ``j``, the gate of the
   chapter's UCB-VI construction). So one iteration is two attention layers with ``2A^2`` and ``4A^2`` heads.
   Here the bilinear maps are evaluated as matrix products; the head weights are not built.
2. :func:`relu_argmax_probs`: with ``N`` standard-normal vectors ``z_n`` frozen into the weights, the arm values
   of draw ``n`` are ``v_n = m + R z_n`` (linear in the token), and
   ``f_{n,k} = ReLU(1 - sum_{l != k} ReLU(1 + (v_{n,l} - v_{n,k}) / gamma))`` is 1 when arm ``k`` wins draw ``n``
   by more than ``gamma``, 0 when it loses, in between only within ``gamma`` of a tie. Two ReLU MLP blocks
   (``N A (A - 1)`` then ``N A`` units); the policy is ``mean_n f_{n,k}``, normalised in the read-out. It tends to
   the Thompson probabilities as ``N -> infinity`` and ``gamma -> 0``.
"""
from __future__ import annotations

import torch

from .._validation import as_tensor, check_int, check_positive, check_shape

__all__ = ["newton_schulz_sqrt", "relu_argmax_probs"]


def newton_schulz_sqrt(C, n_iter: int, scale: float) -> torch.Tensor:
    """Iterates ``R_0, ..., R_L`` (L + 1, ..., A, A) of the coupled Newton-Schulz iteration for ``C^{1/2}``
    (chapter 10, [ours]): ``R_k = sqrt(scale) Y_k`` with ``Y_0 = C / scale``, ``Z_0 = I``, ``P = Z_k Y_k``,
    ``Y_{k+1} = Y_k (3I - P) / 2``, ``Z_{k+1} = (3I - P) Z_k / 2``. ``C`` (..., A, A) symmetric positive
    semi-definite with ``lambda_max(C) <= scale`` (then every eigenvalue converges, 0 stays 0); the input is
    symmetrised first. ``n_iter`` = L >= 0 (two attention layers per iteration)."""
    C = as_tensor(C, "C")
    check_shape(C, "C", (None, None))
    A = C.shape[-1]
    if A < 1 or C.shape[-2] != A:
        raise ValueError(f"C must be square (..., A, A); got {tuple(C.shape)}")
    L = check_int(n_iter, "n_iter", minimum=0)
    s = check_positive(scale, "scale")
    eye = torch.eye(A, dtype=C.dtype)
    Y = (C + C.transpose(-1, -2)) / (2 * s)
    Z = eye.expand_as(Y).clone()
    out = [Y]
    for _ in range(L):
        P = Z @ Y
        Y, Z = Y @ (3 * eye - P) / 2, (3 * eye - P) @ Z / 2
        out.append(Y)
    return torch.stack(out) * s ** 0.5


def relu_argmax_probs(means, root, draws, gamma: float) -> torch.Tensor:
    """Argmax probabilities (..., A) of ``v = means + root z`` by the two-block ReLU network of the module
    docstring (chapter 10, [ours]). ``means`` (..., A); ``root`` (..., A, A) a square root of the covariance
    (``root @ root^T = C``); ``draws`` (N, A) the frozen standard-normal vectors (the network's weights);
    ``gamma`` > 0 the width of the tie band. The unnormalised ``mean_n f_{n,k}`` is divided by its sum over
    arms (the read-out); the sum is 1 unless a draw falls within ``gamma`` of a tie."""
    means = as_tensor(means, "means")
    check_shape(means, "means", (None,))
    A = means.shape[-1]
    if A < 1:
        raise ValueError("means must have at least one arm (..., A) with A >= 1")
    root = as_tensor(root, "root", dtype=means.dtype)
    check_shape(root, "root", (A, A))
    draws = as_tensor(draws, "draws", dtype=means.dtype)
    if draws.dim() != 2 or draws.shape[1] != A or draws.shape[0] < 1:
        raise ValueError(f"draws must have shape (N, A) = (N, {A}); got {tuple(draws.shape)}")
    g = check_positive(gamma, "gamma")
    off = 1 - torch.eye(A, dtype=means.dtype)
    total = torch.zeros(torch.broadcast_shapes(means.shape, root.shape[:-1]), dtype=means.dtype)
    for z in torch.split(draws, 256):                                    # chunks of draws: memory only
        v = means.unsqueeze(-2) + z @ root.transpose(-1, -2)             # (..., n, A), linear in the token
        inner = torch.relu(1 + (v.unsqueeze(-2) - v.unsqueeze(-1)) / g) * off   # (..., n, k, l != k): block 1
        total = total + torch.relu(1 - inner.sum(-1)).sum(-2)            # block 2, summed over the draws
    p = total / draws.shape[0]
    return p / p.sum(-1, keepdim=True).clamp_min(torch.finfo(p.dtype).tiny)
