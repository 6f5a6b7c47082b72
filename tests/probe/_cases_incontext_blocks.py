"""Bad-input probe of the chapter 4-5 helpers of icrl_lib.incontext (exact_set.py, actor_line.py)."""
from __future__ import annotations

import numpy as np
import torch

from icrl_lib import incontext as lib

from ._probe import Case, nan_at, z

F = torch.float64
DIST = lib.PromptDistribution(n_states=2, n_actions=2)      # d = 4, D = 14
P, V = DIST.construction()
H = lib.sample_prompt_batch(DIST, 3, 0).H
ROWS = DIST.layout.rows("w")
ZP = z(14, 14)

CASES = [
    Case("readout_change", "shape", lambda: lib.readout_change(H, P[:3], V, ZP, ZP, ROWS), "P"),
    Case("readout_change", "shape", lambda: lib.readout_change(H, P, V, z(3, 3), ZP, ROWS), "dP"),
    Case("readout_change", "nonfinite", lambda: lib.readout_change(nan_at(H), P, V, ZP, ZP, ROWS), "H"),
    Case("readout_change", "type", lambda: lib.readout_change(H, P, V, ZP, ZP, ROWS, mask="yes"), "mask"),
    Case("readout_change", "legit", lambda: lib.readout_change(H, P, V, ZP, ZP, ROWS), None,
         check=lambda x: x == 0.0, note="zero perturbation"),
    Case("block_perturbation", "range", lambda: lib.block_perturbation(4, "Q", slice(0, 2), slice(0, 2), 0),
         "matrix"),
    Case("block_perturbation", "empty", lambda: lib.block_perturbation(4, "P", slice(2, 2), slice(0, 2), 0),
         "rows"),
    Case("block_perturbation", "range", lambda: lib.block_perturbation(0, "P", slice(0, 1), slice(0, 1), 0),
         "D"),
    Case("perturbation_table", "empty", lambda: lib.perturbation_table(H, P, V, {}, ROWS, 0), "parts"),
    Case("perturbation_table", "shape", lambda: lib.perturbation_table(H, P, V[:2], {"a": slice(0, 2)},
                                                                        ROWS, 0), "V"),
    Case("one_hot_token_moments", "range", lambda: lib.one_hot_token_moments(0), "d"),
    Case("one_hot_token_moments", "empty", lambda: lib.one_hot_token_moments(2, []), "rewards"),
    Case("one_hot_token_moments", "nonfinite", lambda: lib.one_hot_token_moments(2, [0.0, float("nan")]),
         "rewards"),
    Case("one_hot_token_moments", "legit", lambda: lib.one_hot_token_moments(2), None,
         check=lambda G: G.shape == (12, 5, 5), note="d=2"),
    Case("moment_span_dims", "type", lambda: lib.moment_span_dims("sarsa", 3, z(4), 0), "dist"),
    Case("moment_span_dims", "shape", lambda: lib.moment_span_dims(DIST, 3, z(5), 0), "w"),
    Case("moment_span_dims", "range", lambda: lib.moment_span_dims(DIST, 0, z(4), 0), "n_prompts"),
    Case("exact_set_point", "range", lambda: lib.exact_set_point(DIST, 0.0, 0), "c"),
    Case("exact_set_point", "type", lambda: lib.exact_set_point(None, 1.0, 0), "dist"),
    Case("exact_set_tangent", "range", lambda: lib.exact_set_tangent(DIST, 0.0), "c"),
    Case("exact_set_tangent", "nonfinite", lambda: lib.exact_set_tangent(DIST, float("inf")), "c"),
    Case("scoreless_block_readout", "empty", lambda: lib.scoreless_block_readout([], 1, 0), "lam"),
    Case("scoreless_block_readout", "nonfinite", lambda: lib.scoreless_block_readout([float("nan")], 1, 0),
         "lam"),
    Case("scoreless_block_readout", "range", lambda: lib.scoreless_block_readout([0.0], 0, 0), "n_layers"),
    Case("scoreless_block_readout", "range", lambda: lib.scoreless_block_readout([0.0], 1, 0, a=1, b=1), "b"),
    Case("scoreless_block_readout", "legit", lambda: lib.scoreless_block_readout(np.zeros(3), 1, 0), None,
         check=lambda y: y.shape == (3,) and np.allclose(y, y[0]), note="constant lam"),
]
EXEMPT: dict = {}
