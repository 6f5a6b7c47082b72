"""Chapter 10, section 6: values and regret of plans in an episodic tabular MDP (:class:`.ucbvi.EpisodicMDP`).

Shapes: ``B`` MDPs with horizon ``H``, ``S`` states, ``A`` actions; ``K`` episodes. The value of the first step
is ``V_1(s)``; a plan's regret in episode ``k`` is ``sum_s rho0(s) (V*_1(s) - V^{pi_k}_1(s))``.
Every function validates its arguments before any work.
"""
from __future__ import annotations

import torch

from .._validation import as_tensor, check_shape
from .ucbvi import EpisodicMDP, greedy_action

__all__ = ["episodic_values", "plan_regret"]


def _check_mdp(mdp) -> EpisodicMDP:
    if not isinstance(mdp, EpisodicMDP):
        raise ValueError(f"mdp must be an EpisodicMDP (rl.random_episodic_mdp); got {type(mdp).__name__}")
    return mdp


def episodic_values(mdp, policy=None) -> torch.Tensor:
    """``V_1`` (B, K, S): the optimal value (K = 1) if ``policy`` is None, else the value of each deterministic
    policy in ``policy`` (B, K, H, S) (action indices). Chapter 10."""
    mdp = _check_mdp(mdp)
    H, S, A = mdp.r.shape[-3:]
    if mdp.r.dim() != 4:
        raise ValueError(f"mdp must be a batch of MDPs (B, H, S, A); got r of shape {tuple(mdp.r.shape)}")
    if policy is not None:
        if not isinstance(policy, torch.Tensor) or policy.dtype not in (torch.int64, torch.int32):
            raise ValueError("policy must be an integer tensor (B, K, H, S)")
        if policy.dim() != 4 or policy.shape[0] != mdp.r.shape[0] or tuple(policy.shape[2:]) != (H, S):
            raise ValueError(f"policy must have shape (B, K, {H}, {S}); got {tuple(policy.shape)}")
        if bool((policy < 0).any()) or bool((policy >= A).any()):
            raise ValueError(f"policy must hold actions in 0..{A - 1}")
    K = 1 if policy is None else policy.shape[1]
    V = torch.zeros(mdp.r.shape[0], K, S, dtype=mdp.r.dtype)
    for h in reversed(range(H)):
        Qh = mdp.r[:, None, h] + (mdp.P[:, None, h] @ V[:, :, None, :, None]).squeeze(-1)
        V = Qh.amax(-1) if policy is None else Qh.gather(-1, policy[:, :, h, :, None]).squeeze(-1)
    return V


def plan_regret(mdp, Q) -> torch.Tensor:
    """The regret (B,) summed over the K episodes of the greedy plans of ``Q`` (B, K, H, S, A) (a UCB-VI run's
    planned tables), against the optimal value from ``rho0``. Chapter 10."""
    mdp = _check_mdp(mdp)
    Q = as_tensor(Q, "Q", dtype=mdp.r.dtype)
    check_shape(Q, "Q", (None,) + tuple(mdp.r.shape[-3:]))
    if Q.dim() != 5 or Q.shape[0] != mdp.r.shape[0]:
        raise ValueError(f"Q must have shape (B, K, H, S, A) with B = {mdp.r.shape[0]}; got {tuple(Q.shape)}")
    gap = episodic_values(mdp) - episodic_values(mdp, greedy_action(Q))
    return (gap * mdp.rho0[:, None]).sum(-1).sum(-1)
