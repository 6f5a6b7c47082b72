"""Multi-task TD pretraining of a linear transformer on Boyan chains, as [W25] describe (chapter 3).

Each step draws a batch of random Boyan-chain tasks (:func:`icrl_lib.rl.boyan_chain`, features
``U[-1, 1]^d``), one trajectory per task (:func:`icrl_lib.rl.sample_mrp_trajectory`), and every
sliding-window prompt along it (:func:`icrl_lib.incontext.td_sliding_prompts`). The loss is semi-gradient
TD on the transformer's *own* value predictions: with ``v_t = -TF(Z_t)[-1, -1]`` the value of window
``t``'s query state,

    loss = mean_t ( r(query_t) + gamma * stopgrad(v_{t+1}) - v_t )^2,

optimised with Adam. [W25] process one task per step (64 windows, 5 steps per task); batching tasks is our
change for speed on a CPU, and the book says so. The tasks of consecutive steps are drawn in blocks of
about :data:`TASKS_PER_DRAW` tasks (one batched draw of chains, trajectories and window moments, then one
slice per step): the same law, fewer small operations.

The hot path never builds the ``(W, 2d+1, n+1)`` window prompts. A masked linear-attention layer is a left
multiplication, ``Z -> (I + V G P / n) Z`` with ``G`` the second moment of the (transformed) context, so
after ``l`` layers ``Z_l = T_l Z_0`` and ``G_l = T_{l-1} G_0 T_{l-1}^T``: the values of all windows follow
from the context moments ``G_0`` of the windows (sliding sums along the trajectory,
:func:`window_moments`) and the query features (:func:`values_from_moments`). Same numbers as the
prompts (the tests check both against ``model(Z)``), with ``D x D`` instead of ``D x (n+1)`` work per window
and no window prompts to build.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import NamedTuple

import torch

from .._validation import (as_tensor, as_generator, check_gamma, check_int, check_positive, check_real,
                           check_shape)
from ..attention import LinearTransformer
from ..incontext import td_construction, td_sliding_prompts
from ..rl import MarkovRewardProcess, boyan_chain, mrp_values, sample_mrp_trajectory, stationary_distribution

__all__ = ["BoyanTasks", "TDPretrainingConfig", "TDPretrainingResult", "WindowMoments", "sample_boyan_tasks",
           "boyan_task_values", "task_trajectories", "window_moments", "values_from_moments",
           "td_pretraining_loss", "moment_td_loss", "td_structure_metrics", "value_estimates", "msve",
           "td_pretrain", "TASKS_PER_DRAW"]

_F64 = torch.float64
#: td_pretrain draws the tasks of several steps at once (this many tasks per draw; the step's tasks are slices).
TASKS_PER_DRAW = 256


class BoyanTasks(NamedTuple):
    """A batch of Boyan-chain tasks (chapter 3): ``mrp`` a batched :class:`~icrl_lib.rl.MarkovRewardProcess`
    (``B`` chains, ``S`` states) and ``features`` (B, S, d) float64, entries ``U[-1, 1]``."""

    mrp: MarkovRewardProcess
    features: torch.Tensor


def sample_boyan_tasks(n_tasks: int, n_states: int, d: int, gamma: float, generator) -> BoyanTasks:
    """``n_tasks`` Boyan chains (:func:`icrl_lib.rl.boyan_chain`) with random features ``U[-1, 1]^d`` (chapter 3).

    ``generator``: a ``torch.Generator`` (or an int seed). The chains are drawn first, then the features.
    """
    B = check_int(n_tasks, "n_tasks")
    d = check_int(d, "d")
    gen = as_generator(generator, "generator")
    mrp = boyan_chain(n_states, gamma, n_chains=B, generator=gen)
    features = 2 * torch.rand(B, mrp.n_states, d, generator=gen, dtype=_F64) - 1
    return BoyanTasks(mrp, features)


def boyan_task_values(tasks: BoyanTasks) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact values ``(I - gamma P)^{-1} r`` and stationary distributions (the MSVE weights), each (B, S) (chapter 3)."""
    if not isinstance(tasks, BoyanTasks):
        raise ValueError(f"tasks must be BoyanTasks; got {type(tasks).__name__}")
    return mrp_values(tasks.mrp), stationary_distribution(tasks.mrp)


def task_trajectories(tasks: BoyanTasks, length: int, generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One trajectory of ``length`` states per task: ``(features (B, length, d), rewards (B, length - 1))`` (chapter 3).

    ``rewards[:, j] = r(s_j)`` (the reward of the transition ``s_j -> s_{j+1}``); sampled by
    :func:`icrl_lib.rl.sample_mrp_trajectory`.
    """
    T = check_int(length, "length", minimum=2)
    states, rewards = sample_mrp_trajectory(tasks.mrp, T - 1, as_generator(generator, "generator"))
    return tasks.features.gather(-2, states.unsqueeze(-1).expand(*states.shape, tasks.features.shape[-1])), rewards


class WindowMoments(NamedTuple):
    """What a masked linear transformer sees of the ``W`` sliding windows of a trajectory (chapter 3).

    ``moment`` (..., W, D, D): ``sum_j c_j c_j^T`` over the ``n`` context columns ``c_j`` of each window;
    ``x_query`` (..., W, d) the query features; ``query_rewards`` (..., W - 1) the reward ``r(query_t)`` of
    windows ``t < W - 1`` (the rewards of the TD targets); ``n`` the context length.
    """

    moment: torch.Tensor
    x_query: torch.Tensor
    query_rewards: torch.Tensor
    n: int


def window_moments(features, rewards, n: int, gamma, dtype: torch.dtype | None = None) -> WindowMoments:
    """The :class:`WindowMoments` of the windows of :func:`~icrl_lib.incontext.td_sliding_prompts` (chapter 3).

    ``features`` (..., T, d) are ``x(s_0), ..., x(s_{T-1})``, ``rewards`` (..., T - 1) hold ``r(s_j)``; window
    ``t`` has context columns ``(x_j; gamma x_{j+1}; r(s_j))``, ``t <= j < t + n``, and query ``x_{t+n+1}``
    (``W = T - n - 1`` windows). The moments are differences of one cumulative sum of token outer products
    along the trajectory, accumulated in float64 and returned in ``dtype`` (default: the features' dtype).
    """
    features = as_tensor(features, "features")
    check_shape(features, "features", (None, None))
    T, d = features.shape[-2:]
    rewards = as_tensor(rewards, "rewards", dtype=features.dtype)
    check_shape(rewards, "rewards", (T - 1,))
    n = check_int(n, "n")
    if T < n + 3:
        raise ValueError(f"features must hold at least n + 3 = {n + 3} states (two windows); got {T}")
    g = check_gamma(gamma)
    dtype = dtype or features.dtype
    W = T - n - 1
    f = features.to(_F64)
    tokens = torch.cat([f[..., :-1, :], g * f[..., 1:, :], rewards.to(_F64).unsqueeze(-1)], -1)   # (..., T-1, D)
    cum = (tokens.unsqueeze(-1) * tokens.unsqueeze(-2)).cumsum(-3)                                 # (..., T-1, D, D)
    moment = cum[..., n - 1:n - 1 + W, :, :].clone()
    moment[..., 1:, :, :] -= cum[..., :W - 1, :, :]
    return WindowMoments(moment.to(dtype), features[..., n + 1:, :].to(dtype),
                         rewards[..., n + 1:].to(dtype), n)


def values_from_moments(model: LinearTransformer, moments: WindowMoments) -> torch.Tensor:
    """``-TF(Z_t)[-1, -1]`` for every window of ``moments`` (shape (..., W)), without building the prompts.

    A masked layer maps ``Z -> M_l Z`` with ``M_l = I + V_l G_l P_l / n`` and ``G_l`` the context moment
    of its input, so ``G_1 = G_0`` (plus ``h_q h_q^T`` if the model does not mask the query),
    ``G_{l+1} = M_l G_l M_l^T``, and the value is ``-e^T M_L ... M_1 h_q`` with ``h_q = (x_q; 0; 0)``: only the
    last row of ``M_L`` is formed, and it is carried back through ``M_{L-1}, ..., M_1`` as a row vector.
    Differentiable in the model's ``P`` and ``V`` (autograd). Chapter 3.
    """
    if not isinstance(moments, WindowMoments):
        raise ValueError(f"moments must be WindowMoments; got {type(moments).__name__}")
    G = moments.moment.to(model.P.dtype)
    xq = moments.x_query.to(model.P.dtype)
    D, d, n = G.shape[-1], xq.shape[-1], moments.n
    if D != model.dim or D != 2 * d + 1:
        raise ValueError(f"moments must have D = 2d + 1 = model.dim; got D = {D}, d = {d}, dim = {model.dim}")
    if not model.mask:
        hq = torch.cat([xq, xq.new_zeros(xq.shape[:-1] + (D - d,))], -1)
        G = G + hq.unsqueeze(-1) * hq.unsqueeze(-2)
    eye = torch.eye(D, dtype=G.dtype)
    Ms = []
    for l in range(model.n_layers):
        i = 0 if model.shared else l
        P, V = model.P[i], model.V[i]
        if l < model.n_layers - 1:
            M = V @ G @ (P / n) + eye
            G = M @ G @ M.transpose(-1, -2)
            Ms.append(M)
        else:
            row = (V[-1] @ G) @ (P / n) + eye[-1]              # the last row of M_L, (..., W, D)
    for M in reversed(Ms):
        row = (row.unsqueeze(-2) @ M).squeeze(-2)
    return -(row[..., :d] * xq).sum(-1)


def moment_td_loss(model: LinearTransformer, moments: WindowMoments, gamma: float) -> torch.Tensor:
    """:func:`td_pretraining_loss` computed from :class:`WindowMoments` (the training hot path; chapter 3)."""
    v = values_from_moments(model, moments)
    delta = moments.query_rewards + gamma * v[..., 1:].detach() - v[..., :-1]
    return (delta ** 2).mean()


def td_pretraining_loss(model: LinearTransformer, Z: torch.Tensor, query_rewards: torch.Tensor,
                        gamma: float) -> torch.Tensor:
    """Mean squared semi-gradient TD error of the model's own predictions over consecutive windows (chapter 3).

    ``Z`` (..., W, D, n+1) sliding-window prompts of one trajectory per task, ``query_rewards`` (..., W)
    (the last one is unused: the last window has no successor).
    """
    v = -model(Z)[..., -1, -1]                      # (..., W)
    delta = query_rewards[..., :-1] + gamma * v[..., 1:].detach() - v[..., :-1]
    return (delta ** 2).mean()


def td_structure_metrics(P, V, d: int) -> dict[str, float]:
    """How close a layer ``(P, V)`` is to [W25]'s construction, up to the symmetry ``(cV, P/c)`` (chapter 3).

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
    """Values ``-TF([context, x_q])[-1, -1]`` for many query states at once (chapter 3).

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
    """Mean squared value error ``sum_s mu(s) (v_hat(s) - v(s))^2`` over the last axis (chapter 3)."""
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
    """Hyper-parameters of :func:`td_pretrain` (chapter 3).

    The task and model follow [W25] (d = 4, |S| = 10, L = 3 shared layers, gamma = 0.9, 64 sliding windows
    per trajectory, Adam, weight decay 1e-6). Ours (chosen for a CPU budget of about a minute): 16 tasks per
    step instead of one, learning rate 5e-3 instead of 1e-3, gradient-norm clipping at 1, 4000 steps. How
    long the run sits on its initial plateau depends on the seed (seeds 0, 1, 3 reach ``v_mass > 0.8`` within
    4000 steps; seed 2 stays on the plateau).
    """

    d: int = 4
    n_states: int = 10
    n: int = 30
    n_layers: int = 3
    gamma: float = 0.9
    shared: bool = True
    n_steps: int = 4000
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
    """The trained model and the logged history (lists indexed by log step; ``step`` holds the step numbers) (chapter 3)."""

    model: LinearTransformer
    config: TDPretrainingConfig
    history: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"config": asdict(self.config), "history": self.history}


def td_pretrain(config: TDPretrainingConfig = TDPretrainingConfig(), progress: bool = False) -> TDPretrainingResult:
    """Pretrain a ``LinearTransformer`` (``D = 2d + 1``, mask on) with multi-task semi-gradient TD (chapter 3).

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
    length = cfg.n + 2 + cfg.windows_per_task        # windows_per_task + 1 windows: windows_per_task TD errors

    eval_tasks = sample_boyan_tasks(cfg.n_eval_tasks, cfg.n_states, cfg.d, cfg.gamma, eval_gen)
    eval_values, eval_weights = boyan_task_values(eval_tasks)
    eval_feats, eval_rewards = task_trajectories(eval_tasks, cfg.n + 3, eval_gen)
    eval_Z, _ = td_sliding_prompts(eval_feats[..., :-1, :], eval_rewards, cfg.n, cfg.gamma)   # one window
    eval_context = eval_Z[:, 0, :, :-1].float()
    eval_query = eval_tasks.features.float()

    history: dict[str, list] = {"step": [], "loss": [], "eval_msve": []}
    steps = range(1, cfg.n_steps + 1)
    if progress:
        from tqdm.auto import tqdm
        steps = tqdm(steps, desc="TD pretraining", unit="step")
    running = 0.0
    B, chunk = cfg.tasks_per_step, max(1, TASKS_PER_DRAW // cfg.tasks_per_step)
    for step in steps:
        k = (step - 1) % chunk
        if k == 0:
            # The tasks, trajectories and window moments of the next `chunk` steps in one batched draw.
            m = min(chunk, cfg.n_steps - step + 1)
            tasks = sample_boyan_tasks(m * B, cfg.n_states, cfg.d, cfg.gamma, gen)
            feats, rewards = task_trajectories(tasks, length, gen)
            block = window_moments(feats.view(m, B, length, cfg.d), rewards.view(m, B, length - 1), cfg.n,
                                   cfg.gamma, torch.float32)
        moments = WindowMoments(block.moment[k], block.x_query[k], block.query_rewards[k], cfg.n)
        loss = moment_td_loss(model, moments, cfg.gamma)
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
                v_hat = value_estimates(model, eval_context, eval_query)
                eval_msve = float(msve(v_hat.double(), eval_values, eval_weights).mean())
            n_avg = step % cfg.log_every or cfg.log_every
            history["step"].append(step)
            history["loss"].append(running / n_avg)
            history["eval_msve"].append(eval_msve)
            running = 0.0
            for l, (P, V) in enumerate(model.layer_params()[:1] if model.shared else model.layer_params()):
                for k, val in td_structure_metrics(P, V, cfg.d).items():
                    history.setdefault(f"layer{l}_{k}", []).append(val)
            if progress:
                steps.set_postfix(loss=f"{history['loss'][-1]:.3g}", msve=f"{eval_msve:.3g}")
    return TDPretrainingResult(model, cfg, history)
