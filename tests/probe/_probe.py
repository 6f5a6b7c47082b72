"""The bad-input probe of the public API (issue: nothing lost, nothing leaked).

Each ``tests/probe/test_probe_<subpackage>.py`` lists ``CASES``: one :class:`Case` per (public name, kind of bad
input). A case either expects a ``ValueError`` whose message names ``arg`` (``arg`` a string), or is a
documented legitimate input (``arg=None``) whose result ``check`` verifies. ``EXEMPT`` maps the public names that
take no input (constants, plain data types, protocols) to the reason. ``test_probe_coverage.py`` checks that every
name in each subpackage's ``__all__`` is probed or exempt.

Kinds of bad input (``kind``): shape, dtype, nonfinite, range, empty, batch, type, overflow, legit.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pytest
import torch

KINDS = ("shape", "dtype", "nonfinite", "range", "empty", "batch", "type", "overflow", "legit")


@dataclass(frozen=True)
class Case:
    name: str                      # the public name probed (as in the subpackage's __all__)
    kind: str                      # one of KINDS
    call: Callable[[], Any]        # the bad call
    arg: str | None                # the argument the ValueError must name; None for a legitimate input
    check: Callable[[Any], bool] | None = None   # for legitimate inputs: the result is right
    note: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}; got {self.kind!r}")
        if (self.arg is None) != (self.kind == "legit"):
            raise ValueError("arg is None exactly for kind='legit'")

    @property
    def id(self) -> str:
        return f"{self.name}-{self.kind}-{self.note or self.arg}"


def run_case(case: Case) -> None:
    """Run one probe case: a ValueError naming the argument, or a legitimate result that checks."""
    if case.arg is None:
        result = case.call()
        assert case.check is not None and case.check(result), f"{case.id}: wrong legitimate result {result!r}"
        return
    with pytest.raises(ValueError) as info:
        case.call()
    assert case.arg in str(info.value), f"{case.id}: message does not name {case.arg!r}: {info.value}"


def params(cases):
    return [pytest.param(c, id=c.id) for c in cases]


# Small float64 inputs shared by the case files.
F64 = torch.float64


def z(*shape):
    """Zeros of ``shape`` in float64."""
    return torch.zeros(*shape, dtype=F64)


def r(*shape, seed=0):
    """Standard normal draws of ``shape`` in float64, from an explicit seed."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def nan_at(t):
    """A copy of ``t`` with its first entry NaN."""
    t = t.clone()
    t.view(-1)[0] = float("nan")
    return t


def collect(sub: str, cases: list | tuple = (), exempt: dict | None = None) -> tuple[list, dict]:
    """The cases and exemptions of subpackage ``sub``: those given plus every ``_cases_<sub>_*.py`` module's
    ``CASES`` and ``EXEMPT`` (a new topic module adds its cases in a file of its own)."""
    import importlib
    from pathlib import Path

    all_cases, all_exempt = list(cases), dict(exempt or {})
    for path in sorted(Path(__file__).parent.glob(f"_cases_{sub}_*.py")):
        module = importlib.import_module(f"{__package__}.{path.stem}")
        all_cases += list(module.CASES)
        all_exempt.update(getattr(module, "EXEMPT", {}))
    return all_cases, all_exempt
