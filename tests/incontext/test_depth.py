"""Chapter 11: stacked constructions = repeated teacher updates on one context; random-feature prompts."""
import numpy as np
import pytest
import torch

from icrl_lib import incontext as ic
from icrl_lib import rl
from icrl_lib.attention import apply_layers

F64 = torch.float64


@pytest.mark.parametrize("algorithm", ["sarsa", "actor-critic"])
@pytest.mark.parametrize("mask", [False, True])
def test_stacked_construction_is_repeated_teacher(algorithm, mask):
    dist = ic.PromptDistribution(algorithm=algorithm, n_states=3, n_actions=2, n_transitions=12)
    batch = ic.sample_depth_batch(dist, 16, 4, torch.Generator().manual_seed(0))
    out = apply_layers(batch.H, ic.stacked_construction(dist, 4), mask=mask)[..., dist.output_rows, -1]
    assert float((out - batch.target).abs().max()) < 1e-10


def test_one_step_depth_batch_is_the_prompt_batch():
    dist = ic.PromptDistribution(n_states=3, n_actions=2, n_transitions=10)
    a = ic.sample_prompt_batch(dist, 8, torch.Generator().manual_seed(3))
    b = ic.sample_depth_batch(dist, 8, 1, torch.Generator().manual_seed(3))
    assert torch.equal(a.H, b.H) and torch.equal(a.target, b.target)


def test_sarsa_steps_against_explicit_loop():
    rng = np.random.default_rng(1)
    phi, phi_n, r, w = rng.normal(size=(5, 7, 3)), rng.normal(size=(5, 7, 3)), rng.normal(size=(5, 7)), rng.normal(size=(5, 3))
    w_loop = torch.from_numpy(w)
    for _ in range(3):
        w_loop = rl.batch_sarsa_update(w_loop, phi, phi_n, r, 0.7, 0.9)
    out = ic.sarsa_readout(apply_layers(ic.sarsa_prompt(phi, phi_n, r, w), [ic.sarsa_construction(3, 0.7, 0.9)] * 3))
    assert float((out - w_loop).abs().max()) < 1e-12


@pytest.mark.parametrize("heads", [1, 2])
def test_stack_readout_matches_full_layers(heads):
    from icrl_lib.attention import multihead_lsa
    dist = ic.PromptDistribution(n_states=2, n_actions=2, n_transitions=6)
    H = ic.sample_prompt_batch(dist, 4, torch.Generator().manual_seed(0)).H
    D = dist.layout.dim
    g = torch.Generator().manual_seed(1)
    P = 0.1 * torch.randn(2, heads, D, D, generator=g, dtype=F64)
    V = 0.1 * torch.randn(2, heads, D, D, generator=g, dtype=F64)
    for mask in (False, True):
        ref = H
        for layer in range(2):
            ref = multihead_lsa(ref, P[layer], V[layer], mask=mask)
        out = ic.stack_readout(H, P, V, dist.output_rows, mask)
        assert float((out - ref[..., dist.output_rows, -1]).abs().max()) < 1e-12


def test_agents_agree_in_control():
    dist = ic.PromptDistribution(n_states=3, n_actions=2, n_transitions=10)
    layers = ic.stacked_construction(dist, 3)
    P = torch.stack([p for p, _ in layers])
    V = torch.stack([v for _, v in layers])
    mdps = rl.random_mdp(3, 2, n_mdps=4, seed=2)
    res = rl.run_control(mdps, {"stack": ic.stacked_block_agent(P, V, dist), "teacher": ic.repeated_teacher_agent(dist, 3)},
                         ic.behaviour_policy_fn(dist), torch.zeros(dist.n_params, dtype=F64), 3, 10, seed=0)
    assert float((res.params["stack"] - res.params["teacher"]).abs().max()) < 1e-10


def test_bad_inputs():
    dist = ic.PromptDistribution()
    with pytest.raises(ValueError, match="n_layers"):
        ic.stacked_construction(dist, 0)
    with pytest.raises(ValueError, match="dist"):
        ic.repeated_teacher_agent("sarsa", 2)
    with pytest.raises(ValueError, match="P and V"):
        ic.stacked_block_agent(torch.zeros(2, 3, 3), torch.zeros(2, 3, 3), dist)


def test_feature_prompts_and_agents():
    dist = ic.PromptDistribution(n_states=3, n_actions=2, n_transitions=9)
    batch, tables = ic.feature_prompt_batch(dist, 4, 16, torch.Generator().manual_seed(0))
    assert tables.shape == (16, 3, 2, 4) and batch.H.shape == (16, 3 * 4 + 2, 10)
    P, V = ic.sarsa_construction(4, dist.alpha, dist.gamma)
    assert float((ic.sarsa_readout(apply_layers(batch.H, [(P, V)])) - batch.target).abs().max()) < 1e-12
    table = tables[0]
    mdps = rl.random_mdp(3, 2, n_mdps=5, seed=1)
    res = rl.run_control(mdps, {"block": ic.feature_block_agent(P, V, table),
                                "teacher": ic.feature_teacher_agent(table, dist.alpha, dist.gamma)},
                         ic.feature_policy_fn(table, 0.5), torch.zeros(4, dtype=F64), 3, 9, seed=0)
    assert float((res.params["block"] - res.params["teacher"]).abs().max()) < 1e-10
    assert rl.q_values(torch.ones(4, dtype=F64), table).shape == (3, 2)
