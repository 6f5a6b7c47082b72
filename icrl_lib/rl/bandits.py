"""Stochastic bandits batched over tasks, their histories, the online loop and the regret (chapters 9-10).

A bandit object holds ``B`` tasks with ``A`` arms each: ``means`` (B, A), the optimal arm and its mean per task,
``features`` (B, A, d) (the one-hot ``e_a`` of a multi-armed bandit, the arm vectors of a linear bandit, so an
expert can treat the three kinds alike), and ``pull(actions, generator)`` drawing one reward per task. A history
``D_t = (a_1, r_1, ..., a_t, r_t)`` is a pair of tensors ``actions`` (B, t) int64 and ``rewards`` (B, t); ``t`` may
be 0. An *expert* (``icrl_lib.rl.experts``) maps ``(bandit, actions, rewards, generator)`` to the distribution
(B, A) of the next action; :func:`run_bandit` runs one online, looping over time only.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
import torch

from .._validation import as_generator, as_tensor, check_int, check_positive, check_shape, select_rows
from .sampling import categorical_unchecked

__all__ = ["GaussianBandit", "BernoulliBandit", "LinearBandit", "BanditHistory", "BanditTrajectory",
           "check_bandit_history", "arm_statistics", "run_bandit", "regret", "suboptimality"]

_DTYPES = (torch.float32, torch.float64)


def _check_dtype(dtype, name: str = "dtype") -> torch.dtype:
    if dtype not in _DTYPES:
        raise ValueError(f"{name} must be torch.float32 or torch.float64; got {dtype}")
    return dtype


class _Bandit:
    """Common part of the three bandit kinds (private: use the public subclasses)."""

    means: torch.Tensor

    @property
    def n_tasks(self) -> int:
        """Number of tasks ``B``."""
        return self.means.shape[0]

    @property
    def n_arms(self) -> int:
        """Number of arms ``A``."""
        return self.means.shape[1]

    @property
    def dtype(self) -> torch.dtype:
        """Floating dtype of means and rewards (float64 by default)."""
        return self.means.dtype

    @property
    def optimal_action(self) -> torch.Tensor:
        """``a*`` (B,) int64: the arm of largest mean, ties to the lowest index."""
        return self.means.argmax(-1)

    @property
    def best_mean(self) -> torch.Tensor:
        """``max_a mu_a`` (B,)."""
        return self.means.max(-1).values

    @property
    def features(self) -> torch.Tensor:
        """(B, A, A) one-hot arm features ``e_a`` (multi-armed bandits)."""
        A = self.n_arms
        return torch.eye(A, dtype=self.dtype).expand(self.n_tasks, A, A)

    def __len__(self) -> int:
        return self.n_tasks

    def _check_actions(self, actions) -> torch.Tensor:
        a = _as_indices(actions, "actions", self.n_arms)
        if a.shape != (self.n_tasks,):
            raise ValueError(f"actions must have shape (B,) = ({self.n_tasks},); got {tuple(a.shape)}")
        return a

    def _mean_of(self, actions: torch.Tensor) -> torch.Tensor:
        return self.means.gather(-1, actions.unsqueeze(-1)).squeeze(-1)

    @staticmethod
    def _rows(index, n: int) -> torch.Tensor:
        return select_rows(index, n, "index")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_tasks={self.n_tasks}, n_arms={self.n_arms}, dtype={self.dtype})"


def _as_indices(x, name: str, upper: int) -> torch.Tensor:
    try:
        t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    except (TypeError, ValueError, RuntimeError) as exc:  # None, strings, ragged lists
        raise ValueError(f"{name} must hold integer arm indices; got {type(x).__name__}") from exc
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer arm indices; got dtype {t.dtype}")
    t = t.long()
    if t.numel() and (int(t.min()) < 0 or int(t.max()) >= upper):
        raise ValueError(f"{name} must hold arm indices in [0, {upper - 1}]; got range "
                         f"[{int(t.min())}, {int(t.max())}]")
    return t


def check_bandit(bandit, name: str = "bandit") -> "_Bandit":
    if not isinstance(bandit, _Bandit):
        raise ValueError(f"{name} must be a GaussianBandit, BernoulliBandit or LinearBandit; got "
                         f"{type(bandit).__name__}")
    return bandit


def _check_means(means, name: str = "means") -> torch.Tensor:
    m = as_tensor(means, name)
    if m.dim() != 2:
        raise ValueError(f"{name} must have shape (B, A) (tasks x arms; use means[None] for one task); "
                         f"got {tuple(m.shape)}")
    check_shape(m, name, (None, None), batch=False)
    _check_dtype(m.dtype, f"{name} dtype")
    return m


class GaussianBandit(_Bandit):
    """``B`` Gaussian multi-armed bandits (chapters 9-10): reward of arm ``a`` in task ``b`` is
    ``N(means[b, a], sigma^2)``.

    ``means`` (B, A) float (float64 by default, float32 allowed); ``sigma`` > 0 the noise standard deviation.
    ``GaussianBandit.sample(n_tasks, n_arms, sigma, generator)`` draws ``means ~ U[0, 1]`` i.i.d. ([DPT23]'s prior).
    """

    def __init__(self, means, sigma: float):
        self.means = _check_means(means)
        self.sigma = check_positive(sigma, "sigma")

    @classmethod
    def sample(cls, n_tasks: int, n_arms: int, sigma: float, generator, dtype: torch.dtype = torch.float64
               ) -> "GaussianBandit":
        """``n_tasks`` bandits with ``means ~ U[0, 1]^(n_tasks x n_arms)`` (chapter 9, [DPT23]'s prior)."""
        n_tasks, n_arms = check_int(n_tasks, "n_tasks"), check_int(n_arms, "n_arms")
        sigma = check_positive(sigma, "sigma")
        g = as_generator(generator)
        means = torch.rand(n_tasks, n_arms, generator=g, dtype=_check_dtype(dtype))
        return cls(means, sigma)

    def pull(self, actions, generator) -> torch.Tensor:
        """Rewards (B,) of the arms ``actions`` (B,) int64: ``means[b, a_b] + sigma * N(0, 1)`` (chapter 9)."""
        a = self._check_actions(actions)
        g = as_generator(generator)
        noise = torch.randn(self.n_tasks, generator=g, dtype=self.dtype)
        return self._mean_of(a) + self.sigma * noise

    def select(self, index) -> "GaussianBandit":
        """The sub-batch of tasks ``index`` (int, slice, list, int or bool tensor) as a new bandit (chapter 9)."""
        return GaussianBandit(self.means[self._rows(index, self.n_tasks)], self.sigma)


class BernoulliBandit(_Bandit):
    """``B`` Bernoulli multi-armed bandits (chapters 9-10): reward of arm ``a`` in task ``b`` is 1 with
    probability ``means[b, a]`` and 0 otherwise.

    ``means`` (B, A) in [0, 1]. ``BernoulliBandit.sample(n_tasks, n_arms, generator)`` draws ``means ~ U[0, 1]``,
    i.e. independent Beta(1, 1) priors (the prior of ``beta_bernoulli_optimal_action_probs``).
    """

    def __init__(self, means):
        m = _check_means(means)
        if bool(((m < 0) | (m > 1)).any()):
            raise ValueError(f"means must lie in [0, 1] for a Bernoulli bandit; got range "
                             f"[{float(m.min()):.4g}, {float(m.max()):.4g}]")
        self.means = m

    @classmethod
    def sample(cls, n_tasks: int, n_arms: int, generator, dtype: torch.dtype = torch.float64
               ) -> "BernoulliBandit":
        """``n_tasks`` bandits with ``means ~ U[0, 1]`` (= Beta(1, 1)) i.i.d. (chapter 9)."""
        n_tasks, n_arms = check_int(n_tasks, "n_tasks"), check_int(n_arms, "n_arms")
        g = as_generator(generator)
        return cls(torch.rand(n_tasks, n_arms, generator=g, dtype=_check_dtype(dtype)))

    def pull(self, actions, generator) -> torch.Tensor:
        """Rewards (B,) in {0, 1} (in the bandit's dtype) of the arms ``actions`` (B,) int64 (chapter 9)."""
        a = self._check_actions(actions)
        g = as_generator(generator)
        u = torch.rand(self.n_tasks, generator=g, dtype=self.dtype)
        return (u < self._mean_of(a)).to(self.dtype)

    def select(self, index) -> "BernoulliBandit":
        """The sub-batch of tasks ``index`` (int, slice, list, int or bool tensor) as a new bandit (chapter 9)."""
        return BernoulliBandit(self.means[self._rows(index, self.n_tasks)])


class LinearBandit(_Bandit):
    """``B`` linear bandits with a fixed arm set per task (chapters 9-10, [LBM24]): arm ``k`` of task ``b`` has
    features ``arms[b, k]`` in R^d and reward ``<arms[b, k], w[b]> + sigma * N(0, 1)``.

    ``w`` (B, d), ``arms`` (B, A, d) (same dtype), ``sigma`` > 0; ``means = arms @ w`` (B, A); ``features`` = ``arms``.
    ``LinearBandit.sample(n_tasks, d, n_arms, sigma, generator)`` draws ``w ~ U[0, 1]^d`` and every arm
    ``~ U[-1, 1]^d`` ([LBM24]'s setting: d = 5, A = 10, sigma = 1.5).
    """

    def __init__(self, w, arms, sigma: float):
        w = as_tensor(w, "w")
        if w.dim() != 2:
            raise ValueError(f"w must have shape (B, d); got {tuple(w.shape)}")
        check_shape(w, "w", (None, None), batch=False)
        _check_dtype(w.dtype, "w dtype")
        arms = as_tensor(arms, "arms", dtype=w.dtype)
        B, d = w.shape
        if arms.dim() != 3 or arms.shape[0] != B or arms.shape[2] != d or arms.shape[1] < 1:
            raise ValueError(f"arms must have shape (B, A, d) = ({B}, A, {d}); got {tuple(arms.shape)}")
        self.w = w
        self.arms = arms
        self.sigma = check_positive(sigma, "sigma")
        self.means = (arms @ w.unsqueeze(-1)).squeeze(-1)

    @property
    def dim(self) -> int:
        """Feature dimension ``d``."""
        return self.w.shape[1]

    @property
    def features(self) -> torch.Tensor:
        """(B, A, d) the arm vectors."""
        return self.arms

    @classmethod
    def sample(cls, n_tasks: int, d: int, n_arms: int, sigma: float, generator,
               dtype: torch.dtype = torch.float64) -> "LinearBandit":
        """``w ~ U[0, 1]^d``, arms ``~ U[-1, 1]^d`` i.i.d., fixed per task (chapter 9, [LBM24])."""
        n_tasks, d, n_arms = check_int(n_tasks, "n_tasks"), check_int(d, "d"), check_int(n_arms, "n_arms")
        sigma = check_positive(sigma, "sigma")
        g = as_generator(generator)
        dtype = _check_dtype(dtype)
        w = torch.rand(n_tasks, d, generator=g, dtype=dtype)
        arms = 2 * torch.rand(n_tasks, n_arms, d, generator=g, dtype=dtype) - 1
        return cls(w, arms, sigma)

    def pull(self, actions, generator) -> torch.Tensor:
        """Rewards (B,) ``<arms[b, a_b], w[b]> + sigma * N(0, 1)`` of the arms ``actions`` (B,) int64 (chapter 9)."""
        a = self._check_actions(actions)
        g = as_generator(generator)
        noise = torch.randn(self.n_tasks, generator=g, dtype=self.dtype)
        return self._mean_of(a) + self.sigma * noise

    def select(self, index) -> "LinearBandit":
        """The sub-batch of tasks ``index`` (int, slice, list, int or bool tensor) as a new bandit (chapter 9)."""
        rows = self._rows(index, self.n_tasks)
        return LinearBandit(self.w[rows], self.arms[rows], self.sigma)


class BanditHistory(NamedTuple):
    """A history ``D_t`` of ``B`` bandit tasks (chapter 9): ``actions`` (B, t) int64 and ``rewards`` (B, t) float;
    ``t`` may be 0."""

    actions: torch.Tensor
    rewards: torch.Tensor


class BanditTrajectory(NamedTuple):
    """The result of :func:`run_bandit` (chapter 9): ``actions`` (B, T) int64, ``rewards`` (B, T) and ``probs``
    (B, T, A), the expert's distribution from which ``actions[:, t]`` was drawn."""

    actions: torch.Tensor
    rewards: torch.Tensor
    probs: torch.Tensor


def check_bandit_history(bandit, actions, rewards) -> BanditHistory:
    """Validate a history of ``bandit`` (chapter 9): ``actions`` (B, t) integer arm indices in [0, A - 1] and
    ``rewards`` (B, t) finite, ``t >= 0``; returns them as int64 and as the bandit's dtype."""
    B, A = check_bandit(bandit).n_tasks, bandit.n_arms
    a = _as_indices(actions, "actions", A)
    if a.dim() != 2 or a.shape[0] != B:
        raise ValueError(f"actions must have shape (B, t) = ({B}, t); got {tuple(a.shape)}")
    r = rewards if isinstance(rewards, torch.Tensor) else as_tensor(rewards, "rewards")
    if r.shape != a.shape:
        raise ValueError(f"rewards must have the shape of actions (B, t) = {tuple(a.shape)}; got {tuple(r.shape)}")
    r = r.to(bandit.dtype)
    if r.numel() and not bool(torch.isfinite(r).all()):
        raise ValueError("rewards contains NaN or infinite values")
    return BanditHistory(a, r)


def check_arm_history(actions, rewards, n_arms: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate a history without a bandit object (chapter 9): ``actions`` (..., t) integer arm indices in
    [0, n_arms - 1] and ``rewards`` (..., t) finite; returns them as int64 and as a floating tensor."""
    actions = _as_indices(actions, "actions", n_arms)
    if actions.dim() < 1:
        raise ValueError(f"actions must have shape (..., t); got {tuple(actions.shape)}")
    rewards = as_tensor(rewards, "rewards")
    if rewards.shape != actions.shape:
        raise ValueError(f"rewards must have the shape of actions (..., t) = {tuple(actions.shape)}; got "
                         f"{tuple(rewards.shape)}")
    return actions, rewards


def check_expert(expert, name: str = "expert") -> Callable:
    """An expert is a callable ``(bandit, actions, rewards, generator) -> probs (B, A)`` (chapter 9)."""
    if not callable(expert):
        raise ValueError(f"{name} must be callable (bandit, actions, rewards, generator) -> probs (B, A); "
                         f"got {type(expert).__name__}")
    return expert


def arm_statistics(actions: torch.Tensor, rewards: torch.Tensor, n_arms: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Sufficient statistics of a history (chapter 9): ``counts`` (..., A) = ``n_a`` (the number of pulls of arm
    ``a``, in the rewards' dtype) and ``sums`` (..., A) = the sum of its rewards, by one ``scatter_add`` each.

    ``actions`` (..., t) integer arm indices in [0, A - 1], ``rewards`` (..., t) finite floats of the same
    shape (``t`` may be 0; see also :func:`check_bandit_history`)."""
    n_arms = check_int(n_arms, "n_arms")
    actions, rewards = check_arm_history(actions, rewards, n_arms)
    shape = (*actions.shape[:-1], n_arms)
    counts = torch.zeros(shape, dtype=rewards.dtype).scatter_add_(-1, actions, torch.ones_like(rewards))
    sums = torch.zeros(shape, dtype=rewards.dtype).scatter_add_(-1, actions, rewards)
    return counts, sums


def run_bandit(bandit, expert: Callable, horizon: int, generator) -> BanditTrajectory:
    """Run ``expert`` online on every task of ``bandit`` for ``horizon`` rounds (chapters 9-10).

    At round ``t`` (0-based) ``probs = expert(bandit, actions[:, :t], rewards[:, :t], generator)`` (B, A),
    ``a_t ~ probs`` (one uniform per task) and ``r_t = bandit.pull(a_t, generator)``. The loop runs over time
    only; all tasks move in one tensor operation. ``generator``: a ``torch.Generator`` or an int seed.
    Returns :class:`BanditTrajectory` with ``actions`` (B, T), ``rewards`` (B, T), ``probs`` (B, T, A).
    """
    check_bandit(bandit)
    check_expert(expert)
    T = check_int(horizon, "horizon")
    g = as_generator(generator)
    B, A, dtype = bandit.n_tasks, bandit.n_arms, bandit.dtype
    actions = torch.zeros(B, T, dtype=torch.long)
    rewards = torch.zeros(B, T, dtype=dtype)
    probs = torch.zeros(B, T, A, dtype=dtype)
    tol = max(1e-8, 4 * A * torch.finfo(dtype).eps)
    for t in range(T):
        p = expert(bandit, actions[:, :t], rewards[:, :t], g)
        if not isinstance(p, torch.Tensor) or p.shape != (B, A):
            shape = tuple(p.shape) if isinstance(p, torch.Tensor) else type(p).__name__
            raise ValueError(f"expert must return probs of shape (B, A) = ({B}, {A}); got {shape} from "
                             f"{expert!r} at round {t}")
        if p.is_complex() or not (p.is_floating_point() or p.dtype == torch.bool):
            raise ValueError(f"expert must return floating probs; got dtype {p.dtype} from {expert!r} at round {t}")
        p = p.to(dtype)
        # NaN rows would pass the comparisons below and the inverse CDF would read them as the last arm
        if not bool(torch.isfinite(p).all()):
            raise ValueError(f"expert returned NaN or infinite probs at round {t} ({expert!r})")
        if bool((p < -tol).any()) or bool(((p.sum(-1) - 1).abs() > tol).any()):
            raise ValueError(f"expert returned rows that are not probability vectors (non-negative, summing "
                             f"to 1) at round {t} ({expert!r})")
        a = categorical_unchecked(p, g)
        rewards[:, t] = bandit.pull(a, g)
        actions[:, t] = a
        probs[:, t] = p
    return BanditTrajectory(actions, rewards, probs)


def suboptimality(bandit, actions) -> torch.Tensor:
    """Per-step pseudo-regret ``best_mean - means[a_t]`` (B, T) of ``actions`` (B, T) (chapters 9-10)."""
    check_bandit(bandit)
    a = _as_indices(actions, "actions", bandit.n_arms)
    if a.dim() != 2 or a.shape[0] != bandit.n_tasks:
        raise ValueError(f"actions must have shape (B, T) = ({bandit.n_tasks}, T); got {tuple(a.shape)}")
    return bandit.best_mean.unsqueeze(-1) - bandit.means.gather(-1, a)


def regret(bandit, actions) -> torch.Tensor:
    """Cumulative pseudo-regret ``sum_{s <= t} (best_mean - means[a_s])`` (B, T) of ``actions`` (B, T)
    (chapters 9-10); ``regret(...)[:, -1]`` is the regret at the horizon."""
    return suboptimality(bandit, actions).cumsum(-1)
