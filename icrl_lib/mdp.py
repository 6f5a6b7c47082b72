"""Finite MDPs and Markov reward processes: generators, exact evaluation, planning and sampling.

Conventions (explained in chapter 1 of the book):
``P[s, a, s']`` transition probabilities, ``r[s, a]`` expected reward, ``gamma`` in [0, 1), ``rho0[s]`` the
initial distribution and ``pi[s, a]`` a stochastic policy. Everything is stored as float64 torch tensors:
exact evaluation solves linear systems and the book compares against it to 1e-10.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from ._validation import (as_tensor, check_gamma, check_int, check_real, check_shape, check_stochastic)

__all__ = ["TabularMDP", "MarkovRewardProcess", "Transitions", "random_mdp", "boyan_chain",
           "policy_transition", "policy_evaluation", "expected_return", "value_iteration",
           "greedy_policy", "stationary_distribution", "mrp_values", "sample_transitions",
           "sample_mrp_trajectory"]

_F64 = torch.float64


def _store_validated(model, P: torch.Tensor, r_shape: tuple) -> None:
    """Shared validation of both model classes once ``P`` has its shape checked: stochastic ``P``,
    ``r`` of ``r_shape``, ``gamma`` in [0, 1), ``rho0`` (uniform if omitted); stores float64 tensors."""
    check_stochastic(P, "P")  # in the input's dtype, so float32 rows are judged with a float32 tolerance
    S = P.shape[0]
    r = as_tensor(model.r, "r", dtype=_F64)
    check_shape(r, "r", r_shape, batch=False)
    gamma = check_gamma(model.gamma)
    rho0 = torch.full((S,), 1.0 / S, dtype=_F64) if model.rho0 is None else as_tensor(model.rho0, "rho0")
    check_shape(rho0, "rho0", (S,), batch=False)
    check_stochastic(rho0, "rho0")
    for k, v in (("P", P.to(_F64)), ("r", r), ("gamma", gamma), ("rho0", rho0.to(_F64))):
        object.__setattr__(model, k, v)


@dataclass(frozen=True, eq=False)
class TabularMDP:
    """A finite MDP ``(S, A, P, r, gamma, rho0)``.

    Attributes:
        P: ``(S, A, S)``, rows ``P[s, a, :]`` are probability vectors.
        r: ``(S, A)`` expected rewards.
        gamma: discount factor in [0, 1).
        rho0: ``(S,)`` initial distribution (uniform if omitted).
    """

    P: torch.Tensor
    r: torch.Tensor
    gamma: float
    rho0: torch.Tensor | None = None

    def __post_init__(self):
        P = as_tensor(self.P, "P")
        check_shape(P, "P", (None, None, None), batch=False)
        S, A, S2 = P.shape
        if S2 != S:
            raise ValueError(f"P must have shape (S, A, S); got {tuple(P.shape)}")
        _store_validated(self, P, (S, A))

    @property
    def n_states(self) -> int:
        return self.P.shape[0]

    @property
    def n_actions(self) -> int:
        return self.P.shape[1]


@dataclass(frozen=True, eq=False)
class MarkovRewardProcess:
    """A Markov reward process (an MDP with its policy folded in): ``P`` (S, S), ``r`` (S,), ``gamma``, ``rho0``."""

    P: torch.Tensor
    r: torch.Tensor
    gamma: float
    rho0: torch.Tensor | None = None

    def __post_init__(self):
        P = as_tensor(self.P, "P")
        check_shape(P, "P", (None, None), batch=False)
        S = P.shape[0]
        if P.shape[1] != S:
            raise ValueError(f"P must have shape (S, S); got {tuple(P.shape)}")
        _store_validated(self, P, (S,))

    @property
    def n_states(self) -> int:
        return self.P.shape[0]


class Transitions(NamedTuple):
    """``N`` transitions ``(S_t, A_t, R_t, S'_t, A'_t)``; states and actions are int64, rewards float64."""

    s: torch.Tensor
    a: torch.Tensor
    r: torch.Tensor
    s_next: torch.Tensor
    a_next: torch.Tensor


def random_mdp(n_states: int, n_actions: int, gamma: float = 0.9, seed: int = 0) -> TabularMDP:
    """Random tabular MDP of the book's protocol (chapter 1; our protocol).

    ``P[s, a, :] ~ Dirichlet(1)``, ``r[s, a] ~ U[0, 1]``, uniform ``rho0``; all draws from ``seed``.
    """
    S = check_int(n_states, "n_states")
    A = check_int(n_actions, "n_actions")
    check_gamma(gamma)
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    P = rng.dirichlet(np.ones(S), size=(S, A))
    r = rng.uniform(0.0, 1.0, size=(S, A))
    return TabularMDP(P, r, gamma)


def boyan_chain(n_states: int, gamma: float = 0.9, seed: int = 0) -> MarkovRewardProcess:
    """The Boyan-chain Markov reward process generator of [W25] (chapter 3).

    State ``i < S-2`` moves to ``i+1`` with probability ``p_i ~ U(0.01, 0.99)`` and to ``i+2`` otherwise;
    state ``S-2`` moves to ``S-1``; the last state jumps according to a random distribution (uniform
    weights in (0.01, 0.99), normalised). Rewards ``r(s) ~ U(-1, 1)``; the initial distribution is drawn
    like the last row. Needs ``n_states >= 3``.
    """
    S = check_int(n_states, "n_states", minimum=3)
    check_gamma(gamma)
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    P = np.zeros((S, S))
    p = rng.uniform(0.01, 0.99, size=S - 2)
    idx = np.arange(S - 2)
    P[idx, idx + 1] = p
    P[idx, idx + 2] = 1.0 - p
    P[S - 2, S - 1] = 1.0
    last = rng.uniform(0.01, 0.99, size=S)
    P[S - 1] = last / last.sum()
    r = rng.uniform(-1.0, 1.0, size=S)
    mu = rng.uniform(0.01, 0.99, size=S)
    return MarkovRewardProcess(P, r, gamma, mu / mu.sum())


def _check_policy(mdp: TabularMDP, pi) -> torch.Tensor:
    if not isinstance(mdp, TabularMDP):
        raise ValueError(f"mdp must be a TabularMDP; got {type(mdp).__name__}")
    pi = as_tensor(pi, "pi")
    check_shape(pi, "pi", (mdp.n_states, mdp.n_actions), batch=False)
    check_stochastic(pi, "pi")
    return pi.to(_F64)


def policy_transition(mdp: TabularMDP, pi) -> tuple[torch.Tensor, torch.Tensor]:
    """``(P_pi, r_pi)`` with ``P_pi[s, s'] = sum_a pi[s, a] P[s, a, s']`` and ``r_pi[s] = sum_a pi[s, a] r[s, a]``."""
    pi = _check_policy(mdp, pi)
    return torch.einsum("sa,sat->st", pi, mdp.P), (pi * mdp.r).sum(-1)


def mrp_values(mrp: MarkovRewardProcess) -> torch.Tensor:
    """Exact values ``v = (I - gamma P)^{-1} r`` of a Markov reward process, shape ``(S,)``."""
    if not isinstance(mrp, MarkovRewardProcess):
        raise ValueError(f"mrp must be a MarkovRewardProcess; got {type(mrp).__name__}")
    eye = torch.eye(mrp.n_states, dtype=_F64)
    return torch.linalg.solve(eye - mrp.gamma * mrp.P, mrp.r)


def policy_evaluation(mdp: TabularMDP, pi) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact ``(V^pi, Q^pi)`` by a linear solve: ``V = (I - gamma P_pi)^{-1} r_pi``, ``Q = r + gamma P V``."""
    P_pi, r_pi = policy_transition(mdp, pi)
    V = torch.linalg.solve(torch.eye(mdp.n_states, dtype=_F64) - mdp.gamma * P_pi, r_pi)
    Q = mdp.r + mdp.gamma * torch.einsum("sat,t->sa", mdp.P, V)
    return V, Q


def expected_return(mdp: TabularMDP, pi) -> torch.Tensor:
    """``J(pi) = rho0^T V^pi`` (a 0-dim float64 tensor)."""
    V, _ = policy_evaluation(mdp, pi)
    return mdp.rho0 @ V


def greedy_policy(q) -> torch.Tensor:
    """Deterministic greedy policy ``(..., S, A)`` of a Q table; ties go to the lowest action index."""
    q = as_tensor(q, "q")
    check_shape(q, "q", (None, None))
    return torch.nn.functional.one_hot(q.argmax(-1), q.shape[-1]).to(q.dtype)


def value_iteration(mdp: TabularMDP, tol: float = 1e-10, max_iters: int = 100_000
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Optimal ``(pi_star, V_star, Q_star)`` by value iteration.

    Iterates the Bellman optimality operator until the sup-norm change is below
    ``tol (1 - gamma) / (2 gamma)`` (so ``V`` is within ``tol`` of ``V*``), then returns the greedy policy and
    its exact evaluation, which is optimal. Raises ``ValueError`` if ``max_iters`` is not enough.
    """
    if not isinstance(mdp, TabularMDP):
        raise ValueError(f"mdp must be a TabularMDP; got {type(mdp).__name__}")
    tol = check_real(tol, "tol")
    if tol <= 0:
        raise ValueError(f"tol must be > 0; got {tol}")
    max_iters = check_int(max_iters, "max_iters")
    g = mdp.gamma
    stop = tol * (1 - g) / (2 * g) if g > 0 else np.inf
    V = torch.zeros(mdp.n_states, dtype=_F64)
    for _ in range(max_iters):
        Q = mdp.r + g * torch.einsum("sat,t->sa", mdp.P, V)
        V_new = Q.max(-1).values
        done = float((V_new - V).abs().max()) <= stop
        V = V_new
        if done:
            break
    else:
        raise ValueError(f"value_iteration did not reach tol={tol} within max_iters={max_iters}")
    pi_star = greedy_policy(mdp.r + g * torch.einsum("sat,t->sa", mdp.P, V))
    V_star, Q_star = policy_evaluation(mdp, pi_star)
    return pi_star, V_star, Q_star


def stationary_distribution(P) -> torch.Tensor:
    """Stationary distribution ``d`` with ``d^T P = d^T`` of an ``(S, S)`` stochastic matrix (least squares)."""
    P = as_tensor(P, "P")
    check_shape(P, "P", (None, None), batch=False)
    S = P.shape[0]
    if P.shape[1] != S:
        raise ValueError(f"P must have shape (S, S); got {tuple(P.shape)}")
    check_stochastic(P, "P")
    P = P.to(_F64)
    A = torch.cat([P.T - torch.eye(S, dtype=_F64), torch.ones(1, S, dtype=_F64)])
    b = torch.cat([torch.zeros(S, dtype=_F64), torch.ones(1, dtype=_F64)])
    d = torch.linalg.lstsq(A, b.unsqueeze(-1)).solution.squeeze(-1)
    return d.clamp_min(0) / d.clamp_min(0).sum()


def _categorical(rng: np.random.Generator, probs: np.ndarray) -> int:
    # Inverse-CDF sampling keeps the draw sequence identical across numpy versions of ``choice``.
    c = np.cumsum(probs)
    return int(min(np.searchsorted(c, rng.random() * c[-1], side="right"), len(probs) - 1))


def sample_transitions(mdp: TabularMDP, pi, n: int, seed: int = 0, reset_prob: float = 0.0) -> Transitions:
    """Collect ``n`` on-policy transitions ``(S_t, A_t, R_t, S'_t, A'_t)`` from one trajectory.

    ``S_1 ~ rho0``, ``A_t ~ pi(.|S_t)``, ``S'_t ~ P(.|S_t, A_t)``, ``A'_t ~ pi(.|S'_t)`` (the *sampled*
    successor action used by SARSA), ``R_t = r[S_t, A_t]``. The next transition starts from
    ``(S'_t, A'_t)``, except that with probability ``reset_prob`` the trajectory restarts from ``rho0``
    (several episodes in one context).
    """
    pi = _check_policy(mdp, pi)
    n = check_int(n, "n")
    reset_prob = check_real(reset_prob, "reset_prob")
    if not 0.0 <= reset_prob <= 1.0:
        raise ValueError(f"reset_prob must be in [0, 1]; got {reset_prob}")
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    P, pi_np, rho0 = mdp.P.numpy(), pi.numpy(), mdp.rho0.numpy()
    s_arr = np.empty(n, dtype=np.int64)
    a_arr = np.empty(n, dtype=np.int64)
    sn_arr = np.empty(n, dtype=np.int64)
    an_arr = np.empty(n, dtype=np.int64)
    s = _categorical(rng, rho0)
    a = _categorical(rng, pi_np[s])
    for t in range(n):
        s_next = _categorical(rng, P[s, a])
        a_next = _categorical(rng, pi_np[s_next])
        s_arr[t], a_arr[t], sn_arr[t], an_arr[t] = s, a, s_next, a_next
        if reset_prob > 0 and rng.random() < reset_prob:
            s = _categorical(rng, rho0)
            a = _categorical(rng, pi_np[s])
        else:
            s, a = s_next, a_next
    s_t, a_t = torch.from_numpy(s_arr), torch.from_numpy(a_arr)
    return Transitions(s_t, a_t, mdp.r[s_t, a_t].clone(), torch.from_numpy(sn_arr), torch.from_numpy(an_arr))


def sample_mrp_trajectory(mrp: MarkovRewardProcess, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A trajectory ``S_0, ..., S_n`` of a Markov reward process and rewards ``R_1..R_n`` with ``R_{j+1} = r(S_j)``.

    Returns ``(states (n + 1,) int64, rewards (n,) float64)``; ``S_0 ~ rho0``.
    """
    if not isinstance(mrp, MarkovRewardProcess):
        raise ValueError(f"mrp must be a MarkovRewardProcess; got {type(mrp).__name__}")
    n = check_int(n, "n")
    rng = np.random.default_rng(check_int(seed, "seed", minimum=0))
    P = mrp.P.numpy()
    states = np.empty(n + 1, dtype=np.int64)
    states[0] = _categorical(rng, mrp.rho0.numpy())
    for j in range(n):
        states[j + 1] = _categorical(rng, P[states[j]])
    st = torch.from_numpy(states)
    return st, mrp.r[st[:-1]].clone()
