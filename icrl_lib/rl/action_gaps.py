"""Why a learned policy commits to a suboptimal action: action gaps under ``Q*`` (chapter 1).

``V*`` (S,) and ``Q*`` (S, A) are the optimal values; the *loss* of action ``a`` in state ``s`` is
``V*(s) - Q*(s, a) >= 0`` (zero for the optimal actions). For final policies ``pi`` of shape ``(R, S, A)`` (one
per run) :func:`greedy_commitment` reports which action each run prefers, how much probability it still gives
the optimal action, and what the preferred action loses (chapter 1, "Why actor-critic stalls").
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .._validation import as_tensor, check_positive, check_shape, check_stochastic

__all__ = ["GreedyCommitment", "greedy_commitment"]

_F64 = torch.float64


class GreedyCommitment(NamedTuple):
    """The result of :func:`greedy_commitment` (chapter 1): R runs, S states, A actions."""
    loss: torch.Tensor            # (S, A): V*(s) - Q*(s, a), exactly 0 for the optimal actions
    optimal: torch.Tensor         # (S,): the optimal action a*(s) (argmax of pi*)
    preferred: torch.Tensor       # (R, S): argmax_a pi(a|s) per run
    p_optimal: torch.Tensor       # (R, S): pi(a*(s)|s)
    wrong: torch.Tensor           # (R, S): preferred != a*
    preferred_loss: torch.Tensor  # (R, S): loss of the preferred action


def greedy_commitment(pi, pi_star, V_star, Q_star, atol: float = 1e-12) -> GreedyCommitment:
    """Preferred actions of policies ``pi`` (R, S, A) against the optimal ``pi_star`` (S, A); chapter 1.

    ``V_star`` (S,), ``Q_star`` (S, A); losses ``V* - Q*`` below ``atol`` in absolute value (round-off of the
    optimal actions) are set to exactly 0.
    """
    Q_star = as_tensor(Q_star, "Q_star", dtype=_F64)
    check_shape(Q_star, "Q_star", (None, None), batch=False)
    S, A = Q_star.shape
    V_star = as_tensor(V_star, "V_star", dtype=_F64)
    check_shape(V_star, "V_star", (S,), batch=False)
    pi_star = as_tensor(pi_star, "pi_star", dtype=_F64)
    check_shape(pi_star, "pi_star", (S, A), batch=False)
    check_stochastic(pi_star, "pi_star")
    pi = as_tensor(pi, "pi", dtype=_F64)
    check_shape(pi, "pi", (S, A))
    if pi.dim() > 3:
        raise ValueError(f"pi must have shape (S, A) or (R, S, A); got {tuple(pi.shape)}")
    check_stochastic(pi, "pi")
    tol = check_positive(atol, "atol")
    loss = V_star.unsqueeze(-1) - Q_star
    loss = torch.where(loss.abs() < tol, torch.zeros((), dtype=_F64), loss)
    pi = pi.reshape(-1, S, A)
    a_star = pi_star.argmax(-1)
    preferred = pi.argmax(-1)
    p_opt = pi.gather(-1, a_star.expand(len(pi), S).unsqueeze(-1)).squeeze(-1)
    preferred_loss = loss.gather(-1, preferred.T).T
    return GreedyCommitment(loss, a_star, preferred, p_opt, preferred != a_star, preferred_loss)
