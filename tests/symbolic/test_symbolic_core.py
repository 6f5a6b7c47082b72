"""icrl_lib.symbolic.core (chapter 2): the sympy layer agrees with the torch layer, and the block-matrix
(general-size) formulas agree with the fully expanded ones once the sizes are made concrete."""
from __future__ import annotations

import random

import numpy as np
import pytest
import sympy as sp
from sympy import BlockMatrix, Identity, MatrixSymbol, ZeroMatrix

from icrl_lib.attention import linear_self_attention
from icrl_lib.symbolic import (block_lsa, block_lsa_query_output, collapse, is_zero_matrix, query_mask,
                               symbol_matrix, symbol_vector, symbolic_lsa, token_second_moment)


def _random_rationals(symbols, seed):
    rng = random.Random(seed)
    return {s: sp.Rational(rng.randint(-9, 9), rng.randint(1, 5)) for s in symbols}


def test_symbol_matrix_entries_are_distinct_real_symbols():
    A = symbol_matrix("a", 2, 3)
    assert A.shape == (2, 3)
    assert len(A.free_symbols) == 6 and all(s.is_real for s in A.free_symbols)
    v = symbol_vector("v", 4)
    assert v.shape == (4, 1) and len(v.free_symbols) == 4
    assert symbol_matrix("b", 1, 1, positive=True)[0].is_positive


@pytest.mark.parametrize("args, name", [(("", 2, 2), "name"), (("a", 0, 2), "rows"), (("a", 2, 1.5), "cols")])
def test_symbol_matrix_rejects_bad_input(args, name):
    with pytest.raises(ValueError, match=name):
        symbol_matrix(*args)


@pytest.mark.parametrize("mask", [False, True])
@pytest.mark.parametrize("D, N, seed", [(2, 1, 0), (3, 3, 1), (4, 2, 2)])
def test_symbolic_lsa_equals_torch_lsa_on_rationals(D, N, seed, mask):
    H, P, V = symbol_matrix("h", D, N + 1), symbol_matrix("p", D, D), symbol_matrix("v", D, D)
    out = symbolic_lsa(H, P, V, mask=mask)
    values = _random_rationals(sorted(H.free_symbols | P.free_symbols | V.free_symbols, key=str), seed)
    exact = out.subs(values)
    # exact rational arithmetic on the sympy side, float64 on the torch side
    to_np = lambda M: np.array(M.subs(values).tolist(), dtype=float)  # noqa: E731
    got = linear_self_attention(to_np(H), to_np(P), to_np(V), mask=mask).numpy()
    np.testing.assert_allclose(got, np.array(exact.tolist(), dtype=float), rtol=1e-12, atol=1e-12)
    assert all(e.is_Rational for e in exact)


def test_symbolic_lsa_rejects_bad_input():
    H = symbol_matrix("h", 2, 3)
    with pytest.raises(ValueError, match="P"):
        symbolic_lsa(H, symbol_matrix("p", 3, 3), symbol_matrix("v", 2, 2))
    with pytest.raises(ValueError, match="H"):
        symbolic_lsa(symbol_matrix("h", 2, 1), symbol_matrix("p", 2, 2), symbol_matrix("v", 2, 2))
    with pytest.raises(ValueError, match="V"):
        symbolic_lsa(H, symbol_matrix("p", 2, 2), np.eye(2))


@pytest.mark.parametrize("mask", [False, True])
def test_block_lsa_specialises_to_the_expanded_layer(mask):
    """The general-size block formula, with sizes made concrete, equals symbolic_lsa entry by entry."""
    D, N = sp.symbols("D N", integer=True, positive=True)
    C, hq = MatrixSymbol("C", D, N), MatrixSymbol("h", D, 1)
    P, V = MatrixSymbol("P", D, D), MatrixSymbol("V", D, D)
    general = block_lsa(BlockMatrix([[C, hq]]), P, V, N, mask=mask)
    sizes = {D: 3, N: 2}
    concrete = sp.Matrix(general.subs(sizes).as_explicit())
    Cc, hc = C.subs(sizes).as_explicit(), hq.subs(sizes).as_explicit()
    H = sp.Matrix.hstack(Cc, hc)
    expanded = symbolic_lsa(H, sp.Matrix(P.subs(sizes).as_explicit()), sp.Matrix(V.subs(sizes).as_explicit()),
                            mask=mask)
    assert (concrete - expanded).applyfunc(sp.expand) == sp.zeros(3, 3)
    # and the query column equals the second-moment formula, as a general-size identity
    q = block_lsa_query_output(C, hq, P, V, N, mask=mask)
    assert is_zero_matrix(general.blocks[0, 1] - q)


def test_block_lsa_regression_construction_general_sizes():
    d, N = sp.symbols("d N", integer=True, positive=True)
    eta = sp.Symbol("eta", positive=True)
    X, y, xq = MatrixSymbol("X", d, N), MatrixSymbol("y", 1, N), MatrixSymbol("x_q", d, 1)
    Z = BlockMatrix([[X, xq], [y, ZeroMatrix(1, 1)]])
    P = BlockMatrix([[eta * Identity(d), ZeroMatrix(d, 1)], [ZeroMatrix(1, d), ZeroMatrix(1, 1)]])
    V = BlockMatrix([[ZeroMatrix(d, d), ZeroMatrix(d, 1)], [ZeroMatrix(1, d), Identity(1)]])
    out = block_lsa(Z, P, V, N, mask=True)
    w1 = (eta / N) * X * y.T
    assert is_zero_matrix(out.blocks[1, 1] - w1.T * xq)
    assert not is_zero_matrix(out.blocks[1, 1] - 2 * w1.T * xq)


def test_block_lsa_rejects_bad_partition():
    N = sp.Symbol("N", integer=True, positive=True)
    C = MatrixSymbol("C", 2, N)
    with pytest.raises(ValueError, match="H"):
        block_lsa(C, Identity(2), Identity(2), N)
    with pytest.raises(ValueError, match="column blocks"):
        block_lsa(BlockMatrix([[C, MatrixSymbol("h", 2, 1)]]), Identity(2), Identity(2), N + 1)


def test_token_second_moment_is_mean_outer_product():
    C = symbol_matrix("c", 3, 4)
    G = token_second_moment(C, 4)
    want = sum((C[:, t] * C[:, t].T for t in range(4)), sp.zeros(3, 3)) / 4
    assert (sp.Matrix(G) - want).applyfunc(sp.expand) == sp.zeros(3, 3)


def test_query_mask_and_collapse():
    M = query_mask(3).as_explicit()
    assert M == sp.diag(1, 1, 1, 0)
    A = symbol_matrix("a", 2, 2)
    assert collapse(A * (A + sp.eye(2))) == (A * A + A).applyfunc(sp.expand)


def test_is_zero_matrix_cases():
    x = sp.Symbol("x")
    assert is_zero_matrix(sp.Matrix([[sp.sin(x) ** 2 + sp.cos(x) ** 2 - 1]]))
    assert not is_zero_matrix(sp.Matrix([[x]]))
    assert is_zero_matrix(ZeroMatrix(2, 2))
    A = MatrixSymbol("A", 2, 2)
    assert is_zero_matrix(A * (A + Identity(2)) - A * A - A)
    assert not is_zero_matrix(A)
    with pytest.raises(ValueError, match="expr"):
        is_zero_matrix("A")
