"""Maximal couplings of two action distributions and two bandit algorithms run on one coupling (chapter 10).

Two algorithms deployed with "the same random numbers" keep the same trajectory until a round where their
actions differ. How often that happens depends on the coupling. The inverse-CDF sampler of
:func:`~icrl_lib.rl.run_bandit` with a common uniform can split with probability up to ``(A - 1) TV``
(``p = (.5, .5, 0)``, ``q = (0, .5, .5)``: TV 0.5, the actions always differ); the *maximal* coupling below
splits with probability exactly ``TV(p, q)``, the least any coupling can achieve.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import torch

from .._validation import as_generator, as_tensor, check_int, check_stochastic
from .bandits import check_bandit, check_expert
from .sampling import categorical_unchecked

__all__ = ["maximal_coupling_sample", "CoupledBanditRun", "run_bandit_coupled"]


def _residual(p: torch.Tensor, overlap: torch.Tensor) -> torch.Tensor:
    rest = (p - overlap).clamp_min(0.0)
    mass = rest.sum(-1, keepdim=True)
    # rows with no residual mass (p == q) are never read; give them a valid distribution
    return torch.where(mass > 0, rest / mass.clamp_min(torch.finfo(p.dtype).tiny), torch.full_like(p, 1 / p.shape[-1]))


def maximal_coupling_sample(p, q, generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One draw ``(x, y)`` of a maximal coupling of ``p`` and ``q`` per row (chapter 10).

    ``p``, ``q`` (..., A): probability vectors of the same shape and dtype. With ``m = min(p, q)`` and
    ``w = sum(m) = 1 - TV(p, q)``: with probability ``w`` draw ``x = y ~ m / w``, otherwise draw
    ``x ~ (p - m) / (1 - w)`` and ``y ~ (q - m) / (1 - w)`` (residuals with disjoint supports). Then
    ``x ~ p``, ``y ~ q`` and ``P(x != y) = TV(p, q)`` exactly. Four uniforms per row from ``generator``
    (a ``torch.Generator`` or an int seed). Returns two int64 tensors of shape (...).
    """
    p = as_tensor(p, "p")
    q = as_tensor(q, "q", dtype=p.dtype)
    if p.dim() < 1 or p.shape[-1] < 1:
        raise ValueError(f"p must have shape (..., A) with A >= 1; got {tuple(p.shape)}")
    if q.shape != p.shape:
        raise ValueError(f"q must have the shape of p {tuple(p.shape)}; got {tuple(q.shape)}")
    check_stochastic(p, "p")
    check_stochastic(q, "q")
    g = as_generator(generator)
    overlap = torch.minimum(p, q).clamp_min(0.0)
    w = overlap.sum(-1)
    same = torch.rand(w.shape, generator=g, dtype=p.dtype) < w
    common = categorical_unchecked(_residual(overlap, torch.zeros_like(overlap)), g)
    x_rest = categorical_unchecked(_residual(p, overlap), g)
    y_rest = categorical_unchecked(_residual(q, overlap), g)
    return torch.where(same, common, x_rest), torch.where(same, common, y_rest)


class CoupledBanditRun(NamedTuple):
    """The result of :func:`run_bandit_coupled` (chapter 10): for each algorithm ``actions_*`` (B, T) int64,
    ``rewards_*`` (B, T), ``probs_*`` (B, T, A); ``split_round`` (B,) int64, the first round where the actions
    differ (``T`` if never); ``tv_common`` (B, T), ``TV(p_t, q_t)`` at the rounds before the split (0 after it).
    ``tv_common.sum(-1).mean()`` estimates ``P(split)`` without the Bernoulli noise of ``split_round < T``."""

    actions_p: torch.Tensor
    rewards_p: torch.Tensor
    probs_p: torch.Tensor
    actions_q: torch.Tensor
    rewards_q: torch.Tensor
    probs_q: torch.Tensor
    split_round: torch.Tensor
    tv_common: torch.Tensor


def run_bandit_coupled(bandit, expert_p: Callable, expert_q: Callable, horizon: int, generator) -> CoupledBanditRun:
    """Run two experts on the same tasks under a maximal coupling, round by round (chapter 10).

    At round ``t`` each expert sees its own history; the two actions are one draw of
    :func:`maximal_coupling_sample` and the two rewards share their noise (the generator state is replayed
    for the second pull). While the histories agree, the paths split at round ``t`` with probability exactly
    ``TV(p_t, q_t)``, so ``P(split before T) = E[sum_t TV_t 1(no split before t)]`` and
    ``|E regret_p(T) - E regret_q(T)| <= T * max_gap * P(split)``. Each expert alone has the law it has under
    :func:`~icrl_lib.rl.run_bandit` (the coupling keeps the marginals).
    """
    check_bandit(bandit)
    check_expert(expert_p, "expert_p")
    check_expert(expert_q, "expert_q")
    T = check_int(horizon, "horizon")
    g = as_generator(generator)
    B, A, dtype = bandit.n_tasks, bandit.n_arms, bandit.dtype
    acts = {k: torch.zeros(B, T, dtype=torch.long) for k in "pq"}
    rews = {k: torch.zeros(B, T, dtype=dtype) for k in "pq"}
    probs = {k: torch.zeros(B, T, A, dtype=dtype) for k in "pq"}
    split = torch.full((B,), T, dtype=torch.long)
    tv = torch.zeros(B, T, dtype=dtype)
    for t in range(T):
        dist = {}
        for k, ex in (("p", expert_p), ("q", expert_q)):
            d = ex(bandit, acts[k][:, :t], rews[k][:, :t], g)
            if not isinstance(d, torch.Tensor) or d.shape != (B, A):
                raise ValueError(f"expert_{k} must return probs of shape (B, A) = ({B}, {A}) at round {t}")
            dist[k] = d.to(dtype)
        x, y = maximal_coupling_sample(dist["p"], dist["q"], g)
        joint = split == T
        tv[:, t] = torch.where(joint, 0.5 * (dist["p"] - dist["q"]).abs().sum(-1), torch.zeros((), dtype=dtype))
        state = g.get_state()
        rews["p"][:, t] = bandit.pull(x, g)
        g.set_state(state)
        rews["q"][:, t] = bandit.pull(y, g)
        acts["p"][:, t], acts["q"][:, t] = x, y
        probs["p"][:, t], probs["q"][:, t] = dist["p"], dist["q"]
        split = torch.where(joint & (x != y), torch.full_like(split, t), split)
    return CoupledBanditRun(acts["p"], rews["p"], probs["p"], acts["q"], rews["q"], probs["q"], split, tv)
