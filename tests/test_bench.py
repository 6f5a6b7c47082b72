"""Smoke test of the TD-pretraining benchmark (2 steps; nothing is timed against a threshold)."""
from __future__ import annotations

import pytest
import torch

from icrl_lib.bench import bench_td_pretraining, main


@pytest.fixture(autouse=True)
def _restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_bench_td_pretraining_returns_positive_throughput():
    r = bench_td_pretraining(steps=2, tasks_per_step=2, threads=1, n=5)
    assert r["tasks_per_step"] == 2 and r["threads"] == 1
    assert r["seconds"] > 0 and r["tasks_per_s"] > 0
    assert r["prompts_per_s"] == pytest.approx(64 * r["tasks_per_s"])


def test_bench_cli(capsys):
    assert main(["td-pretraining", "--steps", "2", "--threads", "1", "--tasks-per-step", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("TD pretraining") and "tasks/s" in lines[1]
    assert len(lines) == 3 and lines[2].split()[:2] == ["1", "1"]
    with pytest.raises(SystemExit):
        main(["td-pretraining", "--steps", "0"])
