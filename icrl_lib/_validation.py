"""Input checks shared by every public function.

Every public function of ``icrl_lib`` converts its array arguments with :func:`as_tensor` and checks them
here, so that bad input fails loudly with a ``ValueError`` that names the argument and says what was
expected, instead of propagating a silent wrong number or NaN.
"""
from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Sequence

import numpy as np
import torch

ArrayLike = "np.ndarray | torch.Tensor | Sequence[float]"


def as_tensor(x, name: str, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Convert ``x`` (numpy array, torch tensor, nested list or scalar) to a floating torch tensor.

    Floating inputs keep their dtype (float64 stays float64 for exactness checks); integer, boolean and
    Python inputs become float64. Raises ``ValueError`` naming ``name`` if the values are not finite.
    """
    if isinstance(x, torch.Tensor):
        t = x
    else:
        try:
            arr = np.asarray(x)
        except Exception as exc:  # ragged lists and the like
            raise ValueError(f"{name} must be an array of numbers; got {type(x).__name__}") from exc
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise ValueError(f"{name} must be an array of numbers; got dtype {arr.dtype}")
        t = torch.from_numpy(np.array(arr, copy=True))
    if t.is_complex():  # casting to a real dtype would silently drop the imaginary part
        raise ValueError(f"{name} must be real; got complex dtype {t.dtype}")
    if dtype is not None:
        t = t.to(dtype)
    elif not t.is_floating_point():
        t = t.to(torch.float64)
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return t


def check_shape(t: torch.Tensor, name: str, trailing: Sequence[int | None], *, batch: bool = True) -> None:
    """Check that ``t`` ends with the dimensions ``trailing`` (``None`` = any size >= 1).

    With ``batch=True`` any number of leading (batch) dimensions is allowed, written ``(..., ...)``.
    """
    want = "(" + ("..., " if batch else "") + ", ".join("*" if s is None else str(s) for s in trailing) + ")"
    nd = len(trailing)
    if t.dim() < nd or (not batch and t.dim() != nd):
        raise ValueError(f"{name} must have shape {want}; got {tuple(t.shape)}")
    for got, exp in zip(t.shape[t.dim() - nd:], trailing):
        if (exp is not None and got != exp) or got < 1:
            raise ValueError(f"{name} must have shape {want}; got {tuple(t.shape)}")


def check_gamma(gamma, name: str = "gamma") -> float:
    """Discount factors live in [0, 1)."""
    g = check_real(gamma, name)
    if not 0.0 <= g < 1.0:
        raise ValueError(f"{name} must be in [0, 1); got {g}")
    return g


def check_real(x, name: str) -> float:
    """A finite real scalar (Python, numpy or 0-dim torch)."""
    if isinstance(x, torch.Tensor):
        if x.numel() != 1:
            raise ValueError(f"{name} must be a scalar; got a tensor of shape {tuple(x.shape)}")
        x = x.item()
    if isinstance(x, bool) or not isinstance(x, (Real, np.floating, np.integer)):
        raise ValueError(f"{name} must be a real number; got {type(x).__name__}")
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite; got {x}")
    return x


def check_positive(x, name: str) -> float:
    """A finite real scalar > 0."""
    v = check_real(x, name)
    if v <= 0:
        raise ValueError(f"{name} must be > 0; got {v}")
    return v


def check_probability(x, name: str) -> float:
    """A finite real scalar in [0, 1]."""
    v = check_real(x, name)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name} must be in [0, 1]; got {v}")
    return v


def check_int(n, name: str, minimum: int = 1) -> int:
    """An integer >= ``minimum`` (booleans are rejected)."""
    if isinstance(n, bool) or not isinstance(n, (Integral, np.integer)):
        raise ValueError(f"{name} must be an integer >= {minimum}; got {n!r}")
    if n < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {n}")
    return int(n)


def check_stochastic(t: torch.Tensor, name: str, atol: float | None = None) -> None:
    """Rows along the last axis are probability vectors: non-negative and summing to 1.

    ``atol`` defaults to 1e-8, widened to a few rounding errors per entry for low-precision dtypes so that
    float32 policies (for example ``softmax_policy`` of a float32 Q table) are accepted.
    """
    if atol is None:
        atol = max(1e-8, 4 * t.shape[-1] * torch.finfo(t.dtype).eps) if t.is_floating_point() else 1e-8
    if bool((t < -atol).any()):
        raise ValueError(f"{name} has negative entries; rows along the last axis must be probabilities")
    if not bool(torch.allclose(t.sum(-1), torch.ones((), dtype=t.dtype), atol=atol, rtol=0.0)):
        raise ValueError(f"{name} rows (last axis) must sum to 1; max deviation "
                         f"{float((t.sum(-1) - 1).abs().max()):.3g}")


def broadcast_batch(name_shapes: dict[str, torch.Size], trailing: dict[str, int]) -> torch.Size:
    """Broadcast the leading (batch) shapes of several arguments, naming them on failure."""
    shapes = {n: tuple(s[: len(s) - trailing[n]]) for n, s in name_shapes.items()}
    try:
        return torch.broadcast_shapes(*shapes.values())
    except RuntimeError as exc:
        desc = ", ".join(f"{n}: {s}" for n, s in shapes.items())
        raise ValueError(f"batch dimensions do not broadcast ({desc})") from exc


def check_indices(x, name: str, upper: int) -> torch.Tensor:
    """Integer indices in ``[0, upper - 1]`` of any shape, returned as an int64 tensor.

    Raises ``ValueError`` naming ``name`` for floating, boolean or complex input and for out-of-range indices.
    """
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


def as_generator(generator_or_seed, name: str = "generator") -> torch.Generator:
    """A ``torch.Generator``: returned as is, or a fresh CPU generator seeded with an integer seed >= 0.

    Every random draw of the library goes through an explicit generator; passing an int is a shortcut for
    ``torch.Generator().manual_seed(seed)``. Anything else raises ``ValueError`` naming ``name``.
    """
    if isinstance(generator_or_seed, torch.Generator):
        return generator_or_seed
    if isinstance(generator_or_seed, bool) or not isinstance(generator_or_seed, (Integral, np.integer)):
        raise ValueError(f"{name} must be a torch.Generator or an integer seed >= 0; got "
                         f"{type(generator_or_seed).__name__}")
    if generator_or_seed < 0:
        raise ValueError(f"{name} must be a torch.Generator or an integer seed >= 0; got {generator_or_seed}")
    return torch.Generator().manual_seed(int(generator_or_seed))


def resolve_generator(generator=None, seed=None, default_seed: int = 0) -> torch.Generator:
    """The generator of a function taking both ``generator=`` and ``seed=``: at most one may be given.

    Either may be a ``torch.Generator`` or an int seed >= 0 (the library's seed convention); with neither, a
    generator seeded with ``default_seed``.
    """
    if generator is not None and seed is not None:
        raise ValueError("pass generator or seed, not both")
    if generator is not None:
        return as_generator(generator, "generator")
    if seed is None:
        return as_generator(check_int(default_seed, "seed", minimum=0), "seed")
    return as_generator(seed, "seed")


def check_layer_inputs(tokens, name: str, matrices: dict, sources: str = "context tokens"):
    """Shared checks of an attention layer's inputs (chapters 2 and 8): ``tokens`` (..., D, N+1) with N >= 1,
    and every matrix of ``matrices`` (name -> value) of shape (..., D, D) in the tokens' dtype, with batch
    dimensions that broadcast. Returns the tokens and the matrices as tensors, in that order."""
    T = as_tensor(tokens, name)
    check_shape(T, name, (None, None))
    D, cols = T.shape[-2:]
    if cols < 2:
        raise ValueError(f"{name} must have at least 2 columns (N >= 1 {sources} and a query); "
                         f"got shape {tuple(T.shape)}")
    mats = [as_tensor(m, k, dtype=T.dtype) for k, m in matrices.items()]
    for k, m in zip(matrices, mats):
        check_shape(m, k, (D, D))
    broadcast_batch({name: T.shape, **{k: m.shape for k, m in zip(matrices, mats)}},
                    {name: 2, **{k: 2 for k in matrices}})
    return (T, *mats)


def check_finite_result(t: torch.Tensor, what: str, change: str) -> torch.Tensor:
    """Raise ``ValueError`` if a computed result ``t`` holds NaN or inf (overflow or divergence).

    ``what`` names the result, ``change`` names the inputs the caller should change (for example
    ``"reduce alpha or n_iters"``): the error says both, instead of returning a silent NaN.
    """
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{what} is not finite (overflow or divergence); {change}")
    return t


# The largest single intermediate a quadratic-memory function may allocate before it refuses: 4 GiB by
# default, so that an accidental n = 10^5 fails at once with the size it would need instead of swapping.
MAX_INTERMEDIATE_BYTES = 4 * 2**30


def check_memory(n_elements: int, dtype: torch.dtype, what: str, name: str) -> None:
    """Refuse an intermediate of ``n_elements`` entries of ``dtype`` above ``MAX_INTERMEDIATE_BYTES``.

    ``what`` describes the intermediate (for example ``"the (N+1) x (N+1) attention matrix"``) and ``name``
    the argument whose size drives it; the message gives the memory it would need.
    """
    itemsize = torch.empty((), dtype=dtype).element_size()
    need = int(n_elements) * itemsize
    if need > MAX_INTERMEDIATE_BYTES:
        raise ValueError(f"{name} is too large: {what} would need {need / 2**30:.1f} GiB "
                         f"(limit {MAX_INTERMEDIATE_BYTES / 2**30:.0f} GiB, icrl_lib._validation."
                         f"MAX_INTERMEDIATE_BYTES); split the batch or shorten the prompt")


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
