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

from .._validation import (as_tensor, as_generator, broadcast_batch, check_gamma, check_int,
                           check_probability, check_real, check_shape)
from ..attention import LinearTransformer, apply_layers
from ..incontext import td_construction, td_sliding_prompts
from ..rl import MarkovRewardProcess, boyan_chain, mrp_values, sample_mrp_trajectory, stationary_distribution
from ._checks import check_bool, check_float_dtype, check_seeds
from .fit import OptimiserConfig, fit

__all__ = ["BoyanTasks", "TDPretrainingConfig", "TDPretrainingResult", "WindowMoments", "sample_boyan_tasks",
           "boyan_task_values", "task_trajectories", "window_moments", "values_from_moments",
           "td_pretraining_loss", "moment_td_loss", "td_structure_metrics", "value_estimates", "msve",
           "td_pretrain", "TASKS_PER_DRAW", "EvaluationSet", "evaluation_set", "initial_model",
           "expected_td_system", "expected_td_weights", "fitted_weights", "reference_weights", "implicit_weights",
           "construction_values", "td_similarity_metrics", "td_structure_success", "td_pretraining_sweep",
           "STEP_GRID", "SUCCESS_CRITERION"]

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
    _check_tasks(tasks)
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
    broadcast_batch({"features": features.shape, "rewards": rewards.shape}, {"features": 2, "rewards": 1})
    n = check_int(n, "n")
    if T < n + 3:
        raise ValueError(f"features must hold at least n + 3 = {n + 3} states (two windows); got {T}")
    g = check_gamma(gamma)
    dtype = features.dtype if dtype is None else check_float_dtype(dtype)
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
    _check_model(model)
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
    gamma = check_gamma(gamma)
    v = values_from_moments(model, moments)
    delta = moments.query_rewards + gamma * v[..., 1:].detach() - v[..., :-1]
    return (delta ** 2).mean()


def td_pretraining_loss(model: LinearTransformer, Z: torch.Tensor, query_rewards: torch.Tensor,
                        gamma: float) -> torch.Tensor:
    """Mean squared semi-gradient TD error of the model's own predictions over consecutive windows (chapter 3).

    ``Z`` (..., W, D, n+1) sliding-window prompts of one trajectory per task, ``query_rewards`` (..., W)
    (the last one is unused: the last window has no successor).
    """
    _check_model(model)
    Z = as_tensor(Z, "Z")
    check_shape(Z, "Z", (None, model.dim, None))
    query_rewards = as_tensor(query_rewards, "query_rewards")
    check_shape(query_rewards, "query_rewards", (Z.shape[-3],))
    broadcast_batch({"Z": Z.shape, "query_rewards": query_rewards.shape}, {"Z": 3, "query_rewards": 1})
    gamma = check_gamma(gamma)
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
    if not callable(model):
        raise ValueError(f"model must be a callable on prompts (a LinearTransformer); got {type(model).__name__}")
    context = as_tensor(context, "context")
    q = as_tensor(query_features, "query_features", dtype=context.dtype)
    check_shape(context, "context", (None, None))
    D = context.shape[-2]
    d = (D - 1) // 2
    check_shape(q, "query_features", (None, d))
    broadcast_batch({"context": context.shape, "query_features": q.shape}, {"context": 2, "query_features": 2})
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
    broadcast_batch({"v_hat": v_hat.shape, "v": v.shape, "weights": weights.shape}, {"v_hat": 1, "v": 1, "weights": 1})
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
        check_bool(self.shared, "shared")
        if check_real(self.init_gain, "init_gain") < 0:
            raise ValueError(f"init_gain must be >= 0; got {self.init_gain}")
        self.optimiser  # checks lr, weight_decay and grad_clip

    @property
    def optimiser(self) -> OptimiserConfig:
        """The optimiser part of the config: Adam with weight decay and gradient clipping. Linear attention is
        cubic in its input: a rare long trajectory on large features gives a huge gradient that can undo the
        learned structure; clipping keeps Adam on track."""
        return OptimiserConfig("adam", self.lr, self.weight_decay, self.grad_clip)


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
    A diverging run (NaN or inf loss) raises ``ValueError`` asking for a lower ``lr``.
    """
    if not isinstance(config, TDPretrainingConfig):
        raise ValueError(f"config must be a TDPretrainingConfig; got {type(config).__name__}")
    cfg = config
    gen = torch.Generator().manual_seed(cfg.seed)
    model = initial_model(cfg)
    length = cfg.n + 2 + cfg.windows_per_task        # windows_per_task + 1 windows: windows_per_task TD errors
    ev = evaluation_set(cfg)
    eval_context, eval_query = ev.context.float(), ev.tasks.features.float()
    B, chunk = cfg.tasks_per_step, max(1, TASKS_PER_DRAW // cfg.tasks_per_step)
    block = None

    def loss_fn(step: int) -> torch.Tensor:
        nonlocal block
        k = (step - 1) % chunk
        if k == 0:
            # The tasks, trajectories and window moments of the next `chunk` steps in one batched draw.
            m = min(chunk, cfg.n_steps - step + 1)
            tasks = sample_boyan_tasks(m * B, cfg.n_states, cfg.d, cfg.gamma, gen)
            feats, rewards = task_trajectories(tasks, length, gen)
            block = window_moments(feats.view(m, B, length, cfg.d), rewards.view(m, B, length - 1), cfg.n,
                                   cfg.gamma, torch.float32)
        return moment_td_loss(model, WindowMoments(block.moment[k], block.x_query[k], block.query_rewards[k], cfg.n),
                              cfg.gamma)

    def metrics(step: int) -> dict:
        v_hat = value_estimates(model, eval_context, eval_query)
        out = {"eval_msve": float(msve(v_hat.double(), ev.values, ev.weights).mean())}
        for l, (P, V) in enumerate(model.layer_params()[:1] if model.shared else model.layer_params()):
            out.update({f"layer{l}_{k}": val for k, val in td_structure_metrics(P, V, cfg.d).items()})
        return out

    history = fit(model.parameters(), loss_fn, cfg.optimiser, cfg.n_steps, log_every=cfg.log_every, log=metrics,
                  average_loss=True, progress=progress, desc="TD pretraining", change="lower lr (or set grad_clip)")
    return TDPretrainingResult(model, cfg, history)



# ---------------------------------------------------------------------------------------------------------
# Evaluation, references and [W25]'s comparison metrics (chapter 3, section 6)
# ---------------------------------------------------------------------------------------------------------

class EvaluationSet(NamedTuple):
    """The held-out chains of :func:`td_pretrain` (chapter 3): ``tasks`` (B chains), exact ``values`` and
    stationary ``weights`` (B, S), and ``context`` (B, 2d+1, n) float64, the first sliding window's context
    of one trajectory per chain (every state is evaluated as the query of this context)."""

    tasks: BoyanTasks
    values: torch.Tensor
    weights: torch.Tensor
    context: torch.Tensor


def evaluation_set(config: TDPretrainingConfig) -> EvaluationSet:
    """The :class:`EvaluationSet` :func:`td_pretrain` logs its ``eval_msve`` on (seed ``10000 + config.seed``; chapter 3)."""
    if not isinstance(config, TDPretrainingConfig):
        raise ValueError(f"config must be a TDPretrainingConfig; got {type(config).__name__}")
    cfg = config
    eval_gen = torch.Generator().manual_seed(10_000 + cfg.seed)
    tasks = sample_boyan_tasks(cfg.n_eval_tasks, cfg.n_states, cfg.d, cfg.gamma, eval_gen)
    values, weights = boyan_task_values(tasks)
    feats, rewards = task_trajectories(tasks, cfg.n + 3, eval_gen)
    Z, _ = td_sliding_prompts(feats[..., :-1, :], rewards, cfg.n, cfg.gamma)       # one window
    return EvaluationSet(tasks, values, weights, Z[:, 0, :, :-1])


def initial_model(config: TDPretrainingConfig) -> LinearTransformer:
    """The masked ``LinearTransformer`` :func:`td_pretrain` starts from (its seed is ``config.seed``; chapter 3)."""
    if not isinstance(config, TDPretrainingConfig):
        raise ValueError(f"config must be a TDPretrainingConfig; got {type(config).__name__}")
    return LinearTransformer(2 * config.d + 1, config.n_layers, shared=config.shared, mask=True,
                             init_gain=config.init_gain, seed=config.seed)


def _check_model(model) -> None:
    if not isinstance(model, LinearTransformer):
        raise ValueError(f"model must be a LinearTransformer; got {type(model).__name__}")


def _check_tasks(tasks) -> BoyanTasks:
    if not isinstance(tasks, BoyanTasks):
        raise ValueError(f"tasks must be BoyanTasks; got {type(tasks).__name__}")
    return tasks


def expected_td_system(tasks: BoyanTasks) -> tuple[torch.Tensor, torch.Tensor]:
    """The expected TD(0) system of each chain (chapter 3): ``A = X^T D_mu (X - gamma P X)`` (B, d, d) and
    ``b = X^T D_mu r`` (B, d), with ``mu`` the stationary distribution. The expected update is ``w + C (b - A w)``;
    the TD fixed point solves ``A w = b`` [textbook]."""
    tasks = _check_tasks(tasks)
    X, mrp = tasks.features.to(_F64), tasks.mrp
    mu = stationary_distribution(mrp)
    A = X.mT @ (mu.unsqueeze(-1) * (X - mrp.gamma * mrp.P @ X))
    b = (X * (mu * mrp.r).unsqueeze(-1)).sum(-2)
    return A, b


def expected_td_weights(tasks: BoyanTasks, n_layers: int, C=None) -> torch.Tensor:
    """``w_L`` after ``n_layers`` expected TD steps ``w <- w + C (b - A w)`` from ``w_0 = 0`` (chapter 3), (B, d).

    The limit ``n -> infinity`` of ``L`` construction layers with preconditioner ``C`` (``(d, d)``, default ``I``).
    """
    L = check_int(n_layers, "n_layers")
    A, b = expected_td_system(tasks)
    d = b.shape[-1]
    if C is None:
        C = torch.eye(d, dtype=_F64)
    C = as_tensor(C, "C", dtype=_F64)
    check_shape(C, "C", (d, d), batch=False)
    w = torch.zeros_like(b)
    for _ in range(L):
        w = w + ((b - (A @ w.unsqueeze(-1)).squeeze(-1)) @ C.T)
    return w


def fitted_weights(v, features, weights) -> torch.Tensor:
    """The ``mu``-weighted least-squares fit ``argmin_w sum_s mu(s) (w^T x(s) - v(s))^2`` (chapter 3), (..., d).

    ``v`` (..., S), ``features`` (..., S, d), ``weights`` (..., S) non-negative. With ``v`` the true values it is
    the best linear fit; with ``v`` a model's value function it is [W25]'s implicit weight of the model (for a
    masked linear transformer, whose output is linear in the query, it equals :func:`implicit_weights`).
    """
    features = as_tensor(features, "features", dtype=_F64)
    check_shape(features, "features", (None, None))
    S = features.shape[-2]
    v = as_tensor(v, "v", dtype=_F64)
    weights = as_tensor(weights, "weights", dtype=_F64)
    check_shape(v, "v", (S,))
    check_shape(weights, "weights", (S,))
    broadcast_batch({"v": v.shape, "features": features.shape, "weights": weights.shape},
                    {"v": 1, "features": 2, "weights": 1})
    if bool((weights < 0).any()):
        raise ValueError("weights must be non-negative")
    root = weights.sqrt()
    return torch.linalg.lstsq(root.unsqueeze(-1) * features, (root * v).unsqueeze(-1)).solution.squeeze(-1)


def reference_weights(tasks: BoyanTasks) -> dict[str, torch.Tensor]:
    """Context-free reference weights (B, d) of each chain (chapter 3): ``"v = 0"`` (where TD starts),
    ``"TD fixed point"`` (``A w = b``, :func:`expected_td_system`) and ``"best linear fit"`` (minimum MSVE,
    :func:`fitted_weights` of the exact values)."""
    tasks = _check_tasks(tasks)
    A, b = expected_td_system(tasks)
    values, mu = boyan_task_values(tasks)
    return {"v = 0": torch.zeros_like(b),
            "TD fixed point": torch.linalg.solve(A, b.unsqueeze(-1)).squeeze(-1),
            "best linear fit": fitted_weights(values, tasks.features, mu)}


def implicit_weights(model, context) -> torch.Tensor:
    """The weight ``w`` with ``v_hat(x_q) = w^T x_q`` of a masked model on a context (chapter 3), (..., d).

    A masked layer never uses the query as a source, so the query column is multiplied by a matrix that
    depends on the context only and the readout is linear in ``x_q``; ``w`` is read off the unit queries
    (:func:`value_estimates` at ``e_1, ..., e_d``). ``model`` is a masked ``LinearTransformer`` or any callable
    on prompts that is linear in the query; an unmasked ``LinearTransformer`` raises ``ValueError``.
    """
    if isinstance(model, LinearTransformer) and not model.mask:
        raise ValueError("model must mask the query (an unmasked model is not linear in the query)")
    if not callable(model):
        raise ValueError(f"model must be a callable on prompts (a LinearTransformer); got {type(model).__name__}")
    context = as_tensor(context, "context")
    check_shape(context, "context", (None, None))
    D = context.shape[-2]
    if D < 3 or D % 2 == 0:
        raise ValueError(f"context must have 2d+1 rows; got shape {tuple(context.shape)}")
    d = (D - 1) // 2
    return value_estimates(model, context, torch.eye(d, dtype=context.dtype))


def construction_values(context, features, n_layers: int, C) -> torch.Tensor:
    """Values of every state under ``n_layers`` masked construction layers (chapter 3), (B, S), float64.

    ``context`` (B, 2d+1, n), ``features`` (B, S, d); ``C`` one ``(d, d)`` preconditioner for all layers, a
    list/tensor of ``L`` of them, or a float ``alpha`` (``C = alpha I``).
    """
    context = as_tensor(context, "context", dtype=_F64)
    check_shape(context, "context", (None, None))
    d = (context.shape[-2] - 1) // 2
    L = check_int(n_layers, "n_layers")
    if isinstance(C, (int, float)) and not isinstance(C, bool):
        C = check_real(C, "C") * torch.eye(d, dtype=_F64)
    else:
        C = as_tensor(C, "C", dtype=_F64) if not isinstance(C, (list, tuple)) else C
    layers = td_construction(d, L, C)
    return value_estimates(lambda Z: apply_layers(Z, layers, mask=True), context, as_tensor(features, "features",
                                                                                          dtype=_F64))


def td_similarity_metrics(v_model, v_reference, features, weights) -> dict[str, torch.Tensor]:
    """[W25]'s comparison of a learned value function with batch TD's, per task (chapter 3; [code]).

    ``v_model``, ``v_reference`` (B, S) value functions on the same context, ``features`` (B, S, d), ``weights``
    (B, S) the stationary distributions. Returns ``value_difference`` ``sum_s mu(s) (v_model - v_reference)^2``
    (their VD) and ``implicit_weight_similarity``, the cosine between the :func:`fitted_weights` of the two
    value functions (their IWS; [W25] fit the learned one and differentiate the reference, which agree for
    a construction). Both (B,).
    """
    v_model = as_tensor(v_model, "v_model", dtype=_F64)
    check_shape(v_model, "v_model", (None,))
    v_reference = as_tensor(v_reference, "v_reference", dtype=_F64)
    check_shape(v_reference, "v_reference", (v_model.shape[-1],))
    w_m = fitted_weights(v_model, features, weights)
    w_r = fitted_weights(v_reference, features, weights)
    cos = (w_m * w_r).sum(-1) / (w_m.norm(dim=-1) * w_r.norm(dim=-1)).clamp_min(1e-300)
    return {"value_difference": msve(v_model, v_reference, as_tensor(weights, "weights", dtype=_F64)),
            "implicit_weight_similarity": cos}


#: Scalar step sizes ``alpha`` (``C = alpha I``) on which the construction is compared with a trained model.
STEP_GRID = tuple(round(0.05 * k, 2) for k in range(1, 81))
#: What counts as "training found the construction's structure" in every layer (fixed before the sweep).
SUCCESS_CRITERION = {"v_mass_min": 0.8, "p_rel_error_max": 0.3}


def td_structure_success(layer_metrics, v_mass_min: float = SUCCESS_CRITERION["v_mass_min"],
                         p_rel_error_max: float = SUCCESS_CRITERION["p_rel_error_max"]) -> bool:
    """Whether every layer has the construction's structure (chapter 3): ``v_mass >= v_mass_min``,
    ``p_rel_error <= p_rel_error_max`` and the sign pattern ``p_xx < 0 < p_xxn``.

    ``layer_metrics``: one :func:`td_structure_metrics` dict or a list of them (one per layer).
    """
    if isinstance(layer_metrics, dict):
        layer_metrics = [layer_metrics]
    if not isinstance(layer_metrics, (list, tuple)):
        raise ValueError(f"layer_metrics must be a td_structure_metrics dict or a list of them; got "
                         f"{type(layer_metrics).__name__}")
    layer_metrics = list(layer_metrics)
    if not layer_metrics:
        raise ValueError("layer_metrics must hold at least one layer's metrics")
    v_min, p_max = check_probability(v_mass_min, "v_mass_min"), check_real(p_rel_error_max, "p_rel_error_max")
    if p_max < 0:
        raise ValueError(f"p_rel_error_max must be >= 0; got {p_max}")
    keys = ("v_mass", "p_rel_error", "p_xx", "p_xxn")
    for m in layer_metrics:
        if not isinstance(m, dict) or not set(keys) <= set(m):
            raise ValueError("layer_metrics must be td_structure_metrics dicts")
        for k in keys:
            check_real(m[k], f"layer_metrics[{k!r}]")
    return all(m["v_mass"] >= v_min and m["p_rel_error"] <= p_max and m["p_xx"] < 0 < m["p_xxn"]
               for m in layer_metrics)


def _run_summary(result: TDPretrainingResult) -> dict:
    """Everything chapter 3 reports about one trained model, on its held-out chains (JSON-ready)."""
    cfg, model = result.config, result.model
    ev = evaluation_set(cfg)
    X, v, mu = ev.tasks.features, ev.values, ev.weights

    def model_values(m):
        with torch.no_grad():
            return value_estimates(m, ev.context.float(), X.float()).double()

    refs = {k: float(msve((X @ w.unsqueeze(-1)).squeeze(-1), v, mu).mean())
            for k, w in reference_weights(ev.tasks).items()}
    grid = [float(msve(construction_values(ev.context, X, cfg.n_layers, a), v, mu).mean()) for a in STEP_GRID]
    best = min(range(len(STEP_GRID)), key=grid.__getitem__)
    v_ref = construction_values(ev.context, X, cfg.n_layers, STEP_GRID[best])
    layers = result.model.layer_params()[:1] if cfg.shared else result.model.layer_params()
    metrics = [td_structure_metrics(P, V, cfg.d) for P, V in layers]
    eff = [m["p_scale"] * abs(float(V[-1, -1])) for m, (P, V) in zip(metrics, layers)]
    C_eff = torch.stack([e * torch.eye(cfg.d, dtype=_F64) for e in (eff * cfg.n_layers if cfg.shared else eff)])
    v_eff = construction_values(ev.context, X, cfg.n_layers, C_eff)
    out = {"seed": cfg.seed, "shared": cfg.shared, "layer_metrics": metrics,
           "success": td_structure_success(metrics), "effective_step": eff,
           "msve_effective_step_construction": float(msve(v_eff, v, mu).mean()),
           "reference_msve": refs, "construction_msve_grid": grid, "best_grid_step": STEP_GRID[best],
           "history": result.history}
    for name, m in (("initial", initial_model(cfg)), ("final", model)):
        vm = model_values(m)
        sim = td_similarity_metrics(vm, v_ref, X, mu)
        out[f"{name}_msve"] = float(msve(vm, v, mu).mean())
        out[f"{name}_value_difference"] = float(sim["value_difference"].mean())
        out[f"{name}_implicit_weight_similarity"] = float(sim["implicit_weight_similarity"].mean())
    out["reference_value_scale"] = float(msve(torch.zeros_like(v_ref), v_ref, mu).mean())
    return out


def td_pretraining_sweep(seeds, shared=(True, False), n_steps: int | None = None, progress: bool = False,
                         log=None) -> dict:
    """Train :func:`td_pretrain` for every seed and parameter sharing; the JSON chapter 3 loads.

    ``shared``: ``True`` (one ``(P, V)`` for all layers) and/or ``False`` ([W25]'s "sequential" mode: one pair
    per layer). Each run reports, on its held-out chains (:func:`evaluation_set`): the structure metrics per
    layer and :func:`td_structure_success`; the held-out MSVE before and after training; the references
    (:func:`reference_weights`); the construction's MSVE on :data:`STEP_GRID` and its best step there; the
    learned effective step ``v c`` per layer and the MSVE of the construction with that step; and [W25]'s
    value difference and implicit weight similarity (:func:`td_similarity_metrics`) to the best-grid-step
    construction, before and after training. ``log(str)`` is called after each run.
    """
    seeds = check_seeds(seeds)
    shared = [check_bool(m, "shared") for m in ((shared,) if isinstance(shared, bool) else shared)]
    if not shared:
        raise ValueError("shared must hold True and/or False")
    overrides = {} if n_steps is None else {"n_steps": check_int(n_steps, "n_steps")}
    runs = []
    for mode in shared:
        for seed in seeds:
            cfg = TDPretrainingConfig(seed=seed, shared=mode, **overrides)
            run = _run_summary(td_pretrain(cfg, progress=progress))
            runs.append(run)
            if log is not None:
                log(f"{'shared' if mode else 'sequential'} seed {seed}: success = {run['success']}, "
                    f"v_mass = {[round(m['v_mass'], 3) for m in run['layer_metrics']]}, "
                    f"p_rel_error = {[round(m['p_rel_error'], 3) for m in run['layer_metrics']]}, "
                    f"MSVE {run['initial_msve']:.3g} -> {run['final_msve']:.3g}, "
                    f"IWS {run['final_implicit_weight_similarity']:.3g}")
    return {"config": asdict(TDPretrainingConfig(**overrides)), "seeds": seeds, "shared": shared,
            "success_criterion": dict(SUCCESS_CRITERION), "step_grid": list(STEP_GRID), "runs": runs}
