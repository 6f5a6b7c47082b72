"""icrl_lib.icl_regression (chapter 2): prompts, the GD construction, step sizes, training.

Every claim is checked against an independent computation: numpy loops over tokens for the prompt and the
gradient step, a per-token Python loop for the attention layer, Monte Carlo for the expected risk.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from icrl_lib.attention import apply_layers, linear_self_attention
from icrl_lib.icl_regression import (effective_preconditioner, fit_step_size, gd_construction,
                                     gd_param_construction, gd_step, gd_step_prediction, lsa_regression_loss,
                                     one_step_risk, optimal_step_size, param_prompt, param_readout,
                                     regression_prompt, regression_readout, sample_regression_tasks,
                                     train_regression_lsa)


def _np_gd_step(X, y, Gamma, w0):
    """w0 - Gamma grad L(w0) with an explicit loop over the tokens (independent of the library)."""
    N, d = X.shape
    grad = np.zeros(d)
    for i in range(N):
        grad += (w0 @ X[i] - y[i]) * X[i]
    return w0 - Gamma @ (grad / N)


def _np_prompt(X, y, xq):
    N, d = X.shape
    Z = np.zeros((d + 1, N + 1))
    for i in range(N):
        Z[:d, i] = X[i]
        Z[d, i] = y[i]
    Z[:d, N] = xq
    return Z


def _np_lsa(H, P, V, mask):
    """The [LL26] layer token by token: out_j = h_j + (1/N) sum_i (V h_i)(h_i^T P h_j)."""
    D, cols = H.shape
    N = cols - 1
    out = H.copy()
    sources = range(N) if mask else range(N + 1)
    for j in range(cols):
        for i in sources:
            out[:, j] += (V @ H[:, i]) * (H[:, i] @ P @ H[:, j]) / N
    return out


# ------------------------------------------------------------------------------------------- sampling
def test_sample_regression_tasks_shapes_and_determinism():
    t = sample_regression_tasks(7, 5, 3, seed=4)
    assert t.X.shape == (7, 5, 3) and t.y.shape == (7, 5) and t.x_query.shape == (7, 3)
    assert t.y_query.shape == (7,) and t.w_star.shape == (7, 3)
    assert t.X.dtype == torch.float64
    u = sample_regression_tasks(7, 5, 3, seed=4)
    assert all(torch.equal(a, b) for a, b in zip(t, u))
    assert not torch.equal(t.X, sample_regression_tasks(7, 5, 3, seed=5).X)
    # noiseless labels are exactly linear in the inputs
    np.testing.assert_allclose(t.y.numpy(), np.einsum("bnd,bd->bn", t.X.numpy(), t.w_star.numpy()), atol=1e-12)
    np.testing.assert_allclose(t.y_query.numpy(), (t.x_query * t.w_star).sum(-1).numpy(), atol=1e-12)


def test_sample_regression_tasks_generator_and_noise():
    g = torch.Generator().manual_seed(0)
    a = sample_regression_tasks(4, 3, 2, seed=g)
    b = sample_regression_tasks(4, 3, 2, seed=g)
    assert not torch.equal(a.X, b.X)  # one generator, fresh draws
    n = sample_regression_tasks(2000, 10, 2, seed=1, noise_std=0.5)
    resid = n.y - torch.einsum("bnd,bd->bn", n.X, n.w_star)
    assert abs(float(resid.std()) - 0.5) < 0.02


@pytest.mark.parametrize("kwargs, name", [
    (dict(n_tasks=0, n_context=3, d=2), "n_tasks"), (dict(n_tasks=2, n_context=0, d=2), "n_context"),
    (dict(n_tasks=2, n_context=3, d=1.5), "d"), (dict(n_tasks=2, n_context=3, d=2, seed=-1), "seed"),
    (dict(n_tasks=2, n_context=3, d=2, noise_std=-0.1), "noise_std"),
])
def test_sample_regression_tasks_rejects_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        sample_regression_tasks(**kwargs)


# --------------------------------------------------------------------------------------------- prompt
def test_regression_prompt_matches_loop_and_batches():
    rng = np.random.default_rng(0)
    X, y, xq = rng.normal(size=(3, 6, 4)), rng.normal(size=(3, 6)), rng.normal(size=(3, 4))
    Z = regression_prompt(X, y, xq)
    assert Z.shape == (3, 5, 7) and Z.dtype == torch.float64
    for b in range(3):
        np.testing.assert_array_equal(Z[b].numpy(), _np_prompt(X[b], y[b], xq[b]))
    assert torch.equal(regression_readout(Z), torch.zeros(3, dtype=torch.float64))
    # a shared query broadcasts over the batch; float32 stays float32
    Z32 = regression_prompt(X.astype(np.float32), y.astype(np.float32), xq[0].astype(np.float32))
    assert Z32.dtype == torch.float32 and Z32.shape == (3, 5, 7)


@pytest.mark.parametrize("args, name", [
    ((np.zeros((4, 2)), np.zeros(5), np.zeros(2)), "y"),
    ((np.zeros((4, 2)), np.zeros(4), np.zeros(3)), "x_query"),
    ((np.zeros(4), np.zeros(4), np.zeros(1)), "X"),
    ((np.full((4, 2), np.nan), np.zeros(4), np.zeros(2)), "X"),
    ((np.zeros((2, 4, 2)), np.zeros((3, 4)), np.zeros(2)), "batch"),
])
def test_regression_prompt_rejects_bad_input(args, name):
    with pytest.raises(ValueError, match=name):
        regression_prompt(*args)


def test_regression_readout_validation():
    with pytest.raises(ValueError, match="Z"):
        regression_readout(np.zeros(3))
    with pytest.raises(ValueError, match="sign"):
        regression_readout(np.zeros((2, 2)), sign=2.0)


# ------------------------------------------------------------------------------ construction = GD step
@given(st.integers(1, 4), st.integers(1, 6), st.floats(0.05, 3.0), st.integers(0, 10_000), st.booleans())
def test_gd_construction_equals_one_gd_step(d, N, eta, seed, mask):
    rng = np.random.default_rng(seed)
    X, y, xq = rng.normal(size=(N, d)), rng.normal(size=N), rng.normal(size=d)
    P, V = gd_construction(d, eta)
    pred = regression_readout(linear_self_attention(regression_prompt(X, y, xq), P, V, mask=mask))
    w1 = _np_gd_step(X, y, eta * np.eye(d), np.zeros(d))
    np.testing.assert_allclose(float(pred), w1 @ xq, rtol=1e-12, atol=1e-12)
    # independent check of the layer itself: token-by-token loop
    out = _np_lsa(_np_prompt(X, y, xq), P.numpy(), V.numpy(), mask)
    np.testing.assert_allclose(out[-1, -1], w1 @ xq, rtol=1e-12, atol=1e-12)


def test_gd_construction_preconditioned_and_batched():
    rng = np.random.default_rng(1)
    d, N, B = 3, 8, 5
    Gamma = rng.normal(size=(d, d))
    X, y, xq = rng.normal(size=(B, N, d)), rng.normal(size=(B, N)), rng.normal(size=(B, d))
    P, V = gd_construction(d, Gamma)
    pred = regression_readout(linear_self_attention(regression_prompt(X, y, xq), P, V))
    want = [_np_gd_step(X[b], y[b], Gamma, np.zeros(d)) @ xq[b] for b in range(B)]
    np.testing.assert_allclose(pred.numpy(), want, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(effective_preconditioner(P, V).numpy(), Gamma, atol=0)
    # the (P / c, c V) rescaling changes neither the product nor the output
    np.testing.assert_allclose(effective_preconditioner(P / -2.5, -2.5 * V).numpy(), Gamma, rtol=1e-15)


def test_gd_step_matches_loop_with_w0():
    rng = np.random.default_rng(2)
    X, y, xq, w0 = rng.normal(size=(7, 3)), rng.normal(size=7), rng.normal(size=3), rng.normal(size=3)
    w1 = gd_step(X, y, 0.3, w0=w0)
    np.testing.assert_allclose(w1.numpy(), _np_gd_step(X, y, 0.3 * np.eye(3), w0), rtol=1e-12)
    np.testing.assert_allclose(float(gd_step_prediction(X, y, xq, 0.3, w0=w0)),
                               _np_gd_step(X, y, 0.3 * np.eye(3), w0) @ xq, rtol=1e-12)


@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_residual_form_layers_are_gd_steps(n_layers):
    rng = np.random.default_rng(3)
    d, N, eta = 3, 10, 0.4
    X, y, xq = rng.normal(size=(N, d)), rng.normal(size=N), rng.normal(size=d)
    P, V = gd_construction(d, eta, residual=True)
    Z = apply_layers(regression_prompt(X, y, xq), [(P, V)] * n_layers, mask=True)
    w = np.zeros(d)
    for _ in range(n_layers):
        w = _np_gd_step(X, y, eta * np.eye(d), w)
    np.testing.assert_allclose(float(regression_readout(Z, sign=-1)), w @ xq, rtol=1e-11, atol=1e-12)
    # context label slots hold the residuals y_i - w^T x_i
    np.testing.assert_allclose(Z[-1, :-1].numpy(), y - X @ w, rtol=1e-11, atol=1e-12)
    if n_layers >= 2:  # without the mask the query's own (now non-zero) label slot leaks in
        Zu = apply_layers(regression_prompt(X, y, xq), [(P, V)] * n_layers, mask=False)
        assert abs(float(regression_readout(Zu, sign=-1)) - w @ xq) > 1e-6


@pytest.mark.parametrize("bad, name", [(0.0, "eta"), (-1.0, "eta"), (np.eye(2), "eta"), (True, "eta")])
def test_gd_construction_rejects_bad_eta(bad, name):
    with pytest.raises(ValueError, match=name):
        gd_construction(3, bad)


@pytest.mark.parametrize("eta", [0.5, np.float32(0.5), np.array(0.5), torch.tensor(0.5)])
def test_gd_construction_accepts_scalar_types(eta):
    P, V = gd_construction(2, eta)
    np.testing.assert_allclose(P.numpy(), np.diag([0.5, 0.5, 0.0]))
    np.testing.assert_array_equal(V.numpy(), np.diag([0.0, 0.0, 1.0]))


def test_gd_construction_rejects_bad_d():
    with pytest.raises(ValueError, match="d"):
        gd_construction(0, 1.0)


# ------------------------------------------------------------------------------- parameter layout
def test_param_construction_outputs_w1():
    rng = np.random.default_rng(4)
    d, N, B = 3, 9, 4
    X, y, w0 = rng.normal(size=(B, N, d)), rng.normal(size=(B, N)), rng.normal(size=(B, d))
    for eta in (0.7, rng.normal(size=(d, d))):
        P, V = gd_param_construction(d, eta)
        Gamma = eta * np.eye(d) if np.ndim(eta) == 0 else eta
        H = param_prompt(X, y, w0)
        assert H.shape == (B, 2 * d + 2, N + 1)
        for mask in (False, True):
            w1 = param_readout(linear_self_attention(H, P, V, mask=mask))
            want = np.stack([_np_gd_step(X[b], y[b], Gamma, w0[b]) for b in range(B)])
            np.testing.assert_allclose(w1.numpy(), want, rtol=1e-11, atol=1e-12)
        np.testing.assert_array_equal(param_readout(H).numpy(), w0)


def test_param_prompt_and_readout_validation():
    with pytest.raises(ValueError, match="w0"):
        param_prompt(np.zeros((4, 2)), np.zeros(4), np.zeros(3))
    with pytest.raises(ValueError, match="H"):
        param_readout(np.zeros((5, 3)))


# ------------------------------------------------------------------------------------- step sizes
def test_optimal_step_size_and_risk_match_monte_carlo():
    d, N = 3, 12
    eo = optimal_step_size(N, d)
    assert eo == pytest.approx(N / (N + d + 1))
    # the closed-form risk is a parabola in eta with its minimum at eta_opt
    etas = np.linspace(0.1, 1.5, 29)
    risks = [one_step_risk(e, N, d) for e in etas]
    assert etas[int(np.argmin(risks))] == pytest.approx(eo, abs=0.05)
    assert one_step_risk(0.0, N, d) == pytest.approx(d)
    t = sample_regression_tasks(200_000, N, d, seed=7)
    for e in (0.4, eo, 1.2):
        mc = float(((gd_step_prediction(t.X, t.y, t.x_query, e) - t.y_query) ** 2).mean())
        assert mc == pytest.approx(one_step_risk(e, N, d), rel=0.02)
    assert fit_step_size(t) == pytest.approx(eo, rel=0.02)


def test_noisy_optimal_step_size_matches_monte_carlo():
    d, N, s = 2, 8, 0.7
    eo = optimal_step_size(N, d, noise_std=s)
    t = sample_regression_tasks(200_000, N, d, seed=8, noise_std=s)
    assert fit_step_size(t) == pytest.approx(eo, rel=0.02)
    mc = float(((gd_step_prediction(t.X, t.y, t.x_query, eo) - t.y_query) ** 2).mean())
    assert mc == pytest.approx(one_step_risk(eo, N, d, noise_std=s), rel=0.02)


def test_lsa_regression_loss_of_construction_is_gd_risk():
    t = sample_regression_tasks(500, 6, 2, seed=9)
    P, V = gd_construction(2, 0.5)
    direct = ((gd_step_prediction(t.X, t.y, t.x_query, 0.5) - t.y_query) ** 2).mean()
    assert float(lsa_regression_loss(P, V, t)) == pytest.approx(float(direct), rel=1e-12)


# ---------------------------------------------------------------------------------------- training
def test_training_reduces_loss_deterministically():
    kw = dict(d=2, n_context=10, n_steps=150, batch_size=64, lr=0.02, seed=3)
    a = train_regression_lsa(**kw)
    b = train_regression_lsa(**kw)
    assert torch.equal(a.P, b.P) and torch.equal(a.V, b.V) and torch.equal(a.losses, b.losses)
    assert a.losses.shape == (150,)
    assert float(a.losses[-30:].mean()) < 0.5 * float(a.losses[:10].mean())
    test = sample_regression_tasks(4000, 10, 2, seed=11)
    eo = optimal_step_size(10, 2)
    assert float(lsa_regression_loss(a.P, a.V, test)) < 1.2 * one_step_risk(eo, 10, 2)


@pytest.mark.parametrize("kwargs, name", [(dict(n_steps=0), "n_steps"), (dict(lr=0.0), "lr"),
                                          (dict(batch_size=-2), "batch_size"), (dict(init_scale=-1.0), "init_scale")])
def test_training_rejects_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        train_regression_lsa(**kwargs)


def test_effective_preconditioner_validation():
    with pytest.raises(ValueError, match="P"):
        effective_preconditioner(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="V"):
        effective_preconditioner(np.zeros((3, 3)), np.zeros((2, 2)))


def test_training_snapshots():
    r = train_regression_lsa(d=2, n_context=5, n_steps=10, batch_size=8, snapshot_every=4, seed=0)
    assert r.snapshots.shape == (4, 2, 3, 3)
    assert r.snapshot_steps.tolist() == [0, 4, 8, 10]
    assert torch.equal(r.snapshots[-1, 0], r.P) and torch.equal(r.snapshots[-1, 1], r.V)
    assert train_regression_lsa(d=2, n_context=5, n_steps=3, batch_size=8).snapshots.shape == (0, 2, 3, 3)
