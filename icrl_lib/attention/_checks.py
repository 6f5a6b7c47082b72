"""Small input checks shared by the attention layers and the constructions built on them (not public API).

``icrl_lib._validation`` holds the library-wide checks; these three are the ones the attention code and the
chapter-10 constructions need on top: real booleans (``causal="no"`` must not count as ``True``), floating
dtypes for the tensors a function allocates, and a layer's ``(Q, K, V)``-style tuple.
"""
from __future__ import annotations

import numpy as np
import torch


def check_bool(x, name: str) -> bool:
    """A real boolean (Python or numpy ``bool``); strings, ints and other truthy values raise ``ValueError``."""
    if not isinstance(x, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {x!r}")
    return bool(x)


def check_float_dtype(dtype, name: str = "dtype") -> torch.dtype:
    """A floating ``torch.dtype`` (the dtype of the tensors a function allocates)."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"{name} must be a floating torch.dtype (torch.float32 or torch.float64); got {dtype!r}")
    return dtype


def check_pairs(items, name: str, size: int = 2, what: str = "(P, V) pair") -> list:
    """A non-empty list of ``size``-tuples (a stack of layers or heads); ``ValueError`` naming ``name``."""
    if isinstance(items, (str, bytes, torch.Tensor, np.ndarray)) or not hasattr(items, "__iter__"):
        raise ValueError(f"{name} must be a sequence of {what}s; got {type(items).__name__}")
    items = list(items)
    if not items:
        raise ValueError(f"{name} must contain at least one {what}")
    for i, item in enumerate(items):
        if not isinstance(item, (tuple, list)) or len(item) != size:
            raise ValueError(f"{name}[{i}] must be a {what}; got {type(item).__name__}")
    return items
