"""What chapter 3 measures about [W25]'s TD construction and about TD pretraining, on Boyan chains.

Notation of chapter 3: ``B`` chains (:class:`~icrl_lib.training.BoyanTasks`) with ``S`` states and ``d``
features ``X`` (B, S, d), context length ``n``, depth ``L``, MSVE weighted by the stationary distribution
``mu`` (B, S).

- :func:`linear_msve`, :func:`reference_msve`: the MSVE of linear values ``X w`` and of the context-free
  references (``v = 0``, the TD fixed point, the best linear fit).
- :func:`context_length_curves`: the MSVE of the ``L``-layer construction (``C = alpha I``) against ``n``, its
  limit ``n -> infinity`` (``L`` expected TD steps) and the distance to that limit (section 5).
- :func:`align_layer`: a trained layer ``(P, V)`` sign-aligned, its scales ``v = |V[2d+1, 2d+1]|`` and ``c``
  (``p_scale``), the construction drawn with them and the effective step ``v c`` (section 6).
- :func:`step_size_comparison`: a trained model's held-out MSVE next to the construction's on
  :data:`~icrl_lib.training.STEP_GRID` and at a given step (section 6).
- :func:`similarity_summary`: [W25]'s value difference and implicit weight similarity of a
  :func:`~icrl_lib.training.td_pretraining_sweep`, mean and Student-t half-width over seeds.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .._validation import as_tensor, check_real, check_shape
from ..incontext import td_construction, td_prompt
from ..rl import mean_and_t_interval
from .td_pretraining import (STEP_GRID, BoyanTasks, TDPretrainingResult, boyan_task_values, construction_values,
                             evaluation_set, expected_td_weights, msve, reference_weights, td_structure_metrics,
                             value_estimates)
from ._checks import check_seeds

__all__ = ["linear_msve", "reference_msve", "ContextLengthCurves", "context_length_curves", "AlignedLayer",
           "align_layer", "StepSizeComparison", "step_size_comparison", "similarity_summary"]

_F64 = torch.float64


def _check_tasks(tasks) -> BoyanTasks:
    if not isinstance(tasks, BoyanTasks):
        raise ValueError(f"tasks must be BoyanTasks; got {type(tasks).__name__}")
    return tasks


def _check_grid(values, name: str) -> list[int]:
    return check_seeds(values, name, minimum=1)


def linear_msve(w, tasks: BoyanTasks) -> torch.Tensor:
    """MSVE ``sum_s mu(s) (w^T x(s) - v(s))^2`` of the linear values ``X w`` of each chain (chapter 3), (B,).

    ``w`` (B, d) or (d,) (one weight for every chain), ``tasks`` :class:`~icrl_lib.training.BoyanTasks`.
    """
    tasks = _check_tasks(tasks)
    d = tasks.features.shape[-1]
    w = as_tensor(w, "w", dtype=_F64)
    check_shape(w, "w", (d,))
    values, mu = boyan_task_values(tasks)
    return msve((tasks.features.to(_F64) @ w.unsqueeze(-1)).squeeze(-1), values, mu)


def reference_msve(tasks: BoyanTasks) -> dict[str, float]:
    """Mean MSVE over the chains of :func:`~icrl_lib.training.reference_weights` (chapter 3): ``"v = 0"``,
    ``"TD fixed point"`` and ``"best linear fit"`` -> float. None of them uses a context."""
    tasks = _check_tasks(tasks)
    return {k: float(linear_msve(w, tasks).mean()) for k, w in reference_weights(tasks).items()}


class ContextLengthCurves(NamedTuple):
    """The construction against the context length (chapter 3, section 5); dicts keyed by the depth ``L``.

    ``msve[L]``: mean MSVE over the chains at each ``n`` of ``n_grid``; ``limits[L]``: the mean MSVE of ``L``
    expected TD steps (the limit ``n -> infinity``); ``gaps[L]``: mean ``mu``-weighted squared distance to
    that limit's values at each ``n``; ``references``: :func:`reference_msve`.
    """

    n_grid: list
    depths: list
    msve: dict
    limits: dict
    gaps: dict
    references: dict


def context_length_curves(tasks: BoyanTasks, features, rewards, n_grid, depths, alpha: float = 1.0
                          ) -> ContextLengthCurves:
    """MSVE of ``L`` masked construction layers with ``C = alpha I`` against ``n`` (chapter 3, section 5).

    ``features`` (B, T, d) are ``x(s_0), ..., x(s_{T-1})`` along one trajectory per chain and ``rewards``
    (B, T - 1) the rewards ``r(s_j)`` (:func:`~icrl_lib.training.task_trajectories`); the context of length
    ``n`` is the first ``n`` transitions, and every state of the chain is evaluated as its query
    (:func:`~icrl_lib.training.construction_values`). ``n_grid``: context lengths (each ``<= T - 1``);
    ``depths``: the ``L`` to evaluate. The limit ``n -> infinity`` is ``L`` steps of the expected update
    (:func:`~icrl_lib.training.expected_td_weights`).
    """
    tasks = _check_tasks(tasks)
    B, S, d = tasks.features.shape
    features = as_tensor(features, "features", dtype=_F64)
    check_shape(features, "features", (None, d))
    if features.dim() != 3 or features.shape[0] != B:
        raise ValueError(f"features must have shape ({B}, T, {d}); got {tuple(features.shape)}")
    T = features.shape[1]
    rewards = as_tensor(rewards, "rewards", dtype=_F64)
    if tuple(rewards.shape) != (B, T - 1):
        raise ValueError(f"rewards must have shape ({B}, {T - 1}); got {tuple(rewards.shape)}")
    n_grid = _check_grid(n_grid, "n_grid")
    if max(n_grid) > T - 1:
        raise ValueError(f"n_grid must not exceed the {T - 1} transitions of the trajectories; got {max(n_grid)}")
    depths = _check_grid(depths, "depths")
    alpha = check_real(alpha, "alpha")
    values, mu = boyan_task_values(tasks)
    X, gamma = tasks.features.to(_F64), tasks.mrp.gamma
    out = ContextLengthCurves(n_grid, depths, {}, {}, {}, reference_msve(tasks))
    for L in depths:
        v_lim = (X @ expected_td_weights(tasks, L, alpha * torch.eye(d, dtype=_F64)).unsqueeze(-1)).squeeze(-1)
        out.limits[L] = float(msve(v_lim, values, mu).mean())
        out.msve[L], out.gaps[L] = [], []
        for n in n_grid:
            context = td_prompt(features[:, :n], features[:, 1:n + 1], rewards[:, :n], torch.zeros(d, dtype=_F64),
                                gamma)[..., :-1]
            v_hat = construction_values(context, X, L, alpha)
            out.msve[L].append(float(msve(v_hat, values, mu).mean()))
            out.gaps[L].append(float(msve(v_hat, v_lim, mu).mean()))
    return out


class AlignedLayer(NamedTuple):
    """A trained layer read against the construction (chapter 3): ``sign`` ``s``, the sign-aligned ``P`` and
    ``V`` (D, D), ``v_corner`` ``= s V[2d+1, 2d+1]``, ``p_scale`` ``c``, the construction drawn with these scales
    ``P_construction = c P*`` and ``V_construction = v e e^T``, and the ``effective_step`` ``v c`` (the step of
    the construction ``C = v c I`` that the layer would be if it were a scaled construction)."""

    sign: float
    P: torch.Tensor
    V: torch.Tensor
    v_corner: float
    p_scale: float
    P_construction: torch.Tensor
    V_construction: torch.Tensor
    effective_step: float


def align_layer(P, V, d: int) -> AlignedLayer:
    """Sign-align a layer ``(P, V)`` (each (2d+1, 2d+1)) and draw the construction with its scales (chapter 3).

    ``s = sign(V[2d+1, 2d+1])`` (``(P, V)`` and ``(sP, sV)`` compute the same map); ``c`` is
    :func:`~icrl_lib.training.td_structure_metrics`'s ``p_scale``.
    """
    metrics = td_structure_metrics(P, V, d)  # validates P, V and d
    P, V = as_tensor(P, "P").detach().double(), as_tensor(V, "V").detach().double()
    s = 1.0 if float(V[-1, -1]) >= 0 else -1.0
    v, c = s * float(V[-1, -1]), metrics["p_scale"]
    P_star, V_star = td_construction(d, 1)[0]
    return AlignedLayer(s, s * P, s * V, v, c, c * P_star, v * V_star, v * c)


class StepSizeComparison(NamedTuple):
    """A trained model against the construction on its held-out chains (chapter 3, section 6).

    ``trained``: its mean MSVE; ``grid``: the construction's mean MSVE at each ``alpha`` of ``step_grid``
    (``C = alpha I``, same depth and contexts); ``best_step``: the grid's best ``alpha``; ``effective_step``
    and ``at_effective_step``: the given step and the construction's MSVE there; ``references``:
    :func:`reference_msve` of the held-out chains.
    """

    trained: float
    step_grid: tuple
    grid: list
    best_step: float
    effective_step: float
    at_effective_step: float
    references: dict


def step_size_comparison(result: TDPretrainingResult, effective_step: float) -> StepSizeComparison:
    """The held-out MSVE of ``result.model`` and of the construction on :data:`~icrl_lib.training.STEP_GRID`
    and at ``effective_step`` (chapter 3), on :func:`~icrl_lib.training.evaluation_set` ``(result.config)``,
    the chains :func:`~icrl_lib.training.td_pretrain` logs its ``eval_msve`` on."""
    if not isinstance(result, TDPretrainingResult):
        raise ValueError(f"result must be a TDPretrainingResult; got {type(result).__name__}")
    effective_step = check_real(effective_step, "effective_step")
    cfg, ev = result.config, evaluation_set(result.config)
    X, L = ev.tasks.features, cfg.n_layers
    with torch.no_grad():
        v_model = value_estimates(result.model, ev.context.float(), X.float()).double()

    def construction_msve(alpha):
        return float(msve(construction_values(ev.context, X, L, alpha), ev.values, ev.weights).mean())

    grid = [construction_msve(a) for a in STEP_GRID]
    best = STEP_GRID[min(range(len(grid)), key=grid.__getitem__)]
    return StepSizeComparison(float(msve(v_model, ev.values, ev.weights).mean()), STEP_GRID, grid, best,
                              effective_step, construction_msve(effective_step), reference_msve(ev.tasks))


def similarity_summary(runs) -> dict:
    """[W25]'s metrics over the seeds of a :func:`~icrl_lib.training.td_pretraining_sweep` (chapter 3).

    ``runs``: the sweep's ``"runs"`` (dicts with ``shared`` and the ``initial_``/``final_`` value difference and
    implicit weight similarity, and ``reference_value_scale``), at least two per parameter sharing. Returns
    ``{(mode, metric, when): (mean, half_width)}`` with ``mode`` ``"shared"``/``"sequential"``, ``metric``
    ``"value_difference"``/``"implicit_weight_similarity"``, ``when`` ``"initial"``/``"final"`` (and ``"v = 0"``
    for the value difference of ``v_hat = 0``), the half-width that of the 95% Student-t interval.
    """
    keys = ("shared", "initial_value_difference", "final_value_difference", "initial_implicit_weight_similarity",
            "final_implicit_weight_similarity", "reference_value_scale")
    if not isinstance(runs, (list, tuple)) or not runs:
        raise ValueError(f"runs must be a non-empty list of sweep runs; got {type(runs).__name__}")
    for r in runs:
        if not isinstance(r, dict) or not set(keys) <= set(r):
            raise ValueError(f"runs must hold td_pretraining_sweep runs (dicts with keys {keys})")
    out = {}
    for shared, mode in ((True, "shared"), (False, "sequential")):
        rs = [r for r in runs if bool(r["shared"]) == shared]
        if not rs:
            continue
        if len(rs) < 2:
            raise ValueError(f"runs must hold at least 2 {mode} runs for an interval; got {len(rs)}")
        columns = {(mode, key, when): [r[f"{when}_{key}"] for r in rs]
                   for key in ("value_difference", "implicit_weight_similarity") for when in ("initial", "final")}
        columns[(mode, "value_difference", "v = 0")] = [r["reference_value_scale"] for r in rs]
        for k, col in columns.items():
            mean, half = mean_and_t_interval(torch.tensor(col, dtype=_F64))
            out[k] = (float(mean), float(half))
    return out
