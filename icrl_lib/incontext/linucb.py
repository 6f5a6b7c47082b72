"""Soft LinUCB inside a ReLU-attention transformer ([LBM24]; exact realisation ours), chapter 10.

Prompt (:func:`linucb_prompt`): a start column (no data, the empty history) followed by one column per round
``t = 1..T`` holding the played arm's features ``a_t`` and reward ``r_t``; every column carries the fixed arm set
``a_{:,1..A}`` in its query rows. Column ``t + 1`` (1-based, it sees the start token and rounds ``1..t``)
outputs the policy for round ``t + 1`` from ``D_t``, so one causal pass gives every round's policy.

The transformer (:func:`linucb_construction`):

1. ``n_layers`` gradient-descent layers (:func:`icrl_lib.incontext.ridge_gd_construction` with the
   ``"scaled"`` penalty, optionally Nesterov): the ``w`` rows go to ``w_t = A_t^{-1} sum_j a_j r_j`` and the ``x_k``
   rows to ``A_t^{-1} a_k`` for every arm, ``A_t = lam I + sum_{j<=t} a_j a_j^T``;
2. one attention layer with ``4A`` heads (pairs of opposite signs, ``ReLU(s) - ReLU(-s) = s``) computing
   ``m_k = <a_k, w>`` into the score row ``v_k`` and ``u_k = <a_k, x_k>`` into the row ``u_k``: the arm set is
   the same in every column, so the 1/i-average of a constant score is the score itself;
3. one MLP layer with ``width`` hidden units per arm: the piecewise-linear interpolant of ``sqrt`` at knots
   ``0 < u_min < ... < u_max`` (geometric), a sum of ReLUs, adds ``alpha sqrt(u_k)`` to ``v_k``;
4. read-out ``softmax(v / tau)`` of a column.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch

from .._validation import (
    as_tensor, broadcast_batch, check_bool, check_finite_result, check_float_dtype, check_indices, check_int,
    check_memory, check_positive, check_real, check_shape)
from ..attention.relu import relu_mlp
from .layout import PromptLayout
from .ridge import check_momentum, check_ridge_layout, ridge_forward, ridge_gd_construction, ridge_layout, ridge_prompt

__all__ = ["LinUCBConstruction", "linucb_layout", "linucb_prompt", "linucb_construction", "linucb_forward",
           "linucb_readout", "sqrt_relu_coefficients", "sqrt_relu", "transformer_linucb_expert",
           "linucb_default_momentum"]


class LinUCBConstruction(NamedTuple):
    """The constructed soft-LinUCB transformer (chapter 10): ``layout``; ``gd_layers`` and ``score_layer``
    (ReLU-attention ``(Q, K, V)``, each (M, D, D)); the MLP ``(W1, W2, b1)``; ``tau``; ``n_heads`` (the largest
    number of heads of a layer) and ``n_blocks`` (attention layers)."""

    layout: PromptLayout
    gd_layers: list
    score_layer: tuple
    mlp: tuple
    tau: float
    n_heads: int
    n_blocks: int


def linucb_layout(d: int, n_arms: int, nesterov: bool = False) -> PromptLayout:
    """The ridge layout with ``A`` queries (the arms), their solves, and the rows ``u`` (A) and ``v`` (A)
    (chapter 10). ``D = 4 + 2d + 2Ad + 2A`` (plus ``d + Ad`` with Nesterov)."""
    A = check_int(n_arms, "n_arms")
    return ridge_layout(d, n_queries=A, solve_queries=True, nesterov=check_bool(nesterov, "nesterov"),
                        extra=(("u", A), ("v", A)))


def _arms_of(layout: PromptLayout) -> int:
    return layout.size("q") // layout.size("a") if "q" in layout.names else 0


def linucb_prompt(arms, actions, rewards, layout: PromptLayout | None = None) -> torch.Tensor:
    """The prompt (..., D, t + 1) of a bandit history (chapter 10).

    ``arms`` (..., A, d) the fixed arm set, ``actions`` (..., t) int in [0, A-1], ``rewards`` (..., t) (t may be 0).
    ``layout`` defaults to ``linucb_layout(d, A)`` (any :func:`icrl_lib.incontext.ridge_layout` with ``A`` queries
    works, for example the Thompson-sampling layout).
    """
    arms = as_tensor(arms, "arms")
    check_shape(arms, "arms", (None, None))
    A, d = arms.shape[-2:]
    layout = linucb_layout(d, A) if layout is None else check_ridge_layout(layout, needs=("q",))
    if layout.size("a") != d or _arms_of(layout) != A:
        raise ValueError(f"arms must have shape (..., {_arms_of(layout)}, {layout.size('a')}) for this layout; "
                         f"got {tuple(arms.shape)}")
    if not isinstance(actions, torch.Tensor) and np.asarray(actions).size == 0:
        actions = torch.zeros(np.asarray(actions).shape, dtype=torch.long)   # an empty list: no rounds yet
    actions = check_indices(actions, "actions", A)
    if actions.dim() < 1:
        raise ValueError(f"actions must have shape (..., t) (t >= 0 rounds); got {tuple(actions.shape)}")
    rewards = as_tensor(rewards, "rewards", dtype=arms.dtype)
    if rewards.shape != actions.shape:
        raise ValueError(f"rewards must have the shape of actions {tuple(actions.shape)}; got {tuple(rewards.shape)}")
    batch = broadcast_batch({"arms": arms.shape, "actions": actions.shape}, {"arms": 2, "actions": 1})
    arms_b = arms.expand(batch + (A, d))
    idx = actions.expand(batch + actions.shape[-1:]).unsqueeze(-1).expand(batch + (actions.shape[-1], d))
    X = torch.gather(arms_b, -2, idx)
    return ridge_prompt(X, rewards.expand(batch + rewards.shape[-1:]), arms_b, layout=layout, start_token=True)


def sqrt_relu_coefficients(width: int, u_min, u_max, dtype: torch.dtype = torch.float64):
    """Knots ``t`` (width,) and coefficients ``c`` (width,) of ``f(u) = sum_m c_m ReLU(u - t_m)``, the piecewise-
    linear interpolant of ``sqrt`` at ``0, u_min, ..., u_max`` (``width - 1`` geometric knots), chapter 10.
    ``f`` is exact at the knots, continues linearly above ``u_max`` and is 0 for ``u <= 0``."""
    W = check_int(width, "width", minimum=2)
    dtype = check_float_dtype(dtype)
    lo, hi = check_positive(u_min, "u_min"), check_positive(u_max, "u_max")
    if not lo < hi:
        raise ValueError(f"u_min must be < u_max; got {lo}, {hi}")
    pts = torch.cat([torch.zeros(1, dtype=dtype),
                     torch.logspace(math.log10(lo), math.log10(hi), W, dtype=dtype)])   # W + 1 points
    slopes = (pts[1:].sqrt() - pts[:-1].sqrt()) / (pts[1:] - pts[:-1])               # W segments
    coefs = torch.cat([slopes[:1], slopes[1:] - slopes[:-1]])
    return pts[:-1], coefs


def sqrt_relu(u, knots, coefs) -> torch.Tensor:
    """``sum_m c_m ReLU(u - t_m)`` elementwise (the MLP's square root; chapter 10): ``u`` any shape, ``knots`` and
    ``coefs`` (W,) from :func:`sqrt_relu_coefficients`. Returns the shape of ``u``."""
    u = as_tensor(u, "u")
    knots = as_tensor(knots, "knots", dtype=u.dtype)
    check_shape(knots, "knots", (None,), batch=False)
    coefs = as_tensor(coefs, "coefs", dtype=u.dtype)
    check_shape(coefs, "coefs", knots.shape, batch=False)
    return check_finite_result((torch.relu(u.unsqueeze(-1) - knots) * coefs).sum(-1), "sqrt_relu(u)",
                               "u or coefs is too large: rescale them")


def linucb_default_momentum(d: int, lam, horizon: int, eta=None) -> float:
    """``beta = (sqrt(kappa) - 1) / (sqrt(kappa) + 1)`` with the worst-case condition number
    ``kappa = (lam + d) (T + 1) / lam`` of ``A_t / (t + 1)`` for arms in ``[-1, 1]^d`` (chapter 10). ``eta``
    (the step, > 0 if given) does not enter this worst-case bound; it is accepted for symmetry with
    :func:`linucb_construction`."""
    lam = check_positive(lam, "lam")
    if eta is not None:
        check_positive(eta, "eta")
    kappa = (lam + check_int(d, "d")) * (check_int(horizon, "horizon") + 1) / lam
    return (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)


def linucb_construction(d: int, n_arms: int, n_layers: int, alpha=1.0, lam=1.0, tau=0.1, eta=None, momentum=None,
                        width: int = 16, u_min=None, u_max=None, dtype: torch.dtype = torch.float64
                        ) -> LinUCBConstruction:
    """The soft-LinUCB transformer for ``d``-dimensional arms ``a_k`` in ``[-1, 1]^d`` (chapter 10).

    ``n_layers`` GD layers with step ``eta`` (default ``1 / (lam + d)``, below ``1 / lambda_max(A_t / (t+1))``)
    and optional Nesterov ``momentum``; the score layer; the square-root MLP with ``width`` ReLUs per arm on
    ``[u_min, u_max]`` (default ``u_max = d / lam``, the largest ``a^T A^{-1} a``, and ``u_min = u_max / 1e4``).
    ``alpha >= 0`` (the exploration bonus), ``momentum`` in [0, 1) or None.

    Memory: the layers hold ``O(A^3 d^2)`` entries (up to ``4A + 4`` heads of (D, D) matrices, ``D = O(A d)``),
    refused above ``MAX_INTERMEDIATE_BYTES``.
    """
    d, A = check_int(d, "d"), check_int(n_arms, "n_arms")
    L = check_int(n_layers, "n_layers")
    alpha = check_real(alpha, "alpha")
    if alpha < 0:
        raise ValueError(f"alpha must be >= 0 (the weight of the exploration bonus); got {alpha}")
    lam, tau = check_positive(lam, "lam"), check_positive(tau, "tau")
    eta = 1.0 / (lam + d) if eta is None else check_positive(eta, "eta")
    if momentum is not None:
        check_momentum(momentum)
    check_int(width, "width", minimum=2)
    dtype = check_float_dtype(dtype)
    u_max = d / lam if u_max is None else check_positive(u_max, "u_max")
    u_min = u_max * 1e-4 if u_min is None else check_positive(u_min, "u_min")
    if not u_min < u_max:
        raise ValueError(f"u_min must be < u_max; got {u_min}, {u_max}")
    layout = linucb_layout(d, A, nesterov=momentum is not None)
    D = layout.dim
    check_memory(3 * (4 * A + 4) * D * D, dtype, f"the ReLU-attention heads of ({D}, {D}) matrices",
                 "n_arms (and d)")
    gd = ridge_gd_construction(d, eta, lam, L, layout=layout, penalty="scaled", momentum=momentum, dtype=dtype)
    R = layout.rows
    ONE = R("pos").start
    a, q, w, x, u, v = R("a"), R("q"), R("w"), R("x"), R("u"), R("v")
    eye = torch.eye(d, dtype=dtype)
    Qs, Ks, Vs = [], [], []
    for k in range(A):
        qk = slice(q.start + k * d, q.start + (k + 1) * d)
        xk = slice(x.start + k * d, x.start + (k + 1) * d)
        for src, dst in ((w, v.start + k), (xk, u.start + k)):
            for sign in (1.0, -1.0):
                Q, K, V = (torch.zeros(D, D, dtype=dtype) for _ in range(3))
                Q[a, src] = sign * eye          # query: w (or x_k) into the a-slot; key: the arm a_k
                K[a, qk] = eye
                V[dst, ONE] = sign              # value: the constant 1 into v_k (or u_k)
                Qs.append(Q), Ks.append(K), Vs.append(V)
    score_layer = (torch.stack(Qs), torch.stack(Ks), torch.stack(Vs))
    knots, coefs = sqrt_relu_coefficients(width, u_min, u_max, dtype)
    W1 = torch.zeros(A * width, D, dtype=dtype)
    W2 = torch.zeros(D, A * width, dtype=dtype)
    b1 = torch.zeros(A * width, dtype=dtype)
    for k in range(A):
        rows = slice(k * width, (k + 1) * width)
        W1[rows, u.start + k] = 1.0
        b1[rows] = -knots
        W2[v.start + k, rows] = alpha * coefs
    n_heads = max(gd[0].Q.shape[0], 4 * A)
    return LinUCBConstruction(layout, gd, score_layer, (W1, W2, b1), tau, n_heads, len(gd) + 1)


def linucb_forward(H, construction: LinUCBConstruction) -> torch.Tensor:
    """Run the constructed transformer on a prompt (..., D, N) (chapter 10): GD layers, score layer, MLP.
    ``ValueError`` if the output overflows (rescale the prompt)."""
    c = _check_construction(construction)
    H = as_tensor(H, "H")
    check_shape(H, "H", (c.layout.dim, None))
    H = ridge_forward(H, list(c.gd_layers) + [c.score_layer])
    W1, W2, b1 = c.mlp
    return relu_mlp(H, W1, W2, b1)


def _check_construction(construction) -> LinUCBConstruction:
    if not isinstance(construction, LinUCBConstruction):
        raise ValueError(f"construction must be a LinUCBConstruction (linucb_construction); got "
                         f"{type(construction).__name__}")
    return construction


def linucb_readout(H, construction: LinUCBConstruction, all_tokens: bool = False, scores: bool = False
                   ) -> torch.Tensor:
    """The policy ``softmax(v / tau)`` (..., A) of the last column, or (..., N, A) of every column; with
    ``scores=True`` the scores ``v`` themselves (chapter 10)."""
    construction = _check_construction(construction)
    all_tokens, scores = check_bool(all_tokens, "all_tokens"), check_bool(scores, "scores")
    H = as_tensor(H, "H")
    check_shape(H, "H", (construction.layout.dim, None))
    v = H[..., construction.layout.rows("v"), :].transpose(-1, -2)
    out = v if scores else torch.softmax(v / construction.tau, dim=-1)
    return out if all_tokens else out[..., -1, :]


class _TransformerExpert:
    def __init__(self, construction: LinUCBConstruction, name: str):
        self.construction = construction
        self.name = name

    def __call__(self, bandit, actions, rewards, generator=None) -> torch.Tensor:
        H = linucb_prompt(bandit.features, actions, rewards, self.construction.layout)
        return linucb_readout(linucb_forward(H, self.construction), self.construction)

    def __repr__(self) -> str:
        return self.name


def transformer_linucb_expert(construction: LinUCBConstruction):
    """The constructed transformer as a bandit expert ``(bandit, actions, rewards, generator=None) -> probs (B, A)``
    (the ``icrl_lib.rl`` experts' signature), so ``run_bandit(bandit, expert, T, g)`` deploys it (chapter 10).
    ``bandit.features`` (B, A, d) must match the construction's ``d`` and ``A``."""
    _check_construction(construction)
    return _TransformerExpert(construction, f"transformer_linucb(L={len(construction.gd_layers)})")
