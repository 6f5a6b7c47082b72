"""The sympy softmax layer and prompt (chapter 8) against the numeric library at random values."""
import sympy as sp
import torch

from icrl_lib.attention import softmax_attention
from icrl_lib.incontext import softmax_td_prompt
from icrl_lib.symbolic import symbolic_softmax_attention, symbolic_softmax_td_prompt

F = torch.float64


def test_prompt_and_layer_match_the_numeric_ones():
    g = torch.Generator().manual_seed(0)
    x, r, v = torch.randn(4, 2, generator=g, dtype=F), torch.randn(3, generator=g, dtype=F), \
        torch.randn(4, generator=g, dtype=F)
    Z = symbolic_softmax_td_prompt(sp.Matrix(x.T.tolist()), r.tolist(), v.tolist(), 0.9)
    Zn = softmax_td_prompt(x, r, gamma=0.9, v0=v)
    assert torch.allclose(torch.tensor(sp.N(Z).tolist(), dtype=F), Zn, atol=1e-12)
    A = torch.randn(5, 5, generator=g, dtype=F) / 3
    V = torch.randn(5, 5, generator=g, dtype=F)
    out = symbolic_softmax_attention(Z, sp.Matrix(A.tolist()), sp.Matrix(V.tolist()))
    want = softmax_attention(Zn, A, V)
    assert torch.allclose(torch.tensor(sp.N(out).tolist(), dtype=F), want, atol=1e-10)
