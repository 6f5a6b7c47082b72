"""Bad-input probe of icrl_lib.symbolic.free_blocks (chapters 4-5)."""
from __future__ import annotations

import sympy as sp

from icrl_lib import symbolic as lib
from icrl_lib.incontext import sarsa_layout

from ._probe import Case

L2 = sarsa_layout(2)

CASES = [
    Case("free_block_matrices", "type", lambda: lib.free_block_matrices("sarsa"), "layout"),
    Case("free_block_matrices", "range", lambda: lib.free_block_matrices(L2, {"phi": "phi"}), "short"),
    Case("free_block_matrices", "legit", lambda: lib.free_block_matrices(L2), None,
         check=lambda g: g["P"].shape == (8, 8) and g["V"].shape == (8, 8), note="default names"),
    Case("used_blocks", "empty", lambda: lib.used_blocks(), "exprs"),
    Case("used_blocks", "type", lambda: lib.used_blocks([1, 2]), "exprs"),
    Case("used_blocks", "legit", lambda: lib.used_blocks(sp.MatrixSymbol("P[a,b]", 2, 2)), None,
         check=lambda s: s == {"P[a,b]"}, note="one block"),
]
EXEMPT: dict = {}
