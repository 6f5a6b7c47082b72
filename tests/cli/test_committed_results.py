"""Every committed result records the command that made it, that command still parses, and the cheapest
results re-run to the same numbers (``python -m icrl_lib.experiments reproduce FILE``)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from icrl_lib.experiments import REGISTRY, build_parser, reproduce

RESULTS = Path(__file__).resolve().parents[2] / "book" / "_static" / "results"
FILES = sorted(RESULTS.glob("*.json"))
#: Re-run by make test: the cheapest committed results (about 30 s each on one core).
CHEAP = ["ch8_softmax_td_emergence.json"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_result_has_a_provenance_record_whose_command_parses(path):
    record = json.loads(path.read_text()).get("provenance")
    assert record, f"{path.name}: no provenance record"
    assert {"command", "icrl_lib", "git_commit", "python", "torch", "numpy", "date", "seconds"} <= set(record)
    command = record["command"]
    assert command[:3] == ["python", "-m", "icrl_lib.experiments"] and command[3] in REGISTRY
    args = build_parser(REGISTRY).parse_args(command[3:])
    assert args.json == f"book/_static/results/{path.name}", "the command writes the file it made"


@pytest.mark.parametrize("name", CHEAP)
def test_cheap_result_reproduces(name, capsys):
    assert reproduce(RESULTS / name) == 0, capsys.readouterr().out
    assert "agrees" in capsys.readouterr().out
