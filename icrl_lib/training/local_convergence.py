"""Local exponential convergence near the construction: gradient descent on the active pair from a trained block,
the predicted and measured rate, and the linear model's mode energies (chapter 6, section 6).

Notation of chapter 6 and :mod:`icrl_lib.training.gradient_flow`: ``(P, V)`` are (D, D) float64 matrices,
``qm`` the :class:`~icrl_lib.training.QueryMoments` of ``B`` fixed prompts of a
:class:`~icrl_lib.incontext.PromptDistribution` ``dist``. The *query pair* (``P[param, param]``,
``V[out, param]``) is set to zero; its gradient is then zero, so gradient descent moves only the active pair
``theta`` (``P[data, param]``, ``V[out, data]``; ``n_act`` entries). With ``eta = eta_factor / lambda_max`` (the
Hessian over the active pair at the start), the loss near the limit decays with slope
``2 log|1 - eta lambda_min|`` per step (:func:`~icrl_lib.training.predicted_log_loss_slope`), ``lambda_min`` the
smallest non-zero eigenvalue of the Hessian at the end.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .._validation import as_tensor, check_int, check_positive
from ..incontext import PromptDistribution, parameter_roles, predicted_null_dimension, select_mask
from .gradient_flow import (GDResult, QueryMoments, Spectrum, fit_log_slope, flat_entries, gradient_descent,
                            hessian_spectrum, linear_model_curve, loss_hessian, predicted_log_loss_slope)

__all__ = ["LocalConvergence", "ModeEnergies", "local_convergence", "mode_energies"]

_F64 = torch.float64


class LocalConvergence(NamedTuple):
    """One local-rate run (chapter 6): the start ``P0``, ``V0`` (D, D; query pair zeroed), the active masks
    ``act``, the step ``eta``, ``n_steps``, the descent ``gd``, the active-pair spectrum at the end
    ``spectrum_end`` (its ``null_dim`` is to be compared with ``predicted_null_dim``), the ``predicted`` slope of
    ``log L`` per step and the ``measured`` one (least squares over the last quarter of the steps)."""

    P0: torch.Tensor
    V0: torch.Tensor
    act: tuple[torch.Tensor, torch.Tensor]
    eta: float
    n_steps: int
    gd: GDResult
    spectrum_end: Spectrum
    predicted_null_dim: int
    predicted: float
    measured: float


class ModeEnergies(NamedTuple):
    """The linear model of the local-rate theorem fitted to a :class:`LocalConvergence` run (chapter 6):
    the ``m`` non-zero Hessian ``eigenvalues`` (ascending), the normal components ``coef`` (m,) of the start,
    the model's loss ``curve`` at the logged steps and the initial loss per mode ``energy = lambda c^2 / 2``."""

    eigenvalues: torch.Tensor
    coef: torch.Tensor
    curve: torch.Tensor
    energy: torch.Tensor


def local_convergence(P, V, qm: QueryMoments, dist: PromptDistribution, n_steps: int = 4000,
                      eta_factor: float = 1.5, log_every: int = 20) -> LocalConvergence:
    """Gradient descent on the active pair from ``(P, V)`` with its query pair set to zero (chapter 6).

    ``P``, ``V``: (D, D) with ``D = dist.layout.dim`` (e.g. an Adam-trained block); ``qm``: the moments of the
    fixed prompts (:func:`~icrl_lib.training.query_moments`); step ``eta = eta_factor / lambda_max`` with
    ``eta_factor`` in (0, 2) (stable for the quadratic model); ``n_steps`` steps logged every ``log_every``.
    """
    if not isinstance(dist, PromptDistribution):
        raise ValueError(f"dist must be a PromptDistribution; got {type(dist).__name__}")
    if not isinstance(qm, QueryMoments):
        raise ValueError(f"qm must be QueryMoments; got {type(qm).__name__}")
    D = dist.layout.dim
    P0 = as_tensor(P, "P", dtype=_F64).clone()
    V0 = as_tensor(V, "V", dtype=_F64).clone()
    for name, t in (("P", P0), ("V", V0)):
        if t.shape != (D, D):
            raise ValueError(f"{name} must have shape ({D}, {D}) (dist.layout.dim); got {tuple(t.shape)}")
    n_steps = check_int(n_steps, "n_steps", minimum=4)
    log_every = check_int(log_every, "log_every")
    if log_every > n_steps // 4:
        raise ValueError(f"log_every must be at most n_steps // 4 = {n_steps // 4} (the fit needs two points); "
                         f"got {log_every}")
    eta_factor = check_positive(eta_factor, "eta_factor")
    if not eta_factor < 2:
        raise ValueError(f"eta_factor must be in (0, 2) for a stable step; got {eta_factor}")
    rows = dist.output_rows
    q = parameter_roles(dist)["query"]
    P0[q[0]], V0[q[1]] = 0.0, 0.0
    act = select_mask(dist, "active")
    eta = eta_factor / hessian_spectrum(loss_hessian(P0, V0, qm, rows, act)).lambda_max
    gd = gradient_descent(P0, V0, qm, rows, eta, n_steps, log_every=log_every, dist=dist)
    spec = hessian_spectrum(loss_hessian(gd.P, gd.V, qm, rows, act))
    late = gd.steps >= 3 * n_steps // 4
    return LocalConvergence(P0, V0, act, eta, n_steps, gd, spec, predicted_null_dimension(dist, "active"),
                            predicted_log_loss_slope(spec.lambda_min, eta),
                            fit_log_slope(gd.steps[late], gd.loss[late]))


def mode_energies(run: LocalConvergence) -> ModeEnergies:
    """Fit the linear model of the local-rate theorem to ``run`` (:func:`~icrl_lib.training.linear_model_curve`
    with the spectrum at the end) and split the initial loss over the non-zero Hessian modes (chapter 6)."""
    if not isinstance(run, LocalConvergence):
        raise ValueError(f"run must be a LocalConvergence; got {type(run).__name__}")
    spec, gd = run.spectrum_end, run.gd
    theta0, thetaK = flat_entries(run.P0, run.V0, run.act), flat_entries(gd.P, gd.V, run.act)
    coef, curve = linear_model_curve(spec, theta0, thetaK, run.eta, run.n_steps, gd.steps)
    lam = spec.eigenvalues[spec.eigenvalues > spec.threshold]
    return ModeEnergies(lam, coef, curve, 0.5 * lam * coef ** 2)
