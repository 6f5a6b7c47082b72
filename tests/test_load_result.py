"""notebook.load_result: the committed result as a dict, and the command that made it, within the code width."""
from __future__ import annotations

import json

import pytest

from icrl_lib import notebook


def test_load_result_prints_the_recorded_command_wrapped(capsys):
    data = notebook.load_result("ch9_alpha_0.1_trajectory_seed0")
    out = capsys.readouterr().out
    assert data["config"]["alpha"] == 0.1 and out.startswith("ch9_alpha_0.1_trajectory_seed0.json, made by:")
    assert all(len(line) <= 88 for line in out.splitlines())
    # the printed lines, joined as a shell joins continuation lines, are the recorded command (less --quiet)
    joined = " ".join(line.strip().rstrip("\\").strip() for line in out.splitlines()[1:])
    assert joined.split() == [w for w in data["provenance"]["command"] if w != "--quiet"]


def test_load_result_without_a_record_and_bad_names(tmp_path, monkeypatch, capsys):
    (tmp_path / "_static" / "results").mkdir(parents=True)
    (tmp_path / "_static" / "results" / "old.json").write_text(json.dumps({"a": 1}))
    monkeypatch.chdir(tmp_path)
    assert notebook.load_result("old") == {"a": 1}
    assert capsys.readouterr().out == "old.json: no provenance record\n"
    for bad in ("", "../x", ".hidden", 3):
        with pytest.raises(ValueError, match="name"):
            notebook.load_result(bad)
    with pytest.raises(ValueError, match="no committed result"):
        notebook.load_result("missing")
