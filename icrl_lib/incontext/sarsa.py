"""In-context SARSA (chapter 4; [LL26]'s content in our row layout): layout, prompt, readout, construction.

Layout :func:`sarsa_layout` ``(phi: d, phi_next: d, r: 1 | one: 1, w: d)``: transition column
``(phi_t; phi'_t; R_t; 0; 0_d)``, query column ``(0_d; 0_d; 0; 1; w)``; the updated ``w`` is read from the
``w`` rows of the query column. The construction is the block table :func:`sarsa_blocks`
("P supplies the signed TD scalar, V supplies alpha phi"):

    P[phi, w] = -I,  P[phi_next, w] = gamma I,  P[r, one] = 1     so  h_t^T P h_q = delta_t(w)
    V[w, phi] = alpha I                                            so  V h_t = (0; alpha phi_t)

The registry entry :data:`SARSA` adds the tabular one-hot features, the teacher update
(:func:`icrl_lib.rl.batch_sarsa_update`), the softmax behaviour policy and the one-hot null pattern.
"""
from __future__ import annotations

import torch

from .._validation import as_tensor, broadcast_batch, check_gamma, check_int, check_positive, check_shape
from ..rl import (batch_sarsa_update, one_hot_state_action, q_values, softmax_policy, state_action_table)
from .base import InContextAlgorithm, check_data, check_hp, check_transition_fields, finite_update
from .layout import (PromptLayout, assemble, check_coefficient, check_float_dtype, check_prompt, check_transitions,
                     render_blocks)

__all__ = ["sarsa_layout", "sarsa_prompt", "sarsa_readout", "sarsa_blocks", "sarsa_construction",
           "SarsaAlgorithm", "SARSA"]


def sarsa_layout(d: int) -> PromptLayout:
    """Rows ``(phi: d, phi_next: d, r: 1 | one: 1, w: d)`` of the SARSA prompt (chapter 4, our layout)."""
    d = check_int(d, "d")
    return PromptLayout((("phi", d), ("phi_next", d), ("r", 1), ("one", 1), ("w", d)), 3)


def sarsa_prompt(phi, phi_next, rewards, w) -> torch.Tensor:
    """The in-context SARSA prompt (chapter 4; [LL26]'s content, our row layout :func:`sarsa_layout`).

    Args:
        phi: ``(..., N, d)`` features ``phi_t = phi(S_t, A_t)``.
        phi_next: ``(..., N, d)`` features ``phi'_t = phi(S'_t, A'_t)`` (raw: gamma lives in ``P``).
        rewards: ``(..., N)`` rewards ``R_t``.
        w: ``(..., d)`` current weights.

    Returns ``H`` ``(..., 3d + 2, N + 1)``: columns ``(phi_t; phi'_t; R_t; 0; 0_d)``, then the query
    ``(0_d; 0_d; 0; 1; w)``.
    """
    phi, phi_next, rewards = check_transitions(("phi", "phi_next"), phi, phi_next, rewards)
    d = phi.shape[-1]
    w = as_tensor(w, "w", dtype=phi.dtype)
    check_shape(w, "w", (d,))
    batch = broadcast_batch({"phi": phi.shape, "phi_next": phi_next.shape, "rewards": rewards.shape,
                             "w": w.shape}, {"phi": 2, "phi_next": 2, "rewards": 1, "w": 1})
    one = torch.ones(1, dtype=phi.dtype)
    return assemble(sarsa_layout(d), {"phi": phi, "phi_next": phi_next, "r": rewards.unsqueeze(-1)},
                    {"one": one, "w": w}, phi.dtype, tuple(batch))


def sarsa_readout(H) -> torch.Tensor:
    """The weights in the ``w`` rows of the query column of ``H`` ``(..., 3d+2, N+1)``: ``(..., d)`` (chapter 4)."""
    H = as_tensor(H, "H")
    check_shape(H, "H", (None, None))
    D = H.shape[-2]
    if D < 5 or (D - 2) % 3 != 0:
        raise ValueError(f"H must have 3d + 2 rows (a SARSA prompt); got shape {tuple(H.shape)}")
    layout = sarsa_layout((D - 2) // 3)
    return check_prompt(H, "H", D)[..., layout.rows("w"), -1]


def sarsa_blocks(alpha, gamma) -> dict:
    """The SARSA construction as a block table on :func:`sarsa_layout` (chapter 4): each value times ``I``.

    ``alpha`` and ``gamma`` may be numbers (``alpha > 0``, ``gamma`` in [0, 1)) or sympy expressions (passed
    through unchecked).
    """
    alpha = check_coefficient(alpha, "alpha", "positive")
    gamma = check_coefficient(gamma, "gamma", "gamma")
    return {("P", "phi", "w"): -1, ("P", "phi_next", "w"): gamma, ("P", "r", "one"): 1,
            ("V", "w", "phi"): alpha}


def sarsa_construction(d: int, alpha: float, gamma: float, dtype: torch.dtype = torch.float64
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """[LL26]'s one-block SARSA construction ``(P, V)`` (each ``(3d+2, 3d+2)``) in our row layout (chapter 4).

    :func:`sarsa_blocks` rendered on :func:`sarsa_layout`. The ``w`` rows of the query column of
    ``LSA_{P,V}(H)`` equal :func:`icrl_lib.rl.batch_sarsa_update` exactly (with or without the query mask).
    """
    d = check_int(d, "d")
    a = check_positive(alpha, "alpha")
    g = check_gamma(gamma)
    check_float_dtype(dtype)
    return render_blocks(sarsa_layout(d), sarsa_blocks(a, g), dtype)


class SarsaAlgorithm(InContextAlgorithm):
    """Registry entry of tabular in-context SARSA (chapters 4, 6, 7): ``d = S A`` one-hot ``phi(s, a)``,
    parameters ``w`` (..., S A), behaviour policy ``softmax(q_w / tau)``."""

    name = "sarsa"
    output_blocks = ("w",)

    def layout(self, n_states: int, n_actions: int) -> PromptLayout:
        return sarsa_layout(check_int(n_states, "n_states") * check_int(n_actions, "n_actions"))

    def blocks(self, n_states: int, n_actions: int, hp) -> dict:
        check_int(n_states, "n_states"), check_int(n_actions, "n_actions")
        hp = check_hp(hp)
        return sarsa_blocks(hp.alpha, hp.gamma)

    def construction(self, n_states: int, n_actions: int, hp, dtype: torch.dtype = torch.float64):
        S, A = check_int(n_states, "n_states"), check_int(n_actions, "n_actions")
        hp = check_hp(hp)
        return sarsa_construction(S * A, hp.alpha, hp.gamma, dtype)

    def transition_data(self, transitions, params, n_states: int, n_actions: int, hp) -> dict:
        S, A = n_states, n_actions
        check_transition_fields(transitions, S, A)
        return {"phi": one_hot_state_action(transitions.s, transitions.a, S, A),
                "phi_next": one_hot_state_action(transitions.s_next, transitions.a_next, S, A)}

    def teacher_update(self, params, data, rewards, n_states: int, n_actions: int, hp) -> torch.Tensor:
        w = self.split_params(params, n_states, n_actions)["w"]
        data = check_data(data, ("phi", "phi_next"))
        hp = check_hp(hp)
        return finite_update(batch_sarsa_update(w, data["phi"], data["phi_next"], rewards, hp.alpha, hp.gamma))

    def behaviour_policy(self, params, n_states: int, n_actions: int, temperature: float = 1.0) -> torch.Tensor:
        w = self.split_params(params, n_states, n_actions)["w"]
        table = state_action_table(n_states, n_actions, dtype=w.dtype)
        return softmax_policy(q_values(w, table), temperature)

    def null_patterns(self, n_states: int, n_actions: int) -> list:
        # one-hot: 1^T phi_t = 1^T phi'_t = 1 on every context token
        L = self.layout(n_states, n_actions)
        p = torch.zeros(L.data.stop, dtype=torch.float64)
        p[L.rows("phi")] = 1.0
        p[L.rows("phi_next")] = -1.0
        return [p]


#: The registry entry of in-context SARSA.
SARSA = SarsaAlgorithm()
