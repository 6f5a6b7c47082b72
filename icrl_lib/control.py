"""The outer policy-improvement loop of in-context control (chapter 1; reused in chapters 4, 5 and 7).

[LL26]'s Algorithm 1 improves the policy in an outer loop around the in-context update. This module runs
that loop with any update rule, so the same code drives the explicit SARSA and actor-critic updates of
chapter 1 and, in later chapters, an attention block that was built or trained to compute them.

Conventions (chapters 1, 4 and 5):

- Parameters are one flat vector ``w`` of shape ``(d,)``. For SARSA ``d = |S||A|`` and ``q_w(s, a) =
  w^T phi(s, a)`` with tabular one-hot ``phi`` (``features.one_hot_state_action``). For actor-critic the
  vector is ``(w; theta)``: the critic ``w`` (|S|,) first, then the actor ``theta`` (|S||A|,), the same order
  as the parameter rows of the actor-critic prompt's query column.
- ``policy(w) -> pi`` maps parameters to an ``(S, A)`` stochastic matrix (see :func:`softmax_q_policy`,
  :func:`epsilon_greedy_q_policy`, :func:`actor_policy`).
- ``update(w, transitions) -> w_new`` receives the ``N`` on-policy transitions of one round as an
  ``mdp.Transitions`` (integer states and actions, float rewards; ``a_next`` is the *sampled* successor
  action) and returns parameters of the same shape (see :func:`sarsa_update_fn`,
  :func:`actor_critic_update_fn`). A transformer plugs in here: build the prompt from ``(w, transitions)``,
  apply the block, read ``w_new`` out of the query column.
- Round ``k`` (``k = 0..K-1``): ``pi_k = policy(w_k)``; collect ``N`` transitions of one trajectory with
  ``mdp.sample_transitions`` and the round's seed; ``w_{k+1} = update(w_k, transitions)``. The history
  records the exact return ``J(policy(w_k))`` (``mdp.expected_return``) for ``k = 0..K``.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
import torch

from . import algorithms, features, policies
from ._validation import as_tensor, check_gamma, check_int, check_positive, check_probability, check_shape
from .mdp import TabularMDP, Transitions, expected_return, sample_transitions, value_iteration

__all__ = ["ControlHistory", "in_context_control", "softmax_q_policy", "epsilon_greedy_q_policy",
           "actor_policy", "sarsa_update_fn", "actor_critic_update_fn", "split_actor_critic",
           "reference_returns", "normalized_return"]

PolicyFn = Callable[[torch.Tensor], torch.Tensor]
UpdateFn = Callable[[torch.Tensor, Transitions], torch.Tensor]


class ControlHistory(NamedTuple):
    """``params`` (K+1, d): ``w_0..w_K``; ``returns`` (K+1,): exact ``J(policy(w_k))``."""

    params: torch.Tensor
    returns: torch.Tensor


def softmax_q_policy(n_states: int, n_actions: int, temperature: float = 1.0) -> PolicyFn:
    """``w -> softmax(q_w / tau)`` with tabular ``q_w(s, a) = w^T phi(s, a)``, ``w`` of shape (S*A,)."""
    table = features.state_action_table(n_states, n_actions)
    tau = check_positive(temperature, "temperature")
    return lambda w: policies.softmax_policy(features.q_values(as_tensor(w, "w", dtype=torch.float64), table), tau)


def epsilon_greedy_q_policy(n_states: int, n_actions: int, epsilon: float) -> PolicyFn:
    """``w -> epsilon-greedy(q_w)`` with tabular ``q_w(s, a) = w^T phi(s, a)``, ``w`` of shape (S*A,)."""
    table = features.state_action_table(n_states, n_actions)
    eps = check_probability(epsilon, "epsilon")
    return lambda w: policies.epsilon_greedy_policy(features.q_values(as_tensor(w, "w", dtype=torch.float64), table),
                                                    eps)


def split_actor_critic(params, n_states: int, n_actions: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Split ``(w; theta)`` of shape (..., S + S*A) into the critic ``w`` (..., S) and actor ``theta`` (..., S*A)."""
    S, A = check_int(n_states, "n_states"), check_int(n_actions, "n_actions")
    params = as_tensor(params, "params")
    check_shape(params, "params", (S + S * A,))
    return params[..., :S], params[..., S:]


def actor_policy(n_states: int, n_actions: int, temperature: float = 1.0) -> PolicyFn:
    """``(w; theta) -> pi_theta`` with the tabular softmax actor ``pi_theta(a|s) = softmax_a(theta_{s,a} / tau)``."""
    table = features.state_action_table(n_states, n_actions)
    tau = check_positive(temperature, "temperature")

    def policy(params):
        _, theta = split_actor_critic(as_tensor(params, "params", dtype=torch.float64), n_states, n_actions)
        return policies.softmax_actor_policy(theta, table, tau)
    return policy


def sarsa_update_fn(n_states: int, n_actions: int, alpha: float, gamma: float) -> UpdateFn:
    """The explicit in-context SARSA update as an ``update(w, transitions)`` callable (chapter 1, [LL26] eq. 2).

    Builds one-hot ``phi_t = phi(S_t, A_t)``, ``phi'_t = phi(S'_t, A'_t)`` and applies
    ``algorithms.batch_sarsa_update``: ``w + (alpha/N) sum_t delta_t phi_t``.
    """
    S, A = check_int(n_states, "n_states"), check_int(n_actions, "n_actions")
    alpha, gamma = check_positive(alpha, "alpha"), check_gamma(gamma)

    def update(w, tr: Transitions) -> torch.Tensor:
        w = as_tensor(w, "w")
        phi = features.one_hot_state_action(tr.s, tr.a, S, A, dtype=w.dtype)
        phi_next = features.one_hot_state_action(tr.s_next, tr.a_next, S, A, dtype=w.dtype)
        return algorithms.batch_sarsa_update(w, phi, phi_next, tr.r.to(w.dtype), alpha, gamma)
    return update


def actor_critic_update_fn(n_states: int, n_actions: int, alpha: float, beta: float, gamma: float,
                           temperature: float = 1.0) -> UpdateFn:
    """The explicit in-context actor-critic update on ``(w; theta)`` (chapter 1; our construction).

    Tabular critic ``x(s) = e_s`` and softmax actor over ``f(s, a) = e_{s|A|+a}``. The score vectors
    ``psi_t`` are computed at the current ``theta`` (``policies.softmax_actor_scores``), then
    ``algorithms.batch_actor_critic_update`` applies ``w+ = w + (alpha/N) sum delta_t x_t`` and
    ``theta+ = theta + (beta/N) sum delta_t psi_t``.
    """
    S, A = check_int(n_states, "n_states"), check_int(n_actions, "n_actions")
    alpha, beta = check_positive(alpha, "alpha"), check_positive(beta, "beta")
    gamma, tau = check_gamma(gamma), check_positive(temperature, "temperature")
    table = features.state_action_table(S, A)

    def update(params, tr: Transitions) -> torch.Tensor:
        w, theta = split_actor_critic(params, S, A)
        x = features.one_hot_state(tr.s, S, dtype=w.dtype)
        x_next = features.one_hot_state(tr.s_next, S, dtype=w.dtype)
        psi = policies.softmax_actor_scores(theta, tr.s, tr.a, table.to(w.dtype), tau)
        w_new, theta_new = algorithms.batch_actor_critic_update(w, theta, x, x_next, tr.r.to(w.dtype), psi,
                                                                alpha, beta, gamma)
        return torch.cat([w_new, theta_new], dim=-1)
    return update


def in_context_control(mdp: TabularMDP, update: UpdateFn, w0, n_rounds: int, n_transitions: int,
                       policy: PolicyFn, seed: int = 0, reset_prob: float = 0.0) -> ControlHistory:
    """Run the outer policy-improvement loop (see the module docstring for the conventions).

    Args:
        mdp: the task.
        update: ``update(w, transitions) -> w_new`` (explicit update or an attention block).
        w0: initial parameters, shape (d,).
        n_rounds: number of rounds K (updates).
        n_transitions: N, transitions collected on-policy per round (one trajectory starting from rho0,
            restarting with probability ``reset_prob`` after each transition).
        policy: ``policy(w) -> pi`` (S, A).
        seed: round ``k`` samples with a seed drawn from ``numpy.random.default_rng(seed)``.

    Returns:
        ``ControlHistory(params (K+1, d), returns (K+1,))`` with ``returns[k] = J(policy(params[k]))``.
    """
    if not isinstance(mdp, TabularMDP):
        raise ValueError(f"mdp must be a TabularMDP; got {type(mdp).__name__}")
    if not callable(update):
        raise ValueError("update must be a callable update(w, transitions) -> w_new")
    if not callable(policy):
        raise ValueError("policy must be a callable policy(w) -> pi of shape (S, A)")
    w = as_tensor(w0, "w0")
    check_shape(w, "w0", (None,), batch=False)
    K = check_int(n_rounds, "n_rounds", minimum=0)
    N = check_int(n_transitions, "n_transitions")
    reset_prob = check_probability(reset_prob, "reset_prob")
    seeds = np.random.default_rng(check_int(seed, "seed", minimum=0)).integers(0, 2**31 - 1, size=K)
    params, returns = [w], []
    for k in range(K + 1):
        pi = _checked_policy(policy, w, mdp)
        returns.append(expected_return(mdp, pi))
        if k == K:
            break
        tr = sample_transitions(mdp, pi, N, seed=int(seeds[k]), reset_prob=reset_prob)
        w_new = update(w, tr)
        if not isinstance(w_new, torch.Tensor) or w_new.shape != w.shape:
            raise ValueError(f"update must return a tensor of shape {tuple(w.shape)}; got "
                             f"{getattr(w_new, 'shape', type(w_new).__name__)}")
        if not bool(torch.isfinite(w_new).all()):
            raise ValueError(f"update returned non-finite parameters in round {k} (step size too large?)")
        w = w_new.to(w.dtype)
        params.append(w)
    return ControlHistory(torch.stack(params), torch.stack(returns).to(w.dtype))


def _checked_policy(policy: PolicyFn, w: torch.Tensor, mdp: TabularMDP) -> torch.Tensor:
    pi = policy(w)
    if not isinstance(pi, torch.Tensor) or pi.shape != (mdp.n_states, mdp.n_actions):
        raise ValueError(f"policy must return an (S, A) = {(mdp.n_states, mdp.n_actions)} tensor; got "
                         f"{getattr(pi, 'shape', type(pi).__name__)}")
    pi = pi.detach().to(torch.float64)
    # Policies computed in float32 (say, by a trained block) sum to one only to ~1e-7: accept that and
    # renormalise in float64, since exact evaluation checks rows to 1e-8.
    if bool((pi < 0).any()) or not bool(torch.allclose(pi.sum(-1), torch.ones((), dtype=pi.dtype), atol=1e-5)):
        raise ValueError("policy must return a stochastic matrix (non-negative rows summing to 1)")
    return pi / pi.sum(-1, keepdim=True)


def reference_returns(mdp: TabularMDP) -> tuple[torch.Tensor, torch.Tensor]:
    """``(J_random, J_star)``: the exact returns of the uniform policy and of an optimal policy."""
    if not isinstance(mdp, TabularMDP):
        raise ValueError(f"mdp must be a TabularMDP; got {type(mdp).__name__}")
    pi_star, _, _ = value_iteration(mdp)
    return (expected_return(mdp, policies.uniform_policy(mdp.n_states, mdp.n_actions)),
            expected_return(mdp, pi_star))


def normalized_return(J, J_random, J_star) -> torch.Tensor:
    """``(J - J_random) / (J_star - J_random)``: 0 for the uniform policy, 1 for an optimal one.

    ``J`` may have any shape; ``J_random`` and ``J_star`` broadcast against it. Raises ``ValueError``
    unless ``J_star > J_random`` everywhere (otherwise the scale is undefined).
    """
    J = as_tensor(J, "J")
    J_random = as_tensor(J_random, "J_random", dtype=J.dtype)
    J_star = as_tensor(J_star, "J_star", dtype=J.dtype)
    gap = J_star - J_random
    if not bool((gap > 0).all()):
        raise ValueError("J_star must be > J_random (the normalisation divides by J_star - J_random); got "
                         f"a minimal gap of {float(gap.min()):.3g}")
    try:
        return (J - J_random) / gap
    except RuntimeError as exc:
        raise ValueError(f"J {tuple(J.shape)}, J_random {tuple(J_random.shape)} and J_star "
                         f"{tuple(J_star.shape)} do not broadcast") from exc
