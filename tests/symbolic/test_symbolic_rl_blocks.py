"""icrl_lib.symbolic.rl (chapters 4-5): the sympy prompts and blocks agree with the torch ones, the
block-matrix (symbolic size) builders agree with the explicit ones once sizes are concrete, and the
chapters' symbolic identities hold."""
from __future__ import annotations

import random
import re

import numpy as np
import pytest
import sympy as sp
from sympy import Identity, MatrixSymbol

from icrl_lib.incontext import (actor_critic_construction, actor_critic_layout, actor_critic_prompt,
                                sarsa_construction, sarsa_layout, sarsa_prompt)
from icrl_lib.rl import batch_actor_critic_update, batch_sarsa_update
from icrl_lib.symbolic import block_lsa_query_output, is_zero_matrix, symbol_matrix, symbol_vector, symbolic_lsa
from icrl_lib.symbolic import (block_actor_critic_construction, block_actor_critic_tokens, block_index,
                                  block_layout, block_matrix, block_part, block_sarsa_construction,
                                  block_sarsa_tokens, block_tokens, symbolic_actor_critic_construction,
                                  symbolic_actor_critic_prompt, symbolic_actor_critic_readout,
                                  symbolic_block_matrix, symbolic_sarsa_construction, symbolic_sarsa_prompt,
                                  symbolic_sarsa_readout)


def named(arg: str) -> str:
    return rf"^{re.escape(arg)}\b"


def rationals(symbols, seed):
    rng = random.Random(seed)
    return {s: sp.Rational(rng.randint(-9, 9), rng.randint(1, 5)) for s in symbols}


def to_np(M):
    return np.array(M.tolist(), dtype=float)


def sarsa_symbols(N, d):
    return symbol_matrix("p", N, d), symbol_matrix("q", N, d), symbol_vector("r", N), symbol_vector("w", d)


@pytest.mark.parametrize("N, d, seed", [(1, 1, 0), (3, 2, 1), (4, 3, 2)])
def test_symbolic_sarsa_prompt_and_construction_equal_torch(N, d, seed):
    phi, phi_next, r, w = sarsa_symbols(N, d)
    alpha, gamma = sp.symbols("alpha gamma")
    H = symbolic_sarsa_prompt(phi, phi_next, r, w)
    values = rationals(sorted(H.free_symbols, key=str), seed)
    H_torch = sarsa_prompt(to_np(phi.subs(values)), to_np(phi_next.subs(values)), to_np(r.subs(values))[:, 0],
                           to_np(w.subs(values))[:, 0])
    np.testing.assert_array_equal(to_np(H.subs(values)), H_torch.numpy())
    a, g = sp.Rational(3, 4), sp.Rational(9, 10)
    P, V = symbolic_sarsa_construction(d, alpha, gamma)
    P_t, V_t = sarsa_construction(d, float(a), float(g))
    np.testing.assert_array_equal(to_np(P.subs({alpha: a, gamma: g})), P_t.numpy())
    np.testing.assert_array_equal(to_np(V.subs({alpha: a, gamma: g})), V_t.numpy())
    # exact rational arithmetic through the sympy layer = float64 teacher update
    out = symbolic_sarsa_readout(symbolic_lsa(H.subs(values), P.subs({alpha: a, gamma: g}),
                                              V.subs({alpha: a, gamma: g})))
    assert all(e.is_Rational for e in out)
    ref = batch_sarsa_update(to_np(w.subs(values))[:, 0], to_np(phi.subs(values)), to_np(phi_next.subs(values)),
                             to_np(r.subs(values))[:, 0], float(a), float(g))
    np.testing.assert_allclose(to_np(out)[:, 0], ref.numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("N, dc, da, seed", [(2, 1, 2, 0), (3, 2, 3, 1)])
def test_symbolic_actor_critic_equals_torch(N, dc, da, seed):
    x, xn, r = symbol_matrix("x", N, dc), symbol_matrix("y", N, dc), symbol_vector("r", N)
    psi, w, theta = symbol_matrix("s", N, da), symbol_vector("w", dc), symbol_vector("t", da)
    H = symbolic_actor_critic_prompt(x, xn, r, psi, w, theta)
    v = rationals(sorted(H.free_symbols, key=str), seed)
    num = [to_np(M.subs(v)) for M in (x, xn, r, psi, w, theta)]
    num = [num[0], num[1], num[2][:, 0], num[3], num[4][:, 0], num[5][:, 0]]
    np.testing.assert_array_equal(to_np(H.subs(v)), actor_critic_prompt(*num).numpy())
    a, b, g = sp.Rational(1, 2), sp.Rational(7, 3), sp.Rational(4, 5)
    P, V = symbolic_actor_critic_construction(dc, da, a, b, g)
    P_t, V_t = actor_critic_construction(dc, da, float(a), float(b), float(g))
    np.testing.assert_allclose(to_np(P), P_t.numpy(), rtol=0, atol=1e-15)
    np.testing.assert_allclose(to_np(V), V_t.numpy(), rtol=0, atol=1e-15)
    w_out, th_out = symbolic_actor_critic_readout(symbolic_lsa(H.subs(v), P, V), dc, da)
    w_ref, th_ref = batch_actor_critic_update(num[4], num[5], num[0], num[1], num[2], num[3], float(a), float(b),
                                              float(g))
    np.testing.assert_allclose(to_np(w_out)[:, 0], w_ref.numpy(), atol=1e-12)
    np.testing.assert_allclose(to_np(th_out)[:, 0], th_ref.numpy(), atol=1e-12)


def test_fully_symbolic_sarsa_identity_d2_n3():
    phi, phi_next, r, w = sarsa_symbols(3, 2)
    alpha, gamma = sp.symbols("alpha gamma", positive=True)
    H = symbolic_sarsa_prompt(phi, phi_next, r, w)
    P, V = symbolic_sarsa_construction(2, alpha, gamma)
    target = w + alpha / 3 * sum(((r[t] + gamma * (phi_next[t, :] * w)[0] - (phi[t, :] * w)[0]) * phi[t, :].T
                                  for t in range(3)), sp.zeros(2, 1))
    for mask in (False, True):
        out = symbolic_lsa(H, P, V, mask=mask)
        assert sp.simplify(symbolic_sarsa_readout(out) - target) == sp.zeros(2, 1)
        diff = out - H
        diff[sarsa_layout(2).rows("w"), 3] = sp.zeros(2, 1)
        assert diff == sp.zeros(*H.shape)


@pytest.mark.parametrize("d", [1, 2, 3, 7])
def test_block_layout_matches_numeric_layouts(d):
    ds = sp.Symbol("d", integer=True, positive=True)
    L = block_layout(sarsa_layout, ds)
    assert [(n, s.subs(ds, d)) for n, s in L.blocks] == list(sarsa_layout(d).blocks)
    assert L.n_data_blocks == sarsa_layout(d).n_data_blocks
    dc, da = sp.symbols("d_c d_a", integer=True, positive=True)
    La = block_layout(actor_critic_layout, dc, da)
    assert [(n, s.subs({dc: d, da: d + 2})) for n, s in La.blocks] == list(actor_critic_layout(d, d + 2).blocks)
    assert block_layout(sarsa_layout, 4).blocks == sarsa_layout(4).blocks


def test_block_builders_equal_explicit_builders_for_concrete_sizes():
    d, N = sp.symbols("d N", integer=True, positive=True)
    alpha, gamma = sp.symbols("alpha gamma")
    Phi, Phn, r, w = MatrixSymbol("Phi", d, N), MatrixSymbol("Psi", d, N), MatrixSymbol("r", 1, N), MatrixSymbol("w", d, 1)
    C, h_q = block_sarsa_tokens(Phi, Phn, r, w)
    sizes = {d: 2, N: 3}
    H_block = sp.Matrix.hstack(C.subs(sizes).as_explicit(), h_q.subs(sizes).as_explicit())
    ex = lambda M: M.subs(sizes).as_explicit()  # noqa: E731
    H_explicit = symbolic_sarsa_prompt(ex(Phi).T, ex(Phn).T, ex(r).T, ex(w))
    assert H_block == H_explicit
    P, V = block_sarsa_construction(d, alpha, gamma)
    P2, V2 = symbolic_sarsa_construction(2, alpha, gamma)
    assert P.subs(sizes).as_explicit() == P2 and V.subs(sizes).as_explicit() == V2
    dc, da = sp.symbols("d_c d_a", integer=True, positive=True)
    Pa, Va = block_actor_critic_construction(dc, da, alpha, 2 * alpha, gamma)
    Pa2, Va2 = symbolic_actor_critic_construction(2, 3, alpha, 2 * alpha, gamma)
    assert Pa.subs({dc: 2, da: 3}).as_explicit() == Pa2 and Va.subs({dc: 2, da: 3}).as_explicit() == Va2


@pytest.mark.parametrize("mask", [False, True])
def test_block_theorems_for_general_sizes(mask):
    d, N, dc, da = sp.symbols("d N d_c d_a", integer=True, positive=True)
    alpha, beta, gamma = sp.symbols("alpha beta gamma", positive=True)
    Phi, Phn, r, w = MatrixSymbol("Phi", d, N), MatrixSymbol("Psi", d, N), MatrixSymbol("r", 1, N), MatrixSymbol("w", d, 1)
    C, h_q = block_sarsa_tokens(Phi, Phn, r, w)
    P, V = block_sarsa_construction(d, alpha, gamma)
    out = block_lsa_query_output(C, h_q, P, V, N, mask=mask)
    L = block_layout(sarsa_layout, d)
    target = w + (alpha / N) * Phi * (r.T - Phi.T * w + gamma * Phn.T * w)
    assert is_zero_matrix(block_part(out, L, "w") - target)
    assert is_zero_matrix(block_part(out, L, "one") - Identity(1))
    X, Xn, Sc = MatrixSymbol("X", dc, N), MatrixSymbol("Y", dc, N), MatrixSymbol("S", da, N)
    wc, th = MatrixSymbol("w", dc, 1), MatrixSymbol("theta", da, 1)
    C, h_q = block_actor_critic_tokens(X, Xn, r, Sc, wc, th)
    P, V = block_actor_critic_construction(dc, da, alpha, beta, gamma)
    out = block_lsa_query_output(C, h_q, P, V, N, mask=mask)
    La = block_layout(actor_critic_layout, dc, da)
    delta = r.T - X.T * wc + gamma * Xn.T * wc
    assert is_zero_matrix(block_part(out, La, "w") - (wc + (alpha / N) * X * delta))
    assert is_zero_matrix(block_part(out, La, "theta") - (th + (beta / N) * Sc * delta))


def test_masked_readout_depends_only_on_the_active_blocks():
    d, N = sp.symbols("d N", integer=True, positive=True)
    Phi, Phn, r, w = MatrixSymbol("Phi", d, N), MatrixSymbol("Psi", d, N), MatrixSymbol("r", 1, N), MatrixSymbol("w", d, 1)
    L = block_layout(sarsa_layout, d)
    C, h_q = block_sarsa_tokens(Phi, Phn, r, w)
    general = {}
    for m in "PV":
        general[m] = block_matrix(L, {(a, b): MatrixSymbol(f"{m}__{a}__{b}", sa, sb)
                                      for a, sa in L.blocks for b, sb in L.blocks})
    data = {"phi", "phi_next", "r"}
    out = block_part(block_lsa_query_output(C, h_q, general["P"], general["V"], N, mask=True), L, "w")
    used = {s.name for s in out.atoms(MatrixSymbol) if "__" in s.name}
    assert used == {f"P__{a}__{b}" for a in data for b in ("one", "w")} | {f"V__w__{a}" for a in data}


def test_symbolic_builders_reject_bad_input():
    phi, phi_next, r, w = sarsa_symbols(3, 2)
    with pytest.raises(ValueError, match=named("phi_next")):
        symbolic_sarsa_prompt(phi, phi_next[:2, :], r, w)
    with pytest.raises(ValueError, match=named("rewards")):
        symbolic_sarsa_prompt(phi, phi_next, r[:2, :], w)
    with pytest.raises(ValueError, match=named("w")):
        symbolic_sarsa_prompt(phi, phi_next, r, symbol_vector("w", 3))
    with pytest.raises(ValueError, match=named("d")):
        symbolic_sarsa_construction(0, 1, 0)
    with pytest.raises(ValueError, match=named("H")):
        symbolic_sarsa_readout(sp.zeros(7, 3))
    with pytest.raises(ValueError, match=named("H")):
        symbolic_actor_critic_readout(sp.zeros(8, 3), 1, 1)
    with pytest.raises(ValueError, match=named("d_actor")):
        symbolic_actor_critic_construction(1, 0, 1, 1, 0)
    with pytest.raises(ValueError, match=named("psi")):
        symbolic_actor_critic_prompt(phi, phi, r, symbol_matrix("s", 2, 2), w, w)
    with pytest.raises(ValueError, match=named("entries")):
        symbolic_block_matrix(sarsa_layout(2), {("w", "phi"): sp.eye(3)})
    with pytest.raises(ValueError, match=named("layout_fn")):
        block_layout(lambda n: sarsa_layout(n * n), sp.Symbol("d"))
    L = block_layout(sarsa_layout, sp.Symbol("d"))
    with pytest.raises(ValueError, match=named("name")):
        block_index(L, "theta")
    with pytest.raises(ValueError, match=named("data")):
        block_tokens(L, {"psi": MatrixSymbol("X", 1, 2)}, {}, 2)
    with pytest.raises(ValueError, match=named("column")):
        block_part(MatrixSymbol("X", 3, 1), L, "w")
    with pytest.raises(ValueError, match=named("entries")):
        block_matrix(L, {("w", "nope"): Identity(1)})
