"""The SARSA moments of a context under a feature table, and the agent that jumps to their fixed point
(chapter 11, section 4, random features).

With ``phi_t = phi(s_t, a_t)``, ``phi'_t = phi(s'_t, a'_t)`` (``table`` (S, A, d)) and N transitions,

    A_hat = (1/N) sum_t phi_t (phi_t - gamma phi'_t)^T   (d, d),    b_hat = (1/N) sum_t R_t phi_t   (d,),

so that one batch SARSA step is ``w + alpha (b_hat - A_hat w)`` and its fixed points solve ``A_hat w = b_hat``.
"""
from __future__ import annotations

from typing import Callable

import torch

from .._validation import as_tensor, check_gamma, check_shape
from .base import check_transition_fields
from .features import feature_data

__all__ = ["feature_sarsa_moments", "fixed_point_agent"]

_F64 = torch.float64


def _table(table) -> torch.Tensor:
    table = as_tensor(table, "table", dtype=_F64)
    check_shape(table, "table", (None, None, None), batch=False)
    return table


def feature_sarsa_moments(table, transitions, gamma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(A_hat (..., d, d), b_hat (..., d))`` of the transitions (..., N) under ``table`` (S, A, d)
    (chapter 11; the module docstring has the formulas)."""
    table = _table(table)
    gamma = check_gamma(gamma)
    r = check_transition_fields(transitions, table.shape[0], table.shape[1])
    phi = feature_data(table, transitions.s, transitions.a)
    phi_n = feature_data(table, transitions.s_next, transitions.a_next)
    A_hat = phi.transpose(-1, -2) @ (phi - gamma * phi_n) / phi.shape[-2]
    return A_hat, (phi * r[..., None]).mean(-2)


def fixed_point_agent(table, gamma: float) -> Callable:
    """An agent ``update(w (..., d), transitions) -> w`` that jumps to a fixed point of each round's context,
    ``A_hat w = b_hat``, by the least-norm correction ``w + pinv(A_hat) (b_hat - A_hat w)`` (chapter 11): the
    limit of infinitely many SARSA steps where they converge, the nearest solution otherwise."""
    table = _table(table)
    gamma = check_gamma(gamma)

    def update(w, transitions) -> torch.Tensor:
        w = as_tensor(w, "w", dtype=_F64)
        check_shape(w, "w", (table.shape[-1],))
        A_hat, b_hat = feature_sarsa_moments(table, transitions, gamma)
        res = b_hat - (A_hat @ w[..., None])[..., 0]
        return w + (torch.linalg.pinv(A_hat, rtol=1e-10) @ res[..., None])[..., 0]
    return update
