"""Bad-input probe of icrl_lib.symbolic (see _probe.py): sympy objects or ints in, ValueError naming the argument
for wrong types, bad sizes and mismatched shapes."""
from __future__ import annotations

import pytest
import sympy as sp
from sympy import BlockMatrix, Identity, MatrixSymbol, ZeroMatrix

from icrl_lib import symbolic as lib
from icrl_lib.incontext import sarsa_blocks, sarsa_layout, td_blocks, td_layout

from ._probe import Case, collect, params, run_case

d, N, n = sp.symbols("d N n", positive=True, integer=True)
a, b, g = sp.symbols("alpha beta gamma")


def _H(D=3, cols=3):
    return lib.symbol_matrix("h", D, cols)


def _lay():
    return sarsa_layout(1)            # (phi: 1, phi_next: 1, r: 1, one: 1, w: 1)


def _blay():
    return lib.block_layout(sarsa_layout, d)


def _bH():
    X, y = MatrixSymbol("X", d, N), MatrixSymbol("y", 1, N)
    xq = MatrixSymbol("x_q", d, 1)
    return BlockMatrix([[X, xq], [y, ZeroMatrix(1, 1)]])


def _bPV():
    P = MatrixSymbol("P", d + 1, d + 1)
    V = MatrixSymbol("V", d + 1, d + 1)
    return P, V


def _C():
    return MatrixSymbol("C", d + 1, N), MatrixSymbol("h_q", d + 1, 1)


def _sarsa_tok():
    return (MatrixSymbol("Phi", d, N), MatrixSymbol("Phi_n", d, N), MatrixSymbol("r", 1, N),
            MatrixSymbol("w", d, 1))


def _ac_tok(dc=d, da=n):
    return (MatrixSymbol("X", dc, N), MatrixSymbol("Xn", dc, N), MatrixSymbol("r", 1, N), MatrixSymbol("Psi", da, N),
            MatrixSymbol("w", dc, 1), MatrixSymbol("theta", da, 1))


def _td_blk(n_ctx=N):
    X, Xn = MatrixSymbol("X", d, n_ctx), MatrixSymbol("Xn", d, n_ctx)
    return X, Xn, MatrixSymbol("R", 1, n_ctx), MatrixSymbol("x_q", d, 1)


def _zero(e):
    return lib.is_zero_matrix(e)


CASES = [
    # ---------------------------------------------------------------- core
    Case("symbol_matrix", "type", lambda: lib.symbol_matrix(1, 2, 2), "name"),
    Case("symbol_matrix", "empty", lambda: lib.symbol_matrix("", 2, 2), "name"),
    Case("symbol_matrix", "range", lambda: lib.symbol_matrix("P", 0, 2), "rows"),
    Case("symbol_matrix", "type", lambda: lib.symbol_matrix("P", 2, 1.5), "cols"),
    Case("symbol_matrix", "overflow", lambda: lib.symbol_matrix("P", 10 ** 6, 10 ** 6), "rows"),
    Case("symbol_matrix", "legit", lambda: lib.symbol_matrix("P", 2, 3), None,
         check=lambda M: M.shape == (2, 3) and str(M[1, 2]) == "P_{2,3}"),
    Case("symbol_vector", "type", lambda: lib.symbol_vector(None, 2), "name"),
    Case("symbol_vector", "range", lambda: lib.symbol_vector("w", 0), "n"),
    Case("symbol_vector", "type", lambda: lib.symbol_vector("w", "3"), "n"),
    Case("symbol_vector", "overflow", lambda: lib.symbol_vector("w", 10 ** 12), "n"),
    Case("symbol_vector", "legit", lambda: lib.symbol_vector("w", 3), None, check=lambda v: v.shape == (3, 1)),
    Case("symbolic_lsa", "type", lambda: lib.symbolic_lsa([[1, 2]], sp.eye(1), sp.eye(1)), "H"),
    Case("symbolic_lsa", "shape", lambda: lib.symbolic_lsa(_H(3, 1), sp.eye(3), sp.eye(3)), "H"),
    Case("symbolic_lsa", "shape", lambda: lib.symbolic_lsa(_H(), sp.eye(2), sp.eye(3)), "P"),
    Case("symbolic_lsa", "shape", lambda: lib.symbolic_lsa(_H(), sp.eye(3), sp.zeros(3, 2)), "V"),
    Case("symbolic_lsa", "type", lambda: lib.symbolic_lsa(_H(), sp.eye(3), sp.eye(3), mask="no"), "mask"),
    Case("symbolic_lsa", "type", lambda: lib.symbolic_lsa(_H(), MatrixSymbol("P", 3, 3), sp.eye(3)), "P"),
    Case("symbolic_lsa", "legit", lambda: lib.symbolic_lsa(_H(), sp.eye(3), sp.zeros(3, 3)), None,
         check=lambda r: r == _H()),
    Case("query_mask", "range", lambda: lib.query_mask(0), "N"),
    Case("query_mask", "type", lambda: lib.query_mask("N"), "N"),
    Case("query_mask", "type", lambda: lib.query_mask(2.5), "N"),
    Case("query_mask", "legit", lambda: lib.query_mask(2), None,
         check=lambda M: M.as_explicit() == sp.diag(1, 1, 0)),
    Case("query_mask", "legit", lambda: lib.query_mask(N), None, check=lambda M: M.shape == (N + 1, N + 1),
         note="symbolic N"),
    Case("block_lsa", "type", lambda: lib.block_lsa(sp.eye(3), *_bPV(), N), "H"),
    Case("block_lsa", "shape", lambda: lib.block_lsa(_bH(), *_bPV(), N + 1), "H"),
    Case("block_lsa", "shape", lambda: lib.block_lsa(_bH(), MatrixSymbol("P", d, d), _bPV()[1], N), "P"),
    Case("block_lsa", "shape", lambda: lib.block_lsa(_bH(), _bPV()[0], MatrixSymbol("V", 2, 2), N), "V"),
    Case("block_lsa", "type", lambda: lib.block_lsa(_bH(), "P", _bPV()[1], N), "P"),
    Case("block_lsa", "range", lambda: lib.block_lsa(_bH(), *_bPV(), 0), "N"),
    Case("block_lsa", "legit", lambda: lib.block_lsa(_bH(), _bPV()[0], ZeroMatrix(d + 1, d + 1), N, mask=True), None,
         check=lambda r: _zero(r - _bH())),
    Case("token_second_moment", "type", lambda: lib.token_second_moment("C", N), "C"),
    Case("token_second_moment", "range", lambda: lib.token_second_moment(_C()[0], 0), "N"),
    Case("token_second_moment", "type", lambda: lib.token_second_moment(_C()[0], "N"), "N"),
    Case("token_second_moment", "legit", lambda: lib.token_second_moment(sp.Matrix([[1, 2]]), 2), None,
         check=lambda r: r == sp.Matrix([[sp.Rational(5, 2)]])),
    Case("block_lsa_query_output", "shape",
         lambda: lib.block_lsa_query_output(_C()[0], MatrixSymbol("h", d, 1), *_bPV(), N), "h_q"),
    Case("block_lsa_query_output", "shape",
         lambda: lib.block_lsa_query_output(*_C(), MatrixSymbol("P", d, d), _bPV()[1], N), "P"),
    Case("block_lsa_query_output", "shape",
         lambda: lib.block_lsa_query_output(MatrixSymbol("C", d + 1, n), _C()[1], *_bPV(), N), "C"),
    Case("block_lsa_query_output", "type", lambda: lib.block_lsa_query_output(*_C(), "P", _bPV()[1], N), "P"),
    Case("block_lsa_query_output", "range", lambda: lib.block_lsa_query_output(*_C(), *_bPV(), 0), "N"),
    Case("block_lsa_query_output", "legit",
         lambda: lib.block_lsa_query_output(*_C(), _bPV()[0], ZeroMatrix(d + 1, d + 1), N), None,
         check=lambda r: _zero(r - _C()[1])),
    Case("collapse", "type", lambda: lib.collapse("x"), "expr"),
    Case("collapse", "type", lambda: lib.collapse([[1, 2]]), "expr"),
    Case("collapse", "legit", lambda: lib.collapse(sp.Matrix([[(a + 1) ** 2]])), None,
         check=lambda r: r[0, 0] == a ** 2 + 2 * a + 1),
    Case("is_zero_matrix", "type", lambda: lib.is_zero_matrix("0"), "expr"),
    Case("is_zero_matrix", "type", lambda: lib.is_zero_matrix([[0]]), "expr"),
    Case("is_zero_matrix", "legit", lambda: (lib.is_zero_matrix(sp.zeros(2, 2)), lib.is_zero_matrix(sp.eye(2))),
         None, check=lambda r: r == (True, False)),
    # ---------------------------------------------------------------- blocks
    Case("as_matrix", "shape", lambda: lib.as_matrix([[1, 2]], "w", (2, 2)), "w"),
    Case("as_matrix", "type", lambda: lib.as_matrix(object(), "w", (1, 1)), "w"),
    Case("as_matrix", "type", lambda: lib.as_matrix([[1, 2], [3]], "w", (2, 2)), "w"),
    Case("as_matrix", "range", lambda: lib.as_matrix([1], "w", (0, 1)), "shape"),
    Case("as_matrix", "type", lambda: lib.as_matrix([1], "w", 1), "shape"),
    Case("as_matrix", "legit", lambda: lib.as_matrix([1, 2], "w", (2, 1)), None,
         check=lambda M: M == sp.Matrix([1, 2])),
    Case("matrix_shape", "empty", lambda: lib.matrix_shape([], "phi"), "phi"),
    Case("matrix_shape", "type", lambda: lib.matrix_shape("abc", "phi"), "phi"),
    Case("matrix_shape", "type", lambda: lib.matrix_shape(object(), "phi"), "phi"),
    Case("matrix_shape", "legit", lambda: lib.matrix_shape([[1, 2, 3]], "phi"), None, check=lambda s: s == (1, 3)),
    Case("check_dim", "range", lambda: lib.check_dim(-1, "d"), "d"),
    Case("check_dim", "type", lambda: lib.check_dim(d, "d"), "d"),
    Case("check_dim", "legit", lambda: lib.check_dim(2, "d"), None, check=lambda r: r == 2),
    Case("symbolic_prompt", "type", lambda: lib.symbolic_prompt("layout", {}, {}, 2), "layout"),
    Case("symbolic_prompt", "shape",
         lambda: lib.symbolic_prompt(_lay(), {"phi": sp.Matrix([[1, 2, 3]])}, {}, 2), "data"),
    Case("symbolic_prompt", "shape", lambda: lib.symbolic_prompt(_lay(), {}, {"w": sp.Matrix([1, 2])}, 2), "params"),
    Case("symbolic_prompt", "range", lambda: lib.symbolic_prompt(_lay(), {"zzz": sp.Matrix([[1], [2]])}, {}, 2),
         "data"),
    Case("symbolic_prompt", "range", lambda: lib.symbolic_prompt(_lay(), {}, {}, 0), "n_context"),
    Case("symbolic_prompt", "type", lambda: lib.symbolic_prompt(_lay(), [1, 2], {}, 2), "data"),
    Case("symbolic_prompt", "type", lambda: lib.symbolic_prompt(_lay(), {"phi": "x"}, {}, 2), "data"),
    Case("symbolic_prompt", "legit",
         lambda: lib.symbolic_prompt(_lay(), {"phi": sp.Matrix([[a], [b]])}, {"one": [1]}, 2), None,
         check=lambda H: H.shape == (5, 3) and H[0, 1] == b and H[3, 2] == 1),
    Case("symbolic_block_matrix", "type", lambda: lib.symbolic_block_matrix(None, {}), "layout"),
    Case("symbolic_block_matrix", "shape",
         lambda: lib.symbolic_block_matrix(_lay(), {("phi", "w"): sp.eye(2)}), "entries"),
    Case("symbolic_block_matrix", "range",
         lambda: lib.symbolic_block_matrix(_lay(), {("phi", "zzz"): sp.eye(1)}), "entries"),
    Case("symbolic_block_matrix", "type", lambda: lib.symbolic_block_matrix(_lay(), {"phi": sp.eye(1)}), "entries"),
    Case("symbolic_block_matrix", "legit",
         lambda: lib.symbolic_block_matrix(_lay(), {("w", "phi"): [[a]]}), None,
         check=lambda M: M.shape == (5, 5) and M[4, 0] == a and sum(M) == a),
    Case("render_blocks_sympy", "type", lambda: lib.render_blocks_sympy(_lay(), {("P", "phi"): 1}), "table"),
    Case("render_blocks_sympy", "range", lambda: lib.render_blocks_sympy(_lay(), {("Q", "phi", "w"): 1}), "table"),
    Case("render_blocks_sympy", "shape",
         lambda: lib.render_blocks_sympy(sarsa_layout(2), {("P", "phi", "one"): 1}), "table"),
    Case("render_blocks_sympy", "type", lambda: lib.render_blocks_sympy(_lay(), [1, 2]), "table"),
    Case("render_blocks_sympy", "type", lambda: lib.render_blocks_sympy("layout", {}), "layout"),
    Case("render_blocks_sympy", "type", lambda: lib.render_blocks_sympy(_lay(), {("P", "phi", "w"): "x y"}),
         "table"),
    Case("render_blocks_sympy", "legit", lambda: lib.render_blocks_sympy(_lay(), sarsa_blocks(a, g)), None,
         check=lambda r: r[1][4, 0] == a and r[0][2, 3] == 1),
    Case("block_layout", "type", lambda: lib.block_layout("sarsa", d), "layout_fn"),
    Case("block_layout", "empty", lambda: lib.block_layout(sarsa_layout), "dims"),
    Case("block_layout", "type", lambda: lib.block_layout(sarsa_layout, "d d"), "dims"),
    Case("block_layout", "range", lambda: lib.block_layout(sarsa_layout, 0), "dims"),
    Case("block_layout", "legit", lambda: _blay(), None, check=lambda L: L.blocks[0] == ("phi", d)),
    Case("block_index", "range", lambda: lib.block_index(_blay(), "zzz"), "name"),
    Case("block_index", "type", lambda: lib.block_index("layout", "w"), "layout"),
    Case("block_index", "legit", lambda: lib.block_index(_blay(), "w"), None, check=lambda i: i == 4),
    Case("block_size", "range", lambda: lib.block_size(_blay(), "zzz"), "name"),
    Case("block_size", "type", lambda: lib.block_size(3, "w"), "layout"),
    Case("block_size", "legit", lambda: lib.block_size(_blay(), "w"), None, check=lambda s: s == d),
    Case("block_tokens", "range", lambda: lib.block_tokens(_blay(), {"zzz": MatrixSymbol("Z", d, N)}, {}, N), "data"),
    Case("block_tokens", "shape", lambda: lib.block_tokens(_blay(), {"phi": MatrixSymbol("Z", d, n)}, {}, N), "data"),
    Case("block_tokens", "shape", lambda: lib.block_tokens(_blay(), {}, {"w": MatrixSymbol("w", d + 1, 1)}, N),
         "params"),
    Case("block_tokens", "type", lambda: lib.block_tokens(_blay(), {"phi": "x"}, {}, N), "data"),
    Case("block_tokens", "type", lambda: lib.block_tokens("layout", {}, {}, N), "layout"),
    Case("block_tokens", "range", lambda: lib.block_tokens(_blay(), {}, {}, 0), "n_context"),
    Case("block_tokens", "legit", lambda: lib.block_tokens(_blay(), *(lambda t: ({"phi": t[0]}, {"w": t[3]}))(
        _sarsa_tok()), N), None, check=lambda r: r[0].shape == (3 * d + 2, N) and r[1].shape == (3 * d + 2, 1)),
    Case("block_matrix", "range", lambda: lib.block_matrix(_blay(), {("w", "zzz"): Identity(d)}), "entries"),
    Case("block_matrix", "shape", lambda: lib.block_matrix(_blay(), {("w", "phi"): Identity(d + 1)}), "entries"),
    Case("block_matrix", "type", lambda: lib.block_matrix(_blay(), {("w", "phi"): 3}), "entries"),
    Case("block_matrix", "type", lambda: lib.block_matrix(_blay(), {"w": Identity(d)}), "entries"),
    Case("block_matrix", "legit", lambda: lib.block_matrix(_blay(), {("w", "phi"): Identity(d)}), None,
         check=lambda M: M.blockshape == (5, 5) and M.blocks[4, 0] == Identity(d)),
    Case("block_part", "type", lambda: lib.block_part(sp.eye(3), _blay(), "w"), "column"),
    Case("block_part", "range", lambda: lib.block_part(lib.block_tokens(_blay(), {}, {}, N)[1], _blay(), "zzz"),
         "name"),
    Case("block_part", "legit",
         lambda: lib.block_part(lib.block_tokens(_blay(), {}, {"w": _sarsa_tok()[3]}, N)[1], _blay(), "w"), None,
         check=lambda r: r == _sarsa_tok()[3]),
    Case("render_block_matrices", "type", lambda: lib.render_block_matrices(_blay(), {("P",): 1}), "table"),
    Case("render_block_matrices", "shape",
         lambda: lib.render_block_matrices(_blay(), {("P", "phi", "one"): 1}), "table"),
    Case("render_block_matrices", "range", lambda: lib.render_block_matrices(_blay(), {("P", "phi", "zzz"): 1}),
         "table"),
    Case("render_block_matrices", "type", lambda: lib.render_block_matrices(_blay(), {("P", "phi", "w"): "x y"}),
         "table"),
    Case("render_block_matrices", "legit", lambda: lib.render_block_matrices(_blay(), sarsa_blocks(a, g)), None,
         check=lambda r: r[1].blocks[4, 0] == a * Identity(d)),
    # ---------------------------------------------------------------- rl: TD
    Case("block_td_prompt", "shape",
         lambda: lib.block_td_prompt(_td_blk()[0], MatrixSymbol("Xn", d, n), *_td_blk()[2:], g), "X_next"),
    Case("block_td_prompt", "shape",
         lambda: lib.block_td_prompt(*_td_blk()[:2], MatrixSymbol("R", 2, N), _td_blk()[3], g), "bottom"),
    Case("block_td_prompt", "shape",
         lambda: lib.block_td_prompt(*_td_blk()[:3], MatrixSymbol("x_q", d + 1, 1), g), "x_q"),
    Case("block_td_prompt", "shape",
         lambda: lib.block_td_prompt(*_td_blk(), g, query_bottom=MatrixSymbol("q", 2, 1)), "query_bottom"),
    Case("block_td_prompt", "type", lambda: lib.block_td_prompt("X", *_td_blk()[1:], g), "X"),
    Case("block_td_prompt", "type", lambda: lib.block_td_prompt(*_td_blk(), "gamma gamma"), "gamma"),
    Case("block_td_prompt", "legit", lambda: lib.block_td_prompt(*_td_blk(), g), None,
         check=lambda H: H.blockshape == (3, 2) and H.shape == (2 * d + 1, N + 1)),
    Case("block_td_construction", "shape", lambda: lib.block_td_construction(d, MatrixSymbol("C", d, d + 1)), "C"),
    Case("block_td_construction", "type", lambda: lib.block_td_construction(d, "C"), "C"),
    Case("block_td_construction", "range", lambda: lib.block_td_construction(0, Identity(1)), "d"),
    Case("block_td_construction", "type", lambda: lib.block_td_construction("d", Identity(1)), "d"),
    Case("block_td_construction", "legit", lambda: lib.block_td_construction(d, MatrixSymbol("C", d, d)), None,
         check=lambda r: r[1].blocks[2, 2] == Identity(1)),
    Case("symbolic_td_prompt", "type",
         lambda: lib.symbolic_td_prompt([[1, 2]], sp.ones(1, 2), sp.ones(1, 2), sp.ones(1, 1), g), "x"),
    Case("symbolic_td_prompt", "shape",
         lambda: lib.symbolic_td_prompt(sp.ones(1, 2), sp.ones(1, 3), sp.ones(1, 2), sp.ones(1, 1), g), "x_next"),
    Case("symbolic_td_prompt", "shape",
         lambda: lib.symbolic_td_prompt(sp.ones(1, 2), sp.ones(1, 2), sp.ones(1, 3), sp.ones(1, 1), g), "r"),
    Case("symbolic_td_prompt", "shape",
         lambda: lib.symbolic_td_prompt(sp.ones(1, 2), sp.ones(1, 2), sp.ones(1, 2), sp.ones(2, 1), g), "x_q"),
    Case("symbolic_td_prompt", "empty",
         lambda: lib.symbolic_td_prompt(sp.zeros(1, 0), sp.zeros(1, 0), sp.zeros(1, 0), sp.ones(1, 1), g), "x"),
    Case("symbolic_td_prompt", "type",
         lambda: lib.symbolic_td_prompt(sp.ones(1, 2), sp.ones(1, 2), sp.ones(1, 2), sp.ones(1, 1), "g g"), "gamma"),
    Case("symbolic_td_prompt", "legit",
         lambda: lib.symbolic_td_prompt(sp.ones(1, 2), sp.ones(1, 2), sp.Matrix([[a, b]]), sp.ones(1, 1), g), None,
         check=lambda H: H.shape == (3, 3) and H[1, 0] == g and H[2, 1] == b and H[2, 2] == 0),
    Case("symbolic_td_construction", "shape", lambda: lib.symbolic_td_construction(sp.ones(1, 2)), "C"),
    Case("symbolic_td_construction", "type", lambda: lib.symbolic_td_construction([[1]]), "C"),
    Case("symbolic_td_construction", "empty", lambda: lib.symbolic_td_construction(sp.zeros(0, 0)), "C"),
    Case("symbolic_td_construction", "legit", lambda: lib.symbolic_td_construction(sp.eye(1)), None,
         check=lambda r: r[0][0, 0] == -1 and r[0][0, 1] == 1 and r[1][2, 2] == 1),
    # ---------------------------------------------------------------- rl: SARSA, actor-critic
    Case("symbolic_sarsa_prompt", "shape", lambda: lib.symbolic_sarsa_prompt([[1]], [[1, 2]], [1], [1]), "phi_next"),
    Case("symbolic_sarsa_prompt", "shape", lambda: lib.symbolic_sarsa_prompt([[1]], [[1]], [1, 2], [1]), "rewards"),
    Case("symbolic_sarsa_prompt", "shape", lambda: lib.symbolic_sarsa_prompt([[1]], [[1]], [1], [1, 2]), "w"),
    Case("symbolic_sarsa_prompt", "empty", lambda: lib.symbolic_sarsa_prompt([], [], [], []), "phi"),
    Case("symbolic_sarsa_prompt", "type", lambda: lib.symbolic_sarsa_prompt(object(), [[1]], [1], [1]), "phi"),
    Case("symbolic_sarsa_prompt", "legit", lambda: lib.symbolic_sarsa_prompt([[a]], [[b]], [g], [1]), None,
         check=lambda H: H[:, 0] == sp.Matrix([a, b, g, 0, 0]) and H[:, 1] == sp.Matrix([0, 0, 0, 1, 1])),
    Case("symbolic_sarsa_readout", "type", lambda: lib.symbolic_sarsa_readout([[1]]), "H"),
    Case("symbolic_sarsa_readout", "shape", lambda: lib.symbolic_sarsa_readout(sp.zeros(4, 3)), "H"),
    Case("symbolic_sarsa_readout", "shape", lambda: lib.symbolic_sarsa_readout(sp.zeros(5, 1)), "H"),
    Case("symbolic_sarsa_readout", "legit", lambda: lib.symbolic_sarsa_readout(_H(5, 2)), None,
         check=lambda w: w == sp.Matrix([_H(5, 2)[4, 1]])),
    Case("symbolic_sarsa_construction", "range", lambda: lib.symbolic_sarsa_construction(0, a, g), "d"),
    Case("symbolic_sarsa_construction", "type", lambda: lib.symbolic_sarsa_construction(d, a, g), "d"),
    Case("symbolic_sarsa_construction", "type", lambda: lib.symbolic_sarsa_construction(1, "a b", g), "alpha"),
    Case("symbolic_sarsa_construction", "type", lambda: lib.symbolic_sarsa_construction(1, a, object()), "gamma"),
    Case("symbolic_sarsa_construction", "overflow", lambda: lib.symbolic_sarsa_construction(10 ** 6, a, g), "d"),
    Case("symbolic_sarsa_construction", "legit", lambda: lib.symbolic_sarsa_construction(1, a, g), None,
         check=lambda r: r[1][4, 0] == a and r[0][1, 4] == g),
    Case("symbolic_actor_critic_prompt", "shape",
         lambda: lib.symbolic_actor_critic_prompt([[1]], [[1]], [1], [[1], [2]], [1], [1]), "psi"),
    Case("symbolic_actor_critic_prompt", "shape",
         lambda: lib.symbolic_actor_critic_prompt([[1]], [[1]], [1], [[1]], [1], [1, 2]), "theta"),
    Case("symbolic_actor_critic_prompt", "shape",
         lambda: lib.symbolic_actor_critic_prompt([[1]], [[1, 2]], [1], [[1]], [1], [1]), "x_next"),
    Case("symbolic_actor_critic_prompt", "empty",
         lambda: lib.symbolic_actor_critic_prompt([[1]], [[1]], [1], [], [1], [1]), "psi"),
    Case("symbolic_actor_critic_prompt", "type",
         lambda: lib.symbolic_actor_critic_prompt("x", [[1]], [1], [[1]], [1], [1]), "x"),
    Case("symbolic_actor_critic_prompt", "legit",
         lambda: lib.symbolic_actor_critic_prompt([[a]], [[b]], [g], [[1, 2]], [3], [4, 5]), None,
         check=lambda H: H.shape[1] == 2 and H[0, 0] == a),
    Case("symbolic_actor_critic_readout", "type", lambda: lib.symbolic_actor_critic_readout([[1]], 1, 1), "H"),
    Case("symbolic_actor_critic_readout", "shape",
         lambda: lib.symbolic_actor_critic_readout(sp.zeros(3, 2), 1, 1), "H"),
    Case("symbolic_actor_critic_readout", "range",
         lambda: lib.symbolic_actor_critic_readout(sp.zeros(3, 2), 0, 1), "d_critic"),
    Case("symbolic_actor_critic_readout", "type",
         lambda: lib.symbolic_actor_critic_readout(sp.zeros(3, 2), 1, 1.0), "d_actor"),
    Case("symbolic_actor_critic_readout", "legit",
         lambda: lib.symbolic_actor_critic_readout(
             lib.symbolic_actor_critic_prompt([[a]], [[b]], [g], [[1, 2]], [3], [4, 5]), 1, 2), None,
         check=lambda r: r[0] == sp.Matrix([3]) and r[1] == sp.Matrix([4, 5])),
    Case("symbolic_actor_critic_construction", "range",
         lambda: lib.symbolic_actor_critic_construction(0, 1, a, b, g), "d_critic"),
    Case("symbolic_actor_critic_construction", "type",
         lambda: lib.symbolic_actor_critic_construction(1, "1", a, b, g), "d_actor"),
    Case("symbolic_actor_critic_construction", "type",
         lambda: lib.symbolic_actor_critic_construction(1, 1, a, [1], g), "beta"),
    Case("symbolic_actor_critic_construction", "legit",
         lambda: lib.symbolic_actor_critic_construction(1, 2, a, b, g), None,
         check=lambda r: a in r[1] and b in r[1]),
    Case("block_sarsa_tokens", "shape",
         lambda: lib.block_sarsa_tokens(_sarsa_tok()[0], MatrixSymbol("Q", d, n), *_sarsa_tok()[2:]), "Phi_next"),
    Case("block_sarsa_tokens", "shape",
         lambda: lib.block_sarsa_tokens(*_sarsa_tok()[:2], MatrixSymbol("r", 2, N), _sarsa_tok()[3]), "r"),
    Case("block_sarsa_tokens", "shape",
         lambda: lib.block_sarsa_tokens(*_sarsa_tok()[:3], MatrixSymbol("w", d, 2)), "w"),
    Case("block_sarsa_tokens", "type", lambda: lib.block_sarsa_tokens("Phi", *_sarsa_tok()[1:]), "Phi"),
    Case("block_sarsa_tokens", "legit", lambda: lib.block_sarsa_tokens(*_sarsa_tok()), None,
         check=lambda r: r[0].shape == (3 * d + 2, N) and r[1].blocks[3, 0] == Identity(1)),
    Case("block_sarsa_construction", "range", lambda: lib.block_sarsa_construction(0, a, g), "d"),
    Case("block_sarsa_construction", "type", lambda: lib.block_sarsa_construction("d", a, g), "d"),
    Case("block_sarsa_construction", "type", lambda: lib.block_sarsa_construction(d, "a b", g), "alpha"),
    Case("block_sarsa_construction", "legit", lambda: lib.block_sarsa_construction(d, a, g), None,
         check=lambda r: r[1].blocks[4, 0] == a * Identity(d)),
    Case("block_actor_critic_tokens", "shape",
         lambda: lib.block_actor_critic_tokens(*_ac_tok()[:3], MatrixSymbol("Psi", n, N + 1), *_ac_tok()[4:]), "Psi"),
    Case("block_actor_critic_tokens", "shape",
         lambda: lib.block_actor_critic_tokens(*_ac_tok()[:5], MatrixSymbol("theta", n + 1, 1)), "theta"),
    Case("block_actor_critic_tokens", "shape",
         lambda: lib.block_actor_critic_tokens(_ac_tok()[0], MatrixSymbol("Xn", n, N), *_ac_tok()[2:]), "X_next"),
    Case("block_actor_critic_tokens", "type", lambda: lib.block_actor_critic_tokens(1, *_ac_tok()[1:]), "X"),
    Case("block_actor_critic_tokens", "legit", lambda: lib.block_actor_critic_tokens(*_ac_tok()), None,
         check=lambda r: r[1].shape == (3 * d + n + 2 + 0 * N, 1) or r[1].shape[1] == 1),
    Case("block_actor_critic_construction", "range",
         lambda: lib.block_actor_critic_construction(d, 0, a, b, g), "d_actor"),
    Case("block_actor_critic_construction", "type",
         lambda: lib.block_actor_critic_construction(1.5, n, a, b, g), "d_critic"),
    Case("block_actor_critic_construction", "type",
         lambda: lib.block_actor_critic_construction(d, n, a, "b b", g), "beta"),
    Case("block_actor_critic_construction", "legit", lambda: lib.block_actor_critic_construction(d, n, a, b, g), None,
         check=lambda r: r[0].blockshape == r[1].blockshape),
]

EXEMPT: dict = {}


CASES, EXEMPT = collect("symbolic", CASES, EXEMPT)  # plus every _cases_symbolic_*.py


@pytest.mark.parametrize("case", params(CASES))
def test_bad_input(case):
    run_case(case)
