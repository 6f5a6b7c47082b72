"""Trained blocks as in-context controllers: loading a committed block, the control runs and the error
measurements of chapter 7.

Notation of [LL26] and the book (chapters 4-7): a block is a pair ``(P, V)``, each ``D x D``; a prompt ``H`` is
``(D, N+1)`` (``N`` transition columns and the query column); the parameters are ``params`` ``(..., d)``
(``d = dist.n_params``: ``w`` for SARSA, ``(w, theta)`` for actor-critic). An *agent* is an update
``update(params (..., d), transitions (..., N)) -> params (..., d)`` (:mod:`icrl_lib.incontext.agents`), and
control runs go through the one outer loop :func:`icrl_lib.rl.run_control` over ``B`` held-out MDPs, whose
normalised returns are ``(B, K+1)`` (round 0: the initial parameters).

Chapter 7 loads the blocks of chapter 6 (:func:`result_from_record`), compares them with their teachers on
held-out MDPs (:func:`normalized_control`, :func:`block_and_teacher`, :func:`paired_summary`), measures the
one-step error ``||U_block(H) - U_teacher(H)|| / ||U_teacher(H) - params||`` (:func:`one_step_errors`,
:func:`scale_sweep`) and records long runs (:func:`recording_agent`, :func:`frozen_when_diverged`).
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, replace
from typing import Callable

import torch

from .._validation import as_tensor, check_int, check_positive, check_shape
from ..incontext import (PromptBatch, PromptDistribution, behaviour_parameters, behaviour_policy_fn, block_agent,
                         parameter_roles, sample_prompt_batch, teacher_agent)
from ..rl import TabularMDP, mean_and_ci95, reference_returns, run_control
from .teacher_mimicking import TeacherMimickingConfig, TeacherMimickingResult, block_readout

__all__ = ["result_from_record", "query_pair_norm", "training_report", "block_and_teacher", "normalized_control",
           "paired_summary", "one_step_errors", "scale_sweep", "recording_agent", "frozen_when_diverged"]

_F64 = torch.float64


def _check_dist(dist) -> PromptDistribution:
    if not isinstance(dist, PromptDistribution):
        raise ValueError(f"dist must be a PromptDistribution; got {type(dist).__name__}")
    return dist


def _check_block(P, V, dist: PromptDistribution) -> tuple[torch.Tensor, torch.Tensor]:
    D = dist.layout.dim
    P, V = as_tensor(P, "P", dtype=_F64), as_tensor(V, "V", dtype=_F64)
    check_shape(P, "P", (D, D), batch=False)
    check_shape(V, "V", (D, D), batch=False)
    return P, V


def _check_result(result) -> TeacherMimickingResult:
    if not isinstance(result, TeacherMimickingResult):
        raise ValueError(f"result must be a TeacherMimickingResult; got {type(result).__name__}")
    return result


def result_from_record(record, config: TeacherMimickingConfig) -> TeacherMimickingResult:
    """The :class:`TeacherMimickingResult` of a committed ``teacher-mimicking --save-block`` record (chapter 7).

    ``record`` is the loaded JSON (``icrl_lib.notebook.load_result``) with ``P``, ``V`` (D x D lists), ``history``
    and ``config``; ``config`` is the configuration it must have been trained with (``experiments.default_config``):
    a record of another protocol is refused.
    """
    if not isinstance(record, Mapping) or not {"P", "V", "history", "config"} <= set(record):
        raise ValueError("record must be a saved block: a dict with keys 'P', 'V', 'history' and 'config'")
    if not isinstance(config, TeacherMimickingConfig):
        raise ValueError(f"config must be a TeacherMimickingConfig; got {type(config).__name__}")
    if record["config"] != json.loads(json.dumps(asdict(config))):
        raise ValueError("config: the record was trained with another configuration")
    P, V = _check_block(record["P"], record["V"], config.dist)
    return TeacherMimickingResult(P, V, config, dict(record["history"]))


def query_pair_norm(P, V, dist: PromptDistribution) -> float:
    """Frobenius norm of the query pair ``(P_param,param, V_out,param)`` of a block (zero for the construction;
    chapters 6-7): the entries that act only through the query's own column, with weight ``1/N``."""
    dist = _check_dist(dist)
    P, V = _check_block(P, V, dist)
    mP, mV = parameter_roles(dist)["query"]
    return float(torch.cat([P[mP], V[mV]]).norm())


def training_report(result) -> dict:
    """The final recovery metrics of a training run and the norm of its query pair (chapter 7's table):
    ``relative_error_P``, ``relative_error_V``, ``eval_loss``, ``query_pair_norm``."""
    result = _check_result(result)
    m = result.final_metrics()
    return {"relative_error_P": m["relative_error_P"], "relative_error_V": m["relative_error_V"],
            "eval_loss": m["eval_loss"], "query_pair_norm": query_pair_norm(result.P, result.V, result.config.dist)}


def block_and_teacher(P, V, dist: PromptDistribution, mask: bool = False) -> dict:
    """``{"transformer": block agent of (P, V), "teacher": the explicit update}`` on ``dist`` (chapter 7)."""
    dist = _check_dist(dist)
    P, V = _check_block(P, V, dist)
    return {"transformer": block_agent(P, V, dist, mask=mask), "teacher": teacher_agent(dist)}


def normalized_control(mdps: TabularMDP, agents, dist: PromptDistribution, n_rounds: int, seed: int,
                       temperature: float | None = None, references=None) -> dict:
    """Normalised returns ``{name: (B, K+1)}`` of ``agents`` on the ``B`` MDPs ``mdps`` (chapter 7).

    All agents start from zero parameters ``(d,)``, act with the behaviour policy of ``dist`` at
    ``temperature`` (default ``dist.temperature``), see ``N = dist.n_transitions`` transitions per round with
    ``dist.reward_noise``, and share the sampling ``seed`` (common random numbers; :func:`icrl_lib.rl.run_control`).
    ``references`` = ``(J_random, J_star)``, each ``(B,)`` (:func:`icrl_lib.rl.reference_returns`, computed if None).
    """
    dist = _check_dist(dist)
    if not isinstance(mdps, TabularMDP):
        raise ValueError(f"mdps must be a TabularMDP; got {type(mdps).__name__}")
    n_rounds = check_int(n_rounds, "n_rounds", minimum=0)
    seed = check_int(seed, "seed", minimum=0)
    policy = behaviour_policy_fn(dist, temperature)
    J_random, J_star = reference_returns(mdps) if references is None else references
    res = run_control(mdps, agents, policy, torch.zeros(dist.n_params, dtype=_F64), n_rounds, dist.n_transitions,
                      seed=seed, reward_noise=dist.reward_noise)
    return res.normalized(J_random, J_star)


def paired_summary(normalized, a: str = "transformer", b: str = "teacher", round: int = -1) -> dict:
    """Means and 95% half-widths over MDPs at one ``round`` (default the last) of ``normalized[a]``,
    ``normalized[b]`` (each (B, K+1)) and of their paired difference: ``{a: (m, h), b: (m, h), "difference":
    (m, h)}`` (chapter 7; :func:`icrl_lib.rl.mean_and_ci95`)."""
    if not isinstance(normalized, Mapping) or a not in normalized or b not in normalized:
        raise ValueError(f"normalized must be a dict with the agents {a!r} and {b!r}")
    if not isinstance(round, int) or isinstance(round, bool):
        raise ValueError(f"round must be an int; got {round!r}")
    x, y = (as_tensor(normalized[n], f"normalized[{n!r}]", dtype=_F64) for n in (a, b))
    if x.dim() != 2 or x.shape != y.shape or x.shape[0] < 2:
        raise ValueError(f"normalized[{a!r}] and [{b!r}] must both be (B, K+1) with B >= 2; got "
                         f"{tuple(x.shape)} and {tuple(y.shape)}")
    if not -x.shape[1] <= round < x.shape[1]:
        raise ValueError(f"round must index one of the {x.shape[1]} rounds; got {round}")
    x, y = x[:, round], y[:, round]
    return {a: mean_and_ci95(x), b: mean_and_ci95(y), "difference": mean_and_ci95(x - y)}


def one_step_errors(P, V, batch: PromptBatch, dist: PromptDistribution, mask: bool = False) -> torch.Tensor:
    """Per prompt, ``||readout(LSA_{P,V}(H)) - target|| / ||target - params||`` ``(B,)``: the block's error
    relative to the teacher's step on the prompts ``batch`` (``H`` (B, D, N+1)) of ``dist`` (chapter 7)."""
    dist = _check_dist(dist)
    P, V = _check_block(P, V, dist)
    if not isinstance(batch, PromptBatch):
        raise ValueError(f"batch must be a PromptBatch; got {type(batch).__name__}")
    if batch.H.shape[-2] != dist.layout.dim:
        raise ValueError(f"batch must hold prompts of {dist.layout.dim} rows; got H of shape {tuple(batch.H.shape)}")
    out = block_readout(P, V, batch.H, dist.output_rows, mask=mask)
    return (out - batch.target).norm(dim=-1) / (batch.target - batch.params).norm(dim=-1)


def scale_sweep(P, V, dist: PromptDistribution, scales: Sequence[float], n_prompts: int = 1024,
                seed: int = 0) -> dict:
    """Off the training distribution: for each scale ``c``, ``n_prompts`` prompts of ``dist`` with parameters
    ``w, theta ~ N(0, c^2 I)`` (same ``seed``); lists over ``scales`` of the medians of the one-step error
    (``"block"``), of the same with the query masked as a source (``"masked"``) and of the teacher's step
    ``||target - params||`` (``"step"``) (chapter 7)."""
    dist = _check_dist(dist)
    P, V = _check_block(P, V, dist)
    if isinstance(scales, (str, bytes)) or not isinstance(scales, Sequence) or not scales:
        raise ValueError(f"scales must be a non-empty sequence of positive numbers; got {scales!r}")
    scales = [check_positive(c, "scales") for c in scales]
    n_prompts, seed = check_int(n_prompts, "n_prompts"), check_int(seed, "seed", minimum=0)
    out = {"block": [], "masked": [], "step": []}
    for c in scales:
        dist_c = replace(dist, w_scale=c, theta_scale=c)
        batch = sample_prompt_batch(dist_c, n_prompts, torch.Generator().manual_seed(seed))
        out["block"].append(float(one_step_errors(P, V, batch, dist_c).median()))
        out["masked"].append(float(one_step_errors(P, V, batch, dist_c, mask=True).median()))
        out["step"].append(float((batch.target - batch.params).norm(dim=-1).median()))
    return out


def recording_agent(update: Callable, dist: PromptDistribution, log: list) -> Callable:
    """``update`` (an agent on ``dist``) that appends, each round, what it saw and did to ``log`` (chapter 7).

    Each entry: ``params_in`` (B, d), ``params`` (B, d) its output, ``target`` (B, d) the teacher's update of
    ``params_in``, ``transitions`` (fields (B, N)), ``eps`` (B,) ``||params - target||``, ``step`` (B,)
    ``||target - params_in||``, ``rel`` = eps / step and ``norm`` (B,) the norm of the behaviour parameters of
    ``params_in`` (:func:`icrl_lib.incontext.behaviour_parameters`).
    """
    if not callable(update):
        raise ValueError(f"update must be an agent update(params, transitions); got {type(update).__name__}")
    dist = _check_dist(dist)
    if not isinstance(log, list):
        raise ValueError(f"log must be a list to append to; got {type(log).__name__}")
    teacher = teacher_agent(dist)

    def wrapped(params, transitions):
        out = update(params, transitions)
        target = teacher(params, transitions)
        err, step = (out - target).norm(dim=-1), (target - params).norm(dim=-1)
        log.append({"params_in": params, "params": out, "target": target, "transitions": transitions,
                    "eps": err, "rel": err / step, "step": step,
                    "norm": behaviour_parameters(dist, params).norm(dim=-1)})
        return out
    return wrapped


def frozen_when_diverged(update: Callable, limit: float = 1e3) -> Callable:
    """``update`` whose output is replaced by its input ``params`` wherever it is non-finite or of norm above
    ``limit`` (chapter 7: a diverging block stays frozen in that MDP instead of stopping the loop)."""
    if not callable(update):
        raise ValueError(f"update must be an agent update(params, transitions); got {type(update).__name__}")
    limit = check_positive(limit, "limit")

    def wrapped(params, transitions):
        out = update(params, transitions)
        bad = ~torch.isfinite(out).all(-1) | (out.norm(dim=-1) > limit)
        return torch.where(bad[..., None], params, out)
    return wrapped
