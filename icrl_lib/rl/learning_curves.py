"""Learning curves of control runs: normalised returns on a batch of MDPs, the round a curve first reaches a
level, the entropy of a policy, and a curve read at a number of environment steps (chapter 11).

Shapes: ``x`` (n_mdps, K+1) normalised returns ``(J - J_random) / (J_star - J_random)`` per MDP and round
(chapters 1 and 7); ``pi`` (..., S, A) a policy.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from .._validation import as_tensor, check_int, check_real, check_shape, check_stochastic
from .control import reference_returns, run_control
from .mdp import TabularMDP

__all__ = ["normalized_control", "first_round_reaching", "policy_entropy", "value_at_step"]

_F64 = torch.float64


def normalized_control(mdps: TabularMDP, agents, policy, params0, n_rounds: int, n_transitions: int,
                       seed: int = 0, reward_noise: float = 0.0) -> dict:
    """:func:`~icrl_lib.rl.control.run_control` with common random numbers, normalised per MDP (chapter 11).

    Returns ``{name: x}`` with ``x`` (n_mdps, K+1): ``x[:, k]`` the normalised return of each MDP's policy
    after ``k`` rounds (0 uniform, 1 optimal; :func:`~icrl_lib.rl.control.reference_returns` of ``mdps``).
    The arguments are those of ``run_control`` (``agents`` a dict name -> update).
    """
    if not isinstance(mdps, TabularMDP):
        raise ValueError(f"mdps must be a TabularMDP; got {type(mdps).__name__}")
    if not isinstance(agents, Mapping) or not agents:
        raise ValueError("agents must be a non-empty dict name -> update(params, transitions) -> params")
    res = run_control(mdps, agents, policy, params0, n_rounds, n_transitions, seed=check_int(seed, "seed", 0),
                      reward_noise=reward_noise)
    return res.normalized(*reference_returns(mdps))


def first_round_reaching(x, level: float = 0.8) -> int | None:
    """The first round ``k`` whose mean over MDPs ``x[:, k].mean()`` is at least ``level``, or ``None`` if no
    round reaches it (chapter 11). ``x`` (n_mdps, K+1) finite."""
    x = as_tensor(x, "x", dtype=_F64)
    check_shape(x, "x", (None, None), batch=False)
    if x.shape[0] == 0 or x.shape[1] == 0 or not bool(torch.isfinite(x).all()):
        raise ValueError(f"x must be a finite non-empty (n_mdps, K+1) array; got shape {tuple(x.shape)}")
    level = check_real(level, "level")
    hit = (x.mean(0) >= level).nonzero()
    return int(hit[0]) if len(hit) else None


def policy_entropy(pi) -> float:
    """Mean entropy (nats) of the rows of ``pi`` (..., S, A) over MDPs and states; ``ln A`` for the uniform
    policy, 0 for a deterministic one (chapter 11: how far a policy has committed)."""
    pi = as_tensor(pi, "pi", dtype=_F64)
    check_shape(pi, "pi", (None, None))
    if pi.numel() == 0:
        raise ValueError(f"pi must be non-empty; got shape {tuple(pi.shape)}")
    check_stochastic(pi, "pi")
    return float(-(pi * pi.clamp_min(1e-300).log()).sum(-1).mean())


def value_at_step(steps, x, step: int) -> torch.Tensor:
    """``x[:, j]`` (n_mdps,) at the first scoring point ``steps[j] >= step`` (chapter 11: curves scored at
    different numbers of environment steps compared at the same step). ``steps`` (K+1,) increasing, ``x``
    (n_mdps, K+1); ``step`` at most ``steps[-1]``."""
    steps = np.asarray(as_tensor(steps, "steps", dtype=_F64))
    x = as_tensor(x, "x", dtype=_F64)
    check_shape(x, "x", (None, None), batch=False)
    if steps.ndim != 1 or len(steps) != x.shape[1] or len(steps) == 0 or np.any(np.diff(steps) <= 0):
        raise ValueError(f"steps must be increasing with one entry per column of x ({x.shape[1]}); got shape "
                         f"{steps.shape}")
    step = check_int(step, "step", minimum=0)
    if step > steps[-1]:
        raise ValueError(f"step must be at most the last scoring point {steps[-1]:g}; got {step}")
    return x[:, int(np.searchsorted(steps, step))]
