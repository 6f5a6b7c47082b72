"""Input checks shared by the training modules (on top of :mod:`icrl_lib._validation`)."""
from __future__ import annotations

import math

import torch

from .._validation import check_bool, check_finite_result, check_float_dtype, check_int  # noqa: F401 (re-used)

def check_choice(x, name: str, allowed) -> str:
    """One of ``allowed`` (listed in the message)."""
    if not isinstance(x, str) or x not in allowed:
        raise ValueError(f"{name} must be one of {tuple(allowed)}; got {x!r}")
    return x


def check_seeds(seeds, name: str = "seeds", minimum: int = 0) -> list[int]:
    """A non-empty sequence of integers >= ``minimum`` (seeds, or a grid of sizes)."""
    want = f"a non-empty sequence of integers >= {minimum}"
    try:
        seeds = list(seeds)
    except TypeError as exc:
        raise ValueError(f"{name} must be {want}; got {type(seeds).__name__}") from exc
    if not seeds:
        raise ValueError(f"{name} must be {want}; got none")
    return [check_int(s, name, minimum=minimum) for s in seeds]


def check_loss(loss: torch.Tensor, step: int, change: str = "lower lr") -> None:
    """Stop a diverging training run: raise ``ValueError`` if the loss of ``step`` is NaN or inf.

    Without it a step size that is too large silently returns NaN parameters; ``change`` names the setting to
    lower (for example ``"lower lr"``).
    """
    value = loss.detach()
    if not bool(torch.isfinite(value).all()):
        check_finite_result(value, f"the training loss at step {step} ({float(value):.3g})",
                            f"training diverged: {change}")


def check_isinstance(x, name: str, cls) -> None:
    if not isinstance(x, cls):
        raise ValueError(f"{name} must be a {cls.__name__}; got {type(x).__name__}")


def finite_real(x, name: str) -> float:
    v = float(x)
    if not math.isfinite(v):
        raise ValueError(f"{name} is not finite (overflow); got {v}")
    return v


class diverged:
    """Context manager of a training loop: a ``ValueError`` raised inside (a layer refusing a non-finite result
    once the parameters have blown up; the loop's inputs are checked before it starts) becomes "training
    diverged at step k ...; ``change``"."""

    def __init__(self, step: int, change: str = "lower lr"):
        self.step, self.change = step, change

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and issubclass(exc_type, ValueError) and "diverged" not in str(exc):
            raise ValueError(f"training diverged at step {self.step} ({exc}); {self.change}") from exc
        return False
