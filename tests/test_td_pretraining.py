"""Multi-task TD pretraining: Boyan tasks vs icrl_lib.mdp, trajectories, loss vs a loop, metrics, training."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from icrl_lib import mdp
from icrl_lib.algorithms import batch_td_update
from icrl_lib.attention import apply_layers
from icrl_lib.constructions import td_construction
from icrl_lib.prompts import td_prompt, td_readout, td_sliding_prompts
from icrl_lib.td_pretraining import (BoyanTasks, TDPretrainingConfig, msve, sample_boyan_tasks,
                                     sample_task_trajectories, td_pretrain, td_pretraining_loss,
                                     td_structure_metrics, value_estimates)
from icrl_lib.transformer import LinearTransformer

F64 = torch.float64


def named(arg: str) -> str:
    return rf"^{re.escape(arg)}\b"


def gen(seed):
    return torch.Generator().manual_seed(seed)


def test_boyan_tasks_follow_the_chain_rules_of_mdp_boyan_chain():
    B, S, d, g = 20, 8, 3, 0.9
    tasks = sample_boyan_tasks(B, S, d, g, gen(0), dtype=F64)
    assert tasks.P.shape == (B, S, S) and tasks.features.shape == (B, S, d) and tasks.P.dtype == F64
    support = mdp.boyan_chain(S, g, seed=0).P != 0                # the sparsity pattern of the generator
    for b in range(B):
        P = tasks.P[b]
        assert torch.equal(P != 0, support)
        i = torch.arange(S - 2)
        p = P[i, i + 1]
        assert bool(((p >= 0.01) & (p <= 0.99)).all()) and torch.allclose(P[i, i + 2], 1 - p)
        assert P[S - 2, S - 1] == 1.0
        ratio = P[S - 1].max() / P[S - 1].min()
        assert float(ratio) <= 0.99 / 0.01
        # exact values and stationary distribution through the independent mdp module
        mrp = mdp.MarkovRewardProcess(P, tasks.r[b], g, tasks.rho0[b])
        assert torch.allclose(tasks.values[b], mdp.mrp_values(mrp), atol=1e-10)
        assert torch.allclose(tasks.stationary[b], mdp.stationary_distribution(P), atol=1e-10)
    assert float(tasks.r.abs().max()) <= 1 and float(tasks.features.abs().max()) <= 1
    assert bool((tasks.rho0 > 0).all()) and torch.allclose(tasks.rho0.sum(-1), torch.ones(B, dtype=F64))
    assert sample_boyan_tasks(2, S, d, g, gen(0)).P.dtype == torch.float32
    again = sample_boyan_tasks(B, S, d, g, gen(0), dtype=F64)
    assert all(torch.equal(a, b) for a, b in zip(tasks, again))


def test_trajectories_follow_P_and_match_its_frequencies():
    one = sample_boyan_tasks(1, 5, 2, 0.9, gen(1), dtype=F64)
    B, T = 4000, 12
    tasks = BoyanTasks(*(t.expand((B,) + t.shape[1:]) for t in one))   # the same chain 4000 times
    states = sample_task_trajectories(tasks, T, gen(2))
    assert states.shape == (B, T) and states.dtype == torch.long
    P = one.P[0]
    assert bool((P[states[:, :-1], states[:, 1:]] > 0).all())          # only along nonzero entries
    counts = torch.zeros(5, 5, dtype=F64)
    counts.index_put_((states[:, :-1].flatten(), states[:, 1:].flatten()), torch.ones(B * (T - 1), dtype=F64),
                      accumulate=True)
    visited = counts.sum(-1) > 2000
    emp = counts[visited] / counts[visited].sum(-1, keepdim=True)
    assert float((emp - P[visited]).abs().max()) < 0.03
    start = torch.bincount(states[:, 0], minlength=5).to(F64) / B
    assert float((start - one.rho0[0]).abs().max()) < 0.03
    assert torch.equal(states, sample_task_trajectories(tasks, T, gen(2)))


def test_pretraining_loss_against_explicit_loop():
    d, n, g = 2, 4, 0.8
    tasks = sample_boyan_tasks(2, 6, d, g, gen(3), dtype=F64)
    states = sample_task_trajectories(tasks, n + 6, gen(4))
    rows = torch.arange(2).unsqueeze(-1)
    Z, qr = td_sliding_prompts(tasks.features[rows, states], tasks.r[rows, states], n, g)
    model = LinearTransformer(2 * d + 1, 2, shared=False, init_gain=0.5, seed=1, dtype=F64)
    loss = td_pretraining_loss(model, Z, qr, g)
    loss.backward()
    grad = model.P.grad.clone()

    model.zero_grad()
    terms = []
    B, W = qr.shape
    for b in range(B):
        for t in range(W - 1):
            v_t = -model(Z[b, t])[-1, -1]
            v_next = -model(Z[b, t + 1])[-1, -1]
            terms.append((qr[b, t] + g * v_next.detach() - v_t) ** 2)
    ref = torch.stack(terms).mean()
    ref.backward()
    assert torch.allclose(loss, ref, atol=1e-13, rtol=1e-12)
    assert torch.allclose(grad, model.P.grad, atol=1e-12, rtol=1e-10)   # semi-gradient: target detached


def test_structure_metrics_of_a_scaled_construction_and_its_sign_flip():
    d, c = 3, 2.5
    P, V = td_construction(d, 1)[0]
    expected = {"v_mass": 1.0, "p_scale": c, "p_rel_error": 0.0, "p_xx": -c, "p_xxn": c}
    for s in (1.0, -1.0):
        m = td_structure_metrics(s * c * P, s * V / c, d)
        assert m.keys() == expected.keys()
        for k, v in expected.items():
            assert math.isclose(m[k], v, abs_tol=1e-12), (s, k, m[k])
    rnd = torch.randn(2, 7, 7, generator=gen(0), dtype=F64)
    m1, m2 = td_structure_metrics(rnd[0], rnd[1], d), td_structure_metrics(-rnd[0], -rnd[1], d)
    assert m1 == pytest.approx(m2, abs=1e-12)
    assert 0 < m1["v_mass"] < 1 and m1["p_rel_error"] > 0.5
    noisy = td_structure_metrics(c * P + 0.01 * rnd[0], V / c, d)
    assert noisy["p_rel_error"] < 0.02 and abs(noisy["p_scale"] - c) < 0.05
    with pytest.raises(ValueError, match=named("P")):
        td_structure_metrics(torch.zeros(5, 5), V, d)
    with pytest.raises(ValueError, match=named("V")):
        td_structure_metrics(P, torch.zeros(2, 7, 7), d)


def test_value_estimates_against_per_state_prompts_and_td():
    d, n, g, S, L = 3, 7, 0.9, 5, 3
    rng = np.random.default_rng(6)
    x, xn, r = rng.normal(size=(2, n, d)), rng.normal(size=(2, n, d)), rng.normal(size=(2, n))
    feats = rng.normal(size=(2, S, d))
    layers = td_construction(d, L, 0.3 * np.eye(d))
    model = lambda Z: apply_layers(Z, layers, mask=True)  # noqa: E731
    context = td_prompt(x, xn, r, np.zeros(d), g)[..., :-1]
    v = value_estimates(model, context, feats)
    assert v.shape == (2, S)
    w = torch.zeros(2, d, dtype=F64)
    for _ in range(L):
        w = batch_td_update(w, x, xn, r, g, C=0.3 * np.eye(d))
    for b in range(2):
        for s in range(S):
            ref = td_readout(model(td_prompt(x[b], xn[b], r[b], feats[b, s], g)))
            assert torch.allclose(v[b, s], ref, atol=1e-13)
            assert math.isclose(float(v[b, s]), float(w[b] @ torch.as_tensor(feats[b, s])), abs_tol=1e-12)
    with pytest.raises(ValueError, match=named("query_features")):
        value_estimates(model, context, rng.normal(size=(S, d + 1)))


def test_msve_against_manual_sum():
    rng = np.random.default_rng(7)
    v_hat, v = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    mu = rng.random(size=(4, 6))
    mu /= mu.sum(-1, keepdims=True)
    ref = [sum(mu[b, s] * (v_hat[b, s] - v[b, s]) ** 2 for s in range(6)) for b in range(4)]
    np.testing.assert_allclose(msve(v_hat, v, mu).numpy(), ref, rtol=1e-12)
    with pytest.raises(ValueError, match=named("weights")):
        msve(v_hat, v, -mu)
    with pytest.raises(ValueError, match=named("v")):
        msve(v_hat, v[:, :5], mu)


def small_config(**kw):
    base = dict(d=2, n_states=5, n=5, n_layers=2, n_steps=30, tasks_per_step=2, windows_per_task=8,
                log_every=10, n_eval_tasks=4, seed=0)
    return TDPretrainingConfig(**{**base, **kw})


def test_td_pretrain_is_deterministic_and_logs_everything():
    a, b = td_pretrain(small_config()), td_pretrain(small_config())
    assert a.history == b.history
    assert a.history["step"] == [10, 20, 30]
    assert all(math.isfinite(v) for v in a.history["loss"] + a.history["eval_msve"])
    assert {"layer0_v_mass", "layer0_p_rel_error", "layer0_p_xx", "layer0_p_xxn", "layer0_p_scale"} <= a.history.keys()
    assert a.model.shared and a.model.P.shape == (1, 5, 5)
    assert td_pretrain(small_config(seed=1)).history["loss"] != a.history["loss"]
    sep = td_pretrain(small_config(shared=False, n_steps=10, grad_clip=None))
    assert "layer1_v_mass" in sep.history and sep.model.P.shape == (2, 5, 5)
    assert sep.as_dict()["config"]["shared"] is False


@pytest.mark.parametrize("kw,name", [({"lr": 0.0}, "lr"), ({"n_states": 2}, "n_states"), ({"gamma": 1.0}, "gamma"),
                                     ({"grad_clip": -1.0}, "grad_clip"), ({"weight_decay": -1e-3}, "weight_decay"),
                                     ({"n": 0}, "n"), ({"seed": -1}, "seed")])
def test_config_rejects_bad_values(kw, name):
    with pytest.raises(ValueError, match=named(name)):
        small_config(**kw)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match=named("config")):
        td_pretrain({"d": 2})
    with pytest.raises(ValueError, match=named("generator")):
        sample_boyan_tasks(2, 5, 2, 0.9, 0)
    with pytest.raises(ValueError, match=named("n_states")):
        sample_boyan_tasks(2, 2, 2, 0.9, gen(0))
    with pytest.raises(ValueError, match=named("length")):
        sample_task_trajectories(sample_boyan_tasks(2, 5, 2, 0.9, gen(0)), 0, gen(0))
