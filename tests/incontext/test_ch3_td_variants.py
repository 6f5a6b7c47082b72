"""Chapter 3's TD variants in the library: the TD(lambda) mask and the residual-gradient block table, each
against an independent numpy loop over transitions (traces accumulated one transition at a time)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from icrl_lib.attention import apply_layers
from icrl_lib.incontext import render_blocks, td_construction, td_layout, td_prompt, td_readout
from icrl_lib.incontext.td import residual_gradient_blocks, td_lambda_mask

F64 = torch.float64


def _data(seed=1, d=3, n=12):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(n, d)), rng.normal(size=n), rng.normal(size=d)


def _trace_step(w, x, xn, r, g, lam, C):
    e, u = np.zeros_like(w), np.zeros_like(w)
    for j in range(len(r)):
        e = lam * e + x[j]
        u += (r[j] + g * w @ xn[j] - w @ x[j]) * e
    return w + C @ u / len(r)


def test_td_lambda_mask_entries():
    M = td_lambda_mask(3, 0.5)
    expected = np.array([[1, 0, 0, 0], [0.5, 1, 0, 0], [0.25, 0.5, 1, 0], [0, 0, 0, 0]])
    assert M.dtype == F64 and M.shape == (4, 4)
    assert np.allclose(M.numpy(), expected, atol=0, rtol=0)
    assert torch.equal(td_lambda_mask(5, 0.0), torch.diag(torch.tensor([1.0] * 5 + [0.0], dtype=F64)))
    assert td_lambda_mask(2, 1.0, dtype=torch.float32).dtype == torch.float32


@pytest.mark.parametrize("lam", [0.0, 0.3, 0.7, 1.0])
def test_td_lambda_mask_gives_trace_updates_for_every_depth(lam):
    x, xn, r, q = _data()
    g, C = 0.9, 0.5 * np.eye(3)
    w = np.zeros(3)
    for L in range(1, 5):
        w = _trace_step(w, x, xn, r, g, lam, C)
        Z = apply_layers(td_prompt(x, xn, r, q, g), td_construction(3, L, C), mask=td_lambda_mask(len(r), lam))
        assert abs(float(td_readout(Z)) - float(w @ q)) < 1e-10


def test_td_lambda_mask_zero_is_the_plain_mask():
    x, xn, r, q = _data(2)
    layers = td_construction(3, 3, 0.5 * np.eye(3))
    Z0 = td_prompt(x, xn, r, q, 0.9)
    assert torch.allclose(apply_layers(Z0, layers, mask=td_lambda_mask(len(r), 0.0)),
                          apply_layers(Z0, layers, mask=True), atol=1e-12, rtol=0)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_td_lambda_mask_rejects_bad_lambda(bad):
    with pytest.raises(ValueError, match="^lam"):
        td_lambda_mask(4, bad)


@pytest.mark.parametrize("bad", [0, -2, 2.5])
def test_td_lambda_mask_rejects_bad_n(bad):
    with pytest.raises(ValueError, match="^n"):
        td_lambda_mask(bad, 0.5)


def test_residual_gradient_blocks_give_residual_gradient_steps():
    x, xn, r, q = _data(3)
    g, d = 0.9, 3
    C = torch.as_tensor(0.5 * np.eye(d) + 0.1 * np.random.default_rng(0).normal(size=(d, d)))
    layer = render_blocks(td_layout(d), residual_gradient_blocks(C), F64)
    w = np.zeros(d)
    for L in range(1, 5):
        delta = r + g * xn @ w - x @ w
        w = w + C.numpy() @ (delta[:, None] * (x - g * xn)).mean(0)
        Z = apply_layers(td_prompt(x, xn, r, q, g), [layer] * L, mask=True)
        assert abs(float(td_readout(Z)) - float(w @ q)) < 1e-10


def test_residual_gradient_blocks_extend_the_td_blocks():
    C = torch.eye(2, dtype=F64)
    table = residual_gradient_blocks(C)
    assert set(table) == {("P", "x", "x"), ("P", "x", "x_next"), ("P", "x_next", "x"), ("P", "x_next", "x_next"),
                          ("V", "r", "r")}
    P, V = render_blocks(td_layout(2), table, F64)
    P_td, V_td = td_construction(2, 1)[0]
    assert torch.equal(V, V_td) and torch.equal(P[:2], P_td[:2]) and torch.equal(P[2:4], -P_td[:2])
