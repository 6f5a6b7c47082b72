"""Chapter 10, section 6: the size of the chain term of [LBM24]'s regret theorems for a construction.

For a construction with ``P`` weights of largest magnitude ``B``, trained on ``n`` trajectories, the covering
number of the transformer class is (optimistically, Lipschitz constant 1) ``log N = P log(1 + 2 B n)``, and the
chain's regret term over ``T`` rounds is ``T^2 (sqrt((log N + log(T/delta)) / n) + sqrt(eps))``, ``eps`` the
construction's per-round approximation error. Every function validates its arguments before any work.
"""
from __future__ import annotations

import math

import torch

from .._validation import check_int, check_positive, check_probability, check_real

__all__ = ["construction_weights", "chain_term"]


def construction_weights(x) -> list:
    """Every weight tensor of a construction given as nested lists and tuples of tensors (``None`` skipped).
    Chapter 10."""
    if isinstance(x, torch.Tensor):
        return [x]
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return [w for y in x for w in construction_weights(y)]
    raise ValueError(f"x must be a tensor or nested lists/tuples of tensors; got {type(x).__name__}")


def chain_term(weights, eps, horizon: int, n_train: int = 20000, delta=0.1) -> dict:
    """``"P"`` (number of weights), ``"B"`` (largest magnitude), ``"log_N"`` and the chain ``"term"`` (module
    docstring) for the weight tensors ``weights``, approximation error ``eps`` >= 0 and ``horizon`` T. Chapter 10."""
    weights = construction_weights(weights)
    if not weights or any(w.numel() == 0 for w in weights):
        raise ValueError("weights must be a non-empty collection of non-empty tensors")
    if not all(bool(torch.isfinite(w).all()) for w in weights):
        raise ValueError("weights contains NaN or infinite values")
    eps = check_real(eps, "eps")
    if eps < 0:
        raise ValueError(f"eps must be >= 0; got {eps}")
    horizon, n_train = check_int(horizon, "horizon"), check_int(n_train, "n_train")
    delta = check_probability(delta, "delta")
    check_positive(delta, "delta")
    P = sum(w.numel() for w in weights)
    B = max(float(w.abs().max()) for w in weights)
    log_N = P * math.log(1 + 2 * B * n_train)
    term = horizon**2 * (math.sqrt((log_N + math.log(horizon / delta)) / n_train) + math.sqrt(eps))
    return {"P": P, "B": B, "log_N": log_N, "term": term}
