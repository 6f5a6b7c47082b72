"""Small-sample confidence intervals: Student-t intervals for a mean and Clopper-Pearson intervals for a
success count.

The book reports a mean over a handful of seeds (chapter 3: 8 training seeds) and success counts such as
8/8 or 6/8 (chapter 6). For n this small the normal approximation ``1.96 s / sqrt(n)`` is too narrow (the
Student-t quantile for 7 degrees of freedom is 2.365, so the normal half-width is about 17% short of it, and
the t half-width about 21% wider), and a count k/n needs an exact binomial interval.

The quantiles are computed with ``mpmath`` (imported lazily inside the functions, so ``import icrl_lib.rl``
loads neither mpmath nor sympy); scipy is not a dependency of the library.
"""
from __future__ import annotations

import math
from numbers import Integral, Real

import torch

__all__ = ["t_quantile", "mean_and_t_interval", "clopper_pearson"]

_BISECT_STEPS = 200  # bisection on [0, 1] or a bracket: 2^-200 is far below float64 resolution


def _check_level(level, name: str = "level") -> float:
    if isinstance(level, bool) or not isinstance(level, Real) or not math.isfinite(float(level)):
        raise ValueError(f"{name} must be a real number in (0, 1); got {level!r}")
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"{name} must lie in (0, 1); got {level}")
    return level


def _check_count(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an int; got {type(value).__name__} {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    return value


def _bisect(f, lo, hi):
    """Root of the increasing function ``f`` on [lo, hi] by bisection (mpmath numbers)."""
    for _ in range(_BISECT_STEPS):
        mid = (lo + hi) / 2
        if f(mid) < 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def t_quantile(p: float, dof: int) -> float:
    """The ``p``-quantile of Student's t distribution with ``dof`` degrees of freedom (a float).

    ``p`` in (0, 1), ``dof`` an int >= 1. Computed from the regularised incomplete beta function,
    ``P(T <= t) = 1 - I_{dof/(dof+t^2)}(dof/2, 1/2) / 2`` for t >= 0, by bisection in mpmath at 50 digits.
    Examples: ``t_quantile(0.975, 7) = 2.3646`` (8 seeds, chapter 3), ``t_quantile(0.975, 1) = 12.706``.
    """
    if isinstance(p, bool) or not isinstance(p, Real) or not math.isfinite(float(p)):
        raise ValueError(f"p must be a real number in (0, 1); got {p!r}")
    p = float(p)
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must lie in (0, 1); got {p}")
    dof = _check_count(dof, "dof", 1)
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_quantile(1.0 - p, dof)
    import mpmath

    with mpmath.workdps(50):
        nu = mpmath.mpf(dof)
        target = mpmath.mpf(p)

        def cdf_minus_p(t):
            tail = mpmath.betainc(nu / 2, mpmath.mpf(1) / 2, 0, nu / (nu + t * t), regularized=True) / 2
            return (1 - tail) - target

        hi = mpmath.mpf(1)
        while cdf_minus_p(hi) < 0:
            hi *= 2
        return float(_bisect(cdf_minus_p, mpmath.mpf(0), hi))


def mean_and_t_interval(x, level: float = 0.95) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean over the first axis and the half-width ``t_{(1+level)/2, n-1} s / sqrt(n)`` of the Student-t
    interval (``s`` the unbiased standard deviation).

    ``x``: array or tensor of shape (n, ...) with n >= 2; returns two float64 tensors of shape (...). The
    interval assumes the n rows are independent draws (seeds); it is the small-n replacement of the normal
    approximation ``1.96 s / sqrt(n)`` (chapter 3's 8 training seeds).
    """
    level = _check_level(level)
    try:
        x = torch.as_tensor(x, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"x must be a numeric array or tensor; got {type(x).__name__}") from exc
    if x.dim() == 0 or x.shape[0] < 2:
        raise ValueError(f"x needs at least 2 rows along its first axis for an interval; got shape "
                         f"{tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x must be finite")
    n = x.shape[0]
    q = t_quantile((1.0 + level) / 2.0, n - 1)
    return x.mean(0), q * x.std(0, unbiased=True) / math.sqrt(n)


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The Clopper-Pearson (exact binomial) interval ``(lower, upper)`` for a success probability after
    ``k`` successes in ``n`` trials.

    ``lower`` is the ``(1-level)/2`` quantile of Beta(k, n-k+1) (0 when k = 0), ``upper`` the ``(1+level)/2``
    quantile of Beta(k+1, n-k) (1 when k = n). Examples (chapter 6's success counts): 8/8 gives
    (0.631, 1), 6/8 gives (0.349, 0.968). The interval is conservative: its coverage is at least ``level``.
    """
    level = _check_level(level)
    n = _check_count(n, "n", 1)
    k = _check_count(k, "k", 0)
    if k > n:
        raise ValueError(f"k must be <= n = {n}; got {k}")
    import mpmath

    alpha = (1.0 - level) / 2.0
    with mpmath.workdps(50):

        def beta_quantile(a, b, q):
            a, b, q = mpmath.mpf(a), mpmath.mpf(b), mpmath.mpf(q)
            return _bisect(lambda u: mpmath.betainc(a, b, 0, u, regularized=True) - q, mpmath.mpf(0),
                           mpmath.mpf(1))

        lower = 0.0 if k == 0 else float(beta_quantile(k, n - k + 1, alpha))
        upper = 1.0 if k == n else float(beta_quantile(k + 1, n - k, 1.0 - alpha))
    return lower, upper
