"""icrl_lib.training.block_control (chapter 7) against the code the chapter had and independent computations."""
from __future__ import annotations

import json
from dataclasses import asdict

import pytest
import torch

from icrl_lib import incontext, rl, training
from icrl_lib.experiments import default_config

F64 = torch.float64
DIST = incontext.PromptDistribution(n_states=2, n_actions=2, n_transitions=4)
DIST_AC = incontext.PromptDistribution("actor-critic", n_states=2, n_actions=2, n_transitions=4)


def _noisy_construction(dist, scale=1e-2, seed=0):
    P, V = dist.construction()
    g = torch.Generator().manual_seed(seed)
    return P + scale * torch.randn(P.shape, generator=g, dtype=F64), V + scale * torch.randn(V.shape, generator=g,
                                                                                            dtype=F64)


def test_result_from_record_round_trip_and_refuses_other_config():
    cfg = default_config("sarsa", 0)
    D = cfg.dist.layout.dim
    P, V = torch.eye(D, dtype=F64), 2 * torch.eye(D, dtype=F64)
    record = {"P": P.tolist(), "V": V.tolist(), "history": {"step": [0], "eval_loss": [1.0]},
              "config": json.loads(json.dumps(asdict(cfg)))}
    res = training.result_from_record(record, cfg)
    assert torch.equal(res.P, P) and torch.equal(res.V, V) and res.config == cfg
    with pytest.raises(ValueError, match="config"):
        training.result_from_record(record, default_config("sarsa", 1))


def test_query_pair_norm_zero_for_construction_and_matches_masks():
    for dist in (DIST, DIST_AC):
        P, V = dist.construction()
        assert training.query_pair_norm(P, V, dist) == 0.0
        P2, V2 = _noisy_construction(dist)
        mP, mV = incontext.parameter_roles(dist)["query"]
        expected = float(torch.sqrt((P2[mP] ** 2).sum() + (V2[mV] ** 2).sum()))
        assert training.query_pair_norm(P2, V2, dist) == pytest.approx(expected, rel=1e-12)


def test_one_step_errors_zero_for_construction_and_match_direct_formula():
    batch = incontext.sample_prompt_batch(DIST, 8, torch.Generator().manual_seed(0))
    assert float(training.one_step_errors(*DIST.construction(), batch, DIST).max()) < 1e-10
    P, V = _noisy_construction(DIST)
    out = training.block_readout(P, V, batch.H, DIST.output_rows)
    expected = (out - batch.target).norm(dim=-1) / (batch.target - batch.params).norm(dim=-1)
    assert torch.allclose(training.one_step_errors(P, V, batch, DIST), expected, rtol=0, atol=1e-12)


def test_normalized_control_matches_run_control_and_construction_is_teacher():
    mdps = incontext.held_out_mdps(DIST, 3, seed=0)
    agents = {"construction": incontext.block_agent(*DIST.construction(), DIST), **training.block_and_teacher(
        *_noisy_construction(DIST), DIST)}
    norm = training.normalized_control(mdps, agents, DIST, 3, seed=1, temperature=0.5)
    res = rl.run_control(mdps, agents, incontext.behaviour_policy_fn(DIST, 0.5),
                         torch.zeros(DIST.n_params, dtype=F64), 3, DIST.n_transitions, seed=1,
                         reward_noise=DIST.reward_noise)
    direct = res.normalized(*rl.reference_returns(mdps))
    for name in agents:
        assert torch.equal(norm[name], direct[name])
    assert float((norm["construction"] - norm["teacher"]).abs().max()) < 1e-10
    assert float(norm["teacher"][:, 0].abs().max()) < 1e-12  # round 0: the uniform policy


def test_paired_summary_is_mean_and_ci95_of_final_round():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(10, 4, generator=g, dtype=F64), torch.randn(10, 4, generator=g, dtype=F64)
    s = training.paired_summary({"transformer": x, "teacher": y})
    for got, want in ((s["transformer"], rl.mean_and_ci95(x[:, -1])), (s["difference"],
                                                                      rl.mean_and_ci95(x[:, -1] - y[:, -1]))):
        assert all(torch.allclose(torch.as_tensor(a), torch.as_tensor(b)) for a, b in zip(got, want))


def test_scale_sweep_construction_error_is_zero_and_steps_grow():
    out = training.scale_sweep(*DIST.construction(), DIST, [1.0, 4.0], n_prompts=16)
    assert max(out["block"]) < 1e-10 and max(out["masked"]) < 1e-10
    assert out["step"][1] > out["step"][0]


def test_recording_agent_logs_and_frozen_when_diverged_freezes():
    log = []
    teacher = incontext.teacher_agent(DIST)
    agent = training.recording_agent(teacher, DIST, log)
    mdps = incontext.held_out_mdps(DIST, 2, seed=0)
    training.normalized_control(mdps, {"teacher": agent}, DIST, 2, seed=0)
    assert len(log) == 2 and float(log[0]["eps"].abs().max()) == 0.0
    assert set(log[0]) == {"params_in", "params", "target", "transitions", "eps", "rel", "step", "norm"}

    def blow_up(params, transitions):
        return params + 1e6
    frozen = training.frozen_when_diverged(blow_up, limit=1e3)
    w = torch.ones(2, DIST.n_params, dtype=F64)
    assert torch.equal(frozen(w, None), w)
    small = training.frozen_when_diverged(lambda p, t: p + 1.0, limit=1e3)
    assert torch.equal(small(w, None), w + 1.0)
