"""In-context actor-critic (chapter 5; our construction): layout, prompt, readout, construction.

Layout :func:`actor_critic_layout` ``(x: d_c, x_next: d_c, r: 1, psi: d_a | one: 1, w: d_c, theta: d_a)``:
transition column ``(x_t; x'_t; R_t; psi_t; 0; 0; 0)``, query ``(0; 0; 0; 0; 1; w; theta)``. The score
vectors ``psi_t = grad_theta log pi_theta(A_t|S_t)`` are data because they depend non-linearly on theta.
The construction is the block table :func:`actor_critic_blocks`: ``P`` computes the TD error exactly as in
SARSA, on ``(x, x', r)`` against ``(1, w)``; ``V`` writes ``alpha x_t`` into the ``w`` rows and
``beta psi_t`` into the ``theta`` rows. One head suffices because both updates are weighted by the same
scalar ``delta_t``.

The registry entry :data:`ACTOR_CRITIC` is tabular: one-hot critic ``x(s) = e_s`` (``d_c = S``) and a
softmax actor over ``f(s, a) = e_{s A + a}`` (``d_a = S A``).
"""
from __future__ import annotations

import torch

from .._validation import as_tensor, broadcast_batch, check_gamma, check_int, check_positive, check_shape
from ..rl import (batch_actor_critic_update, one_hot_state, softmax_actor_policy, softmax_actor_scores,
                  state_action_table)
from .base import InContextAlgorithm, check_data, check_hp, check_transition_fields, finite_update
from .layout import (PromptLayout, assemble, check_coefficient, check_float_dtype, check_prompt, check_transitions,
                     render_blocks)

__all__ = ["actor_critic_layout", "actor_critic_prompt", "actor_critic_readout", "actor_critic_blocks",
           "actor_critic_construction", "ActorCriticAlgorithm", "ACTOR_CRITIC"]


def actor_critic_layout(d_critic: int, d_actor: int) -> PromptLayout:
    """Rows ``(x, x_next, r, psi | one, w, theta)`` of the actor-critic prompt (chapter 5, our layout)."""
    dc = check_int(d_critic, "d_critic")
    da = check_int(d_actor, "d_actor")
    return PromptLayout((("x", dc), ("x_next", dc), ("r", 1), ("psi", da), ("one", 1), ("w", dc),
                         ("theta", da)), 4)


def actor_critic_prompt(x, x_next, rewards, psi, w, theta) -> torch.Tensor:
    """The in-context actor-critic prompt (chapter 5; our construction, :func:`actor_critic_layout`).

    Args:
        x, x_next: ``(..., N, d_c)`` critic features ``x(S_t)``, ``x(S'_t)``.
        rewards: ``(..., N)``.
        psi: ``(..., N, d_a)`` score vectors ``grad_theta log pi_theta(A_t | S_t)``.
        w: ``(..., d_c)`` critic weights; theta: ``(..., d_a)`` actor parameters.

    Returns ``H`` ``(..., 2 d_c + 1 + d_a + 1 + d_c + d_a, N + 1)``.
    """
    x, x_next, rewards = check_transitions(("x", "x_next"), x, x_next, rewards)
    N, dc = x.shape[-2:]
    psi = as_tensor(psi, "psi", dtype=x.dtype)
    check_shape(psi, "psi", (N, None))
    da = psi.shape[-1]
    w = as_tensor(w, "w", dtype=x.dtype)
    check_shape(w, "w", (dc,))
    theta = as_tensor(theta, "theta", dtype=x.dtype)
    check_shape(theta, "theta", (da,))
    batch = broadcast_batch({"x": x.shape, "x_next": x_next.shape, "rewards": rewards.shape, "psi": psi.shape,
                             "w": w.shape, "theta": theta.shape},
                            {"x": 2, "x_next": 2, "rewards": 1, "psi": 2, "w": 1, "theta": 1})
    one = torch.ones(1, dtype=x.dtype)
    return assemble(actor_critic_layout(dc, da),
                    {"x": x, "x_next": x_next, "r": rewards.unsqueeze(-1), "psi": psi},
                    {"one": one, "w": w, "theta": theta}, x.dtype, tuple(batch))


def actor_critic_readout(H, d_critic: int, d_actor: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(w, theta)`` from the query column, shapes ``(..., d_c)`` and ``(..., d_a)`` (chapter 5)."""
    layout = actor_critic_layout(d_critic, d_actor)
    H = check_prompt(H, "H", layout.dim)
    return H[..., layout.rows("w"), -1], H[..., layout.rows("theta"), -1]


def actor_critic_blocks(alpha, beta, gamma) -> dict:
    """The actor-critic construction as a block table on :func:`actor_critic_layout` (chapter 5).

    Each value times ``I``; numbers (``alpha, beta > 0``, ``gamma`` in [0, 1)) or sympy expressions (passed
    through unchecked).
    """
    alpha = check_coefficient(alpha, "alpha", "positive")
    beta = check_coefficient(beta, "beta", "positive")
    gamma = check_coefficient(gamma, "gamma", "gamma")
    return {("P", "x", "w"): -1, ("P", "x_next", "w"): gamma, ("P", "r", "one"): 1,
            ("V", "w", "x"): alpha, ("V", "theta", "psi"): beta}


def actor_critic_construction(d_critic: int, d_actor: int, alpha: float, beta: float, gamma: float,
                              dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """One block ``(P, V)`` that performs a batch actor-critic step (chapter 5; our construction).

    :func:`actor_critic_blocks` rendered on :func:`actor_critic_layout`; the readout equals
    :func:`icrl_lib.rl.batch_actor_critic_update` (with or without the query mask).
    """
    dc = check_int(d_critic, "d_critic")
    da = check_int(d_actor, "d_actor")
    a = check_positive(alpha, "alpha")
    b = check_positive(beta, "beta")
    g = check_gamma(gamma)
    check_float_dtype(dtype)
    return render_blocks(actor_critic_layout(dc, da), actor_critic_blocks(a, b, g), dtype)


class ActorCriticAlgorithm(InContextAlgorithm):
    """Registry entry of tabular in-context actor-critic (chapters 5-7): parameters ``(w; theta)``
    (..., S + S A), one-hot critic features, the tabular softmax actor (temperature 1) as behaviour policy."""

    name = "actor-critic"
    output_blocks = ("w", "theta")

    def layout(self, n_states: int, n_actions: int) -> PromptLayout:
        S, A = check_int(n_states, "n_states"), check_int(n_actions, "n_actions")
        return actor_critic_layout(S, S * A)

    def blocks(self, n_states: int, n_actions: int, hp) -> dict:
        check_int(n_states, "n_states"), check_int(n_actions, "n_actions")
        hp = check_hp(hp, ("alpha", "beta", "gamma"))
        return actor_critic_blocks(hp.alpha, hp.beta, hp.gamma)

    def construction(self, n_states: int, n_actions: int, hp, dtype: torch.dtype = torch.float64):
        S, A = check_int(n_states, "n_states"), check_int(n_actions, "n_actions")
        hp = check_hp(hp, ("alpha", "beta", "gamma"))
        return actor_critic_construction(S, S * A, hp.alpha, hp.beta, hp.gamma, dtype)

    def transition_data(self, transitions, params, n_states: int, n_actions: int, hp) -> dict:
        S, A = n_states, n_actions
        check_transition_fields(transitions, S, A)
        theta = self.split_params(params, S, A)["theta"]
        broadcast_batch({"params": theta.shape, "transitions": transitions.s.shape}, {"params": 1, "transitions": 1})
        psi = softmax_actor_scores(theta, transitions.s, transitions.a, state_action_table(S, A, theta.dtype))
        return {"x": one_hot_state(transitions.s, S), "x_next": one_hot_state(transitions.s_next, S), "psi": psi}

    def teacher_update(self, params, data, rewards, n_states: int, n_actions: int, hp) -> torch.Tensor:
        p = self.split_params(params, n_states, n_actions)
        data = check_data(data, ("x", "x_next", "psi"))
        hp = check_hp(hp, ("alpha", "beta", "gamma"))
        w, theta = batch_actor_critic_update(p["w"], p["theta"], data["x"], data["x_next"], rewards, data["psi"],
                                             hp.alpha, hp.beta, hp.gamma)
        return finite_update(torch.cat([w, theta], -1))

    def behaviour_policy(self, params, n_states: int, n_actions: int, temperature: float = 1.0) -> torch.Tensor:
        """The actor ``pi_theta`` at temperature 1 (the scores ``psi`` in the prompt are taken at 1 too);
        ``temperature`` is accepted for a uniform interface (checked, > 0) and ignored."""
        check_positive(temperature, "temperature")
        theta = self.split_params(params, n_states, n_actions)["theta"]
        return softmax_actor_policy(theta, state_action_table(n_states, n_actions, theta.dtype))

    def null_patterns(self, n_states: int, n_actions: int) -> list:
        # one-hot critic: 1^T x_t = 1^T x'_t = 1; tabular softmax scores sum to 0 within each state block
        S, A = n_states, n_actions
        L = self.layout(S, A)
        p = torch.zeros(L.data.stop, dtype=torch.float64)
        p[L.rows("x")] = 1.0
        p[L.rows("x_next")] = -1.0
        patterns = [p]
        psi = L.rows("psi")
        for s in range(S):
            q = torch.zeros(L.data.stop, dtype=torch.float64)
            q[psi.start + s * A: psi.start + (s + 1) * A] = 1.0
            patterns.append(q)
        return patterns


#: The registry entry of in-context actor-critic.
ACTOR_CRITIC = ActorCriticAlgorithm()
