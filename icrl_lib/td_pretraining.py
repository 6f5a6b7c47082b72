"""Multi-task TD pretraining of a linear transformer on Boyan chains, as [W25] describe (chapter 3).

Each step draws a batch of random Boyan-chain tasks (random chain, rewards and features
``U[-1, 1]^d``), one trajectory per task, and every sliding-window prompt along it
(:func:`icrl_lib.prompts.td_sliding_prompts`). The loss is semi-gradient TD on the transformer's *own*
value predictions: with ``v_t = -TF(Z_t)[-1, -1]`` the value of window ``t``'s query state,

    loss = mean_t ( r(query_t) + gamma * stopgrad(v_{t+1}) - v_t )^2,

optimised with Adam. Everything is batched over tasks and windows, so one step is a few batched matrix
products. [W25] process one task per step (64 windows, 5 steps per task); batching tasks is our change
for speed on a CPU, and the book says so.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import NamedTuple

import torch

from ._validation import as_tensor, check_gamma, check_int, check_positive, check_real, check_shape
from .constructions import td_construction
from .prompts import td_sliding_prompts
from .transformer import LinearTransformer

__all__ = ["BoyanTasks", "TDPretrainingConfig", "TDPretrainingResult", "sample_boyan_tasks",
           "sample_task_trajectories", "td_pretraining_loss", "td_structure_metrics", "value_estimates",
           "msve", "td_pretrain"]


class BoyanTasks(NamedTuple):
    """A batch of Boyan-chain Markov reward processes with random features (``B`` tasks, ``S`` states).

    ``P`` (B, S, S), ``r`` (B, S), ``rho0`` (B, S), ``features`` (B, S, d), ``values`` (B, S) exact
    ``(I - gamma P)^{-1} r``, ``stationary`` (B, S) stationary distributions (MSVE weights).
    """

    P: torch.Tensor
    r: torch.Tensor
    rho0: torch.Tensor
    features: torch.Tensor
    values: torch.Tensor
    stationary: torch.Tensor


def sample_boyan_tasks(n_tasks: int, n_states: int, d: int, gamma: float, generator: torch.Generator,
                       dtype: torch.dtype = torch.float32) -> BoyanTasks:
    """``n_tasks`` Boyan chains as in :func:`icrl_lib.mdp.boyan_chain` (batched, torch), with features ``U[-1,1]^d``."""
    B = check_int(n_tasks, "n_tasks")
    S = check_int(n_states, "n_states", minimum=3)
    d = check_int(d, "d")
    g = check_gamma(gamma)
    if not isinstance(generator, torch.Generator):
        raise ValueError("generator must be a torch.Generator")
    f64 = torch.float64
    P = torch.zeros(B, S, S, dtype=f64)
    p = 0.01 + 0.98 * torch.rand(B, S - 2, generator=generator, dtype=f64)
    idx = torch.arange(S - 2)
    P[:, idx, idx + 1] = p
    P[:, idx, idx + 2] = 1 - p
    P[:, S - 2, S - 1] = 1.0
    last = 0.01 + 0.98 * torch.rand(B, S, generator=generator, dtype=f64)
    P[:, S - 1] = last / last.sum(-1, keepdim=True)
    r = 2 * torch.rand(B, S, generator=generator, dtype=f64) - 1
    mu = 0.01 + 0.98 * torch.rand(B, S, generator=generator, dtype=f64)
    feats = 2 * torch.rand(B, S, d, generator=generator, dtype=f64) - 1
    values = torch.linalg.solve(torch.eye(S, dtype=f64) - g * P, r.unsqueeze(-1)).squeeze(-1)
    # Stationary distribution: (P^T - I) mu = 0 with one equation replaced by sum(mu) = 1 (non-singular:
    # Boyan chains are irreducible). A square solve, because batched lstsq is not bitwise reproducible.
    A = P.transpose(-1, -2) - torch.eye(S, dtype=f64)
    A[:, -1, :] = 1.0
    b = torch.zeros(B, S, 1, dtype=f64)
    b[:, -1] = 1.0
    stat = torch.linalg.solve(A, b).squeeze(-1).clamp_min(0)
    stat = stat / stat.sum(-1, keepdim=True)
    return BoyanTasks(P.to(dtype), r.to(dtype), (mu / mu.sum(-1, keepdim=True)).to(dtype), feats.to(dtype),
                      values.to(dtype), stat.to(dtype))


def sample_task_trajectories(tasks: BoyanTasks, length: int, generator: torch.Generator) -> torch.Tensor:
    """One trajectory ``s_0, ..., s_{length-1}`` per task (``s_0 ~ rho0``), shape ``(B, length)`` int64.

    The loop runs over time only; each step samples all tasks at once.
    """
    T = check_int(length, "length")
    B = tasks.P.shape[0]
    states = torch.empty(B, T, dtype=torch.long)
    states[:, 0] = torch.multinomial(tasks.rho0.double(), 1, generator=generator).squeeze(-1)
    rows = torch.arange(B)
    P = tasks.P.double()
    for t in range(1, T):
        states[:, t] = torch.multinomial(P[rows, states[:, t - 1]], 1, generator=generator).squeeze(-1)
    return states


def _task_windows(tasks: BoyanTasks, states: torch.Tensor, n: int, gamma: float):
    rows = torch.arange(states.shape[0]).unsqueeze(-1)
    feats = tasks.features[rows, states]            # (B, T, d)
    rewards = tasks.r[rows, states]                 # (B, T): r_{j+1} = r(s_j)
    return td_sliding_prompts(feats, rewards, n, gamma)


def td_pretraining_loss(model: LinearTransformer, Z: torch.Tensor, query_rewards: torch.Tensor,
                        gamma: float) -> torch.Tensor:
    """Mean squared semi-gradient TD error of the model's own predictions over consecutive windows.

    ``Z`` (B, W, D, n+1) sliding-window prompts of one trajectory per task, ``query_rewards`` (B, W).
    """
    v = -model(Z)[..., -1, -1]                      # (B, W)
    delta = query_rewards[:, :-1] + gamma * v[:, 1:].detach() - v[:, :-1]
    return (delta ** 2).mean()


def td_structure_metrics(P, V, d: int) -> dict[str, float]:
    """How close a layer ``(P, V)`` is to [W25]'s construction, up to the symmetry ``(cV, P/c)``.

    Sign-aligns by ``s = sign(V[-1, -1])`` (the map is unchanged by ``(P, V) -> (sP, sV)``), then reports:
    ``v_mass`` = ``V[-1,-1]^2 / ||V||_F^2`` (1 for the construction), ``p_scale`` = the best ``c`` with
    ``sP ~ c P*`` (``P*`` the construction with ``C = I``: blocks ``-I`` and ``+I``), ``p_rel_error`` =
    ``||sP - c P*||_F / ||P||_F``, and the mean diagonals of the two active blocks ``p_xx`` (-> -c) and
    ``p_xxn`` (-> +c).
    """
    P = as_tensor(P, "P").detach().double()
    V = as_tensor(V, "V").detach().double()
    d = check_int(d, "d")
    D = 2 * d + 1
    check_shape(P, "P", (D, D), batch=False)
    check_shape(V, "V", (D, D), batch=False)
    s = 1.0 if float(V[-1, -1]) >= 0 else -1.0
    Pa = s * P
    template = td_construction(d, 1)[0][0]
    c = float((Pa * template).sum() / (template * template).sum())
    return {
        "v_mass": float(V[-1, -1] ** 2 / (V ** 2).sum().clamp_min(1e-300)),
        "p_scale": c,
        "p_rel_error": float((Pa - c * template).norm() / P.norm().clamp_min(1e-300)),
        "p_xx": float(torch.diagonal(Pa[:d, :d]).mean()),
        "p_xxn": float(torch.diagonal(Pa[:d, d:2 * d]).mean()),
    }


def value_estimates(model, context, query_features) -> torch.Tensor:
    """Values ``-TF([context, x_q])[-1, -1]`` for many query states at once.

    ``context`` (..., D, n) is a prompt without its query column, ``query_features`` (..., S, d) the
    states to evaluate; returns (..., S). ``model`` is any callable on prompts (a ``LinearTransformer``
    or ``lambda Z: apply_layers(Z, layers, mask=True)``).
    """
    context = as_tensor(context, "context")
    q = as_tensor(query_features, "query_features", dtype=context.dtype)
    check_shape(context, "context", (None, None))
    D = context.shape[-2]
    d = (D - 1) // 2
    check_shape(q, "query_features", (None, d))
    S = q.shape[-2]
    ctx = context.unsqueeze(-3).expand(context.shape[:-2] + (S,) + context.shape[-2:])
    qcol = torch.cat([q, torch.zeros(q.shape[:-1] + (D - d,), dtype=q.dtype)], dim=-1).unsqueeze(-1)
    qcol = qcol.expand(ctx.shape[:-1] + (1,))
    return -model(torch.cat([ctx, qcol], dim=-1))[..., -1, -1]


def msve(v_hat, v, weights) -> torch.Tensor:
    """Mean squared value error ``sum_s mu(s) (v_hat(s) - v(s))^2`` over the last axis (``weights`` sum to 1)."""
    v_hat = as_tensor(v_hat, "v_hat")
    v = as_tensor(v, "v", dtype=v_hat.dtype)
    weights = as_tensor(weights, "weights", dtype=v_hat.dtype)
    check_shape(v_hat, "v_hat", (None,))
    S = v_hat.shape[-1]
    check_shape(v, "v", (S,))
    check_shape(weights, "weights", (S,))
    if bool((weights < 0).any()):
        raise ValueError("weights must be non-negative")
    return (weights * (v_hat - v) ** 2).sum(-1)


@dataclass(frozen=True)
class TDPretrainingConfig:
    """Hyper-parameters of :func:`td_pretrain`.

    The task and model follow [W25] (d = 4, |S| = 10, L = 3 shared layers, gamma = 0.9, 64 sliding windows
    per trajectory, Adam, weight decay 1e-6). Ours (chosen for a CPU budget of about a minute): 16 tasks per
    step instead of one, learning rate 5e-3 instead of 1e-3, gradient-norm clipping at 1, 2000 steps.
    """

    d: int = 4
    n_states: int = 10
    n: int = 30
    n_layers: int = 3
    gamma: float = 0.9
    shared: bool = True
    n_steps: int = 2000
    tasks_per_step: int = 16
    windows_per_task: int = 64
    lr: float = 5e-3
    weight_decay: float = 1e-6
    init_gain: float = 0.1
    grad_clip: float | None = 1.0
    seed: int = 0
    log_every: int = 25
    n_eval_tasks: int = 64

    def __post_init__(self):
        for name in ("d", "n", "n_layers", "n_steps", "tasks_per_step", "windows_per_task", "log_every",
                     "n_eval_tasks"):
            check_int(getattr(self, name), name)
        check_int(self.n_states, "n_states", minimum=3)
        check_int(self.seed, "seed", minimum=0)
        check_gamma(self.gamma)
        check_positive(self.lr, "lr")
        if self.grad_clip is not None:
            check_positive(self.grad_clip, "grad_clip")
        if check_real(self.weight_decay, "weight_decay") < 0:
            raise ValueError(f"weight_decay must be >= 0; got {self.weight_decay}")


@dataclass
class TDPretrainingResult:
    """The trained model and the logged history (lists indexed by log step; ``step`` holds the step numbers)."""

    model: LinearTransformer
    config: TDPretrainingConfig
    history: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"config": asdict(self.config), "history": self.history}


def td_pretrain(config: TDPretrainingConfig = TDPretrainingConfig(), progress: bool = False) -> TDPretrainingResult:
    """Pretrain a ``LinearTransformer`` (``D = 2d + 1``, mask on) with multi-task semi-gradient TD.

    Logs every ``log_every`` steps: ``loss``, ``eval_msve`` (MSVE of the transformer's value function
    against the true values on fixed held-out tasks, stationary weights), and the metrics of
    :func:`td_structure_metrics` for each layer (``layer{l}_v_mass``, ...). ``progress=True`` shows a tqdm bar.
    """
    if not isinstance(config, TDPretrainingConfig):
        raise ValueError(f"config must be a TDPretrainingConfig; got {type(config).__name__}")
    cfg = config
    gen = torch.Generator().manual_seed(cfg.seed)
    eval_gen = torch.Generator().manual_seed(10_000 + cfg.seed)
    D = 2 * cfg.d + 1
    model = LinearTransformer(D, cfg.n_layers, shared=cfg.shared, mask=True, init_gain=cfg.init_gain,
                              seed=cfg.seed)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    length = cfg.n + 1 + cfg.windows_per_task + 1

    eval_tasks = sample_boyan_tasks(cfg.n_eval_tasks, cfg.n_states, cfg.d, cfg.gamma, eval_gen)
    eval_states = sample_task_trajectories(eval_tasks, cfg.n + 2, eval_gen)
    eval_Z, _ = _task_windows(eval_tasks, eval_states, cfg.n, cfg.gamma)
    eval_context = eval_Z[:, 0, :, :-1]

    history: dict[str, list] = {"step": [], "loss": [], "eval_msve": []}
    steps = range(1, cfg.n_steps + 1)
    if progress:
        from tqdm.auto import tqdm
        steps = tqdm(steps, desc="TD pretraining", unit="step")
    running = 0.0
    for step in steps:
        tasks = sample_boyan_tasks(cfg.tasks_per_step, cfg.n_states, cfg.d, cfg.gamma, gen)
        states = sample_task_trajectories(tasks, length, gen)
        Z, qr = _task_windows(tasks, states, cfg.n, cfg.gamma)
        loss = td_pretraining_loss(model, Z, qr, cfg.gamma)
        opt.zero_grad()
        loss.backward()
        if cfg.grad_clip is not None:
            # Linear attention is cubic in its input: a rare long trajectory on large features gives a
            # huge gradient that can undo the learned structure; clipping keeps Adam on track.
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        running += float(loss.detach())
        if step % cfg.log_every == 0 or step == cfg.n_steps:
            with torch.no_grad():
                v_hat = value_estimates(model, eval_context, eval_tasks.features)
                eval_msve = float(msve(v_hat, eval_tasks.values, eval_tasks.stationary).mean())
            n_avg = step % cfg.log_every or cfg.log_every
            history["step"].append(step)
            history["loss"].append(running / n_avg)
            history["eval_msve"].append(eval_msve)
            running = 0.0
            for l, (P, V) in enumerate(model.layer_params() if not model.shared else model.layer_params()[:1]):
                for k, val in td_structure_metrics(P, V, cfg.d).items():
                    history.setdefault(f"layer{l}_{k}", []).append(val)
            if progress:
                steps.set_postfix(loss=f"{history['loss'][-1]:.3g}", msve=f"{eval_msve:.3g}")
    return TDPretrainingResult(model, cfg, history)
