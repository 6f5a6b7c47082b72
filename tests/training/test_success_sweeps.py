"""Chapter 6: sweep_summary against the chapter's former per-run computation, on the committed sweep files."""
import json
from pathlib import Path

import numpy as np
import pytest

from icrl_lib.rl import clopper_pearson
from icrl_lib.training import sweep_summary

RESULTS = Path(__file__).resolve().parents[2] / "book" / "_static" / "results"
FILES = sorted(RESULTS.glob("ch6_success_*.json"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_summary_matches_the_chapter_code(path):
    sweep = json.loads(path.read_text())
    th = sweep["threshold"]
    s = sweep_summary(sweep)
    runs = sweep["runs"]
    wins = [max(r["relative_error_P"], r["relative_error_V"]) < th for r in runs]
    assert (s.successes, s.n) == (sum(wins), len(runs))
    assert s.ci == clopper_pearson(sum(wins), len(runs))
    reached = []
    for r in runs:
        h = r["history"]
        ok = [st for st, ep, ev in zip(h["step"], h["relative_error_P"], h["relative_error_V"]) if max(ep, ev) < th]
        if ok:
            reached.append(ok[0])
    assert s.median_steps == (int(np.median(reached)) if reached else None)
    assert s.median_final_error == float(np.median([max(r["relative_error_P"], r["relative_error_V"])
                                                    for r in runs]))
    assert [seed for seed, _ in s.missed] == [r["seed"] for r, w in zip(runs, wins) if not w]
    frac = np.mean([[max(ep, ev) < th for ep, ev in zip(r["history"]["relative_error_P"],
                                                         r["history"]["relative_error_V"])] for r in runs], axis=0)
    np.testing.assert_array_equal(s.fraction, frac)
    np.testing.assert_array_equal(s.steps, runs[0]["history"]["step"])


def test_there_are_sweep_files():
    assert len(FILES) == 6
