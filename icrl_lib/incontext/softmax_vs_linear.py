"""Linear against softmax attention on the same trajectories (chapter 8, section 7): the error of the query's
value after every layer of [W25]'s linear construction (batch linear TD, ``C = c I``) and of [X26]'s softmax
construction (weighted softmax TD).

Shapes: ``features`` (B, n+1, d) are ``x(S_0..S_n)`` of B trajectories (the last column is the query ``S_n``),
``rewards`` (B, n) are ``R_1..R_n``, ``values`` (B,) the true ``v_pi(S_n)``. Each function returns the mean
over the B trajectories of ``|v_hat_l(S_n) - v_pi(S_n)|`` for ``l = 0..L``, shape (L+1,).
"""
from __future__ import annotations

import math

import torch

from .._validation import as_tensor, check_gamma, check_int, check_positive, check_shape
from ..attention import linear_self_attention
from .softmax_td import softmax_td_forward, softmax_td_prompt, softmax_td_readout
from .td import td_construction, td_prompt, td_readout

__all__ = ["linear_td_depth_errors", "softmax_td_depth_errors"]


def _check(features, rewards, values):
    x = as_tensor(features, "features")
    check_shape(x, "features", (None, None))
    if x.shape[-2] < 2:
        raise ValueError(f"features must have shape (B, n+1, d) with n >= 1; got {tuple(x.shape)}")
    r = as_tensor(rewards, "rewards", dtype=x.dtype)
    if r.shape != x.shape[:-2] + (x.shape[-2] - 1,):
        raise ValueError(f"rewards must have shape (B, n) for features (B, n+1, d); got {tuple(r.shape)} and "
                         f"{tuple(x.shape)}")
    v = as_tensor(values, "values", dtype=x.dtype)
    if v.shape != x.shape[:-2]:
        raise ValueError(f"values must have shape (B,) for features (B, n+1, d); got {tuple(v.shape)}")
    return x, r, v


def linear_td_depth_errors(features, rewards, values, gamma, n_layers: int, c) -> torch.Tensor:
    """Mean ``|v_hat_l(S_n) - v_pi(S_n)|`` (L+1,) of [W25]'s masked linear construction with ``C = c I``
    (batch linear TD with step ``c``; chapter 3) applied ``n_layers`` times to the TD prompt."""
    x, r, v = _check(features, rewards, values)
    g = check_gamma(gamma)
    L = check_int(n_layers, "n_layers", minimum=0)
    c = check_positive(c, "c")
    Z = td_prompt(x[..., :-1, :], x[..., 1:, :], r, x[..., -1, :], g)
    ((P, V),) = td_construction(x.shape[-1], 1, C=c * torch.eye(x.shape[-1], dtype=x.dtype))
    estimates = [td_readout(Z)]
    for _ in range(L):
        Z = linear_self_attention(Z, P, V, mask=True)
        estimates.append(td_readout(Z))
    return (torch.stack(estimates, -1) - v.unsqueeze(-1)).abs().reshape(-1, L + 1).mean(0)


def softmax_td_depth_errors(features, rewards, values, gamma, n_layers: int, beta=1.0, alpha=1.0
                            ) -> torch.Tensor:
    """Mean ``|v_hat_l(S_n) - v_pi(S_n)|`` (L+1,) of [X26]'s softmax construction (shift form) on features
    scaled by ``sqrt(beta)`` (the inverse temperature), step size ``alpha`` (chapter 8)."""
    x, r, v = _check(features, rewards, values)
    g = check_gamma(gamma)
    L = check_int(n_layers, "n_layers", minimum=0)
    b = check_positive(beta, "beta")
    a = check_positive(alpha, "alpha")
    Zs = softmax_td_forward(softmax_td_prompt(x * math.sqrt(b), r), L, g, a, return_all=True)
    return (softmax_td_readout(Zs)[..., -1] - v.unsqueeze(-1)).abs().reshape(-1, L + 1).mean(0)
