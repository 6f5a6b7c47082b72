"""Bad-input probe of icrl_lib.symbolic.ridge_heads (chapter 10)."""
from __future__ import annotations

import sympy as sp

from icrl_lib import symbolic as lib

from ._probe import Case

d = sp.Symbol("d", integer=True, positive=True)
A, W = sp.MatrixSymbol("a", d, 1), sp.MatrixSymbol("w", d, 1)
B3 = sp.MatrixSymbol("b", 3, 1)

CASES = [
    Case("ridge_heads", "range", lambda: lib.ridge_heads(0, 1, 1), "d"),
    Case("ridge_heads", "type", lambda: lib.ridge_heads(2.5, 1, 1), "d"),
    Case("ridge_heads", "type", lambda: lib.ridge_heads(3, "x y", 1), "eta"),
    Case("ridge_heads", "nonfinite", lambda: lib.ridge_heads(3, 1, sp.oo), "lam"),
    Case("ridge_heads", "legit", lambda: lib.ridge_heads(2, 1, 1), None,
         check=lambda h: set(h) == {1, -1, "local"} and h[1][0].shape == (10, 10)),
    Case("ridge_token", "type", lambda: lib.ridge_token([1, 2], 0, 1, A, W), "a"),
    Case("ridge_token", "shape", lambda: lib.ridge_token(A, 0, 1, B3, W), "q"),
    Case("ridge_token", "nonfinite", lambda: lib.ridge_token(A, sp.nan, 1, A, W), "r"),
    Case("ridge_token", "legit", lambda: lib.ridge_token(A, 1, 2, A, W), None,
         check=lambda t: t.shape == (3 * d + 4, 1)),
]
EXEMPT: dict = {}
