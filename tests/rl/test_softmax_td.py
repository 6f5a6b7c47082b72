"""Weighted softmax TD and its kernel matrices (chapter 8) against explicit loops, counts and Monte Carlo."""
import math

import pytest
import torch

from icrl_lib.rl import (boyan_chain, contraction_constant, empirical_kernel_matrices, population_kernel,
                         sample_mrp_trajectory, softmax_kernel, stationary_distribution, weighted_softmax_td)

F64 = torch.float64


def loop_softmax_td(x, r, gamma, alpha, L, v0=None):
    n = len(r)
    v = [0.0] * (n + 1) if v0 is None else [float(t) for t in v0]
    out = [list(v)]
    for _ in range(L):
        delta = [float(r[k - 1]) + gamma * v[k] - v[k - 1] for k in range(1, n + 1)]
        new = []
        for j in range(n + 1):
            w = [math.exp(float(x[j] @ x[m])) for m in range(n)]
            new.append(v[j] + alpha * sum(w[k] * delta[k] for k in range(n)) / sum(w))
        v = new
        out.append(list(v))
    return torch.tensor(out, dtype=F64)


@pytest.mark.parametrize("n,d,L", [(1, 1, 3), (5, 2, 4), (9, 3, 7)])
def test_matches_explicit_loop(n, d, L):
    g = torch.Generator().manual_seed(n)
    x = torch.rand(n + 1, d, generator=g, dtype=F64) * 2 - 1
    r = torch.rand(n, generator=g, dtype=F64)
    v0 = torch.randn(n + 1, generator=g, dtype=F64)
    got = weighted_softmax_td(x, r, 0.9, 0.6, L, v0=v0)
    assert got.shape == (L + 1, n + 1)
    assert torch.allclose(got, loop_softmax_td(x, r, 0.9, 0.6, L, v0), atol=1e-12)


def test_batched_equals_single():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(4, 7, 3, generator=g, dtype=F64)
    r = torch.rand(4, 6, generator=g, dtype=F64)
    batched = weighted_softmax_td(x, r, 0.5, 1.0, 5)
    for b in range(4):
        assert torch.allclose(batched[b], weighted_softmax_td(x[b], r[b], 0.5, 1.0, 5), atol=1e-14)


def test_kernel_rows_are_distributions_and_stable():
    x = torch.randn(8, 3, dtype=F64) * 40          # logits ~ 1e3
    K = softmax_kernel(x)
    assert torch.isfinite(K).all() and torch.allclose(K.sum(-1), torch.ones(8, dtype=F64))
    v = weighted_softmax_td(x, torch.ones(7, dtype=F64), 0.9, 1.0, 3)
    assert torch.isfinite(v).all()


def test_large_beta_is_tabular_limit():
    # one-hot features scaled by sqrt(1000): logits 1000 on a state's own visits, 0 elsewhere -> per-state average
    states = torch.tensor([0, 1, 0, 2, 1, 0, 2])
    phi = torch.eye(3, dtype=F64) * math.sqrt(1000.0)
    r = torch.tensor([1.0, -1.0, 0.5, 2.0, 0.0, 1.5], dtype=F64)
    v = weighted_softmax_td(phi[states], r, 0.9, 1.0, 6)
    assert torch.isfinite(v).all()
    M, P, rh, c = empirical_kernel_matrices(states, r, torch.eye(3, dtype=F64) * 1e6)  # exact tabular limit
    assert torch.allclose(M, torch.eye(3, dtype=F64))
    w = torch.zeros(3, dtype=F64)
    for l in range(6):
        w = rh + 0.9 * P @ w                          # alpha = 1, M = I: value iteration on the empirical model
        assert torch.allclose(v[l + 1], w[states], atol=1e-12)


def test_matrix_form_and_counts():
    g = torch.Generator().manual_seed(3)
    S, n = 5, 60
    phi = torch.randn(S, 2, generator=g, dtype=F64)
    s = torch.randint(0, S, (n + 1,), generator=g)
    r = torch.randn(n, generator=g, dtype=F64)
    M, P, rh, counts = empirical_kernel_matrices(s, r, phi)
    for u in range(S):
        assert int(counts[u]) == int((s[:-1] == u).sum())
        if counts[u] > 0:
            assert abs(float(rh[u]) - float(r[s[:-1] == u].mean())) < 1e-12
            for t in range(S):
                assert abs(float(P[u, t]) - float(((s[:-1] == u) & (s[1:] == t)).sum()) / float(counts[u])) < 1e-12
        w = torch.tensor([float(counts[t]) * math.exp(float(phi[u] @ phi[t])) for t in range(S)])
        assert torch.allclose(M[u], (w / w.sum()).to(F64), atol=1e-12)
    vs = torch.randn(S, generator=g, dtype=F64)
    one = weighted_softmax_td(phi[s], r, 0.8, 0.7, 1, v0=vs[s])[1]
    assert torch.allclose(one, (vs + 0.7 * M @ (rh + 0.8 * P @ vs - vs))[s], atol=1e-12)


def test_population_kernel_is_the_limit_of_the_empirical_one():
    chain = boyan_chain(5, gamma=0.9, seed=2)
    mu = stationary_distribution(chain)
    phi = torch.randn(5, 2, generator=torch.Generator().manual_seed(0), dtype=F64)
    Mpi = population_kernel(mu, phi)
    s, r = sample_mrp_trajectory(chain, 200_000, seed=1)
    M_hat = empirical_kernel_matrices(s, r, phi)[0]
    assert torch.allclose(Mpi.sum(-1), torch.ones(5, dtype=F64))
    assert float((M_hat - Mpi).abs().max()) < 0.01


def test_contraction_constant():
    M = torch.tensor([[0.99, 0.01], [0.02, 0.98]], dtype=F64)
    assert abs(float(contraction_constant(M, 0.9)) - (0.98 - 0.95)) < 1e-15
    assert contraction_constant(torch.stack([M, M]), 0.5).shape == (2,)


def test_bad_input():
    x = torch.zeros(4, 2)
    with pytest.raises(ValueError, match="^rewards"):
        weighted_softmax_td(x, torch.zeros(2), 0.9, 1.0, 2)
    with pytest.raises(ValueError, match="^gamma"):
        weighted_softmax_td(x, torch.zeros(3), 1.0, 1.0, 2)
    with pytest.raises(ValueError, match="^n_iters"):
        weighted_softmax_td(x, torch.zeros(3), 0.9, 1.0, -1)
    with pytest.raises(ValueError, match="^v0"):
        weighted_softmax_td(x, torch.zeros(3), 0.9, 1.0, 2, v0=torch.zeros(3))
    with pytest.raises(ValueError, match="^features"):
        weighted_softmax_td(torch.tensor([1.0, float("nan")]), torch.zeros(1), 0.9, 1.0, 1)
    with pytest.raises(ValueError, match="^states"):
        empirical_kernel_matrices(torch.tensor([0, 5]), torch.zeros(1), torch.eye(3))
    with pytest.raises(ValueError, match="^mu"):
        population_kernel(torch.tensor([0.5, 0.6]), torch.eye(2))
    with pytest.raises(ValueError, match="^M_pi"):
        contraction_constant(torch.zeros(2, 3), 0.5)
