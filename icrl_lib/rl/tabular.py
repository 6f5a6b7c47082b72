"""Sample-based and iterative learners on tabular MDPs: online TD(0), batch TD, the TD fixed point,
certainty equivalence and batch actor-critic (chapter 1).

Exact quantities (``V^pi``, ``V*``) come from :mod:`icrl_lib.rl.mdp`; transitions from
:mod:`icrl_lib.rl.sampling`. Every function accepts leading batch dimensions (many MDPs or many data sets);
sequential loops run over *time* (or iterations) only.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from .._validation import (as_tensor, broadcast_batch, check_finite_result, check_gamma, check_indices, check_int,
                           check_positive, check_probability, check_shape)
from .control import ControlHistory, actor_critic_update_fn, actor_policy, in_context_control
from .mdp import TabularMDP, check_policy
from .sampling import sample_transitions
from .updates import batch_td_update, check_transition_batch

__all__ = ["TDHistory", "td0_evaluation", "batch_td_evaluation", "td_fixed_point",
           "certainty_equivalence_values", "actor_critic"]

_F64 = torch.float64


class TDHistory(NamedTuple):
    """Online TD(0) path (chapter 1): ``w`` (..., n+1, d) weights after each step, ``values`` (..., n+1, S)."""

    w: torch.Tensor
    values: torch.Tensor


def td0_evaluation(mdp: TabularMDP, pi, n_steps: int, alpha, generator: torch.Generator | int | None = None,
                   features=None, w0=None, reset_prob: float = 0.0, *, seed: int | None = None) -> TDHistory:
    """Online TD(0) for ``V^pi`` along one trajectory of ``pi`` per MDP (chapter 1).

    At step ``t`` with transition ``(S_t, R_t, S'_t)`` from ``sample_transitions(mdp, pi, n_steps, generator,
    reset_prob)``: ``delta_t = R_t + gamma w^T x(S'_t) - w^T x(S_t)`` and ``w <- w + alpha_t delta_t x(S_t)``.

    Args:
        mdp: one MDP or a batch; ``pi`` (..., S, A) broadcasts with it.
        alpha: a constant step size > 0, or a schedule of ``n_steps`` positive step sizes.
        generator: a ``torch.Generator`` or int seed (``seed=`` accepted instead; seed 0 if neither).
        features: state features ``x``, shape (S, d); tabular one-hot ``x(s) = e_s`` if omitted.
        w0: initial weights (..., d), zeros if omitted.

    Returns:
        ``TDHistory(w (..., n_steps+1, d), values (..., n_steps+1, S))`` in the features' floating dtype.
    """
    pi = check_policy(mdp, pi)
    n = check_int(n_steps, "n_steps")
    X = torch.eye(mdp.n_states, dtype=_F64) if features is None else as_tensor(features, "features")
    check_shape(X, "features", (mdp.n_states, None), batch=False)
    a = as_tensor(alpha, "alpha", dtype=_F64)
    if a.dim() == 0:
        a = a.expand(n)
    check_shape(a, "alpha", (n,), batch=False)
    if not bool((a > 0).all()):
        raise ValueError("alpha must be > 0 (a number or a schedule of n_steps positive values)")
    d = X.shape[1]
    w = torch.zeros(d, dtype=X.dtype) if w0 is None else as_tensor(w0, "w0", dtype=X.dtype)
    check_shape(w, "w0", (d,))
    tr = sample_transitions(mdp, pi, n, generator, reset_prob=check_probability(reset_prob, "reset_prob"),
                            seed=seed)
    batch = broadcast_batch({"mdp and pi": tr.s.shape, "w0": w.shape}, {"mdp and pi": 1, "w0": 1})
    # The loop is over time (each step depends on the last); all MDPs move at once, on numpy for speed.
    Xn, g, a_np = X.to(_F64).numpy(), mdp.gamma, a.numpy()
    xs = Xn[tr.s.expand(*batch, n).reshape(-1, n).numpy()]            # (M, n, d)
    xn = Xn[tr.s_next.expand(*batch, n).reshape(-1, n).numpy()]
    r = tr.r.expand(*batch, n).reshape(-1, n).numpy()
    W = np.empty((xs.shape[0], n + 1, d))
    W[:, 0] = w.to(_F64).expand(*batch, d).reshape(-1, d).numpy()
    with np.errstate(over="ignore", invalid="ignore"):  # a divergent alpha is reported below, by name
        for t in range(n):
            wt = W[:, t]
            delta = r[:, t] + g * np.einsum("md,md->m", xn[:, t], wt) - np.einsum("md,md->m", xs[:, t], wt)
            W[:, t + 1] = wt + a_np[t] * delta[:, None] * xs[:, t]
    W_t = torch.from_numpy(W).to(X.dtype).reshape(*batch, n + 1, d)
    check_finite_result(W_t, "the TD(0) weights", "reduce alpha (the step size)")
    return TDHistory(W_t, W_t @ X.T)


def batch_td_evaluation(x, x_next, rewards, gamma, alpha, n_iters: int, w0=None) -> torch.Tensor:
    """Repeated batch TD(0) on one fixed data set (chapter 1): ``w_{k+1} = batch_td_update(w_k, ..., C = alpha I)``.

    Every iteration uses all ``N`` transitions with the same old ``w`` (the update a linear-attention layer
    computes, chapter 3). ``x``, ``x_next`` (..., N, d), ``rewards`` (..., N), ``w0`` (..., d) (zeros by
    default). Returns ``w_0..w_K`` with shape (..., K+1, d); for a small enough ``alpha`` it converges to
    :func:`td_fixed_point`.
    """
    x = as_tensor(x, "x")
    check_shape(x, "x", (None, None))
    K = check_int(n_iters, "n_iters", minimum=0)
    a = check_positive(alpha, "alpha")
    w = torch.zeros(x.shape[-1], dtype=x.dtype) if w0 is None else as_tensor(w0, "w0", dtype=x.dtype)
    w, x, x_next, rewards = check_transition_batch(w, x, x_next, rewards, ("w0", "x", "x_next", "rewards"))
    check_gamma(gamma)
    C = a * torch.eye(x.shape[-1], dtype=x.dtype)
    path = [w]
    for _ in range(K):
        w = batch_td_update(w, x, x_next, rewards, gamma, C)
        # a too-large alpha diverges: say so here rather than fail on a NaN w in the next iteration
        check_finite_result(w, "the batch TD weights", "reduce alpha (the step size) or n_iters")
        path.append(w)
    return torch.stack(torch.broadcast_tensors(*path), dim=-2)


def td_fixed_point(x, x_next, rewards, gamma) -> torch.Tensor:
    """The TD (LSTD) fixed point: the ``w`` with ``sum_t delta_t(w) x_t = 0`` (chapter 1).

    Solves ``A w = b`` with ``A = (1/N) sum_t x_t (x_t - gamma x'_t)^T`` and ``b = (1/N) sum_t R_t x_t``.
    ``x``, ``x_next`` (..., N, d), ``rewards`` (..., N); returns (..., d). Raises ``ValueError`` when ``A`` is
    singular (for one-hot features: a state that never appears as ``S_t``).
    """
    g = check_gamma(gamma)
    x = as_tensor(x, "x")
    check_shape(x, "x", (None, None))
    _, x, x_next, rewards = check_transition_batch(torch.zeros(x.shape[-1], dtype=x.dtype), x, x_next, rewards)
    x, x_next = torch.broadcast_tensors(x, x_next)
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
    ``(I - gamma P_hat)^{-1} r_hat``, shape (..., S) for ``s``, ``rewards``, ``s_next`` of shape (..., N).
    Every state must appear as some ``S_t`` in every data set (``ValueError`` otherwise). With one-hot features
    this equals :func:`td_fixed_point`: batch TD finds the value of the maximum-likelihood model of the data.
    """
    S = check_int(n_states, "n_states")
    g = check_gamma(gamma)
    rewards = as_tensor(rewards, "rewards", dtype=_F64)
    check_shape(rewards, "rewards", (None,))
    s_t, sn_t = check_indices(s, "s", S), check_indices(s_next, "s_next", S)
    if s_t.shape != rewards.shape or sn_t.shape != rewards.shape:
        raise ValueError(f"s, rewards and s_next must all have the same shape (..., N); got {tuple(s_t.shape)}, "
                         f"{tuple(rewards.shape)} and {tuple(sn_t.shape)}")
    x = torch.nn.functional.one_hot(s_t, S).to(_F64)
    x_next = torch.nn.functional.one_hot(sn_t, S).to(_F64)
    counts = x.sum(-2)
    if bool((counts == 0).any()):
        missing = sorted({int(i) for i in torch.nonzero(counts == 0)[:, -1]})
        raise ValueError(f"s must visit every state; states {missing} never appear as S_t")
    P_hat = (x.transpose(-1, -2) @ x_next) / counts.unsqueeze(-1)
    r_hat = (x.transpose(-1, -2) @ rewards.unsqueeze(-1)).squeeze(-1) / counts
    return torch.linalg.solve(torch.eye(S, dtype=_F64) - g * P_hat, r_hat.unsqueeze(-1)).squeeze(-1)


def actor_critic(mdp: TabularMDP, n_rounds: int, n_transitions: int, alpha: float, beta: float,
                 temperature: float = 1.0, generator: torch.Generator | int | None = None, w0=None, theta0=None,
                 reset_prob: float = 0.0, *, seed: int | None = None) -> ControlHistory:
    """Tabular batch actor-critic learning (chapter 1; the update is our construction, chapter 5).

    Each round acts with the softmax actor ``pi_theta`` at ``temperature``, collects ``n_transitions``
    on-policy transitions and applies :func:`~icrl_lib.rl.updates.batch_actor_critic_update` (tabular critic
    ``x(s) = e_s``, scores at the current ``theta``), through :func:`~icrl_lib.rl.control.run_control`.
    Parameters are ``(w; theta)`` with ``w`` (..., S) and ``theta`` (..., S*A), zeros (uniform policy) by
    default; ``mdp`` may be batched. Returns ``ControlHistory(params (..., K+1, S + S*A), returns (..., K+1))``.
    """
    if not isinstance(mdp, TabularMDP):
        raise ValueError(f"mdp must be a TabularMDP; got {type(mdp).__name__}")
    S, A = mdp.n_states, mdp.n_actions
    w = torch.zeros(S, dtype=_F64) if w0 is None else as_tensor(w0, "w0", dtype=_F64)
    check_shape(w, "w0", (S,))
    theta = torch.zeros(S * A, dtype=_F64) if theta0 is None else as_tensor(theta0, "theta0", dtype=_F64)
    check_shape(theta, "theta0", (S * A,))
    batch = broadcast_batch({"w0": w.shape, "theta0": theta.shape}, {"w0": 1, "theta0": 1})
    params0 = torch.cat([w.expand(*batch, S), theta.expand(*batch, S * A)], dim=-1)
    update = actor_critic_update_fn(S, A, alpha, beta, mdp.gamma, temperature)
    return in_context_control(mdp, update, params0, n_rounds, n_transitions, actor_policy(S, A, temperature),
                              generator, reset_prob=reset_prob, seed=seed)
