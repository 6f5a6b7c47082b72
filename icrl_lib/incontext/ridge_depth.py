"""Chapter 10, section 1: how deep the constructed ridge transformer must be (:mod:`.ridge`).

Shapes in [LBM24]'s notation: a context of ``n`` actions ``a_j`` in R^d (``X`` (n, d)) with rewards ``r_j``
(``y`` (n,)), penalty ``lambda``. Plain gradient-descent layers converge to the ridge estimate ``w*`` at the
rate ``(1 - eta lambda_min)^L``; Nesterov layers need about ``sqrt(kappa)`` layers where plain ones need
``kappa``. Every function validates its arguments before any work.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .._validation import as_tensor, check_int, check_positive, check_real, check_shape
from .ridge import (ridge_forward, ridge_gd_construction, ridge_gd_steps, ridge_layout, ridge_nesterov_construction,
                    ridge_prompt, ridge_readout, ridge_solution)

__all__ = ["prefix_curvature", "ridge_random_check", "ridge_depth_errors", "conditioned_context",
           "layers_to_tolerance", "layers_vs_condition", "query_solver_layers"]

F64 = torch.float64


def _context(X, y, lam):
    X = as_tensor(X, "X", dtype=F64)
    check_shape(X, "X", (None, None), batch=False)
    y = as_tensor(y, "y", dtype=F64)
    check_shape(y, "y", (X.shape[0],), batch=False)
    return X, y, check_positive(lam, "lam")


def prefix_curvature(X, lam) -> float:
    """``max_i lambda_max(X_{1:i}^T X_{1:i} / i) + lambda`` for ``X`` (n, d): the largest Hessian eigenvalue over
    the prefix losses ``l_1, ..., l_n`` (every column of the transformer must be stable, so ``eta`` must
    stay below its inverse).
    Chapter 10."""
    X = as_tensor(X, "X", dtype=F64)
    check_shape(X, "X", (None, None))
    lam = check_real(lam, "lam")
    if lam < 0:
        raise ValueError(f"lam must be >= 0; got {lam}")
    n = X.shape[-2]
    grams = torch.cumsum(X.unsqueeze(-1) * X.unsqueeze(-2), -3) / torch.arange(1, n + 1, dtype=X.dtype)[:, None, None]
    return float(torch.linalg.eigvalsh(grams).amax()) + lam


def ridge_random_check(n_trials: int = 12, seed: int = 0) -> dict:
    """``n_trials`` random (d, n, L, eta, lambda), three contexts each: the largest float64 gap between ``L``
    constructed layers and ``L`` explicit gradient steps (``ridge_gd_steps``) at the last column (``"last"``), at
    columns 1 and ``(n+1)//2`` (``"prefix"``) and for the Nesterov layers with momentum 0.5 (``"nesterov"``);
    ``"cases"`` lists the ``(d, n, L)`` drawn. Chapter 10."""
    n_trials = check_int(n_trials, "n_trials")
    seed = check_int(seed, "seed", minimum=0)
    g = torch.Generator().manual_seed(seed)
    out = {"last": 0.0, "prefix": 0.0, "nesterov": 0.0, "cases": []}
    for _ in range(n_trials):
        d, n, L = (int(torch.randint(lo, hi, (1,), generator=g)) for lo, hi in ((1, 7), (1, 30), (1, 40)))
        eta, lam = 0.05 + 0.4 * float(torch.rand((), generator=g)), float(torch.rand((), generator=g))
        X = 2 * torch.rand(3, n, d, generator=g, dtype=F64) - 1
        y = torch.randn(3, n, generator=g, dtype=F64)
        H_L = ridge_forward(ridge_prompt(X, y, torch.zeros(d, dtype=F64)), ridge_gd_construction(d, eta, lam, L))
        gap = ridge_readout(H_L) - ridge_gd_steps(X, y, eta, lam, L)[..., -1, :]
        out["last"] = max(out["last"], float(gap.abs().max()))
        every = ridge_readout(H_L, all_tokens=True)
        for i in (1, (n + 1) // 2):
            ref = ridge_gd_steps(X[:, :i], y[:, :i], eta, lam, L)[..., -1, :]
            out["prefix"] = max(out["prefix"], float((every[:, i - 1] - ref).abs().max()))
        lay = ridge_layout(d, nesterov=True)
        H_N = ridge_forward(ridge_prompt(X, y, torch.zeros(d, dtype=F64), layout=lay),
                            ridge_nesterov_construction(d, eta, lam, L, momentum=0.5))
        ref_n = ridge_gd_steps(X, y, eta, lam, L, momentum=0.5)[..., -1, :]
        out["nesterov"] = max(out["nesterov"], float((ridge_readout(H_N, layout=lay) - ref_n).abs().max()))
        out["cases"].append((d, n, L))
    return out


def ridge_depth_errors(X, y, lam, n_layers: int) -> dict:
    """The relative error ``|w_L - w*| / |w*|`` of ``L = 0..n_layers`` constructed layers (``"err"``
    (n_layers + 1,)) with ``eta = 1 / prefix_curvature(X, lam)``, for ``X`` (n, d), ``y`` (n,); the predicted
    ``"rate"`` ``1 - eta lambda_min`` and its powers ``"bound"`` (n_layers + 1,), and the ``"measured"`` rate
    (geometric mean of the error ratios over depths >= 20 above 1e-12). Chapter 10."""
    X, y, lam = _context(X, y, lam)
    n_layers = check_int(n_layers, "n_layers")
    n, d = X.shape
    lam_min = float(torch.linalg.eigvalsh(X.T @ X / n + lam * torch.eye(d, dtype=F64))[0])
    eta = 1.0 / prefix_curvature(X, lam)
    w_star = ridge_solution(X, y, lam)
    Hs = ridge_forward(ridge_prompt(X, y, torch.zeros(d, dtype=F64)), ridge_gd_construction(d, eta, lam, n_layers),
                       return_all=True)
    err = (ridge_readout(Hs) - w_star).norm(dim=-1) / w_star.norm()
    rate = 1 - eta * lam_min
    tail = err[(err > 1e-12) & (torch.arange(n_layers + 1) >= 20)]
    measured = float((tail[-1] / tail[0]) ** (1 / (len(tail) - 1))) if len(tail) > 1 else float("nan")
    return {"err": err, "bound": rate ** torch.arange(n_layers + 1, dtype=F64), "rate": rate, "measured": measured}


def conditioned_context(kappa, d: int = 4, n: int = 40, seed: int = 0):
    """A context ``(X (n, d), y (n,), lambda)`` with ``lambda = 1/(2 kappa)`` whose ``X^T X / n + lambda I`` has
    eigenvalues evenly spaced in ``[1/kappa, 1]``. Chapter 10."""
    kappa = check_positive(kappa, "kappa")
    if kappa <= 1:
        raise ValueError(f"kappa must be > 1; got {kappa}")
    d, n = check_int(d, "d"), check_int(n, "n")
    if n < d:
        raise ValueError(f"n must be >= d = {d}; got {n}")
    g = torch.Generator().manual_seed(check_int(seed, "seed", minimum=0))
    U, _ = torch.linalg.qr(torch.randn(n, d, generator=g, dtype=F64))
    R, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=F64))
    lam = 0.5 / kappa
    ev = torch.linspace(1.0 / kappa, 1.0, d, dtype=F64) - lam
    X = math.sqrt(n) * U @ torch.diag(ev.sqrt()) @ R.T
    return X, torch.randn(n, generator=g, dtype=F64), lam


def layers_to_tolerance(err, tol=1e-6):
    """The first index ``L`` of ``err`` (n_layers + 1,) with ``err[L] < tol``, or ``None``. Chapter 10."""
    err = as_tensor(err, "err")
    check_shape(err, "err", (None,), batch=False)
    tol = check_positive(tol, "tol")
    hits = torch.nonzero(err < tol)
    return int(hits[0]) if len(hits) else None


def layers_vs_condition(targets=(10, 30, 100, 300), d: int = 4, n: int = 40, tol=1e-6) -> dict:
    """For each target condition number a :func:`conditioned_context`, the layers plain GD (``eta = 1/L``,
    ``L`` the prefix curvature) and Nesterov (``beta = (sqrt kappa - 1)/(sqrt kappa + 1)``) need to reach relative
    error ``tol``: ``"kappa"`` (the realised ``L / lambda_min``), ``"plain"``, ``"nesterov"`` (lists) and the
    log-log ``"slopes"`` of the counts against kappa. Chapter 10."""
    targets = list(targets) if isinstance(targets, (list, tuple)) else None
    if not targets or len(targets) < 2:
        raise ValueError(f"targets must be a list of at least two condition numbers > 1; got {targets!r}")
    d, n = check_int(d, "d"), check_int(n, "n")
    tol = check_positive(tol, "tol")
    out = {"kappa": [], "plain": [], "nesterov": []}
    for target in targets:
        X, y, lam = conditioned_context(target, d, n)
        w_star = ridge_solution(X, y, lam)
        L_all = prefix_curvature(X, lam)
        kappa = L_all / float(torch.linalg.eigvalsh(X.T @ X / n + lam * torch.eye(d, dtype=F64))[0])
        beta = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
        Hp = ridge_forward(ridge_prompt(X, y, torch.zeros(d, dtype=F64)),
                           ridge_gd_construction(d, 1 / L_all, lam, int(20 * kappa)), return_all=True)
        lay = ridge_layout(d, nesterov=True)
        Hn = ridge_forward(ridge_prompt(X, y, torch.zeros(d, dtype=F64), layout=lay),
                           ridge_nesterov_construction(d, 1 / L_all, lam, int(30 * math.sqrt(kappa)) + 20, beta),
                           return_all=True)
        for key, Hs, layout in (("plain", Hp, None), ("nesterov", Hn, lay)):
            err = (ridge_readout(Hs, layout=layout) - w_star).norm(dim=-1) / w_star.norm()
            out[key].append(layers_to_tolerance(err, tol))
        out["kappa"].append(kappa)
    if any(c is None for c in out["plain"] + out["nesterov"]):
        raise ValueError(f"tol: some runs never reach {tol}; raise it")
    out["slopes"] = {k: float(np.polyfit(np.log(out["kappa"]), np.log(out[k]), 1)[0]) for k in ("plain", "nesterov")}
    return out


def query_solver_layers(solver, lam=0.5, n_layers: int = 1500, tol=1e-8, seed: int = 7) -> dict:
    """The check of chapter 10's exercise: ``solver(X, q, lam, n_layers, momentum)`` must return the iterates
    (n_layers + 1, d) of ``(lam I + X^T X)^{-1} q`` for a random ``X`` (12, 3), ``q`` (3,). Returns, for
    ``"plain"`` (momentum None) and ``"Nesterov"`` (0.8), ``(final max error, first layer below tol or None)``.
    Chapter 10."""
    if not callable(solver):
        raise ValueError(f"solver must be callable; got {type(solver).__name__}")
    lam, tol = check_positive(lam, "lam"), check_positive(tol, "tol")
    n_layers = check_int(n_layers, "n_layers")
    g = torch.Generator().manual_seed(check_int(seed, "seed", minimum=0))
    X = 2 * torch.rand(12, 3, generator=g, dtype=F64) - 1
    q = 2 * torch.rand(3, generator=g, dtype=F64) - 1
    want = torch.linalg.solve(torch.eye(3, dtype=F64) * lam + X.T @ X, q)
    out = {}
    for name, mom in (("plain", None), ("Nesterov", 0.8)):
        err = (solver(X, q, lam, n_layers, mom) - want).abs().amax(-1)
        out[name] = (float(err[-1]), layers_to_tolerance(err, tol))
    return out
