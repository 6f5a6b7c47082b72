"""Stacked constructed layers and the repeated teacher (chapter 11, depth; our construction and protocol).

With the prompts of chapters 4-5 the construction never changes a context column (``P* h_t = 0``), so ``L``
stacked copies of one block apply ``L`` teacher updates *on the same context*. For SARSA these are ``L`` batch
SARSA steps; for actor-critic they are ``L`` batch steps whose score vectors ``psi_t`` stay those of the
initial actor (the prompt carries them as data). :func:`repeated_teacher_update` is exactly that map for any
registry entry; :func:`sample_depth_batch` draws chapter 6's prompts with the ``L``-step target.
"""
from __future__ import annotations

from typing import Callable, Mapping

import torch

from .._validation import (
    as_generator, as_tensor, check_bool, check_finite_result, check_float_dtype, check_indices, check_int,
    check_shape)
from ..attention import lsa_unchecked, multihead_lsa_unchecked
from ..rl import sample_transitions
from .base import check_transition_fields
from .tasks import PromptBatch, PromptDistribution, behaviour_policy, sample_mdps, sample_parameters

__all__ = ["stacked_construction", "stack_readout", "repeated_teacher_update", "repeated_teacher_agent",
           "stacked_block_agent", "sample_depth_batch"]

_F64 = torch.float64


def _check_dist(dist) -> PromptDistribution:
    if not isinstance(dist, PromptDistribution):
        raise ValueError(f"dist must be a PromptDistribution; got {type(dist).__name__}")
    return dist


def stacked_construction(dist: PromptDistribution, n_layers: int, dtype: torch.dtype = _F64) -> list:
    """``n_layers`` copies of the construction ``(P*, V*)`` of ``dist`` as a list of pairs (chapter 11)."""
    dist = _check_dist(dist)
    L = check_int(n_layers, "n_layers")
    P, V = dist.construction(check_float_dtype(dtype))
    return [(P.clone(), V.clone()) for _ in range(L)]


def check_stack(H, P, V):
    """The inputs of a stack of layers (chapter 11): ``H`` (..., D, N+1) with N >= 1, and ``P``, ``V`` of one shape,
    (L, D, D) or (L, M, D, D) with L, M >= 1, cast to ``H``'s dtype. Returns ``(H, P, V)`` as tensors."""
    H = as_tensor(H, "H")
    check_shape(H, "H", (None, None))
    D = H.shape[-2]
    if H.shape[-1] < 2:
        raise ValueError(f"H must have at least 2 columns (N >= 1 context tokens and a query); got {tuple(H.shape)}")
    P = as_tensor(P, "P", dtype=H.dtype)
    V = as_tensor(V, "V", dtype=H.dtype)
    if P.dim() not in (3, 4) or P.shape[-2:] != (D, D) or 0 in P.shape:
        raise ValueError(f"P must have shape (L, D, D) or (L, M, D, D) with D = {D}, L, M >= 1; got {tuple(P.shape)}")
    if V.shape != P.shape:
        raise ValueError(f"V must have the shape of P {tuple(P.shape)}; got {tuple(V.shape)}")
    return H, P, V


def stack_readout(H: torch.Tensor, P: torch.Tensor, V: torch.Tensor, rows: torch.Tensor, mask: bool = False
                  ) -> torch.Tensor:
    """Apply a stack of multi-head layers and read the rows ``rows`` of the query column (chapter 11).

    ``H`` (..., D, N+1) with N >= 1; ``P``, ``V`` (L, M, D, D) (layer, head) or (L, D, D) (one head per layer),
    cast to ``H``'s dtype (autograd flows through); ``rows`` integer row indices in [0, D-1]. Returns
    (..., len(rows)); ``ValueError`` if it overflows.
    """
    H, P, V = check_stack(H, P, V)
    rows = check_indices(rows, "rows", H.shape[-2])
    mask = check_bool(mask, "mask")
    out = H
    n_layers = P.shape[0]
    for layer in range(n_layers - 1):
        if P.dim() == 3:
            out = lsa_unchecked(out, P[layer], V[layer], mask=mask)
        else:
            out = multihead_lsa_unchecked(out, P[layer], V[layer], mask=mask)
    # the last layer: only the query column is read, so only it is computed
    Pl, Vl = (P[-1], V[-1]) if P.dim() == 4 else (P[-1:], V[-1:])
    src = out
    if mask:
        src = out.clone()
        src[..., -1] = 0
    moment = src @ out.transpose(-1, -2)
    h_q = out[..., -1:]
    q = h_q
    for m in range(Pl.shape[0]):
        q = q + Vl[m] @ (moment @ (Pl[m] @ h_q)) / (out.shape[-1] - 1)
    return check_finite_result(q[..., rows, 0], "the stack's read-out", "H, P or V is too large: rescale them")


def repeated_teacher_update(dist: PromptDistribution, params, data: Mapping, rewards, n_steps: int
                            ) -> torch.Tensor:
    """``n_steps`` teacher updates of ``dist.algorithm`` on the same data blocks ``data`` and ``rewards``
    (..., N) (chapter 11): the map that ``n_steps`` stacked constructed layers compute. ``params``
    (..., n_params) -> (..., n_params); ``data`` a mapping of blocks (..., N, size) from ``transition_data``."""
    dist = _check_dist(dist)
    K = check_int(n_steps, "n_steps")
    p = as_tensor(params, "params")
    check_shape(p, "params", (dist.n_params,))
    if not isinstance(data, Mapping) or not data:
        raise ValueError(f"data must be a non-empty mapping {{block name: (..., N, size)}}; got {type(data).__name__}")
    N = next(iter(data.values())).shape[-2]
    rewards = as_tensor(rewards, "rewards", dtype=p.dtype)
    check_shape(rewards, "rewards", (N,))
    for _ in range(K):
        p = dist.spec.teacher_update(p, data, rewards, dist.n_states, dist.n_actions, dist)
    return p


def repeated_teacher_agent(dist: PromptDistribution, n_steps: int) -> Callable:
    """The agent ``params <- repeated_teacher_update(..., n_steps)`` for :func:`icrl_lib.rl.run_control`; the
    data blocks are built once per round from the parameters at the start of the round (chapter 11)."""
    dist = _check_dist(dist)
    K = check_int(n_steps, "n_steps")
    spec, S, A = dist.spec, dist.n_states, dist.n_actions

    def update(params, transitions) -> torch.Tensor:
        params = as_tensor(params, "params", dtype=_F64)
        check_shape(params, "params", (dist.n_params,))
        r = check_transition_fields(transitions, S, A)
        data = spec.transition_data(transitions, params, S, A, dist)
        return repeated_teacher_update(dist, params, data, r, K)
    return update


def stacked_block_agent(P, V, dist: PromptDistribution, mask: bool = False) -> Callable:
    """A stack of layers as an agent (chapter 11): ``P``, ``V`` (L, D, D) or (L, M, D, D); the prompt is built
    from ``(params, transitions)`` as in :func:`icrl_lib.incontext.block_agent` and the new parameters are read
    from the query column after the last layer."""
    dist = _check_dist(dist)
    P = as_tensor(P, "P", dtype=_F64)
    V = as_tensor(V, "V", dtype=_F64)
    D = dist.layout.dim
    if P.shape != V.shape or P.dim() not in (3, 4) or P.shape[-2:] != (D, D) or 0 in P.shape:
        raise ValueError(f"P and V must have the same shape (L, D, D) or (L, M, D, D) with D = {D}; got "
                         f"{tuple(P.shape)} and {tuple(V.shape)}")
    mask = check_bool(mask, "mask")
    spec, S, A, rows = dist.spec, dist.n_states, dist.n_actions, dist.output_rows

    def update(params, transitions) -> torch.Tensor:
        params = as_tensor(params, "params", dtype=_F64)
        check_shape(params, "params", (dist.n_params,))
        r = check_transition_fields(transitions, S, A)
        data = spec.transition_data(transitions, params, S, A, dist)
        H = spec.prompt(data, r, params, S, A)
        return stack_readout(H, P, V, rows, mask)
    return update


def sample_depth_batch(dist: PromptDistribution, n_prompts: int, n_steps: int, generator: torch.Generator | int
                       ) -> PromptBatch:
    """Prompts of ``dist`` whose target is ``n_steps`` teacher updates on the same context (chapter 11).

    Same draw order as :func:`icrl_lib.incontext.sample_prompt_batch` (MDPs, parameters, transitions and
    reward noise), so ``n_steps = 1`` gives exactly that function's batch. ``generator``: a ``torch.Generator``
    or an int seed. float64.
    """
    dist = _check_dist(dist)
    B = check_int(n_prompts, "n_prompts")
    K = check_int(n_steps, "n_steps")
    generator = as_generator(generator)
    S, A, spec = dist.n_states, dist.n_actions, dist.spec
    mdps = sample_mdps(dist, B, generator)
    params = sample_parameters(dist, B, generator)
    T = sample_transitions(mdps, behaviour_policy(dist, params), dist.n_transitions, generator,
                           reward_noise=dist.reward_noise)
    data = spec.transition_data(T, params, S, A, dist)
    H = spec.prompt(data, T.r, params, S, A)
    return PromptBatch(H, repeated_teacher_update(dist, params, data, T.r, K), params, mdps)
