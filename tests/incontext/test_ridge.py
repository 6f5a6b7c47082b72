"""Ridge regression by GD in ReLU attention (chapter 10) against numpy: explicit GD loops, linear solves,
finite differences of the loss, the dense ReLU-attention layer, and bad inputs."""
import numpy as np
import pytest
import torch

from icrl_lib.attention import relu_attention
from icrl_lib.incontext import (ridge_forward, ridge_gd_construction, ridge_gd_steps, ridge_layout,
                                ridge_nesterov_construction, ridge_prompt, ridge_query_solutions, ridge_readout,
                                ridge_solution)


def numpy_gd(X, y, eta, lam, L, beta=0.0):
    n, d = X.shape
    w = np.zeros(d)
    w_prev = w.copy()
    out = [w.copy()]
    for _ in range(L):
        z = (1 + beta) * w - beta * w_prev
        grad = X.T @ (X @ z - y) / n + lam * z
        w_prev, w = w, z - eta * grad
        out.append(w.copy())
    return np.array(out)


def ridge_loss(X, y, lam, w):
    return 0.5 * np.mean((X @ w - y) ** 2) + 0.5 * lam * w @ w


@pytest.mark.parametrize("seed", range(6))
def test_layers_equal_explicit_gd_steps(seed):
    rng = np.random.default_rng(seed)
    d, n, L = int(rng.integers(1, 6)), int(rng.integers(1, 25)), int(rng.integers(1, 20))
    X, y, xq = rng.uniform(-1, 1, (n, d)), rng.normal(size=n), rng.normal(size=d)
    eta, lam = float(rng.uniform(0.05, 0.5)), float(rng.uniform(0, 1))
    Hs = ridge_forward(ridge_prompt(X, y, xq), ridge_gd_construction(d, eta, lam, L), return_all=True)
    got = ridge_readout(Hs).numpy()
    np.testing.assert_allclose(got, numpy_gd(X, y, eta, lam, L), atol=1e-10)
    # every column i runs GD on its own prefix (its first i tokens)
    every = ridge_readout(Hs[-1], all_tokens=True).numpy()
    for i in range(1, n + 1):
        np.testing.assert_allclose(every[i - 1], numpy_gd(X[:i], y[:i], eta, lam, L)[-1], atol=1e-10)
    # only the w rows change
    lay = ridge_layout(d)
    keep = [r for r in range(lay.dim) if not lay.rows("w").start <= r < lay.rows("w").stop]
    np.testing.assert_array_equal(Hs[-1][keep].numpy(), Hs[0][keep].numpy())


@pytest.mark.parametrize("seed", range(3))
def test_nesterov_layers_equal_explicit_nesterov(seed):
    rng = np.random.default_rng(10 + seed)
    d, n, L = 3, 12, 15
    X, y = rng.uniform(-1, 1, (n, d)), rng.normal(size=n)
    beta = 0.6
    lay = ridge_layout(d, nesterov=True)
    H = ridge_prompt(X, y, np.zeros(d), layout=lay)
    out = ridge_readout(ridge_forward(H, ridge_nesterov_construction(d, 0.3, 0.2, L, beta)), layout=lay).numpy()
    np.testing.assert_allclose(out, numpy_gd(X, y, 0.3, 0.2, L, beta)[-1], atol=1e-10)
    torch_ref = ridge_gd_steps(X, y, 0.3, 0.2, L, momentum=beta)[-1].numpy()
    np.testing.assert_allclose(torch_ref, numpy_gd(X, y, 0.3, 0.2, L, beta)[-1], atol=1e-12)


def test_one_layer_update_is_minus_eta_times_finite_difference_gradient():
    rng = np.random.default_rng(3)
    d, n, eta, lam = 4, 9, 0.3, 0.7
    X, y = rng.uniform(-1, 1, (n, d)), rng.normal(size=n)
    w0 = rng.normal(size=d)
    lay = ridge_layout(d)
    H = ridge_prompt(X, y, np.zeros(d))
    H[lay.rows("w"), :] = torch.as_tensor(w0)[:, None]          # start every column at w0
    w1 = ridge_readout(ridge_forward(H, ridge_gd_construction(d, eta, lam, 1))).numpy()
    h = 1e-6
    fd = np.array([(ridge_loss(X, y, lam, w0 + h * e) - ridge_loss(X, y, lam, w0 - h * e)) / (2 * h)
                   for e in np.eye(d)])
    np.testing.assert_allclose((w1 - w0) / -eta, fd, atol=1e-7)


def test_relu_pair_gives_signed_residual():
    # the two data heads together: ReLU(s) - ReLU(-s) = s for positive and negative residuals
    s = torch.linspace(-3, 3, 13, dtype=torch.float64)
    assert torch.equal(torch.relu(s) - torch.relu(-s), s)


def test_sparse_forward_equals_dense_relu_attention():
    rng = np.random.default_rng(4)
    d, n = 3, 10
    lay = ridge_layout(d, n_queries=2, solve_queries=True, nesterov=True)
    H = ridge_prompt(rng.uniform(-1, 1, (2, n, d)), rng.normal(size=(2, n)), rng.uniform(-1, 1, (2, 2, d)),
                     layout=lay, start_token=True)
    layers = ridge_gd_construction(d, 0.3, 0.5, 3, layout=lay, penalty="scaled", momentum=0.4)
    dense = H
    for Q, K, V in layers:
        dense = relu_attention(dense, Q, K, V)
    np.testing.assert_allclose(ridge_forward(H, layers).numpy(), dense.numpy(), atol=1e-12)


def test_scaled_penalty_converges_to_linucb_quantities():
    rng = np.random.default_rng(5)
    d, n, A, lam = 2, 8, 3, 1.0
    X, y, arms = rng.uniform(-1, 1, (n, d)), rng.normal(size=n), rng.uniform(-1, 1, (A, d))
    lay = ridge_layout(d, n_queries=A, solve_queries=True)
    H = ridge_forward(ridge_prompt(X, y, arms, layout=lay, start_token=True),
                      ridge_gd_construction(d, 0.3, lam, 600, layout=lay, penalty="scaled"))
    Amat = lam * np.eye(d) + X.T @ X
    np.testing.assert_allclose(ridge_readout(H, layout=lay).numpy(), np.linalg.solve(Amat, X.T @ y), atol=1e-8)
    np.testing.assert_allclose(ridge_query_solutions(H, lay).numpy(), np.linalg.solve(Amat, arms.T).T, atol=1e-8)


def test_constant_penalty_limit_is_ridge_solution():
    rng = np.random.default_rng(6)
    X, y = rng.uniform(-1, 1, (15, 3)), rng.normal(size=15)
    w = ridge_readout(ridge_forward(ridge_prompt(X, y, np.zeros(3)), ridge_gd_construction(3, 0.5, 0.3, 400)))
    ref = np.linalg.solve(X.T @ X / 15 + 0.3 * np.eye(3), X.T @ y / 15)
    np.testing.assert_allclose(w.numpy(), ref, atol=1e-9)
    np.testing.assert_allclose(ridge_solution(X, y, 0.3).numpy(), ref, atol=1e-12)


def test_dtype_and_batch():
    X = torch.rand(4, 5, 2)
    H = ridge_prompt(X, torch.rand(4, 5), torch.rand(2))
    assert H.dtype == torch.float32 and H.shape == (4, 3 * 2 + 4, 5)
    out = ridge_readout(ridge_forward(H, ridge_gd_construction(2, 0.1, 0.1, 2, dtype=torch.float32)))
    assert out.shape == (4, 2) and out.dtype == torch.float32


def test_bad_inputs():
    X = np.zeros((5, 2))
    with pytest.raises(ValueError, match="y"):
        ridge_prompt(X, np.zeros(4), np.zeros(2))
    with pytest.raises(ValueError, match="x_query"):
        ridge_prompt(X, np.zeros(5), np.zeros(3))
    with pytest.raises(ValueError, match="X"):
        ridge_prompt(np.array([np.nan, 1.0]).reshape(1, 2), np.zeros(1), np.zeros(2))
    with pytest.raises(ValueError, match="lam"):
        ridge_gd_construction(2, 0.1, -1.0, 3)
    with pytest.raises(ValueError, match="n_layers"):
        ridge_gd_construction(2, 0.1, 0.1, 0)
    with pytest.raises(ValueError, match="penalty"):
        ridge_gd_construction(2, 0.1, 0.1, 1, penalty="other")
    with pytest.raises(ValueError, match="momentum"):
        ridge_gd_construction(2, 0.1, 0.1, 1, layout=ridge_layout(2), momentum=0.5)   # no w_prev rows
    with pytest.raises(ValueError, match="layers"):
        ridge_forward(ridge_prompt(X, np.zeros(5), np.zeros(2)), ridge_gd_construction(3, 0.1, 0.1, 1))
    with pytest.raises(ValueError, match="H"):
        ridge_readout(torch.zeros(8, 3))
