"""icrl_lib.symbolic.blocks: the sympy renderers of block tables agree with the torch renderer, for every
registry entry and for the chapter-2 regression tables, and the general-size renderings prove the GD
constructions for all d and N."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch
from sympy import BlockMatrix, Identity, MatrixSymbol, ZeroMatrix

from icrl_lib.incontext import (ALGORITHMS, Hyperparameters, gd_blocks, gd_param_blocks, param_layout,
                                regression_layout, render_blocks)
from icrl_lib.symbolic import (block_layout, block_lsa, block_lsa_query_output, block_part, block_tokens,
                               is_zero_matrix, render_block_matrices, render_blocks_sympy)


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_symbolic_rendering_of_every_registry_entry_equals_torch(name):
    spec = ALGORITHMS[name]
    alpha, beta, gamma = sp.symbols("alpha beta gamma")
    S, A = 2, 2
    Ps, Vs = render_blocks_sympy(spec.layout(S, A), spec.blocks(S, A, Hyperparameters(alpha, beta, gamma)))
    vals = {alpha: sp.Rational(3, 4), beta: sp.Rational(5, 2), gamma: sp.Rational(9, 10)}
    Pt, Vt = spec.construction(S, A, Hyperparameters(0.75, 2.5, 0.9))
    np.testing.assert_allclose(np.array(Ps.subs(vals).tolist(), dtype=float), Pt.numpy(), atol=1e-15)
    np.testing.assert_allclose(np.array(Vs.subs(vals).tolist(), dtype=float), Vt.numpy(), atol=1e-15)


def test_block_rendering_specialises_to_explicit_rendering():
    d = sp.Symbol("d", integer=True, positive=True)
    G = MatrixSymbol("G", d, d)
    Pb, Vb = render_block_matrices(block_layout(param_layout, d), gd_param_blocks(G))
    Gc = sp.Matrix(2, 2, sp.symbols("g1:5"))
    Pe, Ve = render_blocks_sympy(param_layout(2), gd_param_blocks(Gc))
    assert Pb.subs({d: 2}).as_explicit() == Pe
    assert Vb.subs({d: 2, G: Gc}).as_explicit() == Ve
    # and the explicit rendering equals the torch one on numbers
    Gn = np.array([[1.0, 2.0], [3.0, 4.0]])
    Pt, Vt = render_blocks(param_layout(2), gd_param_blocks(torch.from_numpy(Gn)))
    np.testing.assert_array_equal(np.array(Ve.subs(dict(zip(sp.symbols("g1:5"), Gn.flatten()))).tolist(),
                                           dtype=float), Vt.numpy())
    np.testing.assert_array_equal(np.array(Pe.tolist(), dtype=float), Pt.numpy())


def test_gd_constructions_for_general_sizes():
    d, N = sp.symbols("d N", integer=True, positive=True)
    eta = sp.Symbol("eta", positive=True)
    X, y, xq, w0 = MatrixSymbol("X", d, N), MatrixSymbol("y", 1, N), MatrixSymbol("x_q", d, 1), MatrixSymbol("w", d, 1)
    # prediction layout: one masked layer writes w_1^T x_q into the query's label slot
    P, V = render_block_matrices(block_layout(regression_layout, d), gd_blocks(eta * Identity(d)))
    Z = BlockMatrix([[X, xq], [y, ZeroMatrix(1, 1)]])
    out = block_lsa(Z, P, V, N, mask=True)
    w1 = (eta / N) * X * y.T
    assert is_zero_matrix(out.blocks[1, 1] - w1.T * xq)
    assert not is_zero_matrix(out.blocks[1, 1] - 2 * w1.T * xq)
    # parameter layout: the query's w rows hold w_0 - eta grad L(w_0), with or without the mask
    L = block_layout(param_layout, d)
    P, V = render_block_matrices(L, gd_param_blocks(eta * Identity(d)))
    C, h_q = block_tokens(L, {"x": X, "y": y}, {"one": Identity(1), "w": w0}, N)
    for mask in (False, True):
        q = block_lsa_query_output(C, h_q, P, V, N, mask=mask)
        assert is_zero_matrix(block_part(q, L, "w") - (w0 + (eta / N) * X * (y.T - X.T * w0)))


def test_renderers_reject_bad_tables():
    with pytest.raises(ValueError, match="table keys"):
        render_blocks_sympy(param_layout(2), {("Q", "x", "w"): 1})
    with pytest.raises(ValueError, match="not square"):
        render_blocks_sympy(param_layout(2), {("P", "x", "y"): 1})
    d = sp.Symbol("d", integer=True, positive=True)
    with pytest.raises(ValueError, match="not square"):
        render_block_matrices(block_layout(param_layout, d), {("P", "x", "y"): 1})
