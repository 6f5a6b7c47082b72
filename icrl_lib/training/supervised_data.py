"""Data, exact references and experiments of supervised pretraining ([LBM24], [DPT23], [AD22]; chapter 9).

- :func:`collect_bandit_data`: trajectories of a context algorithm ``Alg_0`` on sampled tasks, labelled for AD
  (the context actions) or DPT (the optimal action of the task).
- :func:`posterior_sampling`: the DPT reduced expert of a Beta-Bernoulli bandit, ``P(a* = a | D_t)`` exactly
  (the law of Thompson sampling's next action); :func:`all_histories` enumerates every short history;
  :func:`distribution_ratio` computes [LBM24]'s ``R_{TS, Alg_0}`` exactly by enumeration or by Monte Carlo.
- :func:`bandit_pretraining_experiment`: the CLI's ``dpt-bandit`` / ``ad-bandit`` runs (train, then online regret
  against TS, UCB and Emp on held-out tasks, and offline greedy suboptimality against Emp and LCB).
- :func:`darkroom_tokens`, :func:`darkroom_online`, :func:`darkroom_experiment`: DPT on the 5 x 5 Dark Room.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, NamedTuple

import torch

from .._validation import (as_generator, as_tensor, check_indices, check_int, check_positive, check_probability,
                           check_real)
from ..rl import (BernoulliBandit, DarkRoom, GaussianBandit, beta_bernoulli_optimal_action_probs, mean_and_se,
                  darkroom_goal_split, empirical_greedy, lcb, mixture, regret, run_bandit, suboptimality,
                  thompson_sampling, ucb, uniform)
from ._checks import check_choice
from .supervised import (ATTENTIONS, DecisionTransformer, check_bandit, check_model, action_probabilities,
                         bandit_token_dim, bandit_tokens, pretrain_supervised, transformer_expert)

__all__ = ["BanditDataset", "collect_bandit_data", "posterior_sampling", "all_histories",
           "beta_bernoulli_log_evidence", "distribution_ratio", "distribution_ratio_curve", "BanditPretrainingConfig", "CLI_DEFAULTS", "bandit_cli_config", "supervised_cli", "bandit_experts", "bandit_pretraining_experiment",
           "darkroom_token_dim", "darkroom_tokens", "darkroom_dataset", "darkroom_online", "DarkRoomConfig",
           "darkroom_experiment"]

LABELS = ("ad", "dpt")
#: How the context algorithm mixes TS and uniform play (chapter 9): whole trajectories ([LBM24]'s code) or
#: every round (our variant).
MIXTURES = ("trajectory", "round")


class BanditDataset(NamedTuple):
    """Pretraining trajectories (chapter 9): the tasks ``bandit`` (B tasks), the context algorithm's ``actions``
    (B, T) and ``rewards`` (B, T), and the expert ``labels`` (B, T) (AD: the actions; DPT: ``a*`` repeated)."""

    bandit: object
    actions: torch.Tensor
    rewards: torch.Tensor
    labels: torch.Tensor

    def tokens(self) -> torch.Tensor:
        """:func:`icrl_lib.training.bandit_tokens` of the trajectories, (B, T + 1, token_dim) (chapter 9)."""
        return bandit_tokens(self.bandit, self.actions, self.rewards)


def collect_bandit_data(bandit, context_expert: Callable, horizon: int, generator, labels: str = "dpt"
                        ) -> BanditDataset:
    """Run the context algorithm ``context_expert`` (any expert of :mod:`icrl_lib.rl.experts`, e.g.
    ``mixture(alpha, thompson_sampling(), uniform())``) for ``horizon`` rounds on every task of ``bandit`` and
    label each round (chapter 9): ``labels="ad"`` the context actions ([AD22]), ``"dpt"`` the optimal action of
    the task ([DPT23]). ``generator``: torch.Generator or int seed."""
    if labels not in LABELS:
        raise ValueError(f"labels must be one of {LABELS}; got {labels!r}")
    if not callable(context_expert):
        raise ValueError(f"context_expert must be an expert callable (rl.experts); got {context_expert!r}")
    traj = run_bandit(bandit, context_expert, horizon, as_generator(generator))
    lab = traj.actions.clone() if labels == "ad" else bandit.optimal_action.unsqueeze(-1).expand_as(traj.actions)
    return BanditDataset(bandit, traj.actions, traj.rewards, lab.contiguous())


def posterior_sampling() -> Callable:
    """The DPT reduced expert of a Beta(1, 1)-Bernoulli bandit (chapter 9): the expert whose distribution is the
    exact posterior ``P(a* = a | D_t)`` (:func:`icrl_lib.rl.beta_bernoulli_optimal_action_probs`), i.e. the law
    of Thompson sampling's next action, as probabilities rather than one draw."""
    def expert(bandit, actions, rewards, generator=None):
        check_bandit(bandit)
        return beta_bernoulli_optimal_action_probs(actions, rewards, bandit.n_arms).to(bandit.dtype)
    return expert


def all_histories(t: int, n_arms: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Every history of length ``t`` of an ``n_arms`` Bernoulli bandit (chapter 9): ``actions`` (K, t) int64 and
    ``rewards`` (K, t) float64 in {0, 1}, ``K = (2 A)^t``, in lexicographic order of the pairs ``(a_s, r_s)``."""
    t = check_int(t, "t", minimum=0)
    A = check_int(n_arms, "n_arms", minimum=2)
    K = (2 * A) ** t
    if K > 2 ** 22:
        raise ValueError(f"t is too large: (2 n_arms)^t = {K} histories (limit 2^22)")
    code = torch.arange(K).unsqueeze(-1) // (2 * A) ** torch.arange(t - 1, -1, -1) % (2 * A)   # (K, t)
    return code // 2, (code % 2).double()


def beta_bernoulli_log_evidence(actions, rewards, n_arms: int) -> torch.Tensor:
    """``log P(r_1..r_t | a_1..a_t)`` (...,) of binary rewards under independent Beta(1, 1) priors, the product of
    Laplace's rule ``P(r_s = 1 | D_{s-1}, a_s) = (S_a + 1) / (n_a + 2)`` over the rounds (chapter 9).
    ``actions`` (..., t) int64, ``rewards`` (..., t) in {0, 1}."""
    A = check_int(n_arms, "n_arms", minimum=2)
    actions = check_indices(actions, "actions", A)
    rewards = as_tensor(rewards, "rewards", dtype=torch.float64)
    if rewards.shape != actions.shape or actions.dim() < 1:
        raise ValueError(f"rewards must have the shape of actions {tuple(actions.shape)} (..., t); got "
                         f"{tuple(rewards.shape)}")
    if bool(((rewards != 0) & (rewards != 1)).any()):
        raise ValueError("rewards must be binary (0 or 1)")
    oh = torch.nn.functional.one_hot(actions, A).double()                                       # (..., t, A)
    r = rewards.unsqueeze(-1)
    n_a = ((oh.cumsum(-2) - oh) * oh).sum(-1)
    s_a = (((oh * r).cumsum(-2) - oh * r) * oh).sum(-1)
    p1 = (s_a + 1) / (n_a + 2)
    return torch.where(rewards > 0, p1, 1 - p1).log().sum(-1)


def distribution_ratio_curve(alpha: float, horizon: int, n_arms: int = 2) -> list[float]:
    """``[R_1, ..., R_T]``: :func:`distribution_ratio` at every horizon up to ``horizon``, exactly, by a forward
    recursion over the per-arm success and failure counts (chapter 9; ours). The TS probabilities and the
    predictive, hence both factors of every step, depend on the history only through these counts, so the sum over
    ``(2A)^T`` trajectories becomes a sum over ``O(T^(2A-1))`` count vectors."""
    alpha = check_probability(alpha, "alpha")
    T, A = check_int(horizon, "horizon"), check_int(n_arms, "n_arms", minimum=2)
    counts = torch.zeros(1, 2 * A, dtype=torch.long)                                # (s_0, f_0, s_1, f_1, ...)
    w = torch.ones(1, dtype=torch.float64)
    out = []
    for t in range(T):
        # one canonical history per count vector: arm 0's successes, then its failures, then arm 1's, ...
        code = torch.arange(2 * A).expand_as(counts).reshape(-1)
        idx = torch.repeat_interleave(code, counts.reshape(-1)).view(counts.shape[0], t)
        ts = beta_bernoulli_optimal_action_probs(idx // 2, (idx % 2 == 0).double(), A)   # (K, A)
        factor = ts * ts / (alpha * ts + (1 - alpha) / A)                           # TS prob x ratio
        s_a, f_a = counts[:, 0::2].double(), counts[:, 1::2].double()
        p1 = (s_a + 1) / (s_a + f_a + 2)
        new_counts, new_w = [], []
        for a in range(A):
            for slot, pr in ((2 * a, p1[:, a]), (2 * a + 1, 1 - p1[:, a])):
                c = counts.clone()
                c[:, slot] += 1
                new_counts.append(c)
                new_w.append(w * factor[:, a] * pr)
        counts, inv = torch.unique(torch.cat(new_counts), dim=0, return_inverse=True)
        w = torch.zeros(counts.shape[0], dtype=torch.float64).index_add_(0, inv, torch.cat(new_w))
        out.append(float(w.sum()))
    return out


def distribution_ratio(alpha: float, horizon: int, n_arms: int = 2, method: str = "enumerate",
                       n_samples: int = 10000, seed: int = 0, mixture: str = "round") -> tuple[float, float]:
    """[LBM24]'s distribution ratio ``R = E_{D ~ TS}[P^TS(D) / P^{Alg_0}(D)]`` of Thompson sampling against the
    context algorithm ``Alg_0`` that mixes TS (share ``alpha``) and uniform play on a Beta(1, 1)-Bernoulli bandit
    (chapter 9). The rewards' likelihoods cancel in the ratio.

    ``mixture="round"`` (our per-round variant): ``Alg_0 = alpha TS + (1 - alpha) uniform`` at every round, so the
    ratio is ``E_TS[prod_s p_s / (alpha p_s + (1 - alpha) / A)]`` with ``p_s = TS(a_s | D_{s-1})``; it can grow
    like ``(A / (1 + (A - 1) alpha))^T``. ``mixture="trajectory"`` ([LBM24]'s code): each trajectory is entirely TS
    with probability ``alpha``, else entirely uniform, so ``P^{Alg_0} = alpha P^TS + (1 - alpha) P^unif`` and the
    ratio is ``E_TS[1 / (alpha + (1 - alpha) prod_s (1/A) / p_s)] <= 1 / alpha``.

    ``method``: ``"enumerate"`` sums over all ``(2A)^T`` trajectories (the trajectory law uses the
    Beta-Bernoulli predictive); ``"counts"`` (``mixture="round"`` only) is the same sum organised as a forward
    recursion over the per-arm success and failure counts (exact for long horizons; ours); both return
    ``(R, 0.0)``. ``"mc"`` averages the ratio over ``n_samples`` TS trajectories on tasks from the prior and
    returns ``(estimate, standard error)`` (heavy-tailed for the per-round mixture and small ``alpha``; bounded
    by ``1 / alpha`` for the trajectory mixture).
    """
    alpha = check_probability(alpha, "alpha")
    T, A = check_int(horizon, "horizon"), check_int(n_arms, "n_arms", minimum=2)
    check_choice(mixture, "mixture", MIXTURES)
    if method not in ("enumerate", "counts", "mc"):
        raise ValueError(f"method must be 'enumerate', 'counts' or 'mc'; got {method!r}")
    if method == "counts":
        if mixture != "round":
            raise ValueError("method='counts' needs mixture='round' (the trajectory mixture's ratio depends on the "
                             "whole path, not on the counts); use 'enumerate' or 'mc'")
        return distribution_ratio_curve(alpha, T, A)[-1], 0.0

    def ratio(log_p_ts):                      # log P^TS(actions) (...,) -> the density ratio TS / Alg_0
        if mixture == "trajectory":
            log_u = -T * math.log(A)
            return 1.0 / (alpha + (1 - alpha) * torch.exp(log_u - log_p_ts))
        raise AssertionError

    if method == "enumerate":
        if (2 * A) ** T > 2 ** 22:
            raise ValueError(f"horizon too long for enumeration ((2A)^T = {(2 * A) ** T}); use method='counts'")
        actions, rewards = all_histories(T, A)
        log_p = beta_bernoulli_log_evidence(actions, rewards, A)
        log_ts = torch.zeros(actions.shape[0], dtype=torch.float64)
        log_ratio = torch.zeros(actions.shape[0], dtype=torch.float64)
        for s in range(T):
            ts = beta_bernoulli_optimal_action_probs(actions[:, :s], rewards[:, :s], A)
            p = ts.gather(-1, actions[:, s:s + 1]).squeeze(-1)
            log_ts = log_ts + p.log()
            log_ratio = log_ratio + p.log() - (alpha * p + (1 - alpha) / A).log()
        if mixture == "trajectory":
            w = torch.exp(log_p + log_ts) * ratio(log_ts)
            return float(torch.nan_to_num(w).sum()), 0.0
        return float(torch.exp(log_p + log_ts + log_ratio).sum()), 0.0
    n = check_int(n_samples, "n_samples", minimum=2)
    g = as_generator(seed)
    bandit = BernoulliBandit.sample(n, A, g)
    traj = run_bandit(bandit, posterior_sampling(), T, g)
    p = traj.probs.gather(-1, traj.actions.unsqueeze(-1)).squeeze(-1)
    if mixture == "trajectory":
        w = ratio(p.log().sum(-1))
    else:
        w = torch.exp((p.log() - (alpha * p + (1 - alpha) / A).log()).sum(-1))
    m, se = mean_and_se(w)
    return float(m), float(se)


@dataclass
class BanditPretrainingConfig:
    """Settings of a bandit pretraining run (chapter 9; the CLI's ``dpt-bandit`` and ``ad-bandit`` defaults).

    ``bandit``: ``"gaussian"`` (means ``U[0, 1]``, noise ``sigma``) or ``"bernoulli"``; ``labels``: ``"dpt"`` or
    ``"ad"``; ``context``: ``"mixture"`` (TS with share ``alpha``, else uniform) or ``"ucb"`` (UCB with ``ucb_c``,
    AD's source); ``mixture``: ``"trajectory"`` (default, [LBM24]'s code: each trajectory is entirely TS with
    probability ``alpha``, else entirely uniform; the coin of task ``b`` is drawn from a generator of its own,
    seeded by ``seed``) or ``"round"`` (our ablation: ``alpha TS + (1 - alpha) uniform`` at every round). At
    ``alpha`` 0 or 1 both give the same data. Training: ``n_train_tasks`` trajectories of ``horizon`` rounds, ``n_steps`` Adam
    steps of ``batch_size`` trajectories. Evaluation: ``n_eval_tasks`` fresh tasks, online for ``horizon``
    rounds, offline greedy after the first ``n`` rounds of a context-algorithm trajectory for ``n`` in
    ``offline_sizes`` (DPT only).
    """

    bandit: str = "gaussian"
    n_arms: int = 5
    sigma: float = 0.3
    horizon: int = 50
    labels: str = "dpt"
    context: str = "mixture"
    alpha: float = 0.5
    ucb_c: float = 1.0
    n_train_tasks: int = 40000
    n_eval_tasks: int = 500
    n_layers: int = 3
    d_model: int = 32
    n_heads: int = 2
    attention: str = "softmax"
    n_steps: int = 3000
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    offline_sizes: tuple = (5, 10, 20, 40)
    mixture: str = "trajectory"

    def __post_init__(self):
        check_choice(self.mixture, "mixture", MIXTURES)
        check_choice(self.bandit, "bandit", ("gaussian", "bernoulli"))
        check_choice(self.labels, "labels", LABELS)
        check_choice(self.context, "context", ("mixture", "ucb"))
        check_choice(self.attention, "attention", ATTENTIONS)
        check_probability(self.alpha, "alpha")
        check_positive(self.sigma, "sigma")
        if check_real(self.ucb_c, "ucb_c") < 0:
            raise ValueError(f"ucb_c must be >= 0; got {self.ucb_c}")
        for name in ("n_arms", "horizon", "n_train_tasks", "n_eval_tasks", "n_layers", "d_model", "n_heads",
                     "n_steps", "batch_size"):
            check_int(getattr(self, name), name, minimum=2 if name in ("n_arms", "n_eval_tasks") else 1)
        if self.d_model % self.n_heads:
            raise ValueError(f"n_heads must divide d_model; got d_model = {self.d_model}, n_heads = {self.n_heads}")
        check_positive(self.lr, "lr")
        check_int(self.seed, "seed", minimum=0)
        if not isinstance(self.offline_sizes, (tuple, list)):
            raise ValueError(f"offline_sizes must be a tuple of integers in [1, horizon - 1]; got "
                             f"{self.offline_sizes!r}")
        for n in self.offline_sizes:
            check_int(n, "offline_sizes")
            if n >= self.horizon:
                raise ValueError(f"offline_sizes must hold integers in [1, horizon - 1 = {self.horizon - 1}] (the "
                                 f"greedy action after n of the horizon's rounds); got {n}")
        self.offline_sizes = tuple(int(n) for n in self.offline_sizes)


#: The CLI's defaults (chapter 9): ``dpt-bandit`` is DPT on Gaussian bandits (A = 5, sigma = 0.3, [DPT23]'s
#: setting at CPU size, context algorithm 0.5 TS + 0.5 uniform); ``ad-bandit`` is AD on UCB for 5-armed Bernoulli
#: bandits (Alg_0 = Alg_E = UCB, labels = its actions).
CLI_DEFAULTS = {
    "dpt-bandit": {},
    "ad-bandit": {"bandit": "bernoulli", "labels": "ad", "context": "ucb", "n_train_tasks": 10000, "n_steps": 1500},
}


def bandit_cli_config(name: str, **overrides) -> BanditPretrainingConfig:
    """The configuration of the CLI run ``name`` (``"dpt-bandit"`` or ``"ad-bandit"``, :data:`CLI_DEFAULTS`)
    with ``overrides`` whose value is not None (chapter 9). A shorter ``horizon`` without ``offline_sizes`` keeps
    the default offline sizes below it."""
    if name not in CLI_DEFAULTS:
        raise ValueError(f"name must be one of {sorted(CLI_DEFAULTS)}; got {name!r}")
    fields = set(BanditPretrainingConfig.__dataclass_fields__)
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ValueError(f"overrides must be fields of BanditPretrainingConfig; got {', '.join(unknown)}")
    kw = {**CLI_DEFAULTS[name], **{k: v for k, v in overrides.items() if v is not None}}
    if "horizon" in kw and "offline_sizes" not in kw and isinstance(kw["horizon"], int):
        kw["offline_sizes"] = tuple(n for n in BanditPretrainingConfig.offline_sizes if n < kw["horizon"])
    return BanditPretrainingConfig(**kw)


def _sample_tasks(cfg: BanditPretrainingConfig, n: int, g: torch.Generator):
    if cfg.bandit == "gaussian":
        return GaussianBandit.sample(n, cfg.n_arms, cfg.sigma, g)
    return BernoulliBandit.sample(n, cfg.n_arms, g)


def _ucb_scale(cfg: BanditPretrainingConfig) -> float:
    # UCB's bonus is scaled to the noise: c * sigma for Gaussian rewards, c for Bernoulli
    return cfg.ucb_c * (cfg.sigma if cfg.bandit == "gaussian" else 1.0)


def _check_cfg(cfg, cls) -> None:
    if not isinstance(cfg, cls):
        raise ValueError(f"cfg must be a {cls.__name__}; got {type(cfg).__name__}")


def bandit_experts(cfg: BanditPretrainingConfig) -> dict:
    """The reference experts of chapter 9's comparisons: ``ts`` (Thompson sampling with the bandit's conjugate
    prior), ``ucb`` (bonus ``c sqrt(2 log t / n)`` with ``c = ucb_c * sigma`` for Gaussian rewards, ``ucb_c``
    for Bernoulli), ``emp`` (empirical greedy) and the context algorithm ``context``."""
    _check_cfg(cfg, BanditPretrainingConfig)
    if cfg.context == "ucb":
        ctx = ucb(_ucb_scale(cfg))
    elif cfg.mixture == "round":
        ctx = mixture(cfg.alpha, thompson_sampling(), uniform())
    else:
        ctx = _trajectory_mixture(cfg.alpha, thompson_sampling(), uniform(), 40_000 + cfg.seed)
    return {"ts": thompson_sampling(), "ucb": ucb(_ucb_scale(cfg)), "emp": empirical_greedy(), "context": ctx}


def _trajectory_mixture(alpha: float, first: Callable, second: Callable, seed: int) -> Callable:
    # [LBM24]'s mixed context algorithm: task b follows `first` for its whole trajectory when its coin
    # (Bernoulli(alpha), drawn from a generator of its own so that the other draws are those of the per-round
    # mixture) says so, else `second`. Stateless: the coins are recomputed from `seed` at every call.
    def expert(bandit, actions, rewards, generator=None):
        coins = torch.rand(bandit.n_tasks, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        p1 = first(bandit, actions, rewards, generator).to(bandit.dtype)
        p2 = second(bandit, actions, rewards, generator).to(bandit.dtype)
        return torch.where((coins < alpha).unsqueeze(-1), p1, p2)
    return expert


def bandit_pretraining_experiment(cfg: BanditPretrainingConfig, progress: bool | Callable = False,
                                  log: Callable[[str], None] | None = None, device=None) -> dict:
    """Train a :class:`DecisionTransformer` on ``cfg`` and evaluate it (chapter 9; the CLI's ``dpt-bandit``
    and ``ad-bandit``). Returns a JSON-ready dict:

    - ``horizon``, ``n_tasks`` (held-out tasks), ``regret``: ``{name: {"mean", "se"}}`` cumulative pseudo-regret
      at the horizon for the model (``"dpt"`` or ``"ad"``), ``ts``, ``ucb``, ``emp``, ``ucb_dpt`` ([DPT23]'s UCB,
      bonus ``1 / sqrt(n)``) (and the context algorithm ``context`` when it differs from these);
    - ``curves``: per name the mean cumulative regret and the mean per-step suboptimality at every round;
    - ``offline`` (DPT): ``{n: {name: {"mean", "se"}}}`` suboptimality of the greedy action after ``n`` rounds of
      a context-algorithm trajectory for the model, ``emp`` (online convention), ``emp_dpt`` ([DPT23]'s offline
      greedy) and ``lcb``;
    - ``training`` (loss history), ``config``, ``seconds`` (CPU seconds of training and evaluation).

    ``device``: where the model trains (:func:`pretrain_supervised`); data and evaluation stay on the CPU.
    """
    _check_cfg(cfg, BanditPretrainingConfig)
    log = log or (lambda line: None)
    t0 = time.process_time()
    g = torch.Generator().manual_seed(cfg.seed)
    experts = bandit_experts(cfg)
    train = collect_bandit_data(_sample_tasks(cfg, cfg.n_train_tasks, g), experts["context"], cfg.horizon, g,
                                cfg.labels)
    tokens = train.tokens()
    model = DecisionTransformer(bandit_token_dim(train.bandit), cfg.n_arms, cfg.n_layers, cfg.d_model, cfg.n_heads,
                                cfg.attention, max_len=cfg.horizon + 1, seed=cfg.seed)
    log(f"collected {cfg.n_train_tasks} trajectories in {time.process_time() - t0:.0f} s CPU")
    result = pretrain_supervised(model, tokens, train.labels, cfg.n_steps, cfg.batch_size, cfg.lr, seed=cfg.seed,
                                 log_every=max(1, cfg.n_steps // 20), progress=progress, device=device)
    t_train = time.process_time() - t0
    log(f"trained in {t_train:.0f} s CPU; final loss {result.history['loss'][-1]:.4g}")

    g_eval = torch.Generator().manual_seed(10_000 + cfg.seed)
    test = _sample_tasks(cfg, cfg.n_eval_tasks, g_eval)
    name = cfg.labels
    runs = {name: transformer_expert(model), "ts": experts["ts"], "ucb": experts["ucb"], "emp": experts["emp"]}
    if cfg.context == "mixture" and cfg.alpha < 1:
        runs["context"] = experts["context"]
    runs["ucb_dpt"] = ucb(1.0, bonus="dpt")                      # [DPT23]'s UCB baseline (their c = 1)
    out = {"horizon": cfg.horizon, "n_tasks": cfg.n_eval_tasks, "regret": {}, "curves": {}}
    for k, expert in runs.items():
        traj = run_bandit(test, expert, cfg.horizon, 20_000 + cfg.seed)
        R = regret(test, traj.actions)
        m, se = mean_and_se(R[:, -1])
        out["regret"][k] = {"mean": float(m), "se": float(se)}
        out["curves"][k] = {"regret": R.mean(0).tolist(), "suboptimality": suboptimality(test, traj.actions).mean(0).tolist()}
        log(f"{k:>8}: regret at T = {cfg.horizon}: {float(m):.3f} +- {float(se):.3f}")
    if cfg.labels == "dpt":
        data = run_bandit(test, experts["context"], cfg.horizon, 30_000 + cfg.seed)
        probs = action_probabilities(model, bandit_tokens(test, data.actions, data.rewards))      # (B, T + 1, A)
        out["offline"] = {}
        for n in (n for n in cfg.offline_sizes if n < cfg.horizon):
            a, r = data.actions[:, :n], data.rewards[:, :n]
            picks = {name: probs[:, n].argmax(-1), "emp": empirical_greedy()(test, a, r).argmax(-1),
                     "emp_dpt": empirical_greedy(online=False)(test, a, r).argmax(-1),
                     "lcb": lcb(_ucb_scale(cfg))(test, a, r).argmax(-1)}
            out["offline"][str(n)] = {}
            for k, act in picks.items():
                m, se = mean_and_se(suboptimality(test, act.unsqueeze(-1))[:, 0])
                out["offline"][str(n)][k] = {"mean": float(m), "se": float(se)}
    out["training"] = result.history
    out["config"] = asdict(cfg)
    out["seconds"] = {"train": t_train, "total": time.process_time() - t0}
    return out


# ------------------------------------------------------------------------------------------------ Dark Room

ENCODINGS = ("xy", "onehot")


def darkroom_token_dim(room: DarkRoom, encoding: str = "xy") -> int:
    """Token size of :func:`darkroom_tokens` (chapter 9): ``1 + 2 + 2 + A + 1 + 2`` with ``encoding="xy"``,
    ``1 + S + A + 1 + S`` with ``"onehot"``."""
    check_choice(encoding, "encoding", ENCODINGS)
    _check_room(room, encoding)
    if encoding == "xy":
        return 8 + room.n_actions
    return 2 + room.n_actions + 2 * room.n_states


def _check_room(room, encoding: str = "onehot") -> None:
    # a DarkRoom, or (one-hot codes only) any environment with n_states and n_actions, e.g. a TabularMDP
    if isinstance(room, DarkRoom):
        return
    if encoding == "xy" or not all(isinstance(getattr(room, k, None), int) for k in ("n_states", "n_actions")):
        raise ValueError(f"room must be a DarkRoom (or, with encoding='onehot', an MDP with integer n_states and "
                         f"n_actions); got {type(room).__name__}")


def _cells(room: DarkRoom, s: torch.Tensor, encoding: str) -> torch.Tensor:
    if encoding == "onehot":
        return torch.nn.functional.one_hot(s, room.n_states).double()
    return torch.stack([s // room.size, s % room.size], -1).double() / (room.size - 1)


def darkroom_tokens(room: DarkRoom, queries, states, actions, rewards, next_states, encoding: str = "xy"
                    ) -> torch.Tensor:
    """DPT tokens for the Dark Room (chapter 9), shape (B, n + 1, :func:`darkroom_token_dim`).

    Token 0 is the query ``(1, c(q), 0, 0, 0, 0)``; token ``j >= 1`` is transition ``j`` of the context,
    ``(0, 0, c(s_j), onehot(a_j), r_j, c(s'_j))``, where a cell's code ``c`` is its coordinates ``(x, y) / (size - 1)``
    (``encoding="xy"``, the chapter's) or its one-hot (``"onehot"``; then the query's code shares the slot of
    ``c(s_j)``). ``queries`` (B,) and the transitions (B, n), ``n`` may be 0. The prediction at position ``j`` is
    the action for the query state given the first ``j`` transitions.
    """
    dim = darkroom_token_dim(room, encoding)
    A, S = room.n_actions, room.n_states
    q = check_indices(queries, "queries", S)
    s = check_indices(states, "states", S)
    a = check_indices(actions, "actions", A)
    s2 = check_indices(next_states, "next_states", S)
    r = as_tensor(rewards, "rewards", dtype=torch.float64)
    if s.dim() != 2:
        raise ValueError(f"states must have shape (B, n); got {tuple(s.shape)}")
    B, n = s.shape
    if q.shape != (B,) or a.shape != (B, n) or s2.shape != (B, n) or r.shape != (B, n):
        raise ValueError(f"queries must have shape (B,) and the transitions (B, n) = ({B}, {n}); got "
                         f"{tuple(q.shape)}, {tuple(a.shape)}, {tuple(r.shape)}, {tuple(s2.shape)}")
    c = 2 if encoding == "xy" else room.n_states                  # size of one cell code
    q_slot, s_slot = 1, (3 if encoding == "xy" else 1)            # onehot: the query shares the slot of s_j
    tok = torch.zeros(B, n + 1, dim, dtype=torch.float64)
    tok[:, 0, 0] = 1.0
    tok[:, 0, q_slot:q_slot + c] = _cells(room, q, encoding)
    if n:
        tok[:, 1:, s_slot:s_slot + c] = _cells(room, s, encoding)
        tok[:, 1:, s_slot + c:s_slot + c + A] = torch.nn.functional.one_hot(a, A).double()
        tok[:, 1:, s_slot + c + A] = r
        tok[:, 1:, s_slot + c + A + 1:] = _cells(room, s2, encoding)
    return tok


def darkroom_dataset(room: DarkRoom, n_contexts: int, context_len: int, generator, encoding: str = "xy"
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """DPT pretraining data for the Dark Room (chapter 9): for each goal of ``room``, ``n_contexts`` contexts of
    ``context_len`` uniformly random transitions and a uniform query state, labelled at every position with the
    query's optimal action. Returns ``tokens`` (B * n_contexts, n + 1, dim) and ``labels`` (B * n_contexts, n + 1).
    ``generator``: a ``torch.Generator`` or an int seed."""
    check_choice(encoding, "encoding", ENCODINGS)
    _check_room(room, encoding)
    n_contexts, n = check_int(n_contexts, "n_contexts"), check_int(context_len, "context_len")
    g = as_generator(generator)
    big = room.select(torch.arange(room.n_tasks).repeat_interleave(n_contexts))
    tr = big.random_transitions(n, g)
    q = torch.randint(room.n_states, (big.n_tasks,), generator=g)
    labels = big.optimal_actions().gather(1, q.unsqueeze(-1)).expand(big.n_tasks, n + 1)
    return darkroom_tokens(big, q, *tr, encoding=encoding), labels.contiguous()


def darkroom_online(model: DecisionTransformer, room: DarkRoom, n_episodes: int, context_len: int, generator,
                    encoding: str = "xy") -> torch.Tensor:
    """Online deployment of a DPT model in ``room`` with frozen weights (chapter 9): before each episode the
    model's policy at every state is read with the last ``context_len`` transitions of the previous episodes as
    context (none before the first), and the episode is played by sampling from it. Returns the returns
    (B, n_episodes). ``generator``: a ``torch.Generator`` or an int seed."""
    check_model(model)
    dim = darkroom_token_dim(room, encoding)
    if model.token_dim != dim or model.n_actions != room.n_actions:
        raise ValueError(f"model must read tokens of size {dim} and output {room.n_actions} actions for this room "
                         f"(encoding {encoding!r}); got token_dim = {model.token_dim}, n_actions = {model.n_actions}")
    n_episodes, context_len = check_int(n_episodes, "n_episodes"), check_int(context_len, "context_len")
    g = as_generator(generator)
    B, S = room.n_tasks, room.n_states
    past = [torch.zeros(B, 0, dtype=torch.long), torch.zeros(B, 0, dtype=torch.long),
            torch.zeros(B, 0, dtype=torch.float64), torch.zeros(B, 0, dtype=torch.long)]
    rows = room.select(torch.arange(B).repeat_interleave(S))
    queries = torch.arange(S).repeat(B)
    returns = torch.zeros(B, n_episodes, dtype=torch.float64)
    for k in range(n_episodes):
        ctx = [x[:, -context_len:].repeat_interleave(S, 0) for x in past]
        tokens = darkroom_tokens(rows, queries, *ctx, encoding=encoding)
        policy = action_probabilities(model, tokens)[:, -1].view(B, S, -1)
        ep = room.rollout(policy, g)
        returns[:, k] = ep.rewards.sum(-1)
        past = [torch.cat([p, e], 1) for p, e in zip(past, ep)]
    return returns


@dataclass
class DarkRoomConfig:
    """Settings of chapter 9's Dark Room DPT run (our protocol, CPU-sized): a ``size x size`` room, episodes of
    ``horizon`` steps, ``n_test_goals`` held-out goals, ``n_contexts`` random-transition contexts of
    ``context_len`` per training goal, online evaluation over ``n_episodes`` episodes with ``n_repeats`` runs per
    goal."""

    size: int = 5
    horizon: int = 25
    n_test_goals: int = 5
    context_len: int = 50
    n_contexts: int = 1000
    n_layers: int = 3
    d_model: int = 32
    n_heads: int = 2
    attention: str = "softmax"
    n_steps: int = 1500
    batch_size: int = 128
    lr: float = 1e-3
    n_episodes: int = 10
    n_repeats: int = 20
    encoding: str = "xy"
    seed: int = 0

    def __post_init__(self):
        check_int(self.size, "size", minimum=2)
        for name in ("horizon", "n_test_goals", "context_len", "n_contexts", "n_layers", "d_model", "n_heads",
                     "n_steps", "batch_size", "n_episodes", "n_repeats"):
            check_int(getattr(self, name), name)
        if self.n_test_goals >= self.size ** 2:
            raise ValueError(f"n_test_goals must leave at least one training goal: at most size^2 - 1 = "
                             f"{self.size ** 2 - 1}; got {self.n_test_goals}")
        if min(self.n_test_goals, self.size ** 2 - self.n_test_goals) * self.n_repeats < 2:
            raise ValueError(f"n_repeats must give at least 2 rooms per split (standard errors): n_repeats * "
                             f"min(n_test_goals, size^2 - n_test_goals) >= 2; got n_repeats = {self.n_repeats}")
        if self.d_model % self.n_heads:
            raise ValueError(f"n_heads must divide d_model; got d_model = {self.d_model}, n_heads = {self.n_heads}")
        check_choice(self.attention, "attention", ATTENTIONS)
        check_positive(self.lr, "lr")
        check_choice(self.encoding, "encoding", ENCODINGS)
        check_int(self.seed, "seed", minimum=0)


def darkroom_experiment(cfg: DarkRoomConfig, progress: bool | Callable = False,
                        log: Callable[[str], None] | None = None, device=None) -> dict:
    """Train DPT on random-transition contexts of the training goals, then deploy it online with frozen weights on
    the held-out and the training goals (chapter 9). Returns returns per episode (mean, se) for ``test`` and
    ``train`` goals, the optimal and uniform-policy returns, the goal split, the loss history and CPU seconds.
    ``device``: where the model trains (:func:`pretrain_supervised`)."""
    _check_cfg(cfg, DarkRoomConfig)
    log = log or (lambda line: None)
    t0 = time.process_time()
    train_goals, test_goals = darkroom_goal_split(cfg.size, cfg.n_test_goals, cfg.seed)
    room = DarkRoom(train_goals, cfg.size, cfg.horizon)
    tokens, labels = darkroom_dataset(room, cfg.n_contexts, cfg.context_len, cfg.seed, cfg.encoding)
    model = DecisionTransformer(darkroom_token_dim(room, cfg.encoding), room.n_actions, cfg.n_layers, cfg.d_model,
                                cfg.n_heads, cfg.attention, max_len=cfg.context_len + 1, seed=cfg.seed)
    result = pretrain_supervised(model, tokens, labels, cfg.n_steps, cfg.batch_size, cfg.lr, seed=cfg.seed,
                                 log_every=max(1, cfg.n_steps // 20), progress=progress, device=device)
    t_train = time.process_time() - t0
    log(f"trained in {t_train:.0f} s CPU; final loss {result.history['loss'][-1]:.4g}")
    out = {"train_goals": train_goals.tolist(), "test_goals": test_goals.tolist(), "returns": {}}
    for split, goals in (("test", test_goals), ("train", train_goals)):
        rooms = DarkRoom(goals.repeat_interleave(cfg.n_repeats), cfg.size, cfg.horizon)
        R = darkroom_online(model, rooms, cfg.n_episodes, cfg.context_len, 40_000 + cfg.seed, cfg.encoding)
        m, se = mean_and_se(R)
        uni = torch.full((rooms.n_tasks, rooms.n_states, rooms.n_actions), 1.0 / rooms.n_actions)
        R_uni = rooms.rollout(uni, 50_000 + cfg.seed).rewards.sum(-1)
        out["returns"][split] = {"mean": m.tolist(), "se": se.tolist(),
                                 "optimal": float(rooms.optimal_return().mean()), "uniform": float(R_uni.mean())}
        log(f"{split}: return per episode {[round(v, 1) for v in m.tolist()]}, optimal "
            f"{out['returns'][split]['optimal']:.1f}")
    out["training"] = result.history
    out["config"] = asdict(cfg)
    out["seconds"] = {"train": t_train, "total": time.process_time() - t0}
    return out


def supervised_cli(name: str, options: dict, log: Callable[[str], None] | None = None) -> dict:
    """Run the CLI command ``name`` (``"dpt-bandit"``, ``"ad-bandit"`` or ``"dpt-darkroom"``) with the parsed
    ``options`` (``seed``, ``steps``, ``attention``, ``quiet``, for the Dark Room ``encoding``, and for bandits ``bandit``, ``alpha``, ``mixture``, ``horizon``,
    ``n_arms``, ``n_train``, ``n_eval``; None = the chapter's default) and return its JSON dict (chapter 9)."""
    if name not in ("dpt-darkroom", *CLI_DEFAULTS):
        raise ValueError(f"name must be one of {['dpt-darkroom', *sorted(CLI_DEFAULTS)]}; got {name!r}")
    if not isinstance(options, dict):
        raise ValueError(f"options must be a dict of the parsed command-line options; got {type(options).__name__}")
    progress = not options.get("quiet", False)
    common = {"seed": options.get("seed", 0), "n_steps": options.get("steps"), "attention": options.get("attention")}
    if name == "dpt-darkroom":
        common["encoding"] = options.get("encoding")
        cfg = DarkRoomConfig(**{k: v for k, v in common.items() if v is not None})
        return darkroom_experiment(cfg, progress=progress, log=log)
    cfg = bandit_cli_config(name, **common, bandit=options.get("bandit"), alpha=options.get("alpha"),
                            horizon=options.get("horizon"), n_arms=options.get("n_arms"),
                            mixture=options.get("mixture"),
                            n_train_tasks=options.get("n_train"), n_eval_tasks=options.get("n_eval"))
    return bandit_pretraining_experiment(cfg, progress=progress, log=log)
