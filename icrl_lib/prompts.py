"""Prompts: how a context of transitions is laid out as the columns of a token matrix, and readouts.

Tokens are columns; the last column is the query. Each prompt comes with the readout that reads the
algorithm's answer from a fixed entry/block of the query column after the attention layers.

- In-context TD ([W25], chapter 3): ``Z in R^{(2d+1) x (n+1)}``, context column ``j`` is
  ``(x(s_j); gamma x(s_{j+1}); r_{j+1})``, the query column is ``(x_q; 0; 0)``, and the value estimate is
  read as ``-Z[-1, -1]`` after the layers.
- In-context SARSA ([LL26], chapter 4; the row layout is our construction): ``D = (2d + 1) + (1 + d)``,
  transition column ``(phi_t; phi'_t; R_t; 0; 0_d)``, query column ``(0_d; 0_d; 0; 1; w)``; the updated
  ``w`` is read from the ``w`` rows of the query column.
- In-context actor-critic (chapter 5; our construction): data rows ``(x; x'; r; psi)``, parameter rows
  ``(1; w; theta)``; transition column ``(x_t; x'_t; R_t; psi_t; 0; 0; 0)``, query ``(0; 0; 0; 0; 1; w; theta)``.

Row layouts are described once, by :class:`PromptLayout`, and shared by the prompts, the constructions
(:mod:`icrl_lib.constructions`) and the sympy builders (:mod:`icrl_lib.symbolic`).
"""
from __future__ import annotations

import torch

from dataclasses import dataclass

from ._validation import as_tensor, broadcast_batch, check_gamma, check_int, check_shape

__all__ = ["PromptLayout", "sarsa_layout", "actor_critic_layout", "td_prompt", "td_readout",
           "td_sliding_prompts", "sarsa_prompt", "sarsa_readout", "actor_critic_prompt",
           "actor_critic_readout"]


@dataclass(frozen=True)
class PromptLayout:
    """Named row blocks of a prompt: ``blocks`` is a tuple of ``(name, size)`` in row order.

    ``layout.rows("w")`` is the slice of rows named ``w``; ``layout.data`` / ``layout.param`` are the
    slices of the data block (filled in transition columns) and of the parameter block (filled in the
    query column); ``layout.dim`` is ``D``.
    """

    blocks: tuple
    n_data_blocks: int

    @property
    def dim(self) -> int:
        return sum(size for _, size in self.blocks)

    def rows(self, name: str) -> slice:
        start = 0
        for block, size in self.blocks:
            if block == name:
                return slice(start, start + size)
            start += size
        raise ValueError(f"name must be one of {[b for b, _ in self.blocks]}; got {name!r}")

    @property
    def data(self) -> slice:
        return slice(0, sum(size for _, size in self.blocks[: self.n_data_blocks]))

    @property
    def param(self) -> slice:
        return slice(self.data.stop, self.dim)


def sarsa_layout(d: int) -> PromptLayout:
    """Rows ``(phi: d, phi_next: d, r: 1 | one: 1, w: d)`` of the SARSA prompt (chapter 4, our layout)."""
    d = check_int(d, "d")
    return PromptLayout((("phi", d), ("phi_next", d), ("r", 1), ("one", 1), ("w", d)), 3)


def actor_critic_layout(d_critic: int, d_actor: int) -> PromptLayout:
    """Rows ``(x, x_next, r, psi | one, w, theta)`` of the actor-critic prompt (chapter 5, our layout)."""
    dc = check_int(d_critic, "d_critic")
    da = check_int(d_actor, "d_actor")
    return PromptLayout((("x", dc), ("x_next", dc), ("r", 1), ("psi", da), ("one", 1), ("w", dc),
                         ("theta", da)), 4)


def _assemble(layout: PromptLayout, data: dict, params: dict, dtype, batch) -> torch.Tensor:
    """Stack transition columns (data rows filled) and one query column (parameter rows filled)."""
    N = next(iter(data.values())).shape[-2]
    H = torch.zeros(batch + (layout.dim, N + 1), dtype=dtype)
    for name, block in data.items():
        H[..., layout.rows(name), :N] = block.expand(batch + block.shape[-2:]).transpose(-1, -2)
    for name, vec in params.items():
        H[..., layout.rows(name), N] = vec.expand(batch + vec.shape[-1:])
    return H


def _check_transitions(names, feats, feats_next, rewards):
    """Validate the three per-transition arguments every prompt shares: features ``(..., N, d)``,
    successor features of the same shape and rewards ``(..., N)`` (all in the features' dtype)."""
    feats = as_tensor(feats, names[0])
    check_shape(feats, names[0], (None, None))
    N, d = feats.shape[-2:]
    feats_next = as_tensor(feats_next, names[1], dtype=feats.dtype)
    check_shape(feats_next, names[1], (N, d))
    rewards = as_tensor(rewards, "rewards", dtype=feats.dtype)
    check_shape(rewards, "rewards", (N,))
    return feats, feats_next, rewards


def td_prompt(x, x_next, rewards, x_query, gamma) -> torch.Tensor:
    """The [W25] in-context TD prompt (chapter 3).

    Args:
        x: ``(..., n, d)`` features ``x(s_j)`` of the context states.
        x_next: ``(..., n, d)`` successor features ``x(s_{j+1})`` (raw; gamma is folded in here).
        rewards: ``(..., n)`` rewards ``r_{j+1}`` of the transitions ``s_j -> s_{j+1}``.
        x_query: ``(..., d)`` features of the query state.
        gamma: discount factor in [0, 1).

    Returns ``Z`` of shape ``(..., 2d+1, n+1)``: columns ``(x_j; gamma x_{j+1}; r_{j+1})`` then
    ``(x_q; 0; 0)``.
    """
    x, x_next, rewards = _check_transitions(("x", "x_next"), x, x_next, rewards)
    n, d = x.shape[-2:]
    x_query = as_tensor(x_query, "x_query", dtype=x.dtype)
    check_shape(x_query, "x_query", (d,))
    g = check_gamma(gamma)
    batch = broadcast_batch({"x": x.shape, "x_next": x_next.shape, "rewards": rewards.shape,
                             "x_query": x_query.shape}, {"x": 2, "x_next": 2, "rewards": 1, "x_query": 1})
    # torch.cat does not broadcast: bring every argument to the common batch shape first.
    x, x_next = x.expand(batch + (n, d)), x_next.expand(batch + (n, d))
    rewards, x_query = rewards.expand(batch + (n,)), x_query.expand(batch + (d,))
    context = torch.cat([x, g * x_next, rewards.unsqueeze(-1)], dim=-1)          # (..., n, 2d+1)
    query = torch.cat([x_query, torch.zeros(x_query.shape[:-1] + (d + 1,), dtype=x.dtype)], dim=-1)
    return torch.cat([context, query.unsqueeze(-2)], dim=-2).transpose(-1, -2)


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
    ``W = T - n - 1`` windows fit. Returns ``(Z, query_rewards)`` with ``Z`` ``(..., W, 2d+1, n+1)`` and
    ``query_rewards`` ``(..., W)`` the reward ``r(s_{t+n+1})`` of each query state (the TD target's reward).
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
    W = T - n - 1
    # unfold gives (..., W, d, n+1) windows of n+1 consecutive feature vectors.
    win_x = features[..., : W + n, :].unfold(-2, n, 1)[..., :W, :, :]              # (..., W, d, n)
    win_xn = features[..., 1: W + n + 1, :].unfold(-2, n, 1)[..., :W, :, :]       # (..., W, d, n)
    win_r = rewards[..., : W + n].unfold(-1, n, 1)[..., :W, :]                      # (..., W, n)
    query = features[..., n + 1: n + 1 + W, :]                                      # (..., W, d)
    zeros = torch.zeros(query.shape[:-1] + (d + 1, 1), dtype=features.dtype)
    context = torch.cat([win_x, g * win_xn, win_r.unsqueeze(-2)], dim=-2)         # (..., W, 2d+1, n)
    query_col = torch.cat([query.unsqueeze(-1), zeros], dim=-2)                     # (..., W, 2d+1, 1)
    return torch.cat([context, query_col], dim=-1), rewards[..., n + 1: n + 1 + W]


def sarsa_prompt(phi, phi_next, rewards, w) -> torch.Tensor:
    """The in-context SARSA prompt (chapter 4; [LL26]'s content, our row layout :func:`sarsa_layout`).

    Args:
        phi: ``(..., N, d)`` features ``phi_t = phi(S_t, A_t)``.
        phi_next: ``(..., N, d)`` features ``phi'_t = phi(S'_t, A'_t)`` (raw: gamma lives in ``P``).
        rewards: ``(..., N)`` rewards ``R_t``.
        w: ``(..., d)`` current weights.

    Returns ``H`` ``(..., 2d + 2 + d, N + 1)``: columns ``(phi_t; phi'_t; R_t; 0; 0_d)``, then the query
    ``(0_d; 0_d; 0; 1; w)``.
    """
    phi, phi_next, rewards = _check_transitions(("phi", "phi_next"), phi, phi_next, rewards)
    N, d = phi.shape[-2:]
    w = as_tensor(w, "w", dtype=phi.dtype)
    check_shape(w, "w", (d,))
    batch = broadcast_batch({"phi": phi.shape, "phi_next": phi_next.shape, "rewards": rewards.shape,
                             "w": w.shape}, {"phi": 2, "phi_next": 2, "rewards": 1, "w": 1})
    one = torch.ones(1, dtype=phi.dtype)
    return _assemble(sarsa_layout(d), {"phi": phi, "phi_next": phi_next, "r": rewards.unsqueeze(-1)},
                     {"one": one, "w": w}, phi.dtype, batch)


def _check_prompt(H, name: str, dim: int) -> torch.Tensor:
    H = as_tensor(H, name)
    check_shape(H, name, (dim, None))
    if H.shape[-1] < 2:
        raise ValueError(f"{name} must have at least 2 columns; got shape {tuple(H.shape)}")
    return H


def sarsa_readout(H) -> torch.Tensor:
    """The weights in the ``w`` rows of the query column, shape ``(..., d)`` (chapter 4)."""
    H = as_tensor(H, "H")
    check_shape(H, "H", (None, None))
    D = H.shape[-2]
    if D < 5 or (D - 2) % 3 != 0:
        raise ValueError(f"H must have 3d + 2 rows (a SARSA prompt); got shape {tuple(H.shape)}")
    layout = sarsa_layout((D - 2) // 3)
    return _check_prompt(H, "H", D)[..., layout.rows("w"), -1]


def actor_critic_prompt(x, x_next, rewards, psi, w, theta) -> torch.Tensor:
    """The in-context actor-critic prompt (chapter 5; our construction, :func:`actor_critic_layout`).

    Args:
        x, x_next: ``(..., N, d_c)`` critic features ``x(S_t)``, ``x(S'_t)``.
        rewards: ``(..., N)``.
        psi: ``(..., N, d_a)`` score vectors ``grad_theta log pi_theta(A_t | S_t)`` (data, because they
            depend non-linearly on theta).
        w: ``(..., d_c)`` critic weights; theta: ``(..., d_a)`` actor parameters.

    Returns ``H`` ``(..., 2 d_c + 1 + d_a + 1 + d_c + d_a, N + 1)``.
    """
    x, x_next, rewards = _check_transitions(("x", "x_next"), x, x_next, rewards)
    N, dc = x.shape[-2:]
    psi = as_tensor(psi, "psi", dtype=x.dtype)
    check_shape(psi, "psi", (N, None))
    da = psi.shape[-1]
    w = as_tensor(w, "w", dtype=x.dtype)
    check_shape(w, "w", (dc,))
    theta = as_tensor(theta, "theta", dtype=x.dtype)
    check_shape(theta, "theta", (da,))
    batch = broadcast_batch({"x": x.shape, "x_next": x_next.shape, "rewards": rewards.shape, "psi": psi.shape,
                             "w": w.shape, "theta": theta.shape},
                            {"x": 2, "x_next": 2, "rewards": 1, "psi": 2, "w": 1, "theta": 1})
    one = torch.ones(1, dtype=x.dtype)
    return _assemble(actor_critic_layout(dc, da),
                     {"x": x, "x_next": x_next, "r": rewards.unsqueeze(-1), "psi": psi},
                     {"one": one, "w": w, "theta": theta}, x.dtype, batch)


def actor_critic_readout(H, d_critic: int, d_actor: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(w, theta)`` from the query column, shapes ``(..., d_c)`` and ``(..., d_a)`` (chapter 5)."""
    layout = actor_critic_layout(d_critic, d_actor)
    H = _check_prompt(H, "H", layout.dim)
    return H[..., layout.rows("w"), -1], H[..., layout.rows("theta"), -1]
