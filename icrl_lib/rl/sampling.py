"""On-policy sampling from MDPs and Markov reward processes, single or batched, on a ``torch.Generator``.

One sampler for everything (chapter 1; the contexts of chapters 3-7). The loop runs over *time* only: at each
step all MDPs of a batch move in one tensor operation. ``generator`` may be a ``torch.Generator`` or an
integer seed (shortcut for ``torch.Generator().manual_seed(seed)``).
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .._validation import (
    as_generator, as_tensor, broadcast_batch, check_int, check_probability, check_real, check_shape,
    check_positive, check_stochastic, resolve_generator)
from .mdp import MarkovRewardProcess, TabularMDP, check_policy

__all__ = ["Transitions", "inverse_cdf", "categorical", "sample_transitions", "sample_mrp_trajectory", "standard_gamma",
           "dirichlet"]

_F64 = torch.float64
_SCAN_LIMIT = 2**25  # sample_mrp_trajectory composes transition maps (memory ~ M n S^2) below this size


class Transitions(NamedTuple):
    """``N`` transitions ``(S_t, A_t, R_t, S'_t, A'_t)`` per MDP (chapter 1): fields of shape (..., N);
    states and actions int64, rewards float64. ``a_next`` is the *sampled* successor action (SARSA's)."""

    s: torch.Tensor
    a: torch.Tensor
    r: torch.Tensor
    s_next: torch.Tensor
    a_next: torch.Tensor


def inverse_cdf(probs, u) -> torch.Tensor:
    """Categorical draws by the inverse CDF (chapter 1): ``probs`` (..., K) rows of probabilities, ``u`` (...)
    uniforms in [0, 1); returns int64 (...): the number of cumulative masses ``<= u`` (so an outcome of
    probability zero is never drawn; the clamp only guards a last cumulative mass of ``1 - eps``). The batch
    dimensions of ``probs`` and ``u`` broadcast."""
    p = as_tensor(probs, "probs")
    check_shape(p, "probs", (None,))
    check_stochastic(p, "probs")
    u = as_tensor(u, "u", dtype=p.dtype)
    if u.numel() and (bool((u < 0).any()) or bool((u >= 1).any())):
        raise ValueError(f"u must hold uniforms in [0, 1); got range [{float(u.min()):.4g}, {float(u.max()):.4g}]")
    broadcast_batch({"probs": p.shape, "u": u.shape}, {"probs": 1, "u": 0})
    return _inverse_cdf(p, u)


def _inverse_cdf(probs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    # unchecked: the samplers' inner loops call it with tensors they built themselves
    cum = probs.cumsum(-1)
    K = cum.shape[-1]
    shape = torch.broadcast_shapes(cum.shape[:-1], u.shape)
    values = u.expand(shape).reshape(-1, 1).to(cum.dtype).contiguous()
    idx = torch.searchsorted(cum.expand(*shape, K).reshape(-1, K).contiguous(), values, right=True)  # #{cum_k <= u}
    return idx.reshape(shape).clamp_max(K - 1)


def categorical(probs, generator) -> torch.Tensor:
    """One draw per row of ``probs`` (..., K) (rows are probability vectors), shape (...) int64 (chapter 1).

    One uniform per row from ``generator`` (a ``torch.Generator`` or an int seed), then :func:`inverse_cdf`.
    """
    p = as_tensor(probs, "probs")
    check_shape(p, "probs", (None,))
    check_stochastic(p, "probs")
    return categorical_unchecked(p, as_generator(generator))


def categorical_unchecked(probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """:func:`categorical` without its input checks, for the inner loops of the rl modules whose inputs are
    checked once before the loop (chapters 1, 9-11); ``probs`` (..., K) rows of probabilities."""
    return _inverse_cdf(probs, torch.rand(probs.shape[:-1], generator=generator, dtype=probs.dtype))


def sample_transitions(mdp: TabularMDP, pi, n: int, generator: torch.Generator | int | None = None,
                       reset_prob: float = 0.0, reward_noise: float = 0.0, *, seed: int | None = None
                       ) -> Transitions:
    """Collect ``n`` on-policy transitions per MDP along one trajectory each (chapter 1).

    ``S_1 ~ rho0``, ``A_t ~ pi(.|S_t)``, ``S'_t ~ P(.|S_t, A_t)``, ``A'_t ~ pi(.|S'_t)`` (the *sampled*
    successor action used by SARSA), ``R_t = r[S_t, A_t]`` plus ``reward_noise`` times a standard normal
    (drawn after the trajectory, only if ``reward_noise > 0``). The next transition starts from
    ``(S'_t, A'_t)``, except that with probability ``reset_prob`` the trajectory restarts from ``rho0``
    (several episodes in one context).

    ``mdp`` may be batched; ``pi`` (..., S, A) broadcasts with its batch shape; the fields of the result have
    shape ``(*batch, n)`` with ``batch`` the broadcast shape. ``generator``: a ``torch.Generator`` or an int
    seed; ``seed=`` is accepted instead (one of the two; seed 0 if neither).
    """
    pi = check_policy(mdp, pi)
    n = check_int(n, "n")
    reset_prob = check_probability(reset_prob, "reset_prob")
    noise = check_real(reward_noise, "reward_noise")
    if noise < 0:
        raise ValueError(f"reward_noise must be >= 0; got {noise}")
    gen = resolve_generator(generator, seed)
    S, A = mdp.n_states, mdp.n_actions
    batch = broadcast_batch({"mdp": mdp.P.shape, "pi": pi.shape}, {"mdp": 3, "pi": 2})
    P = mdp.P.expand(*batch, S, A, S).reshape(-1, S, A, S)
    M = P.shape[0]
    r = mdp.r.expand(*batch, S, A).reshape(M, S, A)
    rho0 = mdp.rho0.expand(*batch, S).reshape(M, S)
    pi = pi.expand(*batch, S, A).reshape(M, S, A)
    rows = torch.arange(M)
    out = {k: torch.empty(M, n, dtype=torch.long) for k in ("s", "a", "s_next", "a_next")}
    s = categorical_unchecked(rho0, gen)
    a = categorical_unchecked(pi[rows, s], gen)
    for t in range(n):
        s_next = categorical_unchecked(P[rows, s, a], gen)
        a_next = categorical_unchecked(pi[rows, s_next], gen)
        out["s"][:, t], out["a"][:, t], out["s_next"][:, t], out["a_next"][:, t] = s, a, s_next, a_next
        if reset_prob > 0:
            reset = torch.rand(M, generator=gen, dtype=_F64) < reset_prob
            s_new = categorical_unchecked(rho0, gen)
            a_new = categorical_unchecked(pi[rows, s_new], gen)
            s, a = torch.where(reset, s_new, s_next), torch.where(reset, a_new, a_next)
        else:
            s, a = s_next, a_next
    rewards = r[rows.unsqueeze(-1), out["s"], out["a"]]
    if noise > 0:
        rewards = rewards + noise * torch.randn(M, n, generator=gen, dtype=_F64)
    return Transitions(*(t.reshape(*batch, n) for t in (out["s"], out["a"], rewards, out["s_next"],
                                                         out["a_next"])))


def sample_mrp_trajectory(mrp: MarkovRewardProcess, n: int, generator: torch.Generator | int | None = None, *,
                          seed: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A trajectory ``S_0, ..., S_n`` of a Markov reward process and rewards ``R_1..R_n``, ``R_{j+1} = r(S_j)``.

    (Chapter 3.) ``S_0 ~ rho0``. Returns ``(states (..., n + 1) int64, rewards (..., n) float64)`` with ``...``
    the MRP's batch shape. ``generator``: a ``torch.Generator`` or an int seed (or ``seed=``; 0 if neither).
    All ``n + 1`` uniforms are drawn at once; unless ``M n S^2`` is huge the trajectory is then computed without
    a loop over time (a prefix scan of the per-step transition maps), with the same result as the time loop.
    """
    if not isinstance(mrp, MarkovRewardProcess):
        raise ValueError(f"mrp must be a MarkovRewardProcess; got {type(mrp).__name__}")
    n = check_int(n, "n")
    gen = resolve_generator(generator, seed)
    batch, S = mrp.batch_shape, mrp.n_states
    P = mrp.P.reshape(-1, S, S)
    M = P.shape[0]
    rows = torch.arange(M)
    u = torch.rand(M, n + 1, generator=gen, dtype=_F64)   # all uniforms at once: S_0 from u[:, 0], S_{j+1} from u[:, j+1]
    s0 = _inverse_cdf(mrp.rho0.reshape(M, S), u[:, 0])
    if M * n * S * S <= _SCAN_LIMIT:
        # No loop over time: F[m, j, s] is the successor of s at step j; a Hillis-Steele prefix scan (log2 n
        # gathers) composes F[:, j] o ... o F[:, 0], which applied to S_0 gives S_{j+1}. Same uniforms, same
        # inverse CDF as the loop below, hence the same trajectory.
        vals = u[:, None, 1:].expand(M, S, n).contiguous()                             # (M, S, n)
        F = torch.searchsorted(P.cumsum(-1), vals, right=True).clamp_max(S - 1).transpose(1, 2)  # inverse_cdf
        k = 1
        while k < n:
            F = torch.cat([F[:, :k], F[:, k:].gather(-1, F[:, :-k])], 1)
            k *= 2
        states = torch.cat([s0[:, None], F.gather(-1, s0[:, None, None].expand(M, n, 1)).squeeze(-1)], 1)
    else:
        states = torch.empty(M, n + 1, dtype=torch.long)
        states[:, 0] = s0
        for j in range(n):
            states[:, j + 1] = _inverse_cdf(P[rows, states[:, j]], u[:, j + 1])
    rewards = mrp.r.reshape(M, S)[rows.unsqueeze(-1), states[:, :-1]]
    return states.reshape(*batch, n + 1), rewards.reshape(*batch, n)


def dirichlet(shape, concentration: float, generator) -> torch.Tensor:
    """Rows ``x[..., :] ~ Dirichlet(c, ..., c)`` of ``shape`` (..., K), float64: the one Dirichlet sampler of the
    library (random MDPs of chapters 1 and 6-7, episodic MDPs of chapter 10, the MDP families of chapter 11).

    ``c = 1`` normalises Exp(1) draws ``-log(1 - U)`` (one uniform per entry: the draws of :func:`random_mdp`
    since chapter 1); any other ``c > 0`` normalises :func:`standard_gamma` draws. ``generator``: a
    ``torch.Generator`` or an int seed (the caller checks ``shape`` and the memory it needs).
    """
    c = check_positive(concentration, "concentration")
    g = as_generator(generator)
    if c == 1.0:
        e = -torch.log1p(-torch.rand(*shape, generator=g, dtype=torch.float64))   # Exp(1) = Gamma(1)
    else:  # small c: every draw of a row may underflow to 0; keep the row a distribution
        e = standard_gamma(torch.full(tuple(shape), c, dtype=torch.float64), g).clamp(min=1e-300)
    return e / e.sum(-1, keepdim=True)


def standard_gamma(shape, generator) -> torch.Tensor:
    """Gamma(shape, 1) draws on ``generator``, one per entry of the tensor ``shape`` (> 0), same shape and dtype
    (Marsaglia & Tsang 2000, vectorised rejection; shape < 1 boosted by ``Gamma(shape + 1) * U^(1/shape)``).
    The one Gamma sampler of the library: Beta posteriors (chapter 9) and Dirichlet MDPs (chapter 11).
    ``shape``: any array of finite values > 0 (integers become float64; may be empty); ``generator``: a
    ``torch.Generator`` or an int seed."""
    shape = as_tensor(shape, "shape")
    if shape.numel() and not bool((shape > 0).all()):
        raise ValueError(f"shape must hold Gamma shape parameters > 0; got minimum {float(shape.min()):.4g}")
    generator = as_generator(generator)
    flat = shape.reshape(-1)
    boost = flat < 1
    a = torch.where(boost, flat + 1, flat)
    d = a - 1.0 / 3.0
    c = 1.0 / torch.sqrt(9.0 * d)
    out = torch.empty_like(flat)
    todo = torch.arange(flat.numel())
    while todo.numel():
        dd, cc = d[todo], c[todo]
        x = torch.randn(todo.numel(), generator=generator, dtype=flat.dtype)
        u = torch.rand(todo.numel(), generator=generator, dtype=flat.dtype)
        v = (1 + cc * x) ** 3
        ok = v > 0
        logv = torch.log(torch.where(ok, v, torch.ones_like(v)))
        ok &= torch.log(u) < 0.5 * x * x + dd - dd * v + dd * logv
        out[todo[ok]] = (dd * v)[ok]
        todo = todo[~ok]
    if bool(boost.any()):
        u = torch.rand(flat.numel(), generator=generator, dtype=flat.dtype)
        out = torch.where(boost, out * u ** (1.0 / flat), out)
    return out.reshape(shape.shape)
