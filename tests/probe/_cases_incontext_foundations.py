"""Bad-input probe of chapter 2's readout checks (icrl_lib.incontext.readout_errors)."""
from __future__ import annotations

import torch

from icrl_lib import incontext as lib

from ._probe import Case, nan_at, r

F = torch.float64
X, Y, XQ = r(4, 5, 2, seed=1), r(4, 5, seed=2), r(4, 2, seed=3)
Z = lib.regression_prompt(X, Y, XQ)
P, V = lib.gd_construction(2, 0.3)
W0 = torch.tensor([0.5, -1.0], dtype=F)


def solution(w0, eta):
    P, V = lib.gd_construction(w0.shape[0], eta)
    V[-1, :-1] = -w0
    return P, V


def w0e(**kw):
    args = dict(construction=solution, X=X, y=Y, x_query=XQ, w0=W0, eta=0.4, mask=True)
    args.update(kw)
    return lambda: lib.w0_start_error(**args)


CASES = [
    Case("mask_readout_gap", "shape", lambda: lib.mask_readout_gap(torch.zeros(3, dtype=F), P, V), "Z"),
    Case("mask_readout_gap", "nonfinite", lambda: lib.mask_readout_gap(nan_at(Z), P, V), "Z"),
    Case("mask_readout_gap", "shape", lambda: lib.mask_readout_gap(Z, torch.zeros(2, 2, dtype=F), V), "P"),
    Case("mask_readout_gap", "legit", lambda: lib.mask_readout_gap(Z, P, V), None,
         check=lambda g: g == 0.0, note="the construction: no gap"),
    Case("w0_start_error", "type", w0e(construction="P, V"), "construction"),
    Case("w0_start_error", "range", w0e(eta=0.0), "eta"),
    Case("w0_start_error", "type", w0e(mask=1), "mask"),
    Case("w0_start_error", "shape", w0e(w0=torch.zeros(3, dtype=F)), "w0"),
    Case("w0_start_error", "nonfinite", w0e(w0=nan_at(W0)), "w0"),
    Case("w0_start_error", "shape", w0e(y=r(4, 6, seed=4)), "y"),
    Case("w0_start_error", "nonfinite", w0e(X=nan_at(X)), "X"),
    Case("w0_start_error", "legit", w0e(), None, check=lambda e: e < 1e-10, note="the exercise's solution"),
]

EXEMPT: dict = {}
