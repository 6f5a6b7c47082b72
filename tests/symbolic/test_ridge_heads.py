"""icrl_lib.symbolic.ridge_heads (chapter 10): the explicit heads are the library's numeric ones."""
import numpy as np
import sympy as sp
from sympy import MatrixSymbol, block_collapse

from icrl_lib.incontext import ridge_gd_construction
from icrl_lib.symbolic import ridge_heads, ridge_token


def test_heads_equal_library_at_d_2():
    num = ridge_gd_construction(2, 0.25, 0.5, 1)[0]
    heads = ridge_heads(2, sp.Rational(1, 4), sp.Rational(1, 2))
    for h, key in enumerate((1, -1, "local")):
        for sym, lib in zip(heads[key], (num.Q[h], num.K[h], num.V[h])):
            assert np.array_equal(np.array(sym.as_explicit(), dtype=float), lib.numpy())


def test_data_head_score_is_the_residual():
    d = sp.Symbol("d", integer=True, positive=True)
    a, q, w = (MatrixSymbol(n, d, 1) for n in "aqw")
    r, i, j = sp.symbols("r i j")
    Q, K, _ = ridge_heads(d, sp.Symbol("eta"), sp.Symbol("lam"))[1]
    hi, hj = ridge_token(a, r, i, q, w), ridge_token(a, r, j, q, w)
    assert block_collapse(hj.T * K.T * Q * hi) == block_collapse(a.T * w - sp.Matrix([[r]]))
