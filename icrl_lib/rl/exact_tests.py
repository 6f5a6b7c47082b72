"""Fisher's exact test of two success counts (chapter 6: is a setting's success rate distinguishable from the
default's with 8 seeds each?).

Counts ``k1`` of ``n1`` and ``k2`` of ``n2``: under the null of equal rates, given the total ``k = k1 + k2``,
``k1`` is hypergeometric, ``P(j) = C(n1, j) C(n2, k - j) / C(n1 + n2, k)``. The two-sided p-value sums ``P(j)``
over every ``j`` no more likely than the observed ``k1`` (exact integer arithmetic, no scipy).
"""
from __future__ import annotations

import math

from .._validation import check_int

__all__ = ["fisher_exact"]


def fisher_exact(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided Fisher exact p-value of ``k1/n1`` against ``k2/n2`` (see the module docstring; chapter 6)."""
    n1, n2 = check_int(n1, "n1"), check_int(n2, "n2")
    k1, k2 = check_int(k1, "k1", minimum=0), check_int(k2, "k2", minimum=0)
    if k1 > n1:
        raise ValueError(f"k1 must be at most n1 = {n1}; got {k1}")
    if k2 > n2:
        raise ValueError(f"k2 must be at most n2 = {n2}; got {k2}")
    k, n = k1 + k2, n1 + n2
    total = math.comb(n, k)
    weight = {j: math.comb(n1, j) * math.comb(n2, k - j) for j in range(max(0, k - n2), min(k, n1) + 1)}
    observed = weight[k1]
    # integer weights: "no more likely" is an exact comparison (a tolerance is only needed in floating point)
    return min(1.0, sum(w for w in weight.values() if w <= observed) / total)
