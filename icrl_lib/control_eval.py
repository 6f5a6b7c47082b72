"""In-context control on held-out MDPs, batched over MDPs (chapter 7).

Each agent repeats for ``K`` rounds: act with the behaviour policy of its current parameters, collect
``N`` on-policy transitions, replace the parameters by its update of the prompt. Agents:

- ``transformer``: the trained block's readout of the prompt;
- ``teacher``: the explicit batch SARSA / actor-critic update of the same kind of prompt;
- ``oracle``: the optimal policy (value iteration), and ``random``: the uniform policy (constants).

Returns are exact (``J = rho0^T V^pi`` by a linear solve) and normalised per MDP as
``(J - J_random) / (J* - J_random)``. Transformer and teacher use the same random numbers (common seeds),
so their difference is due to the update only.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import torch

from ._validation import check_int, check_positive
from .mdp_batch import MDPBatch, batch_expected_return, batch_value_iteration, random_mdps
from .teacher_mimicking import (PromptBatch, PromptDistribution, behaviour_policy, block_readout,
                                build_prompt_batch, output_rows)

__all__ = ["ControlResult", "held_out_mdps", "block_update", "teacher_update", "run_control",
           "mean_and_ci95"]

_F64 = torch.float64
Update = Callable[[PromptBatch], torch.Tensor]

#: Held-out MDPs are drawn from generators seeded at and above this offset; training never uses them.
HELD_OUT_SEED_OFFSET = 7_000_000


class ControlResult(NamedTuple):
    """``returns[name]`` (B, K+1) exact returns per round (index 0: initial parameters) and
    ``normalized[name]`` (B, K+1); ``J_star``, ``J_random`` (B,)."""

    returns: dict
    normalized: dict
    J_star: torch.Tensor
    J_random: torch.Tensor


def held_out_mdps(dist: PromptDistribution, n_mdps: int, seed: int = 0) -> MDPBatch:
    """``n_mdps`` random MDPs from a seed range disjoint from every training generator's."""
    n = check_int(n_mdps, "n_mdps")
    s = check_int(seed, "seed", minimum=0)
    return random_mdps(n, dist.n_states, dist.n_actions, dist.gamma, seed=HELD_OUT_SEED_OFFSET + s)


def block_update(P, V, dist: PromptDistribution, mask: bool = False) -> Update:
    """The trained block as an update: ``params <- readout(LSA_{P,V}(H))``."""
    P = torch.as_tensor(P, dtype=_F64)
    V = torch.as_tensor(V, dtype=_F64)
    rows = output_rows(dist)
    return lambda batch: block_readout(P, V, batch.H, rows, mask)


def teacher_update(batch: PromptBatch) -> torch.Tensor:
    """The explicit update (the teacher's target of the prompt)."""
    return batch.target


def run_control(mdps: MDPBatch, dist: PromptDistribution, updates: dict, n_rounds: int, temperature: float,
                seed: int = 0, params0: torch.Tensor | None = None) -> ControlResult:
    """Run every agent of ``updates`` (name -> update callable) for ``n_rounds`` rounds on all MDPs.

    ``dist`` fixes the algorithm, ``N`` (``dist.n_transitions``), the step sizes and the reward noise;
    ``temperature`` is the SARSA behaviour temperature during control (the actor uses its own softmax).
    Parameters start at ``params0`` (default zeros).
    """
    if not isinstance(mdps, MDPBatch):
        raise ValueError(f"mdps must be an MDPBatch; got {type(mdps).__name__}")
    K = check_int(n_rounds, "n_rounds")
    tau = check_positive(temperature, "temperature")
    check_int(seed, "seed", minimum=0)
    B, S, A = mdps.n_mdps, mdps.n_states, mdps.n_actions
    n_out = len(output_rows(dist))
    if params0 is None:
        params0 = torch.zeros(B, n_out, dtype=_F64)
    pi_star, _, _ = batch_value_iteration(mdps)
    J_star = batch_expected_return(mdps, pi_star)
    J_random = batch_expected_return(mdps, torch.full((B, S, A), 1.0 / A, dtype=_F64))
    gap = (J_star - J_random).clamp_min(1e-12)
    returns, normalized = {}, {}
    for name, update in updates.items():
        gen = torch.Generator().manual_seed(seed)   # common random numbers across agents
        params = params0.clone().to(_F64)
        J = [batch_expected_return(mdps, behaviour_policy(dist, params, tau))]
        for _ in range(K):
            batch = build_prompt_batch(dist, mdps, params, gen, tau)
            params = update(batch).detach().to(_F64)
            if not bool(torch.isfinite(params).all()):
                raise ValueError(f"agent {name!r} produced non-finite parameters")
            J.append(batch_expected_return(mdps, behaviour_policy(dist, params, tau)))
        returns[name] = torch.stack(J, dim=-1)
        normalized[name] = (returns[name] - J_random.unsqueeze(-1)) / gap.unsqueeze(-1)
    ones = torch.ones(B, K + 1, dtype=_F64)
    returns["oracle"], normalized["oracle"] = J_star.unsqueeze(-1) * ones, ones.clone()
    returns["random"], normalized["random"] = J_random.unsqueeze(-1) * ones, 0 * ones
    return ControlResult(returns, normalized, J_star, J_random)


def mean_and_ci95(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean over the first axis and the half-width of a normal-approximation 95% interval."""
    x = torch.as_tensor(x, dtype=_F64)
    n = x.shape[0]
    if n < 2:
        raise ValueError(f"x needs at least 2 rows for an interval; got {n}")
    return x.mean(0), 1.96 * x.std(0, unbiased=True) / n ** 0.5
