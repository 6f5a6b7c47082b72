"""In-context control of a trained block on held-out MDPs (icrl_lib.experiments.held_out_control, chapter 7).

Independent checks: the construction as the trained block gives the teacher's returns exactly (common random
numbers, with and without the mask); the teacher's curve against a hand-written loop over rounds with the
registry's teacher update, rl.sample_transitions and exact returns from rl.policy_evaluation; the summary's
95% intervals against numpy.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from icrl_lib import rl
from icrl_lib.experiments import algorithm_defaults, control_summary, default_config, held_out_control
from icrl_lib.incontext import behaviour_policy_fn, held_out_mdps
from icrl_lib.training import TeacherMimickingResult

F64 = torch.float64


def _result(alg, mask=False, **dist_kw):
    cfg = default_config(alg, 0, mask=mask)
    if dist_kw:
        from dataclasses import replace
        cfg = replace(cfg, dist=replace(cfg.dist, **dist_kw))
    P, V = cfg.dist.construction()
    history = {k: [0.0] for k in ("relative_error_P", "relative_error_V", "inert_norm", "eval_loss", "balance",
                                  "scale")}
    return TeacherMimickingResult(P, V, cfg, history)


@pytest.mark.parametrize("alg", ["sarsa", "actor-critic"])
@pytest.mark.parametrize("mask", [False, True])
def test_the_construction_as_trained_block_is_the_teacher(alg, mask):
    res = _result(alg, mask, n_transitions=15)
    out = held_out_control(res, 4, seed=1, rounds=3)
    assert set(out) == {"transformer", "teacher", "oracle", "random"}
    assert all(v.shape == (4, 4) for v in out.values())
    assert (out["transformer"] - out["teacher"]).abs().max() < 1e-10
    assert out["teacher"][:, 0].abs().max() < 1e-12           # zero parameters: the uniform policy
    assert torch.equal(out["oracle"], torch.ones(4, 4, dtype=F64))
    assert torch.equal(out["random"], torch.zeros(4, 4, dtype=F64))


def test_teacher_curve_against_a_loop_over_rounds():
    res = _result("sarsa", n_transitions=12)
    dist = res.config.dist
    B, K, seed = 3, 4, 2
    out = held_out_control(res, B, seed=seed, rounds=K)
    mdps = held_out_mdps(dist, B, seed)
    tau = algorithm_defaults("sarsa")["control_temperature"]
    policy = behaviour_policy_fn(dist, tau)
    spec, S, A = dist.spec, dist.n_states, dist.n_actions
    gen = torch.Generator().manual_seed(seed)               # run_control: every agent restarts from the seed
    params = torch.zeros(B, dist.n_params, dtype=F64)
    J = []
    for k in range(K + 1):
        pi = policy(params)
        V, _ = rl.policy_evaluation(mdps, pi)
        J.append((mdps.rho0 * V).sum(-1))
        if k < K:
            tr = rl.sample_transitions(mdps, pi, dist.n_transitions, gen, reward_noise=dist.reward_noise)
            data = spec.transition_data(tr, params, S, A, dist)
            params = spec.teacher_update(params, data, tr.r, S, A, dist)
    J = torch.stack(J, -1)
    J_random, J_star = rl.reference_returns(mdps)
    expected = (J - J_random[:, None]) / (J_star - J_random)[:, None]
    assert torch.allclose(out["teacher"], expected, atol=1e-10)


def test_control_summary_means_and_intervals():
    res = _result("sarsa", n_transitions=10)
    normalized = held_out_control(res, 5, seed=0, rounds=2)
    s = control_summary(res, normalized)
    x = normalized["teacher"].numpy()
    assert s["normalized_return"]["teacher"] == pytest.approx(x[:, -1].mean(), abs=1e-14)
    assert s["normalized_return_ci95"]["teacher"] == pytest.approx(1.96 * x[:, -1].std(ddof=1) / np.sqrt(5),
                                                                   abs=1e-14)
    assert s["curves"]["teacher"]["mean"] == pytest.approx(x.mean(0).tolist(), abs=1e-14)
    assert "history" not in s["training"] and s["training"]["relative_error_P"] == 0.0
