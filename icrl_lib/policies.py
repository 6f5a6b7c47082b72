"""Policies derived from action values: softmax (Boltzmann) with temperature, epsilon-greedy, uniform.

All return a stochastic matrix ``pi[..., s, a]`` whose rows sum to one (chapter 1; the behaviour policy
``pi_w`` of the in-context control loop in chapters 4-7 is one of these applied to ``q_w``).
"""
from __future__ import annotations

import torch

from ._validation import as_tensor, check_int, check_positive, check_probability, check_shape

__all__ = ["softmax_policy", "epsilon_greedy_policy", "uniform_policy"]


def softmax_policy(q, temperature: float = 1.0) -> torch.Tensor:
    """``pi(a|s) = exp(q(s,a)/tau) / sum_b exp(q(s,b)/tau)``; ``q`` (..., S, A), ``temperature`` tau > 0."""
    q = as_tensor(q, "q")
    check_shape(q, "q", (None, None))
    tau = check_positive(temperature, "temperature")
    return torch.softmax(q / tau, dim=-1)


def epsilon_greedy_policy(q, epsilon: float) -> torch.Tensor:
    """Greedy with probability ``1 - epsilon`` (split evenly among tied maxima), uniform otherwise."""
    q = as_tensor(q, "q")
    check_shape(q, "q", (None, None))
    eps = check_probability(epsilon, "epsilon")
    A = q.shape[-1]
    is_max = (q == q.max(-1, keepdim=True).values).to(q.dtype)
    greedy = is_max / is_max.sum(-1, keepdim=True)
    return (1 - eps) * greedy + eps / A


def uniform_policy(n_states: int, n_actions: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """The uniform random policy, shape ``(n_states, n_actions)``."""
    S = check_int(n_states, "n_states")
    A = check_int(n_actions, "n_actions")
    return torch.full((S, A), 1.0 / A, dtype=dtype)
