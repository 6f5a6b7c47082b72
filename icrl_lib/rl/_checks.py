"""Private checks shared by the modules of ``icrl_lib.rl`` (generic ones live in ``icrl_lib._validation``)."""
from __future__ import annotations

import numpy as np
import torch

from .._validation import as_generator, check_int


def resolve_seed(generator=None, seed=None, default_seed: int = 0) -> torch.Generator:
    """The generator of a function taking both ``generator=`` and ``seed=``: at most one may be given, and
    either may be a ``torch.Generator`` or an int seed >= 0 (the library's seed convention); with neither, a
    generator seeded with ``default_seed``."""
    if generator is not None and seed is not None:
        raise ValueError("pass generator or seed, not both")
    if generator is not None:
        return as_generator(generator, "generator")
    if seed is None:
        return as_generator(check_int(default_seed, "seed", minimum=0), "seed")
    return as_generator(seed, "seed")


def check_float_dtype(dtype, name: str = "dtype") -> torch.dtype:
    """A floating torch dtype (an integer dtype would silently truncate probabilities or features)."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"{name} must be a floating torch dtype (torch.float32 or torch.float64); got {dtype!r}")
    return dtype


def select_rows(index, n: int, name: str = "index") -> torch.Tensor:
    """Rows ``arange(n)[index]`` as a 1-D int64 tensor for an int, slice, list or int/bool tensor ``index``;
    ``ValueError`` naming ``name`` for anything out of range or of the wrong type (instead of torch's
    IndexError), and for an empty selection (a batch needs at least one task)."""
    if isinstance(index, (bool, np.bool_)) or index is None or isinstance(index, (float, str)):
        raise ValueError(f"{name} must be an int, a slice, or an integer or boolean array; got {index!r}")
    if isinstance(index, (int, np.integer)):
        index = [int(index)]
    if not isinstance(index, slice):
        try:
            t = torch.as_tensor(np.asarray(index) if not isinstance(index, torch.Tensor) else index)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ValueError(f"{name} must be an int, a slice, or an integer or boolean array; got "
                             f"{type(index).__name__}") from exc
        if t.dtype == torch.bool:
            if t.shape != (n,):
                raise ValueError(f"{name} as a boolean mask must have shape ({n},); got {tuple(t.shape)}")
        elif t.is_floating_point() or t.is_complex():
            raise ValueError(f"{name} must hold integer indices; got dtype {t.dtype}")
        elif t.numel() and (int(t.min()) < -n or int(t.max()) >= n):
            raise ValueError(f"{name} must hold indices in [-{n}, {n - 1}]; got range [{int(t.min())}, "
                             f"{int(t.max())}]")
        index = t
    rows = torch.arange(n)[index].reshape(-1)
    if rows.numel() == 0:
        raise ValueError(f"{name} selects no task; a batch needs at least one")
    return rows
