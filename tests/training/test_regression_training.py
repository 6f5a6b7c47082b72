"""Supervised pretraining on in-context regression (chapter 2): task sampling, step sizes and risks against
Monte Carlo, the layer loss against a per-token loop, the effective preconditioner, training.

Every claim is checked against an independent computation: numpy loops over tokens for the attention layer
and the gradient step, Monte Carlo for the expected risk. (Prompts and constructions: tests/incontext.)
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from reference_impl import np_lsa, np_regression_prompt
from icrl_lib.incontext import gd_construction, gd_step_prediction
from icrl_lib.training import (effective_preconditioner, fit_step_size, lsa_regression_loss, one_step_risk,
                               optimal_step_size, sample_regression_tasks, train_regression_lsa)




# ------------------------------------------------------------------------------------------- sampling
def test_sample_regression_tasks_shapes_and_determinism():
    t = sample_regression_tasks(7, 5, 3, seed=4)
    assert t.X.shape == (7, 5, 3) and t.y.shape == (7, 5) and t.x_query.shape == (7, 3)
    assert t.y_query.shape == (7,) and t.w_star.shape == (7, 3)
    assert t.X.dtype == torch.float64
    u = sample_regression_tasks(7, 5, 3, seed=4)
    assert all(torch.equal(a, b) for a, b in zip(t, u))
    assert not torch.equal(t.X, sample_regression_tasks(7, 5, 3, seed=5).X)
    # noiseless labels are exactly linear in the inputs
    np.testing.assert_allclose(t.y.numpy(), np.einsum("bnd,bd->bn", t.X.numpy(), t.w_star.numpy()), atol=1e-12)
    np.testing.assert_allclose(t.y_query.numpy(), (t.x_query * t.w_star).sum(-1).numpy(), atol=1e-12)


def test_sample_regression_tasks_generator_and_noise():
    g = torch.Generator().manual_seed(0)
    a = sample_regression_tasks(4, 3, 2, seed=g)
    b = sample_regression_tasks(4, 3, 2, seed=g)
    assert not torch.equal(a.X, b.X)  # one generator, fresh draws
    n = sample_regression_tasks(2000, 10, 2, seed=1, noise_std=0.5)
    resid = n.y - torch.einsum("bnd,bd->bn", n.X, n.w_star)
    assert abs(float(resid.std()) - 0.5) < 0.02


@pytest.mark.parametrize("kwargs, name", [
    (dict(n_tasks=0, n_context=3, d=2), "n_tasks"), (dict(n_tasks=2, n_context=0, d=2), "n_context"),
    (dict(n_tasks=2, n_context=3, d=1.5), "d"), (dict(n_tasks=2, n_context=3, d=2, seed=-1), "seed"),
    (dict(n_tasks=2, n_context=3, d=2, noise_std=-0.1), "noise_std"),
])
def test_sample_regression_tasks_rejects_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        sample_regression_tasks(**kwargs)


# ------------------------------------------------------------------------------------- step sizes
def test_optimal_step_size_and_risk_match_monte_carlo():
    d, N = 3, 12
    eo = optimal_step_size(N, d)
    assert eo == pytest.approx(N / (N + d + 1))
    # the closed-form risk is a parabola in eta with its minimum at eta_opt
    etas = np.linspace(0.1, 1.5, 29)
    risks = [one_step_risk(e, N, d) for e in etas]
    assert etas[int(np.argmin(risks))] == pytest.approx(eo, abs=0.05)
    assert one_step_risk(0.0, N, d) == pytest.approx(d)
    t = sample_regression_tasks(200_000, N, d, seed=7)
    for e in (0.4, eo, 1.2):
        mc = float(((gd_step_prediction(t.X, t.y, t.x_query, e) - t.y_query) ** 2).mean())
        assert mc == pytest.approx(one_step_risk(e, N, d), rel=0.02)
    assert fit_step_size(t) == pytest.approx(eo, rel=0.02)


def test_noisy_optimal_step_size_matches_monte_carlo():
    d, N, s = 2, 8, 0.7
    eo = optimal_step_size(N, d, noise_std=s)
    t = sample_regression_tasks(200_000, N, d, seed=8, noise_std=s)
    assert fit_step_size(t) == pytest.approx(eo, rel=0.02)
    mc = float(((gd_step_prediction(t.X, t.y, t.x_query, eo) - t.y_query) ** 2).mean())
    assert mc == pytest.approx(one_step_risk(eo, N, d, noise_std=s), rel=0.02)


def test_lsa_regression_loss_of_construction_is_gd_risk():
    t = sample_regression_tasks(500, 6, 2, seed=9)
    P, V = gd_construction(2, 0.5)
    direct = ((gd_step_prediction(t.X, t.y, t.x_query, 0.5) - t.y_query) ** 2).mean()
    assert float(lsa_regression_loss(P, V, t)) == pytest.approx(float(direct), rel=1e-12)


# ---------------------------------------------------------------------------------------- training
def test_training_reduces_loss_deterministically():
    kw = dict(d=2, n_context=10, n_steps=150, batch_size=64, lr=0.02, seed=3)
    a = train_regression_lsa(**kw)
    b = train_regression_lsa(**kw)
    assert torch.equal(a.P, b.P) and torch.equal(a.V, b.V) and torch.equal(a.losses, b.losses)
    assert a.losses.shape == (150,)
    assert float(a.losses[-30:].mean()) < 0.5 * float(a.losses[:10].mean())
    test = sample_regression_tasks(4000, 10, 2, seed=11)
    eo = optimal_step_size(10, 2)
    assert float(lsa_regression_loss(a.P, a.V, test)) < 1.2 * one_step_risk(eo, 10, 2)


@pytest.mark.parametrize("kwargs, name", [(dict(n_steps=0), "n_steps"), (dict(lr=0.0), "lr"),
                                          (dict(batch_size=-2), "batch_size"), (dict(init_scale=-1.0), "init_scale")])
def test_training_rejects_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        train_regression_lsa(**kwargs)


def test_effective_preconditioner_validation():
    with pytest.raises(ValueError, match="P"):
        effective_preconditioner(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="V"):
        effective_preconditioner(np.zeros((3, 3)), np.zeros((2, 2)))


def test_training_snapshots():
    r = train_regression_lsa(d=2, n_context=5, n_steps=10, batch_size=8, snapshot_every=4, seed=0)
    assert r.snapshots.shape == (4, 2, 3, 3)
    assert r.snapshot_steps.tolist() == [0, 4, 8, 10]
    assert torch.equal(r.snapshots[-1, 0], r.P) and torch.equal(r.snapshots[-1, 1], r.V)
    assert train_regression_lsa(d=2, n_context=5, n_steps=3, batch_size=8).snapshots.shape == (0, 2, 3, 3)


@pytest.mark.parametrize("mask", [False, True])
def test_lsa_regression_loss_against_a_per_token_loop(mask):
    t = sample_regression_tasks(5, 4, 2, seed=12)
    gen = torch.Generator().manual_seed(0)
    P, V = torch.randn(2, 3, 3, generator=gen, dtype=torch.float64)
    errs = []
    for b in range(5):
        Z = np_lsa(np_regression_prompt(t.X[b].numpy(), t.y[b].numpy(), t.x_query[b].numpy()), P.numpy(), V.numpy(), mask)
        errs.append((Z[-1, -1] - float(t.y_query[b])) ** 2)
    assert float(lsa_regression_loss(P, V, t, mask=mask)) == pytest.approx(np.mean(errs), rel=1e-12)


def test_effective_preconditioner_of_the_construction_and_its_symmetry():
    Gamma = np.array([[0.7, 0.1], [-0.2, 0.4]])
    P, V = gd_construction(2, Gamma)
    np.testing.assert_allclose(effective_preconditioner(P, V).numpy(), Gamma, atol=1e-15)
    np.testing.assert_allclose(effective_preconditioner(*gd_construction(3, 0.3)).numpy(), 0.3 * np.eye(3),
                               atol=1e-15)
    gen = torch.Generator().manual_seed(1)
    P, V = torch.randn(2, 4, 4, generator=gen, dtype=torch.float64)
    for c in (-2.0, 0.5, 3.0):
        assert torch.allclose(effective_preconditioner(P / c, c * V), effective_preconditioner(P, V), atol=1e-14)
    batched = effective_preconditioner(torch.stack([P, 2 * P]), torch.stack([V, V]))
    assert batched.shape == (2, 3, 3) and torch.allclose(batched[1], 2 * batched[0])
