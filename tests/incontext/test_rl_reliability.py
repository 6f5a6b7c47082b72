"""Reliability of the RL half of icrl_lib.incontext: named batch errors, no silent NaN, memory refusal, int seeds."""
from __future__ import annotations

import pytest
import torch

from icrl_lib import incontext as ic

F64 = torch.float64


def test_softmax_td_prompt_names_mismatched_batches():
    with pytest.raises(ValueError, match="features.*rewards"):
        ic.softmax_td_prompt(torch.zeros(2, 5, 2, dtype=F64), torch.zeros(3, 4, dtype=F64))
    with pytest.raises(ValueError, match="v0"):
        ic.softmax_td_prompt(torch.zeros(2, 5, 2, dtype=F64), torch.zeros(4, dtype=F64), 0.9,
                             torch.zeros(3, 5, dtype=F64))
    # broadcasting batches still work
    Z = ic.softmax_td_prompt(torch.zeros(2, 1, 5, 2, dtype=F64), torch.zeros(3, 4, dtype=F64))
    assert Z.shape == (2, 3, 5, 5)


def test_softmax_td_forward_refuses_divergence_and_overflow():
    g = torch.Generator().manual_seed(0)
    x, r = torch.randn(5, 2, generator=g, dtype=F64), torch.ones(4, dtype=F64)
    with pytest.raises(ValueError, match="alpha or n_layers"):
        ic.softmax_td_forward(ic.softmax_td_prompt(x, r), 150, 0.9, 1e3)
    with pytest.raises(ValueError, match="features"):
        ic.softmax_td_forward(ic.softmax_td_prompt(1e200 * x, r), 1, 0.9, 0.5)


def test_softmax_td_forward_refuses_quadratic_memory():
    Z = torch.zeros(1, 5, 1, dtype=F64).expand(3, 5, 40000)
    with pytest.raises(ValueError, match="Z is too large.*GiB"):
        ic.softmax_td_forward(Z, 1, 0.9, 0.5)


def test_random_functions_accept_int_seeds():
    dist = ic.PromptDistribution(n_states=2, n_actions=2, n_transitions=3)
    a = ic.sample_prompt_batch(dist, 2, 7)
    b = ic.sample_prompt_batch(dist, 2, torch.Generator().manual_seed(7))
    assert torch.equal(a.H, b.H) and torch.equal(a.target, b.target)
    assert torch.equal(ic.sample_mdps(dist, 2, 3).P, ic.sample_mdps(dist, 2, torch.Generator().manual_seed(3)).P)
    assert torch.equal(ic.sample_parameters(dist, 2, 1), ic.sample_parameters(dist, 2, torch.Generator().manual_seed(1)))
    mdps = ic.sample_mdps(dist, 2, 0)
    c = ic.build_prompt_batch(dist, mdps, torch.zeros(2, 4, dtype=F64), 5)
    d = ic.build_prompt_batch(dist, mdps, torch.zeros(2, 4, dtype=F64), torch.Generator().manual_seed(5))
    assert torch.equal(c.H, d.H)


def test_teacher_overflow_is_refused():
    dist = ic.PromptDistribution(n_states=2, n_actions=2, n_transitions=3, alpha=1e300)
    with pytest.raises(ValueError, match="alpha"):
        ic.build_prompt_batch(dist, ic.sample_mdps(dist, 2, 0), 1e10 * torch.ones(2, 4, dtype=F64), 0)
