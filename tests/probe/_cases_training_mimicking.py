"""Bad-input probe of chapter 6's local convergence and success-sweep summaries
(icrl_lib.training.local_convergence, icrl_lib.training.success_sweeps); see _probe.py. Run by
test_probe_training.py."""
from __future__ import annotations

import copy
from functools import lru_cache

import torch

from icrl_lib import training as lib
from icrl_lib.incontext import PromptDistribution, parameter_roles, sample_prompt_batch

from ._probe import Case, nan_at

F64 = torch.float64


@lru_cache(None)
def _dist():
    return PromptDistribution(n_states=2, n_actions=2, n_transitions=4)     # D = 11


@lru_cache(None)
def _qm():
    return lib.query_moments(sample_prompt_batch(_dist(), 6, torch.Generator().manual_seed(0)))


def _start():
    """The construction plus a small perturbation: near the zero set, off it."""
    Ps, Vs = _dist().construction()
    g = torch.Generator().manual_seed(1)
    return (Ps + 0.01 * torch.randn(Ps.shape, generator=g, dtype=F64),
            Vs + 0.01 * torch.randn(Vs.shape, generator=g, dtype=F64))


@lru_cache(None)
def _run():
    return lib.local_convergence(*_start(), _qm(), _dist(), n_steps=40, log_every=2)


def _lc(**kw):
    P, V = _start()
    args = dict(P=P, V=V, qm=_qm(), dist=_dist(), n_steps=40, log_every=2) | kw
    return lambda: lib.local_convergence(**args)


def _query_pair_stays_zero(r):
    q = parameter_roles(_dist())["query"]
    return (r.eta > 0 and bool(torch.all(r.gd.P[q[0]] == 0)) and bool(torch.all(r.gd.V[q[1]] == 0))
            and r.measured < 0 and r.gd.loss[-1] < r.gd.loss[0])


def _sweep():
    steps = [0, 10, 20]
    runs = [{"seed": 0, "relative_error_P": 0.01, "relative_error_V": 0.02, "success": True,
             "history": {"step": steps, "relative_error_P": [1.0, 0.04, 0.01],
                         "relative_error_V": [1.0, 0.03, 0.02]}},
            {"seed": 1, "relative_error_P": 0.5, "relative_error_V": 0.02, "success": False,
             "history": {"step": steps, "relative_error_P": [1.0, 0.6, 0.5],
                         "relative_error_V": [1.0, 0.03, 0.02]}}]
    return {"threshold": 0.05, "runs": runs}


def _bad_sweep(edit):
    s = copy.deepcopy(_sweep())
    edit(s)
    return lambda: lib.sweep_summary(s)


def _set(path, value):
    def edit(s):
        *head, last = path
        target = s
        for k in head:
            target = target[k]
        target[last] = value
    return edit


CASES = [
    # local_convergence
    Case("local_convergence", "shape", _lc(P=torch.zeros(3, 3, dtype=F64)), "P"),
    Case("local_convergence", "nonfinite", _lc(V=nan_at(_start()[1])), "V"),
    Case("local_convergence", "type", _lc(dist="sarsa"), "dist"),
    Case("local_convergence", "type", _lc(qm=(1, 2)), "qm"),
    Case("local_convergence", "range", _lc(n_steps=0), "n_steps"),
    Case("local_convergence", "range", _lc(log_every=20), "log_every", note="too coarse to fit"),
    Case("local_convergence", "range", _lc(eta_factor=2.5), "eta_factor", note="unstable step"),
    Case("local_convergence", "nonfinite", _lc(eta_factor=float("inf")), "eta_factor"),
    Case("local_convergence", "legit", _run, None, check=_query_pair_stays_zero,
         note="query pair zeroed and kept at zero"),
    # mode_energies
    Case("mode_energies", "type", lambda: lib.mode_energies({"gd": None}), "run"),
    Case("mode_energies", "legit", lambda: lib.mode_energies(_run()), None,
         check=lambda m: bool(torch.isclose(m.energy.sum(), m.curve[0], rtol=1e-10)),
         note="the model's initial loss is the sum of the mode energies"),
    # sweep_summary
    Case("sweep_summary", "type", lambda: lib.sweep_summary([1, 2]), "sweep"),
    Case("sweep_summary", "empty", _bad_sweep(_set(["runs"], [])), "sweep"),
    Case("sweep_summary", "type", _bad_sweep(lambda s: s.pop("threshold")), "threshold"),
    Case("sweep_summary", "range", _bad_sweep(_set(["threshold"], -0.1)), "threshold"),
    Case("sweep_summary", "range", _bad_sweep(_set(["runs", 1, "success"], True)), "sweep",
         note="success flag disagrees"),
    Case("sweep_summary", "shape", _bad_sweep(_set(["runs", 1, "history", "step"], [0, 10])), "sweep"),
    Case("sweep_summary", "nonfinite", _bad_sweep(_set(["runs", 0, "relative_error_P"], float("nan"))),
         "sweep"),
    Case("sweep_summary", "type", _bad_sweep(lambda s: s["runs"][0].pop("history")), "sweep",
         note="no history"),
    Case("sweep_summary", "legit", lambda: lib.sweep_summary(_sweep()), None,
         check=lambda s: (s.successes, s.n, s.median_steps, s.missed) == (1, 2, 10, [(1, 0.5)])
         and list(s.fraction) == [0.0, 0.5, 0.5]),
]

EXEMPT = {
    "LocalConvergence": "plain result type (NamedTuple) returned by local_convergence",
    "ModeEnergies": "plain result type (NamedTuple) returned by mode_energies",
    "SweepSummary": "plain result type (NamedTuple) returned by sweep_summary",
}
