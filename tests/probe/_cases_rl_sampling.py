"""Bad-input probe of the one Dirichlet sampler (icrl_lib.rl.dirichlet); see _probe.py."""
from __future__ import annotations

import math

import torch

from icrl_lib import rl as lib

from ._probe import Case

CASES = [
    Case("dirichlet", "range", lambda: lib.dirichlet((2, 3), 0.0, 0), "concentration"),
    Case("dirichlet", "nonfinite", lambda: lib.dirichlet((2, 3), math.nan, 0), "concentration"),
    Case("dirichlet", "type", lambda: lib.dirichlet((2, 3), 1.0, "seed"), "generator"),
    Case("dirichlet", "legit", lambda: lib.dirichlet((4, 3), 0.05, 1), None,
         check=lambda x: x.shape == (4, 3) and bool(torch.allclose(x.sum(-1), torch.ones(4, dtype=x.dtype)))
         and bool((x >= 0).all()), note="sparse"),
]
EXEMPT: dict = {}
