"""Chapter 3's measurements (icrl_lib.training.td_evaluation) against the code the chapter had before they
moved into the library: the MSVE-against-context loop, the sign alignment of a learned layer, the step-size
scan on the held-out chains and the seed table of [W25]'s metrics."""
from __future__ import annotations

import numpy as np
import torch

from icrl_lib.incontext import td_construction, td_prompt
from icrl_lib.rl import mean_and_t_interval
from icrl_lib.training import (STEP_GRID, TDPretrainingConfig, TDPretrainingResult, align_layer,
                               boyan_task_values, construction_values, context_length_curves, evaluation_set,
                               expected_td_weights, initial_model, linear_msve, msve, reference_msve,
                               reference_weights, sample_boyan_tasks, similarity_summary, step_size_comparison,
                               task_trajectories, value_estimates)

F64 = torch.float64


def test_linear_and_reference_msve_match_a_direct_sum():
    tasks = sample_boyan_tasks(4, 6, 3, 0.9, 0)
    values, mu = boyan_task_values(tasks)
    w = torch.randn(4, 3, generator=torch.Generator().manual_seed(1), dtype=F64)
    X = tasks.features.numpy()
    direct = [(mu[i].numpy() * (X[i] @ w[i].numpy() - values[i].numpy()) ** 2).sum() for i in range(4)]
    assert np.allclose(linear_msve(w, tasks).numpy(), direct, atol=1e-12)
    refs = reference_msve(tasks)
    for name, wr in reference_weights(tasks).items():
        assert abs(refs[name] - float(linear_msve(wr, tasks).mean())) < 1e-12
    assert refs["best linear fit"] <= refs["TD fixed point"] and refs["best linear fit"] <= refs["v = 0"]


def test_context_length_curves_match_the_chapter_loop():
    gen = torch.Generator().manual_seed(11)
    tasks = sample_boyan_tasks(8, 10, 4, 0.9, gen)
    feats, rewards = task_trajectories(tasks, 33, gen)
    n_grid, depths = [4, 16, 32], [1, 3]
    cc = context_length_curves(tasks, feats, rewards, n_grid, depths)
    values, mu = boyan_task_values(tasks)
    X = tasks.features
    for L in depths:
        v_lim = (X @ expected_td_weights(tasks, L).unsqueeze(-1)).squeeze(-1)
        assert abs(cc.limits[L] - float(msve(v_lim, values, mu).mean())) < 1e-12
        for k, n in enumerate(n_grid):
            context = td_prompt(feats[:, :n], feats[:, 1:n + 1], rewards[:, :n], torch.zeros(4, dtype=F64), 0.9)
            v_hat = construction_values(context[..., :-1], X, L, 1.0)
            assert abs(cc.msve[L][k] - float(msve(v_hat, values, mu).mean())) < 1e-12
            assert abs(cc.gaps[L][k] - float(msve(v_hat, v_lim, mu).mean())) < 1e-12
    assert cc.references == reference_msve(tasks)


def test_align_layer_recovers_a_scaled_construction():
    P_star, V_star = td_construction(2, 1)[0]
    for s in (1.0, -1.0):
        al = align_layer(s * 0.4 * P_star, s * 2.5 * V_star + 0.01 * s, 2)
        assert al.sign == s
        assert abs(al.v_corner - 2.51) < 1e-12 and abs(al.p_scale - 0.4) < 1e-12
        assert abs(al.effective_step - 2.51 * 0.4) < 1e-12
        assert torch.allclose(al.P, 0.4 * P_star) and torch.allclose(al.P_construction, 0.4 * P_star)
        assert torch.allclose(al.V_construction, 2.51 * V_star)


def test_step_size_comparison_matches_the_chapter_cell():
    cfg = TDPretrainingConfig(d=2, n_states=5, n=6, n_layers=2, n_eval_tasks=4, n_steps=1)
    result = TDPretrainingResult(initial_model(cfg), cfg)
    cmp = step_size_comparison(result, 0.7)
    ev = evaluation_set(cfg)
    X = ev.tasks.features
    with torch.no_grad():
        v = value_estimates(result.model, ev.context.float(), X.float()).double()
    assert abs(cmp.trained - float(msve(v, ev.values, ev.weights).mean())) < 1e-12
    grid = [float(msve(construction_values(ev.context, X, 2, a), ev.values, ev.weights).mean()) for a in STEP_GRID]
    assert np.allclose(cmp.grid, grid, atol=1e-12) and cmp.best_step == STEP_GRID[int(np.argmin(grid))]
    at = float(msve(construction_values(ev.context, X, 2, 0.7), ev.values, ev.weights).mean())
    assert abs(cmp.at_effective_step - at) < 1e-12 and cmp.effective_step == 0.7
    assert cmp.references == reference_msve(ev.tasks)


def test_similarity_summary_is_the_student_t_table():
    rng = np.random.default_rng(0)
    runs = [{"shared": bool(k < 3), "seed": k % 3,
             **{f"{w}_{m}": float(rng.uniform()) for w in ("initial", "final")
                for m in ("value_difference", "implicit_weight_similarity")},
             "reference_value_scale": float(rng.uniform())} for k in range(6)]
    table = similarity_summary(runs)
    assert len(table) == 10
    for shared, mode in ((True, "shared"), (False, "sequential")):
        rs = [r for r in runs if r["shared"] == shared]
        mean, half = mean_and_t_interval(torch.tensor([r["final_implicit_weight_similarity"] for r in rs]))
        assert np.allclose(table[(mode, "implicit_weight_similarity", "final")], (float(mean), float(half)))
        mean, half = mean_and_t_interval(torch.tensor([r["reference_value_scale"] for r in rs]))
        assert np.allclose(table[(mode, "value_difference", "v = 0")], (float(mean), float(half)))
