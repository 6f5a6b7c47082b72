"""The explicit ("teacher") batch updates that the attention constructions reproduce.

All functions batch over leading dimensions: ``w`` (..., d), features (..., N, d), rewards (..., N).
Chapter 1 introduces them; chapter 3 (TD) and chapter 4 (SARSA) prove the constructions equal them.
"""
from __future__ import annotations

import torch

from .._validation import (as_tensor, broadcast_batch, check_gamma, check_positive, check_shape)

__all__ = ["check_transition_batch", "td_errors", "batch_td_update", "batch_sarsa_update",
           "batch_actor_critic_update"]


def check_transition_batch(w, x, x_next, rewards, names=("w", "x", "x_next", "rewards")):
    """Validate and convert ``w`` (..., d), ``x`` and ``x_next`` (..., N, d), ``rewards`` (..., N) (chapter 1).

    Returns the four tensors in ``w``'s dtype; batch dimensions must broadcast. ``names`` are the argument
    names used in error messages.
    """
    w = as_tensor(w, names[0])
    x = as_tensor(x, names[1], dtype=w.dtype)
    check_shape(w, names[0], (None,))
    d = w.shape[-1]
    check_shape(x, names[1], (None, d))
    N = x.shape[-2]
    x_next = as_tensor(x_next, names[2], dtype=w.dtype)
    check_shape(x_next, names[2], (N, d))
    rewards = as_tensor(rewards, names[3], dtype=w.dtype)
    check_shape(rewards, names[3], (N,))
    broadcast_batch(dict(zip(names, (w.shape, x.shape, x_next.shape, rewards.shape))),
                    dict(zip(names, (1, 2, 2, 1))))
    return w, x, x_next, rewards


def td_errors(w, x, x_next, rewards, gamma) -> torch.Tensor:
    """TD errors (chapter 1): ``delta_t = R_t + gamma w^T x'_t - w^T x_t``, shape ``(..., N)``."""
    w, x, x_next, rewards = check_transition_batch(w, x, x_next, rewards)
    g = check_gamma(gamma)
    return rewards + g * (x_next @ w.unsqueeze(-1)).squeeze(-1) - (x @ w.unsqueeze(-1)).squeeze(-1)


def batch_td_update(w, x, x_next, rewards, gamma, C=None) -> torch.Tensor:
    """One step of batch TD(0): ``w + (1/N) C sum_t delta_t(w) x_t`` (``C = I`` if omitted).

    ``x`` (..., N, d) are the features ``x(s_j)``, ``x_next`` (..., N, d) the successor features
    ``x(s_{j+1})`` (raw, not multiplied by gamma), ``rewards`` (..., N), ``C`` (..., d, d) a preconditioner
    (for example ``alpha * I``). Chapter 3 proves that one masked linear-attention layer computes it.
    """
    w, x, x_next, rewards = check_transition_batch(w, x, x_next, rewards)
    delta = td_errors(w, x, x_next, rewards, gamma)
    step = (delta.unsqueeze(-1) * x).mean(-2)
    if C is not None:
        C = as_tensor(C, "C", dtype=w.dtype)
        check_shape(C, "C", (w.shape[-1], w.shape[-1]))
        broadcast_batch({"w": w.shape, "x": x.shape, "x_next": x_next.shape, "rewards": rewards.shape,
                         "C": C.shape}, {"w": 1, "x": 2, "x_next": 2, "rewards": 1, "C": 2})
        step = (C @ step.unsqueeze(-1)).squeeze(-1)
    return w + step


def batch_sarsa_update(w, phi, phi_next, rewards, alpha, gamma) -> torch.Tensor:
    """Batch semi-gradient SARSA ([LL26] eq. 2): ``w + (alpha/N) sum_t delta_t(w) phi_t``.

    ``delta_t = R_t + gamma w^T phi'_t - w^T phi_t`` with ``phi_t = phi(S_t, A_t)`` and
    ``phi'_t = phi(S'_t, A'_t)`` (A'_t the sampled successor action). With one-hot features this is a
    *sum* over visits of each pair scaled by alpha/N, not a per-pair mean. Chapter 4 proves that one
    linear-attention block computes it.
    """
    w, phi, phi_next, rewards = check_transition_batch(w, phi, phi_next, rewards, ("w", "phi", "phi_next", "rewards"))
    a = check_positive(alpha, "alpha")
    delta = td_errors(w, phi, phi_next, rewards, gamma)
    return w + a * (delta.unsqueeze(-1) * phi).mean(-2)


def batch_actor_critic_update(w, theta, x, x_next, rewards, psi, alpha, beta, gamma
                              ) -> tuple[torch.Tensor, torch.Tensor]:
    """One batch actor-critic step (our construction; chapter 1, proved in chapter 5).

    ``delta_t = R_t + gamma w^T x'_t - w^T x_t`` (the critic's TD error, all with the old ``w``);
    ``w+ = w + (alpha/N) sum_t delta_t x_t`` and ``theta+ = theta + (beta/N) sum_t delta_t psi_t``.

    Shapes: ``w`` (..., d), ``x`` and ``x_next`` (..., N, d) critic features of ``S_t`` and ``S'_t``,
    ``rewards`` (..., N), ``theta`` (..., d_actor), ``psi`` (..., N, d_actor) the score vectors
    ``psi_t = grad_theta log pi_theta(A_t|S_t)`` (see ``policies.softmax_actor_scores``). Leading batch
    dimensions broadcast. Returns ``(w_new, theta_new)``.
    """
    w, x, x_next, rewards = check_transition_batch(w, x, x_next, rewards)
    theta = as_tensor(theta, "theta", dtype=w.dtype)
    check_shape(theta, "theta", (None,))
    psi = as_tensor(psi, "psi", dtype=w.dtype)
    check_shape(psi, "psi", (x.shape[-2], theta.shape[-1]))
    broadcast_batch({"w": w.shape, "x": x.shape, "theta": theta.shape, "psi": psi.shape},
                    {"w": 1, "x": 2, "theta": 1, "psi": 2})
    a = check_positive(alpha, "alpha")
    b = check_positive(beta, "beta")
    delta = td_errors(w, x, x_next, rewards, gamma).unsqueeze(-1)
    # Both updates share the one scalar delta_t per transition: this is why one attention head suffices.
    return w + a * (delta * x).mean(-2), theta + b * (delta * psi).mean(-2)
