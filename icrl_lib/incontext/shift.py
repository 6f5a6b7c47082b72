"""Distribution shift of a trained block (chapter 11, section 3): deployment conditions that differ from the
training distribution, the block's one-step error on each, and its control return against its teacher's.

A condition is ``(dist, make)``: ``dist`` the :class:`~icrl_lib.incontext.tasks.PromptDistribution` whose
teacher is the reference (its ``gamma`` and ``N``), ``make(n, seed)`` a batch of ``n`` deployment MDPs.
The block ``(P, V)`` is (D, D) each, D the prompt dimension of ``dist``.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import torch

from .._validation import as_tensor, check_int, check_positive
from ..rl import (TabularMDP, chain_mdp, dirichlet_mdp, mean_and_ci95, reference_returns, ring_mdp,
                  run_control)
from .agents import behaviour_policy_fn, block_agent, teacher_agent
from .depth import stack_readout
from .tasks import PromptDistribution, build_prompt_batch, sample_parameters

__all__ = ["shift_conditions", "block_shift_study"]

_F64 = torch.float64


def _with_rewards(mdps: TabularMDP, scale: float, offset: float) -> TabularMDP:
    """The MDPs ``mdps`` with rewards ``scale * r + offset`` (chapter 11); transitions unchanged."""
    if not isinstance(mdps, TabularMDP):
        raise ValueError(f"mdps must be a TabularMDP; got {type(mdps).__name__}")
    scale = float(as_tensor(scale, "scale"))
    offset = float(as_tensor(offset, "offset"))
    return TabularMDP(mdps.P, scale * mdps.r + offset, mdps.gamma, mdps.rho0)


def shift_conditions(dist: PromptDistribution) -> dict:
    """The 14 deployment conditions of chapter 11 for a block trained on ``dist`` (Dirichlet(1) MDPs):
    ``{name: (dist', make(n, seed))}``: transition concentrations 0.1 to 10, rewards scaled or offset, gamma
    0.5 and 0.99, N = 5 and 320, a slippery chain and ring (5 states, slip 0.2)."""
    if not isinstance(dist, PromptDistribution):
        raise ValueError(f"dist must be a PromptDistribution; got {type(dist).__name__}")
    S, A, g = dist.n_states, dist.n_actions, dist.gamma

    def dirichlet(c, gamma=g):
        return lambda n, seed: dirichlet_mdp(S, A, c, gamma, n, seed)

    def rewards(scale, offset):
        return lambda n, seed: _with_rewards(dirichlet_mdp(S, A, 1.0, g, n, seed), scale, offset)

    return {
        "none (Dirichlet 1)": (dist, dirichlet(1.0)),
        "Dirichlet 0.1 (sparse)": (dist, dirichlet(0.1)),
        "Dirichlet 0.3": (dist, dirichlet(0.3)),
        "Dirichlet 10 (dense)": (dist, dirichlet(10.0)),
        "rewards x 3": (dist, rewards(3.0, 0.0)),
        "rewards x 0.3": (dist, rewards(0.3, 0.0)),
        "rewards + 1": (dist, rewards(1.0, 1.0)),
        "rewards - 0.5": (dist, rewards(1.0, -0.5)),
        "gamma 0.5": (replace(dist, gamma=0.5), dirichlet(1.0, 0.5)),
        "gamma 0.99": (replace(dist, gamma=0.99), dirichlet(1.0, 0.99)),
        "N = 5": (replace(dist, n_transitions=5), dirichlet(1.0)),
        "N = 320": (replace(dist, n_transitions=320), dirichlet(1.0)),
        "slippery chain": (dist, lambda n, seed: chain_mdp(5, 0.2, g, n)),
        "slippery ring": (dist, lambda n, seed: ring_mdp(5, 0.2, g, n)),
    }


def block_shift_study(P, V, conditions: Mapping, temperature: float, n_rounds: int, n_mdps: int = 100,
                      n_prompts: int = 512, control_seed: int = 3, reward_noise: float = 0.1) -> dict:
    """The trained block ``(P, V)`` against its teacher under each condition (chapter 11, section 3).

    For each ``name: (dist, make)`` of ``conditions``: the median over ``n_prompts`` prompts (MDPs
    ``make(n_prompts, 100)``) of the one-step error ``|block - teacher| / |teacher - params|``, and the
    control run of block and teacher (``n_rounds`` rounds of ``dist.n_transitions`` transitions, behaviour
    at ``temperature``, from 0, on ``make(n_mdps, 200)``, common random numbers ``control_seed``).
    Returns ``{name: (error, teacher's final normalised return (mean), (mean, 95% half-width) of the paired
    final block - teacher difference)}``.
    """
    P, V = as_tensor(P, "P", dtype=_F64), as_tensor(V, "V", dtype=_F64)
    if not isinstance(conditions, Mapping) or not conditions:
        raise ValueError("conditions must be a non-empty dict name -> (dist, make(n, seed))")
    tau = check_positive(temperature, "temperature")
    K, n, B = check_int(n_rounds, "n_rounds"), check_int(n_mdps, "n_mdps", 2), check_int(n_prompts, "n_prompts")
    seed = check_int(control_seed, "control_seed", 0)
    out = {}
    for name, (dist, make) in conditions.items():
        D = dist.layout.dim
        if P.shape != (D, D) or V.shape != (D, D):
            raise ValueError(f"P and V must have shape ({D}, {D}) for condition {name!r}; got {tuple(P.shape)}")
        g = torch.Generator().manual_seed(0)
        batch = build_prompt_batch(dist, make(B, 100), sample_parameters(dist, B, g), g)
        pred = stack_readout(batch.H, P[None], V[None], dist.output_rows)
        err = ((pred - batch.target).norm(dim=-1) / (batch.target - batch.params).norm(dim=-1)).median()
        mdps = make(n, 200)
        res = run_control(mdps, {"block": block_agent(P, V, dist), "teacher": teacher_agent(dist)},
                          behaviour_policy_fn(dist, tau), torch.zeros(dist.n_params, dtype=_F64), K,
                          dist.n_transitions, seed=seed, reward_noise=reward_noise)
        x = res.normalized(*reference_returns(mdps))
        gap = mean_and_ci95(x["block"][:, -1] - x["teacher"][:, -1])
        out[name] = (float(err), float(x["teacher"][:, -1].mean()), (float(gap[0]), float(gap[1])))
    return out
