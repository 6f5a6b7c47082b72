"""One setup call at the top of every chapter, and helpers that print numbers reproducibly.

nbval compares every printed output with the committed one, so chapters print numbers rounded to the
precision they mean (4 significant digits by default) with :func:`fmt`, never raw float reprs.
"""
from __future__ import annotations

import random
import warnings

import numpy as np
import torch

from ._validation import check_int
from .plotting import set_style

__all__ = ["setup", "fmt", "show"]

_SIG = 4


def setup(seed: int = 0, threads: int = 1, precision: int = 4) -> None:
    """Seed everything, fix print precision and thread count, apply the figure style, quiet known warnings.

    Args:
        seed: seeds Python's, numpy's and torch's global generators (library functions still take
            explicit seeds; this only protects ad hoc cells).
        threads: torch intra-op threads. On 2-core machines one thread is faster for the book's small
            models (see the reproducibility appendix).
        precision: significant digits used by :func:`fmt` and array printing.
    """
    global _SIG
    seed = check_int(seed, "seed", minimum=0)
    threads = check_int(threads, "threads")
    _SIG = check_int(precision, "precision")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    np.set_printoptions(precision=_SIG, suppress=True, linewidth=100)
    torch.set_printoptions(precision=_SIG, sci_mode=False, linewidth=100)
    import sympy
    sympy.init_printing(use_latex="mathjax")
    set_style()
    warnings.filterwarnings("ignore", message=".*TypedStorage is deprecated.*")
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="jupyter_client")


def fmt(x, sig: int | None = None) -> str:
    """Format a number (or 0-dim tensor/array) with ``sig`` significant digits; tiny values in e-notation."""
    sig = _SIG if sig is None else sig
    if isinstance(x, torch.Tensor) or isinstance(x, np.ndarray):
        # np.size() of a torch tensor is its bound .size method, so count elements per type.
        if (x.numel() if isinstance(x, torch.Tensor) else x.size) != 1:
            return np.array2string(np.asarray(x.tolist() if isinstance(x, torch.Tensor) else x, dtype=float),
                                   formatter={"float_kind": lambda v: fmt(v, sig)})
        x = x.item()  # works for any single-element array (float() rejects ndim > 0 in numpy 2)
    x = float(x)
    if x == 0:
        return "0"
    if abs(x) < 1e-3 or abs(x) >= 1e6:
        return f"{x:.{max(sig - 1, 0)}e}"
    return f"{x:.{sig}g}"


def show(**values) -> None:
    """Print ``name = value`` lines with :func:`fmt` (strings and integers print as they are)."""
    width = max(len(k) for k in values) if values else 0
    for k, v in values.items():
        text = v if isinstance(v, (str, int)) and not isinstance(v, bool) else fmt(v)
        print(f"{k:<{width}} = {text}")
