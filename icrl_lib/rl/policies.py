"""Policies derived from action values: softmax (Boltzmann) with temperature, epsilon-greedy, uniform.

All return a stochastic matrix ``pi[..., s, a]`` whose rows sum to one (chapter 1; the behaviour policy
``pi_w`` of the in-context control loop in chapters 4-7 is one of these applied to ``q_w``).
"""
from __future__ import annotations

import torch

from .._validation import (
    as_tensor, broadcast_batch, check_float_dtype, check_indices, check_int, check_positive,
    check_probability, check_shape)

__all__ = ["softmax_policy", "epsilon_greedy_policy", "uniform_policy", "softmax_actor_policy",
           "softmax_actor_scores"]


def softmax_policy(q, temperature: float = 1.0) -> torch.Tensor:
    """Boltzmann policy (chapter 1): ``pi(a|s) = exp(q(s,a)/tau) / sum_b exp(q(s,b)/tau)``.

    ``q`` (..., S, A), ``temperature`` tau > 0. Returns (..., S, A).
    """
    q = as_tensor(q, "q")
    check_shape(q, "q", (None, None))
    tau = check_positive(temperature, "temperature")
    # Shift by the row maximum first: q / tau alone overflows to inf (and softmax to NaN) for huge q / tiny tau.
    return torch.softmax((q - q.max(-1, keepdim=True).values) / tau, dim=-1)


def epsilon_greedy_policy(q, epsilon: float) -> torch.Tensor:
    """Epsilon-greedy policy (chapter 1): greedy with probability ``1 - epsilon`` (split evenly among tied
    maxima), uniform otherwise. ``q`` (..., S, A) -> (..., S, A)."""
    q = as_tensor(q, "q")
    check_shape(q, "q", (None, None))
    eps = check_probability(epsilon, "epsilon")
    A = q.shape[-1]
    is_max = (q == q.max(-1, keepdim=True).values).to(q.dtype)
    greedy = is_max / is_max.sum(-1, keepdim=True)
    return (1 - eps) * greedy + eps / A


def uniform_policy(n_states: int, n_actions: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The uniform random policy (chapter 1), shape ``(n_states, n_actions)``, of a floating ``dtype``."""
    S = check_int(n_states, "n_states")
    A = check_int(n_actions, "n_actions")
    check_float_dtype(dtype)
    return torch.full((S, A), 1.0 / A, dtype=dtype)


def _actor_preferences(theta, table) -> torch.Tensor:
    theta = as_tensor(theta, "theta")
    check_shape(theta, "theta", (None,))
    table = as_tensor(table, "table", dtype=theta.dtype)
    check_shape(table, "table", (None, None, theta.shape[-1]), batch=False)
    return torch.einsum("sad,...d->...sa", table, theta)


def softmax_actor_policy(theta, table, temperature: float = 1.0) -> torch.Tensor:
    """The softmax actor ``pi_theta(a|s) = softmax_a(theta^T f(s, a) / tau)`` (chapter 1; chapter 5's actor).

    ``theta`` (..., d_actor), ``table`` (S, A, d_actor) with ``table[s, a] = f(s, a)`` (for example
    ``features.state_action_table`` for the tabular actor), ``temperature`` tau > 0. Returns (..., S, A).
    """
    return softmax_policy(_actor_preferences(theta, table), temperature)


def softmax_actor_scores(theta, s, a, table, temperature: float = 1.0) -> torch.Tensor:
    """Score vectors ``psi_t = grad_theta log pi_theta(A_t|S_t)`` of the softmax actor (chapter 1).

    ``psi_t = (f(S_t, A_t) - sum_b pi_theta(b|S_t) f(S_t, b)) / tau``. ``theta`` (..., d_actor), ``s`` and
    ``a`` integer indices (..., N), ``table`` (S, A, d_actor). Returns (..., N, d_actor); batch dimensions of
    ``theta`` and of the indices broadcast. The expectation of ``psi`` under ``pi_theta(.|s)`` is zero.
    """
    pi = softmax_actor_policy(theta, table, temperature)
    tau = check_positive(temperature, "temperature")
    table = as_tensor(table, "table", dtype=pi.dtype)
    S, A, d = table.shape
    s_t, a_t = check_indices(s, "s", S), check_indices(a, "a", A)
    if s_t.shape != a_t.shape or s_t.dim() == 0:
        raise ValueError(f"s and a must be index arrays of the same shape (..., N); got "
                         f"{tuple(s_t.shape)} and {tuple(a_t.shape)}")
    mean_f = torch.einsum("...sa,sad->...sd", pi, table)  # (..., S, d): E_{b ~ pi(.|s)} f(s, b)
    batch = broadcast_batch({"theta": mean_f.shape, "s": s_t.shape}, {"theta": 2, "s": 1})
    idx = s_t.expand(*batch, s_t.shape[-1]).unsqueeze(-1).expand(*batch, s_t.shape[-1], d)
    baseline = torch.gather(mean_f.expand(*batch, S, d), -2, idx)
    return (table[s_t, a_t] - baseline) / tau

