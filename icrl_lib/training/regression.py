"""Supervised pretraining of one linear-attention layer on in-context regression (chapter 2, [vO23]).

Random tasks ``w* ~ N(0, I_d)``, ``x ~ N(0, I_d)``, ``y = w*^T x (+ noise)`` (:func:`sample_regression_tasks`),
the prompts and the one-step gradient-descent construction of :mod:`icrl_lib.incontext.regression`, the
closed-form one-step risk and its optimal step size, and Adam training of a full ``(P, V)`` layer
(:func:`train_regression_lsa`) whose effective preconditioner (:func:`effective_preconditioner`) approaches
the optimal step size.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .._validation import (as_generator, as_tensor, broadcast_batch, check_finite_result, check_int, check_positive,
                           check_real, check_shape)
from ..attention import linear_self_attention, lsa_unchecked
from ..incontext import gd_step_prediction, regression_prompt, regression_readout
from ._checks import check_bool, check_float_dtype
from .fit import OptimiserConfig, fit

__all__ = ["RegressionTasks", "sample_regression_tasks", "optimal_step_size", "one_step_risk", "fit_step_size",
           "effective_preconditioner", "lsa_regression_loss", "TrainResult", "train_regression_lsa"]


class RegressionTasks(NamedTuple):
    """A batch of in-context regression tasks (chapter 2).

    ``X`` (B, N, d) context inputs, ``y`` (B, N) context labels, ``x_query`` (B, d), ``y_query`` (B,),
    ``w_star`` (B, d) the task weights.
    """
    X: torch.Tensor
    y: torch.Tensor
    x_query: torch.Tensor
    y_query: torch.Tensor
    w_star: torch.Tensor


def sample_regression_tasks(n_tasks: int, n_context: int, d: int, seed=0, noise_std: float = 0.0,
                            dtype: torch.dtype = torch.float64) -> RegressionTasks:
    """Draw ``n_tasks`` tasks with ``w* ~ N(0, I_d)``, ``x_i, x_q ~ N(0, I_d)``, ``y = w*^T x + noise_std * eps``.

    ``seed`` is an int or a ``torch.Generator`` (pass one generator to draw fresh batches in a loop).
    Chapter 2 uses these tasks for the numerical checks and for training.
    """
    n_tasks = check_int(n_tasks, "n_tasks")
    n_context = check_int(n_context, "n_context")
    d = check_int(d, "d")
    sigma = _check_noise(noise_std)
    dtype = check_float_dtype(dtype)
    g = as_generator(seed, "seed")
    w = torch.randn(n_tasks, d, generator=g, dtype=dtype)
    X = torch.randn(n_tasks, n_context, d, generator=g, dtype=dtype)
    xq = torch.randn(n_tasks, d, generator=g, dtype=dtype)
    noise = torch.randn(n_tasks, n_context + 1, generator=g, dtype=dtype) * sigma
    y = (X @ w.unsqueeze(-1)).squeeze(-1) + noise[:, :-1]
    yq = (xq * w).sum(-1) + noise[:, -1]
    return RegressionTasks(X, y, xq, yq, w)


def _check_noise(noise_std) -> float:
    sigma = check_real(noise_std, "noise_std")
    if sigma < 0:
        raise ValueError(f"noise_std must be >= 0; got {sigma}")
    return sigma


def optimal_step_size(n_context: int, d: int, noise_std: float = 0.0) -> float:
    """The step size minimising the expected query error of one GD step from 0 (chapter 2, our derivation).

    For ``x ~ N(0, I_d)``, ``w* ~ N(0, I_d)`` and label noise of variance ``sigma^2``:
    ``eta_opt = N / (N + d + 1 + sigma^2)`` (it uses ``E[S^2] = (N + d + 1)/N I`` for the empirical second
    moment ``S = (1/N) sum_i x_i x_i^T``).
    """
    N = check_int(n_context, "n_context")
    d = check_int(d, "d")
    s2 = _check_noise(noise_std) ** 2
    return N / (N + d + 1 + s2)


def one_step_risk(eta, n_context: int, d: int, noise_std: float = 0.0) -> float:
    """Expected squared query error ``E (w_1^T x_q - y_q)^2`` of one GD step with step size ``eta`` from 0.

    ``eta^2 d (N + d + 1 + sigma^2)/N - 2 eta d + d + sigma^2`` for the task distribution of
    :func:`sample_regression_tasks` (chapter 2, our derivation). ``eta = 0`` gives ``d + sigma^2``.
    """
    e = check_real(eta, "eta")
    N = check_int(n_context, "n_context")
    d = check_int(d, "d")
    s2 = _check_noise(noise_std) ** 2
    risk = e * e * d * (N + d + 1 + s2) / N - 2 * e * d + d + s2
    check_finite_result(torch.tensor(risk), "the one-step risk", "reduce eta or noise_std")
    return risk


def fit_step_size(tasks: RegressionTasks) -> float:
    """The step size that minimises the mean squared query error of one GD step on ``tasks``.

    The prediction is linear in ``eta``, so the best ``eta`` is a one-variable least-squares fit:
    ``sum(u * y_q) / sum(u^2)`` with ``u`` the prediction at ``eta = 1``. Chapter 2.
    """
    _check_tasks(tasks)
    u = gd_step_prediction(tasks.X, tasks.y, tasks.x_query, eta=1.0)
    yq = as_tensor(tasks.y_query, "tasks.y_query", dtype=u.dtype)
    check_shape(yq, "tasks.y_query", tuple(u.shape), batch=False)
    uu = (u * u).sum()
    if float(uu) == 0:
        raise ValueError("tasks must have a non-zero one-step prediction (all labels y are 0: no step size fits)")
    return float((u * yq).sum() / uu)


def effective_preconditioner(P, V) -> torch.Tensor:
    """``V[-1, -1] * P[:d, :d]^T`` for a regression layer ``(P, V)`` of size ``(d+1, d+1)`` (chapter 2).

    This product is invariant under ``(P, V) -> (P / c, c V)``; for :func:`gd_construction` it returns
    the preconditioner ``Gamma`` (``eta I`` for a scalar step size). Batch dimensions allowed.
    """
    P = as_tensor(P, "P")
    V = as_tensor(V, "V", dtype=P.dtype)
    check_shape(P, "P", (None, None))
    D = P.shape[-1]
    if P.shape[-2] != D or D < 2:
        raise ValueError(f"P must have shape (..., d+1, d+1) with d >= 1; got {tuple(P.shape)}")
    check_shape(V, "V", (D, D))
    broadcast_batch({"P": P.shape, "V": V.shape}, {"P": 2, "V": 2})
    return V[..., -1, -1, None, None] * P[..., :-1, :-1].transpose(-1, -2)


def lsa_regression_loss(P, V, tasks: RegressionTasks, mask: bool = False) -> torch.Tensor:
    """Mean squared error ``mean (readout(LSA_{P,V}(Z)) - y_q)^2`` over ``tasks`` (a 0-dim tensor) (chapter 2).

    ``P``, ``V`` (d+1, d+1) (batch dimensions broadcast with the tasks'); ``tasks`` a :class:`RegressionTasks`.
    """
    _check_tasks(tasks)
    mask = check_bool(mask, "mask")
    Z = regression_prompt(tasks.X, tasks.y, tasks.x_query)
    P = as_tensor(P, "P", dtype=Z.dtype)
    V = as_tensor(V, "V", dtype=Z.dtype)
    yq = as_tensor(tasks.y_query, "tasks.y_query", dtype=Z.dtype)
    check_shape(yq, "tasks.y_query", tuple(Z.shape[:-2]), batch=False)
    pred = regression_readout(linear_self_attention(Z, P, V, mask=mask))
    return ((pred - yq) ** 2).mean()


def _check_tasks(tasks) -> None:
    if not isinstance(tasks, RegressionTasks):
        raise ValueError(f"tasks must be RegressionTasks (sample_regression_tasks); got {type(tasks).__name__}")


class TrainResult(NamedTuple):
    """Result of :func:`train_regression_lsa` (chapter 2).

    ``P``, ``V`` the trained ``(d+1, d+1)`` matrices; ``losses`` ``(n_steps,)`` the minibatch loss of every
    Adam step; ``snapshots`` ``(K, 2, d+1, d+1)`` copies of ``(P, V)`` taken before the steps listed in
    ``snapshot_steps`` ``(K,)`` (the last snapshot is the trained pair, at step ``n_steps``).
    """
    P: torch.Tensor
    V: torch.Tensor
    losses: torch.Tensor
    snapshots: torch.Tensor
    snapshot_steps: torch.Tensor


def train_regression_lsa(d: int = 3, n_context: int = 20, n_steps: int = 2000, batch_size: int = 256,
                         lr: float = 0.01, init_scale: float = 0.05, seed: int = 0, mask: bool = False,
                         noise_std: float = 0.0, snapshot_every: int = 0,
                         dtype: torch.dtype = torch.float64) -> TrainResult:
    """Train a full ``(P, V)`` linear-attention layer on random regression tasks with Adam (chapter 2).

    Each step draws ``batch_size`` fresh tasks (:func:`sample_regression_tasks`), builds the prompts and
    minimises the mean squared error of the query readout. ``P`` and ``V`` start at
    ``init_scale * N(0, 1)``; the learning rate decays linearly to 0 over ``n_steps`` so the last iterates
    average out the minibatch noise. Every draw comes from one ``torch.Generator``: ``seed`` (an int or a
    generator). A diverging run (NaN or inf loss) raises ``ValueError`` asking for a lower ``lr``.
    ``snapshot_every > 0`` stores ``(P, V)`` every that many steps (and at the end) for plotting.
    """
    d = check_int(d, "d")
    n_context = check_int(n_context, "n_context")
    n_steps = check_int(n_steps, "n_steps")
    batch_size = check_int(batch_size, "batch_size")
    lr = check_positive(lr, "lr")
    init_scale = check_positive(init_scale, "init_scale")
    snapshot_every = check_int(snapshot_every, "snapshot_every", minimum=0)
    _check_noise(noise_std)
    mask = check_bool(mask, "mask")
    dtype = check_float_dtype(dtype)
    g = as_generator(seed, "seed")
    D = d + 1
    P = (init_scale * torch.randn(D, D, generator=g, dtype=dtype)).requires_grad_(True)
    V = (init_scale * torch.randn(D, D, generator=g, dtype=dtype)).requires_grad_(True)
    snaps, snap_steps = [], []

    def loss_fn(step: int) -> torch.Tensor:
        k = step - 1                                     # updates so far
        if snapshot_every and k % snapshot_every == 0:
            snaps.append(torch.stack([P.detach().clone(), V.detach().clone()]))
            snap_steps.append(k)
        t = sample_regression_tasks(batch_size, n_context, d, seed=g, noise_std=noise_std, dtype=dtype)
        pred = lsa_unchecked(regression_prompt(t.X, t.y, t.x_query), P, V, mask=mask)[..., -1, -1]
        return ((pred - t.y_query) ** 2).mean()

    # the step size decays linearly to 0 so the last iterates average out the minibatch noise
    history = fit([P, V], loss_fn, OptimiserConfig("adam", lr, schedule="linear"), n_steps, log_every=1)
    losses = torch.tensor(history["loss"], dtype=dtype)
    P, V = P.detach(), V.detach()
    if snapshot_every:
        snaps.append(torch.stack([P.clone(), V.clone()]))
        snap_steps.append(n_steps)
    snapshots = torch.stack(snaps) if snaps else torch.empty(0, 2, D, D, dtype=dtype)
    return TrainResult(P, V, losses, snapshots, torch.tensor(snap_steps, dtype=torch.long))
