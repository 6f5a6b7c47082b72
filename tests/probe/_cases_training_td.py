"""Bad-input probe of chapter 3's evaluation of the TD construction and of TD pretraining
(icrl_lib.training.td_evaluation); see _probe.py. Run by test_probe_training.py."""
from __future__ import annotations

from functools import lru_cache

import torch

from icrl_lib import training as lib
from icrl_lib.incontext import td_construction

from ._probe import Case, nan_at

F64 = torch.float64
NAN = float("nan")


@lru_cache(None)
def _tasks():
    return lib.sample_boyan_tasks(3, 4, 2, 0.9, 0)        # B = 3 chains, S = 4 states, d = 2


@lru_cache(None)
def _traj():
    return lib.task_trajectories(_tasks(), 7, 1)          # (3, 7, 2) features, (3, 6) rewards


@lru_cache(None)
def _result():
    cfg = lib.TDPretrainingConfig(d=2, n_states=4, n=4, n_layers=2, n_eval_tasks=2, n_steps=1)
    return lib.TDPretrainingResult(lib.initial_model(cfg), cfg)   # untrained: no optimiser step needed


def _run(**kw):
    base = dict(shared=True, initial_value_difference=1.0, final_value_difference=0.1,
                initial_implicit_weight_similarity=0.0, final_implicit_weight_similarity=0.9,
                reference_value_scale=1.0)
    return {**base, **kw}


def _curves(**kw):
    feats, rewards = _traj()
    args = dict(tasks=_tasks(), features=feats, rewards=rewards, n_grid=[2, 4], depths=[1, 2])
    return lambda: lib.context_length_curves(**{**args, **kw})


P2, V2 = td_construction(2, 1)[0]

CASES = [
    # linear_msve
    Case("linear_msve", "type", lambda: lib.linear_msve(torch.zeros(3, 2), "chains"), "tasks"),
    Case("linear_msve", "shape", lambda: lib.linear_msve(torch.zeros(3, 5), _tasks()), "w"),
    Case("linear_msve", "nonfinite", lambda: lib.linear_msve(nan_at(torch.zeros(3, 2)), _tasks()), "w"),
    Case("linear_msve", "legit", lambda: lib.linear_msve(torch.zeros(2), _tasks()), None,
         check=lambda m: m.shape == (3,) and bool((m > 0).all()), note="one w for every chain"),
    # reference_msve
    Case("reference_msve", "type", lambda: lib.reference_msve([1, 2]), "tasks"),
    Case("reference_msve", "legit", lambda: lib.reference_msve(_tasks()), None,
         check=lambda r: r["best linear fit"] <= min(r["v = 0"], r["TD fixed point"]) + 1e-12),
    # context_length_curves
    Case("context_length_curves", "type", _curves(tasks=None), "tasks"),
    Case("context_length_curves", "shape", _curves(features=torch.zeros(3, 7, 5)), "features"),
    Case("context_length_curves", "batch", _curves(features=torch.zeros(2, 7, 2)), "features"),
    Case("context_length_curves", "shape", _curves(rewards=torch.zeros(3, 4)), "rewards", note="length"),
    Case("context_length_curves", "nonfinite", _curves(rewards=nan_at(torch.zeros(3, 6))), "rewards"),
    Case("context_length_curves", "range", _curves(n_grid=[2, 9]), "n_grid", note="longer than the trajectory"),
    Case("context_length_curves", "range", _curves(depths=[0]), "depths"),
    Case("context_length_curves", "empty", _curves(n_grid=[]), "n_grid"),
    Case("context_length_curves", "type", _curves(depths=3), "depths", note="not a sequence"),
    Case("context_length_curves", "nonfinite", _curves(alpha=NAN), "alpha"),
    Case("context_length_curves", "legit", _curves(), None,
         check=lambda c: list(c.msve) == [1, 2] and len(c.gaps[2]) == 2 and set(c.limits) == {1, 2}),
    # align_layer
    Case("align_layer", "shape", lambda: lib.align_layer(torch.zeros(4, 4), V2, 2), "P"),
    Case("align_layer", "nonfinite", lambda: lib.align_layer(P2, nan_at(V2), 2), "V"),
    Case("align_layer", "range", lambda: lib.align_layer(P2, V2, 0), "d"),
    Case("align_layer", "legit", lambda: lib.align_layer(-3 * P2, -0.5 * V2, 2), None,
         check=lambda a: a.sign == -1.0 and abs(a.effective_step - 1.5) < 1e-12
         and torch.allclose(a.P, a.P_construction), note="a scaled, sign-flipped construction"),
    # step_size_comparison
    Case("step_size_comparison", "type", lambda: lib.step_size_comparison("model", 1.0), "result"),
    Case("step_size_comparison", "nonfinite", lambda: lib.step_size_comparison(_result(), NAN),
         "effective_step"),
    Case("step_size_comparison", "type", lambda: lib.step_size_comparison(_result(), "1"), "effective_step"),
    Case("step_size_comparison", "legit", lambda: lib.step_size_comparison(_result(), 0.5), None,
         check=lambda c: len(c.grid) == len(lib.STEP_GRID) and min(c.grid) <= c.at_effective_step + 1e-12),
    # similarity_summary
    Case("similarity_summary", "empty", lambda: lib.similarity_summary([]), "runs"),
    Case("similarity_summary", "type", lambda: lib.similarity_summary([{"shared": True}]), "runs",
         note="missing keys"),
    Case("similarity_summary", "range", lambda: lib.similarity_summary([_run()]), "runs", note="one run"),
    Case("similarity_summary", "legit", lambda: lib.similarity_summary([_run(), _run(final_value_difference=0.3)]),
         None, check=lambda s: abs(s[("shared", "value_difference", "final")][0] - 0.2) < 1e-12
         and ("sequential", "value_difference", "final") not in s),
]

EXEMPT = {
    "ContextLengthCurves": "plain result type (a NamedTuple) returned by context_length_curves",
    "AlignedLayer": "plain result type (a NamedTuple) returned by align_layer",
    "StepSizeComparison": "plain result type (a NamedTuple) returned by step_size_comparison",
}
