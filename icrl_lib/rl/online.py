"""Online tabular SARSA and Q-learning: one update per environment step (chapter 11's baselines).

The in-context learners of chapters 4-7 update once per round of ``N`` transitions; these classic learners
update ``q[s, a]`` after every transition with a constant step ``alpha`` [textbook]:

    SARSA:       q[s, a] += alpha (r + gamma q[s', a'] - q[s, a])
    Q-learning:  q[s, a] += alpha (r + gamma max_b q[s', b] - q[s, a])

acting with ``softmax(q / tau)`` along one trajectory per MDP (no resets). Batched over MDPs; the loop runs over
time steps only.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .._validation import as_generator, check_finite_result, check_int, check_positive, check_real
from .mdp import TabularMDP, expected_return
from .policies import softmax_policy
from .sampling import categorical_unchecked

__all__ = ["OnlineResult", "ONLINE_METHODS", "online_td_control"]

_F64 = torch.float64


def _sarsa_target(q_next_row, a_next):
    return q_next_row.gather(-1, a_next.unsqueeze(-1)).squeeze(-1)


def _q_learning_target(q_next_row, a_next):
    return q_next_row.max(-1).values


#: The bootstrap value of each online learner (chapter 11): ``q[s', a']`` or ``max_b q[s', b]``.
ONLINE_METHODS = {"sarsa": _sarsa_target, "q-learning": _q_learning_target}


class OnlineResult(NamedTuple):
    """Result of :func:`online_td_control` (chapter 11): ``steps`` (K,) the environment steps at which the
    policy was scored, ``returns`` (..., K) the exact returns ``J(softmax(q / tau))`` there, ``q`` (..., S, A)."""

    steps: torch.Tensor
    returns: torch.Tensor
    q: torch.Tensor


def online_td_control(mdps: TabularMDP, n_steps: int, alpha: float, method: str = "sarsa",
                      temperature: float = 0.3, eval_every: int = 40, generator=0,
                      reward_noise: float = 0.0) -> OnlineResult:
    """Run online tabular SARSA or Q-learning for ``n_steps`` steps in every MDP of ``mdps`` (chapter 11).

    ``method`` is a key of :data:`ONLINE_METHODS`; ``q`` starts at 0; behaviour and scored policy are
    ``softmax(q / temperature)``; ``S_1 ~ rho0``; rewards get ``reward_noise`` times N(0, 1). Scores every
    ``eval_every`` steps (and at step 0). ``generator``: a ``torch.Generator`` or an int seed.
    """
    if not isinstance(mdps, TabularMDP):
        raise ValueError(f"mdps must be a TabularMDP; got {type(mdps).__name__}")
    if method not in ONLINE_METHODS:
        raise ValueError(f"method must be one of {sorted(ONLINE_METHODS)}; got {method!r}")
    T = check_int(n_steps, "n_steps")
    a_step = check_positive(alpha, "alpha")
    tau = check_positive(temperature, "temperature")
    every = check_int(eval_every, "eval_every")
    noise = check_real(reward_noise, "reward_noise")
    if noise < 0:
        raise ValueError(f"reward_noise must be >= 0; got {noise}")
    gen = as_generator(generator)
    target_fn = ONLINE_METHODS[method]
    S, A, batch = mdps.n_states, mdps.n_actions, mdps.batch_shape
    P = mdps.P.expand(*batch, S, A, S).reshape(-1, S, A, S)
    M = P.shape[0]
    r = mdps.r.expand(*batch, S, A).reshape(M, S, A)
    rho0 = mdps.rho0.expand(*batch, S).reshape(M, S)
    rows = torch.arange(M)
    q = torch.zeros(M, S, A, dtype=_F64)
    s = categorical_unchecked(rho0, gen)
    a = categorical_unchecked(softmax_policy(q[rows, s], tau), gen)
    steps, J = [0], [expected_return(mdps, softmax_policy(q.reshape(*batch, S, A), tau))]
    for t in range(1, T + 1):
        s2 = categorical_unchecked(P[rows, s, a], gen)
        rew = r[rows, s, a]
        if noise > 0:
            rew = rew + noise * torch.randn(M, generator=gen, dtype=_F64)
        a2 = categorical_unchecked(softmax_policy(q[rows, s2], tau), gen)
        target = rew + mdps.gamma * target_fn(q[rows, s2], a2)
        q[rows, s, a] += a_step * (target - q[rows, s, a])
        # a too-large alpha makes q overflow to inf/NaN: say so instead of acting on a NaN softmax
        check_finite_result(q[rows, s, a], "the action values q", "reduce alpha (the step size)")
        s, a = s2, a2
        if t % every == 0:
            steps.append(t)
            J.append(expected_return(mdps, softmax_policy(q.reshape(*batch, S, A), tau)))
    return OnlineResult(torch.tensor(steps), torch.stack([j.expand(batch) for j in J], -1),
                        q.reshape(*batch, S, A))
