"""Tests of icrl_lib.rl.intervals against tabulated values."""
import math

import pytest
import torch

from icrl_lib.rl.intervals import clopper_pearson, mean_and_t_interval, t_quantile


@pytest.mark.parametrize("p, dof, expected", [(0.975, 7, 2.3646), (0.975, 1, 12.706), (0.975, 30, 2.0423),
                                              (0.95, 4, 2.1318), (0.995, 9, 3.2498)])
def test_t_quantile_table(p, dof, expected):
    assert t_quantile(p, dof) == pytest.approx(expected, abs=1e-4 if expected < 10 else 1e-3)


def test_t_quantile_symmetry_and_normal_limit():
    assert t_quantile(0.5, 3) == 0.0
    assert t_quantile(0.025, 7) == pytest.approx(-t_quantile(0.975, 7), rel=1e-12)
    assert t_quantile(0.975, 100000) == pytest.approx(1.959964, abs=1e-4)


def test_mean_and_t_interval():
    x = torch.tensor([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [4.0, 1.0], [5.0, 1.0], [6.0, 1.0], [7.0, 1.0],
                      [8.0, 1.0]], dtype=torch.float64)
    m, h = mean_and_t_interval(x)
    assert m.shape == h.shape == (2,)
    assert float(m[0]) == pytest.approx(4.5)
    assert float(h[0]) == pytest.approx(2.3646 * x[:, 0].std().item() / math.sqrt(8), rel=1e-4)
    m1, h1 = mean_and_t_interval([1.0, 3.0], level=0.95)
    assert float(m1) == 2.0 and float(h1) == pytest.approx(12.706 * math.sqrt(2) / math.sqrt(2), rel=1e-4)


@pytest.mark.parametrize("k, n, lo, hi", [(8, 8, 0.631, 1.0), (6, 8, 0.349, 0.968), (0, 8, 0.0, 0.369),
                                          (5, 10, 0.187, 0.813)])
def test_clopper_pearson_table(k, n, lo, hi):
    a, b = clopper_pearson(k, n)
    assert a == pytest.approx(lo, abs=1e-3) and b == pytest.approx(hi, abs=1e-3)


def test_clopper_pearson_zero_successes_lower_is_zero():
    for n in (1, 5, 50):
        assert clopper_pearson(0, n)[0] == 0.0
        assert clopper_pearson(n, n)[1] == 1.0


@pytest.mark.parametrize("call, name", [
    (lambda: t_quantile(1.0, 3), "p"), (lambda: t_quantile(0.9, 0), "dof"), (lambda: t_quantile(0.9, 2.5), "dof"),
    (lambda: mean_and_t_interval([1.0]), "x"), (lambda: mean_and_t_interval([1.0, 2.0], level=1.5), "level"),
    (lambda: mean_and_t_interval([1.0, float("nan")]), "x"), (lambda: clopper_pearson(9, 8), "k"),
    (lambda: clopper_pearson(-1, 8), "k"), (lambda: clopper_pearson(1, 0), "n"),
    (lambda: clopper_pearson(True, 8), "k"), (lambda: clopper_pearson(1, 8, level=0), "level"),
])
def test_validation_names_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()


def test_mpmath_is_imported_lazily():
    """The module imports mpmath only inside its functions (``import icrl_lib.rl`` must not need it)."""
    import ast
    import inspect

    from icrl_lib.rl import intervals

    tree = ast.parse(inspect.getsource(intervals))
    top = [a.name for node in tree.body if isinstance(node, ast.Import) for a in node.names]
    top += [node.module for node in tree.body if isinstance(node, ast.ImportFrom)]
    assert not any(m.split(".")[0] in ("mpmath", "sympy", "matplotlib", "scipy") for m in top)
