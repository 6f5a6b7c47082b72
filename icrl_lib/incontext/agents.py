"""In-context agents for the outer control loop :func:`icrl_lib.rl.run_control` (chapter 7).

Each agent is an ``update(params, transitions) -> params`` callable: ``params`` ``(..., n_params)``,
``transitions`` an :class:`icrl_lib.rl.Transitions` with fields ``(..., N)``. The teacher applies the
explicit update; a block builds the prompt from ``(params, transitions)``, applies one linear-attention layer
and reads the new parameters out of the query column. Both go through the registry entry ``dist.spec``, so
they see exactly the same data blocks.
"""
from __future__ import annotations

from typing import Callable

import torch

from .._validation import as_tensor, broadcast_batch, check_finite_result, check_positive, check_shape
from ..attention import lsa_unchecked
from .base import check_transition_fields
from .tasks import PromptDistribution

__all__ = ["teacher_agent", "block_agent", "behaviour_policy_fn", "agent_jacobian"]

_F64 = torch.float64


def _check_dist(dist) -> PromptDistribution:
    if not isinstance(dist, PromptDistribution):
        raise ValueError(f"dist must be a PromptDistribution; got {type(dist).__name__}")
    return dist


def _check_context(dist: PromptDistribution, params, transitions):
    """The agent's inputs: ``params`` (..., n_params) float64 and ``transitions`` (fields (..., N)) of ``dist``'s
    sizes, with batch dimensions that broadcast. Returns ``(params, rewards)``."""
    params = as_tensor(params, "params", dtype=_F64)
    check_shape(params, "params", (dist.n_params,))
    rewards = check_transition_fields(transitions, dist.n_states, dist.n_actions)
    broadcast_batch({"params": params.shape, "transitions": rewards.shape}, {"params": 1, "transitions": 1})
    return params, rewards


def teacher_agent(dist: PromptDistribution) -> Callable:
    """The explicit update of ``dist.algorithm`` (step sizes and gamma from ``dist``) as an agent (chapter 7)."""
    dist = _check_dist(dist)
    spec, S, A = dist.spec, dist.n_states, dist.n_actions

    def update(params, transitions) -> torch.Tensor:
        params, rewards = _check_context(dist, params, transitions)
        data = spec.transition_data(transitions, params, S, A, dist)
        return spec.teacher_update(params, data, rewards, S, A, dist)
    return update


def block_agent(P, V, dist: PromptDistribution, mask: bool = False) -> Callable:
    """A linear-attention block ``(P, V)`` (each D x D) as an agent: ``params <- readout(LSA_{P,V}(H))``
    with ``H`` the prompt of ``(params, transitions)`` (chapter 7). With the construction it is the teacher."""
    dist = _check_dist(dist)
    if not isinstance(mask, bool):
        raise ValueError(f"mask must be a bool; got {mask!r}")
    D = dist.layout.dim
    P = as_tensor(P, "P", dtype=_F64)
    V = as_tensor(V, "V", dtype=_F64)
    if P.shape != (D, D) or V.shape != (D, D):
        raise ValueError(f"P and V must have shape ({D}, {D}); got {tuple(P.shape)} and {tuple(V.shape)}")
    spec, S, A = dist.spec, dist.n_states, dist.n_actions
    rows = dist.output_rows

    def update(params, transitions) -> torch.Tensor:
        params, rewards = _check_context(dist, params, transitions)
        data = spec.transition_data(transitions, params, S, A, dist)
        H = spec.prompt(data, rewards, params, S, A)
        return check_finite_result(lsa_unchecked(H, P, V, mask=mask)[..., rows, -1], "the block's new parameters",
                                   "reduce the scale of P and V (or of params and rewards)")
    return update


def behaviour_policy_fn(dist: PromptDistribution, temperature: float | None = None) -> Callable:
    """``params -> pi`` ``(..., S, A)``: the behaviour policy of ``dist.algorithm`` at ``temperature``
    (default ``dist.temperature``), the ``policy`` argument of :func:`icrl_lib.rl.run_control` (chapter 7)."""
    dist = _check_dist(dist)
    tau = dist.temperature if temperature is None else check_positive(temperature, "temperature")
    spec, S, A = dist.spec, dist.n_states, dist.n_actions
    return lambda params: spec.behaviour_policy(as_tensor(params, "params", dtype=_F64), S, A, tau)


def agent_jacobian(update: Callable, params, transitions) -> torch.Tensor:
    """The Jacobian ``d update(params, transitions) / d params`` of an agent's update map at ``params`` for
    fixed ``transitions`` (one round's context), shape ``(..., n_params, n_params)`` (chapter 7).

    ``params`` ``(..., n_params)`` float64, one parameter vector per context (leading dimensions as in
    ``transitions``); each context's output may depend only on its own parameters (true of every agent here).
    For the SARSA teacher the map is affine and the Jacobian is ``I - alpha A_hat`` with
    ``A_hat = (1/N) sum_t phi_t (phi_t - gamma phi'_t)^T``, whose spectral norm is the Lipschitz constant
    ``L_k`` of chapter 7's error-propagation bound; for the actor-critic teacher it is the local linear part.
    Computed by automatic differentiation (``update`` must be differentiable in ``params``).
    """
    if not callable(update):
        raise ValueError("update must be a callable update(params, transitions) -> params")
    params = as_tensor(params, "params", dtype=_F64)
    check_shape(params, "params", (None,))
    n = params.shape[-1]
    x = params.detach().reshape(-1, n).clone().requires_grad_(True)
    out = update(x.reshape(params.shape), transitions)
    if not isinstance(out, torch.Tensor) or out.shape != params.shape:
        raise ValueError(f"update must return a tensor of shape {tuple(params.shape)}; got "
                         f"{getattr(out, 'shape', type(out).__name__)}")
    check_finite_result(out, "the output of update", "update overflowed at params: reduce its step sizes or params")
    out = out.reshape(-1, n)
    rows = []
    for i in range(n):  # one backward pass per output coordinate, all contexts at once
        (g,) = torch.autograd.grad(out[:, i].sum(), x, retain_graph=i < n - 1, allow_unused=True)
        rows.append(torch.zeros_like(x) if g is None else g)
    return torch.stack(rows, dim=-2).reshape(*params.shape[:-1], n, n).detach()
