"""Tabular episodic UCB-VI ([textbook]; the variant of [LBM24]) and an episodic MDP sampler, chapter 10.

An episodic MDP has a horizon ``H``, per-step kernels ``P[h, s, a, s']`` and rewards ``r[h, s, a]`` in [0, 1]
(``h = 0..H-1``, 0-based here; the book writes ``h = 1..H``), and an initial law ``rho0``. UCB-VI ([LBM24]'s
form): before episode ``k`` it counts the transitions of episodes ``1..k-1``, ``N_h(s, a, s')`` and
``N_h(s, a)``, with reward sums ``R_h(s, a)``, and plans backwards with ``V_H = 0``:

    P_hat = N_h(s, a, .) / max(N_h(s, a), 1),   r_hat = R_h(s, a) / max(N_h(s, a), 1),
    b = c H sqrt(log(S A T / delta) / max(N_h(s, a), 1)),   T = K H,  c = 2 in [LBM24] (``bonus_scale``),
    Q_h = min{H, r_hat + b + P_hat V_{h+1}},   V_h = max_a Q_h;

then it plays greedily (ties, within ``1e-9``, to the lowest action). Everything is batched over leading
dimensions (many MDPs). Imports only ``icrl_lib._validation`` and torch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch

from .._validation import (as_generator, as_tensor, broadcast_batch, check_finite_result, check_indices, check_int,
                           check_memory, check_probability, check_real, check_shape, check_stochastic)
from .sampling import categorical_unchecked, dirichlet

__all__ = ["EpisodicMDP", "random_episodic_mdp", "ucbvi_bonus", "ucbvi_counts", "ucbvi_plan", "greedy_action",
           "UCBVIRun", "run_ucbvi", "TIE_TOL"]

#: Actions whose Q value is within TIE_TOL of the maximum count as tied (greedy picks the lowest of them).
TIE_TOL = 1e-9


@dataclass(frozen=True)
class EpisodicMDP:
    """An episodic tabular MDP (chapter 10): ``P`` (..., H, S, A, S) (rows sum to 1), ``r`` (..., H, S, A) in
    [0, 1], ``rho0`` (..., S); leading dimensions are MDPs."""

    P: torch.Tensor
    r: torch.Tensor
    rho0: torch.Tensor

    def __post_init__(self):
        P = as_tensor(self.P, "P")
        check_shape(P, "P", (None, None, None, None))
        H, S, A = P.shape[-4:-1]
        if P.shape[-1] != S:
            raise ValueError(f"P must have shape (..., H, S, A, S); got {tuple(P.shape)}")
        check_stochastic(P, "P")
        r = as_tensor(self.r, "r", dtype=P.dtype)
        check_shape(r, "r", (H, S, A))
        if bool((r < 0).any()) or bool((r > 1).any()):
            raise ValueError("r must lie in [0, 1]")
        rho0 = as_tensor(self.rho0, "rho0", dtype=P.dtype)
        check_shape(rho0, "rho0", (S,))
        check_stochastic(rho0, "rho0")
        if not (P.shape[:-4] == r.shape[:-3] == rho0.shape[:-1]):
            raise ValueError(f"P, r and rho0 must have the same batch shape; got {tuple(P.shape[:-4])}, "
                             f"{tuple(r.shape[:-3])}, {tuple(rho0.shape[:-1])}")
        object.__setattr__(self, "P", P)
        object.__setattr__(self, "r", r)
        object.__setattr__(self, "rho0", rho0)

    @property
    def horizon(self) -> int:
        """``H``."""
        return self.P.shape[-4]

    @property
    def n_states(self) -> int:
        """``S``."""
        return self.P.shape[-3]

    @property
    def n_actions(self) -> int:
        """``A``."""
        return self.P.shape[-2]

    @property
    def batch_shape(self) -> torch.Size:
        """The leading (MDP) dimensions."""
        return self.P.shape[:-4]


def random_episodic_mdp(n_states: int, n_actions: int, horizon: int, seed=0, n_mdps: int | None = None
                        ) -> EpisodicMDP:
    """Dirichlet(1) kernels per step, U[0, 1] rewards, uniform ``rho0``, float64 (chapter 10); ``n_mdps`` adds a
    leading dimension. ``seed``: an int or a ``torch.Generator``."""
    S, A, H = check_int(n_states, "n_states"), check_int(n_actions, "n_actions"), check_int(horizon, "horizon")
    g = as_generator(seed, "seed")
    batch = () if n_mdps is None else (check_int(n_mdps, "n_mdps"),)
    check_memory(math.prod(batch) * H * S * A * S, torch.float64, f"the (..., H, S, A, S) = {(*batch, H, S, A, S)} "
                 "kernel", "n_states")
    P = dirichlet(batch + (H, S, A, S), 1.0, g)
    r = torch.rand(batch + (H, S, A), generator=g, dtype=torch.float64)
    return EpisodicMDP(P, r, torch.full(batch + (S,), 1.0 / S, dtype=torch.float64))


def ucbvi_bonus(counts, horizon: int, n_states: int, n_actions: int, n_episodes: int, delta=0.1,
                bonus_scale=2.0) -> torch.Tensor:
    """``b = c H sqrt(log(S A T / delta) / max(N, 1))`` with ``T = K H`` and ``c = bonus_scale`` (default 2,
    our choice: we found no source for it), elementwise in ``counts`` (any shape, >= 0) (chapter 10)."""
    N = as_tensor(counts, "counts")
    _check_nonneg(N, "counts")
    H = check_int(horizon, "horizon")
    iota = math.log(check_int(n_states, "n_states") * check_int(n_actions, "n_actions") * check_int(
        n_episodes, "n_episodes") * H / _check_delta(delta))
    c = check_real(bonus_scale, "bonus_scale")
    if c < 0:
        raise ValueError(f"bonus_scale must be >= 0; got {c}")
    return c * H * torch.sqrt(iota / N.clamp_min(1.0))


def _check_nonneg(t: torch.Tensor, name: str) -> None:
    if t.numel() and bool((t < 0).any()):
        raise ValueError(f"{name} must be counts >= 0; got minimum {float(t.min()):.4g}")


def _check_delta(delta) -> float:
    d = check_probability(delta, "delta")
    if d == 0.0:
        raise ValueError("delta must be in (0, 1]; got 0")
    return d


def ucbvi_counts(h, s, a, r, s_next, horizon: int, n_states: int, n_actions: int):
    """Counts of a set of transitions (chapter 10): ``h, s, a, s_next`` (..., n) int, ``r`` (..., n) float.

    Returns ``N_sas`` (..., H, S, A, S), ``N_sa`` (..., H, S, A) and reward sums ``R`` (..., H, S, A), in
    ``r``'s dtype (``n`` may be 0).
    """
    H, S, A = check_int(horizon, "horizon"), check_int(n_states, "n_states"), check_int(n_actions, "n_actions")
    r = as_tensor(r, "r")
    if r.dim() < 1:
        raise ValueError(f"r must have shape (..., n); got {tuple(r.shape)}")
    idx = {}
    for name, x, upper in (("h", h, H), ("s", s, S), ("a", a, A), ("s_next", s_next, S)):
        t = check_indices(x, name, upper)            # rejects floats and booleans (read as 0/1 otherwise)
        if t.shape != r.shape:
            raise ValueError(f"{name} must be integer indices of the shape of r {tuple(r.shape)}; got "
                             f"{tuple(t.shape)}")
        idx[name] = t
    batch = r.shape[:-1]
    sa = (idx["h"] * S + idx["s"]) * A + idx["a"]
    sas = sa * S + idx["s_next"]
    N_sa = torch.zeros(batch + (H * S * A,), dtype=r.dtype).scatter_add_(-1, sa, torch.ones_like(r))
    R = torch.zeros(batch + (H * S * A,), dtype=r.dtype).scatter_add_(-1, sa, r)
    N_sas = torch.zeros(batch + (H * S * A * S,), dtype=r.dtype).scatter_add_(-1, sas, torch.ones_like(r))
    return N_sas.reshape(batch + (H, S, A, S)), N_sa.reshape(batch + (H, S, A)), R.reshape(batch + (H, S, A))


def ucbvi_plan(N_sas, N_sa, R, bonus):
    """UCB-VI's backward planning (chapter 10): ``N_sas`` (..., H, S, A, S), ``N_sa`` and ``R`` and ``bonus``
    (..., H, S, A); counts >= 0, leading dimensions broadcast. Returns ``Q`` (..., H, S, A) and ``V``
    (..., H + 1, S) with ``V[..., H, :] = 0``."""
    N_sas = as_tensor(N_sas, "N_sas")
    check_shape(N_sas, "N_sas", (None, None, None, None))
    H, S, A = N_sas.shape[-4:-1]
    N_sa = as_tensor(N_sa, "N_sa", dtype=N_sas.dtype)
    R = as_tensor(R, "R", dtype=N_sas.dtype)
    b = as_tensor(bonus, "bonus", dtype=N_sas.dtype)
    for name, t in (("N_sa", N_sa), ("R", R), ("bonus", b)):
        check_shape(t, name, (H, S, A))
    _check_nonneg(N_sas, "N_sas")
    _check_nonneg(N_sa, "N_sa")
    batch = broadcast_batch({"N_sas": N_sas.shape, "N_sa": N_sa.shape, "R": R.shape, "bonus": b.shape},
                            {"N_sas": 4, "N_sa": 3, "R": 3, "bonus": 3})
    inv = 1.0 / N_sa.clamp_min(1.0)
    P_hat = N_sas * inv.unsqueeze(-1)
    r_hat = R * inv
    V = torch.zeros(batch + (H + 1, S), dtype=N_sas.dtype)
    Q = torch.zeros(batch + (H, S, A), dtype=N_sas.dtype)
    for h in reversed(range(H)):
        z = r_hat[..., h, :, :] + b[..., h, :, :] + (P_hat[..., h, :, :, :] @ V[..., h + 1, None, :, None]).squeeze(-1)
        Q[..., h, :, :] = z.clamp(max=float(H))
        V[..., h, :] = Q[..., h, :, :].amax(-1)
    return Q, V


def greedy_action(q, tol: float = TIE_TOL) -> torch.Tensor:
    """The lowest action whose value is within ``tol`` (finite, >= 0) of the maximum, for ``q`` (..., A)
    (chapter 10); returns (...) int64 in [0, A - 1]."""
    q = as_tensor(q, "q")
    check_shape(q, "q", (None,))
    t = check_real(tol, "tol")
    if t < 0:  # a negative tol leaves no action near the maximum, and the result would be A (out of range)
        raise ValueError(f"tol must be >= 0; got {t}")
    A = q.shape[-1]
    near = q >= q.amax(-1, keepdim=True) - t
    return torch.where(near, torch.arange(A), A).amin(-1)


class UCBVIRun(NamedTuple):
    """A run of UCB-VI (chapter 10): ``states`` (..., K, H + 1), ``actions`` and ``rewards`` (..., K, H), and the
    planned ``Q`` (..., K, H, S, A) used in each episode."""

    states: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    Q: torch.Tensor


def run_ucbvi(mdp: EpisodicMDP, n_episodes: int, delta=0.1, generator=0, planner=None, bonus_scale=2.0
              ) -> UCBVIRun:
    """Run UCB-VI for ``n_episodes`` episodes on every MDP of ``mdp`` (chapter 10).

    ``planner`` (optional) replaces the planning step: ``planner(h, s, a, r, s_next, k) -> Q`` (..., H, S, A)
    from the transitions of the first ``k`` episodes, each (..., k H); by default the counts, bonus and
    :func:`ucbvi_plan`. This is how chapter 10 runs the constructed transformer inside the same loop.
    ``generator``: a ``torch.Generator`` or an int seed.
    """
    if not isinstance(mdp, EpisodicMDP):
        raise ValueError(f"mdp must be an EpisodicMDP; got {type(mdp).__name__}")
    K = check_int(n_episodes, "n_episodes")
    _check_delta(delta)
    c = check_real(bonus_scale, "bonus_scale")
    if c < 0:
        raise ValueError(f"bonus_scale must be >= 0; got {c}")
    if planner is not None and not callable(planner):
        raise ValueError(f"planner must be None or a callable planner(h, s, a, r, s_next, k) -> Q; got "
                         f"{type(planner).__name__}")
    g = as_generator(generator)
    H, S, A = mdp.horizon, mdp.n_states, mdp.n_actions
    batch = mdp.batch_shape
    states = torch.zeros(batch + (K, H + 1), dtype=torch.long)
    actions = torch.zeros(batch + (K, H), dtype=torch.long)
    rewards = torch.zeros(batch + (K, H), dtype=mdp.P.dtype)
    Qs = torch.zeros(batch + (K, H, S, A), dtype=mdp.P.dtype)
    steps = torch.arange(H).expand(batch + (K, H))
    for k in range(K):
        flat = lambda x: x[..., :k, :].reshape(batch + (k * H,))   # noqa: E731
        h_, s_, a_, r_, sn_ = flat(steps), flat(states[..., :H]), flat(actions), flat(rewards), flat(states[..., 1:])
        if planner is None:
            N_sas, N_sa, R = ucbvi_counts(h_, s_, a_, r_, sn_, H, S, A)
            Q, _ = ucbvi_plan(N_sas, N_sa, R, ucbvi_bonus(N_sa, H, S, A, K, delta, bonus_scale))
        else:
            Q = planner(h_, s_, a_, r_, sn_, k)
            if not isinstance(Q, torch.Tensor) or tuple(Q.shape[-3:]) != (H, S, A) or Q.dim() < 3:
                raise ValueError(f"planner must return Q of shape (..., H, S, A) = (..., {H}, {S}, {A}); got "
                                 f"{getattr(Q, 'shape', type(Q).__name__)} in episode {k}")
            check_finite_result(Q.detach(), f"the planner's Q in episode {k}", "check the planner")
        Qs[..., k, :, :, :] = Q
        s = categorical_unchecked(mdp.rho0, g)
        states[..., k, 0] = s
        for h in range(H):
            q = torch.gather(Q[..., h, :, :], -2, s[..., None, None].expand(batch + (1, A))).squeeze(-2)
            a = greedy_action(q)
            actions[..., k, h] = a
            rewards[..., k, h] = torch.gather(mdp.r[..., h, :, :], -2, s[..., None, None].expand(batch + (1, A))
                                              ).squeeze(-2).gather(-1, a[..., None]).squeeze(-1)
            p = mdp.P[..., h, :, :, :].gather(-3, s[..., None, None, None].expand(batch + (1, A, S))).squeeze(-3)
            p = p.gather(-2, a[..., None, None].expand(batch + (1, S))).squeeze(-2)
            s = categorical_unchecked(p, g)
            states[..., k, h + 1] = s
    return UCBVIRun(states, actions, rewards, Qs)
