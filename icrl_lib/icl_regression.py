"""In-context linear regression, the warm-up of chapter 2 ([vO23]: one linear-attention layer = one GD step).

Conventions (chapter 2). A task is a weight vector ``w*`` in R^d; its context holds N
pairs ``(x_i, y_i)`` with ``y_i = w*^T x_i (+ noise)``, and a query input ``x_q``. The prompt stacks the
tokens ``z_i = (x_i; y_i)`` as columns and ends with the query column ``(x_q; 0)``:

    Z = [[x_1, ..., x_N, x_q],
         [y_1, ..., y_N, 0  ]]      in R^{(d+1) x (N+1)}.

The in-context loss is ``L(w) = (1/(2N)) sum_i (w^T x_i - y_i)^2`` with gradient
``grad L(w) = (1/N) sum_i (w^T x_i - y_i) x_i``. One linear-attention layer in the [LL26] form
(:func:`icrl_lib.attention.linear_self_attention`) with the weights of :func:`gd_construction` writes the
prediction ``w_1^T x_q`` of one gradient step ``w_1 = w_0 - eta grad L(w_0)`` (``w_0 = 0``) into the
query's label slot, read by :func:`regression_readout`.

A second layout keeps the parameter in the prompt (the layout of chapters 4-5): context columns
``(x_i; y_i; 0; 0_d)`` and query column ``(0_d; 0; 1; w_0)``; :func:`gd_param_construction` makes one
layer output ``w_1`` itself in the query's last d rows (:func:`param_readout`).
"""
from __future__ import annotations

from numbers import Real
from typing import NamedTuple

import numpy as np
import torch

from ._validation import (as_tensor, broadcast_batch, check_int, check_positive, check_real, check_shape)
from .attention import linear_self_attention, lsa_unchecked

__all__ = [
    "RegressionTasks", "sample_regression_tasks", "regression_prompt", "regression_readout",
    "gd_construction", "gd_step", "gd_step_prediction", "optimal_step_size", "one_step_risk",
    "fit_step_size", "effective_preconditioner", "lsa_regression_loss", "TrainResult", "train_regression_lsa",
    "param_prompt", "param_readout", "gd_param_construction",
]


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


def _generator(seed) -> torch.Generator:
    if isinstance(seed, torch.Generator):
        return seed
    g = torch.Generator()
    g.manual_seed(check_int(seed, "seed", minimum=0))
    return g


def sample_regression_tasks(n_tasks: int, n_context: int, d: int, seed=0, noise_std: float = 0.0,
                            dtype: torch.dtype = torch.float64) -> RegressionTasks:
    """Draw ``n_tasks`` tasks with ``w* ~ N(0, I_d)``, ``x_i, x_q ~ N(0, I_d)``, ``y = w*^T x + noise_std * eps``.

    ``seed`` is an int or a ``torch.Generator`` (pass one generator to draw fresh batches in a loop).
    Chapter 2 uses these tasks for the numerical checks and for training.
    """
    n_tasks = check_int(n_tasks, "n_tasks")
    n_context = check_int(n_context, "n_context")
    d = check_int(d, "d")
    sigma = check_real(noise_std, "noise_std")
    if sigma < 0:
        raise ValueError(f"noise_std must be >= 0; got {sigma}")
    g = _generator(seed)
    w = torch.randn(n_tasks, d, generator=g, dtype=dtype)
    X = torch.randn(n_tasks, n_context, d, generator=g, dtype=dtype)
    xq = torch.randn(n_tasks, d, generator=g, dtype=dtype)
    noise = torch.randn(n_tasks, n_context + 1, generator=g, dtype=dtype) * sigma
    y = (X @ w.unsqueeze(-1)).squeeze(-1) + noise[:, :-1]
    yq = (xq * w).sum(-1) + noise[:, -1]
    return RegressionTasks(X, y, xq, yq, w)


def _context(X, y, names=("X", "y")):
    X = as_tensor(X, names[0])
    check_shape(X, names[0], (None, None))
    N, d = X.shape[-2:]
    y = as_tensor(y, names[1], dtype=X.dtype)
    check_shape(y, names[1], (N,))
    return X, y, N, d


def regression_prompt(X, y, x_query) -> torch.Tensor:
    """The prompt ``Z = [[x_1 .. x_N, x_q], [y_1 .. y_N, 0]]`` of shape ``(..., d+1, N+1)``.

    ``X`` (..., N, d) context inputs (one row per token), ``y`` (..., N) labels, ``x_query`` (..., d).
    Leading batch dimensions broadcast. The query's label slot is 0 (chapter 2).
    """
    X, y, N, d = _context(X, y)
    xq = as_tensor(x_query, "x_query", dtype=X.dtype)
    check_shape(xq, "x_query", (d,))
    batch = broadcast_batch({"X": X.shape, "y": y.shape, "x_query": xq.shape}, {"X": 2, "y": 1, "x_query": 1})
    X = X.expand(*batch, N, d)
    y = y.expand(*batch, N)
    xq = xq.expand(*batch, d)
    top = torch.cat([X.transpose(-1, -2), xq.unsqueeze(-1)], dim=-1)
    bottom = torch.cat([y, torch.zeros_like(y[..., :1])], dim=-1).unsqueeze(-2)
    return torch.cat([top, bottom], dim=-2)


def regression_readout(Z, sign: float = 1.0) -> torch.Tensor:
    """The prediction: ``sign * Z[..., -1, -1]`` (the query's label slot), shape ``(...)``.

    ``sign=-1`` reads the residual form of :func:`gd_construction` (``residual=True``), as in [vO23].
    """
    Z = as_tensor(Z, "Z")
    check_shape(Z, "Z", (None, None))
    if Z.shape[-2] < 2 or Z.shape[-1] < 2:
        raise ValueError(f"Z must have shape (..., d+1, N+1) with d >= 1, N >= 1; got {tuple(Z.shape)}")
    s = check_real(sign, "sign")
    if s not in (1.0, -1.0):
        raise ValueError(f"sign must be +1 or -1; got {s}")
    return s * Z[..., -1, -1]


def _step_matrix(eta, d: int, dtype) -> torch.Tensor:
    """``eta`` as a (d, d) matrix: a positive scalar gives ``eta I``, a matrix is used as it is."""
    if (isinstance(eta, (torch.Tensor, np.ndarray)) and eta.ndim == 0) or isinstance(eta, (Real, np.number)):
        if isinstance(eta, np.ndarray):
            eta = eta[()]
        return check_positive(eta, "eta") * torch.eye(d, dtype=dtype)
    G = as_tensor(eta, "eta", dtype=dtype)
    check_shape(G, "eta", (d, d), batch=False)
    return G


def gd_construction(d: int, eta=1.0, residual: bool = False, dtype: torch.dtype = torch.float64
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """The weights ``(P, V)`` (each ``(d+1, d+1)``) with which one [LL26] layer is one GD step (chapter 2).

    ``P = [[Gamma^T, 0], [0, 0]]`` with ``Gamma = eta I_d`` (``eta`` a positive scalar) or ``Gamma = eta``
    (a (d, d) preconditioner), and ``V = [[0, 0], [0, s]]`` with ``s = +1``. Then the query's label slot of
    ``LSA_{P,V}(Z)`` is ``w_1^T x_q`` with ``w_1 = -Gamma grad L(0) = (1/N) Gamma sum_i y_i x_i``.

    ``residual=True`` uses ``s = -1`` ([vO23]'s sign): the context label slots become the residuals
    ``y_i - w_1^T x_i`` and the query slot ``-w_1^T x_q`` (read it with ``regression_readout(Z, sign=-1)``);
    stacking L such layers with ``mask=True`` gives L gradient steps.
    """
    d = check_int(d, "d")
    G = _step_matrix(eta, d, dtype)
    P = torch.zeros(d + 1, d + 1, dtype=dtype)
    P[:d, :d] = G.transpose(-1, -2)
    V = torch.zeros(d + 1, d + 1, dtype=dtype)
    V[d, d] = -1.0 if residual else 1.0
    return P, V


def gd_step(X, y, eta=1.0, w0=None) -> torch.Tensor:
    """One gradient step on ``L(w) = (1/(2N)) sum_i (w^T x_i - y_i)^2``: ``w_1 = w_0 - Gamma grad L(w_0)``.

    ``X`` (..., N, d), ``y`` (..., N), ``eta`` a positive scalar (``Gamma = eta I``) or a (d, d) matrix,
    ``w0`` (..., d) (zeros if omitted). Returns ``w_1`` (..., d). Chapter 2.
    """
    X, y, N, d = _context(X, y)
    G = _step_matrix(eta, d, X.dtype)
    if w0 is None:
        w0 = torch.zeros(d, dtype=X.dtype)
    w0 = as_tensor(w0, "w0", dtype=X.dtype)
    check_shape(w0, "w0", (d,))
    broadcast_batch({"X": X.shape, "y": y.shape, "w0": w0.shape}, {"X": 2, "y": 1, "w0": 1})
    residual = (X @ w0.unsqueeze(-1)).squeeze(-1) - y
    grad = (residual.unsqueeze(-1) * X).mean(-2)
    return w0 - (G @ grad.unsqueeze(-1)).squeeze(-1)


def gd_step_prediction(X, y, x_query, eta=1.0, w0=None) -> torch.Tensor:
    """The prediction ``w_1^T x_q`` after one step of :func:`gd_step`; shape ``(...)``. Chapter 2."""
    w1 = gd_step(X, y, eta=eta, w0=w0)
    xq = as_tensor(x_query, "x_query", dtype=w1.dtype)
    check_shape(xq, "x_query", (w1.shape[-1],))
    broadcast_batch({"w1": w1.shape, "x_query": xq.shape}, {"w1": 1, "x_query": 1})
    return (w1 * xq).sum(-1)


def optimal_step_size(n_context: int, d: int, noise_std: float = 0.0) -> float:
    """The step size minimising the expected query error of one GD step from 0 (chapter 2, our derivation).

    For ``x ~ N(0, I_d)``, ``w* ~ N(0, I_d)`` and label noise of variance ``sigma^2``:
    ``eta_opt = N / (N + d + 1 + sigma^2)`` (it uses ``E[S^2] = (N + d + 1)/N I`` for the empirical second
    moment ``S = (1/N) sum_i x_i x_i^T``).
    """
    N = check_int(n_context, "n_context")
    d = check_int(d, "d")
    s2 = check_real(noise_std, "noise_std") ** 2
    return N / (N + d + 1 + s2)


def one_step_risk(eta, n_context: int, d: int, noise_std: float = 0.0) -> float:
    """Expected squared query error ``E (w_1^T x_q - y_q)^2`` of one GD step with step size ``eta`` from 0.

    ``eta^2 d (N + d + 1 + sigma^2)/N - 2 eta d + d + sigma^2`` for the task distribution of
    :func:`sample_regression_tasks` (chapter 2, our derivation). ``eta = 0`` gives ``d + sigma^2``.
    """
    e = check_real(eta, "eta")
    N = check_int(n_context, "n_context")
    d = check_int(d, "d")
    s2 = check_real(noise_std, "noise_std") ** 2
    return e * e * d * (N + d + 1 + s2) / N - 2 * e * d + d + s2


def fit_step_size(tasks: RegressionTasks) -> float:
    """The step size that minimises the mean squared query error of one GD step on ``tasks``.

    The prediction is linear in ``eta``, so the best ``eta`` is a one-variable least-squares fit:
    ``sum(u * y_q) / sum(u^2)`` with ``u`` the prediction at ``eta = 1``. Chapter 2.
    """
    u = gd_step_prediction(tasks.X, tasks.y, tasks.x_query, eta=1.0)
    yq = as_tensor(tasks.y_query, "tasks.y_query", dtype=u.dtype)
    return float((u * yq).sum() / (u * u).sum())


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
    return V[..., -1, -1, None, None] * P[..., :-1, :-1].transpose(-1, -2)


def lsa_regression_loss(P, V, tasks: RegressionTasks, mask: bool = False) -> torch.Tensor:
    """Mean squared error ``mean (readout(LSA_{P,V}(Z)) - y_q)^2`` over ``tasks`` (a 0-dim tensor)."""
    Z = regression_prompt(tasks.X, tasks.y, tasks.x_query)
    P = as_tensor(P, "P", dtype=Z.dtype)
    V = as_tensor(V, "V", dtype=Z.dtype)
    pred = regression_readout(linear_self_attention(Z, P, V, mask=mask))
    return ((pred - tasks.y_query.to(Z.dtype)) ** 2).mean()


class TrainResult(NamedTuple):
    """Result of :func:`train_regression_lsa`.

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
    average out the minibatch noise. Every draw comes from one ``torch.Generator`` seeded with ``seed``.
    ``snapshot_every > 0`` stores ``(P, V)`` every that many steps (and at the end) for plotting.
    """
    d = check_int(d, "d")
    n_context = check_int(n_context, "n_context")
    n_steps = check_int(n_steps, "n_steps")
    batch_size = check_int(batch_size, "batch_size")
    lr = check_positive(lr, "lr")
    init_scale = check_positive(init_scale, "init_scale")
    snapshot_every = check_int(snapshot_every, "snapshot_every", minimum=0)
    g = _generator(seed)
    D = d + 1
    P = (init_scale * torch.randn(D, D, generator=g, dtype=dtype)).requires_grad_(True)
    V = (init_scale * torch.randn(D, D, generator=g, dtype=dtype)).requires_grad_(True)
    opt = torch.optim.Adam([P, V], lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1.0 - k / n_steps)
    losses = torch.empty(n_steps, dtype=dtype)
    snaps, snap_steps = [], []
    for k in range(n_steps):
        if snapshot_every and k % snapshot_every == 0:
            snaps.append(torch.stack([P.detach().clone(), V.detach().clone()]))
            snap_steps.append(k)
        t = sample_regression_tasks(batch_size, n_context, d, seed=g, noise_std=noise_std, dtype=dtype)
        Z = regression_prompt(t.X, t.y, t.x_query)
        pred = lsa_unchecked(Z, P, V, mask=mask)[..., -1, -1]
        loss = ((pred - t.y_query) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses[k] = loss.detach()
    P, V = P.detach(), V.detach()
    if snapshot_every:
        snaps.append(torch.stack([P.clone(), V.clone()]))
        snap_steps.append(n_steps)
    snapshots = torch.stack(snaps) if snaps else torch.empty(0, 2, D, D, dtype=dtype)
    return TrainResult(P, V, losses, snapshots, torch.tensor(snap_steps, dtype=torch.long))


# --- parameter in the prompt (the layout of chapters 4-5) -------------------------------------------

def param_prompt(X, y, w0) -> torch.Tensor:
    """Prompt ``H`` (..., 2d+2, N+1): context columns ``(x_i; y_i; 0; 0_d)``, query column ``(0_d; 0; 1; w_0)``.

    Data block ``(x; y)`` (d+1 rows), parameter block ``(1; w)`` (d+1 rows), as in the SARSA layout of
    chapter 4. ``X`` (..., N, d), ``y`` (..., N), ``w0`` (..., d). Chapter 2.
    """
    X, y, N, d = _context(X, y)
    w0 = as_tensor(w0, "w0", dtype=X.dtype)
    check_shape(w0, "w0", (d,))
    batch = broadcast_batch({"X": X.shape, "y": y.shape, "w0": w0.shape}, {"X": 2, "y": 1, "w0": 1})
    H = torch.zeros(*batch, 2 * d + 2, N + 1, dtype=X.dtype)
    H[..., :d, :N] = X.transpose(-1, -2)
    H[..., d, :N] = y
    H[..., d + 1, N] = 1.0
    H[..., d + 2:, N] = w0
    return H


def param_readout(H) -> torch.Tensor:
    """The parameter ``w`` stored in the last d rows of the query column of ``H`` (..., 2d+2, N+1)."""
    H = as_tensor(H, "H")
    check_shape(H, "H", (None, None))
    D = H.shape[-2]
    if D % 2 or D < 4:
        raise ValueError(f"H must have shape (..., 2d+2, N+1) with d >= 1; got {tuple(H.shape)}")
    return H[..., D // 2 + 1:, -1]


def gd_param_construction(d: int, eta=1.0, dtype: torch.dtype = torch.float64
                          ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(P, V)`` (each (2d+2, 2d+2)) with which one [LL26] layer on :func:`param_prompt` outputs ``w_1``.

    ``P[data, param]`` with rows ``(x, y)`` and columns ``(1, w)`` is ``[[0, -I_d], [1, 0]]``, so
    ``h_i^T P h_q = y_i - w_0^T x_i`` (the negative residual); ``V[w rows, x cols] = Gamma`` (``eta I_d``
    or a (d, d) matrix), so ``V h_i = (0; 0; 0; Gamma x_i)``. The query's ``w`` rows then hold
    ``w_0 + (1/N) Gamma sum_i (y_i - w_0^T x_i) x_i = w_0 - Gamma grad L(w_0)``. Chapter 2 (a bridge to the
    SARSA construction of chapter 4, which is this one with ``y`` replaced by the TD target).
    """
    d = check_int(d, "d")
    G = _step_matrix(eta, d, dtype)
    D = 2 * d + 2
    P = torch.zeros(D, D, dtype=dtype)
    P[:d, d + 2:] = -torch.eye(d, dtype=dtype)
    P[d, d + 1] = 1.0
    V = torch.zeros(D, D, dtype=dtype)
    V[d + 2:, :d] = G
    return P, V
