"""Independent reference implementations shared by several test files (explicit loops, numpy only)."""
import math
import numpy as np


def np_regression_prompt(X, y, xq):
    """The chapter-2 regression prompt built column by column: (x_i; y_i) and the query (x_q; 0)."""
    N, d = X.shape
    Z = np.zeros((d + 1, N + 1))
    for i in range(N):
        Z[:d, i] = X[i]
        Z[d, i] = y[i]
    Z[:d, N] = xq
    return Z


def np_lsa(H, P, V, mask):
    """The [LL26] layer token by token: out_j = h_j + (1/N) sum_i (V h_i)(h_i^T P h_j)."""
    D, cols = H.shape
    N = cols - 1
    out = H.copy()
    sources = range(N) if mask else range(N + 1)
    for j in range(cols):
        for i in sources:
            out[:, j] += (V @ H[:, i]) * (H[:, i] @ P @ H[:, j]) / N
    return out


def chi_square(counts: np.ndarray, probs: np.ndarray) -> tuple[float, int]:
    """Pearson statistic and degrees of freedom of multinomial rows ``counts`` (m, k) against ``probs`` (m, k)."""
    stat, dof = 0.0, 0
    for c, p in zip(counts, probs):
        n = c.sum()
        if n == 0:
            continue
        assert np.all(c[p == 0] == 0), "an impossible outcome was sampled"
        support = p > 0
        stat += float(((c[support] - n * p[support]) ** 2 / (n * p[support])).sum())
        dof += int(support.sum()) - 1
    return stat, dof


def assert_chi_square_ok(counts, probs):
    """Reject only at a tail probability far below 1e-8: 8 standard deviations (sqrt(2 dof)) above the mean dof."""
    stat, dof = chi_square(counts, probs)
    assert dof > 0
    assert stat < dof + 8 * math.sqrt(2 * dof) + 10, (stat, dof)
