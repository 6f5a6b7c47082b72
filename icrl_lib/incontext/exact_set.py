"""Computations on the set of exact parameters of a block (chapter 4, section 4): readout changes under
perturbations of sub-blocks, the one-hot token moments that span ``W_d``, the richness check of a prompt
distribution, and a random point of the exact set with its tangent vectors.

Notation ([LL26] as read in chapter 4): prompts ``H`` (B, D, N+1) with the query in the last column, blocks
``P, V`` (D, D), readout rows ``out`` (the ``w`` rows for SARSA), data tokens ``z_t = (phi_t; phi'_t; R_t)``
of size ``2d + 1`` and the data moment ``Ghat = (1/N) sum_t z_t z_t^T``.
"""
from __future__ import annotations

import torch

from .._validation import as_generator, as_tensor, check_bool, check_int, check_real
from ..attention import linear_self_attention
from .manifold import null_directions, parameter_roles, span_rank, data_moments
from .tasks import PromptDistribution, build_prompt_batch, sample_mdps

__all__ = ["readout_change", "block_perturbation", "perturbation_table", "one_hot_token_moments",
           "moment_span_dims", "exact_set_point", "exact_set_tangent"]

_F64 = torch.float64


def _check_pair(P, V):
    P, V = as_tensor(P, "P", dtype=_F64), as_tensor(V, "V", dtype=_F64)
    if P.dim() != 2 or P.shape[0] != P.shape[1]:
        raise ValueError(f"P must be a square (D, D) matrix; got shape {tuple(P.shape)}")
    if V.shape != P.shape:
        raise ValueError(f"V must have the shape of P {tuple(P.shape)}; got {tuple(V.shape)}")
    return P, V


def _check_dist(dist) -> PromptDistribution:
    if not isinstance(dist, PromptDistribution):
        raise ValueError(f"dist must be a PromptDistribution; got {type(dist).__name__}")
    return dist


def readout_change(H, P, V, dP, dV, rows, mask: bool = True) -> float:
    """``max |LSA_{P+dP, V+dV}(H)[rows, -1] - LSA_{P,V}(H)[rows, -1]|`` over the prompts ``H`` (B, D, N+1):
    how far a perturbation ``(dP, dV)`` (D, D) moves the readout (chapter 4, sections 4.2-4.6)."""
    P, V = _check_pair(P, V)
    dP, dV = as_tensor(dP, "dP", dtype=_F64), as_tensor(dV, "dV", dtype=_F64)
    if dP.shape != P.shape or dV.shape != P.shape:
        raise ValueError(f"dP and dV must have the shape of P {tuple(P.shape)}; "
                         f"got {tuple(dP.shape)} and {tuple(dV.shape)}")
    mask = check_bool(mask, "mask")
    H = as_tensor(H, "H", dtype=_F64)
    if H.dim() < 2 or H.shape[-2] != P.shape[0]:
        raise ValueError(f"H must have shape (..., {P.shape[0]}, N+1); got {tuple(H.shape)}")
    base = linear_self_attention(H, P, V, mask=mask)[..., rows, -1]
    moved = linear_self_attention(H, P + dP, V + dV, mask=mask)[..., rows, -1]
    return float((moved - base).abs().max())


def block_perturbation(D: int, matrix: str, rows, cols, generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``(dP, dV)`` (D, D): zero except a standard Gaussian sub-block ``[rows, cols]`` of ``P`` (``matrix="P"``)
    or ``V`` (``matrix="V"``); ``rows``, ``cols`` slices (chapter 4, section 4.2)."""
    D = check_int(D, "D")
    if matrix not in ("P", "V"):
        raise ValueError(f"matrix must be 'P' or 'V'; got {matrix!r}")
    for name, s in (("rows", rows), ("cols", cols)):
        if not isinstance(s, slice) or len(range(D)[s]) == 0:
            raise ValueError(f"{name} must be a non-empty slice of range({D}); got {s!r}")
    g = as_generator(generator)
    dP, dV = torch.zeros(D, D, dtype=_F64), torch.zeros(D, D, dtype=_F64)
    target = dP if matrix == "P" else dV
    target[rows, cols] = torch.randn(target[rows, cols].shape, generator=g, dtype=_F64)
    return dP, dV


def perturbation_table(H, P, V, parts: dict, rows, generator) -> list[tuple[str, str, str, float, float]]:
    """Perturb each sub-block ``[a, b]`` of ``P`` and of ``V`` (``a, b`` over the named slices ``parts``, e.g.
    data | 1 | w) by a Gaussian block and report ``(matrix, a, b, change with mask, change without mask)``
    of the readout rows ``rows`` on ``H`` (chapter 4, section 4.2: active, inert and query-pair blocks)."""
    P, V = _check_pair(P, V)
    if not isinstance(parts, dict) or not parts:
        raise ValueError(f"parts must be a non-empty dict name -> slice; got {parts!r}")
    g = as_generator(generator)
    table = []
    for m in "PV":
        for a, ra in parts.items():
            for b, rb in parts.items():
                dP, dV = block_perturbation(P.shape[0], m, ra, rb, g)
                ch = [readout_change(H, P, V, dP, dV, rows, mask) for mask in (True, False)]
                table.append((m, a, b, *ch))
    return table


def one_hot_token_moments(d: int, rewards=(0.0, 1.0, 2.0)) -> torch.Tensor:
    """``z z^T`` for every one-hot token ``z = (e_i; e_j; rho)``, ``i, j < d``, ``rho`` in ``rewards``:
    (d^2 len(rewards), 2d + 1, 2d + 1). With at least three distinct rewards they span ``W_d`` (chapter 4,
    section 4.4), of dimension ``d^2 + 2d``."""
    d = check_int(d, "d")
    rho = as_tensor(rewards, "rewards", dtype=_F64).reshape(-1)
    if rho.numel() == 0:
        raise ValueError("rewards must hold at least one reward")
    e = torch.eye(d, dtype=_F64)
    z = torch.stack([torch.cat([e[i], e[j], r.reshape(1)]) for i in range(d) for j in range(d) for r in rho])
    return z[:, :, None] * z[:, None, :]


def moment_span_dims(dist: PromptDistribution, n_prompts: int, w, generator) -> dict:
    """Richness hypothesis (R) on ``n_prompts`` prompts of ``dist`` sharing the weights ``w`` (n_params,):
    ``chained`` (every prompt is a trajectory, ``phi'_t = phi_{t+1}``), ``span_G`` (dim of the span of their
    ``Ghat``), ``span_W`` (dim ``W_d``) and ``span_union`` (dim of both together) (chapter 4, section 4.4)."""
    dist = _check_dist(dist)
    n_prompts = check_int(n_prompts, "n_prompts")
    w = as_tensor(w, "w", dtype=_F64)
    if w.shape != (dist.n_params,):
        raise ValueError(f"w must have shape ({dist.n_params},); got {tuple(w.shape)}")
    g = as_generator(generator)
    L = dist.layout
    batch = build_prompt_batch(dist, sample_mdps(dist, n_prompts, g), w.expand(n_prompts, -1), g)
    Z = batch.H[:, L.data, :-1]
    chained = torch.equal(Z[:, L.rows("phi_next"), :-1], Z[:, L.rows("phi"), 1:])
    G, W = data_moments(batch.H, L), one_hot_token_moments(dist.d)
    return {"chained": chained, "span_G": span_rank(G), "span_W": span_rank(W),
            "span_union": span_rank(torch.cat([G, W]))}


def _roles(dist):
    active = parameter_roles(dist)["active"]
    return ~active[0], ~active[1]


def exact_set_point(dist: PromptDistribution, c: float, generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A point of the masked exact set away from the construction: ``(c P*, V*/c)`` plus random one-hot null
    directions in the active blocks and Gaussian values in every inert entry (chapter 4, section 4.5)."""
    dist = _check_dist(dist)
    c = check_real(c, "c")
    if c == 0.0:
        raise ValueError("c must be non-zero (the scale of the rescaling curve)")
    g = as_generator(generator)
    L = dist.layout
    P_s, V_s = dist.construction()
    N_P, N_V = null_directions(dist)
    inert_P, inert_V = _roles(dist)
    P = c * P_s + torch.randn(P_s.shape, generator=g, dtype=_F64) * inert_P
    V = V_s / c + torch.randn(V_s.shape, generator=g, dtype=_F64) * inert_V
    P[L.data, L.param] += torch.einsum("k,kij->ij", torch.randn(N_P.shape[0], generator=g, dtype=_F64), N_P)
    out = slice(int(dist.output_rows[0]), int(dist.output_rows[-1]) + 1)
    V[out, L.data] += torch.einsum(
        "k,kij->ij", torch.randn(N_V.shape[0], generator=g, dtype=_F64), N_V)
    return P, V


def exact_set_tangent(dist: PromptDistribution, c: float) -> torch.Tensor:
    """Tangent vectors ``(vec P, vec V)`` (n, 2 D^2) of the masked exact set at a point with scale ``c``: the
    velocity ``(P*, -V*/c^2)`` of the rescaling curve, the one-hot null directions and the unit vectors of
    the inert entries (chapter 4, section 4.5; ``n`` is the set's dimension)."""
    dist = _check_dist(dist)
    c = check_real(c, "c")
    if c == 0.0:
        raise ValueError("c must be non-zero (the scale of the rescaling curve)")
    L, D = dist.layout, dist.layout.dim
    out = slice(int(dist.output_rows[0]), int(dist.output_rows[-1]) + 1)
    P_s, V_s = dist.construction()
    N_P, N_V = null_directions(dist)
    inert_P, inert_V = _roles(dist)
    tangent = [torch.cat([P_s.reshape(-1), (-V_s / c**2).reshape(-1)])]
    for k in range(N_P.shape[0]):
        t = torch.zeros(2, D, D, dtype=_F64)
        t[0][L.data, L.param] = N_P[k]
        tangent.append(t.reshape(-1))
    for k in range(N_V.shape[0]):
        t = torch.zeros(2, D, D, dtype=_F64)
        t[1][out, L.data] = N_V[k]
        tangent.append(t.reshape(-1))
    inert = torch.eye(2 * D * D, dtype=_F64)[torch.cat([inert_P.reshape(-1), inert_V.reshape(-1)])]
    return torch.cat([torch.stack(tangent), inert])
