"""Benchmarks (not timed tests): ``python -m icrl_lib.bench {td-pretraining,teacher-mimicking} [options]``.

``td-pretraining`` prints throughput for [W25]'s default configuration (d = 4, |S| = 10, n = 50, L = 3
shared layers, 64 sliding windows per task, Adam lr 1e-3) with one task per step (as [W25] train) and with
several tasks batched per step (as ``icrl_lib`` trains), for 1 and 2 torch threads.

``teacher-mimicking`` prints prompts per second of one teacher-mimicking training step (chapters 6-7:
sample MDPs, parameters and on-policy contexts, build prompts and teacher targets, forward, backward, Adam)
done batched as :func:`icrl_lib.teacher_mimicking.train_teacher_mimicking` does it, and the same work done
prompt by prompt in a plain Python loop (one MDP, one ``mdp.sample_transitions`` trajectory, one prompt and
one forward/backward per prompt, gradients accumulated, one Adam step per batch), and their ratio.
"""
from __future__ import annotations

import argparse
import sys
import time

import torch

__all__ = ["bench_td_pretraining", "bench_teacher_mimicking", "main"]


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


def _batched_step(dist, batch_size: int, gen: torch.Generator, P, V, opt, rows) -> None:
    # The body of train_teacher_mimicking's loop (without its periodic evaluation).
    from .teacher_mimicking import mimicking_loss, sample_prompt_batch

    batch = sample_prompt_batch(dist, batch_size, gen)
    batch = batch._replace(H=batch.H.to(P.dtype), target=batch.target.to(P.dtype))
    loss = mimicking_loss(P, V, batch, rows)
    opt.zero_grad()
    loss.backward()
    opt.step()


def _loop_step(dist, batch_size: int, rng, P, V, opt, rows) -> None:
    # The same work prompt by prompt: single-MDP generator and sampler (numpy), unbatched prompt builders.
    from . import algorithms, features, policies, prompts
    from .attention import lsa_unchecked
    from .mdp import random_mdp, sample_transitions

    S, A, N, g = dist.n_states, dist.n_actions, dist.n_transitions, dist.gamma
    table = features.state_action_table(S, A)
    opt.zero_grad()
    for _ in range(batch_size):
        mdp = random_mdp(S, A, g, seed=int(rng.integers(2**31)))
        if dist.algorithm == "sarsa":
            w = torch.from_numpy(dist.w_scale * rng.standard_normal(S * A))
            pi = torch.softmax(w.reshape(S, A) / dist.temperature, dim=-1)
        else:
            w = torch.from_numpy(dist.w_scale * rng.standard_normal(S))
            theta = torch.from_numpy(dist.theta_scale * rng.standard_normal(S * A))
            pi = policies.softmax_actor_policy(theta, table)
        tr = sample_transitions(mdp, pi, N, seed=int(rng.integers(2**31)))
        r = tr.r + dist.reward_noise * torch.from_numpy(rng.standard_normal(N))
        if dist.algorithm == "sarsa":
            phi = features.one_hot_state_action(tr.s, tr.a, S, A)
            phi_next = features.one_hot_state_action(tr.s_next, tr.a_next, S, A)
            H = prompts.sarsa_prompt(phi, phi_next, r, w)
            target = algorithms.batch_sarsa_update(w, phi, phi_next, r, dist.alpha, g)
        else:
            x, x_next = features.one_hot_state(tr.s, S), features.one_hot_state(tr.s_next, S)
            psi = policies.softmax_actor_scores(theta, tr.s, tr.a, table)
            H = prompts.actor_critic_prompt(x, x_next, r, psi, w, theta)
            target = torch.cat(algorithms.batch_actor_critic_update(w, theta, x, x_next, r, psi, dist.alpha,
                                                                    dist.beta, g))
        out = lsa_unchecked(H.to(P.dtype), P, V)[rows, -1]
        loss = ((out - target.to(P.dtype)) ** 2).sum() / batch_size
        loss.backward()
    opt.step()


def bench_teacher_mimicking(algorithm: str = "sarsa", steps: int = 20, batch_size: int = 256, threads: int = 1,
                            loop_steps: int = 1, n_transitions: int = 40) -> dict:
    """Prompts/s of teacher-mimicking training steps, batched and in a per-prompt Python loop.

    Both use chapter 6's default prompt distribution for ``algorithm`` (|S| = 5, |A| = 3, ``N`` transitions),
    float32 ``(P, V)`` and Adam (lr 1e-3). Returns ``batched_prompts_per_s``, ``loop_prompts_per_s`` and
    their ``ratio`` (plus the settings and seconds).
    """
    import numpy as np

    from ._validation import check_int
    from .teacher_mimicking import PromptDistribution, init_parameters, output_rows, prompt_layout

    steps, batch_size = check_int(steps, "steps"), check_int(batch_size, "batch_size")
    loop_steps, threads = check_int(loop_steps, "loop_steps"), check_int(threads, "threads")
    dist = PromptDistribution(algorithm=algorithm, n_transitions=check_int(n_transitions, "n_transitions"))
    torch.set_num_threads(threads)
    rows = output_rows(dist)
    timings = {}
    for name, step_fn, n_steps in (("batched", _batched_step, steps), ("loop", _loop_step, loop_steps)):
        gen = torch.Generator().manual_seed(0)
        rng = np.random.default_rng(0)
        P, V = init_parameters(prompt_layout(dist).dim, 0.1, gen)
        P.requires_grad_(True)
        V.requires_grad_(True)
        opt = torch.optim.Adam([P, V], lr=1e-3)
        source = gen if name == "batched" else rng
        step_fn(dist, min(batch_size, 8), source, P, V, opt, rows)       # warm-up
        start = time.perf_counter()
        for _ in range(n_steps):
            step_fn(dist, batch_size, source, P, V, opt, rows)
        timings[name] = (time.perf_counter() - start, n_steps * batch_size)
    batched = timings["batched"][1] / timings["batched"][0]
    loop = timings["loop"][1] / timings["loop"][0]
    return {"algorithm": algorithm, "threads": threads, "batch_size": batch_size, "n_transitions": dist.n_transitions,
            "batched_seconds": timings["batched"][0], "loop_seconds": timings["loop"][0],
            "batched_prompts_per_s": batched, "loop_prompts_per_s": loop, "ratio": batched / loop}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: ``python -m icrl_lib.bench NAME [options]`` (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m icrl_lib.bench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="name", required=True)
    td = sub.add_parser("td-pretraining", help="throughput of multi-task TD pretraining ([W25] defaults)")
    td.add_argument("--steps", type=int, default=200)
    td.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    td.add_argument("--tasks-per-step", type=int, nargs="+", default=[1, 8, 32])
    tm = sub.add_parser("teacher-mimicking", help="prompts/s of teacher-mimicking training, batched vs a loop")
    tm.add_argument("--algorithm", choices=["sarsa", "actor-critic"], nargs="+", default=["sarsa", "actor-critic"])
    tm.add_argument("--steps", type=int, default=20, help="batched training steps timed")
    tm.add_argument("--loop-steps", type=int, default=1, help="per-prompt loop steps timed (each batch-size prompts)")
    tm.add_argument("--batch-size", type=int, default=256)
    tm.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be >= 1")
    if min(args.threads) < 1:
        parser.error("--threads must be >= 1")
    if args.name == "teacher-mimicking":
        if args.loop_steps < 1 or args.batch_size < 1:
            parser.error("--loop-steps and --batch-size must be >= 1")
        print(f"Teacher mimicking training step (sampling + prompts + forward + backward + Adam), "
              f"batch {args.batch_size}, N = 40, |S| = 5, |A| = 3")
        print(f"{'algorithm':>12} {'threads':>7} {'batched prompts/s':>17} {'loop prompts/s':>14} {'ratio':>7}")
        for alg in args.algorithm:
            for threads in args.threads:
                r = bench_teacher_mimicking(alg, args.steps, args.batch_size, threads, args.loop_steps)
                print(f"{alg:>12} {threads:>7} {r['batched_prompts_per_s']:>17.0f} {r['loop_prompts_per_s']:>14.0f} "
                      f"{r['ratio']:>7.1f}", flush=True)
        return 0
    print(f"TD pretraining, [W25] defaults (d=4, |S|=10, n=50, L=3 shared, 64 windows/task), {args.steps} steps")
    print(f"{'tasks/step':>10} {'threads':>7} {'tasks/s':>10} {'prompts/s':>11}")
    for threads in args.threads:
        for tps in args.tasks_per_step:
            r = bench_td_pretraining(args.steps, tps, threads)
            print(f"{tps:>10} {threads:>7} {r['tasks_per_s']:>10.1f} {r['prompts_per_s']:>11.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
