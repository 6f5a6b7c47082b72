"""Chapter 6: Fisher's exact test (rl.fisher_exact) against a floating-point hypergeometric sum (the code the
chapter had) and a hand value."""
import math

import pytest

from icrl_lib.rl import fisher_exact


def _fisher_float(k1, n1, k2, n2):
    k, n = k1 + k2, n1 + n2

    def prob(j):
        return math.comb(n1, j) * math.comb(n2, k - j) / math.comb(n, k)

    p_obs = prob(k1)
    return sum(prob(j) for j in range(max(0, k - n2), min(k, n1) + 1) if prob(j) <= p_obs * (1 + 1e-12))


@pytest.mark.parametrize("counts", [(8, 8, 6, 8), (8, 8, 7, 8), (0, 8, 8, 8), (3, 10, 7, 12), (5, 5, 0, 4),
                                    (2, 8, 2, 8), (1, 20, 9, 15)])
def test_matches_the_float_sum(counts):
    assert math.isclose(fisher_exact(*counts), min(1.0, _fisher_float(*counts)), rel_tol=1e-12)


def test_hand_value_and_symmetry():
    # 8/8 against 6/8: k = 14 and k1 in {6, 7, 8} with weights 28, 64, 28 (of C(16, 14) = 120); the
    # observed k1 = 8 and k1 = 6 are no more likely, so p = 56/120 = 7/15
    assert math.isclose(fisher_exact(8, 8, 6, 8), 7 / 15, rel_tol=1e-12)
    assert fisher_exact(8, 8, 6, 8) == fisher_exact(6, 8, 8, 8)
    assert fisher_exact(0, 8, 8, 8) < 1e-3
