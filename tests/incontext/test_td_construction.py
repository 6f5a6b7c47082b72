"""[W25]'s TD construction: L masked layers = L steps of batch TD(0) (icrl_lib.incontext.td)."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from icrl_lib.attention import apply_layers
from icrl_lib.incontext import td_construction, td_layout, td_prompt, td_readout
from icrl_lib.rl import batch_td_update, td_errors

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


def test_td_layout_blocks_and_rows():
    L = td_layout(3)
    assert L.blocks == (("x", 3), ("x_next", 3), ("r", 1)) and L.dim == 7 and L.data == slice(0, 7)
    # the construction's only non-zero blocks are the ones the table names
    P, V = td_construction(3, 1)[0]
    assert torch.all(P[:, L.rows("r")] == 0) and torch.all(P[L.rows("x_next")] == 0)
    assert V[L.rows("r"), L.rows("r")].item() == 1
