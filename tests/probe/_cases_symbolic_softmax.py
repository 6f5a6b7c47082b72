"""Bad-input probe of icrl_lib.symbolic.softmax_td (chapter 8's fully expanded layer proof)."""
from __future__ import annotations

import sympy as sp

from icrl_lib import symbolic as lib

from ._probe import Case

X = sp.Matrix(1, 3, sp.symbols("x0:3"))
R = list(sp.symbols("R1:3"))
V = list(sp.symbols("v0:3"))
g = sp.Symbol("gamma")

CASES = [
    Case("symbolic_softmax_td_prompt", "type", lambda: lib.symbolic_softmax_td_prompt([[1, 2]], R, V, g), "X"),
    Case("symbolic_softmax_td_prompt", "shape", lambda: lib.symbolic_softmax_td_prompt(X[:, :1], [], V[:1], g), "X"),
    Case("symbolic_softmax_td_prompt", "shape", lambda: lib.symbolic_softmax_td_prompt(X, R[:1], V, g), "rewards"),
    Case("symbolic_softmax_td_prompt", "shape", lambda: lib.symbolic_softmax_td_prompt(X, R, V[:2], g), "values"),
    Case("symbolic_softmax_td_prompt", "type", lambda: lib.symbolic_softmax_td_prompt(X, R, V, "g"), "gamma"),
    Case("symbolic_softmax_td_prompt", "type", lambda: lib.symbolic_softmax_td_prompt(X, R, V, g, "yes"),
         "two_heads"),
    Case("symbolic_softmax_td_prompt", "legit", lambda: lib.symbolic_softmax_td_prompt(X, R, V, g, True), None,
         check=lambda o: o.shape == (5, 3) and o[1, 0] == X[0, 1] and o[3, 0] == g * V[1], note="two heads"),
    Case("symbolic_softmax_attention", "type", lambda: lib.symbolic_softmax_attention("Z", sp.eye(2), sp.eye(2)),
         "Z"),
    Case("symbolic_softmax_attention", "shape",
         lambda: lib.symbolic_softmax_attention(sp.ones(2, 1), sp.eye(2), sp.eye(2)), "Z"),
    Case("symbolic_softmax_attention", "shape",
         lambda: lib.symbolic_softmax_attention(sp.ones(2, 3), sp.eye(3), sp.eye(2)), "A"),
    Case("symbolic_softmax_attention", "shape",
         lambda: lib.symbolic_softmax_attention(sp.ones(2, 3), sp.eye(2), sp.eye(3)), "V"),
    Case("symbolic_softmax_attention", "legit",
         lambda: lib.symbolic_softmax_attention(sp.ones(2, 3), sp.zeros(2, 2), sp.eye(2)), None,
         check=lambda o: o == 2 * sp.ones(2, 3), note="uniform weights"),
]
EXEMPT: dict = {}
