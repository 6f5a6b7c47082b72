"""Smoke test of the teacher-mimicking benchmark (tiny batches; nothing is timed against a threshold)."""
from __future__ import annotations

import pytest
import torch

from icrl_lib.bench import bench_teacher_mimicking, main


@pytest.fixture(autouse=True)
def _restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("alg", ["sarsa", "actor-critic"])
def test_bench_teacher_mimicking_reports_both_throughputs_and_their_ratio(alg):
    r = bench_teacher_mimicking(alg, steps=2, batch_size=4, threads=1, loop_steps=1, n_transitions=5)
    assert r["algorithm"] == alg and r["threads"] == 1 and r["batch_size"] == 4 and r["n_transitions"] == 5
    assert r["batched_prompts_per_s"] == pytest.approx(8 / r["batched_seconds"])
    assert r["loop_prompts_per_s"] == pytest.approx(4 / r["loop_seconds"])
    assert r["ratio"] == pytest.approx(r["batched_prompts_per_s"] / r["loop_prompts_per_s"])
    with pytest.raises(ValueError):
        bench_teacher_mimicking(alg, steps=0)
    with pytest.raises(ValueError):
        bench_teacher_mimicking("q-learning", steps=1, batch_size=2)


def test_bench_teacher_mimicking_cli(capsys):
    assert main(["teacher-mimicking", "--algorithm", "sarsa", "--steps", "1", "--loop-steps", "1",
                 "--batch-size", "2", "--threads", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("Teacher mimicking") and "ratio" in lines[1]
    assert len(lines) == 3 and lines[2].split()[:2] == ["sarsa", "1"]
    for bad in (["--steps", "0"], ["--batch-size", "0"], ["--threads", "0"], ["--algorithm", "q"]):
        with pytest.raises(SystemExit):
            main(["teacher-mimicking", *bad])
