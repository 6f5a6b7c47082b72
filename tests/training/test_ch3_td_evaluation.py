"""Chapter 3's evaluation of TD pretraining: references (expected TD system, fixed point, best fit), implicit
weights, the construction's values, [W25]'s value difference / implicit weight similarity, the success
criterion, the evaluation set, the seed sweep and its CLI; each against an independent computation."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from icrl_lib.attention import LinearTransformer
from icrl_lib.experiments import main
from icrl_lib.incontext import td_construction
from icrl_lib.rl import batch_td_update, stationary_distribution
from icrl_lib.training import TDPretrainingConfig, msve, sample_boyan_tasks, td_pretrain, td_structure_metrics
from icrl_lib.training.td_pretraining import (STEP_GRID, construction_values, evaluation_set, expected_td_system,
                                              expected_td_weights, fitted_weights, implicit_weights,
                                              initial_model, reference_weights, td_pretraining_sweep,
                                              td_similarity_metrics, td_structure_success)

F64 = torch.float64


def _tasks(B=5, S=7, d=3, seed=0):
    return sample_boyan_tasks(B, S, d, 0.9, seed)


def test_expected_td_system_matches_per_state_sums():
    tasks = _tasks()
    A, b = expected_td_system(tasks)
    X, P, r = tasks.features.numpy(), tasks.mrp.P.numpy(), tasks.mrp.r.numpy()
    mu = stationary_distribution(tasks.mrp).numpy()
    for i in range(X.shape[0]):
        A_i = sum(mu[i, s] * np.outer(X[i, s], X[i, s] - 0.9 * P[i, s] @ X[i]) for s in range(X.shape[1]))
        b_i = sum(mu[i, s] * r[i, s] * X[i, s] for s in range(X.shape[1]))
        assert np.allclose(A[i].numpy(), A_i, atol=1e-12) and np.allclose(b[i].numpy(), b_i, atol=1e-12)


def test_expected_td_weights_iterate_the_expected_update():
    tasks = _tasks()
    A, b = expected_td_system(tasks)
    C = 0.7 * np.eye(3) + 0.05
    w = np.zeros((5, 3))
    for L in range(1, 4):
        w = w + (b.numpy() - np.einsum("bij,bj->bi", A.numpy(), w)) @ C.T
        assert np.allclose(expected_td_weights(tasks, L, C).numpy(), w, atol=1e-12)
    assert torch.allclose(expected_td_weights(tasks, 2), expected_td_weights(tasks, 2, np.eye(3)))


def test_fitted_weights_solve_the_weighted_normal_equations():
    rng = np.random.default_rng(0)
    X, v, mu = rng.normal(size=(4, 9, 3)), rng.normal(size=(4, 9)), rng.uniform(0.1, 1, size=(4, 9))
    w = fitted_weights(v, X, mu).numpy()
    for i in range(4):
        D = np.diag(mu[i])
        assert np.allclose(w[i], np.linalg.solve(X[i].T @ D @ X[i], X[i].T @ D @ v[i]), atol=1e-10)


def test_reference_weights_are_the_fixed_point_and_the_best_fit():
    tasks = _tasks()
    refs = reference_weights(tasks)
    A, b = expected_td_system(tasks)
    assert torch.allclose((A @ refs["TD fixed point"].unsqueeze(-1)).squeeze(-1), b, atol=1e-10)
    assert torch.equal(refs["v = 0"], torch.zeros_like(b))
    X = tasks.features
    from icrl_lib.training import boyan_task_values
    v, mu = boyan_task_values(tasks)
    best = msve((X @ refs["best linear fit"].unsqueeze(-1)).squeeze(-1), v, mu)
    for w in (refs["TD fixed point"], refs["best linear fit"] + 0.01):
        assert bool((best <= msve((X @ w.unsqueeze(-1)).squeeze(-1), v, mu) + 1e-12).all())


def test_implicit_weights_reproduce_every_query_of_a_masked_model():
    model = LinearTransformer(7, 3, shared=False, mask=True, init_gain=2.0, seed=3, dtype=F64)
    rng = np.random.default_rng(1)
    context = torch.as_tensor(rng.normal(size=(2, 7, 5)))
    queries = torch.as_tensor(rng.normal(size=(2, 6, 3)))
    from icrl_lib.training import value_estimates
    with torch.no_grad():
        w = implicit_weights(model, context)
        v = value_estimates(model, context, queries)
    assert w.shape == (2, 3)
    assert torch.allclose(v, (queries @ w.unsqueeze(-1)).squeeze(-1), atol=1e-10)


def test_implicit_weights_reject_unmasked_models_and_bad_contexts():
    with pytest.raises(ValueError, match="^model"):
        implicit_weights(LinearTransformer(7, 1, mask=False), torch.zeros(7, 4))
    with pytest.raises(ValueError, match="^context"):
        implicit_weights(LinearTransformer(6, 1), torch.zeros(6, 4))


def test_construction_values_are_batch_td_values():
    rng = np.random.default_rng(2)
    d, n, L = 3, 8, 3
    x, xn, r = rng.normal(size=(2, n, d)), rng.normal(size=(2, n, d)), rng.normal(size=(2, n))
    g = 0.9
    context = torch.as_tensor(np.concatenate([x, g * xn, r[..., None]], -1)).mT
    feats = torch.as_tensor(rng.normal(size=(2, 5, d)))
    w = torch.zeros(2, d, dtype=F64)
    for _ in range(L):
        w = batch_td_update(w, x, xn, r, g, C=0.4 * np.eye(d))
    v = construction_values(context, feats, L, 0.4)
    assert torch.allclose(v, (feats @ w.unsqueeze(-1)).squeeze(-1), atol=1e-10)
    Cs = torch.stack([0.4 * torch.eye(d, dtype=F64)] * L)
    assert torch.allclose(construction_values(context, feats, L, Cs), v, atol=1e-12)


def test_similarity_metrics_by_hand():
    rng = np.random.default_rng(3)
    X, mu = torch.as_tensor(rng.normal(size=(3, 8, 2))), torch.as_tensor(rng.uniform(0.1, 1, size=(3, 8)))
    w1, w2 = torch.tensor([1.0, 0.0], dtype=F64), torch.tensor([1.0, 1.0], dtype=F64)
    v1, v2 = X @ w1, X @ w2
    m = td_similarity_metrics(v1, v2, X, mu)
    assert torch.allclose(m["implicit_weight_similarity"], torch.full((3,), 2 ** -0.5, dtype=F64), atol=1e-10)
    assert torch.allclose(m["value_difference"], (mu * (v1 - v2) ** 2).sum(-1), atol=1e-12)
    same = td_similarity_metrics(v1, v1, X, mu)
    assert torch.allclose(same["implicit_weight_similarity"], torch.ones(3, dtype=F64))
    assert float(same["value_difference"].abs().max()) == 0.0
    with pytest.raises(ValueError, match="^v_reference"):
        td_similarity_metrics(v1, v2[..., :-1], X, mu)
    with pytest.raises(ValueError, match="^weights"):
        td_similarity_metrics(v1, v2, X, -mu)


def test_success_criterion():
    P, V = td_construction(4, 1)[0]
    good = td_structure_metrics(2 * P, V / 2, 4)
    assert td_structure_success(good) and td_structure_success([good, good])
    bad = td_structure_metrics(P, V + 0.3, 4)                    # value mass spread out
    assert not td_structure_success([good, bad])
    assert not td_structure_success(td_structure_metrics(-P, V, 4))   # wrong sign pattern
    with pytest.raises(ValueError, match="^layer_metrics"):
        td_structure_success([])
    with pytest.raises(ValueError, match="^layer_metrics"):
        td_structure_success([{"v_mass": 1.0}])


def test_evaluation_set_and_initial_model_are_td_pretrains():
    cfg = TDPretrainingConfig(n_steps=2, log_every=1, n_eval_tasks=8, tasks_per_step=2, seed=4)
    ev = evaluation_set(cfg)
    assert ev.context.shape == (8, 9, cfg.n) and ev.values.shape == (8, cfg.n_states)
    from icrl_lib.training import value_estimates
    with torch.no_grad():
        m0 = initial_model(cfg)
        v0 = value_estimates(m0, ev.context.float(), ev.tasks.features.float()).double()
    result = td_pretrain(replace_steps(cfg, 1))
    assert abs(result.history["eval_msve"][0] - float(msve(
        value_estimates(result.model, ev.context.float(), ev.tasks.features.float()).double().detach(),
        ev.values, ev.weights).mean())) < 1e-9
    assert float(msve(v0, ev.values, ev.weights).mean()) > 0
    with pytest.raises(ValueError, match="^config"):
        evaluation_set("cfg")
    with pytest.raises(ValueError, match="^config"):
        initial_model(None)


def replace_steps(cfg, n):
    from dataclasses import replace
    return replace(cfg, n_steps=n)


def test_sweep_and_cli(tmp_path):
    out = td_pretraining_sweep([1], shared=(True, False), n_steps=2)
    assert [r["shared"] for r in out["runs"]] == [True, False]
    run = out["runs"][1]
    assert len(run["layer_metrics"]) == 3 and len(run["effective_step"]) == 3
    assert len(run["construction_msve_grid"]) == len(STEP_GRID)
    assert run["best_grid_step"] == STEP_GRID[int(np.argmin(run["construction_msve_grid"]))]
    assert run["success"] is False and -1 <= run["final_implicit_weight_similarity"] <= 1
    json.dumps(out)
    with pytest.raises(ValueError, match="^seeds"):
        td_pretraining_sweep([], n_steps=1)
    with pytest.raises(ValueError, match="^shared"):
        td_pretraining_sweep([0], shared=(), n_steps=1)
    f = tmp_path / "td.json"
    assert main(["td-pretraining", "--seeds", "0", "--modes", "shared", "--steps", "1", "--quiet",
                 "--json", str(f)]) == 0
    data = json.loads(f.read_text())
    assert data["shared"] == [True] and data["config"]["n_steps"] == 1 and len(data["runs"]) == 1
