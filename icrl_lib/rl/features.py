"""Feature maps: tabular one-hot features for states and state-action pairs, and random features.

Conventions (chapter 1): state-action features ``phi(s, a)`` in R^d with the tabular choice
``phi(s, a) = e_{s * |A| + a}`` (d = |S||A|); state features ``x(s)`` in R^{d_c} for critics.
"""
from __future__ import annotations

import torch

from .._validation import (
    as_tensor, broadcast_batch, check_float_dtype, check_indices, check_int, check_real, check_shape,
    resolve_generator)

__all__ = ["one_hot_state", "one_hot_state_action", "state_action_table", "random_features", "q_values"]


def one_hot_state(s, n_states: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """One-hot state features ``x(s) = e_s`` (chapter 1): indices of any shape ``(...)`` -> ``(..., n_states)``."""
    S = check_int(n_states, "n_states")
    return torch.nn.functional.one_hot(check_indices(s, "s", S), S).to(dtype)


def one_hot_state_action(s, a, n_states: int, n_actions: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Tabular features ``phi(s, a) = e_{s |A| + a}`` (chapter 1): indices ``(...)`` -> ``(..., S * A)``."""
    S = check_int(n_states, "n_states")
    A = check_int(n_actions, "n_actions")
    s_t, a_t = check_indices(s, "s", S), check_indices(a, "a", A)
    if s_t.shape != a_t.shape:
        raise ValueError(f"s and a must have the same shape; got {tuple(s_t.shape)} and {tuple(a_t.shape)}")
    return torch.nn.functional.one_hot(s_t * A + a_t, S * A).to(dtype)


def state_action_table(n_states: int, n_actions: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """All tabular features at once (chapter 1): ``(S, A, S*A)`` with ``table[s, a] = phi(s, a)``."""
    S = check_int(n_states, "n_states")
    A = check_int(n_actions, "n_actions")
    return torch.eye(S * A, dtype=dtype).reshape(S, A, S * A)


def random_features(n_items: int, d: int, seed: int = 0, low: float = -1.0, high: float = 1.0,
                    dtype: torch.dtype = torch.float64, generator: torch.Generator | int | None = None
                    ) -> torch.Tensor:
    """Random features ``U[low, high]^d`` for ``n_items`` states (the [W25] choice; chapter 3).

    Returns ``(n_items, d)`` of the floating ``dtype``. Draws from ``generator`` (a ``torch.Generator`` or an
    int seed) if given, otherwise from ``seed`` (an int or a ``torch.Generator``).
    """
    n = check_int(n_items, "n_items")
    d = check_int(d, "d")
    lo, hi = check_real(low, "low"), check_real(high, "high")
    if not lo < hi:
        raise ValueError(f"low must be < high; got low={lo}, high={hi}")
    check_float_dtype(dtype)  # an integer dtype would truncate U[-1, 1) features to 0
    gen = resolve_generator(generator, seed if generator is None else None)
    u = torch.rand(n, d, generator=gen, dtype=torch.float64)
    return (lo + (hi - lo) * u).to(dtype)


def q_values(w, table) -> torch.Tensor:
    """Linear action values ``q_w(s, a) = w^T phi(s, a)`` (chapters 1 and 11): ``w`` (..., d), ``table``
    (S, A, d), or (..., S, A, d) with batch dimensions that broadcast against ``w``'s -> (..., S, A)."""
    w = as_tensor(w, "w")
    table = as_tensor(table, "table", dtype=w.dtype)
    check_shape(table, "table", (None, None, None))
    check_shape(w, "w", (table.shape[-1],))
    broadcast_batch({"w": w.shape, "table": table.shape}, {"w": 1, "table": 3})
    if table.dim() == 3:
        return torch.einsum("sad,...d->...sa", table, w)
    return torch.einsum("...sad,...d->...sa", table, w)
