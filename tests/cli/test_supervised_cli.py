"""Smoke tests of chapter 9's CLI commands (dpt-bandit, ad-bandit, dpt-darkroom) with tiny settings: the JSON
keys outside checks rely on, and bad input. Whether training succeeds is the chapter's and the CLI runs' job."""
from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch

from icrl_lib.experiments import main

TINY = ["--steps", "2", "--n-train", "40", "--n-eval", "6", "--horizon", "6", "--quiet"]


@pytest.fixture(autouse=True)
def _restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _check_regret(out, names, horizon=6, n_tasks=6):
    assert out["horizon"] == horizon and out["n_tasks"] == n_tasks
    assert set(out["regret"]) >= set(names)
    for name in names:
        r = out["regret"][name]
        assert set(r) == {"mean", "se"}
        assert math.isfinite(r["mean"]) and r["mean"] >= 0 and r["se"] >= 0


def test_dpt_bandit_writes_the_regret_table(tmp_path, capsys):
    f = tmp_path / "dpt.json"
    assert main(["dpt-bandit", "--seed", "1", *TINY, "--json", str(f)]) == 0
    out = json.loads(f.read_text())
    _check_regret(out, ["dpt", "ts", "ucb", "emp"])
    assert out["config"]["seed"] == 1 and out["config"]["labels"] == "dpt" and out["config"]["bandit"] == "gaussian"
    assert len(out["curves"]["dpt"]["regret"]) == 6
    assert set(out["offline"]) == {"5"} and set(out["offline"]["5"]) >= {"dpt", "emp", "lcb"}
    assert "dpt: regret at T = 6" in capsys.readouterr().out


def test_ad_bandit_writes_the_regret_table(tmp_path):
    f = tmp_path / "ad.json"
    assert main(["ad-bandit", "--seed", "0", *TINY, "--attention", "relu", "--json", str(f)]) == 0
    out = json.loads(f.read_text())
    _check_regret(out, ["ad", "ucb", "ts", "emp"])
    assert out["config"]["labels"] == "ad" and out["config"]["context"] == "ucb"
    assert out["config"]["bandit"] == "bernoulli" and out["config"]["attention"] == "relu"
    assert "offline" not in out


def test_dpt_bandit_alpha_option(tmp_path):
    f = tmp_path / "a.json"
    assert main(["dpt-bandit", *TINY, "--bandit", "bernoulli", "--alpha", "0.1", "--json", str(f)]) == 0
    out = json.loads(f.read_text())
    assert out["config"]["alpha"] == 0.1 and "context" in out["regret"]


def test_dpt_darkroom_runs(tmp_path, monkeypatch):
    from icrl_lib import training
    from icrl_lib.training import darkroom_pretraining

    @dataclasses.dataclass
    class Tiny(darkroom_pretraining.DarkRoomConfig):  # a config class, so the experiment's type check still holds
        n_contexts: int = 4
        context_len: int = 6
        n_episodes: int = 2
        n_repeats: int = 1

    monkeypatch.setattr(darkroom_pretraining, "DarkRoomConfig", Tiny)
    monkeypatch.setattr(training, "DarkRoomConfig", Tiny)     # the registry builds it from icrl_lib.training
    f = tmp_path / "dark.json"
    assert main(["dpt-darkroom", "--steps", "2", "--quiet", "--json", str(f)]) == 0
    out = json.loads(f.read_text())
    assert len(out["returns"]["test"]["mean"]) == 2 and len(out["test_goals"]) == 5


def test_bad_input_is_rejected(tmp_path):
    with pytest.raises(SystemExit):
        main(["dpt-bandit", "--bandit", "linear"])
    # bad values are refused in one line (exit 2) before any work
    with pytest.raises(SystemExit) as info:
        main(["dpt-bandit", *TINY, "--alpha", "1.5"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["ad-bandit", "--steps", "2", "--horizon", "0", "--quiet"])
    assert info.value.code == 2


def test_supervised_benchmark_prints_the_ratio(capsys):
    from icrl_lib.bench import bench_supervised
    from icrl_lib.bench import main as bench_main
    assert bench_main(["supervised", "--steps", "1", "--batch-size", "2", "--horizon", "3", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "batched tokens/s" in out and "ratio" in out
    r = bench_supervised(steps=1, batch_size=2, horizon=3, n_tasks=8)
    assert r["ratio"] > 0 and r["batched_tokens_per_s"] > 0 and r["loop_tokens_per_s"] > 0
    with pytest.raises(SystemExit):
        bench_main(["supervised", "--horizon", "0"])
