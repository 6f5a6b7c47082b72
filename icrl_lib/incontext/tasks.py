"""Prompt distributions for teacher mimicking (chapter 6) and in-context control (chapter 7).

A :class:`PromptDistribution` (our protocol) draws random tabular MDPs (``|S| = 5``, ``|A| = 3``, Dirichlet(1)
transitions, U[0, 1] rewards, gamma = 0.9), the current parameters (``w ~ N(0, w_scale^2 I)``, and
``theta ~ N(0, theta_scale^2 I)`` for actor-critic), ``N`` on-policy transitions of the behaviour policy of
those parameters and optional Gaussian reward noise; the prompt's target is the teacher's update. Poor
distributions for the richness experiments: ``fixed_mdp_seed`` (one fixed MDP), ``w_scale = 0`` (``w``
always 0), ``reward_noise = 0`` with a fixed MDP (rewards a fixed function of the features).

Everything algorithm-specific goes through the registry entry ``dist.spec``
(:data:`icrl_lib.incontext.ALGORITHMS`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch

from .._validation import (as_generator, as_tensor, broadcast_batch, check_finite_result, check_gamma, check_int,
                           check_positive, check_real, check_shape)
from ..rl import TabularMDP, random_mdp, sample_transitions
from .base import InContextAlgorithm
from .layout import PromptLayout, check_float_dtype
from .registry import ALGORITHMS, get_algorithm

__all__ = ["PromptDistribution", "PromptBatch", "HELD_OUT_SEED_OFFSET", "sample_mdps", "sample_parameters",
           "behaviour_policy", "build_prompt_batch", "sample_prompt_batch", "held_out_mdps",
           "behaviour_blocks", "behaviour_parameters"]

_F64 = torch.float64

#: Held-out MDPs are drawn from generators seeded at and above this offset; training never uses them.
HELD_OUT_SEED_OFFSET = 7_000_000


@dataclass(frozen=True)
class PromptDistribution:
    """The distribution of prompts the teacher-mimicking loss averages over (chapter 6; see the module
    docstring). ``algorithm`` is a name in :data:`icrl_lib.incontext.ALGORITHMS`; ``alpha``, ``beta``,
    ``gamma`` and ``temperature`` double as the algorithm's hyper-parameters (``hp``)."""

    algorithm: str = "sarsa"
    n_states: int = 5
    n_actions: int = 3
    gamma: float = 0.9
    n_transitions: int = 40
    alpha: float = 1.0
    beta: float = 10.0
    w_scale: float = 1.0
    theta_scale: float = 1.0
    temperature: float = 1.0
    reward_noise: float = 0.1
    fixed_mdp_seed: int | None = None

    def __post_init__(self):
        get_algorithm(self.algorithm)
        check_int(self.n_states, "n_states")
        check_int(self.n_actions, "n_actions")
        check_gamma(self.gamma)
        check_int(self.n_transitions, "n_transitions")
        check_positive(self.alpha, "alpha")
        check_positive(self.beta, "beta")
        check_positive(self.temperature, "temperature")
        for name in ("w_scale", "theta_scale", "reward_noise"):
            if check_real(getattr(self, name), name) < 0:
                raise ValueError(f"{name} must be >= 0; got {getattr(self, name)}")
        if self.fixed_mdp_seed is not None:
            check_int(self.fixed_mdp_seed, "fixed_mdp_seed", minimum=0)

    @property
    def spec(self) -> InContextAlgorithm:
        """The registry entry of ``algorithm``."""
        return ALGORITHMS[self.algorithm]

    @property
    def layout(self) -> PromptLayout:
        """The row layout of the prompts."""
        return self.spec.layout(self.n_states, self.n_actions)

    @property
    def d(self) -> int:
        """Critic dimension (the size of the ``w`` block): |S||A| for SARSA, |S| for actor-critic."""
        return self.layout.size("w")

    @property
    def output_rows(self) -> torch.Tensor:
        """Row indices of the parameters in the query column (``w``, or ``w`` then ``theta``)."""
        return self.spec.output_rows(self.n_states, self.n_actions)

    @property
    def n_params(self) -> int:
        """Length of the flat parameter vector."""
        return self.spec.n_params(self.n_states, self.n_actions)

    @property
    def scales(self) -> dict:
        """Standard deviations of the parameter blocks: ``{"w": w_scale, "theta": theta_scale}``."""
        return {"w": self.w_scale, "theta": self.theta_scale}

    def construction(self, dtype: torch.dtype = _F64) -> tuple[torch.Tensor, torch.Tensor]:
        """The exact ``(P*, V*)`` of the algorithm for these sizes and step sizes (chapters 4-5)."""
        check_float_dtype(dtype)
        return self.spec.construction(self.n_states, self.n_actions, self, dtype)


class PromptBatch(NamedTuple):
    """Prompts ``H`` (B, D, N+1), teacher targets (B, n_params), current parameters (B, n_params) and the
    MDPs (a batched :class:`icrl_lib.rl.TabularMDP`) (chapter 6)."""

    H: torch.Tensor
    target: torch.Tensor
    params: torch.Tensor
    mdps: TabularMDP


def _check_dist(dist) -> PromptDistribution:
    if not isinstance(dist, PromptDistribution):
        raise ValueError(f"dist must be a PromptDistribution; got {type(dist).__name__}")
    return dist


def sample_mdps(dist: PromptDistribution, n_mdps: int, generator: torch.Generator | int) -> TabularMDP:
    """``n_mdps`` MDPs of ``dist`` (leading dimension ``n_mdps``): fresh random ones, or ``n_mdps`` copies of
    the fixed MDP of ``fixed_mdp_seed`` (chapter 6). ``generator``: a ``torch.Generator`` or an int seed."""
    dist = _check_dist(dist)
    B = check_int(n_mdps, "n_mdps")
    generator = as_generator(generator)
    S, A = dist.n_states, dist.n_actions
    if dist.fixed_mdp_seed is None:
        return random_mdp(S, A, dist.gamma, n_mdps=B, generator=generator)
    one = random_mdp(S, A, dist.gamma, seed=dist.fixed_mdp_seed)
    return TabularMDP(one.P.expand(B, S, A, S), one.r.expand(B, S, A), dist.gamma, one.rho0.expand(B, S))


def sample_parameters(dist: PromptDistribution, n_prompts: int, generator: torch.Generator | int) -> torch.Tensor:
    """``n_prompts`` current parameters ``(n_prompts, n_params)``: ``w ~ N(0, w_scale^2 I)`` (then
    ``theta ~ N(0, theta_scale^2 I)``) (chapter 6). ``generator``: a ``torch.Generator`` or an int seed."""
    dist = _check_dist(dist)
    return dist.spec.sample_parameters(n_prompts, dist.n_states, dist.n_actions, dist.scales, generator)


def behaviour_policy(dist: PromptDistribution, params, temperature: float | None = None) -> torch.Tensor:
    """The policy ``(..., S, A)`` that collects the context for ``params`` ``(..., n_params)`` (chapters 6-7):
    ``softmax(q_w / tau)`` for SARSA, the actor ``pi_theta`` for actor-critic. ``temperature`` overrides
    ``dist.temperature``."""
    dist = _check_dist(dist)
    tau = dist.temperature if temperature is None else check_positive(temperature, "temperature")
    return dist.spec.behaviour_policy(params, dist.n_states, dist.n_actions, tau)


def build_prompt_batch(dist: PromptDistribution, mdps: TabularMDP, params, generator: torch.Generator | int,
                       temperature: float | None = None) -> PromptBatch:
    """Prompts and teacher targets for the current ``params`` (B, n_params) in the MDPs ``mdps`` (batch B)
    (chapters 6-7).

    Collects ``N = dist.n_transitions`` on-policy transitions of the behaviour policy in each MDP
    (:func:`icrl_lib.rl.sample_transitions`, with ``dist.reward_noise`` added to the rewards), builds the
    data blocks and the prompt and applies the teacher update, all through ``dist.spec`` (float64).
    ``mdps`` must have ``dist``'s numbers of states and actions and a batch shape that broadcasts with the
    parameters'; ``generator``: a ``torch.Generator`` or an int seed.
    """
    dist = _check_dist(dist)
    S, A = dist.n_states, dist.n_actions
    if not isinstance(mdps, TabularMDP):
        raise ValueError(f"mdps must be a TabularMDP; got {type(mdps).__name__}")
    if (mdps.n_states, mdps.n_actions) != (S, A):
        raise ValueError(f"mdps must have dist's {S} states and {A} actions; got {mdps.n_states} and "
                         f"{mdps.n_actions}")
    params = as_tensor(params, "params", dtype=_F64)
    check_shape(params, "params", (dist.n_params,))
    broadcast_batch({"params": params.shape, "mdps": tuple(mdps.batch_shape)}, {"params": 1, "mdps": 0})
    generator = as_generator(generator)
    pi = behaviour_policy(dist, params, temperature)
    T = sample_transitions(mdps, pi, dist.n_transitions, generator, reward_noise=dist.reward_noise)
    spec = dist.spec
    data = spec.transition_data(T, params, S, A, dist)
    H = spec.prompt(data, T.r, params, S, A)
    target = spec.teacher_update(params, data, T.r, S, A, dist)
    check_finite_result(H, "the prompts", "reduce the scale of params")
    return PromptBatch(H, target, params, mdps)


def sample_prompt_batch(dist: PromptDistribution, n_prompts: int, generator: torch.Generator | int) -> PromptBatch:
    """Draw ``n_prompts`` prompts of the training distribution and their teacher targets (float64; chapter 6).

    Draw order on ``generator`` (a ``torch.Generator`` or an int seed): the MDPs, the parameters, then the
    transitions and reward noise.
    """
    dist = _check_dist(dist)
    B = check_int(n_prompts, "n_prompts")
    generator = as_generator(generator)
    mdps = sample_mdps(dist, B, generator)
    return build_prompt_batch(dist, mdps, sample_parameters(dist, B, generator), generator)


def held_out_mdps(dist: PromptDistribution, n_mdps: int, seed: int = 0) -> TabularMDP:
    """``n_mdps`` random MDPs (leading dimension ``n_mdps``) from a seed range disjoint from every training
    generator's: seed ``HELD_OUT_SEED_OFFSET + seed`` (chapter 7)."""
    dist = _check_dist(dist)
    n = check_int(n_mdps, "n_mdps")
    s = check_int(seed, "seed", minimum=0)
    return random_mdp(dist.n_states, dist.n_actions, dist.gamma, seed=HELD_OUT_SEED_OFFSET + s, n_mdps=n)


def behaviour_blocks(dist: PromptDistribution) -> tuple:
    """The output blocks the behaviour policy of ``dist.algorithm`` reads (chapter 7): ``("w",)`` for SARSA
    (``softmax(q_w / tau)``), ``("theta",)`` for actor-critic (the actor ``pi_theta``; the critic ``w`` does not
    act).

    Found from the registry entry, not from the name: a block counts when giving it random values, all other
    blocks zero, changes ``dist.spec.behaviour_policy`` away from its value at zero parameters.
    """
    dist = _check_dist(dist)
    spec, S, A = dist.spec, dist.n_states, dist.n_actions
    g = torch.Generator().manual_seed(0)
    zero = torch.zeros(dist.n_params, dtype=_F64)
    base = spec.behaviour_policy(zero, S, A, dist.temperature)
    L, found, start = dist.layout, [], 0
    for name in spec.output_blocks:
        probe = zero.clone()
        probe[start: start + L.size(name)] = torch.randn(L.size(name), generator=g, dtype=_F64)
        if not torch.allclose(spec.behaviour_policy(probe, S, A, dist.temperature), base, atol=1e-12, rtol=0):
            found.append(name)
        start += L.size(name)
    return tuple(found)


def behaviour_parameters(dist: PromptDistribution, params) -> torch.Tensor:
    """The part of ``params`` ``(..., n_params)`` the behaviour policy reads, ``(..., k)`` (chapter 7): ``w`` for
    SARSA, ``theta`` for actor-critic (the blocks of :func:`behaviour_blocks`, concatenated in order). Its norm
    is the parameter norm chapter 7 follows over the control rounds."""
    dist = _check_dist(dist)
    parts = dist.spec.split_params(as_tensor(params, "params"), dist.n_states, dist.n_actions)
    return torch.cat([parts[name] for name in behaviour_blocks(dist)], dim=-1)
