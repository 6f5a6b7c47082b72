"""Bandit experts (chapters 9-10): UCB, Thompson sampling, LinUCB, soft LinUCB, empirical greedy (Emp), LCB,
uniform and mixtures, plus the exact posterior ``P(a* = a | D)`` of a Beta-Bernoulli bandit.

An expert is a callable ``expert(bandit, actions, rewards, generator=None) -> probs`` with ``actions`` (B, t)
int64, ``rewards`` (B, t) (``t >= 0``) and ``probs`` (B, A) rows summing to 1: the distribution of the next
action given the history ``D_t``. Deterministic experts return one-hot rows (ties to the lowest index); Thompson
sampling returns the one-hot of the argmax of ONE posterior draw, so drawing from the returned probs IS Thompson
sampling. Every expert works from the sufficient statistics (``arm_statistics``: counts and reward sums per arm);
the linear ones (LinUCB, linear Thompson sampling) use ``bandit.features`` (B, A, d), which is the one-hot basis
for multi-armed bandits, so they run on all three bandit kinds.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from .._validation import (as_generator, check_finite_result, check_int, check_positive,
                           check_probability, check_real)
from .bandits import BernoulliBandit, LinearBandit, arm_statistics, check_arm_history, check_bandit_history
from .sampling import standard_gamma

__all__ = ["ucb", "thompson_sampling", "linucb", "soft_linucb", "empirical_greedy", "lcb", "uniform", "mixture",
           "beta_bernoulli_optimal_action_probs"]


class _Expert:
    """A named expert: ``fn(bandit, actions, rewards, generator) -> probs`` after validating the history."""

    def __init__(self, name: str, fn: Callable, doc: str):
        self.name = name
        self._fn = fn
        self.__doc__ = doc

    def __call__(self, bandit, actions, rewards, generator=None) -> torch.Tensor:
        a, r = check_bandit_history(bandit, actions, rewards)
        return self._fn(bandit, a, r, generator)

    def __repr__(self) -> str:
        return self.name


def _one_hot_argmax(scores: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """One-hot rows of the argmax (ties to the lowest index: torch.argmax returns the first maximum)."""
    return torch.nn.functional.one_hot(scores.argmax(-1), scores.shape[-1]).to(dtype)


def _empirical_means(counts: torch.Tensor, sums: torch.Tensor) -> torch.Tensor:
    return sums / counts.clamp_min(1)


def ucb(c: float = 1.0, bonus: str = "log") -> Callable:
    """UCB expert (chapters 9-10). One-hot probs (B, A); ``c >= 0``. Two bonus forms:

    - ``bonus="log"`` (default; UCB1, [textbook]): ``argmax_a  mean_a + c * sqrt(2 log t / n_a)`` with ``t`` the
      number of rounds so far and ``n_a`` the pulls of arm ``a``; unpulled arms first (lowest index);
    - ``bonus="dpt"`` ([DPT23]'s baseline, as in their public code's ``UCBPolicy``): ``argmax_a  mean_a +
      c / sqrt(max(1, n_a))`` with an unpulled arm's mean taken as 0 (so it scores ``c``; it is not forced
      first). Their online evaluation uses ``c = 1``.
    """
    c = check_real(c, "c")
    if c < 0:
        raise ValueError(f"c must be >= 0; got {c}")
    if bonus not in ("log", "dpt"):
        raise ValueError(f"bonus must be 'log' or 'dpt'; got {bonus!r}")

    def fn(bandit, actions, rewards, generator):
        counts, sums = arm_statistics(actions, rewards, bandit.n_arms)
        if bonus == "dpt":
            return _one_hot_argmax(_empirical_means(counts, sums) + c / counts.clamp_min(1).sqrt(), bandit.dtype)
        t = actions.shape[-1]
        width = c * torch.sqrt(2 * math.log(max(t, 1)) / counts.clamp_min(1))
        scores = torch.where(counts > 0, _empirical_means(counts, sums) + width,
                             torch.full_like(counts, math.inf))
        return _one_hot_argmax(scores, bandit.dtype)

    return _Expert(f"ucb(c={c})" if bonus == "log" else f"ucb(c={c}, bonus='dpt')", fn, ucb.__doc__)


def empirical_greedy(online: bool = True) -> Callable:
    """Emp, the empirical-greedy expert (chapter 9, [DPT23]): ``argmax_a`` of the empirical mean reward. One-hot
    probs (B, A); ties to the lowest index. Two conventions for arms never pulled, both in [DPT23]'s public code
    (``EmpMeanPolicy``):

    - ``online=True`` (default; their online baseline): an unpulled arm is played first (the lowest such index);
    - ``online=False`` (their *offline* baseline): an unpulled arm's empirical mean is 0 (``sum / max(1, n)``), so
      it is chosen only when no pulled arm has a positive mean.
    """
    if not isinstance(online, bool):
        raise ValueError(f"online must be True or False; got {online!r}")

    def fn(bandit, actions, rewards, generator):
        counts, sums = arm_statistics(actions, rewards, bandit.n_arms)
        scores = _empirical_means(counts, sums)
        if online:
            scores = torch.where(counts > 0, scores, torch.full_like(counts, math.inf))
        return _one_hot_argmax(scores, bandit.dtype)

    return _Expert("empirical_greedy()" if online else "empirical_greedy(online=False)", fn,
                   empirical_greedy.__doc__)


def lcb(c: float = 1.0) -> Callable:
    """LCB, the pessimistic offline expert (chapter 9, [DPT23]): ``argmax_a  mean_a - c * sqrt(1 / n_a)`` over the
    pulled arms (unpulled arms score ``-inf``; with no data at all, arm 0). One-hot probs (B, A). ``c >= 0``.
    [DPT23]'s public code (``PessMeanPolicy``) evaluates offline with ``c = 0.8`` and scores an unpulled arm
    ``-c`` (mean 0, count clipped to 1) instead of ``-inf``; the default ``c = 1`` is ours."""
    c = check_real(c, "c")
    if c < 0:
        raise ValueError(f"c must be >= 0; got {c}")

    def fn(bandit, actions, rewards, generator):
        counts, sums = arm_statistics(actions, rewards, bandit.n_arms)
        scores = torch.where(counts > 0, _empirical_means(counts, sums) - c / counts.clamp_min(1).sqrt(),
                             torch.full_like(counts, -math.inf))
        return _one_hot_argmax(scores, bandit.dtype)

    return _Expert(f"lcb(c={c})", fn, lcb.__doc__)


def uniform() -> Callable:
    """The uniform expert (chapter 9): probs ``1/A`` for every arm, (B, A); [LBM24]'s exploratory context
    algorithm (mixed with Thompson sampling by :func:`mixture`)."""

    def fn(bandit, actions, rewards, generator):
        return torch.full((bandit.n_tasks, bandit.n_arms), 1.0 / bandit.n_arms, dtype=bandit.dtype)

    return _Expert("uniform()", fn, uniform.__doc__)


def mixture(alpha: float, first: Callable, second: Callable) -> Callable:
    """The per-round mixture ``alpha * first + (1 - alpha) * second`` of two experts (chapter 9; with ``first`` =
    Thompson sampling and ``second`` = uniform, our per-round variant [ours] of [LBM24]'s context algorithm, whose
    public code mixes whole trajectories: ``training.BanditPretrainingConfig(mixture="trajectory")``): probs (B, A) are the convex combination, so a
    draw from them follows ``first`` with probability ``alpha`` and ``second`` otherwise, independently per step
    and per task. Both experts are called at every step (each consumes its own draws from the generator)."""
    alpha = check_probability(alpha, "alpha")
    for name, e in (("first", first), ("second", second)):
        if not callable(e):
            raise ValueError(f"{name} must be an expert (bandit, actions, rewards, generator) -> probs (B, A); "
                             f"got {type(e).__name__}")

    def fn(bandit, actions, rewards, generator):
        p1 = first(bandit, actions, rewards, generator)
        p2 = second(bandit, actions, rewards, generator)
        return alpha * p1.to(bandit.dtype) + (1 - alpha) * p2.to(bandit.dtype)

    return _Expert(f"mixture({alpha}, {first!r}, {second!r})", fn, mixture.__doc__)


# --- LinUCB ----------------------------------------------------------------------------------------------------

def _ridge_statistics(bandit, actions, rewards, lam: float):
    """``A_t = lam I + sum_j x_j x_j^T`` (B, d, d) and ``b_t = sum_j x_j r_j`` (B, d) from per-arm counts and sums
    (the arm set is fixed per task, so ``sum_j x_j x_j^T = Phi^T diag(n) Phi``)."""
    phi = bandit.features
    counts, sums = arm_statistics(actions, rewards, bandit.n_arms)
    d = phi.shape[-1]
    gram = lam * torch.eye(d, dtype=phi.dtype) + torch.einsum("bkd,bk,bke->bde", phi, counts, phi)
    b = torch.einsum("bkd,bk->bd", phi, sums)
    return phi, gram, b


def _linucb_scores(bandit, actions, rewards, alpha: float, lam: float) -> torch.Tensor:
    phi, gram, b = _ridge_statistics(bandit, actions, rewards, lam)
    rhs = torch.cat([b.unsqueeze(-1), phi.transpose(-1, -2)], dim=-1)          # (B, d, 1 + A)
    sol = torch.linalg.solve(gram, rhs)
    w_hat, ainv_phi = sol[..., 0], sol[..., 1:]                                   # (B, d), (B, d, A)
    mean = (phi @ w_hat.unsqueeze(-1)).squeeze(-1)
    width = (phi * ainv_phi.transpose(-1, -2)).sum(-1).clamp_min(0).sqrt()
    return mean + alpha * width


def _check_alpha_lam(alpha, lam):
    alpha = check_real(alpha, "alpha")
    if alpha < 0:
        raise ValueError(f"alpha must be >= 0; got {alpha}")
    return alpha, check_positive(lam, "lam")


def linucb(alpha: float = 2.0, lam: float = 1.0) -> Callable:
    """LinUCB (chapters 9-10, [LBM24]): ``A_t = lam I + sum_{j<=t} a_j a_j^T``, ``w_t = A_t^{-1} sum_j a_j r_j`` and
    the score ``v_k = <a_k, w_t> + alpha * sqrt(a_k^T A_t^{-1} a_k)`` for every arm vector ``a_k`` of
    ``bandit.features`` (B, A, d) (one batched ``torch.linalg.solve``); one-hot argmax probs (B, A). On a
    multi-armed bandit (one-hot features) it is a ridge-regularised UCB. ``alpha >= 0``, ``lam > 0``. The defaults
    ``alpha = 2``, ``lam = 1`` are those of [LBM24]'s public code (its LinUCB data collector)."""
    alpha, lam = _check_alpha_lam(alpha, lam)

    def fn(bandit, actions, rewards, generator):
        return _one_hot_argmax(_linucb_scores(bandit, actions, rewards, alpha, lam), bandit.dtype)

    return _Expert(f"linucb(alpha={alpha}, lam={lam})", fn, linucb.__doc__)


def soft_linucb(alpha: float = 2.0, lam: float = 1.0, tau: float = 0.1) -> Callable:
    """Soft LinUCB (chapters 9-10, [LBM24]): probs ``softmax(v / tau)`` (B, A) of the LinUCB scores ``v`` of
    :func:`linucb` (same defaults ``alpha = 2``, ``lam = 1``; ``tau = 0.1`` is ours). ``alpha >= 0``, ``lam > 0``,
    ``tau > 0``."""
    alpha, lam = _check_alpha_lam(alpha, lam)
    tau = check_positive(tau, "tau")

    def fn(bandit, actions, rewards, generator):
        v = _linucb_scores(bandit, actions, rewards, alpha, lam)
        check_finite_result(v, "the LinUCB scores", "reduce alpha or the rewards' scale")
        z = v / tau
        if not bool(torch.isfinite(z).all()):  # a tiny tau overflows v / tau (softmax -> NaN): shift first
            z = (v - v.amax(-1, keepdim=True)) / tau
        return torch.softmax(z, dim=-1)

    return _Expert(f"soft_linucb(alpha={alpha}, lam={lam}, tau={tau})", fn, soft_linucb.__doc__)


# --- Thompson sampling -----------------------------------------------------------------------------------------

def _beta_sample(a: torch.Tensor, b: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    x = standard_gamma(a, generator)
    y = standard_gamma(b, generator)
    return x / (x + y)


def thompson_sampling(prior: str = "auto", sigma: float | None = None, prior_mean: float | None = None,
                      prior_std: float | None = None, prior_a: float = 1.0, prior_b: float = 1.0) -> Callable:
    """Thompson sampling (chapters 9-10, [textbook]; the DPT reduced expert of [LBM24]): draw ONE parameter from the
    posterior and return the one-hot (B, A) of the arm that is best for it, so a draw from the probs is a TS action
    and the probs averaged over draws are ``P(a* = a | D_t)``.

    - ``prior="beta"``: independent ``Beta(prior_a, prior_b)`` priors on Bernoulli means, posterior
      ``Beta(prior_a + sum r, prior_b + sum (1 - r))`` per arm (rewards must lie in [0, 1]).
    - ``prior="gaussian"``: rewards ``N(<x_k, w>, sigma^2)`` with known ``sigma`` (default ``bandit.sigma``) and the
      conjugate prior ``w ~ N(prior_mean * 1, prior_std^2 I)`` on the feature weights (``bandit.features``): per
      arm for multi-armed bandits (one-hot features), and Gaussian linear TS for a ``LinearBandit``. Defaults
      (``None``): ``prior_mean = 0.5``, ``prior_std = 1 / sqrt(12)`` on a multi-armed bandit ([DPT23]'s public
      code: its TS baseline moment-matches the ``U[0, 1]`` means), and ``prior_mean = 0``, ``prior_std = 1``,
      i.e. ``w ~ N(0, I)``, on a ``LinearBandit`` ([LBM24]'s public code).
    - Beta defaults ``prior_a = prior_b = 1`` (uniform priors; [LBM24]'s Bernoulli TS).
    - ``prior="auto"`` (default): ``"beta"`` for a ``BernoulliBandit``, ``"gaussian"`` otherwise.
    """
    if prior not in ("auto", "beta", "gaussian"):
        raise ValueError(f"prior must be 'auto', 'beta' or 'gaussian'; got {prior!r}")
    sig = None if sigma is None else check_positive(sigma, "sigma")
    prior_m = None if prior_mean is None else check_real(prior_mean, "prior_mean")
    prior_s = None if prior_std is None else check_positive(prior_std, "prior_std")
    pa, pb = check_positive(prior_a, "prior_a"), check_positive(prior_b, "prior_b")

    def fn(bandit, actions, rewards, generator):
        g = as_generator(generator, "generator")
        kind = prior if prior != "auto" else ("beta" if isinstance(bandit, BernoulliBandit) else "gaussian")
        dtype = bandit.dtype
        if kind == "beta":
            if isinstance(bandit, LinearBandit):
                raise ValueError("prior='beta' needs a multi-armed bandit; use prior='gaussian' for a LinearBandit")
            if rewards.numel() and bool(((rewards < 0) | (rewards > 1)).any()):
                raise ValueError("rewards must lie in [0, 1] for prior='beta'")
            counts, sums = arm_statistics(actions, rewards, bandit.n_arms)
            theta = _beta_sample(pa + sums, pb + counts - sums, g)
            return _one_hot_argmax(theta, dtype)
        s = sig if sig is not None else getattr(bandit, "sigma", None)
        if s is None:
            raise ValueError("sigma must be given for prior='gaussian' when the bandit has no .sigma")
        counts, sums = arm_statistics(actions, rewards, bandit.n_arms)
        linear = isinstance(bandit, LinearBandit)
        m0 = prior_m if prior_m is not None else (0.0 if linear else 0.5)
        s0 = prior_s if prior_s is not None else (1.0 if linear else 1 / math.sqrt(12))
        if not linear:                                                 # one-hot features: diagonal posterior
            prec = 1 / s0 ** 2 + counts / s ** 2
            mean = (m0 / s0 ** 2 + sums / s ** 2) / prec
            z = torch.randn(mean.shape, generator=g, dtype=dtype)
            return _one_hot_argmax(mean + z / prec.sqrt(), dtype)
        phi = bandit.features
        d = phi.shape[-1]
        prec = torch.eye(d, dtype=dtype) / s0 ** 2 + torch.einsum("bkd,bk,bke->bde", phi, counts, phi) / s ** 2
        h = m0 / s0 ** 2 + torch.einsum("bkd,bk->bd", phi, sums) / s ** 2
        L = torch.linalg.cholesky(prec)
        mean = torch.cholesky_solve(h.unsqueeze(-1), L)
        z = torch.randn(mean.shape, generator=g, dtype=dtype)
        w = mean + torch.linalg.solve_triangular(L.transpose(-1, -2), z, upper=True)   # cov = prec^{-1}
        return _one_hot_argmax((phi @ w).squeeze(-1), dtype)

    name = f"thompson_sampling(prior={prior!r})"
    return _Expert(name, fn, thompson_sampling.__doc__)


# --- the exact Beta-Bernoulli posterior of the optimal arm ----------------------------------------------------

def _lbeta(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a + b)


def _two_arm_probs(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``P(theta_1 > theta_0)`` for ``theta_k ~ Beta(a_k, b_k)`` with integer parameters (N, 2), closed form
    ``sum_{i < a_1} B(a_0 + i, b_0 + b_1) / ((b_1 + i) B(1 + i, b_1) B(a_0, b_0))``."""
    a0, b0, a1, b1 = a[:, 0:1], b[:, 0:1], a[:, 1:2], b[:, 1:2]
    i = torch.arange(int(a1.max()), dtype=a.dtype).unsqueeze(0)                # (1, K)
    terms = _lbeta(a0 + i, b0 + b1) - torch.log(b1 + i) - _lbeta(1 + i, b1) - _lbeta(a0, b0)
    terms = torch.where(i < a1, terms, torch.full_like(terms, -math.inf))
    p1 = torch.logsumexp(terms, dim=-1).exp().clamp(0, 1)
    return torch.stack([1 - p1, p1], dim=-1)


def _quadrature_probs(a: torch.Tensor, b: torch.Tensor, t: int) -> torch.Tensor:
    """``P(argmax_k theta_k = j) = int_0^1 f_j(x) prod_{k != j} F_k(x) dx`` by Gauss-Legendre quadrature. For integer
    parameters the integrand is a polynomial of degree ``t + A - 1``, integrated exactly by ``m >= (t + A) / 2``
    nodes; the CDFs are binomial tails ``F(x; a, b) = P(Bin(a + b - 1, x) >= a)``, all in log space."""
    N, A = a.shape
    m = (t + A) // 2 + 2
    x_np, w_np = np.polynomial.legendre.leggauss(m)
    x = torch.from_numpy((x_np + 1) / 2).to(a.dtype)                           # nodes on (0, 1)
    w = torch.from_numpy(w_np / 2).to(a.dtype)
    lx, l1x = torch.log(x), torch.log1p(-x)
    n = a + b - 1                                                               # (N, A)
    j = torch.arange(t + 2, dtype=a.dtype)                                      # max n = t + 1
    out = torch.empty(N, A, dtype=a.dtype)
    chunk = max(1, 4_000_000 // (A * m * (t + 2)))
    for s in range(0, N, chunk):
        aa, bb, nn = a[s:s + chunk], b[s:s + chunk], n[s:s + chunk]
        logf = ((aa - 1).unsqueeze(-1) * lx + (bb - 1).unsqueeze(-1) * l1x
                - _lbeta(aa, bb).unsqueeze(-1))                                 # (n, A, m)
        nj = nn.unsqueeze(-1)                                                   # (n, A, 1)
        logc = torch.lgamma(nj + 1) - torch.lgamma(j + 1) - torch.lgamma((nj - j).clamp_min(0) + 1)   # (n, A, J)
        logpmf = logc.unsqueeze(-2) + j * lx.unsqueeze(-1) + (nj.unsqueeze(-1) - j) * l1x.unsqueeze(-1)
        keep = (j >= aa.unsqueeze(-1)) & (j <= nj)                              # (n, A, J)
        logpmf = torch.where(keep.unsqueeze(-2), logpmf, torch.full_like(logpmf, -math.inf))
        logF = torch.logsumexp(logpmf, dim=-1)                                  # (n, A, m)
        log_integrand = logf + logF.sum(-2, keepdim=True) - logF
        out[s:s + chunk] = (log_integrand.exp() * w).sum(-1)
    return out


def beta_bernoulli_optimal_action_probs(actions, rewards, n_arms: int) -> torch.Tensor:
    """The exact posterior ``P(a* = a | D_t)`` (..., A) of the optimal arm of a Bernoulli bandit with independent
    Beta(1, 1) priors (chapter 9: the DPT reduced expert, i.e. what Thompson sampling plays in expectation).

    ``actions`` (..., t) integer arms in [0, A - 1] and ``rewards`` (..., t) in {0, 1}; ``t`` may be 0 (then 1/A).
    The posterior of arm ``k`` is ``Beta(1 + s_k, 1 + f_k)`` (successes, failures). For ``A = 2`` the closed form
    ``P(theta_1 > theta_0) = sum_{i < a_1} B(a_0 + i, b_0 + b_1) / ((b_1 + i) B(1 + i, b_1) B(a_0, b_0))``; for
    ``A > 2`` Gauss-Legendre quadrature of ``int f_a prod_{k != a} F_k``, exact for these polynomial integrands up
    to rounding (rows sum to 1 within ~1e-13 in float64). Returns float64, or the rewards' floating dtype.
    """
    A = check_int(n_arms, "n_arms")
    act, r = check_arm_history(actions, rewards, A)
    if r.numel() and not bool(((r == 0) | (r == 1)).all()):
        raise ValueError("rewards must be 0 or 1 (Bernoulli rewards)")
    out_dtype = r.dtype
    batch, t = act.shape[:-1], act.shape[-1]
    n_rows = math.prod(batch)
    counts, succ = arm_statistics(act.reshape(n_rows, t), r.reshape(n_rows, t).to(torch.float64), A)
    a, b = 1 + succ, 1 + counts - succ
    if A == 1 or n_rows == 0:
        probs = torch.ones_like(a) / A
    elif A == 2:
        probs = _two_arm_probs(a, b)
    else:
        probs = _quadrature_probs(a, b, t)
    return probs.reshape(*batch, A).to(out_dtype)
