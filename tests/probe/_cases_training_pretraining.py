"""Bad-input probe of icrl_lib.training.posterior_fit (chapter 9: DPT against the exact posterior)."""
from __future__ import annotations

import torch

from icrl_lib import training as lib

from ._probe import Case

TABLE = lib.exact_history_table(2)


def _untrained():
    return lib.CausalTransformerPolicy(4, 2, n_layers=1, d_model=8, n_heads=1, max_len=3, seed=0)


CASES = [
    Case("exact_history_table", "range", lambda: lib.exact_history_table(0), "horizon"),
    Case("exact_history_table", "overflow", lambda: lib.exact_history_table(40), "horizon"),
    Case("exact_history_table", "type", lambda: lib.exact_history_table(2.5), "horizon"),
    Case("exact_history_table", "legit", lambda: lib.exact_history_table(3), None,
         check=lambda o: [len(p) for p in o.posterior] == [1, 4, 16]
         and all(abs(float(w.sum()) - 1) < 1e-12 for w in o.weight), note="weights sum to 1"),
    Case("history_from_counts", "shape", lambda: lib.history_from_counts([[1, 0, 2]]), "counts"),
    Case("history_from_counts", "empty", lambda: lib.history_from_counts(torch.zeros(0, 4, dtype=torch.long)),
         "counts"),
    Case("history_from_counts", "range", lambda: lib.history_from_counts([[1, 0, -1, 2]]), "counts"),
    Case("history_from_counts", "dtype", lambda: lib.history_from_counts([[1.5, 0, 0, 0]]), "counts"),
    Case("history_from_counts", "batch", lambda: lib.history_from_counts([[1, 0, 0, 0], [1, 1, 0, 0]]), "counts"),
    Case("history_from_counts", "legit", lambda: lib.history_from_counts([[1, 0, 0, 1]]), None,
         check=lambda o: o[0].tolist() == [[0, 1]] and o[1].tolist() == [[1.0, 0.0]], note="arm 0 first"),
    Case("history_index", "type", lambda: lib.history_index("01"), "history"),
    Case("history_index", "range", lambda: lib.history_index([(2, 0)]), "history"),
    Case("history_index", "legit", lambda: lib.history_index([(1, 1), (0, 1)]), None, check=lambda o: o == 13,
         note="base 4"),
    Case("model_arm1_probs", "type", lambda: lib.model_arm1_probs(_untrained(), [1, 2]), "table"),
    Case("model_arm1_probs", "type", lambda: lib.model_arm1_probs("model", TABLE), "model"),
    Case("model_arm1_probs", "legit", lambda: lib.model_arm1_probs(_untrained(), TABLE), None,
         check=lambda o: [q.shape[0] for q in o] == [1, 4] and all(bool(((q > 0) & (q < 1)).all()) for q in o),
         note="probabilities"),
    Case("posterior_fit", "type", lambda: lib.posterior_fit([1], TABLE.posterior), "table"),
    Case("posterior_fit", "shape", lambda: lib.posterior_fit(TABLE, TABLE.posterior[:1]), "fit"),
    Case("posterior_fit", "range", lambda: lib.posterior_fit(TABLE, [p * 3 for p in TABLE.posterior]), "fit"),
    Case("posterior_fit", "legit", lambda: lib.posterior_fit(TABLE, TABLE.posterior), None,
         check=lambda o: abs(o.kl) < 1e-12 and o.worst == 0.0 and abs(o.hellinger) < 1e-7
         and abs(o.realisability) < 1e-12, note="exact fit"),
    Case("train_bernoulli_dpt", "range", lambda: lib.train_bernoulli_dpt(0, 3, 1), "n_tasks"),
    Case("train_bernoulli_dpt", "type", lambda: lib.train_bernoulli_dpt(10, "3", 1), "horizon"),
    Case("train_bernoulli_dpt", "range", lambda: lib.train_bernoulli_dpt(10, 3, -1), "data_seed"),
    Case("train_bernoulli_dpt", "range", lambda: lib.train_bernoulli_dpt(10, 3, 1, seed=-2), "seed"),
]
EXEMPT = {
    "HistoryTable": "a plain NamedTuple of lists returned by exact_history_table; takes no validated input",
    "PosteriorFit": "a plain NamedTuple of floats returned by posterior_fit; takes no validated input",
}
