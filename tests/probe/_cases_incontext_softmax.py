"""Bad-input probe of icrl_lib.incontext.softmax_vs_linear (chapter 8, linear against softmax attention)."""
from __future__ import annotations

import torch

from icrl_lib import incontext as lib

from ._probe import Case, nan_at, r

X, RW, V = r(2, 5, 3, seed=1), r(2, 4, seed=2), r(2, seed=3)

CASES = [
    Case("linear_td_depth_errors", "shape", lambda: lib.linear_td_depth_errors(r(5), RW, V, 0.5, 2, 1.0), "features"),
    Case("linear_td_depth_errors", "shape", lambda: lib.linear_td_depth_errors(X, r(2, 5), V, 0.5, 2, 1.0),
         "rewards"),
    Case("linear_td_depth_errors", "batch", lambda: lib.linear_td_depth_errors(X, RW, r(3), 0.5, 2, 1.0), "values"),
    Case("linear_td_depth_errors", "nonfinite", lambda: lib.linear_td_depth_errors(nan_at(X), RW, V, 0.5, 2, 1.0),
         "features"),
    Case("linear_td_depth_errors", "range", lambda: lib.linear_td_depth_errors(X, RW, V, 0.5, 2, -1.0), "c"),
    Case("linear_td_depth_errors", "range", lambda: lib.linear_td_depth_errors(X, RW, V, 1.5, 2, 1.0), "gamma"),
    Case("linear_td_depth_errors", "legit", lambda: lib.linear_td_depth_errors(X, RW, V, 0.5, 3, 1.0), None,
         check=lambda o: o.shape == (4,) and abs(float(o[0]) - float(V.abs().mean())) < 1e-12, note="w_0 = 0"),
    Case("softmax_td_depth_errors", "range", lambda: lib.softmax_td_depth_errors(X, RW, V, 0.5, 2, beta=0.0),
         "beta"),
    Case("softmax_td_depth_errors", "range", lambda: lib.softmax_td_depth_errors(X, RW, V, 0.5, -1), "n_layers"),
    Case("softmax_td_depth_errors", "shape", lambda: lib.softmax_td_depth_errors(r(2, 1, 3), r(2, 0), V, 0.5, 1),
         "features"),
    Case("softmax_td_depth_errors", "legit", lambda: lib.softmax_td_depth_errors(X, RW, V, 0.5, 2), None,
         check=lambda o: o.shape == (3,) and bool(torch.isfinite(o).all()), note="default beta"),
]
EXEMPT: dict = {}
