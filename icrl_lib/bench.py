"""Benchmarks (not timed tests): ``python -m icrl_lib.bench td-pretraining [--steps K] [--threads T]``.

Prints throughput for [W25]'s default configuration (d = 4, |S| = 10, n = 50, L = 3 shared layers,
64 sliding windows per task, Adam lr 1e-3) with one task per step (as [W25] train) and with several tasks
batched per step (as ``icrl_lib`` trains), for 1 and 2 torch threads.
"""
from __future__ import annotations

import argparse
import sys
import time

import torch

__all__ = ["bench_td_pretraining", "main"]


def bench_td_pretraining(steps: int = 200, tasks_per_step: int = 1, threads: int = 1, n: int = 50) -> dict:
    """Time ``steps`` TD-pretraining steps; returns tasks/s and prompts/s (one task = one trajectory, 64 windows)."""
    from .td_pretraining import TDPretrainingConfig, td_pretrain

    torch.set_num_threads(threads)
    cfg = TDPretrainingConfig(d=4, n_states=10, n=n, n_layers=3, shared=True, n_steps=steps,
                              tasks_per_step=tasks_per_step, windows_per_task=64, lr=1e-3,
                              log_every=steps, n_eval_tasks=1)
    td_pretrain(TDPretrainingConfig(**{**cfg.__dict__, "n_steps": 5, "log_every": 5}))  # warm-up
    start = time.perf_counter()
    td_pretrain(cfg)
    seconds = time.perf_counter() - start
    tasks = steps * tasks_per_step
    return {"tasks_per_step": tasks_per_step, "threads": threads, "seconds": seconds,
            "tasks_per_s": tasks / seconds, "prompts_per_s": tasks * 64 / seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m icrl_lib.bench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="name", required=True)
    td = sub.add_parser("td-pretraining", help="throughput of multi-task TD pretraining ([W25] defaults)")
    td.add_argument("--steps", type=int, default=200)
    td.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    td.add_argument("--tasks-per-step", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be >= 1")
    print(f"TD pretraining, [W25] defaults (d=4, |S|=10, n=50, L=3 shared, 64 windows/task), {args.steps} steps")
    print(f"{'tasks/step':>10} {'threads':>7} {'tasks/s':>10} {'prompts/s':>11}")
    for threads in args.threads:
        for tps in args.tasks_per_step:
            r = bench_td_pretraining(args.steps, tps, threads)
            print(f"{tps:>10} {threads:>7} {r['tasks_per_s']:>10.1f} {r['prompts_per_s']:>11.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
