"""Weighted softmax TD in its matrix form on a tabular state space (chapter 8, our derivation): the iteration
matrix and its spectral radius, the value path over the layers, the certainty-equivalence limit, the layers a
tolerance needs, the tabular (one-hot, ``beta -> infinity``) limit, and batch linear TD's iteration radius for
comparison.

Notation of [X26] and chapter 8: a trajectory ``S_0..S_n`` (states (..., n+1)) over ``S`` states, rewards
``R_1..R_n`` (..., n), a feature table ``x(s)`` (S, d) or (..., S, d); :func:`empirical_kernel_matrices` gives
``M_hat`` (..., S, S), ``P_hat`` (..., S, S), ``r_hat`` (..., S) and the source counts ``n(s)``. One iteration
is ``v <- v + alpha M_hat (r_hat + gamma P_hat v - v)``; its matrix is ``G = I - alpha M_hat (I - gamma P_hat)``.
"""
from __future__ import annotations

import math

import torch

from .._validation import as_tensor, check_gamma, check_indices, check_int, check_positive, check_shape
from .softmax_td import empirical_kernel_matrices

__all__ = ["iteration_radius", "matrix_form_path", "certainty_equivalence_limit", "layers_needed",
           "tabular_limit_gap", "linear_td_iteration_radius"]


def iteration_radius(states, state_features, gamma, alpha=1.0) -> torch.Tensor:
    """``rho(I - alpha M_hat (I - gamma P_hat))`` on the visited states, shape (...,) (chapter 8).

    ``states`` (..., n+1) integers in ``[0, S)``, ``state_features`` (S, d) or (..., S, d). States that are
    never a source decouple (zero rows and columns of ``M_hat``, zero columns of ``P_hat``) and are dropped.
    """
    g = check_gamma(gamma)
    a = check_positive(alpha, "alpha")
    phi = as_tensor(state_features, "state_features")
    check_shape(phi, "state_features", (None, None))
    s = check_indices(states, "states", phi.shape[-2])
    if s.dim() < 1 or s.shape[-1] < 2:
        raise ValueError(f"states must have shape (..., n+1) with n >= 1; got {tuple(s.shape)}")
    zeros = torch.zeros(s.shape[:-1] + (s.shape[-1] - 1,), dtype=phi.dtype)
    M, P, _, counts = empirical_kernel_matrices(s, zeros, phi)
    eye = torch.eye(phi.shape[-2], dtype=phi.dtype)
    keep = (counts > 0).to(phi.dtype)
    G = (eye - a * M @ (eye - g * P)) * keep.unsqueeze(-1) * keep.unsqueeze(-2)
    return torch.linalg.eigvals(G).abs().amax(-1)


def matrix_form_path(states, rewards, state_features, gamma, n_layers, alpha=1.0):
    """The values of the ``S`` states after each of ``n_layers`` iterations from ``v_0 = 0`` (chapter 8).

    Returns ``(path, counts)``: ``path`` (..., L+1, S) with ``path[..., l, s] = v_l(s)``, and the source counts
    ``n(s)`` (..., S). At the columns of the trajectory it equals :func:`weighted_softmax_td`.
    """
    g = check_gamma(gamma)
    L = check_int(n_layers, "n_layers", minimum=0)
    a = check_positive(alpha, "alpha")
    M, P, r, counts = empirical_kernel_matrices(states, rewards, state_features)
    v = torch.zeros(r.shape, dtype=r.dtype)
    path = [v]
    for _ in range(L):
        residual = r + g * (P @ v.unsqueeze(-1)).squeeze(-1) - v
        v = v + a * (M @ residual.unsqueeze(-1)).squeeze(-1)
        path.append(v)
    return torch.stack(path, -2), counts


def certainty_equivalence_limit(states, rewards, n_states: int, gamma) -> torch.Tensor:
    """``(I - gamma P_hat)^{-1} r_hat`` (..., S), the fixed point of weighted softmax TD for every kernel whose
    matrix is invertible (chapter 8's proposition). A state that is never a source has a zero row of ``P_hat``
    and ``r_hat = 0``: its value is 0 (the boundary value ``v_0 = 0``)."""
    S = check_int(n_states, "n_states")
    g = check_gamma(gamma)
    _, P, r, _ = empirical_kernel_matrices(states, rewards, torch.eye(S, dtype=torch.float64))
    return torch.linalg.solve(torch.eye(S, dtype=P.dtype) - g * P, r.unsqueeze(-1)).squeeze(-1)


def layers_needed(relative_error, tol=1e-3) -> torch.Tensor:
    """The first layer after which ``relative_error`` (..., L+1) stays below ``tol``, shape (...,) float64;
    ``inf`` where the last layer is still at or above it (chapter 8)."""
    tol = check_positive(tol, "tol")
    rel = as_tensor(relative_error, "relative_error", dtype=torch.float64)
    check_shape(rel, "relative_error", (None,))
    above = (rel >= tol).to(torch.float64)
    last = (above * torch.arange(rel.shape[-1], dtype=torch.float64)).amax(-1)
    return torch.where(above[..., -1] > 0, torch.full_like(last, math.inf), last + 1)


def tabular_limit_gap(states, rewards, n_states: int, gamma, betas, n_layers: int) -> torch.Tensor:
    """``max_j |v_L(S_j) - v_L^tab(S_j)|`` (len(betas),) for one-hot features scaled by ``sqrt(beta)``
    (chapter 8): ``v^tab`` is batch tabular TD with per-state averages (``M_hat = I``, ``alpha = 1``), the
    ``beta -> infinity`` limit of weighted softmax TD."""
    S = check_int(n_states, "n_states")
    g = check_gamma(gamma)
    L = check_int(n_layers, "n_layers")
    b = as_tensor(betas, "betas", dtype=torch.float64).reshape(-1)
    if b.numel() == 0 or bool((b <= 0).any()):
        raise ValueError(f"betas must be a non-empty list of positive numbers; got {b.tolist()}")
    s = check_indices(states, "states", S)
    eye = torch.eye(S, dtype=torch.float64)
    _, P, r, _ = empirical_kernel_matrices(s, rewards, eye)
    v_tab = torch.zeros(S, dtype=torch.float64)
    for _ in range(L):
        v_tab = r + g * P @ v_tab
    gaps = [(matrix_form_path(s, rewards, eye * math.sqrt(float(beta)), g, L)[0][..., -1, :] - v_tab)[..., s]
            .abs().max() for beta in b]
    return torch.stack(gaps)


def linear_td_iteration_radius(x, x_next, gamma, c) -> torch.Tensor:
    """``rho(I - c A)`` (...,) with ``A = (1/N) sum_t x_t (x_t - gamma x'_t)^T`` (chapter 8): the rate of batch
    linear TD with ``C = c I`` (the [W25] construction). ``x``, ``x_next`` (..., N, d)."""
    g = check_gamma(gamma)
    c = check_positive(c, "c")
    x = as_tensor(x, "x")
    check_shape(x, "x", (None, None))
    x_next = as_tensor(x_next, "x_next", dtype=x.dtype)
    if x_next.shape[-2:] != x.shape[-2:]:
        raise ValueError(f"x_next must have the shape (..., N, d) of x; got {tuple(x_next.shape)} and "
                         f"{tuple(x.shape)}")
    A = x.transpose(-1, -2) @ (x - g * x_next) / x.shape[-2]
    return torch.linalg.eigvals(torch.eye(x.shape[-1], dtype=x.dtype) - c * A).abs().amax(-1)
