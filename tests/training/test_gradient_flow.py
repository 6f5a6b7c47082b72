"""Tests of icrl_lib.training.gradient_flow (chapter 6): the moment form of the loss, inert entries, the exact
Hessian, null-space counts, local rates, balancedness and full-batch training.

Independent checks: the moment readout against the full attention layer (training.block_readout); the
structured Hessian against torch autograd and finite differences; the Hessian's null space against chapter 4's
count and the null directions of icrl_lib.incontext; the full-batch trainer against train_teacher_mimicking.
(Entry roles, select_mask and aligned_active_blocks are tested with icrl_lib.incontext.)
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from icrl_lib import incontext as inc
from icrl_lib.incontext import PromptDistribution, null_directions, sample_prompt_batch
from icrl_lib.training import (TeacherMimickingConfig, block_readout, init_parameters, mimicking_loss,
                               train_teacher_mimicking)
from icrl_lib.training import gradient_flow as gf

ALGS = ["sarsa", "actor-critic"]


def output_rows(dist):
    return dist.output_rows


def prompt_layout(dist):
    return dist.layout


def construction(dist):
    return dist.construction()
F64 = torch.float64


def _setup(alg, n=32, seed=0, **kw):
    dist = PromptDistribution(algorithm=alg, **kw)
    batch = sample_prompt_batch(dist, n, torch.Generator().manual_seed(seed))
    return dist, batch, output_rows(dist)


def _random_block(dist, scale=0.5, seed=1):
    return init_parameters(prompt_layout(dist).dim, scale, torch.Generator().manual_seed(seed), dtype=F64)


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("mask", [False, True])
def test_moment_readout_equals_the_attention_layer(alg, mask):
    dist, batch, rows = _setup(alg, 8, n_transitions=6)
    P, V = _random_block(dist)
    qm = gf.query_moments(batch, mask=mask)
    assert torch.allclose(gf.moment_readout(P, V, qm, rows), block_readout(P, V, batch.H, rows, mask), atol=1e-12)
    assert abs(float(gf.moment_loss(P, V, qm, rows)) - float(mimicking_loss(P, V, batch, rows, mask))) < 1e-12


@pytest.mark.parametrize("alg", ALGS)
def test_inert_entries_have_zero_gradient_and_the_symmetry_identity_holds(alg):
    dist, batch, rows = _setup(alg, 16)
    qm = gf.query_moments(batch)
    inert = inc.parameter_roles(dist)["inert"]
    for seed in range(3):
        P, V = _random_block(dist, scale=1.0, seed=seed)
        _, gP, gV = gf.loss_gradients(P, V, qm, rows)
        assert torch.all(gP[inert[0]] == 0) and torch.all(gV[inert[1]] == 0)
        # d/dc L(cV, P/c) at c = 1 vanishes: <V, dL/dV> = <P, dL/dP>
        lhs, rhs = float((V * gV).sum()), float((P * gP).sum())
        assert abs(lhs - rhs) < 1e-12 * max(1.0, abs(lhs))
        # and the antisymmetric part of P[param, param] is inert as well
        L = prompt_layout(dist)
        g_pp = gP[L.param, L.param]
        assert torch.allclose(g_pp, g_pp.T, atol=1e-13)


@pytest.mark.parametrize("alg", ALGS)
def test_structured_hessian_equals_autograd(alg):
    dist, batch, rows = _setup(alg, 6, n_transitions=5)
    qm = gf.query_moments(batch)
    P, V = _random_block(dist, scale=1.0)
    gen = torch.Generator().manual_seed(0)
    D = P.shape[0]
    random_masks = (torch.rand(D, D, generator=gen) < 0.05, torch.rand(D, D, generator=gen) < 0.05)
    for masks in (inc.select_mask(dist, "trainable"), random_masks):
        H1 = gf.loss_hessian(P, V, qm, rows, masks)
        H2 = gf.loss_hessian(P, V, qm, rows, masks, method="autograd")
        assert H1.shape == (int(masks[0].sum() + masks[1].sum()),) * 2
        assert torch.allclose(H1, H2, atol=1e-11 * float(H2.abs().max()))
    # the Hessian along the entries of the inert role is exactly zero
    assert torch.all(gf.loss_hessian(P, V, qm, rows, inc.select_mask(dist, "inert")) == 0)


def test_hessian_agrees_with_finite_differences_of_the_gradient():
    dist, batch, rows = _setup("sarsa", 8, n_transitions=6)
    qm = gf.query_moments(batch)
    P, V = _random_block(dist, scale=1.0, seed=3)
    masks = inc.select_mask(dist, "active")
    Hm = gf.loss_hessian(P, V, qm, rows, masks)
    gen = torch.Generator().manual_seed(5)
    v = torch.randn(Hm.shape[0], generator=gen, dtype=F64)
    eps = 1e-6
    theta = gf.flat_entries(P, V, masks)

    def grad_at(t):
        P2, V2 = gf.with_entries(P, V, masks, t)
        _, gP, gV = gf.loss_gradients(P2, V2, qm, rows)
        return gf.flat_entries(gP, gV, masks)

    fd = (grad_at(theta + eps * v) - grad_at(theta - eps * v)) / (2 * eps)
    assert torch.allclose(Hm @ v, fd, atol=1e-7 * float(fd.abs().max()))


@pytest.mark.parametrize("alg", ALGS)
def test_hessian_null_space_at_the_construction_matches_the_count(alg):
    dist, batch, rows = _setup(alg, 160, seed=2)
    qm = gf.query_moments(batch)
    Ps, Vs = construction(dist)
    masks = inc.select_mask(dist, "active")
    spec = gf.hessian_spectrum(gf.loss_hessian(Ps, Vs, qm, rows, masks))
    expected = 32 if alg == "sarsa" else 247
    assert inc.predicted_null_dimension(dist, "active") == expected
    assert spec.null_dim == expected and spec.gap > 1e6 and spec.eigenvalues.min() > -1e-12
    # the null space is spanned by the one-hot null directions and the scale direction (P*, -V*)
    L = prompt_layout(dist)
    N_P, N_V = null_directions(dist)
    nP = int(masks[0].sum())
    dirs = []
    for k in range(N_P.shape[0]):
        E = torch.zeros_like(Ps)
        E[L.data, L.param] = N_P[k]
        dirs.append(torch.cat([E[masks[0]], torch.zeros(int(masks[1].sum()), dtype=F64)]))
    rows_idx = output_rows(dist)
    for k in range(N_V.shape[0]):
        E = torch.zeros_like(Vs)
        E[rows_idx.unsqueeze(-1), torch.arange(L.data.stop)] = N_V[k]
        dirs.append(torch.cat([torch.zeros(nP, dtype=F64), E[masks[1]]]))
    dirs.append(torch.cat([Ps[masks[0]], -Vs[masks[1]]]))            # d/dc (P*/c, c V*) at c = 1, up to sign
    Dm = torch.stack(dirs, 1)
    null_basis = spec.eigenvectors[:, : spec.null_dim]
    assert torch.linalg.matrix_rank(Dm).item() == expected
    residual = Dm - null_basis @ (null_basis.T @ Dm)
    assert float(residual.abs().max()) < 1e-8
    # counting the query pair and the inert entries too
    roles = inc.parameter_roles(dist)
    n_query = int(roles["query"][0].sum() + roles["query"][1].sum())
    assert inc.predicted_null_dimension(dist, "trainable") == expected + n_query
    assert inc.predicted_null_dimension(dist, "all") == 2 * L.dim ** 2 - (int(masks[0].sum() + masks[1].sum())
                                                                         - expected)


def test_poor_distributions_have_larger_null_spaces():
    counts = {}
    for name, kw in {"rich": {}, "w0": {"w_scale": 0.0},
                     "fixed_det": {"fixed_mdp_seed": 3, "reward_noise": 0.0}}.items():
        dist, batch, rows = _setup("sarsa", 160, seed=4, **kw)
        Ps, Vs = construction(dist)
        Hm = gf.loss_hessian(Ps, Vs, gf.query_moments(batch), rows, inc.select_mask(dist, "active"))
        counts[name] = gf.hessian_spectrum(Hm).null_dim
    d = 15
    # rich: scale + (d + 1) + d one-hot directions; w = 0: every P[data, w] entry is free as well, and the
    # w-dependent one-hot directions collapse into them; fixed MDP with deterministic rewards: the reward row
    # can be traded against the phi rows, in P (d + 1 directions) and in V (d directions)
    assert counts == {"rich": 2 * d + 2, "w0": (2 * d + 1) * d + d + 2, "fixed_det": (2 * d + 2) + (d + 1) + d}


def test_predicted_log_loss_slope_on_a_quadratic():
    # gradient descent on L = 0.5 * sum(lam_i x_i^2): the slowest mode sets the late slope exactly
    lam = torch.tensor([0.02, 0.5, 1.3], dtype=F64)
    lr = 1.0
    x = torch.ones(3, dtype=F64)
    losses = []
    for _ in range(400):
        losses.append(float(0.5 * (lam * x ** 2).sum()))
        x = x - lr * lam * x
    slope = gf.fit_log_slope(np.arange(300, 400), losses[300:])
    assert abs(slope - gf.predicted_log_loss_slope(0.02, lr)) < 1e-9
    assert abs(gf.predicted_log_loss_slope(0.02) + 0.04) < 1e-15
    assert abs(gf.predicted_log_loss_slope(0.02, 1e-3) + 2 * 1e-3 * 0.02) < 1e-8
    with pytest.raises(ValueError, match="lambda_min"):
        gf.predicted_log_loss_slope(0.0)
    with pytest.raises(ValueError, match="losses"):
        gf.fit_log_slope([0, 1], [1.0, -1.0])


def test_local_rate_of_gradient_descent_near_the_construction():
    # start on the slowest normal direction: the loss must decay exactly at the predicted rate
    dist, batch, rows = _setup("sarsa", 96, seed=6)
    qm = gf.query_moments(batch)
    Ps, Vs = construction(dist)
    masks = inc.select_mask(dist, "active")
    spec = gf.hessian_spectrum(gf.loss_hessian(Ps, Vs, qm, rows, masks))
    lr = 1.5 / spec.lambda_max
    v_min = spec.eigenvectors[:, spec.null_dim]
    assert abs(float(spec.eigenvalues[spec.null_dim]) - spec.lambda_min) < 1e-15
    P0, V0 = gf.with_entries(Ps, Vs, masks, gf.flat_entries(Ps, Vs, masks) + 1e-4 * v_min)
    # the quadratic model: L = 0.5 lambda_min (1e-4)^2 at the start
    assert abs(float(gf.moment_loss(P0, V0, qm, rows)) / (0.5 * spec.lambda_min * 1e-8) - 1) < 1e-3
    n = int(1 / (lr * spec.lambda_min))
    res = gf.gradient_descent(P0, V0, qm, rows, lr, n, log_every=max(n // 20, 1))
    measured = gf.fit_log_slope(res.steps, res.loss)
    predicted = gf.predicted_log_loss_slope(spec.lambda_min, lr)
    assert abs(measured / predicted - 1) < 0.01


@pytest.mark.parametrize("optimizer", ["gd", "adam"])
def test_gradient_descent_matches_train_teacher_mimicking(optimizer):
    dist = PromptDistribution(algorithm="sarsa", n_transitions=8)
    rows = output_rows(dist)
    P0, V0 = _random_block(dist, scale=0.3, seed=2)
    cfg = TeacherMimickingConfig(dist=dist, optimizer=optimizer, lr=0.05 if optimizer == "gd" else 1e-2,
                                 n_steps=7, batch_size=12, log_every=7, n_eval_prompts=8, fixed_dataset=True,
                                 dtype="float64", seed=4)
    ref = train_teacher_mimicking(cfg, P0=P0, V0=V0)
    # with P0 given, the fixed dataset is the first draw of the config's seed
    batch = sample_prompt_batch(dist, 12, torch.Generator().manual_seed(4))
    res = gf.gradient_descent(P0, V0, gf.query_moments(batch), rows, cfg.lr, 7, optimizer=optimizer, log_every=1)
    assert torch.allclose(res.P, ref.P, atol=1e-12) and torch.allclose(res.V, ref.V, atol=1e-12)
    # train_teacher_mimicking logs the loss *before* the update of its step
    assert abs(res.loss[6].item() - ref.history["loss"][-1]) < 1e-12
    assert res.steps.tolist() == list(range(8))


def test_balance_changes_by_lr_squared_times_gradient_norms_under_gd():
    dist, batch, rows = _setup("sarsa", 16, seed=1)
    qm = gf.query_moments(batch)
    P, V = _random_block(dist, scale=1.0, seed=7)
    lr = 0.05
    _, gP, gV = gf.loss_gradients(P, V, qm, rows)
    res = gf.gradient_descent(P, V, qm, rows, lr, 1, dist=dist)
    predicted = lr ** 2 * (float((gV ** 2).sum()) - float((gP ** 2).sum()))
    assert abs((res.balance[1] - res.balance[0]).item() - predicted) < 1e-12
    assert abs(res.balance[0].item() - gf.balance(P, V)) < 1e-12
    roles = inc.parameter_roles(dist)["active"]
    predicted_act = lr ** 2 * (float((gV[roles[1]] ** 2).sum()) - float((gP[roles[0]] ** 2).sum()))
    assert abs((res.balance_active[1] - res.balance_active[0]).item() - predicted_act) < 1e-12


def test_balance_drift_over_a_fixed_horizon_is_first_order_in_the_step():
    dist, batch, rows = _setup("sarsa", 32, seed=2)
    qm = gf.query_moments(batch)
    P, V = _random_block(dist, scale=0.5, seed=8)
    T = 2.0
    drifts = []
    for lr in (0.1, 0.05, 0.025):
        res = gf.gradient_descent(P, V, qm, rows, lr, int(round(T / lr)), log_every=10_000)
        drifts.append(abs((res.balance[-1] - res.balance[0]).item()))
    ratios = [drifts[i] / drifts[i + 1] for i in range(2)]
    assert all(1.6 < r < 2.4 for r in ratios), ratios


def test_hessian_spectrum_counts_and_validation():
    Hm = torch.diag(torch.tensor([0.0, 1e-13, 2e-3, 1.0, 5.0], dtype=F64))
    spec = gf.hessian_spectrum(Hm)
    assert spec.null_dim == 2 and spec.lambda_min == 2e-3 and spec.lambda_max == 5.0 and spec.n_negative == 0
    saddle = gf.hessian_spectrum(torch.diag(torch.tensor([-3.0, 0.0, 1e-3, 2.0], dtype=F64)))
    assert saddle.n_negative == 1 and saddle.null_dim == 1 and saddle.lambda_min == 1e-3
    assert saddle.nonzero.tolist() == [1e-3, 2.0, -3.0]
    assert math.isclose(spec.gap, 2e-3 / 1e-13)
    with pytest.raises(ValueError, match="Hm"):
        gf.hessian_spectrum(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="rtol"):
        gf.hessian_spectrum(Hm, rtol=2.0)


def test_validation_names_the_argument():
    dist, batch, rows = _setup("sarsa", 4, n_transitions=3)
    qm = gf.query_moments(batch)
    P, V = _random_block(dist)
    with pytest.raises(ValueError, match="P and V"):
        gf.moment_loss(P[:3, :3], V, qm, rows)
    with pytest.raises(ValueError, match="qm"):
        gf.moment_loss(P, V, batch, rows)
    with pytest.raises(ValueError, match="batch"):
        gf.query_moments(qm)
    with pytest.raises(ValueError, match="optimizer"):
        gf.gradient_descent(P, V, qm, rows, 0.1, 2, optimizer="sgd")
    with pytest.raises(ValueError, match="lr"):
        gf.gradient_descent(P, V, qm, rows, 0.0, 2)
    with pytest.raises(ValueError, match="method"):
        gf.loss_hessian(P, V, qm, rows, inc.select_mask(dist), method="numeric")
    with pytest.raises(ValueError, match="theta"):
        gf.with_entries(P, V, inc.select_mask(dist), torch.zeros(3, dtype=F64))
