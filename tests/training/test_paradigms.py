"""training.paradigm_table (chapter 11) on the committed result files."""
from __future__ import annotations

from icrl_lib import training as tr
from icrl_lib.notebook import load_result


def test_rows_read_the_result_files():
    results = {n: load_result(n, show_command=False) for n in tr.PARADIGM_RESULTS}
    recovered = {"depth": "D", "heads": "H", "features": "F", "supervised": "S"}
    transfer = {k: k.upper() for k in ("sarsa", "features", "td", "darkroom", "supervised")}
    header, rows = tr.paradigm_table(results, recovered, transfer)
    assert header[4] == "recovered / seeds" and len(rows) == 11
    ch6 = results["ch6_success_sarsa_default"]
    wins = sum(bool(r["success"]) for r in ch6["runs"])
    assert rows[0][4] == f"{wins}/{len(ch6['runs'])}" and rows[0][5] == "SARSA"
    assert rows[0][3] == f"{ch6['config']['n_steps']} x {ch6['config']['batch_size']} prompts, N = 40"
    assert [r[4] for r in rows if r[4] in "DHFS"] == ["D", "H", "F", "S"]
    ch8 = results["ch8_softmax_td_emergence"]
    assert rows[7][4] == f"{ch8['masked']['n_success']}/{len(ch8['seeds'])}"
