"""[W25]'s TD construction: L masked layers = L steps of batch TD(0), numerically and in sympy."""
from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given
from hypothesis import strategies as st
from sympy import MatrixSymbol

from icrl_lib.algorithms import batch_td_update, td_errors
from icrl_lib.attention import apply_layers
from icrl_lib.constructions import td_construction
from icrl_lib.prompts import td_prompt, td_readout
from icrl_lib.symbolic import (block_lsa, block_td_construction, block_td_prompt, is_zero_matrix, symbolic_lsa,
                               symbolic_td_construction, symbolic_td_prompt)

F64 = torch.float64
SEEDS = st.integers(0, 2**31 - 1)


def named(arg: str) -> str:
    return rf"^{re.escape(arg)}\b"


def test_construction_layout():
    d, L = 3, 2
    C = torch.arange(9, dtype=F64).reshape(3, 3)
    layers = td_construction(d, L, C)
    assert len(layers) == L
    for P, V in layers:
        assert P.shape == V.shape == (7, 7) and P.dtype == F64
        assert torch.equal(P[:3, :3], -C.T) and torch.equal(P[:3, 3:6], C.T)
        assert int((P != 0).sum()) == int((C != 0).sum()) * 2
        assert V[-1, -1] == 1 and int((V != 0).sum()) == 1
    P_id, _ = td_construction(2, 1)[0]
    assert torch.equal(P_id[:2, :4], torch.cat([-torch.eye(2), torch.eye(2)], dim=1).to(F64))
    assert td_construction(2, 1, dtype=torch.float32)[0][0].dtype == torch.float32


@given(d=st.integers(1, 4), n=st.integers(1, 8), L=st.integers(1, 6), gamma=st.floats(0.0, 0.99),
       per_layer=st.booleans(), seed=SEEDS)
def test_layers_equal_repeated_batch_td(d, n, L, gamma, per_layer, seed):
    rng = np.random.default_rng(seed)
    B = 3
    x, xn, r, q = (rng.normal(size=(B, n, d)), rng.normal(size=(B, n, d)), rng.normal(size=(B, n)),
                   rng.normal(size=(B, d)))
    C = 0.3 * rng.normal(size=(L, d, d) if per_layer else (d, d))
    Z = apply_layers(td_prompt(x, xn, r, q, gamma), td_construction(d, L, C), mask=True)
    w = torch.zeros(B, d, dtype=F64)
    for l in range(L):
        w = batch_td_update(w, x, xn, r, gamma, C=C[l] if per_layer else C)
    scale = max(1.0, float(w.abs().max()))
    # the readout is the value of the query state under w_L ...
    np.testing.assert_allclose(td_readout(Z).numpy(), (w * torch.as_tensor(q)).sum(-1).numpy(),
                               atol=1e-10 * scale, rtol=0)
    # ... and the whole token matrix satisfies the layer invariant: data rows untouched, context bottom
    # row = TD errors at w_L, query bottom entry = -w_L^T x_q.
    Z0 = td_prompt(x, xn, r, q, gamma)
    assert torch.equal(Z[:, :2 * d], Z0[:, :2 * d])
    np.testing.assert_allclose(Z[:, -1, :n].numpy(), td_errors(w, x, xn, r, gamma).numpy(),
                               atol=1e-10 * scale, rtol=0)


def test_mask_matters_from_the_second_layer():
    rng = np.random.default_rng(3)
    d, n = 3, 6
    Z = td_prompt(rng.normal(size=(n, d)), rng.normal(size=(n, d)), rng.normal(size=n), rng.normal(size=d), 0.9)
    one = td_construction(d, 1)
    assert torch.allclose(apply_layers(Z, one, mask=True), apply_layers(Z, one, mask=False), atol=1e-14)
    two = td_construction(d, 2)
    gap = (td_readout(apply_layers(Z, two, mask=True)) - td_readout(apply_layers(Z, two, mask=False))).abs()
    assert float(gap) > 1e-6


def test_construction_rejects_bad_input():
    with pytest.raises(ValueError, match=named("d")):
        td_construction(0, 1)
    with pytest.raises(ValueError, match=named("n_layers")):
        td_construction(2, 0)
    with pytest.raises(ValueError, match=named("C")):
        td_construction(2, 3, np.eye(3))
    with pytest.raises(ValueError, match=named("C")):
        td_construction(2, 3, np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match=named("C")):
        td_construction(2, 1, np.full((2, 2), np.inf))


# --- sympy builders of chapter 3 ----------------------------------------------------------------------

def test_symbolic_td_builders_match_torch():
    rng = np.random.default_rng(5)
    d, n, g = 2, 3, sp.Rational(9, 10)
    ints = lambda *s: rng.integers(-3, 4, size=s)  # noqa: E731
    x, xn, r, q, C = ints(n, d), ints(n, d), ints(n), ints(d), ints(d, d)
    Zs = symbolic_td_prompt(sp.Matrix(x.T), sp.Matrix(xn.T), sp.Matrix([list(r)]), sp.Matrix(q), g)
    Zt = td_prompt(x.astype(float), xn.astype(float), r.astype(float), q.astype(float), 0.9)
    np.testing.assert_allclose(np.array(Zs, dtype=float), Zt.numpy(), atol=1e-15)
    Ps, Vs = symbolic_td_construction(sp.Matrix(C))
    Pt, Vt = td_construction(d, 1, C)[0]
    assert np.array_equal(np.array(Ps, dtype=float), Pt.numpy()) and np.array_equal(np.array(Vs, dtype=float), Vt.numpy())
    # the explicit symbolic layer agrees with the torch layer (exact rationals vs float64)
    out_s = symbolic_lsa(Zs, Ps, Vs, mask=True)
    out_t = apply_layers(Zt, [(Pt, Vt)], mask=True)
    np.testing.assert_allclose(np.array(out_s, dtype=float), out_t.numpy(), atol=1e-12)


def test_block_lemma_one_layer_is_one_td_step_general_sizes():
    d, n = sp.symbols("d n", integer=True, positive=True)
    g = sp.Symbol("gamma")
    X, Xn, r = MatrixSymbol("X", d, n), MatrixSymbol("Xn", d, n), MatrixSymbol("r", 1, n)
    xq, w, C = MatrixSymbol("x_q", d, 1), MatrixSymbol("w", d, 1), MatrixSymbol("C", d, d)
    delta = r + w.T * (g * Xn - X)
    P, V = block_td_construction(d, C)
    out = block_lsa(block_td_prompt(X, Xn, delta, xq, g, -w.T * xq), P, V, n, mask=True)
    w1 = w + (1 / n) * C * X * delta.T
    assert is_zero_matrix(out - block_td_prompt(X, Xn, r + w1.T * (g * Xn - X), xq, g, -w1.T * xq))
    w_wrong = w + (2 / n) * C * X * delta.T
    assert not is_zero_matrix(out.blocks[2, 1] + w_wrong.T * xq)


def test_symbolic_td_builders_reject_bad_input():
    m = sp.Matrix
    with pytest.raises(ValueError, match=named("x_next")):
        symbolic_td_prompt(m([[1, 2]]), m([[1, 2, 3]]), m([[1, 2]]), m([1]), 0)
    with pytest.raises(ValueError, match=named("r")):
        symbolic_td_prompt(m([[1, 2]]), m([[1, 2]]), m([[1, 2, 3]]), m([1]), 0)
    with pytest.raises(ValueError, match=named("x_q")):
        symbolic_td_prompt(m([[1, 2]]), m([[1, 2]]), m([[1, 2]]), m([1, 2]), 0)
    with pytest.raises(ValueError, match=named("x")):
        symbolic_td_prompt([[1, 2]], m([[1, 2]]), m([[1, 2]]), m([1]), 0)
    with pytest.raises(ValueError, match=named("C")):
        symbolic_td_construction(m([[1, 2]]))
