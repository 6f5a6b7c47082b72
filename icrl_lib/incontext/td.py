"""In-context TD ([W25], chapter 3): layout, prompt, readout, sliding windows and the construction.

Layout :func:`td_layout` ``(x: d, x_next: d, r: 1)``: context column ``j`` is
``(x(s_j); gamma x(s_{j+1}); r_{j+1})``, the query column is ``(x_q; 0; 0)``; the value estimate is read as
``-Z[-1, -1]`` after the (masked) layers. The construction is the block table :func:`td_blocks`:

    P_l[x, x] = -C_l^T,  P_l[x, x_next] = C_l^T   (key-query; [W25]'s Q)
    V_l[r, r] = 1                                  (value; [W25]'s P: only the bottom-right 1)

so that ``L`` masked layers are ``L`` steps of batch TD(0) (:func:`icrl_lib.rl.batch_td_update`).
Chapter 3's exercises change the mask (:func:`td_lambda_mask`: TD(lambda)) or the key-query matrix
(:func:`residual_gradient_blocks`: residual gradient).
"""
from __future__ import annotations

import torch

import math

from .._validation import (as_tensor, broadcast_batch, check_gamma, check_int, check_memory, check_real,
                           check_shape)
from .layout import PromptLayout, is_sympy_object, assemble, check_float_dtype, check_transitions, render_blocks

__all__ = ["td_layout", "td_prompt", "td_readout", "td_sliding_prompts", "td_blocks", "td_construction",
           "td_lambda_mask", "residual_gradient_blocks"]


def td_layout(d: int) -> PromptLayout:
    """Rows ``(x: d, x_next: d, r: 1)`` of the [W25] TD prompt (chapter 3); ``x_next`` holds ``gamma x'``.

    All three blocks are data blocks; the query column fills the ``x`` rows with the query features.
    """
    d = check_int(d, "d")
    return PromptLayout((("x", d), ("x_next", d), ("r", 1)), 3)


def td_prompt(x, x_next, rewards, x_query, gamma) -> torch.Tensor:
    """The [W25] in-context TD prompt (chapter 3).

    Args:
        x: ``(..., n, d)`` features ``x(s_j)`` of the context states.
        x_next: ``(..., n, d)`` successor features ``x(s_{j+1})`` (raw; gamma is folded in here).
        rewards: ``(..., n)`` rewards ``r_{j+1}`` of the transitions ``s_j -> s_{j+1}``.
        x_query: ``(..., d)`` features of the query state.
        gamma: discount factor in [0, 1).

    Returns ``Z`` of shape ``(..., 2d+1, n+1)``: columns ``(x_j; gamma x_{j+1}; r_{j+1})`` then
    ``(x_q; 0; 0)`` (layout :func:`td_layout`).
    """
    x, x_next, rewards = check_transitions(("x", "x_next"), x, x_next, rewards)
    n, d = x.shape[-2:]
    x_query = as_tensor(x_query, "x_query", dtype=x.dtype)
    check_shape(x_query, "x_query", (d,))
    g = check_gamma(gamma)
    batch = broadcast_batch({"x": x.shape, "x_next": x_next.shape, "rewards": rewards.shape,
                             "x_query": x_query.shape}, {"x": 2, "x_next": 2, "rewards": 1, "x_query": 1})
    return assemble(td_layout(d), {"x": x, "x_next": g * x_next, "r": rewards.unsqueeze(-1)},
                    {"x": x_query}, x.dtype, tuple(batch))


def td_readout(Z) -> torch.Tensor:
    """The value estimate ``-Z[..., -1, -1]`` of a (transformed) TD prompt, shape ``(...)`` (chapter 3)."""
    Z = as_tensor(Z, "Z")
    check_shape(Z, "Z", (None, None))
    if Z.shape[-2] < 3 or Z.shape[-2] % 2 == 0:
        raise ValueError(f"Z must have 2d+1 rows (an odd number >= 3); got shape {tuple(Z.shape)}")
    return -Z[..., -1, -1]


def td_sliding_prompts(features, rewards, n: int, gamma) -> tuple[torch.Tensor, torch.Tensor]:
    """All sliding-window TD prompts of one trajectory, as [W25] train on them (chapter 3).

    ``features`` ``(..., T, d)`` are ``x(s_0), ..., x(s_{T-1})`` along a trajectory and ``rewards``
    ``(..., T)`` hold ``r_{j+1} = r(s_j)``. Window ``t`` uses the ``n`` transitions
    ``s_{t+j} -> s_{t+j+1}`` (``j < n``) as context and ``s_{t+n+1}`` as the query, so
    ``W = T - n - 1`` windows fit. Returns ``(Z, query_rewards)`` with ``Z`` ``(..., W, 2d+1, n+1)`` (rows in
    the order of :func:`td_layout`) and ``query_rewards`` ``(..., W)`` the reward ``r(s_{t+n+1})`` of each
    query state (the TD target's reward). Windows are strided views (``unfold``), one copy in the end: the
    result holds ``W (2d+1)(n+1)`` numbers per trajectory (``O(T n d)`` memory), refused above
    ``icrl_lib._validation.MAX_INTERMEDIATE_BYTES``. Batch dimensions of ``features`` and ``rewards`` broadcast.
    """
    features = as_tensor(features, "features")
    check_shape(features, "features", (None, None))
    T, d = features.shape[-2:]
    rewards = as_tensor(rewards, "rewards", dtype=features.dtype)
    check_shape(rewards, "rewards", (T,))
    n = check_int(n, "n")
    if T < n + 2:
        raise ValueError(f"features must hold at least n + 2 = {n + 2} states; got {T}")
    g = check_gamma(gamma)
    batch = tuple(broadcast_batch({"features": features.shape, "rewards": rewards.shape},
                                  {"features": 2, "rewards": 1}))
    features, rewards = features.expand(*batch, T, d), rewards.expand(*batch, T)
    W = T - n - 1
    L = td_layout(d)
    check_memory(math.prod(batch) * W * L.dim * (n + 1), features.dtype, "the W x (2d+1) x (n+1) windows", "n")
    Z = torch.zeros(batch + (W, L.dim, n + 1), dtype=features.dtype)
    # unfold gives (..., W, d, n) windows of n consecutive feature vectors.
    Z[..., L.rows("x"), :n] = features[..., : W + n - 1, :].unfold(-2, n, 1)
    Z[..., L.rows("x_next"), :n] = g * features[..., 1: W + n, :].unfold(-2, n, 1)
    Z[..., L.rows("r").start, :n] = rewards[..., : W + n - 1].unfold(-1, n, 1)
    Z[..., L.rows("x"), n] = features[..., n + 1: n + 1 + W, :]
    return Z, rewards[..., n + 1: n + 1 + W]


def td_blocks(C) -> dict:
    """The [W25] layer as a block table on :func:`td_layout` (chapter 3), for one preconditioner ``C``.

    ``C`` is a ``d x d`` matrix: a torch tensor, a sympy ``Matrix`` or a ``MatrixSymbol`` (anything with
    ``.T``); numpy arrays and nested lists are converted to tensors. Rendered by
    :func:`icrl_lib.incontext.render_blocks` or the sympy renderers.
    """
    C = _check_preconditioner(C)
    return {("P", "x", "x"): -C.T, ("P", "x", "x_next"): C.T, ("V", "r", "r"): 1}


def _check_preconditioner(C):
    """``C`` of the block tables: a sympy matrix (passed through) or a square ``d x d`` array (as a tensor)."""
    if is_sympy_object(C):
        return C
    C = as_tensor(C, "C")
    check_shape(C, "C", (None, None), batch=False)
    if C.shape[0] != C.shape[1]:
        raise ValueError(f"C must be a square (d, d) matrix; got shape {tuple(C.shape)}")
    return C


def td_construction(d: int, n_layers: int, C=None, dtype: torch.dtype = torch.float64
                    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """[W25]'s construction: ``n_layers`` masked layers = ``n_layers`` steps of batch TD(0) (chapter 3).

    Layer ``l`` is :func:`td_blocks` ``(C_l)`` rendered on :func:`td_layout` ``(d)`` (``D = 2d + 1``). Use with
    ``mask=True``. Then ``-Z_L[-1, -1] = w_L^T x_q`` where ``w_0 = 0`` and
    ``w_{l+1} = w_l + (1/n) C_l sum_j delta_j(w_l) x_j`` (:func:`icrl_lib.rl.batch_td_update`).

    Args:
        d: feature dimension.
        n_layers: number of layers ``L``.
        C: preconditioner ``(d, d)`` shared by all layers, ``(L, d, d)`` one per layer, or ``None`` for ``I``.

    Returns a list of ``L`` pairs ``(P_l, V_l)``, each ``(2d+1, 2d+1)``.
    """
    d = check_int(d, "d")
    L = check_int(n_layers, "n_layers")
    check_float_dtype(dtype)
    if C is None:
        Cs = torch.eye(d, dtype=dtype).expand(L, d, d)
    else:
        C = as_tensor(C, "C", dtype=dtype)
        if C.dim() == 2:
            check_shape(C, "C", (d, d), batch=False)
            Cs = C.expand(L, d, d)
        else:
            check_shape(C, "C", (L, d, d), batch=False)
            Cs = C
    layout = td_layout(d)
    return [render_blocks(layout, td_blocks(Cs[l]), dtype) for l in range(L)]


def td_lambda_mask(n: int, lam, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """[W25]'s TD(lambda) mask (chapter 3, exercise on TD(lambda)): ``(n+1, n+1)``, ``M[j, k] = lam^(j-k)`` for
    ``k <= j < n`` (0-based context indices) and 0 elsewhere, in particular in the query's row and column.

    Pass it as ``mask=`` to :func:`icrl_lib.attention.apply_layers` with :func:`td_construction`: a layer
    ``Z + (1/n) V Z M (Z^T P Z)`` then takes one batch step with eligibility traces
    ``e_j = lam e_{j-1} + x(s_j)``. ``lam = 0`` gives ``diag(1, ..., 1, 0)`` (the plain TD(0) mask); the
    textbook trace ``gamma lam`` is ``td_lambda_mask(n, gamma * lam)``. ``lam`` must lie in ``[0, 1]``.
    """
    n = check_int(n, "n")
    lam = check_real(lam, "lam")
    check_float_dtype(dtype)
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must lie in [0, 1]; got {lam}")
    j = torch.arange(n + 1).unsqueeze(-1)
    k = torch.arange(n + 1).unsqueeze(0)
    powers = torch.tensor(lam, dtype=dtype) ** (j - k).clamp_min(0).to(dtype)
    return torch.where((k <= j) & (j < n), powers, torch.zeros((), dtype=dtype))


def residual_gradient_blocks(C) -> dict:
    """The residual-gradient layer as a block table on :func:`td_layout` (chapter 3, residual-gradient exercise).

    Key-query blocks ``P[x, x] = -C^T``, ``P[x, x_next] = C^T``, ``P[x_next, x] = C^T``,
    ``P[x_next, x_next] = -C^T`` and ``V[r, r] = 1``: the score of source ``j`` and receiver ``i`` is
    ``(x_j - gamma x'_j)^T C^T (gamma x'_i - x_i)``, so a masked layer takes the step
    ``w + (1/n) C sum_j delta_j(w) (x_j - gamma x'_j)``. ``C`` as in :func:`td_blocks`; render with
    :func:`icrl_lib.incontext.render_blocks` ``(td_layout(d), table)``.
    """
    C = _check_preconditioner(C)
    return {**td_blocks(C), ("P", "x_next", "x"): C.T, ("P", "x_next", "x_next"): -C.T}
