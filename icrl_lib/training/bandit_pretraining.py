"""Supervised pretraining on bandits ([LBM24], [DPT23], [AD22]; chapter 9): data, experts and the experiment.

- :func:`collect_bandit_data`: trajectories of a context algorithm ``Alg_0`` on sampled tasks, labelled for AD
  (the context actions) or DPT (the optimal action of the task); :func:`posterior_sampling` is the DPT reduced
  expert of a Beta-Bernoulli bandit, ``P(a* = a | D_t)`` exactly (the law of Thompson sampling's next action).
- :func:`bandit_pretraining_experiment`: the ``dpt-bandit`` / ``ad-bandit`` runs of the command line (train, then
  online regret against TS, UCB and Emp on held-out tasks, and offline greedy suboptimality against Emp and LCB).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable, NamedTuple

import torch

from .._validation import as_generator, check_int, check_positive, check_probability, check_real
from ..rl import (BernoulliBandit, GaussianBandit, beta_bernoulli_optimal_action_probs, mean_and_se,
                  empirical_greedy, lcb, mixture, regret, run_bandit, suboptimality, thompson_sampling, ucb,
                  uniform)
from ._checks import check_choice, check_isinstance
from .supervised import (TransformerConfig, ATTENTIONS, check_bandit, action_probabilities, bandit_token_dim,
                         bandit_tokens, pretrain_supervised, transformer_expert)

__all__ = ["BanditDataset", "collect_bandit_data", "posterior_sampling", "BanditPretrainingConfig", "CLI_DEFAULTS",
           "bandit_cli_config", "bandit_experts", "bandit_pretraining_experiment"]


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

    @property
    def model(self) -> TransformerConfig:
        """The model part of the config (:class:`~icrl_lib.training.supervised.TransformerConfig`)."""
        return TransformerConfig(self.n_layers, self.d_model, self.n_heads, self.attention)

    def __post_init__(self):
        self.model  # checks n_layers, d_model, n_heads and attention in one place
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


def bandit_experts(cfg: BanditPretrainingConfig) -> dict:
    """The reference experts of chapter 9's comparisons: ``ts`` (Thompson sampling with the bandit's conjugate
    prior), ``ucb`` (bonus ``c sqrt(2 log t / n)`` with ``c = ucb_c * sigma`` for Gaussian rewards, ``ucb_c``
    for Bernoulli), ``emp`` (empirical greedy) and the context algorithm ``context``."""
    check_isinstance(cfg, "cfg", BanditPretrainingConfig)
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
    """Train a :class:`CausalTransformerPolicy` on ``cfg`` and evaluate it (chapter 9; the CLI's ``dpt-bandit``
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
    check_isinstance(cfg, "cfg", BanditPretrainingConfig)
    log = log or (lambda line: None)
    t0 = time.process_time()
    g = torch.Generator().manual_seed(cfg.seed)
    experts = bandit_experts(cfg)
    train = collect_bandit_data(_sample_tasks(cfg, cfg.n_train_tasks, g), experts["context"], cfg.horizon, g,
                                cfg.labels)
    tokens = train.tokens()
    model = cfg.model.build(bandit_token_dim(train.bandit), cfg.n_arms, cfg.horizon + 1, cfg.seed)
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


