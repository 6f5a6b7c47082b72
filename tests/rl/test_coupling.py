"""Maximal coupling: the split probability equals TV; the marginals are p and q (chapter 10)."""
import torch

from icrl_lib.rl import (LinearBandit, maximal_coupling_sample, regret, run_bandit_coupled, soft_linucb,
                         uniform)
from icrl_lib.rl.sampling import inverse_cdf

F64 = torch.float64


def test_split_probability_is_tv_and_marginals_hold():
    g = torch.Generator().manual_seed(0)
    p = torch.distributions.Dirichlet(torch.ones(4, dtype=F64)).sample((6,))
    q = torch.distributions.Dirichlet(torch.ones(4, dtype=F64)).sample((6,))
    n = 40000
    x, y = maximal_coupling_sample(p.expand(n, 6, 4), q.expand(n, 6, 4), g)
    tv = 0.5 * (p - q).abs().sum(-1)
    split = (x != y).double().mean(0)
    assert float((split - tv).abs().max()) < 4 * 0.5 / n ** 0.5
    for draws, want in ((x, p), (y, q)):
        freq = torch.nn.functional.one_hot(draws, 4).double().mean(0)
        assert float((freq - want).abs().max()) < 4 * 0.5 / n ** 0.5


def test_common_uniform_can_split_always_where_maximal_splits_at_tv():
    p, q = torch.tensor([0.5, 0.5, 0.0], dtype=F64), torch.tensor([0.0, 0.5, 0.5], dtype=F64)
    u = torch.rand(10000, generator=torch.Generator().manual_seed(1), dtype=F64)
    assert bool((inverse_cdf(p.expand(10000, 3), u) != inverse_cdf(q.expand(10000, 3), u)).all())
    x, y = maximal_coupling_sample(p.expand(10000, 3), q.expand(10000, 3), 2)
    assert abs(float((x != y).double().mean()) - 0.5) < 0.03


def test_coupled_run_split_matches_tv_sum():
    bandit = LinearBandit.sample(400, 2, 4, 1.0, 3)
    run = run_bandit_coupled(bandit, soft_linucb(1.0, 1.0, 0.5), uniform(), 5, 4)
    p_split = float((run.split_round < 5).double().mean())
    assert abs(p_split - float(run.tv_common.sum(-1).mean())) < 4 * 0.5 / 400 ** 0.5
    same = run.split_round == 5
    assert torch.equal(run.actions_p[same], run.actions_q[same])
    assert torch.equal(regret(bandit, run.actions_p)[same], regret(bandit, run.actions_q)[same])
