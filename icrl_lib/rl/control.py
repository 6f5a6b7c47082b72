"""The outer policy-improvement loop of in-context control, its agents and its scoring (chapter 1; reused in
chapters 4, 5 and 7).

[LL26]'s Algorithm 1 improves the policy in an outer loop around the in-context update. :func:`run_control`
is that loop, once, for every agent: the explicit SARSA and actor-critic updates of chapter 1 and, in later
chapters, an attention block built or trained to compute them (``icrl_lib.incontext.agents``).

Conventions (chapters 1, 4, 5 and 7):

- Parameters are one flat vector per MDP, ``params`` (..., d). For SARSA ``d = |S||A|`` and ``q_w(s, a) =
  w^T phi(s, a)`` with tabular one-hot ``phi``. For actor-critic the vector is ``(w; theta)``: the critic
  ``w`` (|S|,) first, then the actor ``theta`` (|S||A|,), the order of the actor-critic prompt's query column.
- ``policy(params) -> pi`` maps parameters (..., d) to stochastic matrices (..., S, A) (see
  :func:`softmax_q_policy`, :func:`epsilon_greedy_q_policy`, :func:`actor_policy`).
- ``update(params, transitions) -> params_new`` receives the ``N`` on-policy transitions of one round per MDP
  as a :class:`~icrl_lib.rl.sampling.Transitions` with fields (..., N) and returns parameters (..., d) (see
  :func:`sarsa_update_fn`, :func:`actor_critic_update_fn`).
- Round ``k = 0..K-1``: ``pi_k = policy(params_k)``; collect ``N`` transitions per MDP with
  :func:`~icrl_lib.rl.sampling.sample_transitions`; ``params_{k+1} = update(params_k, transitions)``. The
  returns ``J(policy(params_k))`` are exact (:func:`~icrl_lib.rl.mdp.expected_return`) for ``k = 0..K``.
"""
from __future__ import annotations

import math
from numbers import Integral
from typing import Callable, Mapping, NamedTuple

import torch

from .._validation import (as_generator, as_tensor, broadcast_batch, check_gamma, check_int, check_positive,
                           check_probability, check_real, check_shape)
from .features import one_hot_state, one_hot_state_action, q_values, state_action_table
from .mdp import TabularMDP, expected_return, value_iteration
from .policies import epsilon_greedy_policy, softmax_actor_policy, softmax_actor_scores, softmax_policy, uniform_policy
from .sampling import Transitions, sample_transitions
from .updates import batch_actor_critic_update, batch_sarsa_update

__all__ = ["ControlResult", "ControlHistory", "run_control", "in_context_control", "softmax_q_policy",
           "epsilon_greedy_q_policy", "actor_policy", "sarsa_update_fn", "actor_critic_update_fn",
           "split_actor_critic", "reference_returns", "normalized_return", "mean_and_ci95", "mean_and_se"]

_F64 = torch.float64
PolicyFn = Callable[[torch.Tensor], torch.Tensor]
UpdateFn = Callable[[torch.Tensor, Transitions], torch.Tensor]


class ControlResult(NamedTuple):
    """Result of :func:`run_control` (chapters 1 and 7): per agent name, ``params[name]`` (..., K+1, d) (index 0:
    the initial parameters) and ``returns[name]`` (..., K+1) the exact returns ``J(policy(params_k))``."""

    params: dict
    returns: dict

    def normalized(self, J_random, J_star) -> dict:
        """``{name: normalized_return(returns[name], J_random, J_star)}`` with ``J_random``, ``J_star`` of shape
        (...) (one per MDP, as from :func:`reference_returns`) broadcast over the rounds; (..., K+1) each."""
        J_random = as_tensor(J_random, "J_random", dtype=_F64)
        J_star = as_tensor(J_star, "J_star", dtype=_F64)
        for name, J in self.returns.items():
            # one reference per MDP: they must broadcast to the MDP batch, not add dimensions to the result
            for ref, r in (("J_random", J_random), ("J_star", J_star)):
                b = broadcast_batch({f"returns[{name!r}]": J.shape, ref: r.shape}, {f"returns[{name!r}]": 1, ref: 0})
                if tuple(b) != tuple(J.shape[:-1]):
                    raise ValueError(f"{ref} must have the MDP batch shape {tuple(J.shape[:-1])} of returns[{name!r}] "
                                     f"(or broadcast to it); got {tuple(r.shape)}")
        return {name: normalized_return(J, J_random.unsqueeze(-1), J_star.unsqueeze(-1))
                for name, J in self.returns.items()}


class ControlHistory(NamedTuple):
    """One agent's run (chapter 1): ``params`` (..., K+1, d) and ``returns`` (..., K+1)."""

    params: torch.Tensor
    returns: torch.Tensor


def softmax_q_policy(n_states: int, n_actions: int, temperature: float = 1.0) -> PolicyFn:
    """``w -> softmax(q_w / tau)`` with tabular ``q_w(s, a) = w^T phi(s, a)`` (chapters 1 and 4).

    The returned policy maps ``w`` (..., S*A) to ``pi`` (..., S, A).
    """
    table = state_action_table(n_states, n_actions)
    tau = check_positive(temperature, "temperature")
    return lambda w: softmax_policy(q_values(as_tensor(w, "w", dtype=_F64), table), tau)


def epsilon_greedy_q_policy(n_states: int, n_actions: int, epsilon: float) -> PolicyFn:
    """``w -> epsilon-greedy(q_w)`` with tabular ``q_w(s, a) = w^T phi(s, a)`` (chapter 1); ``w`` (..., S*A)."""
    table = state_action_table(n_states, n_actions)
    eps = check_probability(epsilon, "epsilon")
    return lambda w: epsilon_greedy_policy(q_values(as_tensor(w, "w", dtype=_F64), table), eps)


def split_actor_critic(params, n_states: int, n_actions: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Split ``(w; theta)`` (..., S + S*A) into the critic ``w`` (..., S) and the actor ``theta`` (..., S*A)
    (chapters 1 and 5)."""
    S, A = check_int(n_states, "n_states"), check_int(n_actions, "n_actions")
    params = as_tensor(params, "params")
    check_shape(params, "params", (S + S * A,))
    return params[..., :S], params[..., S:]


def actor_policy(n_states: int, n_actions: int, temperature: float = 1.0) -> PolicyFn:
    """``(w; theta) -> pi_theta`` with the tabular softmax actor ``pi_theta(a|s) = softmax_a(theta_{s,a} / tau)``
    (chapters 1 and 5). The temperature ``tau`` is the same one :func:`actor_critic_update_fn` uses for the
    scores; params (..., S + S*A) -> pi (..., S, A)."""
    S, A = check_int(n_states, "n_states"), check_int(n_actions, "n_actions")
    table = state_action_table(S, A)
    tau = check_positive(temperature, "temperature")

    def policy(params):
        _, theta = split_actor_critic(as_tensor(params, "params", dtype=_F64), S, A)
        return softmax_actor_policy(theta, table, tau)
    return policy


def sarsa_update_fn(n_states: int, n_actions: int, alpha: float, gamma: float) -> UpdateFn:
    """The explicit in-context SARSA update as ``update(w, transitions)`` (chapter 1, [LL26] eq. 2; chapter 4).

    Builds one-hot ``phi_t = phi(S_t, A_t)``, ``phi'_t = phi(S'_t, A'_t)`` and applies
    :func:`~icrl_lib.rl.updates.batch_sarsa_update`: ``w + (alpha/N) sum_t delta_t phi_t``. ``w`` (..., S*A),
    transition fields (..., N); leading dimensions broadcast.
    """
    S, A = check_int(n_states, "n_states"), check_int(n_actions, "n_actions")
    alpha, gamma = check_positive(alpha, "alpha"), check_gamma(gamma)

    def update(w, tr: Transitions) -> torch.Tensor:
        w = as_tensor(w, "w")
        check_shape(w, "w", (S * A,))
        phi = one_hot_state_action(tr.s, tr.a, S, A, dtype=w.dtype)
        phi_next = one_hot_state_action(tr.s_next, tr.a_next, S, A, dtype=w.dtype)
        return batch_sarsa_update(w, phi, phi_next, tr.r.to(w.dtype), alpha, gamma)
    return update


def actor_critic_update_fn(n_states: int, n_actions: int, alpha: float, beta: float, gamma: float,
                           temperature: float = 1.0) -> UpdateFn:
    """The explicit in-context actor-critic update on ``(w; theta)`` (chapter 1; our construction, chapter 5).

    Tabular critic ``x(s) = e_s`` and softmax actor over ``f(s, a) = e_{s|A|+a}`` at ``temperature``. The score
    vectors ``psi_t`` are computed at the current ``theta`` (:func:`~icrl_lib.rl.policies.softmax_actor_scores`),
    then :func:`~icrl_lib.rl.updates.batch_actor_critic_update` applies ``w+ = w + (alpha/N) sum delta_t x_t``
    and ``theta+ = theta + (beta/N) sum delta_t psi_t``. ``params`` (..., S + S*A), transition fields (..., N).
    """
    S, A = check_int(n_states, "n_states"), check_int(n_actions, "n_actions")
    alpha, beta = check_positive(alpha, "alpha"), check_positive(beta, "beta")
    gamma, tau = check_gamma(gamma), check_positive(temperature, "temperature")
    table = state_action_table(S, A)

    def update(params, tr: Transitions) -> torch.Tensor:
        w, theta = split_actor_critic(params, S, A)
        x = one_hot_state(tr.s, S, dtype=w.dtype)
        x_next = one_hot_state(tr.s_next, S, dtype=w.dtype)
        psi = softmax_actor_scores(theta, tr.s, tr.a, table.to(w.dtype), tau)
        w_new, theta_new = batch_actor_critic_update(w, theta, x, x_next, tr.r.to(w.dtype), psi, alpha, beta, gamma)
        batch = broadcast_batch({"w": w_new.shape, "theta": theta_new.shape}, {"w": 1, "theta": 1})
        w_new, theta_new = w_new.expand(*batch, S), theta_new.expand(*batch, S * A)
        return torch.cat([w_new, theta_new], dim=-1)
    return update


def _per_agent(value, names, what: str) -> dict:
    if isinstance(value, Mapping):
        missing = [n for n in names if n not in value]
        if missing:
            raise ValueError(f"{what} is a dict but has no entry for agent(s) {missing}")
        return {n: value[n] for n in names}
    return {n: value for n in names}


def _checked_policy(policy: PolicyFn, params: torch.Tensor, mdps: TabularMDP, name: str) -> torch.Tensor:
    pi = policy(params)
    S, A = mdps.n_states, mdps.n_actions
    if not isinstance(pi, torch.Tensor) or pi.dim() < 2 or tuple(pi.shape[-2:]) != (S, A):
        raise ValueError(f"policy of agent {name!r} must return a (..., S, A) = (..., {S}, {A}) tensor; got "
                         f"{getattr(pi, 'shape', type(pi).__name__)}")
    pi = pi.detach().to(_F64)
    # Policies computed in float32 (say, by a trained block) sum to one only to ~1e-7: accept that and
    # renormalise in float64, since exact evaluation checks rows to 1e-8.
    if bool((pi < 0).any()) or not bool(torch.allclose(pi.sum(-1), torch.ones((), dtype=_F64), atol=1e-5)):
        raise ValueError(f"policy of agent {name!r} must return stochastic matrices (non-negative rows summing to 1)")
    return pi / pi.sum(-1, keepdim=True)


def run_control(mdps: TabularMDP, agents, policy, params0, n_rounds: int, n_transitions: int,
                generator: torch.Generator | int | None = None, reset_prob: float = 0.0,
                reward_noise: float = 0.0, *, seed: int | None = None) -> ControlResult:
    """THE outer control loop (chapter 1; chapters 4, 5 and 7 plug attention blocks in as agents).

    Args:
        mdps: a :class:`~icrl_lib.rl.mdp.TabularMDP`, single or batched (batch shape ``...``).
        agents: ``{name: update}`` with ``update(params (..., d), transitions (..., N)) -> params (..., d)``;
            a single callable is taken as ``{"agent": update}``.
        policy: ``policy(params (..., d)) -> pi (..., S, A)`` shared by the agents, or ``{name: policy}``.
        params0: initial parameters (d,) or (..., d) (broadcast to the MDPs' batch), or ``{name: params0}``.
        n_rounds: number of rounds K (updates), >= 0.
        n_transitions: N, on-policy transitions per MDP and round (one trajectory from rho0, restarting with
            probability ``reset_prob`` after each transition; rewards plus ``reward_noise`` times N(0, 1)).
        generator: a ``torch.Generator`` (one seed is drawn from it) or an int seed (``seed=`` accepted
            instead; 0 if neither). Every agent's loop starts from a fresh generator with that same seed
            (common random numbers): two agents with equal updates produce equal runs.

    Returns:
        ``ControlResult(params {name: (..., K+1, d)}, returns {name: (..., K+1)})`` with
        ``returns[name][..., k] = J(policy(params[name][..., k]))`` exact, float64.
    """
    if not isinstance(mdps, TabularMDP):
        raise ValueError(f"mdps must be a TabularMDP (single or batched); got {type(mdps).__name__}")
    if callable(agents) and not isinstance(agents, Mapping):
        agents = {"agent": agents}
    if not isinstance(agents, Mapping) or not all(callable(u) for u in agents.values()):
        raise ValueError("agents must be a dict name -> update(params, transitions) -> params (or one callable)")
    names = list(agents)
    policies = _per_agent(policy, names, "policy")
    if not all(callable(p) for p in policies.values()):
        raise ValueError("policy must be a callable policy(params) -> pi (..., S, A) or a dict of them")
    starts = _per_agent(params0, names, "params0")
    K = check_int(n_rounds, "n_rounds", minimum=0)
    N = check_int(n_transitions, "n_transitions")
    reset_prob = check_probability(reset_prob, "reset_prob")
    noise = check_real(reward_noise, "reward_noise")
    if noise < 0:
        raise ValueError(f"reward_noise must be >= 0; got {noise}")
    if generator is not None and seed is not None:
        raise ValueError("pass generator or seed, not both")
    if isinstance(generator, torch.Generator):
        base_seed = int(torch.randint(0, 2**62, (), generator=generator))
    elif generator is not None:
        base_seed = check_int(generator, "generator", minimum=0)
    elif isinstance(seed, torch.Generator):
        base_seed = int(torch.randint(0, 2**62, (), generator=seed))
    else:
        base_seed = check_int(0 if seed is None else seed, "seed", minimum=0)
    params_out, returns_out = {}, {}
    for name in names:
        p = as_tensor(starts[name], f"params0[{name!r}]" if isinstance(params0, Mapping) else "params0")
        check_shape(p, "params0", (None,))
        batch = broadcast_batch({"params0": p.shape, "mdps": mdps.P.shape}, {"params0": 1, "mdps": 3})
        p = p.expand(*batch, p.shape[-1]).clone()
        gen = as_generator(base_seed)
        update, pol = agents[name], policies[name]
        path, J = [p], []
        for k in range(K + 1):
            pi = _checked_policy(pol, p, mdps, name)
            J.append(expected_return(mdps, pi).expand(batch))
            if k == K:
                break
            tr = sample_transitions(mdps, pi, N, gen, reset_prob=reset_prob, reward_noise=noise)
            p_new = update(p, tr)
            if not isinstance(p_new, torch.Tensor) or p_new.shape != p.shape:
                raise ValueError(f"update of agent {name!r} must return a tensor of shape {tuple(p.shape)}; got "
                                 f"{getattr(p_new, 'shape', type(p_new).__name__)}")
            p_new = p_new.detach()
            if not bool(torch.isfinite(p_new).all()):
                raise ValueError(f"update of agent {name!r} returned non-finite parameters in round {k} "
                                 "(step size too large?)")
            p = p_new.to(p.dtype)
            path.append(p)
        params_out[name] = torch.stack(path, dim=-2)
        returns_out[name] = torch.stack(J, dim=-1)
    return ControlResult(params_out, returns_out)


def in_context_control(mdp: TabularMDP, update: UpdateFn, w0, n_rounds: int, n_transitions: int,
                       policy: PolicyFn, generator: torch.Generator | int | None = None, reset_prob: float = 0.0,
                       *, seed: int | None = None) -> ControlHistory:
    """One agent's outer loop (chapter 1): ``run_control(mdp, {"agent": update}, policy, w0, ...)`` unpacked.

    ``mdp`` single or batched, ``w0`` (d,) or (..., d). Returns ``ControlHistory(params (..., K+1, d),
    returns (..., K+1))``. Same random numbers as :func:`run_control` with the same generator or seed.
    """
    if not callable(update):
        raise ValueError("update must be a callable update(w, transitions) -> w_new")
    if not callable(policy):
        raise ValueError("policy must be a callable policy(w) -> pi of shape (..., S, A)")
    w0 = as_tensor(w0, "w0")
    check_shape(w0, "w0", (None,))
    res = run_control(mdp, {"agent": update}, policy, w0, n_rounds, n_transitions, generator,
                      reset_prob=reset_prob, seed=seed)
    return ControlHistory(res.params["agent"], res.returns["agent"])


def reference_returns(mdp: TabularMDP) -> tuple[torch.Tensor, torch.Tensor]:
    """``(J_random, J_star)`` (chapters 1 and 7): exact returns of the uniform policy and of an optimal policy,
    each of shape ``mdp.batch_shape``."""
    if not isinstance(mdp, TabularMDP):
        raise ValueError(f"mdp must be a TabularMDP; got {type(mdp).__name__}")
    pi_star, _, _ = value_iteration(mdp)
    return (expected_return(mdp, uniform_policy(mdp.n_states, mdp.n_actions)), expected_return(mdp, pi_star))


def normalized_return(J, J_random, J_star) -> torch.Tensor:
    """``(J - J_random) / (J_star - J_random)`` (chapters 1 and 7): 0 for the uniform policy, 1 for an optimal one.

    ``J`` may have any shape; ``J_random`` and ``J_star`` broadcast against it (use ``J_random[..., None]``
    against per-round returns (..., K+1), or :meth:`ControlResult.normalized`). Raises ``ValueError`` unless
    ``J_star > J_random`` everywhere (otherwise the scale is undefined).
    """
    J = as_tensor(J, "J")
    J_random = as_tensor(J_random, "J_random", dtype=J.dtype)
    J_star = as_tensor(J_star, "J_star", dtype=J.dtype)
    gap = J_star - J_random
    if not bool((gap > 0).all()):
        raise ValueError("J_star must be > J_random (the normalisation divides by J_star - J_random); got "
                         f"a minimal gap of {float(gap.min()):.3g}")
    try:
        return (J - J_random) / gap
    except RuntimeError as exc:
        raise ValueError(f"J {tuple(J.shape)}, J_random {tuple(J_random.shape)} and J_star "
                         f"{tuple(J_star.shape)} do not broadcast") from exc


def mean_and_ci95(x) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean over the first axis and the half-width ``1.96 s / sqrt(n)`` of a normal-approximation 95% interval
    (chapter 7). ``x`` (n, ...) with n >= 2; returns two tensors of shape (...)."""
    x = as_tensor(x, "x", dtype=_F64)
    if x.dim() == 0 or x.shape[0] < 2:
        raise ValueError(f"x needs at least 2 rows along its first axis for an interval; got shape {tuple(x.shape)}")
    n = x.shape[0]
    return x.mean(0), 1.96 * x.std(0, unbiased=True) / n ** 0.5


def mean_and_se(x, dim: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard error ``std / sqrt(n)`` (unbiased std) over ``dim`` (chapters 9-10; the 95% interval
    of chapter 7 is :func:`mean_and_ci95`). ``x`` finite, with at least 2 entries along ``dim`` (an int in
    ``[-x.dim(), x.dim() - 1]``)."""
    x = as_tensor(x, "x", dtype=torch.float64)
    if isinstance(dim, bool) or not isinstance(dim, Integral) or not -x.dim() <= dim < max(x.dim(), 1):
        raise ValueError(f"dim must be an integer in [{-x.dim()}, {x.dim() - 1}] for x of shape {tuple(x.shape)}; "
                         f"got {dim!r}")
    if x.dim() == 0:
        raise ValueError("x must have at least one dimension (n >= 2 entries along dim); got a scalar")
    n = x.shape[dim]
    if n < 2:
        raise ValueError(f"x needs at least 2 entries along dim {dim}; got {n}")
    return x.mean(dim), x.std(dim) / math.sqrt(n)
