"""The registry icrl_lib.incontext.ALGORITHMS: every entry is self-consistent.

Independent checks: for every entry, on random (generic, not one-hot) data blocks, the construction's
readout equals the entry's teacher update in float64 to 1e-10; the one-hot null patterns annihilate every
context token of sampled one-hot prompts and leave the readout unchanged; the generic parts (prompt,
readout, output rows, parameter split) agree with the entry's layout; unknown names raise ValueError.
"""
from __future__ import annotations

import pytest
import torch

from icrl_lib.attention import linear_self_attention
from icrl_lib.incontext import (ALGORITHMS, Hyperparameters, InContextAlgorithm, PromptDistribution, get_algorithm,
                                sample_prompt_batch)
from icrl_lib.rl import random_mdp, sample_transitions

F64 = torch.float64
NAMES = sorted(ALGORITHMS)
SIZES = [(2, 2), (3, 2), (4, 3)]
HP = Hyperparameters(alpha=0.7, beta=2.5, gamma=0.9, temperature=0.8)


def random_data(spec, S, A, B, N, gen):
    """Gaussian data blocks of the right sizes (the identity must hold for any data, not only one-hot)."""
    L = spec.layout(S, A)
    data = {n: torch.randn(B, N, L.size(n), generator=gen, dtype=F64) for n in L.data_names if n != "r"}
    rewards = torch.randn(B, N, generator=gen, dtype=F64)
    params = torch.randn(B, spec.n_params(S, A), generator=gen, dtype=F64)
    return data, rewards, params


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("S, A", SIZES)
@pytest.mark.parametrize("mask", [False, True])
def test_construction_reproduces_teacher_update_on_random_prompts(name, S, A, mask):
    spec = ALGORITHMS[name]
    gen = torch.Generator().manual_seed(S * 10 + A)
    data, rewards, params = random_data(spec, S, A, 8, 7, gen)
    H = spec.prompt(data, rewards, params, S, A)
    P, V = spec.construction(S, A, HP)
    out = spec.readout(linear_self_attention(H, P, V, mask=mask), S, A)
    target = spec.teacher_update(params, data, rewards, S, A, HP)
    assert out.shape == target.shape == params.shape
    assert float((out - target).abs().max()) < 1e-10
    # the readout of the unprocessed prompt is the current parameters
    assert torch.equal(spec.readout(H, S, A), params)


@pytest.mark.parametrize("name", NAMES)
def test_construction_equals_rendered_block_table(name):
    from icrl_lib.incontext import render_blocks
    spec = ALGORITHMS[name]
    P, V = spec.construction(3, 2, HP)
    P2, V2 = render_blocks(spec.layout(3, 2), spec.blocks(3, 2, HP))
    assert torch.equal(P, P2) and torch.equal(V, V2)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("S, A", SIZES)
def test_teacher_on_sampled_transitions_equals_construction(name, S, A):
    """Through the feature builder: real transitions of random MDPs under the behaviour policy."""
    spec = ALGORITHMS[name]
    gen = torch.Generator().manual_seed(1)
    mdps = random_mdp(S, A, HP.gamma, n_mdps=6, generator=gen)
    params = spec.sample_parameters(6, S, A, {"w": 1.0, "theta": 1.0}, gen)
    pi = spec.behaviour_policy(params, S, A, HP.temperature)
    assert pi.shape == (6, S, A) and torch.allclose(pi.sum(-1), torch.ones(6, S, dtype=F64))
    T = sample_transitions(mdps, pi, 9, gen)
    data = spec.transition_data(T, params, S, A, HP)
    L = spec.layout(S, A)
    assert set(data) == set(L.data_names) - {"r"}
    H = spec.prompt(data, T.r, params, S, A)
    P, V = spec.construction(S, A, HP)
    out = spec.readout(linear_self_attention(H, P, V), S, A)
    assert float((out - spec.teacher_update(params, data, T.r, S, A, HP)).abs().max()) < 1e-10


@pytest.mark.parametrize("name", NAMES)
def test_null_patterns_vanish_on_one_hot_tokens_and_leave_the_readout_unchanged(name):
    dist = PromptDistribution(algorithm=name, n_states=3, n_actions=2, n_transitions=12)
    spec, S, A = dist.spec, dist.n_states, dist.n_actions
    batch = sample_prompt_batch(dist, 16, torch.Generator().manual_seed(2))
    L = spec.layout(S, A)
    patterns = spec.null_patterns(S, A)
    assert len(patterns) >= 1
    ctx = batch.H[..., L.data, :-1]                                      # (B, n_data, N)
    P, V = spec.construction(S, A, dist)
    base = spec.readout(linear_self_attention(batch.H, P, V), S, A)
    gen = torch.Generator().manual_seed(3)
    rows = spec.output_rows(S, A)
    for p in patterns:
        assert p.shape == (L.data.stop,)
        assert float(torch.einsum("d,bdn->bn", p, ctx).abs().max()) < 1e-12
        P2, V2 = P.clone(), V.clone()
        P2[L.data, L.param] += torch.outer(p, torch.randn(L.dim - L.data.stop, generator=gen, dtype=F64))
        V2[rows.unsqueeze(-1), torch.arange(L.data.stop)] += torch.outer(
            torch.randn(len(rows), generator=gen, dtype=F64), p)
        for mask in (False, True):
            out = spec.readout(linear_self_attention(batch.H, P2, V2, mask=mask), S, A)
            assert float((out - base).abs().max()) < 1e-10


@pytest.mark.parametrize("name", NAMES)
def test_generic_parts_agree_with_the_layout(name):
    spec = get_algorithm(name)
    assert isinstance(spec, InContextAlgorithm) and spec.name == name and get_algorithm(spec) is spec
    S, A = 3, 2
    L = spec.layout(S, A)
    rows = spec.output_rows(S, A)
    assert L.names[L.n_data_blocks] == "one" and "r" in L.data_names
    assert list(spec.output_blocks) == [n for n in L.param_names if n != "one"]
    assert len(rows) == spec.n_params(S, A) == sum(L.size(n) for n in spec.output_blocks)
    assert rows.tolist() == list(range(L.rows("one").stop, L.dim))
    params = torch.arange(spec.n_params(S, A), dtype=F64)
    parts = spec.split_params(params, S, A)
    assert torch.equal(torch.cat([parts[n] for n in spec.output_blocks]), params)
    gen = torch.Generator().manual_seed(0)
    draws = spec.sample_parameters(4000, S, A, {"w": 2.0, "theta": 0.5}, gen)
    assert draws.shape == (4000, spec.n_params(S, A))
    start = 0
    for n in spec.output_blocks:
        k = L.size(n)
        want = 2.0 if n == "w" else 0.5
        assert abs(float(draws[:, start:start + k].std()) - want) < 0.05 * want
        start += k
    zero = spec.sample_parameters(3, S, A, {"w": 0.0, "theta": 0.0}, gen)
    assert torch.all(zero == 0)


def test_unknown_name_and_bad_arguments_raise():
    with pytest.raises(ValueError, match="algorithm must be one of"):
        get_algorithm("q-learning")
    with pytest.raises(ValueError, match="algorithm"):
        get_algorithm(3)
    with pytest.raises(ValueError, match="algorithm"):
        PromptDistribution(algorithm="td")
    spec = ALGORITHMS["sarsa"]
    with pytest.raises(ValueError, match="params"):
        spec.split_params(torch.zeros(5), 3, 2)
    with pytest.raises(ValueError, match="scales"):
        spec.sample_parameters(2, 3, 2, {}, torch.Generator())
    with pytest.raises(ValueError, match="generator"):
        spec.sample_parameters(2, 3, 2, {"w": 1.0}, "0")  # an int seed is accepted
    with pytest.raises(ValueError, match="n_states"):
        spec.layout(0, 2)
    with pytest.raises(ValueError, match="alpha"):
        spec.construction(2, 2, Hyperparameters(alpha=0.0))
    with pytest.raises(ValueError, match="beta"):
        ALGORITHMS["actor-critic"].construction(2, 2, Hyperparameters(beta=-1.0))


def test_a_new_algorithm_is_one_subclass_and_one_registry_line(monkeypatch):
    """A toy entry (SARSA with a halved step) plugs into the prompt distribution without touching tasks.py."""
    from icrl_lib.incontext import SarsaAlgorithm, registry

    class HalfSarsa(SarsaAlgorithm):
        name = "half-sarsa"

        def blocks(self, n_states, n_actions, hp):
            return super().blocks(n_states, n_actions, hp._replace(alpha=hp.alpha / 2)
                                  if hasattr(hp, "_replace") else Hyperparameters(hp.alpha / 2, hp.beta, hp.gamma))

        def construction(self, n_states, n_actions, hp, dtype=F64):
            from icrl_lib.incontext import render_blocks
            return render_blocks(self.layout(n_states, n_actions), self.blocks(n_states, n_actions, hp), dtype)

        def teacher_update(self, params, data, rewards, n_states, n_actions, hp):
            return super().teacher_update(params, data, rewards, n_states, n_actions,
                                          Hyperparameters(hp.alpha / 2, hp.beta, hp.gamma))

    monkeypatch.setitem(registry.ALGORITHMS, "half-sarsa", HalfSarsa())
    dist = PromptDistribution(algorithm="half-sarsa", n_states=3, n_actions=2, n_transitions=5)
    batch = sample_prompt_batch(dist, 4, torch.Generator().manual_seed(0))
    P, V = dist.construction()
    out = linear_self_attention(batch.H, P, V)[..., dist.output_rows, -1]
    assert float((out - batch.target).abs().max()) < 1e-12
