"""Supervised (DPT-style) pretraining of a causal transformer on random MDPs (chapter 11, section 6; our protocol).

Each training MDP gives one context of uniform-policy transitions and one query state labelled with the optimal
action; the trained model acts greedily in held-out MDPs and is compared with the in-context SARSA block and the
certainty-equivalent planner on the same contexts.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace

import torch

from .._validation import check_int, check_positive
from ..incontext import PromptDistribution, held_out_mdps
from ..rl import (TabularMDP, batch_sarsa_update, expected_return, greedy_policy,
                  normalized_return, random_mdp, reference_returns, sample_transitions,
                  uniform_policy, value_iteration)
from .supervised import TransformerConfig, action_probabilities, pretrain_supervised
from .darkroom_pretraining import darkroom_tokens
from ._checks import check_seeds

__all__ = ["SupervisedMDPConfig", "supervised_mdp_experiment", "supervised_mdp_sweep"]

_F64 = torch.float64

@dataclass(frozen=True)
class SupervisedMDPConfig:
    """Settings of :func:`supervised_mdp_experiment` (chapter 11; our protocol).

    ``dist`` gives the MDPs (chapter 6's random MDPs: ``n_states``, ``n_actions``,
    ``gamma``), the context length ``N = dist.n_transitions`` and the reward noise.
    Training: ``n_train_mdps`` fresh MDPs, one context of ``N`` transitions of the
    uniform policy and one uniform query state each, labelled with the optimal action at
    the query; chapter 9's :class:`CausalTransformerPolicy` (``n_layers``, ``d_model``,
    ``n_heads``) for ``n_steps`` Adam steps of ``batch_size``. Evaluation: the
    ``n_eval_mdps`` held-out MDPs of seed ``held_out_seed``
    (:func:`icrl_lib.incontext.held_out_mdps`), one context each drawn with
    ``context_seed``.
    """

    dist: PromptDistribution = PromptDistribution()
    n_train_mdps: int = 20000
    n_layers: int = 3
    d_model: int = 32
    n_heads: int = 2
    n_steps: int = 1500
    batch_size: int = 128
    lr: float = 1e-3
    n_eval_mdps: int = 100
    held_out_seed: int = 11
    context_seed: int = 20_011
    seed: int = 0

    @property
    def model(self) -> TransformerConfig:
        """The model part of the config (:class:`~icrl_lib.training.supervised.TransformerConfig`)."""
        return TransformerConfig(self.n_layers, self.d_model, self.n_heads)

    def __post_init__(self):
        self.model  # checks n_layers, d_model, and n_heads in one place
        if not isinstance(self.dist, PromptDistribution):
            raise ValueError("dist must be a PromptDistribution")
        for name in (
            "n_train_mdps",
            "n_layers",
            "d_model",
            "n_heads",
            "n_steps",
            "batch_size",
        ):
            check_int(getattr(self, name), name)
        check_int(self.n_eval_mdps, "n_eval_mdps", minimum=2)
        for name in ("held_out_seed", "context_seed", "seed"):
            check_int(getattr(self, name), name, minimum=0)
        check_positive(self.lr, "lr")
        if self.d_model % self.n_heads:
            raise ValueError(f"n_heads must divide d_model; got d_model = {self.d_model}, n_heads = {self.n_heads}")


def _uniform_contexts(dist: PromptDistribution, mdps: TabularMDP, generator):
    pi = uniform_policy(dist.n_states, dist.n_actions)
    return sample_transitions(
        mdps, pi, dist.n_transitions, generator, reward_noise=dist.reward_noise
    )


def _empirical_mdp(T, S: int, A: int, gamma: float) -> TabularMDP:
    # certainty equivalence: counts of the context; an unvisited pair keeps a uniform
    # next state and the context's mean reward
    sa = torch.nn.functional.one_hot(T.s * A + T.a, S * A).to(_F64)  # (B, N, SA)
    nxt = torch.nn.functional.one_hot(T.s_next, S).to(_F64)  # (B, N, S)
    n_sa = sa.sum(-2)  # (B, SA)
    seen = (n_sa > 0).unsqueeze(-1)
    P = torch.where(
        seen,
        sa.transpose(-1, -2) @ nxt / n_sa.clamp(min=1).unsqueeze(-1),
        torch.full_like(n_sa.unsqueeze(-1).expand(-1, -1, S), 1.0 / S),
    )
    r_sum = (sa.transpose(-1, -2) @ T.r.unsqueeze(-1)).squeeze(-1)
    r = torch.where(
        seen.squeeze(-1), r_sum / n_sa.clamp(min=1), T.r.mean(-1, keepdim=True)
    )
    B = P.shape[0]
    return TabularMDP(P.view(B, S, A, S), r.view(B, S, A), gamma)


def supervised_mdp_experiment(
    config: SupervisedMDPConfig = SupervisedMDPConfig(), progress: bool = False
) -> dict:
    """DPT-style supervised pretraining on chapter 6's random MDPs, evaluated offline
    (chapter 11).

    Tokens are :func:`icrl_lib.training.darkroom_tokens` with ``encoding="onehot"``
    (query ``(1, e_q, 0, 0, 0)``, transition ``(0, e_s, e_a, r, e_s')``); the label is
    ``argmax pi_star(q)`` from :func:`icrl_lib.rl.value_iteration`, at every position
    (chapter 9's loss). Deployment: given one context of ``N`` uniform-policy
    transitions of a held-out MDP, the model is queried at every state and its greedy
    policy (argmax of its action probabilities after all ``N`` transitions) is scored by
    its exact return. The same contexts give two baselines: ``certainty_equivalence``
    (value iteration on the empirical model of the context) and ``one_sarsa_step``
    (greedy policy of one batch SARSA step from ``w = 0`` with ``alpha = dist.alpha``,
    i.e. the greedy readout of one in-context SARSA round).

    Returns a JSON-ready dict: ``normalized_return`` (n_eval_mdps,) for ``model`` and
    the two baselines, ``label_accuracy`` (fraction of (MDP, state) pairs where the
    model's argmax is ``pi_star``), the loss ``history`` and CPU ``seconds``.
    """
    if not isinstance(config, SupervisedMDPConfig):
        raise ValueError(
            f"config must be a SupervisedMDPConfig; got {type(config).__name__}"
        )
    cfg, dist = config, config.dist
    S, A, N = dist.n_states, dist.n_actions, dist.n_transitions
    t0 = time.process_time()
    g = torch.Generator().manual_seed(cfg.seed)
    train = random_mdp(S, A, dist.gamma, n_mdps=cfg.n_train_mdps, generator=g)
    T = _uniform_contexts(dist, train, g)
    q = torch.randint(S, (cfg.n_train_mdps,), generator=g)
    best = value_iteration(train)[0].argmax(-1)  # (B, S)
    labels = best.gather(1, q.unsqueeze(-1)).expand(-1, N + 1).contiguous()
    tokens = darkroom_tokens(train, q, T.s, T.a, T.r, T.s_next, encoding="onehot")
    model = cfg.model.build(tokens.shape[-1], A, N + 1, cfg.seed)
    res = pretrain_supervised(
        model,
        tokens,
        labels,
        cfg.n_steps,
        cfg.batch_size,
        cfg.lr,
        seed=cfg.seed,
        log_every=max(1, cfg.n_steps // 20),
        progress=progress,
    )
    t_train = time.process_time() - t0

    mdps = held_out_mdps(dist, cfg.n_eval_mdps, seed=cfg.held_out_seed)
    J_random, J_star = reference_returns(mdps)
    B = cfg.n_eval_mdps
    E = _uniform_contexts(dist, mdps, torch.Generator().manual_seed(cfg.context_seed))
    ctx = [x.repeat_interleave(S, 0) for x in (E.s, E.a, E.r, E.s_next)]
    ev_tokens = darkroom_tokens(
        mdps, torch.arange(S).repeat(B), *ctx, encoding="onehot"
    )
    probs = action_probabilities(model, ev_tokens)[:, -1].view(B, S, A)
    pi_star = value_iteration(mdps)[0]
    sa = torch.nn.functional.one_hot(E.s * A + E.a, S * A).to(_F64)
    sa_next = torch.nn.functional.one_hot(E.s_next * A + E.a_next, S * A).to(_F64)
    w1 = batch_sarsa_update(
        torch.zeros(B, S * A, dtype=_F64), sa, sa_next, E.r, dist.alpha, dist.gamma
    )
    policies = {
        "model": greedy_policy(probs),
        "certainty_equivalence": value_iteration(_empirical_mdp(E, S, A, dist.gamma))[
            0
        ],
        "one_sarsa_step": greedy_policy(w1.view(B, S, A)),
    }
    out = {
        k: normalized_return(expected_return(mdps, p), J_random, J_star).tolist()
        for k, p in policies.items()
    }
    acc = float((probs.argmax(-1) == pi_star.argmax(-1)).double().mean())
    return {
        "seed": cfg.seed,
        "normalized_return": out,
        "label_accuracy": acc,
        "history": res.history,
        "seconds": {"train": t_train, "total": time.process_time() - t0},
    }


def supervised_mdp_sweep(
    seeds,
    n_steps: int | None = None,
    batch_size: int | None = None,
    log=None,
    config: SupervisedMDPConfig = SupervisedMDPConfig(),
) -> dict:
    """:func:`supervised_mdp_experiment` for every seed (chapter 11; ``python -m
    icrl_lib.experiments beyond --part supervised``). The baselines do not depend on the
    seed (same held-out MDPs and contexts) and are stored once, under ``baselines``.
    """
    if not isinstance(config, SupervisedMDPConfig):
        raise ValueError(f"config must be a SupervisedMDPConfig; got {type(config).__name__}")
    seeds = check_seeds(seeds)
    cfg = config
    if n_steps is not None:
        cfg = replace(cfg, n_steps=check_int(n_steps, "n_steps"))
    if batch_size is not None:
        cfg = replace(cfg, batch_size=check_int(batch_size, "batch_size"))
    runs, baselines = [], None
    for seed in seeds:
        run = supervised_mdp_experiment(replace(cfg, seed=int(seed)))
        nr = run.pop("normalized_return")
        run["normalized_return"] = nr.pop("model")
        baselines = nr
        runs.append(run)
        if log is not None:
            m = sum(run["normalized_return"]) / len(run["normalized_return"])
            log(
                f"supervised seed {seed}: mean normalised return {m:.3f}, "
                f"{run['seconds']['total']:.0f} s CPU"
            )
    conf = asdict(cfg)
    conf.pop("seed")
    return {"part": "supervised", "config": conf, "runs": runs, "baselines": baselines}
