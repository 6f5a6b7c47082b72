"""Feature maps: tabular one-hot features for states and state-action pairs, and random features.

Conventions (chapter 1): state-action features ``phi(s, a)`` in R^d with the tabular choice
``phi(s, a) = e_{s * |A| + a}`` (d = |S||A|); state features ``x(s)`` in R^{d_c} for critics.
"""
from __future__ import annotations

import numpy as np
import torch

from ._validation import as_tensor, check_int, check_real, check_shape

__all__ = ["one_hot_state", "one_hot_state_action", "state_action_table", "random_features", "q_values"]


def _indices(x, name: str, upper: int) -> torch.Tensor:
    try:
        t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    except (TypeError, ValueError) as exc:  # strings, ragged lists, objects
        raise ValueError(f"{name} must hold integer indices; got {type(x).__name__}") from exc
    if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer indices; got dtype {t.dtype}")
    t = t.long()
    if t.numel() and (int(t.min()) < 0 or int(t.max()) >= upper):
        raise ValueError(f"{name} must hold indices in [0, {upper - 1}]; got range "
                         f"[{int(t.min())}, {int(t.max())}]")
    return t


def one_hot_state(s, n_states: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """One-hot state features ``x(s) = e_s``: indices of any shape ``(...)`` -> ``(..., n_states)``."""
    S = check_int(n_states, "n_states")
    return torch.nn.functional.one_hot(_indices(s, "s", S), S).to(dtype)


def one_hot_state_action(s, a, n_states: int, n_actions: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Tabular features ``phi(s, a) = e_{s |A| + a}``: indices ``(...)`` -> ``(..., n_states * n_actions)``."""
    S = check_int(n_states, "n_states")
    A = check_int(n_actions, "n_actions")
    s_t, a_t = _indices(s, "s", S), _indices(a, "a", A)
    if s_t.shape != a_t.shape:
        raise ValueError(f"s and a must have the same shape; got {tuple(s_t.shape)} and {tuple(a_t.shape)}")
    return torch.nn.functional.one_hot(s_t * A + a_t, S * A).to(dtype)


def state_action_table(n_states: int, n_actions: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """All tabular features at once: ``(S, A, S*A)`` with ``table[s, a] = phi(s, a)``."""
    S = check_int(n_states, "n_states")
    A = check_int(n_actions, "n_actions")
    return torch.eye(S * A, dtype=dtype).reshape(S, A, S * A)


def random_features(n_items: int, d: int, seed: int = 0, low: float = -1.0, high: float = 1.0,
                    dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Random features ``U[low, high]^d`` for ``n_items`` states (the [W25] choice), shape ``(n_items, d)``."""
    n = check_int(n_items, "n_items")
    d = check_int(d, "d")
    lo, hi = check_real(low, "low"), check_real(high, "high")
    if not lo < hi:
        raise ValueError(f"low must be < high; got low={lo}, high={hi}")
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    return torch.from_numpy(rng.uniform(lo, hi, size=(n, d))).to(dtype)


def q_values(w, table) -> torch.Tensor:
    """Linear action values ``q_w(s, a) = w^T phi(s, a)``: ``w`` (..., d), ``table`` (S, A, d) -> (..., S, A)."""
    w = as_tensor(w, "w")
    table = as_tensor(table, "table", dtype=w.dtype)
    check_shape(table, "table", (None, None, None), batch=False)
    check_shape(w, "w", (table.shape[-1],))
    return torch.einsum("sad,...d->...sa", table, w)
