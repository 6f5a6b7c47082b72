"""icrl_lib.incontext.ridge_depth (chapter 10, section 1) against independent computations."""
import math

import torch

from icrl_lib.incontext import (conditioned_context, layers_to_tolerance, prefix_curvature, query_solver_layers,
                                ridge_depth_errors, ridge_gd_steps, ridge_random_check, ridge_solution)

F = torch.float64


def test_prefix_curvature_is_max_over_prefixes():
    X = torch.randn(7, 3, generator=torch.Generator().manual_seed(0), dtype=F)
    want = max(float(torch.linalg.eigvalsh(X[:i].T @ X[:i] / i)[-1]) for i in range(1, 8)) + 0.3
    assert abs(prefix_curvature(X, 0.3) - want) < 1e-12


def test_depth_errors_match_explicit_steps_and_bound():
    g = torch.Generator().manual_seed(1)
    X = 2 * torch.rand(10, 3, generator=g, dtype=F) - 1
    y = torch.randn(10, generator=g, dtype=F)
    out = ridge_depth_errors(X, y, 0.2, 30)
    eta = 1 / prefix_curvature(X, 0.2)
    w_star = ridge_solution(X, y, 0.2)
    w5 = ridge_gd_steps(X, y, eta, 0.2, 5)[-1]
    assert abs(float(out["err"][5]) - float((w5 - w_star).norm() / w_star.norm())) < 1e-10
    assert bool((out["err"] <= out["bound"] * (1 + 1e-9) + 1e-13).all())


def test_conditioned_context_has_the_spectrum():
    X, _, lam = conditioned_context(50.0, d=3, n=20)
    ev = torch.linalg.eigvalsh(X.T @ X / 20 + lam * torch.eye(3, dtype=F))
    assert torch.allclose(ev, torch.linspace(1 / 50, 1, 3, dtype=F), atol=1e-12)


def test_random_check_and_tolerance():
    out = ridge_random_check(2, seed=3)
    assert max(out["last"], out["prefix"], out["nesterov"]) < 1e-10
    assert layers_to_tolerance(torch.tensor([1.0, 0.1, 1e-7, 1e-9])) == 2


def test_query_solver_layers_counts_layers():
    def slow(X, q, lam, n_layers, momentum=None):  # error 2^-L towards the solution
        want = torch.linalg.solve(lam * torch.eye(3, dtype=F) + X.T @ X, q)
        return torch.stack([want + 2.0 ** -L for L in range(n_layers + 1)])

    out = query_solver_layers(slow, n_layers=40)
    assert out["plain"][1] == math.ceil(8 * math.log2(10) + 1e-9)
