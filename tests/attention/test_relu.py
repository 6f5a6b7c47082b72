"""ReLU attention of [LBM24] against an explicit double loop over destinations and sources (chapter 10)."""
import numpy as np
import pytest
import torch

from icrl_lib.attention import relu_attention, relu_mlp


def loop_relu_attention(H, Q, K, V, causal):
    D, N = H.shape
    out = H.copy()
    for i in range(N):
        srcs = range(i + 1) if causal else range(N)
        norm = (i + 1) if causal else N
        for m in range(Q.shape[0]):
            for j in srcs:
                w = max(0.0, (Q[m] @ H[:, i]) @ (K[m] @ H[:, j]))
                out[:, i] += w * (V[m] @ H[:, j]) / norm
    return out


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("heads", [1, 3])
def test_matches_loop(causal, heads):
    rng = np.random.default_rng(heads + 10 * causal)
    D, N = 4, 6
    H = rng.normal(size=(D, N))
    Q, K, V = (rng.normal(size=(heads, D, D)) for _ in range(3))
    got = relu_attention(H, Q, K, V, causal=causal).numpy()
    np.testing.assert_allclose(got, loop_relu_attention(H, Q, K, V, causal), atol=1e-12)


def test_single_head_matrix_and_batch():
    g = torch.Generator().manual_seed(0)
    H = torch.randn(5, 3, 7, generator=g, dtype=torch.float64)
    Q, K, V = (torch.randn(3, 3, generator=g, dtype=torch.float64) for _ in range(3))
    out = relu_attention(H, Q, K, V)
    for b in range(5):
        ref = loop_relu_attention(H[b].numpy(), Q[None].numpy(), K[None].numpy(), V[None].numpy(), True)
        np.testing.assert_allclose(out[b].numpy(), ref, atol=1e-12)


def test_causality():
    g = torch.Generator().manual_seed(1)
    H = torch.randn(3, 6, generator=g, dtype=torch.float64)
    Q, K, V = (torch.randn(2, 3, 3, generator=g, dtype=torch.float64) for _ in range(3))
    H2 = H.clone()
    H2[:, 4:] += 1.0
    a, b = relu_attention(H, Q, K, V), relu_attention(H2, Q, K, V)
    assert torch.equal(a[:, :4], b[:, :4])
    assert not torch.allclose(a[:, 4:], b[:, 4:])


def test_mlp():
    rng = np.random.default_rng(0)
    H, W1, W2, b1 = rng.normal(size=(3, 4)), rng.normal(size=(5, 3)), rng.normal(size=(3, 5)), rng.normal(size=5)
    np.testing.assert_allclose(relu_mlp(H, W1, W2, b1).numpy(), H + W2 @ np.maximum(W1 @ H + b1[:, None], 0))


def test_bad_inputs():
    H = torch.zeros(3, 4)
    with pytest.raises(ValueError, match="Q"):
        relu_attention(H, torch.zeros(2, 2), torch.zeros(3, 3), torch.zeros(3, 3))
    with pytest.raises(ValueError, match="heads"):
        relu_attention(H, torch.zeros(2, 3, 3), torch.zeros(3, 3), torch.zeros(3, 3))
    with pytest.raises(ValueError, match="W2"):
        relu_mlp(H, torch.zeros(5, 3), torch.zeros(3, 4))
