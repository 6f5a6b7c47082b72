"""The one Dirichlet sampler: moments, and the random MDPs that draw with it."""
from __future__ import annotations

import torch

from icrl_lib import rl


def test_dirichlet_moments():
    for c in (0.3, 1.0, 4.0):
        x = rl.dirichlet((40000, 3), c, 0)
        # E x_i = 1/K, Var x_i = (K - 1) / (K^2 (K c + 1))
        assert torch.allclose(x.mean(0), torch.full((3,), 1 / 3, dtype=x.dtype), atol=0.01)
        assert abs(float(x[:, 0].var()) / (2 / (9 * (3 * c + 1))) - 1) < 0.05


def test_random_mdp_draws_are_normalised_exponentials():
    # random_mdp's kernel is dirichlet(c = 1): the Exp(1) = -log(1 - U) draws of chapter 1, then the rewards
    g = torch.Generator().manual_seed(5)
    e = -torch.log1p(-torch.rand(2, 3, 2, generator=g, dtype=torch.float64))
    r = torch.rand(2, 3, generator=g, dtype=torch.float64)
    mdp = rl.random_mdp(2, 3, generator=5)
    assert torch.equal(mdp.P, e / e.sum(-1, keepdim=True)) and torch.equal(mdp.r, r)
