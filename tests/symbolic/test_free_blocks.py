"""icrl_lib.symbolic.free_blocks: the blocks the masked SARSA readout uses (chapter 4, section 4.2)."""
import sympy as sp
from sympy import MatrixSymbol

from icrl_lib import symbolic as sym
from icrl_lib.incontext import sarsa_layout


def test_masked_sarsa_readout_uses_nine_blocks():
    d, N = sp.symbols("d N", integer=True, positive=True)
    L = sym.block_layout(sarsa_layout, d)
    C, h_q = sym.block_sarsa_tokens(MatrixSymbol("Phi", d, N), MatrixSymbol("Phin", d, N),
                                    MatrixSymbol("r", 1, N), MatrixSymbol("w", d, 1))
    general = sym.free_block_matrices(L, {"phi": "phi", "phi_next": "phi'", "r": "r", "one": "1", "w": "w"})
    out = sym.block_lsa_query_output(C, h_q, general["P"], general["V"], N, mask=True)
    used = sym.used_blocks(sym.block_part(out, L, "w"))
    data, param = ("phi", "phi'", "r"), ("1", "w")
    assert used == {f"P[{a},{b}]" for a in data for b in param} | {f"V[w,{b}]" for b in data}
