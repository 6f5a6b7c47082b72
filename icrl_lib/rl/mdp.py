"""Finite MDPs and Markov reward processes, single or batched: generators, exact evaluation and planning.

Conventions (chapter 1): ``P[..., s, a, s']`` transition probabilities, ``r[..., s, a]`` expected rewards,
``gamma`` in [0, 1) (one Python float shared by the whole batch), ``rho0[..., s]`` the initial distribution and
``pi[..., s, a]`` a stochastic policy. Leading dimensions ``...`` index *many MDPs* (chapters 6 and 7); a single
MDP is the batch-free case, so every function below serves both. Everything is stored as float64: exact
evaluation solves linear systems and the book compares against it to 1e-10.

There is one Bellman backup, :func:`bellman_backup` (``Q = r + gamma P V``); value iteration, both Bellman
operators and the ``Q`` of policy evaluation are all written with it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral
from typing import Sequence

import numpy as np
import torch

from .._validation import (
    as_tensor, broadcast_batch, check_gamma, check_int, check_memory, check_real, check_shape,
    check_stochastic, resolve_generator)

__all__ = ["TabularMDP", "MarkovRewardProcess", "stack_mdps", "random_mdp", "boyan_chain", "check_policy",
           "policy_transition", "bellman_backup", "bellman_expectation_operator", "bellman_optimality_operator",
           "policy_evaluation", "expected_return", "greedy_policy", "value_iteration", "value_iteration_history",
           "mrp_values", "stationary_distribution"]

_F64 = torch.float64


class _BatchedModel:
    """Shared behaviour of :class:`TabularMDP` and :class:`MarkovRewardProcess` (leading batch dimensions)."""

    _P_TRAILING = 0  # number of trailing dimensions of P (3 for an MDP, 2 for an MRP)

    def _validate(self) -> None:
        P = as_tensor(self.P, "P")
        nd = self._P_TRAILING
        check_shape(P, "P", (None,) * nd)
        S = P.shape[-1]
        if P.shape[-nd] != S:
            want = "(..., S, A, S)" if nd == 3 else "(..., S, S)"
            raise ValueError(f"P must have shape {want}; got {tuple(P.shape)}")
        check_stochastic(P, "P")  # in the input's dtype, so float32 rows are judged with a float32 tolerance
        r_shape = (S,) + tuple(P.shape[-nd + 1:-1])  # (S, A) or (S,)
        r = as_tensor(self.r, "r", dtype=_F64)
        check_shape(r, "r", r_shape)
        gamma = check_gamma(self.gamma)
        if self.rho0 is None:
            rho0 = torch.full((S,), 1.0 / S, dtype=_F64)
        else:
            rho0 = as_tensor(self.rho0, "rho0")
            check_shape(rho0, "rho0", (S,))
            check_stochastic(rho0, "rho0")
        batch = broadcast_batch({"P": P.shape, "r": r.shape, "rho0": rho0.shape},
                                {"P": nd, "r": len(r_shape), "rho0": 1})
        object.__setattr__(self, "P", P.to(_F64).expand(*batch, *P.shape[-nd:]))
        object.__setattr__(self, "r", r.expand(*batch, *r_shape))
        object.__setattr__(self, "gamma", gamma)
        object.__setattr__(self, "rho0", rho0.to(_F64).expand(*batch, S))

    @property
    def n_states(self) -> int:
        """Number of states ``S``."""
        return self.P.shape[-1]

    @property
    def batch_shape(self) -> torch.Size:
        """The leading (batch) dimensions; ``()`` for a single model."""
        return self.P.shape[: self.P.dim() - self._P_TRAILING]

    def __len__(self) -> int:
        if not self.batch_shape:
            raise TypeError(f"a single {type(self).__name__} (no batch dimensions) has no len()")
        return self.batch_shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __getitem__(self, index):
        """Index the leading (batch) dimensions: ``mdps[i]`` is the ``i``-th model, ``mdps[2:5]`` a sub-batch."""
        nb = len(self.batch_shape)
        if nb == 0:
            raise ValueError(f"this {type(self).__name__} has no batch dimensions to index")
        idx = index if isinstance(index, tuple) else (index,)
        if any(i is Ellipsis for i in idx) or len(idx) > nb:
            raise ValueError(f"index must address at most the {nb} batch dimension(s) without Ellipsis; got {index!r}")
        P, r, rho0 = self.P[idx], self.r[idx], self.rho0[idx]
        return type(self)(P, r, self.gamma, rho0)


@dataclass(frozen=True, eq=False)
class TabularMDP(_BatchedModel):
    """A finite MDP ``(S, A, P, r, gamma, rho0)``, or a batch of them (chapter 1; batches in chapters 6-7).

    Attributes:
        P: ``(..., S, A, S)``; rows ``P[..., s, a, :]`` are probability vectors.
        r: ``(..., S, A)`` expected rewards.
        gamma: discount factor in [0, 1), shared by the batch.
        rho0: ``(..., S)`` initial distribution (uniform if omitted).

    The leading dimensions of ``P``, ``r`` and ``rho0`` broadcast to :attr:`batch_shape` (``()`` for one
    MDP); ``mdps[i]`` indexes them, ``len`` and iteration run over the first one, :func:`stack_mdps`
    (or ``TabularMDP.stack``) builds a batch from single MDPs.
    """

    P: torch.Tensor
    r: torch.Tensor
    gamma: float
    rho0: torch.Tensor | None = None

    _P_TRAILING = 3

    def __post_init__(self):
        self._validate()

    @property
    def n_actions(self) -> int:
        """Number of actions ``A``."""
        return self.P.shape[-2]

    @classmethod
    def stack(cls, mdps: Sequence["TabularMDP"]) -> "TabularMDP":
        """Stack MDPs of equal sizes and gamma along a new leading dimension (see :func:`stack_mdps`)."""
        out = stack_mdps(mdps)
        if not isinstance(out, cls):
            raise ValueError("mdps must be a non-empty sequence of TabularMDP")
        return out


@dataclass(frozen=True, eq=False)
class MarkovRewardProcess(_BatchedModel):
    """A Markov reward process (an MDP with its policy folded in), single or batched (chapters 1 and 3).

    ``P`` (..., S, S), ``r`` (..., S), ``gamma`` in [0, 1), ``rho0`` (..., S) (uniform if omitted).
    """

    P: torch.Tensor
    r: torch.Tensor
    gamma: float
    rho0: torch.Tensor | None = None

    _P_TRAILING = 2

    def __post_init__(self):
        self._validate()


def stack_mdps(mdps):
    """Stack models (all :class:`TabularMDP` or all :class:`MarkovRewardProcess`) along a new first dimension.

    They must share their trailing sizes, batch shape and ``gamma`` (chapters 6-7). Returns one batched model.
    """
    try:
        mdps = list(mdps) if not isinstance(mdps, (TabularMDP, MarkovRewardProcess)) else None
    except TypeError:  # not iterable (None, a number)
        mdps = None
    if not mdps or not all(isinstance(m, (TabularMDP, MarkovRewardProcess)) for m in mdps):
        raise ValueError("mdps must be a non-empty sequence of TabularMDP or of MarkovRewardProcess")
    kind = type(mdps[0])
    if not all(type(m) is kind for m in mdps):
        raise ValueError("mdps must all have the same type (all TabularMDP or all MarkovRewardProcess)")
    if len({(tuple(m.P.shape), m.gamma) for m in mdps}) != 1:
        raise ValueError("mdps must share their shapes (n_states, n_actions, batch shape) and gamma")
    return kind(torch.stack([m.P for m in mdps]), torch.stack([m.r for m in mdps]), mdps[0].gamma,
                torch.stack([m.rho0 for m in mdps]))


def _batch_dims(n_batch, name: str) -> tuple[int, ...]:
    if n_batch is None:
        return ()
    if isinstance(n_batch, (Integral, np.integer)) and not isinstance(n_batch, bool):
        return (check_int(n_batch, name),)
    if isinstance(n_batch, (tuple, list, torch.Size)):
        return tuple(check_int(n, name) for n in n_batch)
    raise ValueError(f"{name} must be None, an integer >= 1 or a tuple of them; got {n_batch!r}")


def random_mdp(n_states: int, n_actions: int, gamma: float = 0.9, seed: int = 0, n_mdps=None,
               generator: torch.Generator | int | None = None) -> TabularMDP:
    """Random tabular MDP(s) of the book's protocol (chapter 1; batches in chapters 6-7).

    ``P[..., s, a, :] ~ Dirichlet(1)`` (normalised Exp(1) draws), ``r[..., s, a] ~ U[0, 1]``, uniform ``rho0``.
    ``n_mdps`` (an int or a tuple) adds leading dimensions; ``None`` gives a single MDP. Draws come from
    ``generator`` (a ``torch.Generator`` or an int seed) if given, else from ``seed`` (an int or a
    ``torch.Generator``). ``random_mdp(..., n_mdps=B)[i]`` is *not* ``random_mdp(...)`` of some seed: the batch
    is one draw.
    """
    S = check_int(n_states, "n_states")
    A = check_int(n_actions, "n_actions")
    g = check_gamma(gamma)
    batch = _batch_dims(n_mdps, "n_mdps")
    gen = resolve_generator(generator, None if generator is not None else seed)
    check_memory(math.prod(batch) * S * A * S, _F64, f"the (..., S, A, S) = {(*batch, S, A, S)} kernel", "n_states")
    from .sampling import dirichlet   # sampling builds on this module's types
    P = dirichlet((*batch, S, A, S), 1.0, gen)
    r = torch.rand(*batch, S, A, generator=gen, dtype=_F64)
    return TabularMDP(P, r, g, torch.full((*batch, S), 1.0 / S, dtype=_F64))


def boyan_chain(n_states: int, gamma: float = 0.9, seed: int = 0, n_chains=None,
                generator: torch.Generator | int | None = None) -> MarkovRewardProcess:
    """The Boyan-chain Markov reward process generator of [W25] (chapter 3), single or batched.

    State ``i < S-2`` moves to ``i+1`` with probability ``p_i ~ U(0.01, 0.99)`` and to ``i+2`` otherwise;
    state ``S-2`` moves to ``S-1``; the last state jumps according to a random distribution (uniform weights
    in (0.01, 0.99), normalised). Rewards ``r(s) ~ U(-1, 1)``; the initial distribution is drawn like the
    last row. Needs ``n_states >= 3``. ``n_chains`` (int or tuple) adds leading dimensions. Draw order
    ``p, last row, r, rho0`` from ``generator`` (or an int seed) if given, else from ``seed`` (an int or a
    ``torch.Generator``).
    """
    S = check_int(n_states, "n_states", minimum=3)
    g = check_gamma(gamma)
    batch = _batch_dims(n_chains, "n_chains")
    gen = resolve_generator(generator, None if generator is not None else seed)
    check_memory(math.prod(batch) * S * S, _F64, f"the (..., S, S) = {(*batch, S, S)} kernel", "n_states")
    P = torch.zeros(*batch, S, S, dtype=_F64)
    p = 0.01 + 0.98 * torch.rand(*batch, S - 2, generator=gen, dtype=_F64)
    idx = torch.arange(S - 2)
    P[..., idx, idx + 1] = p
    P[..., idx, idx + 2] = 1 - p
    P[..., S - 2, S - 1] = 1.0
    last = 0.01 + 0.98 * torch.rand(*batch, S, generator=gen, dtype=_F64)
    P[..., S - 1, :] = last / last.sum(-1, keepdim=True)
    r = 2 * torch.rand(*batch, S, generator=gen, dtype=_F64) - 1
    mu = 0.01 + 0.98 * torch.rand(*batch, S, generator=gen, dtype=_F64)
    return MarkovRewardProcess(P, r, g, mu / mu.sum(-1, keepdim=True))


def _check_mdp(mdp, name: str = "mdp") -> TabularMDP:
    if not isinstance(mdp, TabularMDP):
        raise ValueError(f"{name} must be a TabularMDP; got {type(mdp).__name__}")
    return mdp


def _check_mrp(mrp, name: str = "mrp") -> MarkovRewardProcess:
    if not isinstance(mrp, MarkovRewardProcess):
        raise ValueError(f"{name} must be a MarkovRewardProcess; got {type(mrp).__name__}")
    return mrp


def check_policy(mdp: TabularMDP, pi) -> torch.Tensor:
    """Validate a policy for ``mdp`` (chapter 1): ``pi`` (..., S, A) stochastic rows, batch dimensions
    broadcasting with ``mdp.batch_shape``; returns it as float64. Raises ``ValueError`` naming ``pi``."""
    _check_mdp(mdp)
    pi = as_tensor(pi, "pi")
    check_shape(pi, "pi", (mdp.n_states, mdp.n_actions))
    check_stochastic(pi, "pi")
    broadcast_batch({"mdp": mdp.P.shape, "pi": pi.shape}, {"mdp": 3, "pi": 2})
    return pi.to(_F64)


def _values(V, mdp, name: str = "V") -> torch.Tensor:
    V = as_tensor(V, name, dtype=_F64)
    check_shape(V, name, (mdp.n_states,))
    broadcast_batch({"mdp": mdp.P.shape, name: V.shape}, {"mdp": mdp._P_TRAILING, name: 1})
    return V


def policy_transition(mdp: TabularMDP, pi) -> tuple[torch.Tensor, torch.Tensor]:
    """``(P_pi, r_pi)`` (chapter 1): ``P_pi[..., s, s'] = sum_a pi[s, a] P[s, a, s']``, ``r_pi[..., s] = sum_a pi r``.

    ``pi`` (..., S, A) broadcasts with the MDP's batch; returns (..., S, S) and (..., S).
    """
    pi = check_policy(mdp, pi)
    return torch.einsum("...sa,...sat->...st", pi, mdp.P), (pi * mdp.r).sum(-1)


def bellman_backup(mdp: TabularMDP, V) -> torch.Tensor:
    """THE Bellman backup ``Q(s, a) = r(s, a) + gamma sum_s' P(s, a, s') V(s')`` (chapter 1).

    ``V`` (..., S) broadcasts with the MDP's batch; returns ``Q`` (..., S, A) float64. Both Bellman operators,
    value iteration and the ``Q`` of :func:`policy_evaluation` are this backup followed by a max or a mean.
    """
    V = _values(V, _check_mdp(mdp))
    return mdp.r + mdp.gamma * torch.einsum("...sat,...t->...sa", mdp.P, V)


def bellman_expectation_operator(mdp: TabularMDP, pi, V) -> torch.Tensor:
    """``(T^pi V)(s) = sum_a pi(a|s) [r(s, a) + gamma (P V)(s, a)]`` (chapter 1); ``V`` (..., S) -> (..., S)."""
    pi = check_policy(mdp, pi)
    return (pi * bellman_backup(mdp, V)).sum(-1)


def bellman_optimality_operator(mdp: TabularMDP, V) -> torch.Tensor:
    """``(T* V)(s) = max_a [r(s, a) + gamma (P V)(s, a)]`` (chapter 1); ``V`` (..., S) -> (..., S), float64."""
    return bellman_backup(mdp, V).max(-1).values


def policy_evaluation(mdp: TabularMDP, pi) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact ``(V^pi, Q^pi)`` (chapter 1): ``V = (I - gamma P_pi)^{-1} r_pi`` by a batched linear solve, and
    ``Q = bellman_backup(mdp, V)``. ``pi`` (..., S, A); returns (..., S) and (..., S, A)."""
    P_pi, r_pi = policy_transition(mdp, pi)
    eye = torch.eye(mdp.n_states, dtype=_F64)
    V = torch.linalg.solve(eye - mdp.gamma * P_pi, r_pi.unsqueeze(-1)).squeeze(-1)
    return V, bellman_backup(mdp, V)


def expected_return(mdp: TabularMDP, pi) -> torch.Tensor:
    """``J(pi) = rho0^T V^pi`` (chapter 1), shape ``(...)`` (0-dim for one MDP and one policy)."""
    V, _ = policy_evaluation(mdp, pi)
    return (mdp.rho0 * V).sum(-1)


def greedy_policy(q) -> torch.Tensor:
    """Deterministic greedy policy ``(..., S, A)`` of a Q table (chapter 1); ties go to the lowest action."""
    q = as_tensor(q, "q")
    check_shape(q, "q", (None, None))
    return torch.nn.functional.one_hot(q.argmax(-1), q.shape[-1]).to(q.dtype)


def value_iteration(mdp: TabularMDP, tol: float = 1e-10, max_iters: int = 100_000
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Optimal ``(pi_star, V_star, Q_star)`` by value iteration (chapter 1), for every MDP of a batch.

    Iterates the Bellman optimality operator until the sup-norm change is below ``tol (1 - gamma) /
    (2 gamma)`` for every MDP (so ``V`` is within ``tol`` of ``V*``), then returns the greedy policy
    (..., S, A) and its exact evaluation (..., S) and (..., S, A), which is optimal. Raises ``ValueError``
    if ``max_iters`` is not enough.
    """
    _check_mdp(mdp)
    tol = check_real(tol, "tol")
    if tol <= 0:
        raise ValueError(f"tol must be > 0; got {tol}")
    max_iters = check_int(max_iters, "max_iters")
    g = mdp.gamma
    stop = tol * (1 - g) / (2 * g) if g > 0 else float("inf")
    V = torch.zeros(*mdp.batch_shape, mdp.n_states, dtype=_F64)
    for _ in range(max_iters):
        V_new = bellman_optimality_operator(mdp, V)
        done = float((V_new - V).abs().max()) <= stop
        V = V_new
        if done:
            break
    else:
        raise ValueError(f"value_iteration did not reach tol={tol} within max_iters={max_iters}")
    pi_star = greedy_policy(bellman_backup(mdp, V))
    V_star, Q_star = policy_evaluation(mdp, pi_star)
    return pi_star, V_star, Q_star


def value_iteration_history(mdp: TabularMDP, n_iters: int, V0=None) -> torch.Tensor:
    """The path ``V_{k+1} = T* V_k`` from ``V0`` (zeros by default), shape ``(..., K+1, S)`` (chapter 1).

    :func:`value_iteration` stops at a tolerance and returns the optimal policy; this keeps the whole path so
    chapter 1 can plot ``||V_k - V*||_inf`` against the contraction bound ``gamma^k ||V_0 - V*||_inf``.
    ``V0`` (..., S) broadcasts with the MDP's batch.
    """
    _check_mdp(mdp)
    K = check_int(n_iters, "n_iters", minimum=0)
    V = torch.zeros(mdp.n_states, dtype=_F64) if V0 is None else _values(V0, mdp, "V0")
    V = V.expand(*broadcast_batch({"V0": V.shape, "mdp": mdp.P.shape}, {"V0": 1, "mdp": 3}), mdp.n_states)
    path = [V]
    for _ in range(K):
        V = bellman_optimality_operator(mdp, V)
        path.append(V)
    return torch.stack(path, dim=-2)


def mrp_values(mrp: MarkovRewardProcess) -> torch.Tensor:
    """Exact values ``v = (I - gamma P)^{-1} r`` of a Markov reward process (chapters 1 and 3), shape (..., S)."""
    _check_mrp(mrp)
    eye = torch.eye(mrp.n_states, dtype=_F64)
    return torch.linalg.solve(eye - mrp.gamma * mrp.P, mrp.r.unsqueeze(-1)).squeeze(-1)


def stationary_distribution(P) -> torch.Tensor:
    """Stationary distribution ``d`` with ``d^T P = d^T`` (chapters 1 and 3), batched: ``(..., S)``.

    ``P`` is an ``(..., S, S)`` stochastic matrix or a :class:`MarkovRewardProcess`. Solves the square system
    ``d^T (I - P + 1 1^T) = 1^T``, which is non-singular exactly when the stationary distribution is unique
    (one recurrent class); raises ``ValueError`` otherwise. Square solves keep batches bitwise reproducible.
    """
    if isinstance(P, MarkovRewardProcess):
        P = P.P
    P = as_tensor(P, "P")
    check_shape(P, "P", (None, None))
    S = P.shape[-1]
    if P.shape[-2] != S:
        raise ValueError(f"P must have shape (..., S, S); got {tuple(P.shape)}")
    check_stochastic(P, "P")
    P = P.to(_F64)
    M = torch.eye(S, dtype=_F64) - P + 1.0
    ones = torch.ones(*P.shape[:-2], S, 1, dtype=_F64)
    d, info = torch.linalg.solve_ex(M.transpose(-1, -2), ones)
    d = d.squeeze(-1)
    resid = (d.unsqueeze(-2) @ M).squeeze(-2) - 1.0
    if bool((info != 0).any()) or not bool(torch.isfinite(d).all()) or float(resid.abs().max()) > 1e-8:
        raise ValueError("P has no unique stationary distribution (more than one recurrent class)")
    d = d.clamp_min(0)
    return d / d.sum(-1, keepdim=True)
