"""The actor update along a line in theta, and what a stack of random linear-attention blocks produces along
the same line from a prompt without scores (chapter 5, exercise "No linear-attention block computes the
scores").

Setting (tabular actor, ``d_a = |S||A|``): a context of ``N`` transitions that all have ``(S_t, A_t) = (s, a)``,
the same TD error, and ``theta = lam e_{(s,b)}``. The exact update's ``(s, a)`` entry is bounded and
sigmoid-shaped in ``lam``; every block readout is a polynomial in ``lam`` of degree at most ``3^L``.
"""
from __future__ import annotations

import numpy as np
import torch

from .._validation import as_tensor, check_int
from ..attention import apply_layers
from ..rl import one_hot_state, state_action_table
from .actor_critic import actor_critic_prompt, actor_critic_readout

__all__ = ["scoreless_block_readout"]

_F64 = torch.float64


def scoreless_block_readout(lam, n_layers: int, seed: int, n_states: int = 2, n_actions: int = 3,
                            s: int = 0, a: int = 0, b: int = 1, n_transitions: int = 4,
                            reward: float = 0.3) -> np.ndarray:
    """The ``(s, a)`` entry of the ``theta`` readout of ``n_layers`` random blocks (entries N(0, 1)/D, drawn
    from ``numpy.random.default_rng(seed)``) applied to an actor-critic prompt whose score rows hold
    ``f(S_t, A_t)`` instead of the scores, at ``theta = lam e_{(s,b)}`` and ``w = 0``, for each ``lam`` (n,);
    returns (n,) (chapter 5)."""
    lam = as_tensor(lam, "lam", dtype=_F64).reshape(-1)
    if lam.numel() == 0:
        raise ValueError("lam must hold at least one point")
    n_layers, n_transitions = check_int(n_layers, "n_layers"), check_int(n_transitions, "n_transitions")
    n_states, n_actions = check_int(n_states, "n_states"), check_int(n_actions, "n_actions")
    for name, v, hi in (("s", s, n_states), ("a", a, n_actions), ("b", b, n_actions)):
        if not isinstance(v, int) or not 0 <= v < hi:
            raise ValueError(f"{name} must be an integer in [0, {hi}); got {v!r}")
    if a == b:
        raise ValueError(f"b must differ from a; got a = b = {a}")
    gen = np.random.default_rng(seed)
    d_a = n_states * n_actions
    theta = torch.zeros(len(lam), d_a, dtype=_F64)
    theta[:, s * n_actions + b] = lam
    x = one_hot_state(torch.full((n_transitions,), s), n_states)
    f_sa = state_action_table(n_states, n_actions)[s, a].expand(n_transitions, d_a)
    r = torch.full((n_transitions,), float(reward), dtype=_F64)
    H = actor_critic_prompt(x, x, r, f_sa, torch.zeros(n_states, dtype=_F64), theta)
    D = H.shape[-2]
    layers = [(torch.from_numpy(gen.normal(size=(D, D))) / D, torch.from_numpy(gen.normal(size=(D, D))) / D)
              for _ in range(n_layers)]
    _, th_out = actor_critic_readout(apply_layers(H, layers), n_states, d_a)
    return th_out[:, s * n_actions + a].numpy()
