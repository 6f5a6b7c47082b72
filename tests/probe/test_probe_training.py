"""Bad-input probe of icrl_lib.training (see _probe.py).

Every case is cheap: bad inputs must be refused before any training; the legitimate cases train tiny models for
one or two steps.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pytest
import torch

from icrl_lib import training as lib
from icrl_lib.attention import LinearTransformer
from icrl_lib.incontext import PromptDistribution, sample_prompt_batch, td_sliding_prompts
from icrl_lib.rl import BernoulliBandit, DarkRoom, LinearBandit, uniform

from ._probe import Case, collect, params, run_case

NAN, INF = float("nan"), float("inf")
F64 = torch.float64


# ------------------------------------------------------------------------------------------ tiny fixtures

@lru_cache(None)
def _dist():
    return PromptDistribution(n_states=2, n_actions=2, n_transitions=4)


def _D():
    return _dist().layout.dim


@lru_cache(None)
def _batch():
    return sample_prompt_batch(_dist(), 3, torch.Generator().manual_seed(0))


def _rows():
    return _dist().output_rows


@lru_cache(None)
def _qm():
    return lib.query_moments(_batch())


def _PV(scale=0.1):
    g = torch.Generator().manual_seed(1)
    D = _D()
    return scale * torch.randn(D, D, generator=g, dtype=F64), scale * torch.randn(D, D, generator=g, dtype=F64)


def _PV1():
    return tuple(x[None, None] for x in _PV())


def _masks():
    D = _D()
    mP = torch.zeros(D, D, dtype=torch.bool)
    mV = torch.zeros(D, D, dtype=torch.bool)
    mP[0, -1] = True
    mV[_rows()[0], 0] = True
    return mP, mV


@lru_cache(None)
def _boyan():
    return lib.sample_boyan_tasks(2, 3, 1, 0.9, 0)


def _traj(T=6, d=1):
    g = torch.Generator().manual_seed(0)
    return torch.rand(2, T, d, generator=g, dtype=F64), torch.rand(2, T - 1, generator=g, dtype=F64)


def _td_model(mask=True):
    return LinearTransformer(3, 1, mask=mask, dtype=F64)


def _moments():
    f, r = _traj()
    return lib.window_moments(f, r, 2, 0.9)


def _td_prompts():
    f, r = _traj()
    return td_sliding_prompts(f[..., :-1, :], r, 2, 0.9)


def _ctx():
    return torch.rand(2, 3, 2, generator=torch.Generator().manual_seed(0), dtype=F64)


def _td_cfg(**kw):
    base = dict(d=1, n_states=3, n=2, n_layers=1, n_steps=1, tasks_per_step=1, windows_per_task=2, log_every=1,
                n_eval_tasks=2)
    return lib.TDPretrainingConfig(**{**base, **kw})


def _tm_cfg(**kw):
    base = dict(dist=_dist(), n_steps=1, batch_size=2, log_every=1, n_eval_prompts=2)
    return lib.TeacherMimickingConfig(**{**base, **kw})


def _stack_cfg(**kw):
    base = dict(dist=_dist(), n_steps=1, batch_size=2, pool_size=4, log_every=1, n_eval_prompts=2)
    return lib.StackMimickingConfig(**{**base, **kw})


def _sm_cfg(**kw):
    base = dict(n_states=3, d=1, n=2, n_layers=1, n_steps=1, batch_size=2)
    return lib.SoftmaxPretrainingConfig(**{**base, **kw})


@lru_cache(None)
def _sm_tasks():
    return lib.sample_softmax_td_tasks(2, 3, 1, 2, 0.8, 0)


def _sm_model():
    return lib.construction_model(1, 1, 0.8, 0.5)


def _reg():
    return lib.sample_regression_tasks(3, 4, 2, 0)


@lru_cache(None)
def _bern():
    return BernoulliBandit.sample(2, 2, 0)


@lru_cache(None)
def _linb():
    return LinearBandit.sample(2, 2, 3, 1.0, 0)


def _dt(token_dim=None, n_actions=2):
    token_dim = token_dim or lib.bandit_token_dim(_bern())
    return lib.CausalTransformerPolicy(token_dim, n_actions, n_layers=1, d_model=4, n_heads=1, max_len=8)


def _btok():
    a = torch.tensor([[0, 1, 1], [1, 0, 0]])
    r = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]], dtype=F64)
    return lib.bandit_tokens(_bern(), a, r), a


@lru_cache(None)
def _room():
    return DarkRoom(torch.tensor([3]), 2, 3)


def _room_tr(n=2):
    return _room().random_transitions(n, 0)


def _spectrum():
    return lib.hessian_spectrum(torch.diag(torch.tensor([0.0, 1.0, 2.0], dtype=F64)))


def _metrics(**kw):
    return {"v_mass": 0.9, "p_rel_error": 0.1, "p_xx": -1.0, "p_xxn": 1.0, **kw}


def _is_tensor_shape(shape):
    return lambda r: isinstance(r, torch.Tensor) and tuple(r.shape) == shape and bool(torch.isfinite(r).all())


def _finite_float(r):
    return isinstance(r, float) and math.isfinite(r)


def _cfg_cases(cls, bad, base=None):
    """One case per (field, bad value): building ``cls`` with it must raise naming the field."""
    out = []
    for field, kind, value in bad:
        out.append(Case(cls.__name__, kind, (lambda f=field, v=value: cls(**{**(base or {}), f: v})), field,
                        note=f"{field}={value!r}"))
    out.append(Case(cls.__name__, "legit", lambda: cls(**(base or {})), None, check=lambda c: c is not None,
                    note="defaults"))
    return out


CASES: list[Case] = []

# ------------------------------------------------------------------------------------------ configs

CASES += _cfg_cases(lib.TDPretrainingConfig, [
    ("d", "range", 0), ("d", "type", 1.5), ("n_states", "range", 2), ("n", "range", 0), ("n_layers", "range", 0),
    ("gamma", "range", 1.0), ("gamma", "nonfinite", NAN), ("shared", "type", "yes"), ("n_steps", "range", -5),
    ("tasks_per_step", "range", 0), ("windows_per_task", "range", 0), ("lr", "range", 0.0),
    ("lr", "nonfinite", INF), ("weight_decay", "range", -1.0), ("init_gain", "range", -1.0),
    ("init_gain", "nonfinite", NAN), ("grad_clip", "range", 0.0), ("seed", "range", -1), ("seed", "type", "0"),
    ("log_every", "range", 0), ("n_eval_tasks", "range", 0)])
CASES += _cfg_cases(lib.TeacherMimickingConfig, [
    ("dist", "type", "sarsa"), ("optimizer", "range", "sgd"), ("lr", "range", -1.0), ("lr", "nonfinite", NAN),
    ("n_steps", "range", 0), ("batch_size", "range", 0), ("init_scale", "range", -0.1),
    ("balanced_init", "type", "yes"), ("fixed_dataset", "type", 1), ("mask", "type", None), ("seed", "range", -1),
    ("log_every", "range", 0), ("n_eval_prompts", "range", 0), ("dtype", "range", "float16")])
CASES += _cfg_cases(lib.SoftmaxPretrainingConfig, [
    ("n_states", "range", 2), ("d", "range", 0), ("n", "range", 0), ("gamma", "range", 1.5),
    ("gamma", "nonfinite", NAN), ("n_layers", "range", 0), ("masked", "type", "yes"), ("n_steps", "range", -5),
    ("batch_size", "range", 0), ("lr", "range", 0.0), ("init_scale", "range", -1.0), ("init_scale", "nonfinite", INF),
    ("seed", "range", -1), ("seed", "type", 1.0)])
CASES += _cfg_cases(lib.StackMimickingConfig, [
    ("dist", "type", None), ("n_layers", "range", 0), ("n_heads", "range", 0), ("target_steps", "range", 0),
    ("features", "range", 0), ("features", "type", 2.5), ("lr", "range", 0.0), ("n_steps", "range", 0),
    ("batch_size", "range", 0), ("pool_size", "range", 0), ("init_scale", "range", -1.0),
    ("init_scale", "nonfinite", NAN), ("seed", "range", -1), ("log_every", "range", 0),
    ("n_eval_prompts", "range", 0)])
CASES += _cfg_cases(lib.SupervisedMDPConfig, [
    ("dist", "type", 3), ("n_train_mdps", "range", 0), ("n_layers", "range", 0), ("d_model", "range", 0),
    ("n_heads", "range", 0), ("n_heads", "range", 3), ("n_steps", "range", 0), ("batch_size", "range", 0),
    ("lr", "range", -1.0), ("lr", "nonfinite", NAN), ("n_eval_mdps", "range", 1), ("held_out_seed", "range", -1),
    ("context_seed", "range", -1), ("seed", "range", -1)])
CASES += _cfg_cases(lib.BanditPretrainingConfig, [
    ("bandit", "range", "linear"), ("n_arms", "range", 1), ("sigma", "range", -1.0), ("sigma", "nonfinite", NAN),
    ("horizon", "range", 0), ("labels", "range", "bc"), ("context", "range", "ts"), ("alpha", "range", 2.0),
    ("ucb_c", "range", -1.0), ("ucb_c", "nonfinite", INF), ("n_train_tasks", "range", 0),
    ("n_eval_tasks", "range", 1), ("n_layers", "range", 0), ("d_model", "range", 0), ("n_heads", "range", 0),
    ("n_heads", "range", 5), ("attention", "range", "linear"), ("n_steps", "range", 0), ("batch_size", "range", 0),
    ("lr", "range", 0.0), ("seed", "range", -1), ("offline_sizes", "range", (100,)),
    ("offline_sizes", "range", (0,)), ("offline_sizes", "type", (5.5,)), ("offline_sizes", "type", 5),
    ("mixture", "range", "step")])
CASES += _cfg_cases(lib.DarkRoomConfig, [
    ("size", "range", 0), ("size", "range", 1), ("horizon", "range", 0), ("n_test_goals", "range", 0),
    ("n_test_goals", "range", 25), ("context_len", "range", 0), ("n_contexts", "range", 0), ("n_layers", "range", 0),
    ("d_model", "range", 0), ("n_heads", "range", 0), ("n_heads", "range", 3), ("attention", "range", "linear"),
    ("n_steps", "range", 0), ("batch_size", "range", 0), ("lr", "range", 0.0), ("lr", "nonfinite", NAN),
    ("n_episodes", "range", 0), ("n_repeats", "range", 0),
    ("n_repeats", "type", 2.0), ("encoding", "range", "rgb"), ("seed", "range", -1)])
CASES += _cfg_cases(lib.ADLinUCBConfig, [
    ("d", "range", 0), ("n_arms", "range", 1), ("horizon", "range", 0), ("sigma", "range", -1.0),
    ("sigma", "nonfinite", NAN), ("alpha", "range", -1.0), ("alpha", "nonfinite", INF), ("lam", "range", 0.0),
    ("tau", "range", 0.0), ("n_train_tasks", "range", 0), ("n_eval_tasks", "range", 1), ("n_layers", "range", 0),
    ("d_model", "range", 0), ("n_heads", "range", 0), ("n_heads", "range", 3), ("attention", "range", "foo"),
    ("n_steps", "range", 0), ("batch_size", "range", 0), ("lr", "range", 0.0), ("construction_layers", "range", 0),
    ("construction_width", "range", 0), ("seed", "range", -1), ("seed", "type", "0")])

# ------------------------------------------------------------------------------------------ TD pretraining

CASES += [
    Case("sample_boyan_tasks", "range", lambda: lib.sample_boyan_tasks(0, 3, 1, 0.9, 0), "n_tasks"),
    Case("sample_boyan_tasks", "range", lambda: lib.sample_boyan_tasks(2, 2, 1, 0.9, 0), "n_states"),
    Case("sample_boyan_tasks", "range", lambda: lib.sample_boyan_tasks(2, 3, 0, 0.9, 0), "d"),
    Case("sample_boyan_tasks", "range", lambda: lib.sample_boyan_tasks(2, 3, 1, 1.5, 0), "gamma"),
    Case("sample_boyan_tasks", "nonfinite", lambda: lib.sample_boyan_tasks(2, 3, 1, NAN, 0), "gamma"),
    Case("sample_boyan_tasks", "type", lambda: lib.sample_boyan_tasks(2, 3, 1, 0.9, "seed"), "generator"),
    Case("sample_boyan_tasks", "legit", lambda: lib.sample_boyan_tasks(2, 3, 1, 0.9, torch.Generator()), None,
         check=lambda t: t.features.shape == (2, 3, 1)),
    Case("boyan_task_values", "type", lambda: lib.boyan_task_values("tasks"), "tasks"),
    Case("boyan_task_values", "legit", lambda: lib.boyan_task_values(_boyan()), None,
         check=lambda r: r[0].shape == (2, 3) and torch.allclose(r[1].sum(-1), torch.ones(2, dtype=F64))),
    Case("task_trajectories", "type", lambda: lib.task_trajectories("tasks", 4, 0), "tasks"),
    Case("task_trajectories", "range", lambda: lib.task_trajectories(_boyan(), 1, 0), "length"),
    Case("task_trajectories", "type", lambda: lib.task_trajectories(_boyan(), 4, 0.5), "generator"),
    Case("task_trajectories", "legit", lambda: lib.task_trajectories(_boyan(), 4, 0), None,
         check=lambda r: r[0].shape == (2, 4, 1) and r[1].shape == (2, 3)),
    Case("window_moments", "shape", lambda: lib.window_moments(torch.zeros(6), torch.zeros(5), 2, 0.9), "features"),
    Case("window_moments", "shape", lambda: lib.window_moments(*_traj()[:1], torch.zeros(2, 4), 2, 0.9), "rewards"),
    Case("window_moments", "nonfinite",
         lambda: lib.window_moments(_traj()[0] * NAN, _traj()[1], 2, 0.9), "features"),
    Case("window_moments", "nonfinite",
         lambda: lib.window_moments(_traj()[0], _traj()[1] * INF, 2, 0.9), "rewards"),
    Case("window_moments", "dtype", lambda: lib.window_moments(np.array([["a"]] * 6), _traj()[1], 2, 0.9),
         "features"),
    Case("window_moments", "range", lambda: lib.window_moments(*_traj(), 0, 0.9), "n"),
    Case("window_moments", "range", lambda: lib.window_moments(*_traj(), 4, 0.9), "features"),
    Case("window_moments", "range", lambda: lib.window_moments(*_traj(), 2, 1.0), "gamma"),
    Case("window_moments", "empty", lambda: lib.window_moments(torch.zeros(6, 0), torch.zeros(5), 2, 0.9),
         "features"),
    Case("window_moments", "batch",
         lambda: lib.window_moments(_traj()[0], torch.zeros(3, 5, dtype=F64), 2, 0.9), "batch"),
    Case("window_moments", "type", lambda: lib.window_moments(*_traj(), 2, 0.9, dtype="float32"), "dtype"),
    Case("window_moments", "legit", lambda: lib.window_moments(*_traj(), 2, 0.9), None,
         check=lambda m: m.moment.shape == (2, 3, 3, 3) and m.query_rewards.shape == (2, 2)),
    Case("values_from_moments", "type", lambda: lib.values_from_moments("model", _moments()), "model"),
    Case("values_from_moments", "type", lambda: lib.values_from_moments(_td_model(), (1, 2)), "moments"),
    Case("values_from_moments", "shape",
         lambda: lib.values_from_moments(LinearTransformer(5, 1, dtype=F64), _moments()), "moments"),
    Case("values_from_moments", "legit", lambda: lib.values_from_moments(_td_model(), _moments()), None,
         check=_is_tensor_shape((2, 3))),
    Case("moment_td_loss", "range", lambda: lib.moment_td_loss(_td_model(), _moments(), 1.5), "gamma"),
    Case("moment_td_loss", "nonfinite", lambda: lib.moment_td_loss(_td_model(), _moments(), NAN), "gamma"),
    Case("moment_td_loss", "type", lambda: lib.moment_td_loss(_td_model(), "m", 0.9), "moments"),
    Case("moment_td_loss", "type", lambda: lib.moment_td_loss(None, _moments(), 0.9), "model"),
    Case("moment_td_loss", "legit", lambda: lib.moment_td_loss(_td_model(), _moments(), 0.9), None,
         check=_is_tensor_shape(())),
    Case("td_pretraining_loss", "shape",
         lambda: lib.td_pretraining_loss(_td_model(), torch.zeros(3, 3), torch.zeros(1), 0.9), "Z"),
    Case("td_pretraining_loss", "shape",
         lambda: lib.td_pretraining_loss(_td_model(), *(_td_prompts()[0], torch.zeros(2, 7)), 0.9), "query_rewards"),
    Case("td_pretraining_loss", "nonfinite",
         lambda: lib.td_pretraining_loss(_td_model(), _td_prompts()[0] * NAN, _td_prompts()[1], 0.9), "Z"),
    Case("td_pretraining_loss", "range",
         lambda: lib.td_pretraining_loss(_td_model(), *_td_prompts(), -0.5), "gamma"),
    Case("td_pretraining_loss", "batch",
         lambda: lib.td_pretraining_loss(_td_model(), _td_prompts()[0], torch.zeros(5, _td_prompts()[1].shape[-1]),
                                         0.9), "batch"),
    Case("td_pretraining_loss", "type", lambda: lib.td_pretraining_loss("m", *_td_prompts(), 0.9), "model"),
    Case("td_pretraining_loss", "legit", lambda: lib.td_pretraining_loss(_td_model(), *_td_prompts(), 0.9), None,
         check=_is_tensor_shape(())),
    Case("td_structure_metrics", "shape", lambda: lib.td_structure_metrics(torch.zeros(3, 2), torch.eye(3), 1), "P"),
    Case("td_structure_metrics", "shape", lambda: lib.td_structure_metrics(torch.eye(3), torch.eye(5), 1), "V"),
    Case("td_structure_metrics", "nonfinite",
         lambda: lib.td_structure_metrics(torch.full((3, 3), NAN), torch.eye(3), 1), "P"),
    Case("td_structure_metrics", "range", lambda: lib.td_structure_metrics(torch.eye(3), torch.eye(3), 0), "d"),
    Case("td_structure_metrics", "dtype",
         lambda: lib.td_structure_metrics(np.array([["a"] * 3] * 3), torch.eye(3), 1), "P"),
    Case("td_structure_metrics", "legit", lambda: lib.td_structure_metrics(torch.eye(3), torch.eye(3), 1), None,
         check=lambda m: abs(m["v_mass"] - 1 / 3) < 1e-12),
    Case("value_estimates", "shape", lambda: lib.value_estimates(_td_model(), torch.zeros(3), torch.zeros(2, 1)),
         "context"),
    Case("value_estimates", "shape", lambda: lib.value_estimates(_td_model(), _ctx(), torch.zeros(2, 2)),
         "query_features"),
    Case("value_estimates", "nonfinite",
         lambda: lib.value_estimates(_td_model(), _ctx() * NAN, torch.zeros(2, 1)), "context"),
    Case("value_estimates", "batch",
         lambda: lib.value_estimates(_td_model(), _ctx(), torch.zeros(5, 2, 1, dtype=F64)), "batch"),
    Case("value_estimates", "type", lambda: lib.value_estimates("model", _ctx(), torch.zeros(2, 1)), "model"),
    Case("value_estimates", "legit", lambda: lib.value_estimates(_td_model(), _ctx(), torch.zeros(4, 1)), None,
         check=_is_tensor_shape((2, 4))),
    Case("msve", "shape", lambda: lib.msve(torch.zeros(3), torch.zeros(4), torch.ones(3)), "v"),
    Case("msve", "shape", lambda: lib.msve(torch.zeros(3), torch.zeros(3), torch.ones(2)), "weights"),
    Case("msve", "nonfinite", lambda: lib.msve(torch.full((3,), NAN), torch.zeros(3), torch.ones(3)), "v_hat"),
    Case("msve", "range", lambda: lib.msve(torch.zeros(3), torch.zeros(3), -torch.ones(3)), "weights"),
    Case("msve", "empty", lambda: lib.msve(torch.zeros(0), torch.zeros(0), torch.zeros(0)), "v_hat"),
    Case("msve", "batch", lambda: lib.msve(torch.zeros(2, 3), torch.zeros(4, 3), torch.ones(3)), "batch"),
    Case("msve", "dtype", lambda: lib.msve(["a", "b"], [0, 0], [1, 1]), "v_hat"),
    Case("msve", "legit", lambda: lib.msve([1.0, 2.0], [0.0, 0.0], [0.5, 0.5]), None,
         check=lambda r: abs(float(r) - 2.5) < 1e-12),
    Case("td_pretrain", "type", lambda: lib.td_pretrain("config"), "config"),
    Case("td_pretrain", "overflow", lambda: lib.td_pretrain(_td_cfg(lr=1e30, n_steps=3, grad_clip=None)), "lr"),
    Case("td_pretrain", "legit", lambda: lib.td_pretrain(_td_cfg()), None,
         check=lambda r: r.history["step"] == [1] and math.isfinite(r.history["loss"][0])),
    Case("evaluation_set", "type", lambda: lib.evaluation_set({"d": 1}), "config"),
    Case("evaluation_set", "legit", lambda: lib.evaluation_set(_td_cfg()), None,
         check=lambda e: e.context.shape == (2, 3, 2)),
    Case("initial_model", "type", lambda: lib.initial_model(None), "config"),
    Case("initial_model", "legit", lambda: lib.initial_model(_td_cfg()), None, check=lambda m: m.dim == 3),
    Case("expected_td_system", "type", lambda: lib.expected_td_system("tasks"), "tasks"),
    Case("expected_td_system", "legit", lambda: lib.expected_td_system(_boyan()), None,
         check=lambda r: r[0].shape == (2, 1, 1) and r[1].shape == (2, 1)),
    Case("expected_td_weights", "type", lambda: lib.expected_td_weights(None, 2), "tasks"),
    Case("expected_td_weights", "range", lambda: lib.expected_td_weights(_boyan(), 0), "n_layers"),
    Case("expected_td_weights", "shape", lambda: lib.expected_td_weights(_boyan(), 2, torch.eye(2)), "C"),
    Case("expected_td_weights", "nonfinite", lambda: lib.expected_td_weights(_boyan(), 2, [[NAN]]), "C"),
    Case("expected_td_weights", "dtype", lambda: lib.expected_td_weights(_boyan(), 2, [["a"]]), "C"),
    Case("expected_td_weights", "legit", lambda: lib.expected_td_weights(_boyan(), 2), None,
         check=_is_tensor_shape((2, 1))),
    Case("fitted_weights", "shape", lambda: lib.fitted_weights(torch.zeros(4), torch.zeros(3, 1), torch.ones(3)),
         "v"),
    Case("fitted_weights", "shape", lambda: lib.fitted_weights(torch.zeros(3), torch.zeros(3), torch.ones(3)),
         "features"),
    Case("fitted_weights", "nonfinite",
         lambda: lib.fitted_weights(torch.zeros(3), torch.full((3, 1), INF), torch.ones(3)), "features"),
    Case("fitted_weights", "range", lambda: lib.fitted_weights(torch.zeros(3), torch.ones(3, 1), -torch.ones(3)),
         "weights"),
    Case("fitted_weights", "batch",
         lambda: lib.fitted_weights(torch.zeros(2, 3), torch.ones(4, 3, 1), torch.ones(3)), "batch"),
    Case("fitted_weights", "legit",
         lambda: lib.fitted_weights(torch.tensor([2.0, 4.0]), torch.tensor([[1.0], [2.0]]), torch.ones(2)), None,
         check=lambda w: abs(float(w[0]) - 2.0) < 1e-10),
    Case("reference_weights", "type", lambda: lib.reference_weights(3), "tasks"),
    Case("reference_weights", "legit", lambda: lib.reference_weights(_boyan()), None,
         check=lambda r: set(r) == {"v = 0", "TD fixed point", "best linear fit"}),
    Case("implicit_weights", "range", lambda: lib.implicit_weights(_td_model(mask=False), _ctx()), "model"),
    Case("implicit_weights", "shape", lambda: lib.implicit_weights(_td_model(), torch.zeros(2, 4, 2)), "context"),
    Case("implicit_weights", "nonfinite", lambda: lib.implicit_weights(_td_model(), _ctx() * NAN), "context"),
    Case("implicit_weights", "type", lambda: lib.implicit_weights("model", _ctx()), "model"),
    Case("implicit_weights", "legit", lambda: lib.implicit_weights(_td_model(), _ctx()), None,
         check=_is_tensor_shape((2, 1))),
    Case("construction_values", "shape", lambda: lib.construction_values(torch.zeros(3), torch.zeros(2, 3, 1), 1, 1.0),
         "context"),
    Case("construction_values", "shape", lambda: lib.construction_values(_ctx(), torch.zeros(2, 3, 2), 1, 1.0),
         "features"),
    Case("construction_values", "range", lambda: lib.construction_values(_ctx(), torch.zeros(2, 3, 1), 0, 1.0),
         "n_layers"),
    Case("construction_values", "nonfinite",
         lambda: lib.construction_values(_ctx(), torch.zeros(2, 3, 1), 1, NAN), "C"),
    Case("construction_values", "type", lambda: lib.construction_values(_ctx(), torch.zeros(2, 3, 1), 1, "C"), "C"),
    Case("construction_values", "legit", lambda: lib.construction_values(_ctx(), torch.zeros(2, 3, 1), 1, 1.0), None,
         check=_is_tensor_shape((2, 3))),
    Case("td_similarity_metrics", "shape",
         lambda: lib.td_similarity_metrics(torch.zeros(2, 3), torch.zeros(2, 4), torch.ones(2, 3, 1), torch.ones(2, 3)),
         "v_reference"),
    Case("td_similarity_metrics", "nonfinite",
         lambda: lib.td_similarity_metrics(torch.full((2, 3), NAN), torch.zeros(2, 3), torch.ones(2, 3, 1),
                                           torch.ones(2, 3)), "v_model"),
    Case("td_similarity_metrics", "range",
         lambda: lib.td_similarity_metrics(torch.zeros(2, 3), torch.zeros(2, 3), torch.ones(2, 3, 1),
                                           -torch.ones(2, 3)), "weights"),
    Case("td_similarity_metrics", "legit",
         lambda: lib.td_similarity_metrics(torch.ones(1, 2), torch.ones(1, 2), torch.ones(1, 2, 1), torch.ones(1, 2)),
         None, check=lambda r: abs(float(r["implicit_weight_similarity"][0]) - 1) < 1e-12),
    Case("td_structure_success", "empty", lambda: lib.td_structure_success([]), "layer_metrics"),
    Case("td_structure_success", "type", lambda: lib.td_structure_success([1, 2]), "layer_metrics"),
    Case("td_structure_success", "type", lambda: lib.td_structure_success(5), "layer_metrics"),
    Case("td_structure_success", "nonfinite", lambda: lib.td_structure_success(_metrics(), v_mass_min=NAN),
         "v_mass_min"),
    Case("td_structure_success", "range", lambda: lib.td_structure_success(_metrics(), v_mass_min=1.5),
         "v_mass_min"),
    Case("td_structure_success", "range", lambda: lib.td_structure_success(_metrics(), p_rel_error_max=-1.0),
         "p_rel_error_max"),
    Case("td_structure_success", "nonfinite", lambda: lib.td_structure_success(_metrics(v_mass=NAN)),
         "layer_metrics"),
    Case("td_structure_success", "legit", lambda: lib.td_structure_success([_metrics(), _metrics()]), None,
         check=lambda r: r is True),
    Case("td_pretraining_sweep", "empty", lambda: lib.td_pretraining_sweep([]), "seeds"),
    Case("td_pretraining_sweep", "range", lambda: lib.td_pretraining_sweep([-1]), "seeds"),
    Case("td_pretraining_sweep", "range", lambda: lib.td_pretraining_sweep([0], n_steps=0), "n_steps"),
    Case("td_pretraining_sweep", "empty", lambda: lib.td_pretraining_sweep([0], shared=()), "shared"),
    Case("td_pretraining_sweep", "type", lambda: lib.td_pretraining_sweep([0], shared=["no"]), "shared"),
    Case("td_pretraining_sweep", "type", lambda: lib.td_pretraining_sweep(3), "seeds"),
]

# ------------------------------------------------------------------------------------------ regression (ch 2)

CASES += [
    Case("sample_regression_tasks", "range", lambda: lib.sample_regression_tasks(0, 4, 2), "n_tasks"),
    Case("sample_regression_tasks", "range", lambda: lib.sample_regression_tasks(2, 0, 2), "n_context"),
    Case("sample_regression_tasks", "range", lambda: lib.sample_regression_tasks(2, 4, 0), "d"),
    Case("sample_regression_tasks", "range", lambda: lib.sample_regression_tasks(2, 4, 2, noise_std=-1.0),
         "noise_std"),
    Case("sample_regression_tasks", "nonfinite", lambda: lib.sample_regression_tasks(2, 4, 2, noise_std=NAN),
         "noise_std"),
    Case("sample_regression_tasks", "type", lambda: lib.sample_regression_tasks(2, 4, 2, seed="0"), "seed"),
    Case("sample_regression_tasks", "dtype", lambda: lib.sample_regression_tasks(2, 4, 2, dtype=torch.int64),
         "dtype"),
    Case("sample_regression_tasks", "legit", lambda: lib.sample_regression_tasks(2, 4, 3, seed=torch.Generator()),
         None, check=lambda t: t.X.shape == (2, 4, 3)),
    Case("optimal_step_size", "range", lambda: lib.optimal_step_size(10, 2, noise_std=-1), "noise_std"),
    Case("optimal_step_size", "nonfinite", lambda: lib.optimal_step_size(10, 2, noise_std=NAN), "noise_std"),
    Case("optimal_step_size", "range", lambda: lib.optimal_step_size(0, 2), "n_context"),
    Case("optimal_step_size", "type", lambda: lib.optimal_step_size(10.0, 2), "n_context"),
    Case("optimal_step_size", "legit", lambda: lib.optimal_step_size(10, 2, 1.0), None,
         check=lambda r: abs(r - 10 / 14) < 1e-15),
    Case("one_step_risk", "nonfinite", lambda: lib.one_step_risk(NAN, 10, 2), "eta"),
    Case("one_step_risk", "type", lambda: lib.one_step_risk("0.5", 10, 2), "eta"),
    Case("one_step_risk", "range", lambda: lib.one_step_risk(0.5, 10, 2, noise_std=-1), "noise_std"),
    Case("one_step_risk", "range", lambda: lib.one_step_risk(0.5, 10, 0), "d"),
    Case("one_step_risk", "overflow", lambda: lib.one_step_risk(1e200, 10, 2), "eta"),
    Case("one_step_risk", "legit", lambda: lib.one_step_risk(0.0, 10, 2, 1.0), None, check=lambda r: r == 3.0),
    Case("fit_step_size", "type", lambda: lib.fit_step_size("tasks"), "tasks"),
    Case("fit_step_size", "nonfinite", lambda: lib.fit_step_size(_reg()._replace(y_query=_reg().y_query * NAN)),
         "y_query"),
    Case("fit_step_size", "shape", lambda: lib.fit_step_size(_reg()._replace(y_query=torch.zeros(5, dtype=F64))),
         "y_query"),
    Case("fit_step_size", "range",
         lambda: lib.fit_step_size(_reg()._replace(y=torch.zeros(3, 4, dtype=F64))), "tasks"),
    Case("fit_step_size", "legit", lambda: lib.fit_step_size(_reg()), None, check=_finite_float),
    Case("effective_preconditioner", "shape", lambda: lib.effective_preconditioner(torch.zeros(3, 2), torch.eye(3)),
         "P"),
    Case("effective_preconditioner", "shape", lambda: lib.effective_preconditioner(torch.eye(3), torch.eye(4)), "V"),
    Case("effective_preconditioner", "nonfinite",
         lambda: lib.effective_preconditioner(torch.full((3, 3), NAN), torch.eye(3)), "P"),
    Case("effective_preconditioner", "batch",
         lambda: lib.effective_preconditioner(torch.zeros(2, 3, 3), torch.zeros(4, 3, 3)), "batch"),
    Case("effective_preconditioner", "dtype",
         lambda: lib.effective_preconditioner(np.array([["a"] * 3] * 3), torch.eye(3)), "P"),
    Case("effective_preconditioner", "legit",
         lambda: lib.effective_preconditioner(torch.eye(3), 2 * torch.eye(3)), None,
         check=lambda r: torch.equal(r, 2 * torch.eye(2))),
    Case("lsa_regression_loss", "shape", lambda: lib.lsa_regression_loss(torch.eye(2), torch.eye(3), _reg()), "P"),
    Case("lsa_regression_loss", "nonfinite",
         lambda: lib.lsa_regression_loss(torch.full((3, 3), NAN), torch.eye(3), _reg()), "P"),
    Case("lsa_regression_loss", "type", lambda: lib.lsa_regression_loss(torch.eye(3), torch.eye(3), (1, 2)), "tasks"),
    Case("lsa_regression_loss", "nonfinite",
         lambda: lib.lsa_regression_loss(torch.eye(3), torch.eye(3), _reg()._replace(y_query=_reg().y_query * INF)),
         "y_query"),
    Case("lsa_regression_loss", "type", lambda: lib.lsa_regression_loss(torch.eye(3), torch.eye(3), _reg(), "yes"),
         "mask"),
    Case("lsa_regression_loss", "legit", lambda: lib.lsa_regression_loss(torch.eye(3), torch.zeros(3, 3), _reg()),
         None, check=lambda r: abs(float(r) - float((_reg().y_query ** 2).mean())) < 1e-12),
    Case("train_regression_lsa", "range", lambda: lib.train_regression_lsa(n_steps=0), "n_steps"),
    Case("train_regression_lsa", "range", lambda: lib.train_regression_lsa(lr=0.0), "lr"),
    Case("train_regression_lsa", "range", lambda: lib.train_regression_lsa(noise_std=-1.0), "noise_std"),
    Case("train_regression_lsa", "range", lambda: lib.train_regression_lsa(snapshot_every=-1), "snapshot_every"),
    Case("train_regression_lsa", "type", lambda: lib.train_regression_lsa(seed=1.5), "seed"),
    Case("train_regression_lsa", "nonfinite", lambda: lib.train_regression_lsa(init_scale=NAN), "init_scale"),
    Case("train_regression_lsa", "dtype", lambda: lib.train_regression_lsa(dtype=torch.int32), "dtype"),
    Case("train_regression_lsa", "type", lambda: lib.train_regression_lsa(mask="no"), "mask"),
    Case("train_regression_lsa", "overflow",
         lambda: lib.train_regression_lsa(d=1, n_context=2, n_steps=3, batch_size=2, lr=1e100), "lr"),
    Case("train_regression_lsa", "legit",
         lambda: lib.train_regression_lsa(d=1, n_context=2, n_steps=2, batch_size=2, seed=torch.Generator()), None,
         check=lambda r: r.losses.shape == (2,) and bool(torch.isfinite(r.losses).all())),
]

# ------------------------------------------------------------------------------------------ teacher mimicking (ch 6)

CASES += [
    Case("block_readout", "shape", lambda: lib.block_readout(torch.eye(3), torch.eye(3), _batch().H, _rows()), "P"),
    Case("block_readout", "shape", lambda: lib.block_readout(*_PV(), _batch().H[..., :1], _rows()), "H"),
    Case("block_readout", "nonfinite", lambda: lib.block_readout(*_PV(), _batch().H * NAN, _rows()), "H"),
    Case("block_readout", "range", lambda: lib.block_readout(*_PV(), _batch().H, [100]), "rows"),
    Case("block_readout", "dtype", lambda: lib.block_readout(*_PV(), _batch().H, [0.5]), "rows"),
    Case("block_readout", "batch",
         lambda: lib.block_readout(_PV()[0].expand(2, -1, -1), _PV()[1], _batch().H, _rows()), "batch"),
    Case("block_readout", "legit", lambda: lib.block_readout(*_PV(), _batch().H, _rows()), None,
         check=_is_tensor_shape((3, len(_rows())))),
    Case("mimicking_loss", "type", lambda: lib.mimicking_loss(*_PV(), "batch", _rows()), "batch"),
    Case("mimicking_loss", "shape", lambda: lib.mimicking_loss(torch.eye(2), torch.eye(2), _batch(), _rows()), "P"),
    Case("mimicking_loss", "range", lambda: lib.mimicking_loss(*_PV(), _batch(), [-100]), "rows"),
    Case("mimicking_loss", "shape", lambda: lib.mimicking_loss(*_PV(), _batch(), _rows()[:1]), "rows"),
    Case("mimicking_loss", "nonfinite", lambda: lib.mimicking_loss(_PV()[0] * INF, _PV()[1], _batch(), _rows()), "P"),
    Case("mimicking_loss", "legit", lambda: lib.mimicking_loss(*_PV(), _batch(), _rows()), None,
         check=_is_tensor_shape(())),
    Case("init_parameters", "range", lambda: lib.init_parameters(0, 0.1, 0), "dim"),
    Case("init_parameters", "range", lambda: lib.init_parameters(3, -0.1, 0), "scale"),
    Case("init_parameters", "nonfinite", lambda: lib.init_parameters(3, NAN, 0), "scale"),
    Case("init_parameters", "type", lambda: lib.init_parameters(3, 0.1, "g"), "generator"),
    Case("init_parameters", "dtype", lambda: lib.init_parameters(3, 0.1, 0, dtype=torch.int64), "dtype"),
    Case("init_parameters", "legit", lambda: lib.init_parameters(3, 0.1, 0), None,
         check=lambda r: r[0].shape == (3, 3) and abs(float(r[0].norm() - r[1].norm())) < 1e-6),
    Case("train_teacher_mimicking", "type", lambda: lib.train_teacher_mimicking("config"), "config"),
    Case("train_teacher_mimicking", "shape",
         lambda: lib.train_teacher_mimicking(_tm_cfg(), P0=torch.eye(2), V0=torch.eye(2)), "P0"),
    Case("train_teacher_mimicking", "nonfinite",
         lambda: lib.train_teacher_mimicking(_tm_cfg(), P0=_PV()[0] * NAN, V0=_PV()[1]), "P0"),
    Case("train_teacher_mimicking", "range",
         lambda: lib.train_teacher_mimicking(_tm_cfg(), P0=_PV()[0]), "V0"),
    Case("train_teacher_mimicking", "overflow",
         lambda: lib.train_teacher_mimicking(_tm_cfg(lr=1e30, n_steps=3, optimizer="gd")), "lr"),
    Case("train_teacher_mimicking", "legit", lambda: lib.train_teacher_mimicking(_tm_cfg()), None,
         check=lambda r: r.history["step"] == [0, 1] and r.P.dtype == F64),
]

# ------------------------------------------------------------------------------------------ gradient flow (ch 6)

CASES += [
    Case("query_moments", "type", lambda: lib.query_moments("batch"), "batch"),
    Case("query_moments", "type", lambda: lib.query_moments(_batch(), mask=1), "mask"),
    Case("query_moments", "nonfinite", lambda: lib.query_moments(_batch()._replace(H=_batch().H * NAN)), "batch"),
    Case("query_moments", "legit", lambda: lib.query_moments(_batch(), True), None,
         check=lambda q: q.moment.shape == (3, _D(), _D()) and q.N == 4),
    Case("moment_readout", "shape", lambda: lib.moment_readout(torch.eye(2), torch.eye(2), _qm(), _rows()), "P"),
    Case("moment_readout", "type", lambda: lib.moment_readout(*_PV(), "qm", _rows()), "qm"),
    Case("moment_readout", "range", lambda: lib.moment_readout(*_PV(), _qm(), [100]), "rows"),
    Case("moment_readout", "dtype", lambda: lib.moment_readout(*_PV(), _qm(), [0.5]), "rows"),
    Case("moment_readout", "nonfinite", lambda: lib.moment_readout(_PV()[0] * NAN, _PV()[1], _qm(), _rows()), "P"),
    Case("moment_readout", "legit", lambda: lib.moment_readout(*_PV(), _qm(), _rows()), None,
         check=lambda r: torch.allclose(r, lib.block_readout(*_PV(), _batch().H, _rows()))),
    Case("moment_loss", "shape", lambda: lib.moment_loss(torch.eye(2), torch.eye(2), _qm(), _rows()), "P"),
    Case("moment_loss", "range", lambda: lib.moment_loss(*_PV(), _qm(), [-100]), "rows"),
    Case("moment_loss", "shape", lambda: lib.moment_loss(*_PV(), _qm(), _rows()[:1]), "rows"),
    Case("moment_loss", "type", lambda: lib.moment_loss(*_PV(), None, _rows()), "qm"),
    Case("moment_loss", "legit", lambda: lib.moment_loss(*_PV(), _qm(), _rows()), None,
         check=lambda r: torch.allclose(r, lib.mimicking_loss(*_PV(), _batch(), _rows()))),
    Case("flat_entries", "shape", lambda: lib.flat_entries(*_PV(), (torch.ones(2, 2, dtype=torch.bool),) * 2),
         "masks"),
    Case("flat_entries", "type", lambda: lib.flat_entries(*_PV(), "masks"), "masks"),
    Case("flat_entries", "dtype", lambda: lib.flat_entries(*_PV(), (torch.ones(_D(), _D()),) * 2), "masks"),
    Case("flat_entries", "shape", lambda: lib.flat_entries(torch.eye(2), _PV()[1], _masks()), "P"),
    Case("flat_entries", "nonfinite", lambda: lib.flat_entries(_PV()[0] * NAN, _PV()[1], _masks()), "P"),
    Case("flat_entries", "legit", lambda: lib.flat_entries(*_PV(), _masks()), None,
         check=lambda t: t.shape == (2,) and float(t[0]) == float(_PV()[0][0, -1])),
    Case("with_entries", "shape", lambda: lib.with_entries(*_PV(), _masks(), torch.zeros(3)), "theta"),
    Case("with_entries", "type", lambda: lib.with_entries(*_PV(), _masks(), "theta"), "theta"),
    Case("with_entries", "nonfinite", lambda: lib.with_entries(*_PV(), _masks(), torch.tensor([NAN, 0.0])),
         "theta"),
    Case("with_entries", "type", lambda: lib.with_entries(*_PV(), None, torch.zeros(2)), "masks"),
    Case("with_entries", "legit", lambda: lib.with_entries(*_PV(), _masks(), [1.0, 2.0]), None,
         check=lambda r: float(r[0][0, -1]) == 1.0 and float(r[1][_rows()[0], 0]) == 2.0),
    Case("loss_gradients", "shape", lambda: lib.loss_gradients(torch.eye(2), torch.eye(2), _qm(), _rows()), "P"),
    Case("loss_gradients", "range", lambda: lib.loss_gradients(*_PV(), _qm(), [99]), "rows"),
    Case("loss_gradients", "type", lambda: lib.loss_gradients(*_PV(), _batch(), _rows()), "qm"),
    Case("loss_gradients", "legit", lambda: lib.loss_gradients(*_PV(), _qm(), _rows()), None,
         check=lambda r: r[1].shape == (_D(), _D())),
    Case("loss_hessian", "range", lambda: lib.loss_hessian(*_PV(), _qm(), _rows(), _masks(), method="foo"), "method"),
    Case("loss_hessian", "shape",
         lambda: lib.loss_hessian(*_PV(), _qm(), _rows(), (torch.ones(2, 2, dtype=torch.bool),) * 2), "masks"),
    Case("loss_hessian", "range", lambda: lib.loss_hessian(*_PV(), _qm(), [99], _masks()), "rows"),
    Case("loss_hessian", "range",
         lambda: lib.loss_hessian(*_PV(), _qm(), _rows(), _masks(), method="autograd", chunk_size=0), "chunk_size"),
    Case("loss_hessian", "shape", lambda: lib.loss_hessian(torch.eye(2), torch.eye(2), _qm(), _rows(), _masks()),
         "P"),
    Case("loss_hessian", "legit", lambda: lib.loss_hessian(*_PV(), _qm(), _rows(), _masks()), None,
         check=lambda H: torch.allclose(H, lib.loss_hessian(*_PV(), _qm(), _rows(), _masks(), method="autograd"))),
    Case("hessian_spectrum", "shape", lambda: lib.hessian_spectrum(torch.zeros(2, 3)), "Hm"),
    Case("hessian_spectrum", "nonfinite", lambda: lib.hessian_spectrum(torch.full((2, 2), NAN)), "Hm"),
    Case("hessian_spectrum", "range", lambda: lib.hessian_spectrum(torch.eye(2), rtol=2.0), "rtol"),
    Case("hessian_spectrum", "empty", lambda: lib.hessian_spectrum(torch.zeros(0, 0)), "Hm"),
    Case("hessian_spectrum", "dtype", lambda: lib.hessian_spectrum([["a", "b"], ["c", "d"]]), "Hm"),
    Case("hessian_spectrum", "legit", lambda: _spectrum(), None,
         check=lambda s: s.null_dim == 1 and s.lambda_min == 1.0 and s.lambda_max == 2.0),
    Case("predicted_log_loss_slope", "range", lambda: lib.predicted_log_loss_slope(-1.0), "lambda_min"),
    Case("predicted_log_loss_slope", "nonfinite", lambda: lib.predicted_log_loss_slope(NAN), "lambda_min"),
    Case("predicted_log_loss_slope", "range", lambda: lib.predicted_log_loss_slope(1.0, lr=0.0), "lr"),
    Case("predicted_log_loss_slope", "type", lambda: lib.predicted_log_loss_slope("1"), "lambda_min"),
    Case("predicted_log_loss_slope", "legit", lambda: lib.predicted_log_loss_slope(2.0), None,
         check=lambda r: r == -4.0),
    Case("fit_log_slope", "shape", lambda: lib.fit_log_slope([0, 1, 2], [1.0, 0.5]), "losses"),
    Case("fit_log_slope", "range", lambda: lib.fit_log_slope([0, 1], [1.0, 0.0]), "losses"),
    Case("fit_log_slope", "nonfinite", lambda: lib.fit_log_slope([0, 1], [1.0, NAN]), "losses"),
    Case("fit_log_slope", "nonfinite", lambda: lib.fit_log_slope([0, INF], [1.0, 0.5]), "steps"),
    Case("fit_log_slope", "empty", lambda: lib.fit_log_slope([], []), "steps"),
    Case("fit_log_slope", "dtype", lambda: lib.fit_log_slope(["a", "b"], [1.0, 0.5]), "steps"),
    Case("fit_log_slope", "range", lambda: lib.fit_log_slope([1, 1], [1.0, 0.5]), "steps"),
    Case("fit_log_slope", "legit", lambda: lib.fit_log_slope([0, 1, 2], [1.0, math.e ** -2, math.e ** -4]), None,
         check=lambda r: abs(r + 2) < 1e-12),
    Case("linear_model_curve", "type",
         lambda: lib.linear_model_curve("spec", torch.zeros(3), torch.zeros(3), 0.1, 5, [0, 1]), "spectrum"),
    Case("linear_model_curve", "shape",
         lambda: lib.linear_model_curve(_spectrum(), torch.zeros(2), torch.zeros(3), 0.1, 5, [0, 1]), "theta0"),
    Case("linear_model_curve", "nonfinite",
         lambda: lib.linear_model_curve(_spectrum(), torch.zeros(3), torch.full((3,), NAN), 0.1, 5, [0, 1]),
         "thetaK"),
    Case("linear_model_curve", "range",
         lambda: lib.linear_model_curve(_spectrum(), torch.zeros(3), torch.ones(3), 1.5, 5, [0, 1]), "lr"),
    Case("linear_model_curve", "range",
         lambda: lib.linear_model_curve(_spectrum(), torch.zeros(3), torch.ones(3), 0.1, 5, [-1]), "steps"),
    Case("linear_model_curve", "range",
         lambda: lib.linear_model_curve(_spectrum(), torch.zeros(3), torch.ones(3), 0.1, 0, [0]), "n_steps"),
    Case("linear_model_curve", "empty",
         lambda: lib.linear_model_curve(_spectrum(), torch.zeros(3), torch.ones(3), 0.1, 5, []), "steps"),
    Case("linear_model_curve", "legit",
         lambda: lib.linear_model_curve(_spectrum(), torch.zeros(3), torch.ones(3), 0.1, 5, [0, 1]), None,
         check=lambda r: r[1].shape == (2,) and bool(r[1][1] < r[1][0])),
    Case("balance", "nonfinite", lambda: lib.balance(torch.full((2, 2), NAN), torch.eye(2)), "P"),
    Case("balance", "dtype", lambda: lib.balance(torch.eye(2), [["a"]]), "V"),
    Case("balance", "shape", lambda: lib.balance(torch.eye(2), torch.eye(3)), "V"),
    Case("balance", "overflow", lambda: lib.balance(torch.full((2, 2), 1e200, dtype=F64), torch.eye(2)), "P"),
    Case("balance", "legit", lambda: lib.balance(torch.eye(2), 2 * torch.eye(2)), None, check=lambda r: r == 6.0),
    Case("gradient_descent", "range", lambda: lib.gradient_descent(*_PV(), _qm(), _rows(), 0.1, 2, optimizer="sgd"),
         "optimizer"),
    Case("gradient_descent", "range", lambda: lib.gradient_descent(*_PV(), _qm(), _rows(), -0.1, 2), "lr"),
    Case("gradient_descent", "range", lambda: lib.gradient_descent(*_PV(), _qm(), _rows(), 0.1, -1), "n_steps"),
    Case("gradient_descent", "range", lambda: lib.gradient_descent(*_PV(), _qm(), _rows(), 0.1, 2, log_every=0),
         "log_every"),
    Case("gradient_descent", "shape", lambda: lib.gradient_descent(torch.eye(2), torch.eye(2), _qm(), _rows(), 0.1, 2),
         "P"),
    Case("gradient_descent", "range", lambda: lib.gradient_descent(*_PV(), _qm(), [99], 0.1, 2), "rows"),
    Case("gradient_descent", "type", lambda: lib.gradient_descent(*_PV(), _qm(), _rows(), 0.1, 2, dist="d"), "dist"),
    Case("gradient_descent", "overflow",
         lambda: lib.gradient_descent(*_PV(1.0), _qm(), _rows(), 1e30, 3), "lr"),
    Case("gradient_descent", "legit", lambda: lib.gradient_descent(*_PV(), _qm(), _rows(), 0.01, 2, dist=_dist()),
         None, check=lambda r: r.loss.shape == (3,) and bool(torch.isfinite(r.balance_active).all())),
]

# ------------------------------------------------------------------------------------------ softmax pretraining (ch 8)

CASES += [
    Case("sample_softmax_td_tasks", "range", lambda: lib.sample_softmax_td_tasks(0, 3, 1, 2, 0.8, 0), "batch_size"),
    Case("sample_softmax_td_tasks", "range", lambda: lib.sample_softmax_td_tasks(2, 2, 1, 2, 0.8, 0), "n_states"),
    Case("sample_softmax_td_tasks", "range", lambda: lib.sample_softmax_td_tasks(2, 3, 0, 2, 0.8, 0), "d"),
    Case("sample_softmax_td_tasks", "range", lambda: lib.sample_softmax_td_tasks(2, 3, 1, 0, 0.8, 0), "n"),
    Case("sample_softmax_td_tasks", "range", lambda: lib.sample_softmax_td_tasks(2, 3, 1, 2, 1.5, 0), "gamma"),
    Case("sample_softmax_td_tasks", "nonfinite", lambda: lib.sample_softmax_td_tasks(2, 3, 1, 2, NAN, 0), "gamma"),
    Case("sample_softmax_td_tasks", "type", lambda: lib.sample_softmax_td_tasks(2, 3, 1, 2, 0.8, "g"), "generator"),
    Case("sample_softmax_td_tasks", "dtype",
         lambda: lib.sample_softmax_td_tasks(2, 3, 1, 2, 0.8, 0, dtype=torch.int64), "dtype"),
    Case("sample_softmax_td_tasks", "legit", lambda: _sm_tasks(), None, check=lambda t: t.Z.shape == (2, 4, 3)),
    Case("softmax_td_loss", "type", lambda: lib.softmax_td_loss("model", _sm_tasks()), "model"),
    Case("softmax_td_loss", "type", lambda: lib.softmax_td_loss(_sm_model(), (1, 2)), "tasks"),
    Case("softmax_td_loss", "shape", lambda: lib.softmax_td_loss(lib.construction_model(2, 1, 0.8, 0.5), _sm_tasks()),
         "tasks"),
    Case("softmax_td_loss", "nonfinite",
         lambda: lib.softmax_td_loss(_sm_model(), _sm_tasks()._replace(rewards=_sm_tasks().rewards * NAN)),
         "rewards"),
    Case("softmax_td_loss", "legit", lambda: lib.softmax_td_loss(_sm_model(), _sm_tasks()), None,
         check=_is_tensor_shape(())),
    Case("construction_model", "range", lambda: lib.construction_model(0, 1, 0.8, 0.5), "d"),
    Case("construction_model", "range", lambda: lib.construction_model(1, 0, 0.8, 0.5), "n_layers"),
    Case("construction_model", "range", lambda: lib.construction_model(1, 1, 1.5, 0.5), "gamma"),
    Case("construction_model", "nonfinite", lambda: lib.construction_model(1, 1, 0.8, NAN), "alpha"),
    Case("construction_model", "range", lambda: lib.construction_model(1, 1, 0.8, 0.5, beta=-1.0), "beta"),
    Case("construction_model", "type", lambda: lib.construction_model(1, 1, 0.8, 0.5, masked="yes"), "masked"),
    Case("construction_model", "legit", lambda: _sm_model(), None, check=lambda m: m.dim == 4),
    Case("fit_construction", "type", lambda: lib.fit_construction("tasks", 1, 1), "tasks"),
    Case("fit_construction", "range", lambda: lib.fit_construction(_sm_tasks(), 0, 1), "n_layers"),
    Case("fit_construction", "range", lambda: lib.fit_construction(_sm_tasks(), 1, 0), "n_steps"),
    Case("fit_construction", "range", lambda: lib.fit_construction(_sm_tasks(), 1, 1, lr=0.0), "lr"),
    Case("fit_construction", "nonfinite", lambda: lib.fit_construction(_sm_tasks(), 1, 1, lr=NAN), "lr"),
    Case("fit_construction", "overflow", lambda: lib.fit_construction(_sm_tasks(), 1, 4, lr=1e30), "lr"),
    Case("fit_construction", "legit", lambda: lib.fit_construction(_sm_tasks(), 1, 2), None,
         check=lambda r: len(r) == 3 and all(math.isfinite(x) for x in r)),
    Case("block_metrics", "type", lambda: lib.block_metrics("model"), "model"),
    Case("block_metrics", "range", lambda: lib.block_metrics(_sm_model(), layer=5), "layer"),
    Case("block_metrics", "legit", lambda: lib.block_metrics(_sm_model()), None,
         check=lambda m: abs(m["cos_A"] - 1) < 1e-6 and abs(m["alpha"] - 0.5) < 1e-6),
    Case("softmax_td_pretrain", "type", lambda: lib.softmax_td_pretrain({"n_steps": 1}), "config"),
    Case("softmax_td_pretrain", "type", lambda: lib.softmax_td_pretrain(_sm_cfg(), progress=True), "progress"),
    Case("softmax_td_pretrain", "overflow", lambda: lib.softmax_td_pretrain(_sm_cfg(lr=1e30, n_steps=4)), "lr"),
    Case("softmax_td_pretrain", "legit", lambda: lib.softmax_td_pretrain(_sm_cfg()), None,
         check=lambda r: r.losses.shape == (1,) and bool(torch.isfinite(r.losses).all())),
    Case("loss_gradient_norm", "type", lambda: lib.loss_gradient_norm(None, _sm_tasks()), "model"),
    Case("loss_gradient_norm", "type", lambda: lib.loss_gradient_norm(_sm_model(), "tasks"), "tasks"),
    Case("loss_gradient_norm", "legit", lambda: lib.loss_gradient_norm(_sm_model(), _sm_tasks()), None,
         check=_finite_float),
    Case("run_emergence", "empty", lambda: lib.run_emergence([], _sm_cfg()), "seeds"),
    Case("run_emergence", "range", lambda: lib.run_emergence([-1], _sm_cfg()), "seeds"),
    Case("run_emergence", "type", lambda: lib.run_emergence([0], "config"), "config"),
    Case("run_emergence", "range", lambda: lib.run_emergence([0], _sm_cfg(), n_eval=0), "n_eval"),
    Case("run_emergence", "range", lambda: lib.run_emergence([0], _sm_cfg(), eval_seed=-1), "eval_seed"),
    Case("run_emergence", "range", lambda: lib.run_emergence([0], _sm_cfg(), success_cos=2.0), "success_cos"),
    Case("run_emergence", "nonfinite", lambda: lib.run_emergence([0], _sm_cfg(), success_cos=NAN), "success_cos"),
]

# ------------------------------------------------------------------------------------------ beyond (ch 11)

CASES += [
    Case("stack_prompts", "type", lambda: lib.stack_prompts("cfg", 2, 0), "config"),
    Case("stack_prompts", "range", lambda: lib.stack_prompts(_stack_cfg(), 0, 0), "n_prompts"),
    Case("stack_prompts", "type", lambda: lib.stack_prompts(_stack_cfg(), 2, "g"), "generator"),
    Case("stack_prompts", "legit", lambda: lib.stack_prompts(_stack_cfg(features=2), 3, 0), None,
         check=lambda b: b.H.shape[0] == 3),
    Case("stack_loss", "shape", lambda: lib.stack_loss(*_PV1(), _batch().H, _batch().target[:, :1], _rows()),
         "target"),
    Case("stack_loss", "shape", lambda: lib.stack_loss(torch.eye(2), torch.eye(2), _batch().H, _batch().target,
                                                       _rows()), "P"),
    Case("stack_loss", "nonfinite",
         lambda: lib.stack_loss(*_PV1(), _batch().H * NAN, _batch().target, _rows()), "H"),
    Case("stack_loss", "range", lambda: lib.stack_loss(*_PV1(), _batch().H, _batch().target, [99] * len(_rows())),
         "rows"),
    Case("stack_loss", "batch",
         lambda: lib.stack_loss(*_PV1(), _batch().H, _batch().target[:2], _rows()), "target"),
    Case("stack_loss", "legit",
         lambda: lib.stack_loss(*_PV1(), _batch().H, _batch().target, _rows()), None,
         check=lambda r: torch.allclose(r, lib.mimicking_loss(*_PV(), _batch(), _rows()))),
    Case("train_stack_mimicking", "type", lambda: lib.train_stack_mimicking(None), "config"),
    Case("train_stack_mimicking", "overflow",
         lambda: lib.train_stack_mimicking(_stack_cfg(lr=1e30, n_steps=4, init_scale=1.0)), "lr"),
    Case("train_stack_mimicking", "legit", lambda: lib.train_stack_mimicking(_stack_cfg()), None,
         check=lambda r: r.P.shape == (1, 1, _D(), _D()) and r.history["step"] == [1]),
    Case("layer_recovery", "shape", lambda: lib.layer_recovery(*_PV(), _dist()), "P"),
    Case("layer_recovery", "type", lambda: lib.layer_recovery(_PV()[0][None, None], _PV()[1][None, None], "d"),
         "dist"),
    Case("layer_recovery", "nonfinite",
         lambda: lib.layer_recovery(_PV()[0][None, None] * NAN, _PV()[1][None, None], _dist()), "P"),
    Case("layer_recovery", "legit", lambda: lib.layer_recovery(*(x[None, None] for x in _dist().construction()),
                                                               _dist()), None,
         check=lambda r: len(r) == 1 and r[0]["relative_error_P"] < 1e-9),
    Case("head_shares", "shape", lambda: lib.head_shares(*_PV(), _dist()), "P"),
    Case("head_shares", "type", lambda: lib.head_shares(_PV()[0][None], _PV()[1][None], None), "dist"),
    Case("head_shares", "nonfinite", lambda: lib.head_shares(_PV()[0][None], _PV()[1][None] * INF, _dist()), "V"),
    Case("head_shares", "legit", lambda: lib.head_shares(*(x[None] for x in _dist().construction()), _dist()), None,
         check=lambda r: r["p_error"][0] < 1e-9),
    Case("plain_recovery", "shape",
         lambda: lib.plain_recovery(torch.eye(3), torch.eye(3), torch.eye(4), torch.eye(4), slice(0, 2), slice(2, 3),
                                    [2]), "Ps"),
    Case("plain_recovery", "nonfinite",
         lambda: lib.plain_recovery(torch.eye(3) * NAN, torch.eye(3), torch.eye(3), torch.eye(3), slice(0, 2),
                                    slice(2, 3), [2]), "P"),
    Case("plain_recovery", "type",
         lambda: lib.plain_recovery(torch.eye(3), torch.eye(3), torch.eye(3), torch.eye(3), "rows", slice(2, 3), [2]),
         "data_rows"),
    Case("plain_recovery", "range",
         lambda: lib.plain_recovery(torch.eye(3), torch.eye(3), torch.eye(3), torch.eye(3), slice(0, 2), slice(2, 3),
                                    [7]), "out_rows"),
    Case("plain_recovery", "empty",
         lambda: lib.plain_recovery(torch.eye(3), torch.eye(3), torch.eye(3), torch.eye(3), slice(0, 0), slice(2, 3),
                                    [2]), "data_rows"),
    Case("plain_recovery", "range",
         lambda: lib.plain_recovery(torch.ones(3, 3), torch.ones(3, 3), torch.zeros(3, 3), torch.zeros(3, 3),
                                    slice(0, 2), slice(2, 3), [2]), "Vs"),
    Case("plain_recovery", "legit",
         lambda: lib.plain_recovery(torch.ones(3, 3), 2 * torch.ones(3, 3), torch.ones(3, 3), torch.ones(3, 3),
                                    slice(0, 2), slice(2, 3), [2]), None,
         check=lambda r: abs(r["scale"] - 2) < 1e-12 and r["relative_error_V"] < 1e-12),
    Case("beyond_config", "range", lambda: lib.beyond_config("width"), "part"),
    Case("beyond_config", "range", lambda: lib.beyond_config("depth", seed=-1), "seed"),
    Case("beyond_config", "range", lambda: lib.beyond_config("depth", n_steps=0), "n_steps"),
    Case("beyond_config", "type", lambda: lib.beyond_config("depth", batch_size=2.5), "batch_size"),
    Case("beyond_config", "legit", lambda: lib.beyond_config("heads", n_steps=5), None,
         check=lambda c: c.n_heads == 2 and c.n_steps == 5),
    Case("beyond_sweep", "range", lambda: lib.beyond_sweep("width", [0]), "part"),
    Case("beyond_sweep", "empty", lambda: lib.beyond_sweep("depth", []), "seeds"),
    Case("beyond_sweep", "range", lambda: lib.beyond_sweep("depth", [-1]), "seeds"),
    Case("beyond_sweep", "type", lambda: lib.beyond_sweep("depth", [0.5]), "seeds"),
    Case("beyond_sweep", "range", lambda: lib.beyond_sweep("depth", [0], n_steps=0), "n_steps"),
    Case("supervised_mdp_experiment", "type", lambda: lib.supervised_mdp_experiment("cfg"), "config"),
    Case("supervised_mdp_experiment", "legit",
         lambda: lib.supervised_mdp_experiment(lib.SupervisedMDPConfig(
             dist=_dist(), n_train_mdps=2, n_layers=1, d_model=4, n_heads=1, n_steps=1, batch_size=2, n_eval_mdps=2)),
         None, check=lambda r: len(r["normalized_return"]["model"]) == 2),
    Case("supervised_mdp_sweep", "empty", lambda: lib.supervised_mdp_sweep([]), "seeds"),
    Case("supervised_mdp_sweep", "range", lambda: lib.supervised_mdp_sweep([-1]), "seeds"),
    Case("supervised_mdp_sweep", "range", lambda: lib.supervised_mdp_sweep([0], n_steps=0), "n_steps"),
    Case("supervised_mdp_sweep", "type", lambda: lib.supervised_mdp_sweep([0], config="cfg"), "config"),
]

# ------------------------------------------------------------------------------------------ supervised (ch 9)

CASES += [
    Case("CausalTransformerPolicy", "range", lambda: lib.CausalTransformerPolicy(0, 2), "token_dim"),
    Case("CausalTransformerPolicy", "range", lambda: lib.CausalTransformerPolicy(3, 1), "n_actions"),
    Case("CausalTransformerPolicy", "range", lambda: lib.CausalTransformerPolicy(3, 2, attention="linear"), "attention"),
    Case("CausalTransformerPolicy", "range", lambda: lib.CausalTransformerPolicy(3, 2, d_model=5, n_heads=2), "d_model"),
    Case("CausalTransformerPolicy", "range", lambda: lib.CausalTransformerPolicy(3, 2, seed=-1), "seed"),
    Case("CausalTransformerPolicy", "range", lambda: lib.CausalTransformerPolicy(3, 2, max_len=0), "max_len"),
    Case("CausalTransformerPolicy", "shape", lambda: _dt()(torch.zeros(2, 3, 2)), "tokens"),
    Case("CausalTransformerPolicy", "range", lambda: _dt()(torch.zeros(2, 9, 4)), "tokens"),
    Case("CausalTransformerPolicy", "nonfinite", lambda: _dt()(torch.full((2, 3, 4), NAN)), "tokens"),
    Case("CausalTransformerPolicy", "type", lambda: _dt()([[["a"] * 4]]), "tokens"),
    Case("CausalTransformerPolicy", "legit", lambda: _dt()(np.zeros((2, 3, 4))), None,
         check=lambda r: r.shape == (2, 3, 2), note="numpy tokens"),
    Case("CausalTransformerPolicy", "empty", lambda: _dt()(torch.zeros(2, 0, 4)), "tokens"),
    Case("CausalTransformerPolicy", "legit", lambda: _dt()(torch.zeros(2, 3, 4)), None,
         check=lambda r: r.shape == (2, 3, 2)),
    Case("bandit_token_dim", "type", lambda: lib.bandit_token_dim("bandit"), "bandit"),
    Case("bandit_token_dim", "legit", lambda: (lib.bandit_token_dim(_bern()), lib.bandit_token_dim(_linb())), None,
         check=lambda r: r == (4, 2 + 2 + 6)),
    Case("bandit_tokens", "type", lambda: lib.bandit_tokens("bandit", [[0]], [[1.0]]), "bandit"),
    Case("bandit_tokens", "shape", lambda: lib.bandit_tokens(_bern(), [[0, 1]], [[1.0, 0.0]]), "actions"),
    Case("bandit_tokens", "range", lambda: lib.bandit_tokens(_bern(), [[0], [2]], [[1.0], [0.0]]), "actions"),
    Case("bandit_tokens", "dtype", lambda: lib.bandit_tokens(_bern(), [[0.5], [1.0]], [[1.0], [0.0]]), "actions"),
    Case("bandit_tokens", "nonfinite", lambda: lib.bandit_tokens(_bern(), [[0], [1]], [[NAN], [0.0]]), "rewards"),
    Case("bandit_tokens", "batch", lambda: lib.bandit_tokens(_bern(), [[0], [1]], [[1.0, 0.0], [0.0, 1.0]]),
         "rewards"),
    Case("bandit_tokens", "legit", lambda: lib.bandit_tokens(_linb(), torch.zeros(2, 0, dtype=torch.long),
                                                             torch.zeros(2, 0)), None,
         check=lambda t: t.shape == (2, 1, 10) and float(t[0, 0, 0]) == 1.0),
    Case("supervised_loss", "type", lambda: lib.supervised_loss("model", *_btok()), "model"),
    Case("supervised_loss", "shape", lambda: lib.supervised_loss(_dt(), _btok()[0], _btok()[1][:, :1]), "tokens"),
    Case("supervised_loss", "range", lambda: lib.supervised_loss(_dt(), _btok()[0], _btok()[1] + 5), "labels"),
    Case("supervised_loss", "dtype", lambda: lib.supervised_loss(_dt(), _btok()[0], _btok()[1] + 0.5), "labels"),
    Case("supervised_loss", "nonfinite", lambda: lib.supervised_loss(_dt(), _btok()[0] * NAN, _btok()[1]), "tokens"),
    Case("supervised_loss", "batch", lambda: lib.supervised_loss(_dt(), _btok()[0], _btok()[1][:1]), "labels"),
    Case("supervised_loss", "legit", lambda: lib.supervised_loss(_dt(), *_btok()), None,
         check=lambda r: bool(torch.isfinite(r)) and r.ndim == 0),
    Case("pretrain_supervised", "type", lambda: lib.pretrain_supervised("model", *_btok(), 1), "model"),
    Case("pretrain_supervised", "range", lambda: lib.pretrain_supervised(_dt(), *_btok(), 0), "n_steps"),
    Case("pretrain_supervised", "range", lambda: lib.pretrain_supervised(_dt(), *_btok(), 1, lr=0.0), "lr"),
    Case("pretrain_supervised", "range", lambda: lib.pretrain_supervised(_dt(), *_btok(), 1, log_every=0),
         "log_every"),
    Case("pretrain_supervised", "range",
         lambda: lib.pretrain_supervised(_dt(), *_btok(), 1, final_lr_fraction=-0.5), "final_lr_fraction"),
    Case("pretrain_supervised", "nonfinite",
         lambda: lib.pretrain_supervised(_dt(), *_btok(), 1, final_lr_fraction=NAN), "final_lr_fraction"),
    Case("pretrain_supervised", "range", lambda: lib.pretrain_supervised(_dt(), _btok()[0], _btok()[1] + 2, 1),
         "labels"),
    Case("pretrain_supervised", "dtype", lambda: lib.pretrain_supervised(_dt(), _btok()[0], _btok()[1] * 0.5, 1),
         "labels"),
    Case("pretrain_supervised", "shape", lambda: lib.pretrain_supervised(_dt(), _btok()[0][0], _btok()[1], 1),
         "tokens"),
    Case("pretrain_supervised", "batch", lambda: lib.pretrain_supervised(_dt(), _btok()[0], _btok()[1][:1], 1),
         "labels"),
    Case("pretrain_supervised", "nonfinite", lambda: lib.pretrain_supervised(_dt(), _btok()[0] * NAN, _btok()[1], 1),
         "tokens"),
    Case("pretrain_supervised", "empty",
         lambda: lib.pretrain_supervised(_dt(), torch.zeros(0, 4, 4), torch.zeros(0, 3, dtype=torch.long), 1),
         "tokens"),
    Case("pretrain_supervised", "type", lambda: lib.pretrain_supervised(_dt(), *_btok(), 1, seed="s"), "seed"),
    Case("pretrain_supervised", "type", lambda: lib.pretrain_supervised(_dt(), *_btok(), 1, progress="bar"),
         "progress"),
    Case("pretrain_supervised", "overflow", lambda: lib.pretrain_supervised(_dt(), *_btok(), 3, lr=1e10), "lr"),
    Case("pretrain_supervised", "legit",
         lambda: lib.pretrain_supervised(_dt(), *_btok(), 2, batch_size=2, seed=torch.Generator()), None,
         check=lambda r: r.history["step"] == [2] and math.isfinite(r.history["loss"][0])),
    Case("transformer_expert", "type", lambda: lib.transformer_expert("model"), "model"),
    Case("transformer_expert", "type", lambda: lib.transformer_expert(_dt(), tokens_fn=3), "tokens_fn"),
    Case("transformer_expert", "type", lambda: lib.transformer_expert(_dt(), greedy="yes"), "greedy"),
    Case("transformer_expert", "legit",
         lambda: lib.transformer_expert(_dt(), greedy=True)(_bern(), *_btok()[1:], _btok()[0][:, 1:, 3]), None,
         check=lambda p: p.shape == (2, 2) and bool((p.sum(-1) == 1).all())),
    Case("action_probabilities", "type", lambda: lib.action_probabilities("model", _btok()[0]), "model"),
    Case("action_probabilities", "shape", lambda: lib.action_probabilities(_dt(), torch.zeros(3, 4)), "tokens"),
    Case("action_probabilities", "nonfinite", lambda: lib.action_probabilities(_dt(), _btok()[0] * INF), "tokens"),
    Case("action_probabilities", "dtype", lambda: lib.action_probabilities(_dt(), [[["a"] * 4]]), "tokens"),
    Case("action_probabilities", "legit", lambda: lib.action_probabilities(_dt(), _btok()[0]), None,
         check=lambda p: p.shape == (2, 4, 2) and torch.allclose(p.sum(-1), torch.ones(2, 4, dtype=F64))),
]

# ------------------------------------------------------------------------------------------ supervised data (ch 9)

CASES += [
    Case("collect_bandit_data", "range", lambda: lib.collect_bandit_data(_bern(), uniform(), 3, 0, labels="bc"),
         "labels"),
    Case("collect_bandit_data", "range", lambda: lib.collect_bandit_data(_bern(), uniform(), 0, 0), "horizon"),
    Case("collect_bandit_data", "type", lambda: lib.collect_bandit_data(_bern(), "ts", 3, 0), "context_expert"),
    Case("collect_bandit_data", "type", lambda: lib.collect_bandit_data(_bern(), uniform(), 3, "g"), "generator"),
    Case("collect_bandit_data", "type", lambda: lib.collect_bandit_data("bandit", uniform(), 3, 0), "bandit"),
    Case("collect_bandit_data", "legit", lambda: lib.collect_bandit_data(_bern(), uniform(), 3, torch.Generator()),
         None, check=lambda d: d.labels.shape == (2, 3) and d.tokens().shape == (2, 4, 4)),
    Case("posterior_sampling", "type", lambda: lib.posterior_sampling()("bandit", [[0]], [[1.0]]), "bandit"),
    Case("posterior_sampling", "legit",
         lambda: lib.posterior_sampling()(_bern(), torch.zeros(2, 0, dtype=torch.long), torch.zeros(2, 0)), None,
         check=lambda p: torch.allclose(p, torch.full((2, 2), 0.5, dtype=F64))),
    Case("all_histories", "range", lambda: lib.all_histories(-1), "t"),
    Case("all_histories", "range", lambda: lib.all_histories(2, 1), "n_arms"),
    Case("all_histories", "type", lambda: lib.all_histories(2.0), "t"),
    Case("all_histories", "overflow", lambda: lib.all_histories(40), "t"),
    Case("all_histories", "legit", lambda: lib.all_histories(2), None,
         check=lambda r: r[0].shape == (16, 2) and r[1].shape == (16, 2)),
    Case("beta_bernoulli_log_evidence", "shape",
         lambda: lib.beta_bernoulli_log_evidence([[0, 1]], [[1.0]], 2), "rewards"),
    Case("beta_bernoulli_log_evidence", "range",
         lambda: lib.beta_bernoulli_log_evidence([[0, 2]], [[1.0, 0.0]], 2), "actions"),
    Case("beta_bernoulli_log_evidence", "range",
         lambda: lib.beta_bernoulli_log_evidence([[0, 1]], [[1.0, 0.5]], 2), "rewards"),
    Case("beta_bernoulli_log_evidence", "dtype",
         lambda: lib.beta_bernoulli_log_evidence([[0.5, 1.0]], [[1.0, 0.0]], 2), "actions"),
    Case("beta_bernoulli_log_evidence", "nonfinite",
         lambda: lib.beta_bernoulli_log_evidence([[0, 1]], [[NAN, 0.0]], 2), "rewards"),
    Case("beta_bernoulli_log_evidence", "range",
         lambda: lib.beta_bernoulli_log_evidence([[0, 1]], [[1.0, 0.0]], 1), "n_arms"),
    Case("beta_bernoulli_log_evidence", "legit",
         lambda: lib.beta_bernoulli_log_evidence([[0, 0]], [[1.0, 1.0]], 2), None,
         check=lambda r: abs(float(r[0]) - math.log(0.5 * 2 / 3)) < 1e-12),
    Case("distribution_ratio_curve", "range", lambda: lib.distribution_ratio_curve(1.5, 2), "alpha"),
    Case("distribution_ratio_curve", "nonfinite", lambda: lib.distribution_ratio_curve(NAN, 2), "alpha"),
    Case("distribution_ratio_curve", "range", lambda: lib.distribution_ratio_curve(0.5, 0), "horizon"),
    Case("distribution_ratio_curve", "range", lambda: lib.distribution_ratio_curve(0.5, 2, 1), "n_arms"),
    Case("distribution_ratio_curve", "legit", lambda: lib.distribution_ratio_curve(1.0, 3), None,
         check=lambda r: len(r) == 3 and all(abs(x - 1) < 1e-12 for x in r)),
    Case("distribution_ratio", "range", lambda: lib.distribution_ratio(0.5, 2, method="exact"), "method"),
    Case("distribution_ratio", "range", lambda: lib.distribution_ratio(-0.5, 2), "alpha"),
    Case("distribution_ratio", "range", lambda: lib.distribution_ratio(0.5, 0), "horizon"),
    Case("distribution_ratio", "overflow", lambda: lib.distribution_ratio(0.5, 30), "horizon"),
    Case("distribution_ratio", "range", lambda: lib.distribution_ratio(0.5, 2, method="mc", n_samples=1),
         "n_samples"),
    Case("distribution_ratio", "type", lambda: lib.distribution_ratio(0.5, 2, method="mc", n_samples=4, seed="s"),
         "seed"),
    Case("distribution_ratio", "legit",
         lambda: (lib.distribution_ratio(0.5, 2), lib.distribution_ratio(0.5, 2, method="counts")), None,
         check=lambda r: abs(r[0][0] - r[1][0]) < 1e-12),
    Case("distribution_ratio", "range", lambda: lib.distribution_ratio(0.5, 2, mixture="step"), "mixture"),
    Case("distribution_ratio", "range", lambda: lib.distribution_ratio(0.5, 2, method="counts",
                                                                       mixture="trajectory"), "mixture"),
    Case("distribution_ratio", "legit", lambda: lib.distribution_ratio(0.25, 4, mixture="trajectory"), None,
         check=lambda r: 1 <= r[0] <= 4 and r[1] == 0.0, note="trajectory"),
    Case("distribution_ratio", "legit", lambda: lib.distribution_ratio(0.0, 3, mixture="trajectory"), None,
         check=lambda r: abs(r[0] - lib.distribution_ratio(0.0, 3)[0]) < 1e-12, note="alpha0-mixtures-agree"),
    Case("bandit_cli_config", "range", lambda: lib.bandit_cli_config("dpt-darkroom"), "name"),
    Case("bandit_cli_config", "range", lambda: lib.bandit_cli_config("dpt-bandit", mixture="step"), "mixture"),
    Case("bandit_cli_config", "range", lambda: lib.bandit_cli_config("dpt-bandit", sigma=-1.0), "sigma"),
    Case("bandit_cli_config", "type", lambda: lib.bandit_cli_config("dpt-bandit", width=3), "width"),
    Case("bandit_cli_config", "legit", lambda: lib.bandit_cli_config("dpt-bandit", horizon=10), None,
         check=lambda c: c.horizon == 10 and all(n < 10 for n in c.offline_sizes)),
    Case("bandit_cli_config", "legit", lambda: lib.bandit_cli_config("ad-bandit", seed=None), None,
         check=lambda c: c.labels == "ad" and c.seed == 0, note="ad-bandit"),
    Case("bandit_experts", "type", lambda: lib.bandit_experts("cfg"), "cfg"),
    Case("bandit_experts", "legit", lambda: lib.bandit_experts(lib.BanditPretrainingConfig()), None,
         check=lambda e: set(e) == {"ts", "ucb", "emp", "context"}),
    Case("bandit_pretraining_experiment", "type", lambda: lib.bandit_pretraining_experiment({"n_arms": 2}), "cfg"),
    Case("bandit_pretraining_experiment", "legit",
         lambda: lib.bandit_pretraining_experiment(lib.BanditPretrainingConfig(
             n_arms=2, horizon=3, n_train_tasks=2, n_eval_tasks=2, n_layers=1, d_model=4, n_heads=1, n_steps=1,
             batch_size=2, offline_sizes=(1, 2))), None,
         check=lambda r: set(r["offline"]) == {"1", "2"} and math.isfinite(r["regret"]["dpt"]["mean"])),
    Case("darkroom_token_dim", "range", lambda: lib.darkroom_token_dim(_room(), "rgb"), "encoding"),
    Case("darkroom_token_dim", "type", lambda: lib.darkroom_token_dim("room"), "room"),
    Case("darkroom_token_dim", "legit", lambda: (lib.darkroom_token_dim(_room()), lib.darkroom_token_dim(_room(),
                                                                                                          "onehot")),
         None, check=lambda r: r == (13, 2 + 5 + 8)),
    Case("darkroom_tokens", "type", lambda: lib.darkroom_tokens("room", [0], [[0]], [[0]], [[0.0]], [[0]]), "room"),
    Case("darkroom_tokens", "shape",
         lambda: lib.darkroom_tokens(_room(), [0, 1], [[0]], [[0]], [[0.0]], [[0]]), "queries"),
    Case("darkroom_tokens", "shape", lambda: lib.darkroom_tokens(_room(), [0], [0], [0], [0.0], [0]), "states"),
    Case("darkroom_tokens", "range", lambda: lib.darkroom_tokens(_room(), [0], [[4]], [[0]], [[0.0]], [[0]]),
         "states"),
    Case("darkroom_tokens", "range", lambda: lib.darkroom_tokens(_room(), [0], [[0]], [[5]], [[0.0]], [[0]]),
         "actions"),
    Case("darkroom_tokens", "range", lambda: lib.darkroom_tokens(_room(), [-1], [[0]], [[0]], [[0.0]], [[0]]),
         "queries"),
    Case("darkroom_tokens", "dtype", lambda: lib.darkroom_tokens(_room(), [0], [[0.5]], [[0]], [[0.0]], [[0]]),
         "states"),
    Case("darkroom_tokens", "nonfinite", lambda: lib.darkroom_tokens(_room(), [0], [[0]], [[0]], [[NAN]], [[0]]),
         "rewards"),
    Case("darkroom_tokens", "range", lambda: lib.darkroom_tokens(_room(), [0], [[0]], [[0]], [[0.0]], [[0]], "rgb"),
         "encoding"),
    Case("darkroom_tokens", "legit", lambda: lib.darkroom_tokens(_room(), [3], *(x[:1] for x in _room_tr())), None,
         check=lambda t: t.shape == (1, 3, 13) and float(t[0, 0, 1]) == 1.0),
    Case("darkroom_dataset", "range", lambda: lib.darkroom_dataset(_room(), 0, 2, 0), "n_contexts"),
    Case("darkroom_dataset", "range", lambda: lib.darkroom_dataset(_room(), 1, 0, 0), "context_len"),
    Case("darkroom_dataset", "type", lambda: lib.darkroom_dataset(_room(), 1, 2, "g"), "generator"),
    Case("darkroom_dataset", "range", lambda: lib.darkroom_dataset(_room(), 1, 2, 0, "rgb"), "encoding"),
    Case("darkroom_dataset", "type", lambda: lib.darkroom_dataset("room", 1, 2, 0), "room"),
    Case("darkroom_dataset", "legit", lambda: lib.darkroom_dataset(_room(), 2, 2, torch.Generator()), None,
         check=lambda r: r[0].shape == (2, 3, 13) and r[1].shape == (2, 3)),
    Case("darkroom_online", "type", lambda: lib.darkroom_online("model", _room(), 1, 2, 0), "model"),
    Case("darkroom_online", "range", lambda: lib.darkroom_online(_dt(13, 5), _room(), 0, 2, 0), "n_episodes"),
    Case("darkroom_online", "range", lambda: lib.darkroom_online(_dt(13, 5), _room(), 1, 0, 0), "context_len"),
    Case("darkroom_online", "type", lambda: lib.darkroom_online(_dt(13, 5), _room(), 1, 2, "g"), "generator"),
    Case("darkroom_online", "type", lambda: lib.darkroom_online(_dt(13, 5), "room", 1, 2, 0), "room"),
    Case("darkroom_online", "shape", lambda: lib.darkroom_online(_dt(7, 5), _room(), 1, 2, 0), "model"),
    Case("darkroom_online", "legit", lambda: lib.darkroom_online(_dt(13, 5), _room(), 2, 2, 0), None,
         check=lambda r: r.shape == (1, 2)),
    Case("darkroom_experiment", "type", lambda: lib.darkroom_experiment({"size": 2}), "cfg"),
    Case("darkroom_experiment", "legit",
         lambda: lib.darkroom_experiment(lib.DarkRoomConfig(
             size=2, horizon=2, n_test_goals=1, context_len=2, n_contexts=1, n_layers=1, d_model=4, n_heads=1,
             n_steps=1, batch_size=2, n_episodes=1, n_repeats=2)), None,
         check=lambda r: len(r["returns"]["test"]["mean"]) == 1),
]

# ------------------------------------------------------------------------------------------ AD of LinUCB (ch 10)

_P2 = torch.tensor([[0.5, 0.5], [1.0, 0.0]], dtype=F64)
CASES += [
    Case("ad_linucb_experiment", "type", lambda: lib.ad_linucb_experiment({"d": 2}), "cfg"),
    Case("policy_gap", "shape", lambda: lib.policy_gap(_P2, torch.full((2, 3), 1 / 3, dtype=F64)), "q"),
    Case("policy_gap", "nonfinite", lambda: lib.policy_gap(_P2 * NAN, _P2), "p"),
    Case("policy_gap", "range", lambda: lib.policy_gap(_P2, _P2 * 2), "q"),
    Case("policy_gap", "range", lambda: lib.policy_gap(torch.tensor([[1.5, -0.5]]), _P2), "p"),
    Case("policy_gap", "batch", lambda: lib.policy_gap(_P2, torch.full((3, 2), 0.5, dtype=F64)), "batch"),
    Case("policy_gap", "empty", lambda: lib.policy_gap(torch.zeros(0, 2), torch.zeros(0, 2)), "p"),
    Case("policy_gap", "dtype", lambda: lib.policy_gap([["a", "b"]], _P2), "p"),
    Case("policy_gap", "legit", lambda: lib.policy_gap(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])), None,
         check=lambda g: g["kl_mean"] == math.inf and g["tv_mean"] == 1.0, note="kl=inf (numpy input)"),
    Case("policy_gap", "legit", lambda: lib.policy_gap(_P2, _P2), None,
         check=lambda g: g == {"tv_mean": 0.0, "tv_max": 0.0, "kl_mean": 0.0}, note="equal policies"),
    Case("policy_gap", "legit",
         lambda: lib.policy_gap(torch.tensor([[0.5, 0.5]], dtype=F64), torch.tensor([[0.25, 0.75]], dtype=F64)), None,
         check=lambda g: abs(g["kl_mean"] - 0.5 * math.log(2) - 0.5 * math.log(2 / 3)) < 1e-15,
         note="finite KL"),
]

# ------------------------------------------------------------------------------- head_output_split (ch 11)
CASES += [
    Case("head_output_split", "type", lambda: lib.head_output_split(_PV()[0][None], _PV()[1][None], None, _dist()),
         "batch"),
    Case("head_output_split", "type", lambda: lib.head_output_split(_PV()[0][None], _PV()[1][None], _batch(), "d"),
         "dist"),
    Case("head_output_split", "shape", lambda: lib.head_output_split(_PV()[0], _PV()[1], _batch(), _dist()), "P"),
    Case("head_output_split", "shape", lambda: lib.head_output_split(_PV()[0][None], _PV()[1][None].repeat(2, 1, 1),
                                                                     _batch(), _dist()), "V"),
    Case("head_output_split", "nonfinite", lambda: lib.head_output_split(
        torch.full((1, _D(), _D()), math.nan, dtype=F64), _PV()[1][None], _batch(), _dist()), "P"),
    Case("head_output_split", "legit", lambda: lib.head_output_split(_PV()[0][None], _PV()[1][None], _batch(),
                                                                     _dist()),
         None, lambda out: isinstance(out, dict) and len(out["fraction"]) == 1, note="one-head"),
]

EXEMPT = {
    "TASKS_PER_DRAW": "a constant: takes no input",
    "STEP_GRID": "a constant: takes no input",
    "SUCCESS_CRITERION": "a constant: takes no input",
    "BEYOND_PARTS": "a constant: takes no input",
    "CLI_DEFAULTS": "a constant (dict of overrides): takes no input",
    "BoyanTasks": "a plain NamedTuple of outputs (checked where consumed: boyan_task_values, task_trajectories)",
    "WindowMoments": "a plain NamedTuple of outputs (checked where consumed: values_from_moments)",
    "EvaluationSet": "a plain NamedTuple of outputs of evaluation_set",
    "RegressionTasks": "a plain NamedTuple of outputs (checked where consumed: fit_step_size, lsa_regression_loss)",
    "TrainResult": "a plain NamedTuple of outputs of train_regression_lsa",
    "QueryMoments": "a plain NamedTuple of outputs (checked where consumed: moment_loss and friends)",
    "Spectrum": "a plain NamedTuple of outputs of hessian_spectrum (checked in linear_model_curve)",
    "GDResult": "a plain NamedTuple of outputs of gradient_descent",
    "SoftmaxTDTasks": "a plain NamedTuple of outputs (checked where consumed: softmax_td_loss)",
    "SoftmaxPretrainingResult": "a plain NamedTuple of outputs of softmax_td_pretrain",
    "TDPretrainingResult": "a plain dataclass of outputs of td_pretrain",
    "TeacherMimickingResult": "a plain dataclass of outputs of train_teacher_mimicking",
    "StackMimickingResult": "a plain dataclass of outputs of train_stack_mimicking",
    "SupervisedResult": "a plain dataclass of outputs of pretrain_supervised",
    "BanditDataset": "a plain NamedTuple of outputs of collect_bandit_data",
}


CASES, EXEMPT = collect("training", CASES, EXEMPT)  # plus every _cases_training_*.py


@pytest.mark.parametrize("case", params(CASES))
def test_bad_input(case):
    run_case(case)
