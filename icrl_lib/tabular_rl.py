"""Classic RL on a :class:`~icrl_lib.mdp.TabularMDP`: Bellman operators, value iteration, TD(0), batch TD,
the TD fixed point and actor-critic learning (chapter 1).

Exact quantities (``V^pi``, ``V*``) come from ``icrl_lib.mdp``; this module holds the sample-based and
iterative learners whose behaviour chapter 1 plots against them. Sequential loops run over *time* only.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from . import algorithms, control, features
from ._validation import as_tensor, check_gamma, check_int, check_positive, check_probability, check_shape
from .mdp import TabularMDP, _check_policy, policy_transition, sample_transitions

__all__ = ["bellman_expectation_operator", "bellman_optimality_operator", "value_iteration_history",
           "TDHistory", "td0_evaluation", "batch_td_evaluation", "td_fixed_point",
           "certainty_equivalence_values", "actor_critic"]

_F64 = torch.float64


def _check_mdp(mdp) -> TabularMDP:
    if not isinstance(mdp, TabularMDP):
        raise ValueError(f"mdp must be a TabularMDP; got {type(mdp).__name__}")
    return mdp


def _values(V, mdp: TabularMDP) -> torch.Tensor:
    V = as_tensor(V, "V", dtype=_F64)
    check_shape(V, "V", (mdp.n_states,))
    return V


def bellman_expectation_operator(mdp: TabularMDP, pi, V) -> torch.Tensor:
    """``(T^pi V)(s) = r_pi(s) + gamma sum_s' P_pi(s, s') V(s')``; ``V`` (..., S) -> (..., S), float64."""
    P_pi, r_pi = policy_transition(_check_mdp(mdp), pi)
    V = _values(V, mdp)
    return r_pi + mdp.gamma * V @ P_pi.T


def bellman_optimality_operator(mdp: TabularMDP, V) -> torch.Tensor:
    """``(T* V)(s) = max_a [r(s, a) + gamma sum_s' P(s, a, s') V(s')]``; ``V`` (..., S) -> (..., S), float64."""
    V = _values(V, _check_mdp(mdp))
    return (mdp.r + mdp.gamma * torch.einsum("sat,...t->...sa", mdp.P, V)).max(-1).values


def value_iteration_history(mdp: TabularMDP, n_iters: int, V0=None) -> torch.Tensor:
    """Iterates ``V_{k+1} = T* V_k`` from ``V0`` (zeros by default): returns ``V_0..V_K``, shape (K+1, S).

    ``mdp.value_iteration`` stops at a tolerance and returns the optimal policy; this keeps the whole path so
    chapter 1 can plot ``||V_k - V*||_inf`` against the contraction bound ``gamma^k ||V_0 - V*||_inf``.
    """
    _check_mdp(mdp)
    K = check_int(n_iters, "n_iters", minimum=0)
    V = torch.zeros(mdp.n_states, dtype=_F64) if V0 is None else as_tensor(V0, "V0", dtype=_F64)
    check_shape(V, "V0", (mdp.n_states,), batch=False)
    path = [V]
    for _ in range(K):
        V = bellman_optimality_operator(mdp, V)
        path.append(V)
    return torch.stack(path)


class TDHistory(NamedTuple):
    """Online TD(0) path: ``w`` (n+1, d) weights after each step, ``values`` (n+1, S) = ``w_t^T x(s)``."""

    w: torch.Tensor
    values: torch.Tensor


def td0_evaluation(mdp: TabularMDP, pi, n_steps: int, alpha, seed: int = 0, features=None, w0=None,
                   reset_prob: float = 0.0) -> TDHistory:
    """Online TD(0) for ``V^pi`` along one trajectory of ``pi`` (chapter 1).

    At step ``t`` with transition ``(S_t, R_t, S'_t)`` from ``mdp.sample_transitions(mdp, pi, n_steps, seed,
    reset_prob)``: ``delta_t = R_t + gamma w^T x(S'_t) - w^T x(S_t)`` and ``w <- w + alpha_t delta_t x(S_t)``.

    Args:
        features: state features ``x``, shape (S, d); tabular one-hot ``x(s) = e_s`` if omitted.
        alpha: a constant step size > 0, or a schedule of ``n_steps`` positive step sizes.
        w0: initial weights (d,), zeros if omitted.

    Returns:
        ``TDHistory(w (n_steps+1, d), values (n_steps+1, S))`` in the features' floating dtype (float64
        for the tabular default).
    """
    pi = _check_policy(_check_mdp(mdp), pi)
    n = check_int(n_steps, "n_steps")
    X = torch.eye(mdp.n_states, dtype=_F64) if features is None else as_tensor(features, "features")
    check_shape(X, "features", (mdp.n_states, None), batch=False)
    a = as_tensor(alpha, "alpha", dtype=_F64)
    if a.dim() == 0:
        a = a.expand(n)
    check_shape(a, "alpha", (n,), batch=False)
    if not bool((a > 0).all()):
        raise ValueError("alpha must be > 0 (a number or a schedule of n_steps positive values)")
    w = torch.zeros(X.shape[1], dtype=X.dtype) if w0 is None else as_tensor(w0, "w0", dtype=X.dtype)
    check_shape(w, "w0", (X.shape[1],), batch=False)
    tr = sample_transitions(mdp, pi, n, seed=seed, reset_prob=check_probability(reset_prob, "reset_prob"))
    # The loop is over time (each step depends on the last), so it runs on numpy scalars for speed.
    Xn, g, a_np = X.to(_F64).numpy(), mdp.gamma, a.numpy()
    s, s_next, r = tr.s.numpy(), tr.s_next.numpy(), tr.r.numpy()
    W = np.empty((n + 1, X.shape[1]))
    W[0] = w.to(_F64).numpy()
    for t in range(n):
        wt = W[t]
        delta = r[t] + g * Xn[s_next[t]] @ wt - Xn[s[t]] @ wt
        W[t + 1] = wt + a_np[t] * delta * Xn[s[t]]
    W_t = torch.from_numpy(W).to(X.dtype)
    return TDHistory(W_t, W_t @ X.T)


def batch_td_evaluation(x, x_next, rewards, gamma, alpha, n_iters: int, w0=None) -> torch.Tensor:
    """Repeated batch TD(0) on one fixed data set (chapter 1): ``w_{k+1} = batch_td_update(w_k, ..., C = alpha I)``.

    Every iteration uses all ``N`` transitions with the same old ``w`` (the update a linear-attention layer
    computes, chapter 3). ``x``, ``x_next`` (..., N, d), ``rewards`` (..., N). Returns ``w_0..w_K`` with shape
    (K+1, ..., d); for a small enough ``alpha`` it converges to :func:`td_fixed_point`.
    """
    x = as_tensor(x, "x")
    check_shape(x, "x", (None, None))
    K = check_int(n_iters, "n_iters", minimum=0)
    a = check_positive(alpha, "alpha")
    batch = x.shape[:-2]
    w = torch.zeros(*batch, x.shape[-1], dtype=x.dtype) if w0 is None else as_tensor(w0, "w0", dtype=x.dtype)
    check_shape(w, "w0", (x.shape[-1],))
    C = a * torch.eye(x.shape[-1], dtype=x.dtype)
    path = [w]
    for _ in range(K):
        w = algorithms.batch_td_update(w, x, x_next, rewards, gamma, C)
        path.append(w)
    return torch.stack(torch.broadcast_tensors(*path))


def td_fixed_point(x, x_next, rewards, gamma) -> torch.Tensor:
    """The TD (LSTD) fixed point: the ``w`` with ``sum_t delta_t(w) x_t = 0`` (chapter 1).

    Solves ``A w = b`` with ``A = (1/N) sum_t x_t (x_t - gamma x'_t)^T`` and ``b = (1/N) sum_t R_t x_t``.
    ``x``, ``x_next`` (..., N, d), ``rewards`` (..., N). Raises ``ValueError`` when ``A`` is singular (for
    one-hot features: a state that never appears as ``S_t``).
    """
    g = check_gamma(gamma)
    x = as_tensor(x, "x")
    check_shape(x, "x", (None, None))
    _, x, x_next, rewards = algorithms._transition_batch(torch.zeros(x.shape[-1], dtype=x.dtype), x, x_next,
                                                         rewards)
    N = x.shape[-2]
    A = x.transpose(-1, -2) @ (x - g * x_next) / N
    b = (x.transpose(-1, -2) @ rewards.unsqueeze(-1)).squeeze(-1) / N
    sv = torch.linalg.svdvals(A)
    if bool((sv[..., -1] <= 1e-12 * sv[..., 0].clamp_min(1e-300)).any()):
        raise ValueError("x does not determine the TD fixed point: A = (1/N) sum x_t (x_t - gamma x'_t)^T is "
                         "singular (for one-hot features, some state never appears as S_t)")
    return torch.linalg.solve(A, b.unsqueeze(-1)).squeeze(-1)


def certainty_equivalence_values(s, rewards, s_next, n_states: int, gamma) -> torch.Tensor:
    """Values of the empirical Markov reward process estimated from transitions (chapter 1).

    ``P_hat(s, s') = n(s, s') / n(s)`` and ``r_hat(s) = mean of R_t over S_t = s``; returns
    ``(I - gamma P_hat)^{-1} r_hat``, shape (S,). Every state must appear as some ``S_t`` (``ValueError``
    otherwise). With one-hot features this equals :func:`td_fixed_point`: batch TD finds the value of the
    maximum-likelihood model of the data.
    """
    S = check_int(n_states, "n_states")
    g = check_gamma(gamma)
    rewards = as_tensor(rewards, "rewards", dtype=_F64)
    check_shape(rewards, "rewards", (None,), batch=False)
    x = features.one_hot_state(s, S)
    x_next = features.one_hot_state(s_next, S)
    if x.shape != (rewards.shape[0], S) or x_next.shape != x.shape:
        raise ValueError(f"s, rewards and s_next must all have shape (N,); got {tuple(x.shape[:-1])}, "
                         f"{tuple(rewards.shape)} and {tuple(x_next.shape[:-1])}")
    counts = x.sum(0)
    if bool((counts == 0).any()):
        missing = torch.nonzero(counts == 0).flatten().tolist()
        raise ValueError(f"s must visit every state; states {missing} never appear as S_t")
    P_hat = (x.T @ x_next) / counts.unsqueeze(-1)
    r_hat = (x.T @ rewards) / counts
    return torch.linalg.solve(torch.eye(S, dtype=_F64) - g * P_hat, r_hat)


def actor_critic(mdp: TabularMDP, n_rounds: int, n_transitions: int, alpha: float, beta: float,
                 temperature: float = 1.0, seed: int = 0, w0=None, theta0=None,
                 reset_prob: float = 0.0) -> control.ControlHistory:
    """Tabular batch actor-critic learning (chapter 1; the update is our construction, chapter 5).

    Each round acts with the softmax actor ``pi_theta``, collects ``n_transitions`` on-policy transitions and
    applies ``algorithms.batch_actor_critic_update`` (tabular critic ``x(s) = e_s``, scores at the current
    ``theta``). Runs :func:`icrl_lib.control.in_context_control`; parameters are ``(w; theta)`` with ``w``
    (S,) and ``theta`` (S*A,), zeros (uniform policy) by default.
    """
    _check_mdp(mdp)
    S, A = mdp.n_states, mdp.n_actions
    w = torch.zeros(S, dtype=_F64) if w0 is None else as_tensor(w0, "w0", dtype=_F64)
    check_shape(w, "w0", (S,), batch=False)
    theta = torch.zeros(S * A, dtype=_F64) if theta0 is None else as_tensor(theta0, "theta0", dtype=_F64)
    check_shape(theta, "theta0", (S * A,), batch=False)
    update = control.actor_critic_update_fn(S, A, alpha, beta, mdp.gamma, temperature)
    return control.in_context_control(mdp, update, torch.cat([w, theta]), n_rounds, n_transitions,
                                      control.actor_policy(S, A, temperature), seed=seed, reset_prob=reset_prob)
