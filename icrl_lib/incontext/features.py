"""In-context SARSA with random state-action features instead of one-hot (chapter 11, our protocol).

A feature table ``phi(s, a)`` in R^d (``table`` (..., S, A, d), entries U[-1, 1], the [W25] choice) replaces the
one-hot features; the SARSA prompt, readout and construction of chapter 4 are unchanged (they hold for any
features), but the one-hot null directions disappear (``1^T phi_t`` is no longer constant). Training prompts
draw a fresh table per prompt, so the block cannot memorise one table.
"""
from __future__ import annotations

from typing import Callable

import torch

from .._validation import (
    as_generator, as_tensor, broadcast_batch, check_bool, check_gamma, check_indices, check_int,
    check_positive, check_shape)
from ..attention import lsa_unchecked
from .base import check_transition_fields
from ..rl import batch_sarsa_update, q_values, random_features, sample_transitions, softmax_policy
from .sarsa import sarsa_prompt
from .tasks import PromptBatch, PromptDistribution, sample_mdps

__all__ = ["random_feature_tables", "feature_data", "feature_prompt_batch",
           "feature_teacher_agent", "feature_block_agent", "feature_policy_fn"]

_F64 = torch.float64


def random_feature_tables(n_tables: int, n_states: int, n_actions: int, d: int, generator: torch.Generator | int
                          ) -> torch.Tensor:
    """``n_tables`` feature tables (n_tables, S, A, d) with entries U[-1, 1] (chapter 11); ``generator`` a
    ``torch.Generator`` or an int seed."""
    B, S, A, d = (check_int(x, n) for x, n in ((n_tables, "n_tables"), (n_states, "n_states"),
                                                (n_actions, "n_actions"), (d, "d")))
    generator = as_generator(generator)
    return random_features(B * S * A, d, generator=generator).reshape(B, S, A, d)


def feature_data(table, s, a) -> torch.Tensor:
    """``phi(s_t, a_t)`` (..., N, d) from ``table`` (S, A, d) or (B, S, A, d) and indices ``s``, ``a`` (B, N)
    (chapter 11): ``s`` in [0, S-1], ``a`` in [0, A-1], one shape; with a batch of tables ``s`` is (B, N)."""
    table = as_tensor(table, "table")
    if table.dim() != 3:
        check_shape(table, "table", (None, None, None, None), batch=False)
    check_shape(table, "table", (None, None, None))
    S, A = table.shape[-3:-1]
    s, a = check_indices(s, "s", S), check_indices(a, "a", A)
    if s.shape != a.shape or s.dim() < 1:
        raise ValueError(f"s and a must have one shape (..., N); got {tuple(s.shape)} and {tuple(a.shape)}")
    if table.dim() == 3:
        return table[s, a]
    if s.dim() != 2:
        raise ValueError(f"s and a must have shape (B, N) with a batch of tables; got {tuple(s.shape)}")
    broadcast_batch({"table": table.shape, "s": s.shape}, {"table": 3, "s": 1})
    rows = torch.arange(table.shape[0]).unsqueeze(-1)
    return table[rows, s, a]


def feature_prompt_batch(dist: PromptDistribution, d: int, n_prompts: int, generator: torch.Generator | int,
                         tables=None) -> tuple[PromptBatch, torch.Tensor]:
    """SARSA prompts with random features (chapter 11): sizes, ``gamma``, ``alpha``, ``N``, ``w_scale``,
    ``temperature`` and ``reward_noise`` from ``dist``; ``w ~ N(0, w_scale^2 I_d)``; behaviour
    ``softmax(q_w / tau)``; target = :func:`icrl_lib.rl.batch_sarsa_update` on the features.

    Draw order: MDPs, tables (unless ``tables`` (n_prompts, S, A, d) is given), ``w``, transitions.
    ``generator``: a ``torch.Generator`` or an int seed. Returns the batch (float64) and the tables.
    """
    if not isinstance(dist, PromptDistribution):
        raise ValueError(f"dist must be a PromptDistribution; got {type(dist).__name__}")
    d = check_int(d, "d")
    B = check_int(n_prompts, "n_prompts")
    generator = as_generator(generator)
    S, A = dist.n_states, dist.n_actions
    if tables is not None:  # checked before any draw
        tables = as_tensor(tables, "tables", dtype=_F64)
        check_shape(tables, "tables", (B, S, A, d), batch=False)
    mdps = sample_mdps(dist, B, generator)
    if tables is None:
        tables = random_feature_tables(B, S, A, d, generator).to(_F64)
    w = dist.w_scale * torch.randn(B, d, generator=generator, dtype=_F64)
    pi = softmax_policy(q_values(w, tables), dist.temperature)
    T = sample_transitions(mdps, pi, dist.n_transitions, generator, reward_noise=dist.reward_noise)
    phi, phi_next = feature_data(tables, T.s, T.a), feature_data(tables, T.s_next, T.a_next)
    H = sarsa_prompt(phi, phi_next, T.r, w)
    target = batch_sarsa_update(w, phi, phi_next, T.r, dist.alpha, dist.gamma)
    return PromptBatch(H, target, w, mdps), tables


def feature_teacher_agent(table, alpha: float, gamma: float) -> Callable:
    """Batch SARSA on the features of ``table`` (S, A, d) as an agent for :func:`icrl_lib.rl.run_control`
    (chapter 11): ``update(w (..., d), transitions) -> w'``."""
    table = _check_table(table)
    a = check_positive(alpha, "alpha")
    g = check_gamma(gamma)

    def update(w, transitions) -> torch.Tensor:
        w, r, phi, phi_next = _agent_inputs(table, w, transitions)
        return batch_sarsa_update(w, phi, phi_next, r, a, g)
    return update


def _check_table(table) -> torch.Tensor:
    table = as_tensor(table, "table", dtype=_F64)
    check_shape(table, "table", (None, None, None), batch=False)
    return table


def _agent_inputs(table: torch.Tensor, w, transitions):
    """The checked ``w`` (..., d), rewards and features of an agent's ``(w, transitions)``."""
    S, A, d = table.shape
    w = as_tensor(w, "w", dtype=_F64)
    check_shape(w, "w", (d,))
    r = check_transition_fields(transitions, S, A)
    tr = transitions
    return w, r, feature_data(table, tr.s, tr.a), feature_data(table, tr.s_next, tr.a_next)


def feature_block_agent(P, V, table, mask: bool = False) -> Callable:
    """A block ``(P, V)`` (each (3d+2, 3d+2), the SARSA prompt's ``D``) on the feature prompts of ``table``
    (S, A, d) as an agent (chapter 11)."""
    table = _check_table(table)
    d = table.shape[-1]
    D = 3 * d + 2
    P = as_tensor(P, "P", dtype=_F64)
    V = as_tensor(V, "V", dtype=_F64)
    check_shape(P, "P", (D, D), batch=False)
    check_shape(V, "V", (D, D), batch=False)
    mask = check_bool(mask, "mask")

    def update(w, transitions) -> torch.Tensor:
        w, r, phi, phi_next = _agent_inputs(table, w, transitions)
        H = sarsa_prompt(phi, phi_next, r, w)
        return lsa_unchecked(H, P, V, mask=mask)[..., 2 * d + 2:, -1]
    return update


def feature_policy_fn(table, temperature: float) -> Callable:
    """``w -> softmax(q_w / tau)`` with ``q_w = table @ w`` (chapter 11), the policy of
    :func:`icrl_lib.rl.run_control`."""
    table = _check_table(table)
    tau = check_positive(temperature, "temperature")

    def policy(w) -> torch.Tensor:
        w = as_tensor(w, "w", dtype=_F64)
        check_shape(w, "w", (table.shape[-1],))
        return softmax_policy(q_values(w, table), tau)
    return policy
