"""Algorithm Distillation of soft LinUCB against the constructed transformer and the expert (chapter 10).

Our CPU-sized protocol for [LBM24]'s LinUCB experiment (their setting: d = 5, A = 10, T = 200, 100K trajectories, an
8-layer GPT-2 with ReLU attention): linear bandits with ``d = 2``, ``A = 5``, ``T = 30``, ``w ~ U[0, 1]^d``, arms
``~ U[-1, 1]^d``, noise ``sigma``; context algorithm = expert = soft LinUCB (``alpha``, ``lam``, ``tau``); AD labels (the
context actions); chapter 9's :class:`CausalTransformerPolicy`. The evaluation runs the trained model, the expert, the
constructed transformer (:func:`icrl_lib.incontext.linucb_construction`) and two baselines online on the same
held-out tasks, and measures the policy gaps to the expert along the expert's own trajectories.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch

import math

from .._validation import (as_tensor, broadcast_batch, check_int, check_positive, check_real, check_shape,
                           check_stochastic)
from ..incontext.linucb import (linucb_construction, linucb_default_momentum, linucb_forward, linucb_prompt,
                                linucb_readout, transformer_linucb_expert)
from ..rl import LinearBandit, empirical_greedy, linucb, mean_and_se, regret, run_bandit, soft_linucb
from .supervised import (TransformerConfig, ATTENTIONS, action_probabilities, bandit_token_dim, bandit_tokens,
                         pretrain_supervised, transformer_expert)
from .bandit_pretraining import collect_bandit_data

__all__ = ["ADLinUCBConfig", "ad_linucb_experiment", "policy_gap"]


@dataclass
class ADLinUCBConfig:
    """Settings of the ``ad-linucb`` run (chapter 10; defaults = the committed JSON)."""

    d: int = 2
    n_arms: int = 5
    horizon: int = 30
    sigma: float = 1.0
    alpha: float = 1.0
    lam: float = 1.0
    tau: float = 0.1
    n_train_tasks: int = 20000
    n_eval_tasks: int = 500
    n_layers: int = 3
    d_model: int = 32
    n_heads: int = 2
    attention: str = "relu"
    n_steps: int = 3000
    batch_size: int = 128
    lr: float = 1e-3
    construction_layers: int = 60
    construction_width: int = 32
    seed: int = 0

    @property
    def model(self) -> TransformerConfig:
        """The model part of the config (:class:`~icrl_lib.training.supervised.TransformerConfig`)."""
        return TransformerConfig(self.n_layers, self.d_model, self.n_heads, self.attention)

    def __post_init__(self):
        self.model  # checks n_layers, d_model, n_heads and attention in one place
        for name in ("d", "horizon", "n_train_tasks", "n_layers", "d_model", "n_heads", "n_steps", "batch_size",
                     "construction_layers", "construction_width"):
            check_int(getattr(self, name), name)
        check_int(self.n_arms, "n_arms", minimum=2)
        check_int(self.n_eval_tasks, "n_eval_tasks", minimum=2)      # a standard error needs two tasks
        check_int(self.seed, "seed", minimum=0)
        for name in ("sigma", "lam", "tau", "lr"):
            check_positive(getattr(self, name), name)
        if check_real(self.alpha, "alpha") < 0:
            raise ValueError(f"alpha must be >= 0; got {self.alpha}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model must be a multiple of n_heads; got {self.d_model} and {self.n_heads}")
        if self.attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {ATTENTIONS}; got {self.attention!r}")


def policy_gap(p, q) -> dict:
    """Mean and max total-variation distance and mean KL(p || q) between policies ``p``, ``q`` (..., A) (chapter 10).

    ``p`` and ``q`` are probability rows along the last axis (batch dimensions broadcast). The KL is exact, with
    ``0 log 0 = 0``: it is ``+inf`` (``math.inf``) when ``q`` gives zero mass to an action that ``p`` plays (no
    clamp). JSON cannot hold ``inf``: :func:`ad_linucb_experiment` stores an infinite ``kl_mean`` as the string
    ``"inf"`` (``float("inf")`` reads it back). Returns ``{"tv_mean", "tv_max", "kl_mean"}`` (floats).
    """
    p = as_tensor(p, "p")
    q = as_tensor(q, "q", dtype=p.dtype)
    check_shape(p, "p", (None,))
    A = p.shape[-1]
    check_shape(q, "q", (A,))
    batch = broadcast_batch({"p": p.shape, "q": q.shape}, {"p": 1, "q": 1})
    if math.prod(batch) == 0:
        raise ValueError(f"p and q must hold at least one distribution; got shapes {tuple(p.shape)} and "
                         f"{tuple(q.shape)}")
    check_stochastic(p, "p")
    check_stochastic(q, "q")
    tv = 0.5 * (p - q).abs().sum(-1)
    # xlogy(p, q) = p log q with 0 log 0 = 0; where p > 0 = q it is -inf, so the KL is +inf there
    kl = (torch.xlogy(p, p) - torch.xlogy(p, q)).sum(-1)
    return {"tv_mean": float(tv.mean()), "tv_max": float(tv.max()), "kl_mean": float(kl.mean())}


def _json_gap(gap: dict) -> dict:
    # JSON has no infinity: an infinite KL is stored as the string "inf" (float("inf") reads it back)
    return {k: ("inf" if v == math.inf else v) for k, v in gap.items()}


def ad_linucb_experiment(cfg: ADLinUCBConfig, progress=False, log=None, device=None) -> dict:
    """Train AD on soft LinUCB and compare it with the expert and the construction (chapter 10).

    Returns a JSON-ready dict: ``horizon``, ``n_tasks``, ``regret`` ``{name: {"mean", "se"}}`` at the horizon for
    ``trained``, ``constructed``, ``soft_linucb``, ``linucb``, ``emp``; ``curves`` (mean cumulative regret per
    round); ``policy_gap`` ``{"trained", "constructed"}`` (TV and KL to the expert along the expert's
    trajectories; an infinite KL is stored as the string ``"inf"``, see :func:`policy_gap`); ``training`` (loss
    history), ``config``, ``seconds`` (CPU). ``device``: where the model trains (:func:`pretrain_supervised`).
    """
    if not isinstance(cfg, ADLinUCBConfig):
        raise ValueError(f"cfg must be an ADLinUCBConfig; got {type(cfg).__name__}")
    log = log or (lambda line: None)
    t0 = time.process_time()
    g = torch.Generator().manual_seed(cfg.seed)
    expert = soft_linucb(cfg.alpha, cfg.lam, cfg.tau)
    train = collect_bandit_data(LinearBandit.sample(cfg.n_train_tasks, cfg.d, cfg.n_arms, cfg.sigma, g), expert,
                                cfg.horizon, g, labels="ad")
    model = cfg.model.build(bandit_token_dim(train.bandit), cfg.n_arms, cfg.horizon + 1, cfg.seed)
    log(f"collected {cfg.n_train_tasks} trajectories in {time.process_time() - t0:.0f} s CPU")
    result = pretrain_supervised(model, train.tokens(), train.labels, cfg.n_steps, cfg.batch_size, cfg.lr,
                                 seed=cfg.seed, log_every=max(1, cfg.n_steps // 20), progress=progress,
                                 device=device)
    t_train = time.process_time() - t0
    log(f"trained in {t_train:.0f} s CPU; final loss {result.history['loss'][-1]:.4g}")

    g_eval = torch.Generator().manual_seed(10_000 + cfg.seed)
    test = LinearBandit.sample(cfg.n_eval_tasks, cfg.d, cfg.n_arms, cfg.sigma, g_eval)
    construction = linucb_construction(cfg.d, cfg.n_arms, cfg.construction_layers, cfg.alpha, cfg.lam, cfg.tau,
                                       momentum=linucb_default_momentum(cfg.d, cfg.lam, cfg.horizon),
                                       width=cfg.construction_width)
    runs = {"trained": transformer_expert(model), "constructed": transformer_linucb_expert(construction),
            "soft_linucb": expert, "linucb": linucb(cfg.alpha, cfg.lam), "emp": empirical_greedy()}
    out = {"horizon": cfg.horizon, "n_tasks": cfg.n_eval_tasks, "regret": {}, "curves": {}}
    for name, agent in runs.items():
        traj = run_bandit(test, agent, cfg.horizon, 20_000 + cfg.seed)   # the same seed: common random numbers
        R = regret(test, traj.actions)
        m, se = mean_and_se(R[:, -1])
        out["regret"][name] = {"mean": float(m), "se": float(se)}
        out["curves"][name] = R.mean(0).tolist()
        log(f"{name:>12}: regret at T = {cfg.horizon}: {float(m):.3f} +- {float(se):.3f}")
    data = run_bandit(test, expert, cfg.horizon, 30_000 + cfg.seed)
    p_exp = data.probs                                                                    # (B, T, A)
    p_tr = action_probabilities(model, bandit_tokens(test, data.actions, data.rewards))[:, :cfg.horizon]
    H = linucb_prompt(test.features, data.actions, data.rewards, construction.layout)
    p_con = linucb_readout(linucb_forward(H, construction), construction, all_tokens=True)[:, :cfg.horizon]
    out["policy_gap"] = {"trained": _json_gap(policy_gap(p_exp, p_tr)),
                         "constructed": _json_gap(policy_gap(p_exp, p_con))}
    log(f"policy gap to the expert: {out['policy_gap']}")
    out["training"] = result.history
    out["config"] = asdict(cfg)
    out["seconds"] = {"train": t_train, "total": time.process_time() - t0}
    return out
