"""[W25]'s TD construction in sympy (icrl_lib.symbolic.rl, chapter 3): the builders equal the torch ones and
the block lemma (one layer = one TD step) holds for general sizes."""
from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp
import torch
from sympy import MatrixSymbol

from icrl_lib.attention import apply_layers
from icrl_lib.incontext import td_construction, td_prompt
from icrl_lib.symbolic import (block_lsa, block_td_construction, block_td_prompt, is_zero_matrix, symbolic_lsa,
                               symbolic_td_construction, symbolic_td_prompt)

F64 = torch.float64


def named(arg: str) -> str:
    return rf"^{re.escape(arg)}\b"


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
