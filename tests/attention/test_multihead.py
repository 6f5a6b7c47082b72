"""Chapter 11: multi-head linear self-attention is the sum of its heads' updates."""
import pytest
import torch

from icrl_lib.attention import linear_self_attention, multihead_lsa

F64 = torch.float64


@pytest.mark.parametrize("mask", [False, True])
def test_sum_of_heads(mask):
    g = torch.Generator().manual_seed(0)
    H = torch.randn(3, 5, 7, generator=g, dtype=F64)
    P, V = torch.randn(2, 5, 5, generator=g, dtype=F64), torch.randn(2, 5, 5, generator=g, dtype=F64)
    expected = H + sum(linear_self_attention(H, P[m], V[m], mask=mask) - H for m in range(2))
    assert torch.allclose(multihead_lsa(H, P, V, mask=mask), expected, atol=1e-12)
    one = multihead_lsa(H, P[:1], V[:1], mask=mask)
    assert torch.allclose(one, linear_self_attention(H, P[0], V[0], mask=mask), atol=1e-12)


def test_bad_shapes():
    H = torch.zeros(5, 4, dtype=F64)
    with pytest.raises(ValueError, match="P and V"):
        multihead_lsa(H, torch.zeros(5, 5), torch.zeros(5, 5))
    with pytest.raises(ValueError, match="P"):
        multihead_lsa(H, torch.zeros(2, 4, 4), torch.zeros(2, 4, 4))
