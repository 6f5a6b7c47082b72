"""Chapter 4 additions to incontext.manifold: data_moments, span_rank, readout_jacobian."""
import pytest
import torch

from icrl_lib.attention import linear_self_attention
from icrl_lib.incontext import (PromptDistribution, data_moments, readout_jacobian, sample_prompt_batch,
                                sarsa_construction, sarsa_layout, sarsa_prompt, span_rank)

F64 = torch.float64


def _prompts(B=3, N=5, d=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return sarsa_prompt(torch.randn(B, N, d, generator=g, dtype=F64), torch.randn(B, N, d, generator=g, dtype=F64),
                        torch.randn(B, N, generator=g, dtype=F64), torch.randn(B, d, generator=g, dtype=F64))


def test_data_moments_is_the_mean_outer_product_of_the_context_data():
    H = _prompts()
    L = sarsa_layout(2)
    G = data_moments(H, L)
    for b in range(H.shape[0]):
        ref = sum(torch.outer(H[b, :5, t], H[b, :5, t]) for t in range(5)) / 5
        assert torch.allclose(G[b], ref, atol=1e-14)


def test_data_moments_rejects_bad_input():
    with pytest.raises(ValueError, match="layout"):
        data_moments(_prompts(), "sarsa")
    with pytest.raises(ValueError, match="H"):
        data_moments(torch.zeros(3, 7, 4), sarsa_layout(2))


def test_span_rank_counts_independent_matrices():
    e = torch.eye(3, dtype=F64)
    X = torch.stack([torch.outer(e[0], e[1]), torch.outer(e[1], e[2]), torch.outer(e[0], e[1]) * 2 + torch.outer(e[1], e[2])])
    assert span_rank(X) == 2
    assert span_rank(torch.zeros(4, 2, 2)) == 0
    with pytest.raises(ValueError, match="X"):
        span_rank(torch.zeros(0, 3))
    with pytest.raises(ValueError, match="rtol"):
        span_rank(X, rtol=0.0)


@pytest.mark.parametrize("mask", [False, True])
def test_readout_jacobian_matches_finite_differences(mask):
    H = _prompts(B=2, N=4, d=2, seed=1)
    P, V = sarsa_construction(2, 0.7, 0.9)
    g = torch.Generator().manual_seed(3)
    P = P + 0.1 * torch.randn(P.shape, generator=g, dtype=F64)
    V = V + 0.1 * torch.randn(V.shape, generator=g, dtype=F64)
    rows = sarsa_layout(2).rows("w")
    J = readout_jacobian(H, P, V, rows, mask=mask)
    D = P.shape[0]
    assert J.shape == (2 * 2, 2 * D * D)

    def f(theta):
        out = linear_self_attention(H, theta[:D * D].reshape(D, D), theta[D * D:].reshape(D, D), mask=mask)
        return out[:, rows, -1].reshape(-1)
    theta = torch.cat([P.reshape(-1), V.reshape(-1)])
    eps = 1e-6
    J_fd = torch.stack([(f(theta + eps * e) - f(theta - eps * e)) / (2 * eps)
                        for e in torch.eye(theta.numel(), dtype=F64)], dim=1)
    assert torch.allclose(J, J_fd, atol=1e-7)


def test_readout_jacobian_rank_on_one_hot_prompts_is_chapter_4_count():
    dist = PromptDistribution(n_states=2, n_actions=2, n_transitions=20)
    batch = sample_prompt_batch(dist, 40, torch.Generator().manual_seed(0))
    P, V = dist.construction()
    d = 4
    assert span_rank(readout_jacobian(batch.H, P, V, dist.output_rows, mask=True)) == (2 * d + 1) ** 2 - (2 * d + 2)


def test_readout_jacobian_rejects_bad_input():
    H = _prompts()
    P, V = sarsa_construction(2, 0.7, 0.9)
    with pytest.raises(ValueError, match="H"):
        readout_jacobian(H[0], P, V, [6, 7])
    with pytest.raises(ValueError, match="P and V"):
        readout_jacobian(H, P[:3, :3], V, [6, 7])
    with pytest.raises(ValueError, match="rows"):
        readout_jacobian(H, P, V, [99])
