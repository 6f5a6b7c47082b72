"""The [X26] softmax layer and SoftmaxTransformer (chapter 8)."""
import pytest
import torch

from icrl_lib.attention import SoftmaxTransformer, column_shift, softmax_attention

F64 = torch.float64


def loop_layer(Z, A, V):
    D, cols = Z.shape
    out = Z.clone()
    for j in range(cols):
        logits = torch.stack([Z[:, i] @ A @ Z[:, j] for i in range(cols - 1)])
        w = torch.exp(logits - logits.max())
        w = w / w.sum()
        out[:, j] += sum(w[i] * (V @ Z[:, i]) for i in range(cols - 1))
    return out


def test_matches_loop_and_masks_the_query():
    g = torch.Generator().manual_seed(0)
    Z = torch.randn(4, 6, generator=g, dtype=F64)
    A, V = torch.randn(4, 4, generator=g, dtype=F64), torch.randn(4, 4, generator=g, dtype=F64)
    out = softmax_attention(Z, A, V)
    assert torch.allclose(out, loop_layer(Z, A, V), atol=1e-12)
    Z2 = Z.clone()
    Z2[:, -1] += 5.0                                   # the query is never a source: other columns unchanged
    assert torch.allclose(softmax_attention(Z2, A, V)[:, :-1], out[:, :-1], atol=1e-12)


def test_stable_at_large_logits_and_batched():
    g = torch.Generator().manual_seed(1)
    Z = torch.randn(3, 4, 7, generator=g, dtype=F64) * 30
    out = softmax_attention(Z, torch.eye(4) * 10, torch.eye(4))     # logits up to ~1e4
    assert torch.isfinite(out).all()
    for b in range(3):
        assert torch.allclose(out[b], softmax_attention(Z[b], torch.eye(4) * 10, torch.eye(4)), atol=1e-9)
    # at logit 1e3 the softmax is the hard max: the destination reads its best source only
    x = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]], dtype=F64)
    Zs = torch.cat([x * 1e3 ** 0.5, torch.tensor([[1.0, 2.0, 0.0]], dtype=F64)])
    V = torch.zeros(3, 3, dtype=F64)
    V[2, 2] = 1.0
    A = torch.diag(torch.tensor([1.0, 1.0, 0.0], dtype=F64))
    assert torch.allclose(softmax_attention(Zs, A, V)[2], torch.tensor([2.0, 4.0, 1.0], dtype=F64))


def test_transformer_heads_shift_and_masks():
    g = torch.Generator().manual_seed(2)
    Z = torch.randn(5, 6, generator=g, dtype=F64)
    heads = [(torch.randn(5, 5, generator=g, dtype=F64), torch.randn(5, 5, generator=g, dtype=F64) * 0.1)
             for _ in range(2)]
    model = SoftmaxTransformer.from_heads(heads, 2, shift=(4, 3, 0.5))
    want = Z
    for _ in range(2):
        upd = sum(softmax_attention(want, A, V) - want for A, V in heads)
        want = column_shift(want + upd, 4, 3, 0.5)
    assert torch.allclose(model(Z), want, atol=1e-12)
    allz = model(Z, return_all=True)
    assert allz.shape == (3, 5, 6) and torch.allclose(allz[0], Z)
    mask = torch.zeros(5, 5)
    mask[0, 0] = 1
    m = SoftmaxTransformer(5, 3, shared=False, param_masks={"A": mask}, generator=3)
    loss = m(Z.float()).sum()
    loss.backward()
    assert float((m.A.grad * (1 - mask)).abs().max()) == 0.0
    assert m.A.shape == (3, 1, 5, 5)


def test_column_shift():
    Z = torch.arange(12, dtype=F64).reshape(3, 4)
    out = column_shift(Z, 2, 0, 2.0)
    assert torch.equal(out[0], torch.tensor([18.0, 20.0, 22.0, 0.0], dtype=F64))
    assert torch.equal(out[1:], Z[1:])


def test_bad_input():
    with pytest.raises(ValueError, match="^Z"):
        softmax_attention(torch.zeros(3, 1), torch.eye(3), torch.eye(3))
    with pytest.raises(ValueError, match="^A"):
        softmax_attention(torch.zeros(3, 4), torch.eye(2), torch.eye(3))
    with pytest.raises(ValueError, match="^V"):
        softmax_attention(torch.zeros(3, 4), torch.eye(3), torch.eye(4))
    with pytest.raises(ValueError, match="^shift"):
        SoftmaxTransformer(3, 1, shift=(0, 1))
    with pytest.raises(ValueError, match="^param_masks"):
        SoftmaxTransformer(3, 1, param_masks={"P": torch.ones(3, 3)})
    with pytest.raises(ValueError, match="^Z"):
        SoftmaxTransformer(3, 1)(torch.zeros(4, 5))
