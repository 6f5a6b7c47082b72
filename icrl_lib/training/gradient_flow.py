"""Gradient flow on the teacher-mimicking loss: Hessians, null spaces, local rates, balancedness (chapter 6).

The loss of :mod:`icrl_lib.training.teacher_mimicking` on a *fixed* set of ``B`` prompts,

    L(P, V) = (1/B) sum_b || h_q,b[out] + (1/N) V[out, :] Ghat_b P h_q,b - target_b ||^2,
    Ghat_b  = H_b M H_b^T            (D x D; M removes the query as a source when ``mask=True``),

depends on each prompt only through the moment ``Ghat_b``, the query column ``h_q,b`` and the target
(:class:`QueryMoments`). Working with these instead of the full ``D x (N+1)`` prompts makes one loss
evaluation about ``N`` times cheaper, which is what lets chapter 6 run thousands of exact gradient-descent
steps and dense Hessians inside a notebook. The readout is the same number as
:func:`icrl_lib.training.block_readout` (the tests check it).

Roles of the entries of ``(P, V)`` for these prompts (:func:`icrl_lib.incontext.parameter_roles`). The query column has zeros
in its data rows and the context columns have zeros in their parameter rows, so ``Ghat`` is block diagonal
(data-data from the context, parameter-parameter ``u u^T`` from the query, ``u = h_q[param]``) and

    readout = u[out] + (1/N) V[out, data] Ghat_dd P[data, param] u            (the *active* pair)
                     + (1/N) V[out, param] u (u^T P[param, param] u)           (the *query* pair; 0 if masked)

- ``active``: ``P[data, param]`` and ``V[out, data]``: the blocks the constructions fill;
- ``query``: ``P[param, param]`` and ``V[out, param]``: the query token attending to itself; they vanish at
  the construction and must satisfy ``V[out, param] u (u^T P_pp u) = 0`` at every zero of the loss;
- ``inert``: ``P[:, data]`` and the rows of ``V`` that are not read out: their gradient is exactly zero, so
  every optimiser leaves them at their initial values (so does the antisymmetric part of ``P[param, param]``).

Gradient flow ``d theta / dt = -grad L`` and its discretisation, gradient descent with step ``eta``
(:func:`gradient_descent`). Near a point of the zero set where the Hessian's null space is the tangent space
of that set, the loss decays like ``exp(-2 lambda_min t)`` (flow) or ``(1 - eta lambda_min)^(2k)``
(descent), with ``lambda_min`` the smallest non-zero eigenvalue (:func:`predicted_log_loss_slope`).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from .._validation import as_tensor, check_finite_result, check_indices, check_int, check_positive, check_real
from ..incontext import PromptBatch, PromptDistribution, parameter_roles
from ._checks import check_loss
from .fit import OptimiserConfig, fit

__all__ = ["QueryMoments", "query_moments", "moment_readout", "moment_loss", "flat_entries", "with_entries",
           "loss_gradients", "loss_hessian", "Spectrum", "hessian_spectrum", "predicted_log_loss_slope",
           "fit_log_slope", "linear_model_curve", "balance", "GDResult", "gradient_descent"]

_F64 = torch.float64


class QueryMoments(NamedTuple):
    """What the loss sees of ``B`` prompts: ``moment`` (B, D, D) = ``H M H^T``, ``hq`` (B, D) the query
    columns, ``target`` (B, n_out) the teacher's outputs, and the context length ``N`` (float64; chapter 6)."""

    moment: torch.Tensor
    hq: torch.Tensor
    target: torch.Tensor
    N: int


def query_moments(batch: PromptBatch, mask: bool = False) -> QueryMoments:
    """Reduce a :class:`~icrl_lib.incontext.PromptBatch` to its :class:`QueryMoments` (float64) (chapter 6)."""
    if not isinstance(batch, PromptBatch):
        raise ValueError(f"batch must be a PromptBatch; got {type(batch).__name__}")
    if not isinstance(mask, bool):
        raise ValueError(f"mask must be True or False; got {mask!r}")
    H = as_tensor(batch.H, "batch.H", dtype=_F64)
    as_tensor(batch.target, "batch.target")
    src = H.clone()
    if mask:
        src[..., -1] = 0
    return QueryMoments(src @ H.transpose(-1, -2), H[..., -1].clone(), batch.target.to(_F64), H.shape[-1] - 1)


def _check_pv(P, V, qm: QueryMoments) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(qm, QueryMoments):
        raise ValueError(f"qm must be QueryMoments; got {type(qm).__name__}")
    D = qm.hq.shape[-1]
    P = as_tensor(P, "P", dtype=_F64)
    V = as_tensor(V, "V", dtype=_F64)
    if P.shape != (D, D) or V.shape != (D, D):
        raise ValueError(f"P and V must have shape ({D}, {D}); got {tuple(P.shape)} and {tuple(V.shape)}")
    return P, V


def _check_rows(rows, qm: QueryMoments) -> torch.Tensor:
    rows = check_indices(rows, "rows", qm.hq.shape[-1])
    if rows.dim() != 1 or qm.target.shape[-1:] != rows.shape:
        raise ValueError(f"rows must be a 1-d index of the {qm.target.shape[-1]} target rows; got shape "
                         f"{tuple(rows.shape)}")
    return rows


def _readout(P, V, qm: QueryMoments, rows: torch.Tensor) -> torch.Tensor:
    # Contract right to left (Ghat (P h_q) first): D^2 work per prompt instead of n_out D^2.
    x = (qm.moment @ (qm.hq @ P.T).unsqueeze(-1)).squeeze(-1)             # (B, D): Ghat P h_q
    return qm.hq[:, rows] + x @ V[rows].T / qm.N


def _loss(P, V, qm: QueryMoments, rows: torch.Tensor) -> torch.Tensor:
    return ((_readout(P, V, qm, rows) - qm.target) ** 2).sum(-1).mean()


def moment_readout(P, V, qm: QueryMoments, rows) -> torch.Tensor:
    """The block's readout ``h_q[rows] + (1/N) V[rows] Ghat P h_q`` for every prompt, shape (B, len(rows)) (chapter 6)."""
    P, V = _check_pv(P, V, qm)
    rows = check_indices(rows, "rows", qm.hq.shape[-1])
    return _readout(P, V, qm, rows)


def moment_loss(P, V, qm: QueryMoments, rows) -> torch.Tensor:
    """The teacher-mimicking loss on the prompts of ``qm`` (chapter 6).

    The same number as :func:`~icrl_lib.training.mimicking_loss` on the prompts it was built from.
    """
    P, V = _check_pv(P, V, qm)
    return _loss(P, V, qm, _check_rows(rows, qm))


def _check_masks(masks, shape) -> tuple[torch.Tensor, torch.Tensor]:
    if not (isinstance(masks, (tuple, list)) and len(masks) == 2):
        raise ValueError(f"masks must be a pair (mask_P, mask_V) of boolean tensors; got {type(masks).__name__}")
    out = []
    for m in masks:
        m = torch.as_tensor(m)
        if m.dtype != torch.bool or tuple(m.shape) != tuple(shape):
            raise ValueError(f"masks must be boolean tensors of shape {tuple(shape)}; got {m.dtype} "
                             f"{tuple(m.shape)}")
        out.append(m)
    return out[0], out[1]


def flat_entries(P, V, masks: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """The selected entries as one vector: ``P[mask_P]`` (row-major) then ``V[mask_V]`` (chapter 6).

    ``P``, ``V`` (D, D); ``masks`` a pair of boolean (D, D) tensors."""
    P, V = as_tensor(P, "P"), as_tensor(V, "V")
    if P.dim() != 2 or P.shape[0] != P.shape[1] or V.shape != P.shape:
        raise ValueError(f"P and V must have the same square shape (D, D); got {tuple(P.shape)} and "
                         f"{tuple(V.shape)}")
    masks = _check_masks(masks, P.shape)
    return torch.cat([P[masks[0]], V[masks[1]]])


def with_entries(P, V, masks, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Copies of ``(P, V)`` whose selected entries are replaced by ``theta`` (differentiable in ``theta``) (chapter 6).

    ``P``, ``V`` (D, D); ``masks`` a pair of boolean (D, D) tensors; ``theta`` (n,) with ``n`` the selected entries.
    """
    P, V = as_tensor(P, "P"), as_tensor(V, "V")
    mP, mV = _check_masks(masks, P.shape)
    if V.shape != P.shape:
        raise ValueError(f"V must have the shape of P {tuple(P.shape)}; got {tuple(V.shape)}")
    theta = as_tensor(theta, "theta", dtype=P.dtype)
    return _with_entries(P, V, (mP, mV), theta)


def _with_entries(P, V, masks, theta):
    # unchecked: also runs under torch.func transforms (loss_hessian), where data-dependent checks cannot
    mP, mV = masks
    nP = int(mP.sum())
    if theta.shape != (nP + int(mV.sum()),):
        raise ValueError(f"theta must have shape ({nP + int(mV.sum())},); got {tuple(theta.shape)}")
    iP, iV = mP.reshape(-1).nonzero().squeeze(-1), mV.reshape(-1).nonzero().squeeze(-1)
    P2 = P.reshape(-1).index_put((iP,), theta[:nP]).reshape(P.shape)
    V2 = V.reshape(-1).index_put((iV,), theta[nP:]).reshape(V.shape)
    return P2, V2


def loss_gradients(P, V, qm: QueryMoments, rows) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(loss, dL/dP, dL/dV)`` at ``(P, V)`` on the prompts of ``qm`` (float64, full D x D gradients) (chapter 6)."""
    P, V = _check_pv(P, V, qm)
    rows = _check_rows(rows, qm)
    P = P.clone().requires_grad_(True)
    V = V.clone().requires_grad_(True)
    loss = _loss(P, V, qm, rows)
    gP, gV = torch.autograd.grad(loss, (P, V))
    return loss.detach(), gP, gV


def loss_hessian(P, V, qm: QueryMoments, rows, masks, method: str = "exact", chunk_size: int = 128
                 ) -> torch.Tensor:
    """The exact Hessian of :func:`moment_loss` with respect to the entries selected by ``masks`` (chapter 6).

    Ordered as :func:`flat_entries`; entries outside ``masks`` stay fixed at their values in ``P``, ``V``.
    Returns a symmetric ``(n, n)`` float64 tensor.

    ``method="exact"`` uses the structure of the loss: each readout ``r_b = h_q[out] + V[out] x_b`` with
    ``x_b = Ghat_b P h_q / N`` is linear in ``P`` and linear in ``V``, so the Hessian is the Gauss-Newton
    term ``(2/B) sum_b J_b^T J_b`` plus a residual term that only couples ``P`` with ``V``:
    ``d^2 r_{b,o} / dP[d,f] dV[o,e] = Ghat_b[e,d] h_q,b[f] / N``. ``method="autograd"`` differentiates the loss
    twice with torch (reverse over reverse, ``chunk_size`` rows at a time): slower, used to test the formula.
    """
    P, V = _check_pv(P, V, qm)
    rows = _check_rows(rows, qm)
    masks = _check_masks(masks, P.shape)
    mP, mV = masks
    if method not in ("exact", "autograd"):
        raise ValueError(f"method must be 'exact' or 'autograd'; got {method!r}")
    if method == "autograd":
        chunk_size = check_int(chunk_size, "chunk_size")
        theta0 = flat_entries(P, V, masks).clone()

        def f(theta):
            P2, V2 = _with_entries(P, V, masks, theta)
            return _loss(P2, V2, qm, rows)

        Hm = torch.func.jacrev(torch.func.grad(f), chunk_size=chunk_size)(theta0)
        return (Hm + Hm.T) / 2
    if method != "exact":
        raise ValueError(f"method must be 'exact' or 'autograd'; got {method!r}")
    B, D, N = qm.hq.shape[0], qm.hq.shape[1], qm.N
    u, G = qm.hq, qm.moment
    x = (G @ (u @ P.T).unsqueeze(-1)).squeeze(-1) / N                      # (B, D)
    res = _readout(P, V, qm, rows) - qm.target                               # (B, n_out)
    A = V[rows] @ G / N                                                      # (B, n_out, D): dr/d(P u)
    # J_P[b, o, (d, f)] = A[b, o, d] u[b, f];  J_V[b, o, (o', e)] = [o = o'] x[b, e]
    AtA = A.transpose(-1, -2) @ A                                           # (B, D, D)
    H_PP = torch.einsum("bde,bfg->dfeg", AtA, u[:, :, None] * u[:, None, :]) * (2 / B)
    H_PP = H_PP.reshape(D * D, D * D)
    XtX = x.T @ x * (2 / B)                                                  # (D, D)
    n_out = len(rows)
    H_VV_rows = torch.kron(torch.eye(n_out, dtype=_F64), XtX)               # over V[rows] entries
    # Gauss-Newton cross term plus the residual term (the only non-zero second derivative of r)
    H_PV_rows = (torch.einsum("bod,bf,be->dfoe", A, u, x)
                 + torch.einsum("bo,bed,bf->dfoe", res, G, u) / N) * (2 / B)
    H_PV_rows = H_PV_rows.reshape(D * D, n_out * D)
    # embed the V[rows] block into all D x D entries of V (unread rows have zero curvature)
    v_index = (rows[:, None] * D + torch.arange(D)[None, :]).reshape(-1)
    H_VV = torch.zeros(D * D, D * D, dtype=_F64)
    H_VV[v_index[:, None], v_index[None, :]] = H_VV_rows
    H_PV = torch.zeros(D * D, D * D, dtype=_F64)
    H_PV[:, v_index] = H_PV_rows
    iP, iV = mP.reshape(-1).nonzero().squeeze(-1), mV.reshape(-1).nonzero().squeeze(-1)
    top = torch.cat([H_PP[iP][:, iP], H_PV[iP][:, iV]], 1)
    bottom = torch.cat([H_PV[iP][:, iV].T, H_VV[iV][:, iV]], 1)
    Hm = torch.cat([top, bottom], 0)
    return (Hm + Hm.T) / 2


class Spectrum(NamedTuple):
    """Eigenvalues (ascending) and eigenvectors of a Hessian, the relative threshold that separates zero
    from non-zero eigenvalues, the null-space dimension and the smallest non-zero / largest eigenvalues
    (chapter 6)."""

    eigenvalues: torch.Tensor
    eigenvectors: torch.Tensor
    threshold: float
    null_dim: int
    lambda_min: float
    lambda_max: float

    @property
    def n_negative(self) -> int:
        """Number of eigenvalues below ``-threshold`` (zero at a minimum; positive at a saddle)."""
        return int((self.eigenvalues < -self.threshold).sum())

    @property
    def nonzero(self) -> torch.Tensor:
        """The eigenvalues counted as non-zero, in ascending order of absolute value."""
        ev = self.eigenvalues[self.eigenvalues.abs() > self.threshold]
        return ev[ev.abs().argsort()]

    @property
    def gap(self) -> float:
        """Ratio of the smallest non-zero eigenvalue to the largest eigenvalue counted as zero (inf if exact)."""
        zeros = self.eigenvalues[: self.null_dim].abs()
        largest_zero = float(zeros.max()) if self.null_dim else 0.0
        return math.inf if largest_zero == 0 else self.lambda_min / largest_zero


def hessian_spectrum(Hm, rtol: float = 1e-9) -> Spectrum:
    """Eigen-decompose a symmetric Hessian; eigenvalues with ``|lambda| <= rtol * lambda_max`` count as zero (chapter 6).

    The default ``rtol`` sits far above float64 round-off (about 1e-14 relative) and far below the smallest
    curvature of the book's well-posed problems; :attr:`Spectrum.gap` reports how clean the separation is.
    """
    Hm = as_tensor(Hm, "Hm", dtype=_F64)
    if Hm.ndim != 2 or Hm.shape[0] != Hm.shape[1] or Hm.shape[0] == 0:
        raise ValueError(f"Hm must be a square matrix; got shape {tuple(Hm.shape)}")
    rtol = check_real(rtol, "rtol")
    if not 0 < rtol < 1:
        raise ValueError(f"rtol must be in (0, 1); got {rtol}")
    evals, evecs = torch.linalg.eigh((Hm + Hm.T) / 2)
    lmax = float(evals.abs().max())
    thr = rtol * lmax
    null = int((evals.abs() <= thr).sum())
    nonzero = evals[evals.abs() > thr]
    lmin = float(nonzero.abs().min()) if len(nonzero) else 0.0
    return Spectrum(evals, evecs, thr, null, lmin, lmax)


def predicted_log_loss_slope(lambda_min: float, lr: float | None = None) -> float:
    """Slope of ``log(L - L*)`` in the slowest normal direction of curvature ``lambda_min`` (chapter 6).

    Gradient flow (``lr=None``): ``-2 lambda_min`` per unit time. Gradient descent with step ``lr``: the
    normal component shrinks by ``1 - lr lambda_min`` per step and the loss is quadratic in it, so
    ``2 log|1 - lr lambda_min|`` per step (about ``-2 lr lambda_min`` for small steps).
    """
    lam = check_positive(lambda_min, "lambda_min")
    if lr is None:
        return -2.0 * lam
    lr = check_positive(lr, "lr")
    factor = abs(1.0 - lr * lam)
    if factor == 0:
        return -math.inf
    return 2.0 * math.log(factor)


def fit_log_slope(steps, losses) -> float:
    """Least-squares slope of ``log(losses)`` against ``steps`` (for a window where the decay is exponential) (chapter 6)."""
    x = as_tensor(steps, "steps", dtype=_F64).numpy()
    y = as_tensor(losses, "losses", dtype=_F64).numpy()
    if x.ndim != 1 or x.shape != y.shape or len(x) < 2:
        raise ValueError(f"steps and losses must be 1-d of equal length >= 2; got {x.shape} and {y.shape}")
    if np.any(y <= 0):
        raise ValueError("losses must be > 0 to take logs")
    if np.ptp(x) == 0:
        raise ValueError("steps must hold at least two distinct values (a slope needs two abscissae)")
    return float(np.polyfit(x, np.log(y), 1)[0])


def linear_model_curve(spectrum: Spectrum, theta0, thetaK, lr: float, n_steps: int, steps
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """The linear model of chapter 6's local-rate theorem for gradient descent, fitted from one run.

    Near a limit ``theta_inf`` with Hessian eigen-pairs ``(lambda_i, v_i)`` (``spectrum``, e.g. at the end of the
    run), descent with step ``lr`` multiplies the normal component along ``v_i`` by ``1 - lr lambda_i`` per step,
    so after ``n_steps`` steps the displacement ``theta0 - thetaK`` has component
    ``c_i (1 - (1 - lr lambda_i)^n_steps)`` along ``v_i``; this is inverted for ``c_i = <v_i, theta0 - theta_inf>``.
    Returns ``(coef, curve)``: the ``c_i`` of the non-zero eigenvalues (ascending, as in ``spectrum``) and the
    predicted loss ``(1/2) sum_i lambda_i c_i^2 (1 - lr lambda_i)^(2k)`` at each ``k`` of ``steps`` (float64).
    Exact for a quadratic loss (the tests check it); chapter 6 compares it with the real loss curve.
    """
    if not isinstance(spectrum, Spectrum):
        raise ValueError(f"spectrum must be a Spectrum; got {type(spectrum).__name__}")
    n = spectrum.eigenvectors.shape[0]
    theta0 = as_tensor(theta0, "theta0", dtype=_F64)
    thetaK = as_tensor(thetaK, "thetaK", dtype=_F64)
    if theta0.shape != (n,) or thetaK.shape != (n,):
        raise ValueError(f"theta0 and thetaK must have shape ({n},); got {tuple(theta0.shape)} and {tuple(thetaK.shape)}")
    lr = check_positive(lr, "lr")
    n_steps = check_int(n_steps, "n_steps")
    k = as_tensor(steps, "steps", dtype=_F64)
    if k.ndim != 1 or k.numel() == 0 or bool((k < 0).any()):
        raise ValueError(f"steps must be a 1-d sequence of step indices >= 0; got shape {tuple(k.shape)}")
    nz = spectrum.eigenvalues > spectrum.threshold
    lam, Q = spectrum.eigenvalues[nz], spectrum.eigenvectors[:, nz]
    factor = 1 - lr * lam
    if bool((factor.abs() >= 1).any()):
        raise ValueError(f"lr must be below 2 / lambda_max = {2 / float(lam.max()):.4g}; got {lr}")
    coef = (Q.T @ (theta0 - thetaK)) / (1 - factor ** n_steps)
    curve = 0.5 * ((lam * coef ** 2)[None, :] * factor[None, :] ** (2 * k[:, None])).sum(1)
    return coef, curve


def balance(P, V) -> float:
    """The quantity ``||V||_F^2 - ||P||_F^2`` that gradient flow conserves (chapter 6)."""
    P, V = as_tensor(P, "P"), as_tensor(V, "V")
    if V.shape != P.shape:
        raise ValueError(f"V must have the shape of P {tuple(P.shape)}; got {tuple(V.shape)}")
    out = (V.double() ** 2).sum() - (P.double() ** 2).sum()
    check_finite_result(out, "the balance ||V||^2 - ||P||^2", "P and V are too large (overflow)")
    return float(out)


class GDResult(NamedTuple):
    """Final ``P``, ``V`` and the history: ``steps`` (logged step indices), ``loss`` and ``balance`` there,
    and ``balance_active`` = ``||V_act||^2 - ||P_act||^2`` of the active pair (float64 tensors; chapter 6)."""

    P: torch.Tensor
    V: torch.Tensor
    steps: torch.Tensor
    loss: torch.Tensor
    balance: torch.Tensor
    balance_active: torch.Tensor


def gradient_descent(P0, V0, qm: QueryMoments, rows, lr: float, n_steps: int, optimizer: str = "gd",
                     log_every: int = 1, dist: PromptDistribution | None = None) -> GDResult:
    """Full-batch training on the fixed prompts of ``qm`` in float64: plain gradient descent (``"gd"``, the
    discretised gradient flow) or Adam (``"adam"``, torch defaults with step ``lr``) (chapter 6).

    Same update as :func:`~icrl_lib.training.train_teacher_mimicking` with ``fixed_dataset=True``
    on the same prompts, only faster (it works on :class:`QueryMoments`). Logs the loss and the balance at
    step 0 and every ``log_every`` steps (the loss at step ``k`` is the loss *after* ``k`` updates). With
    ``dist`` the active-pair balance is logged as well (else it is NaN). A diverging run (NaN or inf loss)
    raises ``ValueError`` asking for a lower ``lr``.
    """
    P, V = _check_pv(P0, V0, qm)
    rows = _check_rows(rows, qm)
    lr = check_positive(lr, "lr")
    n_steps = check_int(n_steps, "n_steps", minimum=0)
    log_every = check_int(log_every, "log_every")
    if optimizer not in ("gd", "adam"):
        raise ValueError(f"optimizer must be 'gd' or 'adam'; got {optimizer!r}")
    if dist is not None and not isinstance(dist, PromptDistribution):
        raise ValueError(f"dist must be a PromptDistribution or None; got {type(dist).__name__}")
    act = parameter_roles(dist)["active"] if dist is not None else None
    P = P.clone().requires_grad_(True)
    V = V.clone().requires_grad_(True)
    steps, losses, bals, bals_act = [], [], [], []

    def record(k: int, loss: torch.Tensor) -> None:
        # the loss at step k is the loss after k updates: the one step k + 1 differentiates
        if k % log_every == 0 or k == n_steps:
            steps.append(k)
            losses.append(float(loss.detach()))
            with torch.no_grad():
                bals.append(float((V ** 2).sum() - (P ** 2).sum()))
                bals_act.append(float((V[act[1]] ** 2).sum() - (P[act[0]] ** 2).sum()) if act else math.nan)

    def loss_fn(step: int) -> torch.Tensor:
        loss = _loss(P, V, qm, rows)
        record(step - 1, loss)
        return loss

    fit([P, V], loss_fn, OptimiserConfig(optimizer, lr), n_steps)
    final = _loss(P, V, qm, rows)
    check_loss(final, n_steps, "lower lr")
    record(n_steps, final)
    t = lambda x: torch.tensor(x, dtype=_F64)  # noqa: E731
    return GDResult(P.detach().clone(), V.detach().clone(), torch.tensor(steps), t(losses), t(bals), t(bals_act))
