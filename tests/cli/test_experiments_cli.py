"""Smoke tests of the experiments CLI (icrl_lib.experiments, chapters 6-7) with tiny runs: JSON keys, printed lines, errors.

Nothing here checks that training succeeds (that takes minutes; chapters 6 and 7 and the CLI runs do);
only that every subcommand runs end to end, writes what its documentation promises and rejects bad input.
"""
from __future__ import annotations

import json
import math

import pytest
import torch

from icrl_lib.experiments import DEFAULTS, default_config, main
from icrl_lib.training import TeacherMimickingConfig

ALGS = ["sarsa", "actor-critic"]


@pytest.fixture(autouse=True)
def _restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_default_config_per_algorithm_and_overrides():
    for alg in ALGS:
        cfg = default_config(alg, seed=3)
        assert isinstance(cfg, TeacherMimickingConfig)
        assert cfg.dist.algorithm == alg and cfg.seed == 3 and cfg.n_steps == DEFAULTS[alg]["n_steps"]
        assert cfg.dist.alpha == DEFAULTS[alg]["alpha"] and cfg.dist.beta == DEFAULTS[alg]["beta"]
        assert cfg.lr == DEFAULTS[alg]["lr"]
    assert default_config("sarsa", n_steps=7).n_steps == 7
    with pytest.raises(ValueError, match="algorithm"):
        default_config("q-learning")


def test_every_registered_algorithm_has_defaults_and_is_a_cli_choice(monkeypatch):
    # a new registry entry needs no change here: it gets GENERIC_DEFAULTS and appears in --algorithm
    from icrl_lib import incontext
    from icrl_lib.experiments import GENERIC_DEFAULTS, algorithm_defaults
    for alg in incontext.ALGORITHMS:
        assert set(algorithm_defaults(alg)) == set(GENERIC_DEFAULTS)
    monkeypatch.setitem(incontext.ALGORITHMS, "sarsa-copy", incontext.ALGORITHMS["sarsa"])
    assert algorithm_defaults("sarsa-copy") == GENERIC_DEFAULTS
    assert default_config("sarsa-copy").dist.spec is incontext.ALGORITHMS["sarsa"]


@pytest.mark.parametrize("alg", ALGS)
def test_teacher_mimicking_cli_writes_the_metrics(alg, tmp_path, capsys):
    f = tmp_path / "tm.json"
    assert main(["teacher-mimicking", "--algorithm", alg, "--seed", "1", "--steps", "2", "--quiet",
                 "--json", str(f)]) == 0
    out = json.loads(f.read_text())
    for key in ("relative_error_P", "relative_error_V", "inert_norm", "final_loss"):
        assert isinstance(out[key], float) and math.isfinite(out[key]) and out[key] >= 0
    assert out["config"]["seed"] == 1 and out["config"]["n_steps"] == 2
    assert out["config"]["dist"]["algorithm"] == alg
    assert out["history"]["step"] == [0, 2]
    assert isinstance(out["success"], bool)
    printed = capsys.readouterr().out
    assert printed.startswith(f"{alg} seed 1: relative_error_P = ")


@pytest.mark.parametrize("alg", ALGS)
def test_control_cli_writes_the_final_normalized_returns(alg, tmp_path, capsys):
    f = tmp_path / "control.json"
    assert main(["control", "--algorithm", alg, "--n-mdps", "3", "--rounds", "2", "--steps", "2",
                 "--seed", "0", "--quiet", "--json", str(f)]) == 0
    out = json.loads(f.read_text())
    agents = {"transformer", "teacher", "oracle", "random"}
    assert set(out["normalized_return"]) == agents and set(out["normalized_return_ci95"]) == agents
    assert out["normalized_return"]["oracle"] == 1.0 and out["normalized_return"]["random"] == 0.0
    assert all(math.isfinite(v) for v in out["normalized_return"].values())
    for name in agents:
        assert len(out["curves"][name]["mean"]) == 3 and len(out["curves"][name]["ci95"]) == 3
        assert out["curves"][name]["mean"][-1] == out["normalized_return"][name]
    # both learners start from zero parameters, i.e. from the uniform policy
    assert abs(out["curves"]["teacher"]["mean"][0]) < 1e-12 and abs(out["curves"]["transformer"]["mean"][0]) < 1e-12
    assert "relative_error_P" in out["training"] and "history" not in out["training"]
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["transformer", "teacher", "oracle", "random"]


def test_success_rate_cli(tmp_path, capsys):
    f = tmp_path / "sr.json"
    assert main(["success-rate", "--seeds", "0", "1", "--steps", "1", "--quiet", "--json", str(f)]) == 0
    out = json.loads(f.read_text())
    assert [r["seed"] for r in out["runs"]] == [0, 1]
    assert out["success_rate"] == sum(r["success"] for r in out["runs"]) / 2
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("success rate:")


def test_progress_bar_goes_to_stderr(capsys):
    assert main(["teacher-mimicking", "--steps", "2"]) == 0
    captured = capsys.readouterr()
    assert "teacher mimicking (sarsa)" in captured.err
    assert "teacher mimicking" not in captured.out


@pytest.mark.parametrize("argv", [
    ["teacher-mimicking", "--steps", "0"],
    ["teacher-mimicking", "--threads", "0"],
    ["teacher-mimicking", "--algorithm", "q-learning"],
    ["control", "--n-mdps", "1", "--steps", "1"],
    ["nonexistent"],
    [],
])
def test_cli_rejects_bad_arguments(argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code != 0
