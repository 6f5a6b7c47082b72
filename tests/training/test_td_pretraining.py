"""Multi-task TD pretraining (chapter 3): Boyan tasks against independent numpy checks, trajectories, the
window moments against the window prompts, the moment form of the transformer against ``model(Z)`` and batch TD,
the loss against an explicit loop, structure metrics, value estimates, MSVE and training runs."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from icrl_lib.attention import LinearTransformer, apply_layers
from icrl_lib.incontext import td_construction, td_prompt, td_readout, td_sliding_prompts
from icrl_lib.rl import MarkovRewardProcess, batch_td_update
from icrl_lib.training import (BoyanTasks, TDPretrainingConfig, WindowMoments, boyan_task_values, moment_td_loss,
                               msve, sample_boyan_tasks, task_trajectories, td_pretrain, td_pretraining_loss,
                               td_structure_metrics, value_estimates, values_from_moments, window_moments)

F64 = torch.float64


def named(arg: str) -> str:
    return rf"^{re.escape(arg)}\b"


def gen(seed):
    return torch.Generator().manual_seed(seed)


def _same_chain(one: BoyanTasks, B: int) -> BoyanTasks:
    m = one.mrp
    mrp = MarkovRewardProcess(m.P.expand(B, -1, -1), m.r.expand(B, -1), m.gamma, m.rho0.expand(B, -1))
    return BoyanTasks(mrp, one.features.expand(B, -1, -1))


def test_boyan_tasks_follow_the_chain_rules_and_their_values_are_exact():
    B, S, d, g = 20, 8, 3, 0.9
    tasks = sample_boyan_tasks(B, S, d, g, gen(0))
    P, r, rho0 = tasks.mrp.P, tasks.mrp.r, tasks.mrp.rho0
    assert P.shape == (B, S, S) and tasks.features.shape == (B, S, d) and tasks.features.dtype == F64
    values, stationary = boyan_task_values(tasks)
    i = np.arange(S - 2)
    for b in range(B):
        Pb = P[b].numpy()
        support = np.zeros((S, S), dtype=bool)
        support[i, i + 1] = support[i, i + 2] = True
        support[S - 2, S - 1] = True
        support[S - 1] = True
        assert np.array_equal(Pb != 0, support)
        p = Pb[i, i + 1]
        assert np.all((p >= 0.01) & (p <= 0.99)) and np.allclose(Pb[i, i + 2], 1 - p)
        assert Pb[S - 1].max() / Pb[S - 1].min() <= 0.99 / 0.01
        # values by an independent numpy solve, stationary distribution by power iteration
        v = np.linalg.solve(np.eye(S) - g * Pb, r[b].numpy())
        np.testing.assert_allclose(values[b].numpy(), v, atol=1e-10)
        mu = np.full(S, 1.0 / S)
        for _ in range(5000):
            mu = 0.5 * mu + 0.5 * mu @ Pb            # lazy chain: same stationary law, aperiodic
        np.testing.assert_allclose(stationary[b].numpy(), mu, atol=1e-10)
    assert float(r.abs().max()) <= 1 and float(tasks.features.abs().max()) <= 1
    assert bool((rho0 > 0).all()) and torch.allclose(rho0.sum(-1), torch.ones(B, dtype=F64))
    again = sample_boyan_tasks(B, S, d, g, gen(0))
    assert torch.equal(again.mrp.P, P) and torch.equal(again.features, tasks.features)
    assert torch.equal(sample_boyan_tasks(B, S, d, g, 0).features, tasks.features)     # an int seed works too


def test_trajectories_follow_P_and_match_its_frequencies():
    one = sample_boyan_tasks(1, 5, 2, 0.9, gen(1))
    B, T = 4000, 12
    tasks = _same_chain(one, B)                                   # the same chain 4000 times
    feats, rewards = task_trajectories(tasks, T, gen(2))
    assert feats.shape == (B, T, 2) and rewards.shape == (B, T - 1)
    # recover the states from the features (distinct random features per state)
    states = (feats.unsqueeze(-2) == one.features[0]).all(-1).float().argmax(-1)
    assert torch.equal(one.features[0][states], feats)
    assert torch.equal(rewards, one.mrp.r[0][states[:, :-1]])    # r_{j+1} = r(s_j)
    P = one.mrp.P[0]
    assert bool((P[states[:, :-1], states[:, 1:]] > 0).all())   # only along nonzero entries
    counts = torch.zeros(5, 5, dtype=F64)
    counts.index_put_((states[:, :-1].flatten(), states[:, 1:].flatten()), torch.ones(B * (T - 1), dtype=F64),
                      accumulate=True)
    visited = counts.sum(-1) > 2000
    emp = counts[visited] / counts[visited].sum(-1, keepdim=True)
    assert float((emp - P[visited]).abs().max()) < 0.03
    start = torch.bincount(states[:, 0], minlength=5).to(F64) / B
    assert float((start - one.mrp.rho0[0]).abs().max()) < 0.03
    assert torch.equal(feats, task_trajectories(tasks, T, gen(2))[0])


def _windows(seed=3, B=2, S=6, d=2, n=4, T=11, g=0.8):
    tasks = sample_boyan_tasks(B, S, d, g, gen(seed))
    feats, rewards = task_trajectories(tasks, T, gen(seed + 1))
    Z, qr = td_sliding_prompts(feats, torch.cat([rewards, torch.zeros(B, 1, dtype=F64)], -1), n, g)
    return feats, rewards, Z, qr, n, g


def test_window_moments_are_the_context_moments_of_the_window_prompts():
    feats, rewards, Z, qr, n, g = _windows()
    m = window_moments(feats, rewards, n, g)
    W = Z.shape[-3]
    assert m.moment.shape == (2, W, 5, 5) and m.x_query.shape == (2, W, 2) and m.query_rewards.shape == (2, W - 1)
    for b in range(2):
        for t in range(W):
            C = Z[b, t, :, :n]
            assert torch.allclose(m.moment[b, t], C @ C.T, atol=1e-13)
            assert torch.equal(m.x_query[b, t], Z[b, t, :2, n])
    assert torch.equal(m.query_rewards, qr[..., :-1])
    assert m.n == n and window_moments(feats.float(), rewards, n, g).moment.dtype == torch.float32
    assert window_moments(feats, rewards, n, g, dtype=torch.float32).moment.dtype == torch.float32


@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("mask", [True, False])
@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_values_from_moments_equal_the_transformer_on_the_prompts(shared, mask, n_layers):
    feats, rewards, Z, qr, n, g = _windows(seed=5, B=3, S=7, d=3, n=5, T=14)
    m = window_moments(feats, rewards, n, g)
    model = LinearTransformer(7, n_layers, shared=shared, mask=mask, init_gain=0.8, seed=1, dtype=F64)
    assert torch.allclose(values_from_moments(model, m), -model(Z)[..., -1, -1], atol=1e-12)
    # and the loss and its gradients: the moment form is the training hot path
    ref = td_pretraining_loss(model, Z, qr, g)
    gP, gV = torch.autograd.grad(ref, [model.P, model.V])
    loss = moment_td_loss(model, m, g)
    hP, hV = torch.autograd.grad(loss, [model.P, model.V])
    assert torch.allclose(loss, ref, atol=1e-13, rtol=1e-12)
    assert torch.allclose(hP, gP, atol=1e-12) and torch.allclose(hV, gV, atol=1e-12)


def test_values_from_moments_of_the_construction_are_batch_td():
    feats, rewards, _, _, n, g = _windows(seed=7, B=2, S=6, d=3, n=6, T=15)
    C = 0.4 * np.eye(3)
    model = LinearTransformer.from_layers(td_construction(3, 3, C), mask=True)
    v = values_from_moments(model, window_moments(feats, rewards, n, g)).detach()
    for b in range(2):
        for t in range(v.shape[-1]):
            x, xn, r = feats[b, t:t + n], feats[b, t + 1:t + n + 1], rewards[b, t:t + n]
            w = torch.zeros(3, dtype=F64)
            for _ in range(3):
                w = batch_td_update(w, x, xn, r, g, C=C)
            assert math.isclose(float(v[b, t]), float(w @ feats[b, t + n + 1]), abs_tol=1e-12)


def test_pretraining_loss_against_explicit_loop():
    feats, rewards, Z, qr, n, g = _windows(seed=3, n=4, T=10)
    model = LinearTransformer(5, 2, shared=False, init_gain=0.5, seed=1, dtype=F64)
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
    # tasks are drawn in blocks of steps: a block boundary inside the run (256 // 100 = 2 steps per block)
    big = td_pretrain(small_config(tasks_per_step=100, n_steps=3, log_every=1))
    assert big.history["step"] == [1, 2, 3] and all(math.isfinite(v) for v in big.history["loss"])


def test_td_pretrain_learns_on_the_w25_task():
    # a short run on [W25]'s task: the value error on held-out chains goes down
    r = td_pretrain(TDPretrainingConfig(n_steps=150, tasks_per_step=8, log_every=50, n_eval_tasks=32, seed=0))
    assert r.history["eval_msve"][-1] < r.history["eval_msve"][0]


@pytest.mark.parametrize("kw,name", [({"lr": 0.0}, "lr"), ({"n_states": 2}, "n_states"), ({"gamma": 1.0}, "gamma"),
                                     ({"grad_clip": -1.0}, "grad_clip"), ({"weight_decay": -1e-3}, "weight_decay"),
                                     ({"n": 0}, "n"), ({"seed": -1}, "seed"),
                                     ({"windows_per_task": 0}, "windows_per_task")])
def test_config_rejects_bad_values(kw, name):
    with pytest.raises(ValueError, match=named(name)):
        small_config(**kw)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match=named("config")):
        td_pretrain({"d": 2})
    with pytest.raises(ValueError, match=named("generator")):
        sample_boyan_tasks(2, 5, 2, 0.9, "seed")
    with pytest.raises(ValueError, match=named("n_states")):
        sample_boyan_tasks(2, 2, 2, 0.9, gen(0))
    tasks = sample_boyan_tasks(2, 5, 2, 0.9, gen(0))
    with pytest.raises(ValueError, match=named("length")):
        task_trajectories(tasks, 1, gen(0))
    with pytest.raises(ValueError, match=named("tasks")):
        boyan_task_values(tasks.mrp)
    feats, rewards = task_trajectories(tasks, 10, gen(1))
    with pytest.raises(ValueError, match=named("rewards")):
        window_moments(feats, rewards[..., 1:], 4, 0.9)
    with pytest.raises(ValueError, match=named("features")):
        window_moments(feats, rewards, 8, 0.9)                 # fewer than two windows
    with pytest.raises(ValueError, match=named("moments")):
        values_from_moments(LinearTransformer(5, 1), (0, 0, 0, 0))
    m = window_moments(feats, rewards, 4, 0.9)
    with pytest.raises(ValueError, match=named("moments")):
        values_from_moments(LinearTransformer(7, 1), m)
    assert isinstance(m, WindowMoments)
