"""[LBM24]'s distribution ratio between Thompson sampling and a context algorithm, exactly (chapter 9).

:func:`all_histories` enumerates every short history of a Bernoulli bandit, :func:`beta_bernoulli_log_evidence`
gives its probability under the uniform prior, and :func:`distribution_ratio` computes ``R_{TS, Alg_0}`` by
enumeration or by Monte Carlo (:func:`distribution_ratio_curve` over the horizon).
"""
from __future__ import annotations

import math

import torch

from .._validation import as_generator, as_tensor, check_indices, check_int, check_probability
from ..rl import BernoulliBandit, beta_bernoulli_optimal_action_probs, mean_and_se, run_bandit
from ._checks import check_choice
from .bandit_pretraining import MIXTURES, posterior_sampling

__all__ = ["all_histories", "beta_bernoulli_log_evidence", "distribution_ratio", "distribution_ratio_curve"]


def all_histories(t: int, n_arms: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Every history of length ``t`` of an ``n_arms`` Bernoulli bandit (chapter 9): ``actions`` (K, t) int64 and
    ``rewards`` (K, t) float64 in {0, 1}, ``K = (2 A)^t``, in lexicographic order of the pairs ``(a_s, r_s)``."""
    t = check_int(t, "t", minimum=0)
    A = check_int(n_arms, "n_arms", minimum=2)
    K = (2 * A) ** t
    if K > 2 ** 22:
        raise ValueError(f"t is too large: (2 n_arms)^t = {K} histories (limit 2^22)")
    code = torch.arange(K).unsqueeze(-1) // (2 * A) ** torch.arange(t - 1, -1, -1) % (2 * A)   # (K, t)
    return code // 2, (code % 2).double()


def beta_bernoulli_log_evidence(actions, rewards, n_arms: int) -> torch.Tensor:
    """``log P(r_1..r_t | a_1..a_t)`` (...,) of binary rewards under independent Beta(1, 1) priors, the product of
    Laplace's rule ``P(r_s = 1 | D_{s-1}, a_s) = (S_a + 1) / (n_a + 2)`` over the rounds (chapter 9).
    ``actions`` (..., t) int64, ``rewards`` (..., t) in {0, 1}."""
    A = check_int(n_arms, "n_arms", minimum=2)
    actions = check_indices(actions, "actions", A)
    rewards = as_tensor(rewards, "rewards", dtype=torch.float64)
    if rewards.shape != actions.shape or actions.dim() < 1:
        raise ValueError(f"rewards must have the shape of actions {tuple(actions.shape)} (..., t); got "
                         f"{tuple(rewards.shape)}")
    if bool(((rewards != 0) & (rewards != 1)).any()):
        raise ValueError("rewards must be binary (0 or 1)")
    oh = torch.nn.functional.one_hot(actions, A).double()                                       # (..., t, A)
    r = rewards.unsqueeze(-1)
    n_a = ((oh.cumsum(-2) - oh) * oh).sum(-1)
    s_a = (((oh * r).cumsum(-2) - oh * r) * oh).sum(-1)
    p1 = (s_a + 1) / (n_a + 2)
    return torch.where(rewards > 0, p1, 1 - p1).log().sum(-1)


def distribution_ratio_curve(alpha: float, horizon: int, n_arms: int = 2) -> list[float]:
    """``[R_1, ..., R_T]``: :func:`distribution_ratio` at every horizon up to ``horizon``, exactly, by a forward
    recursion over the per-arm success and failure counts (chapter 9; ours). The TS probabilities and the
    predictive, hence both factors of every step, depend on the history only through these counts, so the sum over
    ``(2A)^T`` trajectories becomes a sum over ``O(T^(2A-1))`` count vectors."""
    alpha = check_probability(alpha, "alpha")
    T, A = check_int(horizon, "horizon"), check_int(n_arms, "n_arms", minimum=2)
    counts = torch.zeros(1, 2 * A, dtype=torch.long)                                # (s_0, f_0, s_1, f_1, ...)
    w = torch.ones(1, dtype=torch.float64)
    out = []
    for t in range(T):
        # one canonical history per count vector: arm 0's successes, then its failures, then arm 1's, ...
        code = torch.arange(2 * A).expand_as(counts).reshape(-1)
        idx = torch.repeat_interleave(code, counts.reshape(-1)).view(counts.shape[0], t)
        ts = beta_bernoulli_optimal_action_probs(idx // 2, (idx % 2 == 0).double(), A)   # (K, A)
        factor = ts * ts / (alpha * ts + (1 - alpha) / A)                           # TS prob x ratio
        s_a, f_a = counts[:, 0::2].double(), counts[:, 1::2].double()
        p1 = (s_a + 1) / (s_a + f_a + 2)
        new_counts, new_w = [], []
        for a in range(A):
            for slot, pr in ((2 * a, p1[:, a]), (2 * a + 1, 1 - p1[:, a])):
                c = counts.clone()
                c[:, slot] += 1
                new_counts.append(c)
                new_w.append(w * factor[:, a] * pr)
        counts, inv = torch.unique(torch.cat(new_counts), dim=0, return_inverse=True)
        w = torch.zeros(counts.shape[0], dtype=torch.float64).index_add_(0, inv, torch.cat(new_w))
        out.append(float(w.sum()))
    return out


def distribution_ratio(alpha: float, horizon: int, n_arms: int = 2, method: str = "enumerate",
                       n_samples: int = 10000, seed: int = 0, mixture: str = "round") -> tuple[float, float]:
    """[LBM24]'s distribution ratio ``R = E_{D ~ TS}[P^TS(D) / P^{Alg_0}(D)]`` of Thompson sampling against the
    context algorithm ``Alg_0`` that mixes TS (share ``alpha``) and uniform play on a Beta(1, 1)-Bernoulli bandit
    (chapter 9). The rewards' likelihoods cancel in the ratio.

    ``mixture="round"`` (our per-round variant): ``Alg_0 = alpha TS + (1 - alpha) uniform`` at every round, so the
    ratio is ``E_TS[prod_s p_s / (alpha p_s + (1 - alpha) / A)]`` with ``p_s = TS(a_s | D_{s-1})``; it can grow
    like ``(A / (1 + (A - 1) alpha))^T``. ``mixture="trajectory"`` ([LBM24]'s code): each trajectory is entirely TS
    with probability ``alpha``, else entirely uniform, so ``P^{Alg_0} = alpha P^TS + (1 - alpha) P^unif`` and the
    ratio is ``E_TS[1 / (alpha + (1 - alpha) prod_s (1/A) / p_s)] <= 1 / alpha``.

    ``method``: ``"enumerate"`` sums over all ``(2A)^T`` trajectories (the trajectory law uses the
    Beta-Bernoulli predictive); ``"counts"`` (``mixture="round"`` only) is the same sum organised as a forward
    recursion over the per-arm success and failure counts (exact for long horizons; ours); both return
    ``(R, 0.0)``. ``"mc"`` averages the ratio over ``n_samples`` TS trajectories on tasks from the prior and
    returns ``(estimate, standard error)`` (heavy-tailed for the per-round mixture and small ``alpha``; bounded
    by ``1 / alpha`` for the trajectory mixture).
    """
    alpha = check_probability(alpha, "alpha")
    T, A = check_int(horizon, "horizon"), check_int(n_arms, "n_arms", minimum=2)
    check_choice(mixture, "mixture", MIXTURES)
    if method not in ("enumerate", "counts", "mc"):
        raise ValueError(f"method must be 'enumerate', 'counts' or 'mc'; got {method!r}")
    if method == "counts":
        if mixture != "round":
            raise ValueError("method='counts' needs mixture='round' (the trajectory mixture's ratio depends on the "
                             "whole path, not on the counts); use 'enumerate' or 'mc'")
        return distribution_ratio_curve(alpha, T, A)[-1], 0.0

    def ratio(log_p_ts):                      # log P^TS(actions) (...,) -> the density ratio TS / Alg_0
        if mixture == "trajectory":
            log_u = -T * math.log(A)
            return 1.0 / (alpha + (1 - alpha) * torch.exp(log_u - log_p_ts))
        raise AssertionError

    if method == "enumerate":
        if (2 * A) ** T > 2 ** 22:
            raise ValueError(f"horizon too long for enumeration ((2A)^T = {(2 * A) ** T}); use method='counts'")
        actions, rewards = all_histories(T, A)
        log_p = beta_bernoulli_log_evidence(actions, rewards, A)
        log_ts = torch.zeros(actions.shape[0], dtype=torch.float64)
        log_ratio = torch.zeros(actions.shape[0], dtype=torch.float64)
        for s in range(T):
            ts = beta_bernoulli_optimal_action_probs(actions[:, :s], rewards[:, :s], A)
            p = ts.gather(-1, actions[:, s:s + 1]).squeeze(-1)
            log_ts = log_ts + p.log()
            log_ratio = log_ratio + p.log() - (alpha * p + (1 - alpha) / A).log()
        if mixture == "trajectory":
            w = torch.exp(log_p + log_ts) * ratio(log_ts)
            return float(torch.nan_to_num(w).sum()), 0.0
        return float(torch.exp(log_p + log_ts + log_ratio).sum()), 0.0
    n = check_int(n_samples, "n_samples", minimum=2)
    g = as_generator(seed)
    bandit = BernoulliBandit.sample(n, A, g)
    traj = run_bandit(bandit, posterior_sampling(), T, g)
    p = traj.probs.gather(-1, traj.actions.unsqueeze(-1)).squeeze(-1)
    if mixture == "trajectory":
        w = ratio(p.log().sum(-1))
    else:
        w = torch.exp((p.log() - (alpha * p + (1 - alpha) / A).log()).sum(-1))
    m, se = mean_and_se(w)
    return float(m), float(se)
