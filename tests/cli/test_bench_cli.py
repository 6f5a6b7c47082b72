"""Smoke tests of the benchmarks (icrl_lib.bench; chapters 3, 6): tiny runs, nothing timed against a threshold.
The peer's TD step is checked against an explicit computation of its loss."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from icrl_lib.bench import (PeerAttention, bench_td_pretraining, bench_td_pretraining_peer, bench_teacher_mimicking,
                            compare_td_pretraining, main, peer_td_step)
from icrl_lib.incontext import td_prompt


@pytest.fixture(autouse=True)
def _restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_bench_td_pretraining_returns_positive_throughput():
    r = bench_td_pretraining(steps=2, tasks_per_step=2, threads=1, n=5)
    assert r["tasks_per_step"] == 2 and r["threads"] == 1
    assert r["seconds"] > 0 and r["tasks_per_s"] > 0
    assert r["windows_per_s"] == pytest.approx(64 * r["tasks_per_s"]) == r["prompts_per_s"]
    p = bench_td_pretraining_peer(steps=1, threads=1, n=5)
    assert p["windows_per_s"] == pytest.approx(64 * p["tasks_per_s"]) and p["seconds"] > 0
    c = compare_td_pretraining(steps=2, peer_steps=1, threads=1, n=5, repeats=1)
    assert c["ratio"] == pytest.approx(c["library_windows_per_s"] / c["peer_windows_per_s"])
    with pytest.raises(ValueError):
        bench_td_pretraining(steps=0)


def test_peer_layer_and_step_compute_the_td_loss():
    d, n, g = 2, 4, 0.8
    gen = torch.Generator().manual_seed(0)
    attn = PeerAttention(d, n, gen, gain=1.0).double()
    rng = np.random.default_rng(0)
    Z = torch.as_tensor(td_prompt(rng.normal(size=(n, d)), rng.normal(size=(n, d)), rng.normal(size=n),
                                  rng.normal(size=d), g))
    # the layer token by token: out_j = z_j + (1/n) sum_{i < n} (V z_i)(z_i^T P z_j)
    P, V = attn.P.detach(), attn.V.detach()
    ref = Z.clone()
    for j in range(n + 1):
        for i in range(n):
            ref[:, j] += (V @ Z[:, i]) * (Z[:, i] @ P @ Z[:, j]) / n
    assert torch.allclose(attn(Z), ref, atol=1e-12)
    # one step changes the parameters and returns a finite loss; same seed, same loss
    attn32 = PeerAttention(d, n, torch.Generator().manual_seed(1))
    opt = torch.optim.Adam(attn32.parameters(), lr=1e-3)
    before = attn32.P.detach().clone()
    loss = peer_td_step(attn32, 2, opt, np.random.default_rng(3), d=d, n_states=5, n=n, windows=6, gamma=g)
    assert np.isfinite(loss) and not torch.equal(before, attn32.P.detach())
    attn32b = PeerAttention(d, n, torch.Generator().manual_seed(1))
    opt_b = torch.optim.Adam(attn32b.parameters(), lr=1e-3)
    assert peer_td_step(attn32b, 2, opt_b, np.random.default_rng(3), d=d, n_states=5, n=n, windows=6,
                        gamma=g) == loss


def test_bench_td_pretraining_cli(capsys):
    assert main(["td-pretraining", "--steps", "2", "--peer-steps", "1", "--repeats", "1", "--n", "5",
                 "--threads", "1", "--tasks-per-step", "1", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("TD pretraining") and "windows/s" in lines[1]
    assert [line.split()[:3] for line in lines[2:5]] == [["library", "2", "1"], ["library", "1", "1"],
                                                          ["peer", "1", "1"]]
    assert lines[5].startswith("library / peer at 1 task per step, 1 thread") and lines[5].endswith("x")
    assert len(lines) == 6
    for bad in (["--steps", "0"], ["--peer-steps", "0"], ["--threads", "0"], ["--repeats", "0"]):
        with pytest.raises(SystemExit):
            main(["td-pretraining", *bad])


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
