"""The command line refuses bad values before any work, writes atomically and records provenance."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from icrl_lib.experiments import main
from icrl_lib.provenance import check_output_path, compare_results, write_json_atomic

CLI = [sys.executable, "-m", "icrl_lib.experiments"]


@pytest.mark.parametrize("argv, named", [
    (["control", "--rounds", "0"], "--rounds"),
    (["success-rate", "--seeds", "0", "-1"], "--seeds"),
    (["teacher-mimicking", "--lr", "0"], "--lr"),
    (["teacher-mimicking", "--steps", "-5"], "--steps"),
    (["dpt-bandit", "--alpha", "1.5"], "--alpha"),
    (["control", "--n-mdps", "1"], "--n-mdps"),
    (["teacher-mimicking", "--threads", "0"], "--threads"),
])
def test_bad_value_is_one_line_and_exit_2(argv, named):
    run = subprocess.run(CLI + argv, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], run.stderr


def test_json_target_is_checked_before_training(tmp_path, capsys):
    # a missing folder and a folder as target: refused at once (no training step runs: the test is fast)
    assert main(["teacher-mimicking", "--json", str(tmp_path / "missing" / "x.json"), "--quiet"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["teacher-mimicking", "--json", str(tmp_path), "--quiet"]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_check_output_path_accepts_an_existing_file(tmp_path):
    f = tmp_path / "r.json"
    f.write_text("{}")
    assert check_output_path(f) == f


def test_atomic_write_keeps_the_earlier_file_on_failure(tmp_path):
    f = tmp_path / "r.json"
    write_json_atomic(f, {"a": 1})
    with pytest.raises(ValueError):  # JSON cannot hold inf: refused, the earlier file is intact
        write_json_atomic(f, {"a": float("inf")})
    assert json.loads(f.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left behind


def test_result_records_provenance_and_reproduces(tmp_path, capsys):
    f = tmp_path / "tm.json"
    assert main(["teacher-mimicking", "--steps", "5", "--json", str(f), "--quiet"]) == 0
    rec = json.loads(f.read_text())["provenance"]
    assert rec["command"][3:] == ["teacher-mimicking", "--steps", "5", "--json", str(f), "--quiet"]
    assert {"icrl_lib", "git_commit", "python", "torch", "numpy", "date", "seconds"} <= set(rec)
    assert main(["reproduce", str(f)]) == 0
    assert "agrees" in capsys.readouterr().out
    changed = json.loads(f.read_text())
    changed["final_loss"] *= 1.01
    g = tmp_path / "changed.json"
    g.write_text(json.dumps(changed))
    assert main(["reproduce", str(g)]) == 1
    assert "final_loss" in capsys.readouterr().out


def test_reproduce_refuses_a_file_without_provenance(tmp_path, capsys):
    f = tmp_path / "old.json"
    f.write_text('{"a": 1}')
    assert main(["reproduce", str(f)]) == 2
    assert "no provenance record" in capsys.readouterr().err


def test_compare_results_tolerance_and_structure():
    assert compare_results({"x": 1.0, "seconds": 3}, {"x": 1.0 + 1e-12, "seconds": 9}, rtol=1e-9) == []
    assert compare_results({"x": [1, 2]}, {"x": [1]}) == ["x: length 1 instead of 2"]
    assert compare_results({"x": 1.0}, {"x": 1.1})[0].startswith("x: 1.1")
    assert compare_results({"x": "a"}, {"y": "a"}) == ["x: missing in the new result", "y: not in the committed result"]
