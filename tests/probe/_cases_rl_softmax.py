"""Bad-input probe of icrl_lib.rl.softmax_td_iteration (chapter 8's matrix form of weighted softmax TD)."""
from __future__ import annotations

import math

import torch

from icrl_lib import rl as lib

from ._probe import Case, nan_at, r

F = torch.float64
ST = torch.tensor([0, 1, 2, 0, 1, 2, 0])  # n = 6, every state a source
RW = r(6, seed=1)
EYE = torch.eye(3, dtype=F)

CASES = [
    Case("iteration_radius", "range", lambda: lib.iteration_radius(torch.tensor([0, 5, 1]), EYE, 0.9), "states"),
    Case("iteration_radius", "shape", lambda: lib.iteration_radius(ST, r(3), 0.9), "state_features"),
    Case("iteration_radius", "nonfinite", lambda: lib.iteration_radius(ST, nan_at(EYE), 0.9), "state_features"),
    Case("iteration_radius", "range", lambda: lib.iteration_radius(ST, EYE, 1.5), "gamma"),
    Case("iteration_radius", "range", lambda: lib.iteration_radius(ST, EYE, 0.9, alpha=-1.0), "alpha"),
    Case("iteration_radius", "shape", lambda: lib.iteration_radius(torch.tensor([0]), EYE, 0.9), "states"),
    Case("iteration_radius", "legit", lambda: lib.iteration_radius(ST, EYE * 30, 0.9), None,
         check=lambda o: abs(float(o) - 0.9) < 1e-9, note="tabular limit: rate gamma"),
    Case("matrix_form_path", "range", lambda: lib.matrix_form_path(ST, RW, EYE, 0.9, -1), "n_layers"),
    Case("matrix_form_path", "shape", lambda: lib.matrix_form_path(ST, r(5), EYE, 0.9, 2), "rewards"),
    Case("matrix_form_path", "type", lambda: lib.matrix_form_path(ST, RW, EYE, "0.9", 2), "gamma"),
    Case("matrix_form_path", "range", lambda: lib.matrix_form_path(ST, RW, EYE, 0.9, 2, alpha=0.0), "alpha"),
    Case("matrix_form_path", "legit", lambda: lib.matrix_form_path(ST, RW, EYE, 0.9, 0)[0], None,
         check=lambda o: o.shape == (1, 3) and not o.any(), note="zero layers"),
    Case("certainty_equivalence_limit", "range", lambda: lib.certainty_equivalence_limit(ST, RW, 2, 0.9), "states"),
    Case("certainty_equivalence_limit", "type", lambda: lib.certainty_equivalence_limit(ST, RW, 3.0, 0.9),
         "n_states"),
    Case("certainty_equivalence_limit", "range", lambda: lib.certainty_equivalence_limit(ST, RW, 3, 1.0), "gamma"),
    Case("certainty_equivalence_limit", "nonfinite", lambda: lib.certainty_equivalence_limit(ST, nan_at(RW), 3, 0.5),
         "rewards"),
    Case("certainty_equivalence_limit", "legit", lambda: lib.certainty_equivalence_limit(ST, RW, 4, 0.5), None,
         check=lambda o: o.shape == (4,) and float(o[3]) == 0.0, note="unvisited state: value 0"),
    Case("layers_needed", "range", lambda: lib.layers_needed(r(4).abs(), tol=0.0), "tol"),
    Case("layers_needed", "empty", lambda: lib.layers_needed(torch.zeros(0, dtype=F)), "relative_error"),
    Case("layers_needed", "nonfinite", lambda: lib.layers_needed(nan_at(r(4))), "relative_error"),
    Case("layers_needed", "legit", lambda: lib.layers_needed(torch.tensor([1.0, 0.5, 1e-4, 1e-5]), 1e-3), None,
         check=lambda o: float(o) == 2.0, note="first layer below"),
    Case("layers_needed", "legit", lambda: lib.layers_needed(torch.tensor([1.0, 0.5])), None,
         check=lambda o: math.isinf(float(o)), note="never"),
    Case("tabular_limit_gap", "range", lambda: lib.tabular_limit_gap(ST, RW, 3, 0.9, [1.0, -2.0], 3), "betas"),
    Case("tabular_limit_gap", "empty", lambda: lib.tabular_limit_gap(ST, RW, 3, 0.9, [], 3), "betas"),
    Case("tabular_limit_gap", "range", lambda: lib.tabular_limit_gap(ST, RW, 3, 0.9, [1.0], 0), "n_layers"),
    Case("tabular_limit_gap", "range", lambda: lib.tabular_limit_gap(ST, RW, 2, 0.9, [1.0], 2), "states"),
    Case("tabular_limit_gap", "legit", lambda: lib.tabular_limit_gap(ST, RW, 3, 0.9, [1000.0], 3), None,
         check=lambda o: o.shape == (1,) and float(o[0]) < 1e-10, note="large beta"),
    Case("linear_td_iteration_radius", "shape", lambda: lib.linear_td_iteration_radius(r(4), r(4), 0.9, 1.0), "x"),
    Case("linear_td_iteration_radius", "shape",
         lambda: lib.linear_td_iteration_radius(r(4, 2), r(3, 2), 0.9, 1.0), "x_next"),
    Case("linear_td_iteration_radius", "range",
         lambda: lib.linear_td_iteration_radius(r(4, 2), r(4, 2), 0.9, 0.0), "c"),
    Case("linear_td_iteration_radius", "nonfinite",
         lambda: lib.linear_td_iteration_radius(nan_at(r(4, 2)), r(4, 2), 0.9, 1.0), "x"),
    Case("linear_td_iteration_radius", "legit",
         lambda: lib.linear_td_iteration_radius(torch.eye(2, dtype=F), torch.zeros(2, 2, dtype=F), 0.5, 1.0), None,
         check=lambda o: abs(float(o) - 0.5) < 1e-12, note="A = I / 2"),
]
EXEMPT: dict = {}
