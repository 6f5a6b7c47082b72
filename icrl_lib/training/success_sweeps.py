"""Success-rate sweeps of teacher mimicking: per setting, how many seeds reach the construction, when, and how
close the others end (chapter 6, section 5).

A sweep is the dict of one committed ``ch6_success_<setting>.json`` file (``python -m icrl_lib.experiments
success-rate``): ``threshold`` and ``runs``, a list of ``n`` runs each with ``seed``, the final
``relative_error_P``, ``relative_error_V``, the flag ``success`` and a ``history`` with ``step`` and the two
errors at every logged step. A run *succeeds* when ``max(err_P, err_V) < threshold`` (chapter 6's criterion,
:data:`icrl_lib.experiments.SUCCESS_THRESHOLD`).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validation import check_real
from ..rl.intervals import clopper_pearson

__all__ = ["SweepSummary", "sweep_summary"]


class SweepSummary(NamedTuple):
    """One setting of a sweep (chapter 6): ``successes`` of ``n`` seeds with the Clopper-Pearson interval
    ``ci`` (lo, hi); ``median_steps`` the median first logged step within the threshold over the successful
    seeds (None if none); ``median_final_error`` the median of ``max(err_P, err_V)`` at the end; ``missed``
    the ``(seed, final error)`` of the runs that did not succeed; ``steps`` (T,) the logged steps and
    ``fraction`` (T,) the share of seeds within the threshold at each."""

    successes: int
    n: int
    ci: tuple[float, float]
    median_steps: int | None
    median_final_error: float
    missed: list
    steps: np.ndarray
    fraction: np.ndarray


def sweep_summary(sweep: dict, level: float = 0.95) -> SweepSummary:
    """Summarise one sweep file (see the module docstring); ``level`` of the Clopper-Pearson interval
    (chapter 6).

    Raises ``ValueError`` naming ``sweep`` if the file is malformed: no runs, histories logged at different
    steps, or a run whose ``success`` flag disagrees with its final errors.
    """
    if not isinstance(sweep, dict) or not isinstance(sweep.get("runs"), list) or not sweep["runs"]:
        raise ValueError("sweep must be a dict with a non-empty list 'runs' (a ch6_success_*.json file)")
    if "threshold" not in sweep:
        raise ValueError("sweep must record its 'threshold'")
    threshold = check_real(sweep["threshold"], "sweep['threshold']")
    if not threshold > 0:
        raise ValueError(f"sweep['threshold'] must be > 0; got {threshold}")
    runs = sweep["runs"]
    try:
        final = np.array([max(r["relative_error_P"], r["relative_error_V"]) for r in runs], dtype=float)
        hist = [np.maximum(r["history"]["relative_error_P"], r["history"]["relative_error_V"]) for r in runs]
        steps = np.asarray(runs[0]["history"]["step"])
        same = all(list(r["history"]["step"]) == list(steps) for r in runs)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"sweep: every run needs the final errors and a history; {exc!r} is missing") from exc
    if not same or any(h.shape != steps.shape for h in hist):
        raise ValueError("sweep: every run's history must be logged at the same steps")
    if not np.all(np.isfinite(final)):
        raise ValueError("sweep: a run has a non-finite final error")
    wins = final < threshold
    for r, w in zip(runs, wins):
        if bool(r.get("success", w)) != bool(w):
            raise ValueError(f"sweep: run of seed {r.get('seed')} has a 'success' flag that disagrees with its errors")
    within = np.stack(hist) < threshold                      # (n, T)
    first = [int(steps[row.argmax()]) for row in within if row.any()]
    return SweepSummary(int(wins.sum()), len(runs), clopper_pearson(int(wins.sum()), len(runs), level),
                        int(np.median(first)) if first else None, float(np.median(final)),
                        [(r.get("seed"), float(e)) for r, e, w in zip(runs, final, wins) if not w],
                        steps, within.mean(axis=0))
