"""Weighted softmax TD ([X26]) and its kernel matrices (chapter 8).

A trajectory ``S_0, ..., S_n`` with features ``x(S_j)`` (rows of ``features``, shape ``(..., n+1, d)``) and
rewards ``R_1, ..., R_n`` (``R_{k}`` earned on leaving ``S_{k-1}``). Weighted softmax TD keeps a value per column
state and updates all of them at once with the TD errors of the old values,

    delta_k = R_k + gamma v(S_k) - v(S_{k-1}),    k = 1..n,
    v+(s)   = v(s) + alpha sum_k K(S_{k-1}, s) delta_k,
    K(S_{k-1}, s) = exp<x(s), x(S_{k-1})> / sum_m exp<x(s), x(S_{m-1})>,

which is the weighted softmax TD of chapter 8, section 2. Grouping sources by state gives the matrix form
``v+ = v + alpha M_hat (T_hat v - v)`` on the visited states (:func:`empirical_kernel_matrices`); its
population version ``M_pi`` (:func:`population_kernel`) enters the paper's Assumption 5.1
(:func:`contraction_constant`).
"""
from __future__ import annotations

import math

import torch

from .._validation import (as_tensor, broadcast_batch, check_finite_result, check_gamma, check_indices, check_int,
                           check_memory, check_real, check_shape, check_stochastic)

__all__ = ["softmax_kernel", "weighted_softmax_td", "empirical_kernel_matrices", "population_kernel",
           "contraction_constant"]


def softmax_kernel(features) -> torch.Tensor:
    """The weights ``K[..., j, i] = K(S_i, S_j)`` of source ``S_i`` (i < n) for destination ``S_j`` (chapter 8).

    ``features`` (..., n+1, d) for ``S_0..S_n``; returns (..., n+1, n): row ``j`` is the softmax over the sources
    ``i = 0..n-1`` of ``<x(S_j), x(S_i)>`` (the last state ``S_n`` is never a source, as the query column of the
    prompt). Computed with a max-shifted softmax, so logits of 1e3 stay finite; logits that overflow the dtype
    (features of norm ~1e154 in float64) raise ``ValueError``. Memory: the (n+1) x n kernel is O(n^2) per batch
    entry; above ``icrl_lib._validation.MAX_INTERMEDIATE_BYTES`` it is refused before anything is allocated.
    """
    x = as_tensor(features, "features")
    check_shape(x, "features", (None, None))
    if x.shape[-2] < 2:
        raise ValueError(f"features must have shape (..., n+1, d) with n >= 1; got {tuple(x.shape)}")
    return _kernel(x)


def _kernel(x: torch.Tensor) -> torch.Tensor:
    n = x.shape[-2] - 1
    check_memory(math.prod(x.shape[:-2]) * (n + 1) * n, x.dtype, "the (n+1) x n softmax kernel (O(n^2))",
                 "features")
    logits = x @ x[..., :-1, :].transpose(-1, -2)          # (..., n+1, n)
    check_finite_result(logits, "the logits <x(S_j), x(S_i)> of the softmax kernel", "scale down features")
    return torch.softmax(logits, dim=-1)


def weighted_softmax_td(features, rewards, gamma, alpha, n_iters: int, v0=None) -> torch.Tensor:
    """Weighted softmax TD [X26]: the values of every column state after each iteration (chapter 8).

    Args:
        features: (..., n+1, d), ``x(S_0), ..., x(S_n)``.
        rewards: (..., n), ``R_1, ..., R_n``.
        gamma: discount in [0, 1); alpha: step size (a real number).
        n_iters: number of iterations ``L >= 0``.
        v0: initial values of the columns (..., n+1); zero if omitted.

    Returns ``(..., n_iters + 1, n + 1)``: entry ``[l, j]`` is ``v_l(S_j)``. All TD errors of one iteration use
    the old values: ``v_{l+1}(S_j) = v_l(S_j) + alpha sum_k K(S_{k-1}, S_j) delta_k(v_l)``.

    Memory: it builds the (n+1) x n kernel of :func:`softmax_kernel`, O(n^2) per batch entry (8 (n+1) n bytes
    in float64: 80 GB for n = 10^5); a kernel above ``icrl_lib._validation.MAX_INTERMEDIATE_BYTES`` (4 GiB) is
    refused with ``ValueError`` before anything is allocated. A divergent step size (or logits that overflow)
    raises ``ValueError`` instead of returning inf/NaN values.
    """
    g = check_gamma(gamma)
    a = check_real(alpha, "alpha")
    L = check_int(n_iters, "n_iters", minimum=0)
    x = as_tensor(features, "features")
    check_shape(x, "features", (None, None))
    r = as_tensor(rewards, "rewards", dtype=x.dtype)
    check_shape(r, "rewards", (None,))
    n = x.shape[-2] - 1
    if n < 1 or r.shape[-1] != n:
        raise ValueError(f"rewards must have shape (..., n) with n + 1 = {x.shape[-2]} the number of feature rows "
                         f"(n >= 1); got {tuple(r.shape)}")
    shapes, trailing = {"features": x.shape, "rewards": r.shape}, {"features": 2, "rewards": 1}
    if v0 is not None:
        v = as_tensor(v0, "v0", dtype=x.dtype)
        check_shape(v, "v0", (n + 1,))
        shapes["v0"], trailing["v0"] = v.shape, 1
    batch = broadcast_batch(shapes, trailing)
    K = _kernel(x)
    if v0 is None:
        v = torch.zeros(*batch, n + 1, dtype=x.dtype)
    else:
        v = v.expand(*batch, n + 1)
    path = [v]
    for _ in range(L):
        delta = r + g * v[..., 1:] - v[..., :-1]              # (..., n): delta_k, k = 1..n
        v = v + a * (K @ delta.unsqueeze(-1)).squeeze(-1)
        path.append(v)
    out = torch.stack(torch.broadcast_tensors(*path), dim=-2)
    return check_finite_result(out, "the weighted softmax TD values", "reduce alpha (the step size) or n_iters")


def empirical_kernel_matrices(states, rewards, state_features) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                                        torch.Tensor]:
    """The matrix form of weighted softmax TD on a tabular state space (chapter 8, our derivation).

    Args:
        states: (..., n+1) integer trajectory ``S_0..S_n`` in ``[0, S)``.
        rewards: (..., n), ``R_1..R_n``.
        state_features: (S, d) or (..., S, d), the feature ``x(s)`` of every state.

    Returns ``(M_hat, P_hat, r_hat, counts)``: ``counts[s]`` = n(s), the number of ``k`` with ``S_{k-1} = s``;
    ``M_hat[u, s] = n(s) e^{<x_u, x_s>} / sum_s' n(s') e^{<x_u, x_s'>}`` (..., S, S), row-stochastic, zero
    columns at unvisited sources; ``P_hat[s, s']`` the empirical successor law and ``r_hat[s]`` the mean reward
    of source ``s`` (zero rows/entries where ``n(s) = 0``). Then for any values ``v`` (..., S) of the states,
    one iteration of :func:`weighted_softmax_td` is ``v + alpha M_hat (r_hat + gamma P_hat v - v)`` at every
    column state.
    """
    phi = as_tensor(state_features, "state_features")
    check_shape(phi, "state_features", (None, None))
    S = phi.shape[-2]
    s = check_indices(states, "states", S)
    r = as_tensor(rewards, "rewards", dtype=phi.dtype)
    check_shape(r, "rewards", (None,))
    if s.dim() < 1 or s.shape[-1] < 2 or r.shape != s.shape[:-1] + (s.shape[-1] - 1,):
        raise ValueError(f"rewards must have shape (..., n) for states of shape (..., n+1); got {tuple(r.shape)} "
                         f"and {tuple(s.shape)}")
    broadcast_batch({"states": s.shape, "state_features": phi.shape}, {"states": 1, "state_features": 2})
    onehot = torch.nn.functional.one_hot(s, S).to(phi.dtype)         # (..., n+1, S)
    src, nxt = onehot[..., :-1, :], onehot[..., 1:, :]
    counts = src.sum(-2)                                              # (..., S)
    safe = counts.clamp_min(1.0)
    P_hat = (src.transpose(-1, -2) @ nxt) / safe.unsqueeze(-1)
    r_hat = (src.transpose(-1, -2) @ r.unsqueeze(-1)).squeeze(-1) / safe
    logits = phi @ phi.transpose(-1, -2)                              # (..., S, S)
    check_finite_result(logits, "the logits <x_u, x_s>", "scale down state_features")
    logw = logits + torch.log(counts).unsqueeze(-2)                   # -inf at unvisited sources
    M_hat = torch.softmax(logw, dim=-1)
    return M_hat, P_hat, r_hat, counts


def population_kernel(mu, state_features) -> torch.Tensor:
    """The population kernel ``M_pi(s, s') = mu(s') e^{<x_s, x_s'>} / sum_s'' mu(s'') e^{<x_s, x_s''>}`` (chapter 8).

    ``mu`` (..., S) a distribution over states (the stationary law ``mu_pi`` in [X26]), ``state_features``
    (..., S, d). Returns (..., S, S), row-stochastic. It is the limit of ``M_hat`` of
    :func:`empirical_kernel_matrices` as the trajectory grows.
    """
    m = as_tensor(mu, "mu")
    check_shape(m, "mu", (None,))
    if bool((m < 0).any()) or not bool(torch.allclose(m.sum(-1), torch.ones((), dtype=m.dtype), atol=1e-8)):
        raise ValueError("mu must be a probability vector (non-negative, summing to 1 along the last axis)")
    phi = as_tensor(state_features, "state_features", dtype=m.dtype)
    check_shape(phi, "state_features", (m.shape[-1], None))
    broadcast_batch({"mu": m.shape, "state_features": phi.shape}, {"mu": 1, "state_features": 2})
    logits = phi @ phi.transpose(-1, -2)
    check_finite_result(logits, "the logits <x_s, x_s'>", "scale down state_features")
    logw = logits + torch.log(m).unsqueeze(-2)
    return torch.softmax(logw, dim=-1)


def contraction_constant(M_pi, gamma) -> torch.Tensor:
    """The constant ``C`` of [X26]'s Assumption 5.1: ``C = min_s M_pi(s, s) - (1 + gamma) / 2`` (chapter 8).

    ``M_pi`` (..., S, S) row-stochastic, from :func:`population_kernel`; returns (...). The assumption holds
    when ``C > 0``; the paper's depth bound then decays like ``(1 - C)^L``.
    """
    g = check_gamma(gamma)
    M = as_tensor(M_pi, "M_pi")
    check_shape(M, "M_pi", (None, None))
    if M.shape[-1] != M.shape[-2]:
        raise ValueError(f"M_pi must be square (..., S, S); got {tuple(M.shape)}")
    check_stochastic(M, "M_pi")
    return torch.diagonal(M, dim1=-2, dim2=-1).min(-1).values - (1 + g) / 2
