"""Batches of finite MDPs as tensors: generation, exact evaluation, planning and on-policy sampling.

The batched counterparts of :mod:`icrl_lib.mdp` for training and evaluation over many tasks at once
(chapters 6 and 7). A batch holds ``P`` (B, S, A, S), ``r`` (B, S, A), ``rho0`` (B, S) and one ``gamma``.
Draws use an explicit ``torch.Generator``. Sampling loops over time only; all tasks move in one step.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from ._validation import as_tensor, check_gamma, check_int, check_real, check_shape, check_stochastic
from .mdp import TabularMDP, Transitions

__all__ = ["MDPBatch", "random_mdps", "stack_mdps", "batch_policy_evaluation", "batch_expected_return",
           "batch_value_iteration", "sample_batch_transitions"]

_F64 = torch.float64


class MDPBatch(NamedTuple):
    """``B`` tabular MDPs: ``P`` (B, S, A, S), ``r`` (B, S, A), ``rho0`` (B, S) (float64) and ``gamma``."""

    P: torch.Tensor
    r: torch.Tensor
    rho0: torch.Tensor
    gamma: float

    @property
    def n_mdps(self) -> int:
        return self.P.shape[0]

    @property
    def n_states(self) -> int:
        return self.P.shape[1]

    @property
    def n_actions(self) -> int:
        return self.P.shape[2]

    def mdp(self, i: int) -> TabularMDP:
        """The ``i``-th MDP as a :class:`icrl_lib.mdp.TabularMDP`."""
        return TabularMDP(self.P[i], self.r[i], self.gamma, self.rho0[i])


def random_mdps(n_mdps: int, n_states: int, n_actions: int, gamma: float = 0.9,
                generator: torch.Generator | None = None, seed: int | None = None) -> MDPBatch:
    """``n_mdps`` random MDPs with the law of :func:`icrl_lib.mdp.random_mdp` (our protocol).

    ``P[b, s, a, :] ~ Dirichlet(1)`` (normalised exponentials), ``r ~ U[0, 1]``, uniform ``rho0``. Pass a
    ``generator`` or a ``seed``.
    """
    B = check_int(n_mdps, "n_mdps")
    S = check_int(n_states, "n_states")
    A = check_int(n_actions, "n_actions")
    g = check_gamma(gamma)
    if generator is None:
        if seed is None:
            raise ValueError("random_mdps needs a generator or a seed")
        generator = torch.Generator().manual_seed(check_int(seed, "seed", minimum=0))
    e = -torch.log1p(-torch.rand(B, S, A, S, generator=generator, dtype=_F64))   # Exp(1) = Gamma(1)
    P = e / e.sum(-1, keepdim=True)
    r = torch.rand(B, S, A, generator=generator, dtype=_F64)
    return MDPBatch(P, r, torch.full((B, S), 1.0 / S, dtype=_F64), g)


def stack_mdps(mdps) -> MDPBatch:
    """Stack :class:`icrl_lib.mdp.TabularMDP` objects with equal sizes and gamma into a batch."""
    mdps = list(mdps)
    if not mdps or not all(isinstance(m, TabularMDP) for m in mdps):
        raise ValueError("mdps must be a non-empty sequence of TabularMDP")
    if len({(m.n_states, m.n_actions, m.gamma) for m in mdps}) != 1:
        raise ValueError("mdps must share n_states, n_actions and gamma")
    return MDPBatch(torch.stack([m.P for m in mdps]), torch.stack([m.r for m in mdps]),
                    torch.stack([m.rho0 for m in mdps]), mdps[0].gamma)


def _check_batch_policy(mdps: MDPBatch, pi) -> torch.Tensor:
    if not isinstance(mdps, MDPBatch):
        raise ValueError(f"mdps must be an MDPBatch; got {type(mdps).__name__}")
    pi = as_tensor(pi, "pi")
    check_shape(pi, "pi", (mdps.n_mdps, mdps.n_states, mdps.n_actions), batch=False)
    check_stochastic(pi, "pi")
    return pi.to(_F64)


def batch_policy_evaluation(mdps: MDPBatch, pi) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact ``(V, Q)`` for every MDP of the batch by batched linear solves; ``pi`` (B, S, A)."""
    pi = _check_batch_policy(mdps, pi)
    P_pi = torch.einsum("bsa,bsat->bst", pi, mdps.P)
    r_pi = (pi * mdps.r).sum(-1)
    eye = torch.eye(mdps.n_states, dtype=_F64)
    V = torch.linalg.solve(eye - mdps.gamma * P_pi, r_pi.unsqueeze(-1)).squeeze(-1)
    Q = mdps.r + mdps.gamma * torch.einsum("bsat,bt->bsa", mdps.P, V)
    return V, Q


def batch_expected_return(mdps: MDPBatch, pi) -> torch.Tensor:
    """``J(pi_b) = rho0_b^T V^{pi_b}`` for every MDP, shape (B,)."""
    V, _ = batch_policy_evaluation(mdps, pi)
    return (mdps.rho0 * V).sum(-1)


def batch_value_iteration(mdps: MDPBatch, tol: float = 1e-10, max_iters: int = 100_000
                          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Optimal ``(pi_star, V_star, Q_star)`` for every MDP (value iteration, then exact evaluation)."""
    if not isinstance(mdps, MDPBatch):
        raise ValueError(f"mdps must be an MDPBatch; got {type(mdps).__name__}")
    tol = check_real(tol, "tol")
    if tol <= 0:
        raise ValueError(f"tol must be > 0; got {tol}")
    max_iters = check_int(max_iters, "max_iters")
    g = mdps.gamma
    stop = tol * (1 - g) / (2 * g) if g > 0 else float("inf")
    V = torch.zeros(mdps.n_mdps, mdps.n_states, dtype=_F64)
    for _ in range(max_iters):
        V_new = (mdps.r + g * torch.einsum("bsat,bt->bsa", mdps.P, V)).max(-1).values
        done = float((V_new - V).abs().max()) <= stop
        V = V_new
        if done:
            break
    else:
        raise ValueError(f"batch_value_iteration did not reach tol={tol} within max_iters={max_iters}")
    Q = mdps.r + g * torch.einsum("bsat,bt->bsa", mdps.P, V)
    pi_star = torch.nn.functional.one_hot(Q.argmax(-1), mdps.n_actions).to(_F64)
    V_star, Q_star = batch_policy_evaluation(mdps, pi_star)
    return pi_star, V_star, Q_star


def sample_batch_transitions(mdps: MDPBatch, pi, n: int, generator: torch.Generator) -> Transitions:
    """``n`` on-policy transitions per MDP along one trajectory each; fields have shape (B, n).

    Same law as :func:`icrl_lib.mdp.sample_transitions` with ``reset_prob = 0``: ``S_1 ~ rho0``,
    ``A_t ~ pi``, ``S'_t ~ P``, ``A'_t ~ pi(.|S'_t)`` and the next transition starts at ``(S'_t, A'_t)``.
    """
    pi = _check_batch_policy(mdps, pi)
    n = check_int(n, "n")
    if not isinstance(generator, torch.Generator):
        raise ValueError("generator must be a torch.Generator")
    B = mdps.n_mdps
    rows = torch.arange(B)
    s_all = torch.empty(B, n + 1, dtype=torch.long)
    a_all = torch.empty(B, n + 1, dtype=torch.long)
    s_all[:, 0] = torch.multinomial(mdps.rho0, 1, generator=generator).squeeze(-1)
    a_all[:, 0] = torch.multinomial(pi[rows, s_all[:, 0]], 1, generator=generator).squeeze(-1)
    for t in range(n):
        s_all[:, t + 1] = torch.multinomial(mdps.P[rows, s_all[:, t], a_all[:, t]], 1,
                                            generator=generator).squeeze(-1)
        a_all[:, t + 1] = torch.multinomial(pi[rows, s_all[:, t + 1]], 1, generator=generator).squeeze(-1)
    s, a = s_all[:, :-1], a_all[:, :-1]
    return Transitions(s, a, mdps.r[rows.unsqueeze(-1), s, a], s_all[:, 1:], a_all[:, 1:])
