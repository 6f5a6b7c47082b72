"""Bad-input probe of icrl_lib.training.paradigms (chapter 11); see _probe.py."""
from __future__ import annotations

from icrl_lib import training as tr
from icrl_lib.notebook import load_result

from ._probe import Case

RECOVERED = {"depth": "0/3", "heads": "4/4", "features": "4/4", "supervised": "2/3"}
TRANSFER = {k: "t" for k in ("sarsa", "features", "td", "darkroom", "supervised")}


def _results():
    return {n: load_result(n, show_command=False) for n in tr.PARADIGM_RESULTS}


CASES = [
    Case("paradigm_table", "type", lambda: tr.paradigm_table([], RECOVERED, TRANSFER), "results"),
    Case("paradigm_table", "empty", lambda: tr.paradigm_table({}, RECOVERED, TRANSFER), "results"),
    Case("paradigm_table", "empty", lambda: tr.paradigm_table(_results(), {}, TRANSFER), "recovered",
         note="recovered"),
    Case("paradigm_table", "empty", lambda: tr.paradigm_table(_results(), RECOVERED, {"sarsa": "x"}), "transfer",
         note="transfer"),
    Case("paradigm_table", "legit", lambda: tr.paradigm_table(_results(), RECOVERED, TRANSFER), None,
         check=lambda t: len(t[1]) == 11 and all(len(r) == len(t[0]) == 6 for r in t[1]), note="eleven-rows"),
]
EXEMPT = {"PARADIGM_RESULTS": "a constant: the names of the committed result files the table reads"}
