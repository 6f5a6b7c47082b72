"""icrl_lib.incontext.regression (chapter 2): prompts, readouts, the GD constructions.

Every claim is checked against an independent computation: numpy loops over tokens for the prompt and the
gradient step and a per-token Python loop for the attention layer.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from reference_impl import np_lsa, np_regression_prompt
from icrl_lib.attention import apply_layers, linear_self_attention
from icrl_lib.incontext import (gd_construction, gd_param_construction, gd_step, gd_step_prediction,
                                param_layout, param_prompt, param_readout, regression_layout, regression_prompt,
                                regression_readout)


def _np_gd_step(X, y, Gamma, w0):
    """w0 - Gamma grad L(w0) with an explicit loop over the tokens (independent of the library)."""
    N, d = X.shape
    grad = np.zeros(d)
    for i in range(N):
        grad += (w0 @ X[i] - y[i]) * X[i]
    return w0 - Gamma @ (grad / N)




# --------------------------------------------------------------------------------------------- prompt
def test_regression_prompt_matches_loop_and_batches():
    rng = np.random.default_rng(0)
    X, y, xq = rng.normal(size=(3, 6, 4)), rng.normal(size=(3, 6)), rng.normal(size=(3, 4))
    Z = regression_prompt(X, y, xq)
    assert Z.shape == (3, 5, 7) and Z.dtype == torch.float64
    for b in range(3):
        np.testing.assert_array_equal(Z[b].numpy(), np_regression_prompt(X[b], y[b], xq[b]))
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
    out = np_lsa(np_regression_prompt(X, y, xq), P.numpy(), V.numpy(), mask)
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
    np.testing.assert_allclose(V[-1, -1].item() * P[:d, :d].T.numpy(), Gamma, atol=0)
    # the (P / c, c V) rescaling does not change the output
    pred2 = regression_readout(linear_self_attention(regression_prompt(X, y, xq), P / -2.5, -2.5 * V))
    np.testing.assert_allclose(pred2.numpy(), want, rtol=1e-11, atol=1e-12)


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




def test_regression_layouts():
    assert regression_layout(3).blocks == (("x", 3), ("y", 1)) and regression_layout(3).dim == 4
    L = param_layout(2)
    assert L.blocks == (("x", 2), ("y", 1), ("one", 1), ("w", 2)) and L.data == slice(0, 3) and L.param == slice(3, 6)
    with pytest.raises(ValueError, match="d"):
        param_layout(0)
