"""Chapter 11: online tabular SARSA / Q-learning and the MDP families for distribution shift."""
import pytest
import torch

from icrl_lib import rl

F64 = torch.float64


def test_gamma_variates_moments():
    g = torch.Generator().manual_seed(0)
    for c in (0.3, 1.0, 4.0):
        x = rl.gamma_variates((40000,), c, g)
        assert abs(float(x.mean()) - c) < 0.05 * max(c, 1) and abs(float(x.var()) - c) < 0.1 * max(c, 1)
        assert bool((x > 0).all())


def test_dirichlet_mdp_rows_and_concentration():
    sparse = rl.dirichlet_mdp(5, 3, 0.1, n_mdps=50, generator=1)
    dense = rl.dirichlet_mdp(5, 3, 10.0, n_mdps=50, generator=1)
    for m in (sparse, dense):
        assert torch.allclose(m.P.sum(-1), torch.ones((), dtype=F64))
    assert float(sparse.P.max(-1).values.mean()) > float(dense.P.max(-1).values.mean()) + 0.3
    with pytest.raises(ValueError, match="concentration"):
        rl.dirichlet_mdp(5, 3, 0.0)


def test_chain_and_ring():
    c, r = rl.chain_mdp(5, 0.2, n_mdps=2), rl.ring_mdp(5, 0.2, n_mdps=2)
    assert c.P.shape == (2, 5, 3, 5) and torch.allclose(c.P.sum(-1), torch.ones((), dtype=F64))
    assert float(c.P[0, 0, 2, 1]) == pytest.approx(0.8) and float(r.P[0, 0, 0, 4]) == pytest.approx(0.8)
    J_rand, J_star = rl.reference_returns(c)
    assert bool((J_star > J_rand).all())


@pytest.mark.parametrize("method", sorted(rl.ONLINE_METHODS))
def test_online_learners_improve(method):
    mdps = rl.random_mdp(4, 2, n_mdps=30, seed=3)
    res = rl.online_td_control(mdps, 600, 0.1, method, 0.3, 100, generator=0)
    assert res.steps.tolist() == [0, 100, 200, 300, 400, 500, 600]
    assert res.returns.shape == (30, 7) and res.q.shape == (30, 4, 2)
    J_rand, J_star = rl.reference_returns(mdps)
    norm = rl.normalized_return(res.returns[:, -1], J_rand, J_star)
    assert float(norm.mean()) > 0.5


def test_online_q_update_by_hand():
    # one deterministic MDP, one step: q[s, a] moves by alpha * (r + gamma * target - 0)
    P = torch.zeros(1, 2, 1, dtype=F64)
    P[..., 0] = 1.0
    mdp = rl.TabularMDP(P, torch.tensor([[1.0, 2.0]], dtype=F64), 0.9)
    res = rl.online_td_control(mdp, 1, 0.5, "q-learning", 1.0, 1, generator=0)
    assert sorted(res.q.reshape(-1).tolist()) in ([0.0, 0.5], [0.0, 1.0])


def test_online_bad_inputs():
    mdps = rl.random_mdp(3, 2, seed=0)
    with pytest.raises(ValueError, match="method"):
        rl.online_td_control(mdps, 10, 0.1, "td")
    with pytest.raises(ValueError, match="alpha"):
        rl.online_td_control(mdps, 10, 0.0)
