"""MDP families for distribution shift (chapter 11): Dirichlet transitions of any concentration, a slippery
chain and a ring. All with ``|A| = 3`` where the structure fixes the actions (left, stay, right).

``Dirichlet(c)`` rows: ``c < 1`` gives sparse (nearly deterministic) transitions, ``c > 1`` dense ones (near
uniform); ``c = 1`` is the book's default generator :func:`icrl_lib.rl.random_mdp`.
"""
from __future__ import annotations

import math
from numbers import Integral

import numpy as np
import torch

from .._validation import as_generator, check_gamma, check_int, check_memory, check_positive, check_probability
from .mdp import TabularMDP
from .sampling import dirichlet, standard_gamma

__all__ = ["gamma_variates", "dirichlet_mdp", "chain_mdp", "ring_mdp"]

_F64 = torch.float64


def gamma_variates(shape, concentration: float, generator) -> torch.Tensor:
    """Gamma(c, 1) draws of ``shape`` from ``generator`` (Marsaglia-Tsang, batched rejection; ``c < 1`` via
    ``Gamma(c + 1) U^{1/c}``), float64 (chapter 11).

    ``shape``: a tuple (or list, ``torch.Size``) of integers >= 0, or one integer ``n`` for ``(n,)``; a zero
    size gives an empty tensor, as ``torch.empty`` would. ``concentration`` c > 0; ``generator``: a
    ``torch.Generator`` or an int seed. Draws above ``icrl_lib._validation.MAX_INTERMEDIATE_BYTES`` are refused.
    """
    shape = _check_size(shape, "shape")
    c = check_positive(concentration, "concentration")
    g = as_generator(generator)
    # the rejection sampler holds a few float64 temporaries of this size: refuse absurd sizes up front
    check_memory(math.prod(shape), _F64, f"{shape} Gamma draws", "shape")
    return standard_gamma(torch.full(shape, c, dtype=_F64), g)


def _check_size(shape, name: str) -> tuple[int, ...]:
    if isinstance(shape, (Integral, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list, torch.Size)):
        raise ValueError(f"{name} must be a tuple of integers >= 0 (or one integer); got {type(shape).__name__}")
    return tuple(check_int(n, name, minimum=0) for n in shape)


def dirichlet_mdp(n_states: int, n_actions: int, concentration: float, gamma: float = 0.9, n_mdps: int = 1,
                  generator=0) -> TabularMDP:
    """``n_mdps`` random MDPs with rows ``P[s, a, :] ~ Dirichlet(c)`` and ``r ~ U[0, 1]``, uniform ``rho0``
    (chapter 11). Batch shape ``(n_mdps,)``."""
    S, A, B = check_int(n_states, "n_states"), check_int(n_actions, "n_actions"), check_int(n_mdps, "n_mdps")
    g = check_gamma(gamma)
    gen = as_generator(generator)
    check_memory(B * S * A * S, _F64, f"the (n_mdps, S, A, S) = {(B, S, A, S)} kernel", "n_states")
    P = dirichlet((B, S, A, S), check_positive(concentration, "concentration"), gen)
    r = torch.rand(B, S, A, generator=gen, dtype=_F64)
    return TabularMDP(P, r, g, torch.full((B, S), 1.0 / S, dtype=_F64))


def _moves(n_states: int, slip: float, wrap: bool) -> torch.Tensor:
    S = n_states
    check_memory(S * 3 * S, _F64, f"the (S, 3, S) = {(S, 3, S)} kernel", "n_states")
    P = torch.zeros(S, 3, S, dtype=_F64)
    for s in range(S):
        for a, step in enumerate((-1, 0, 1)):
            s2 = (s + step) % S if wrap else min(max(s + step, 0), S - 1)
            P[s, a, s2] += 1 - slip
            P[s, a, s] += slip
    return P


def chain_mdp(n_states: int = 5, slip: float = 0.2, gamma: float = 0.9, n_mdps: int = 1) -> TabularMDP:
    """A slippery chain (chapter 11): actions (left, stay, right) move as intended with probability
    ``1 - slip`` and stay otherwise; reward 1 in the right end, 0.2 in the left end, 0 elsewhere; uniform
    ``rho0``. ``n_mdps`` identical copies (batch shape ``(n_mdps,)``)."""
    S = check_int(n_states, "n_states", minimum=2)
    slip = check_probability(slip, "slip")
    B = check_int(n_mdps, "n_mdps")
    r = torch.zeros(S, 3, dtype=_F64)
    r[-1], r[0] = 1.0, 0.2
    P = _moves(S, slip, wrap=False)
    return TabularMDP(P.expand(B, S, 3, S), r.expand(B, S, 3), check_gamma(gamma),
                      torch.full((B, S), 1.0 / S, dtype=_F64))


def ring_mdp(n_states: int = 5, slip: float = 0.2, gamma: float = 0.9, n_mdps: int = 1) -> TabularMDP:
    """A slippery ring (chapter 11): actions (counter-clockwise, stay, clockwise) as in :func:`chain_mdp` but
    wrapping around; reward 1 for staying in state 0, 0 elsewhere; uniform ``rho0``; ``n_mdps`` copies."""
    S = check_int(n_states, "n_states", minimum=2)
    slip = check_probability(slip, "slip")
    B = check_int(n_mdps, "n_mdps")
    r = torch.zeros(S, 3, dtype=_F64)
    r[0, 1] = 1.0
    P = _moves(S, slip, wrap=True)
    return TabularMDP(P.expand(B, S, 3, S), r.expand(B, S, 3), check_gamma(gamma),
                      torch.full((B, S), 1.0 / S, dtype=_F64))
