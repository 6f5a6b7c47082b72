"""Benchmarks (not timed tests): ``python -m icrl_lib.bench {td-pretraining,teacher-mimicking} [options]``.

``td-pretraining`` prints throughput (windows per second; one window = one sliding-window prompt and its TD
error) of multi-task TD pretraining in [W25]'s setting (d = 4, |S| = 10, n = 30, L = 3 shared layers, 64
windows per task, Adam lr 1e-3): :func:`icrl_lib.training.td_pretrain` with one task per step (as [W25]
train) and with several tasks per step, and a *peer* row: the same work done the way [W25]'s training script
does it (our re-implementation from its description, :func:`peer_td_step`: per Adam step one Boyan chain drawn
with numpy, its trajectory stepped state by state, a Python loop over the 64 windows that builds each prompt
and applies a linear-attention module per layer to it, the TD loss). The library and the peer are timed
alternately in one process (best of ``--repeats`` rounds each, so load from other processes hits both), and
the ratio library / peer at one task per step is printed.

``teacher-mimicking`` prints prompts per second of one teacher-mimicking training step (chapters 6-7:
sample MDPs, parameters and on-policy contexts, build prompts and teacher targets, forward, backward, Adam)
done batched as :func:`icrl_lib.training.train_teacher_mimicking` does it, and the same work done prompt by
prompt in a plain Python loop (one MDP, one trajectory, one prompt and one forward/backward per prompt,
gradients accumulated, one Adam step per batch), and their ratio. Both go through the registry entry of the
algorithm (:data:`icrl_lib.incontext.ALGORITHMS`).

``supervised`` prints training tokens per second of chapter 9's supervised pretraining (DPT on Gaussian
bandits, A = 5, the chapter's 3-layer D = 32 causal transformer): minibatches of trajectories in one forward
and backward pass as :func:`icrl_lib.training.pretrain_supervised` trains, against the same training written as
one task per step (one trajectory per forward/backward, gradients accumulated over the batch, one Adam step),
and their ratio.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import deque

import numpy as np
import torch

from ._validation import check_int
from .attention import lsa_unchecked
from .incontext import ALGORITHMS, PromptDistribution, sample_prompt_batch
from .rl import random_mdp, sample_transitions
from .training import TDPretrainingConfig, init_parameters, mimicking_loss, td_pretrain
from .training.fit import OptimiserConfig, fit

__all__ = ["bench_supervised", "bench_td_pretraining", "PeerAttention", "peer_td_step", "bench_td_pretraining_peer",
           "compare_td_pretraining", "bench_teacher_mimicking", "main"]

WINDOWS = 64


# --------------------------------------------------------------------------------------------- TD pretraining

def _library_config(steps: int, tasks_per_step: int, n: int) -> TDPretrainingConfig:
    return TDPretrainingConfig(d=4, n_states=10, n=n, n_layers=3, shared=True, n_steps=steps,
                               tasks_per_step=tasks_per_step, windows_per_task=WINDOWS, lr=1e-3,
                               log_every=steps, n_eval_tasks=1)


def _time_library(steps: int, tasks_per_step: int, n: int) -> float:
    start = time.perf_counter()
    td_pretrain(_library_config(steps, tasks_per_step, n))
    return time.perf_counter() - start


def bench_td_pretraining(steps: int = 200, tasks_per_step: int = 1, threads: int = 1, n: int = 30) -> dict:
    """Time ``steps`` steps of :func:`~icrl_lib.training.td_pretrain` (chapter 3); returns tasks/s and windows/s.

    One task = one trajectory with 64 windows (64 TD errors). ``prompts_per_s`` is kept as an alias of
    ``windows_per_s``.
    """
    steps, tasks_per_step = check_int(steps, "steps"), check_int(tasks_per_step, "tasks_per_step")
    torch.set_num_threads(check_int(threads, "threads"))
    _time_library(min(steps, 5), tasks_per_step, n)            # warm-up
    seconds = _time_library(steps, tasks_per_step, n)
    tasks = steps * tasks_per_step
    return {"tasks_per_step": tasks_per_step, "threads": threads, "seconds": seconds,
            "tasks_per_s": tasks / seconds, "windows_per_s": tasks * WINDOWS / seconds,
            "prompts_per_s": tasks * WINDOWS / seconds}


class PeerAttention(torch.nn.Module):
    """One [W25]-style masked linear-attention layer on one prompt ``Z`` (D, n+1) (chapter 3):
    ``Z + (1/n) V Z M (Z^T P Z)`` with the explicit (n+1) x (n+1) score matrix and ``M = diag(1, .., 1, 0)``."""

    def __init__(self, d: int, n: int, generator: torch.Generator, gain: float = 0.1):
        super().__init__()
        D = 2 * d + 1
        self.P = torch.nn.Parameter(torch.randn(D, D, generator=generator) * gain / D ** 0.5)
        self.V = torch.nn.Parameter(torch.randn(D, D, generator=generator) * gain / D ** 0.5)
        M = torch.eye(n + 1)
        M[-1, -1] = 0.0
        self.register_buffer("M", M)
        self.n = n

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        return Z + self.V @ Z @ self.M @ (Z.T @ self.P @ Z) / self.n


def peer_td_step(attn: PeerAttention, n_layers: int, opt, rng: np.random.Generator, d: int = 4,
                 n_states: int = 10, n: int = 30, windows: int = WINDOWS, gamma: float = 0.9) -> float:
    """One Adam step of TD pretraining done the way [W25]'s training script does it (our re-implementation).

    A Boyan chain (numpy: the law of :func:`icrl_lib.rl.boyan_chain`) with features ``U[-1, 1]^d``; the chain
    is stepped one state at a time (``rng.choice``) into a window of the last ``n + 2`` states; for each of
    ``windows + 1`` windows a Python loop builds the prompt ``(x; gamma x'; r)`` plus the query column and
    applies ``attn`` ``n_layers`` times; the loss is the mean squared semi-gradient TD error of consecutive
    windows. Returns the loss. Chapter 3 (the benchmark's peer row).
    """
    S = n_states
    P = np.zeros((S, S))
    p = rng.uniform(0.01, 0.99, S - 2)
    i = np.arange(S - 2)
    P[i, i + 1], P[i, i + 2], P[S - 2, S - 1] = p, 1 - p, 1.0
    last = rng.uniform(0.01, 0.99, S)
    P[S - 1] = last / last.sum()
    r = rng.uniform(-1.0, 1.0, S)
    mu = rng.uniform(0.01, 0.99, S)
    mu /= mu.sum()
    phi = rng.uniform(-1.0, 1.0, (S, d)).astype(np.float32)

    def predict(feats, rewards):
        f = np.array(feats, dtype=np.float32)
        rw = np.array(rewards, dtype=np.float32)
        context = torch.cat([torch.from_numpy(f[:n]).T, gamma * torch.from_numpy(f[1:n + 1]).T,
                             torch.from_numpy(rw[:n]).unsqueeze(0)], dim=0)
        query = torch.cat([torch.from_numpy(f[n + 1]).reshape(d, 1), torch.zeros(d + 1, 1)], dim=0)
        Z = torch.cat([context, query], dim=1)
        for _ in range(n_layers):
            Z = attn(Z)
        return -Z[-1, -1]

    s = rng.choice(S, p=mu)
    feats, rewards = deque([phi[s]], maxlen=n + 2), deque(maxlen=n + 1)
    for _ in range(n + 1):
        s_next = rng.choice(S, p=P[s])
        feats.append(phi[s_next])
        rewards.append(r[s])
        s = s_next
    v_current = predict(feats, rewards)
    loss = 0.0
    for _ in range(windows):
        reward = r[s]                                  # r(query state): the reward of the TD target
        s_next = rng.choice(S, p=P[s])
        feats.append(phi[s_next])
        rewards.append(reward)
        s = s_next
        v_next = predict(feats, rewards)
        loss = loss + (reward + gamma * v_next.detach() - v_current) ** 2
        v_current = v_next
    loss = loss / windows
    opt.zero_grad()
    loss.backward()
    opt.step()
    return float(loss.detach())


def _make_peer(n: int, seed: int = 0):
    attn = PeerAttention(4, n, torch.Generator().manual_seed(seed))
    opt = torch.optim.Adam(attn.parameters(), lr=1e-3, weight_decay=1e-6)
    return attn, opt, np.random.default_rng(seed)


def _time_peer(peer, steps: int, n: int) -> float:
    attn, opt, rng = peer
    start = time.perf_counter()
    for _ in range(steps):
        peer_td_step(attn, 3, opt, rng, n=n)
    return time.perf_counter() - start


def bench_td_pretraining_peer(steps: int = 20, threads: int = 1, n: int = 30) -> dict:
    """Windows/s of :func:`peer_td_step` in [W25]'s setting (d = 4, |S| = 10, ``n``, L = 3, 64 windows; chapter 3)."""
    steps = check_int(steps, "steps")
    torch.set_num_threads(check_int(threads, "threads"))
    peer = _make_peer(check_int(n, "n"))
    _time_peer(peer, 2, n)                                      # warm-up
    seconds = _time_peer(peer, steps, n)
    return {"tasks_per_step": 1, "threads": threads, "seconds": seconds, "tasks_per_s": steps / seconds,
            "windows_per_s": steps * WINDOWS / seconds}


def compare_td_pretraining(steps: int = 200, peer_steps: int = 20, threads: int = 1, n: int = 30,
                           repeats: int = 3) -> dict:
    """Library (one task per step) against the peer, timed alternately ``repeats`` times; best of each (chapter 3).

    Returns ``library_windows_per_s``, ``peer_windows_per_s`` and ``ratio`` = library / peer.
    """
    steps, peer_steps = check_int(steps, "steps"), check_int(peer_steps, "peer_steps")
    repeats, n = check_int(repeats, "repeats"), check_int(n, "n")
    torch.set_num_threads(check_int(threads, "threads"))
    peer = _make_peer(n)
    _time_library(min(steps, 5), 1, n)
    _time_peer(peer, 2, n)
    lib, ref = 0.0, 0.0
    for _ in range(repeats):
        lib = max(lib, steps * WINDOWS / _time_library(steps, 1, n))
        ref = max(ref, peer_steps * WINDOWS / _time_peer(peer, peer_steps, n))
    return {"threads": threads, "n": n, "library_windows_per_s": lib, "peer_windows_per_s": ref, "ratio": lib / ref}


# ----------------------------------------------------------------------------------------- teacher mimicking

def _batched_steps(dist, batch_size: int, gen: torch.Generator, P, V, rows, n_steps: int) -> None:
    # train_teacher_mimicking's loop (the library's one loop, fit) without its periodic evaluation.
    def loss_fn(step):
        batch = sample_prompt_batch(dist, batch_size, gen)
        return mimicking_loss(P, V, batch._replace(H=batch.H.to(P.dtype), target=batch.target.to(P.dtype)), rows)
    fit([P, V], loss_fn, OptimiserConfig("adam", 1e-3), n_steps)


def _loop_step(dist, batch_size: int, gen: torch.Generator, P, V, opt, rows) -> None:
    # The same work prompt by prompt: one MDP, one trajectory, one prompt, one forward/backward per prompt.
    spec, S, A = dist.spec, dist.n_states, dist.n_actions
    opt.zero_grad()
    for _ in range(batch_size):
        mdp = random_mdp(S, A, dist.gamma, generator=gen)
        params = spec.sample_parameters(1, S, A, dist.scales, gen)[0]
        pi = spec.behaviour_policy(params, S, A, dist.temperature)
        tr = sample_transitions(mdp, pi, dist.n_transitions, gen, reward_noise=dist.reward_noise)
        data = spec.transition_data(tr, params, S, A, dist)
        H = spec.prompt(data, tr.r, params, S, A)
        target = spec.teacher_update(params, data, tr.r, S, A, dist)
        out = lsa_unchecked(H.to(P.dtype), P, V)[rows, -1]
        loss = ((out - target.to(P.dtype)) ** 2).sum() / batch_size
        loss.backward()
    opt.step()


def bench_teacher_mimicking(algorithm: str = "sarsa", steps: int = 20, batch_size: int = 256, threads: int = 1,
                            loop_steps: int = 1, n_transitions: int = 40) -> dict:
    """Prompts/s of teacher-mimicking training steps, batched and in a per-prompt Python loop (chapter 6).

    Both use chapter 6's default prompt distribution for ``algorithm`` (|S| = 5, |A| = 3, ``N`` transitions),
    float32 ``(P, V)`` and Adam (lr 1e-3). Returns ``batched_prompts_per_s``, ``loop_prompts_per_s`` and
    their ``ratio`` (plus the settings and seconds).
    """
    steps, batch_size = check_int(steps, "steps"), check_int(batch_size, "batch_size")
    loop_steps, threads = check_int(loop_steps, "loop_steps"), check_int(threads, "threads")
    dist = PromptDistribution(algorithm=algorithm, n_transitions=check_int(n_transitions, "n_transitions"))
    torch.set_num_threads(threads)
    rows = dist.output_rows
    timings = {}
    for name, n_steps in (("batched", steps), ("loop", loop_steps)):
        gen = torch.Generator().manual_seed(0)
        P, V = init_parameters(dist.layout.dim, 0.1, gen)
        P.requires_grad_(True)
        V.requires_grad_(True)
        if name == "batched":
            _batched_steps(dist, min(batch_size, 8), gen, P, V, rows, 1)                  # warm-up
            start = time.perf_counter()
            _batched_steps(dist, batch_size, gen, P, V, rows, n_steps)
        else:   # the per-prompt reference, frozen: its own Adam steps
            opt = torch.optim.Adam([P, V], lr=1e-3)
            _loop_step(dist, min(batch_size, 8), gen, P, V, opt, rows)                   # warm-up
            start = time.perf_counter()
            for _ in range(n_steps):
                _loop_step(dist, batch_size, gen, P, V, opt, rows)
        timings[name] = (time.perf_counter() - start, n_steps * batch_size)
    batched = timings["batched"][1] / timings["batched"][0]
    loop = timings["loop"][1] / timings["loop"][0]
    return {"algorithm": algorithm, "threads": threads, "batch_size": batch_size, "n_transitions": dist.n_transitions,
            "batched_seconds": timings["batched"][0], "loop_seconds": timings["loop"][0],
            "batched_prompts_per_s": batched, "loop_prompts_per_s": loop, "ratio": batched / loop}


# ----------------------------------------------------------------------------------------- supervised (ch 9)

def bench_supervised(steps: int = 10, batch_size: int = 64, horizon: int = 50, threads: int = 1,
                     loop_steps: int = 1, n_tasks: int = 512) -> dict:
    """Training tokens/s of DPT pretraining (chapter 9), batched as the library trains and one task per step.

    Data: ``n_tasks`` trajectories of ``horizon`` rounds of 0.5 TS + 0.5 uniform on Gaussian bandits (A = 5,
    sigma = 0.3), DPT labels. *batched*: one forward/backward of ``batch_size`` trajectories per Adam step
    (:func:`icrl_lib.training.supervised_loss`); *one task per step*: the same minibatch as ``batch_size``
    forward/backward passes of one trajectory each, gradients accumulated, one Adam step. Returns tokens/s of
    both (one token = one round with its label) and their ``ratio``.
    """
    from .rl import GaussianBandit, mixture, thompson_sampling, uniform
    from .training import CausalTransformerPolicy, bandit_token_dim, collect_bandit_data, supervised_loss
    steps, batch_size = check_int(steps, "steps"), check_int(batch_size, "batch_size")
    horizon, loop_steps = check_int(horizon, "horizon"), check_int(loop_steps, "loop_steps")
    torch.set_num_threads(check_int(threads, "threads"))
    g = torch.Generator().manual_seed(0)
    data = collect_bandit_data(GaussianBandit.sample(check_int(n_tasks, "n_tasks"), 5, 0.3, g),
                               mixture(0.5, thompson_sampling(), uniform()), horizon, g, "dpt")
    tokens, labels = data.tokens().float(), data.labels
    timings = {}
    for name, n_steps in (("batched", steps), ("loop", loop_steps)):
        model = CausalTransformerPolicy(bandit_token_dim(data.bandit), 5, 3, 32, 2, max_len=horizon + 1, seed=0)
        gen = torch.Generator().manual_seed(1)
        if name == "batched":   # pretrain_supervised's loop: the library's one loop, fit

            def run(size, k):
                def loss_fn(step):
                    idx = torch.randint(tokens.shape[0], (size,), generator=gen)
                    return supervised_loss(model, tokens[idx], labels[idx])
                fit(model.parameters(), loss_fn, OptimiserConfig("adam", 1e-3), k)
        else:                   # the one-task-per-step reference, frozen: its own Adam steps
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)

            def run(size, k):
                for _ in range(k):
                    idx = torch.randint(tokens.shape[0], (size,), generator=gen)
                    opt.zero_grad()
                    for i in idx:
                        (supervised_loss(model, tokens[i:i + 1], labels[i:i + 1]) / size).backward()
                    opt.step()
        run(min(batch_size, 4), 1)                                     # warm-up
        start = time.perf_counter()
        run(batch_size, n_steps)
        timings[name] = n_steps * batch_size * horizon / (time.perf_counter() - start)
    return {"threads": threads, "batch_size": batch_size, "horizon": horizon,
            "batched_tokens_per_s": timings["batched"], "loop_tokens_per_s": timings["loop"],
            "ratio": timings["batched"] / timings["loop"]}


# ----------------------------------------------------------------------------------------------------- CLI

def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: ``python -m icrl_lib.bench NAME [options]`` (see the module docstring; the reproducibility appendix lists the commands)."""
    parser = argparse.ArgumentParser(prog="python -m icrl_lib.bench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="name", required=True)
    td = sub.add_parser("td-pretraining", help="windows/s of TD pretraining ([W25] setting), library vs peer")
    td.add_argument("--steps", type=int, default=200, help="library steps timed per round")
    td.add_argument("--peer-steps", type=int, default=20, help="peer steps timed per round")
    td.add_argument("--repeats", type=int, default=3, help="alternating rounds (best of each is reported)")
    td.add_argument("--n", type=int, default=30, help="context length")
    td.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    td.add_argument("--tasks-per-step", type=int, nargs="+", default=[1, 8, 32])
    tm = sub.add_parser("teacher-mimicking", help="prompts/s of teacher-mimicking training, batched vs a loop")
    tm.add_argument("--algorithm", choices=sorted(ALGORITHMS), nargs="+", default=sorted(ALGORITHMS, reverse=True))
    tm.add_argument("--steps", type=int, default=20, help="batched training steps timed")
    tm.add_argument("--loop-steps", type=int, default=1, help="per-prompt loop steps timed (each batch-size prompts)")
    tm.add_argument("--batch-size", type=int, default=256)
    tm.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    sv = sub.add_parser("supervised", help="tokens/s of chapter 9's supervised pretraining, batched vs per task")
    sv.add_argument("--steps", type=int, default=10, help="batched training steps timed")
    sv.add_argument("--loop-steps", type=int, default=1, help="per-task loop steps timed (each batch-size tasks)")
    sv.add_argument("--batch-size", type=int, default=64)
    sv.add_argument("--horizon", type=int, default=50)
    sv.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be >= 1")
    if min(args.threads) < 1:
        parser.error("--threads must be >= 1")
    if args.name == "supervised":
        if args.loop_steps < 1 or args.batch_size < 1 or args.horizon < 1:
            parser.error("--loop-steps, --batch-size and --horizon must be >= 1")
        print(f"Supervised pretraining step (DPT, Gaussian bandits A = 5, T = {args.horizon}, 3 layers, D = 32), "
              f"batch {args.batch_size}")
        print(f"{'threads':>7} {'batched tokens/s':>16} {'one task/step tokens/s':>22} {'ratio':>7}")
        for threads in args.threads:
            r = bench_supervised(args.steps, args.batch_size, args.horizon, threads, args.loop_steps)
            print(f"{threads:>7} {r['batched_tokens_per_s']:>16.0f} {r['loop_tokens_per_s']:>22.0f} "
                  f"{r['ratio']:>7.1f}", flush=True)
        return 0
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
    if args.peer_steps < 1 or args.repeats < 1 or args.n < 1 or min(args.tasks_per_step) < 1:
        parser.error("--peer-steps, --repeats, --n and --tasks-per-step must be >= 1")
    print(f"TD pretraining, [W25] setting (d=4, |S|=10, n={args.n}, L=3 shared, {WINDOWS} windows/task)")
    print(f"{'loop':>8} {'tasks/step':>10} {'threads':>7} {'tasks/s':>10} {'windows/s':>11}")
    ratios = []
    for threads in args.threads:
        for tps in args.tasks_per_step:
            if tps == 1:
                continue
            r = bench_td_pretraining(args.steps, tps, threads, args.n)
            print(f"{'library':>8} {tps:>10} {threads:>7} {r['tasks_per_s']:>10.1f} {r['windows_per_s']:>11.0f}",
                  flush=True)
        c = compare_td_pretraining(args.steps, args.peer_steps, threads, args.n, args.repeats)
        for name in ("library", "peer"):
            w = c[f"{name}_windows_per_s"]
            print(f"{name:>8} {1:>10} {threads:>7} {w / WINDOWS:>10.1f} {w:>11.0f}", flush=True)
        ratios.append((threads, c["ratio"]))
    for threads, ratio in ratios:
        print(f"library / peer at 1 task per step, {threads} thread(s): {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
