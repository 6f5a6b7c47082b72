"""How close a pretrained DPT model is to the exact posterior on the two-armed Beta-Bernoulli bandit
(chapter 9, sections 2-3): every history of length ``t < T`` under the uniform context algorithm, its exact
posterior ``P(a* = 1 | D_t)`` (the reduced expert of [LBM24]) and probability, the model's prediction on the
same histories, and the distances of the theorem (expected KL, squared Hellinger, the realisability term).

Shapes: for each ``t = 0..T-1`` the histories are ``actions`` and ``rewards`` (K_t, t), ``K_t = 4^t``, in the
order of :func:`icrl_lib.training.all_histories`; ``posterior``, ``weight`` and a model ``fit`` are lists of
T tensors (K_t,).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch

from .._validation import check_int
from ..rl import BernoulliBandit, beta_bernoulli_optimal_action_probs, uniform
from .supervised import CausalTransformerPolicy, action_probabilities, pretrain_supervised
from .bandit_pretraining import collect_bandit_data
from .distribution_ratio import all_histories, beta_bernoulli_log_evidence
from .supervised import bandit_token_dim, bandit_tokens

__all__ = ["HistoryTable", "exact_history_table", "history_from_counts", "history_index", "model_arm1_probs",
           "PosteriorFit", "posterior_fit", "train_bernoulli_dpt"]

_F64 = torch.float64


class HistoryTable(NamedTuple):
    """Every history of length ``t = 0..T-1`` (``histories[t] = (actions, rewards)``), its exact posterior
    ``P(a* = 1 | D_t)`` and its probability under the uniform prior times the uniform context algorithm (chapter 9)."""

    histories: list
    posterior: list
    weight: list


def exact_history_table(horizon: int) -> HistoryTable:
    """:class:`HistoryTable` of the two-armed Beta(1, 1)-Bernoulli bandit for ``t = 0..horizon-1``; the
    weights of each ``t`` sum to 1. ``horizon`` at most 10 (``4^9`` histories). Chapter 9."""
    T = check_int(horizon, "horizon")
    if T > 10:
        raise ValueError(f"horizon must be at most 10 (4^(T-1) histories); got {T}")
    hist = [all_histories(t, 2) for t in range(T)]
    post = [beta_bernoulli_optimal_action_probs(a, r, 2)[:, 1] for a, r in hist]
    weight = [beta_bernoulli_log_evidence(a, r, 2).exp() * 0.5 ** a.shape[1] for a, r in hist]
    return HistoryTable(hist, post, weight)


def history_from_counts(counts) -> tuple[torch.Tensor, torch.Tensor]:
    """A history with the given counts ``(S_0, F_0, S_1, F_1)`` (successes and failures of arm 0, then arm 1)
    for each row of ``counts`` (B, 4), all with the same total ``t``: ``actions`` (B, t) int64 and
    ``rewards`` (B, t) float64 (arm 0's rounds first, successes before failures). Chapter 9."""
    c = torch.as_tensor(counts)
    if c.dim() != 2 or c.shape[-1] != 4 or c.shape[0] == 0:
        raise ValueError(f"counts must have shape (B, 4) with B >= 1; got {tuple(c.shape)}")
    if c.is_floating_point() or c.dtype == torch.bool or bool((c < 0).any()):
        raise ValueError("counts must be non-negative integers")
    totals = c.sum(-1)
    if bool((totals != totals[0]).any()):
        raise ValueError(f"counts must all have the same total t; got {sorted(set(totals.tolist()))}")
    rows = [([0] * int(s0 + f0) + [1] * int(s1 + f1), [1.0] * int(s0) + [0.0] * int(f0) + [1.0] * int(s1)
             + [0.0] * int(f1)) for s0, f0, s1, f1 in c.tolist()]
    t = int(totals[0])
    return (torch.tensor([a for a, _ in rows], dtype=torch.long).reshape(len(rows), t),
            torch.tensor([r for _, r in rows], dtype=_F64).reshape(len(rows), t))


def history_index(history) -> int:
    """The index of ``history`` (a list of ``(arm, reward)`` pairs, arms and rewards in {0, 1}) among
    :func:`icrl_lib.training.all_histories` of its length: ``sum_s (2 a_s + r_s) 4^(t-1-s)`` (chapter 9)."""
    if not isinstance(history, (list, tuple)):
        raise ValueError(f"history must be a list of (arm, reward) pairs; got {history!r}")
    t = len(history)
    idx = 0
    for s, pair in enumerate(history):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2 or pair[0] not in (0, 1) or pair[1] not in (0, 1):
            raise ValueError(f"history must hold (arm, reward) pairs in {{0, 1}}; got {pair!r} at round {s}")
        idx += (2 * int(pair[0]) + int(pair[1])) * 4 ** (t - 1 - s)
    return idx


def model_arm1_probs(model: CausalTransformerPolicy, table: HistoryTable) -> list:
    """The model's ``Alg_theta(a = 1 | D_t)`` (K_t,) on every history of ``table``, one tensor per ``t`` (chapter 9)."""
    if not isinstance(table, HistoryTable):
        raise ValueError(f"table must be a HistoryTable (exact_history_table); got {type(table).__name__}")
    out = []
    for a, r in table.histories:
        dummy = BernoulliBandit(torch.full((a.shape[0], 2), 0.5, dtype=_F64))  # only its arm count is used
        out.append(action_probabilities(model, bandit_tokens(dummy, a, r))[:, -1, 1])
    return out


class PosteriorFit(NamedTuple):
    """Distances between the exact posterior ``p`` and a fit ``q``, averaged over ``D_t`` with the table's
    weights: ``kl`` (mean over ``t`` of ``E KL(p || q)``), ``kl_t`` (per ``t``), ``worst`` (max ``|p - q|``),
    ``hellinger`` (``sqrt(mean_t E H^2(p, q))``), ``realisability`` (``max_t log E sum_a p(a)^2 / q(a)``). Chapter 9."""

    kl: float
    kl_t: list
    worst: float
    hellinger: float
    realisability: float


def posterior_fit(table: HistoryTable, fit) -> PosteriorFit:
    """:class:`PosteriorFit` of ``fit`` (a list of T tensors (K_t,) of ``P(a = 1 | D_t)``, e.g.
    :func:`model_arm1_probs`, or a constant) against ``table``'s posterior (chapter 9)."""
    if not isinstance(table, HistoryTable):
        raise ValueError(f"table must be a HistoryTable (exact_history_table); got {type(table).__name__}")
    if not isinstance(fit, (list, tuple)) or len(fit) != len(table.posterior):
        raise ValueError(f"fit must be a list of {len(table.posterior)} tensors, one per t")
    kl_t, h2_t, real_t, worst = [], [], [], 0.0
    for p, q, w in zip(table.posterior, fit, table.weight):
        q = torch.as_tensor(q, dtype=_F64)
        if q.shape != p.shape or not bool(((q >= 0) & (q <= 1)).all()):
            raise ValueError(f"fit must hold probabilities of shape {tuple(p.shape)} per t; got {tuple(q.shape)}")
        qc = q.clamp(1e-9, 1 - 1e-9)
        kl = p * torch.log(p / qc) + (1 - p) * torch.log((1 - p) / (1 - qc))
        kl_t.append(float((w * torch.nan_to_num(kl)).sum()))
        h2_t.append(float((w * (1 - torch.sqrt(p * q) - torch.sqrt((1 - p) * (1 - q)))).sum()))
        real_t.append(math.log(float((w * (p ** 2 / qc + (1 - p) ** 2 / (1 - qc))).sum())))
        worst = max(worst, float((p - q).abs().max()))
    T = len(kl_t)
    return PosteriorFit(sum(kl_t) / T, kl_t, worst, math.sqrt(sum(h2_t) / T), max(real_t))


def train_bernoulli_dpt(n_tasks: int, horizon: int, data_seed: int, seed: int = 0) -> CausalTransformerPolicy:
    """DPT on the two-armed Bernoulli bandit with the uniform context algorithm (chapter 9, sections 2-3):
    ``n_tasks`` trajectories of ``horizon`` rounds drawn from ``data_seed``, a 2-layer model of width 16 with 2
    heads (seed ``seed``), 500 Adam steps of batch 512 at learning rate 3e-3."""
    n = check_int(n_tasks, "n_tasks")
    T = check_int(horizon, "horizon")
    data_seed = check_int(data_seed, "data_seed", minimum=0)
    seed = check_int(seed, "seed", minimum=0)
    g = torch.Generator().manual_seed(data_seed)
    data = collect_bandit_data(BernoulliBandit.sample(n, 2, g), uniform(), T, g, labels="dpt")
    model = CausalTransformerPolicy(bandit_token_dim(data.bandit), 2, n_layers=2, d_model=16, n_heads=2,
                                max_len=T + 1, seed=seed)
    pretrain_supervised(model, data.tokens(), data.labels, n_steps=500, batch_size=512, lr=3e-3, seed=seed)
    return model
