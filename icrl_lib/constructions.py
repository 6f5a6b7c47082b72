"""Closed-form attention parameters that make the forward pass execute an RL update.

One convention everywhere: a construction returns ``(P, V)`` with ``P`` the key-query matrix and ``V``
the value matrix, exactly as :func:`icrl_lib.attention.linear_self_attention` takes them ([LL26]
naming). [W25] call the value matrix ``P`` and the key-query matrix ``Q``; the notation appendix maps them.
"""
from __future__ import annotations

import torch

from ._validation import as_tensor, check_gamma, check_int, check_positive, check_shape
from .prompts import actor_critic_layout, sarsa_layout

__all__ = ["td_construction", "sarsa_construction", "actor_critic_construction"]


def td_construction(d: int, n_layers: int, C=None, dtype: torch.dtype = torch.float64) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """[W25]'s construction: ``n_layers`` masked layers = ``n_layers`` steps of batch TD(0) (chapter 3).

    For the prompt of :func:`icrl_lib.prompts.td_prompt` (``D = 2d + 1``) layer ``l`` has

        P_l = [[-C_l^T, C_l^T, 0], [0, 0, 0], [0, 0, 0]]   (key-query; [W25]'s Q)
        V_l = e_D e_D^T                                      (value; [W25]'s P: only the bottom-right 1)

    Use with ``mask=True``. Then ``-Z_L[-1, -1] = w_L^T x_q`` where ``w_0 = 0`` and
    ``w_{l+1} = w_l + (1/n) C_l sum_j delta_j(w_l) x_j`` (:func:`icrl_lib.algorithms.batch_td_update`).

    Args:
        d: feature dimension.
        n_layers: number of layers ``L``.
        C: preconditioner ``(d, d)`` shared by all layers, ``(L, d, d)`` one per layer, or ``None`` for ``I``.
    """
    d = check_int(d, "d")
    L = check_int(n_layers, "n_layers")
    if C is None:
        Cs = torch.eye(d, dtype=dtype).expand(L, d, d)
    else:
        C = as_tensor(C, "C", dtype=dtype)
        if C.dim() == 2:
            check_shape(C, "C", (d, d), batch=False)
            Cs = C.expand(L, d, d)
        else:
            check_shape(C, "C", (L, d, d), batch=False)
            Cs = C
    D = 2 * d + 1
    layers = []
    for l in range(L):
        P = torch.zeros(D, D, dtype=dtype)
        P[:d, :d] = -Cs[l].T
        P[:d, d:2 * d] = Cs[l].T
        V = torch.zeros(D, D, dtype=dtype)
        V[-1, -1] = 1.0
        layers.append((P, V))
    return layers


def sarsa_construction(d: int, alpha: float, gamma: float, dtype: torch.dtype = torch.float64
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """[LL26]'s one-block SARSA construction in our row layout (chapter 4).

    Only two sub-blocks are non-zero ("P supplies the signed TD scalar, V supplies alpha phi"):

        P[(phi, phi', r), (1, w)] = [[0, -I], [0, gamma I], [1, 0]]   so  h_t^T P h_q = delta_t(w)
        V[(1, w), (phi, phi', r)] = [[0, 0, 0], [alpha I, 0, 0]]        so  V h_t = (0; alpha phi_t)

    Then the ``w`` rows of the query column of ``LSA_{P,V}(H)`` equal
    :func:`icrl_lib.algorithms.batch_sarsa_update` exactly (with or without the query mask).
    """
    d = check_int(d, "d")
    a = check_positive(alpha, "alpha")
    g = check_gamma(gamma)
    L = sarsa_layout(d)
    P = torch.zeros(L.dim, L.dim, dtype=dtype)
    V = torch.zeros(L.dim, L.dim, dtype=dtype)
    eye = torch.eye(d, dtype=dtype)
    P[L.rows("phi"), L.rows("w")] = -eye
    P[L.rows("phi_next"), L.rows("w")] = g * eye
    P[L.rows("r"), L.rows("one")] = 1.0
    V[L.rows("w"), L.rows("phi")] = a * eye
    return P, V


def actor_critic_construction(d_critic: int, d_actor: int, alpha: float, beta: float, gamma: float,
                              dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """One block that performs a batch actor-critic step (chapter 5; our construction).

    ``P`` computes the TD error exactly as in SARSA, on ``(x, x', r)`` against ``(1, w)``; ``V`` writes
    ``alpha x_t`` into the ``w`` rows and ``beta psi_t`` into the ``theta`` rows. One head suffices because
    both updates are weighted by the same scalar ``delta_t``; the readout equals
    :func:`icrl_lib.algorithms.batch_actor_critic_update`.
    """
    dc = check_int(d_critic, "d_critic")
    da = check_int(d_actor, "d_actor")
    a = check_positive(alpha, "alpha")
    b = check_positive(beta, "beta")
    g = check_gamma(gamma)
    L = actor_critic_layout(dc, da)
    P = torch.zeros(L.dim, L.dim, dtype=dtype)
    V = torch.zeros(L.dim, L.dim, dtype=dtype)
    P[L.rows("x"), L.rows("w")] = -torch.eye(dc, dtype=dtype)
    P[L.rows("x_next"), L.rows("w")] = g * torch.eye(dc, dtype=dtype)
    P[L.rows("r"), L.rows("one")] = 1.0
    V[L.rows("w"), L.rows("x")] = a * torch.eye(dc, dtype=dtype)
    V[L.rows("theta"), L.rows("psi")] = b * torch.eye(da, dtype=dtype)
    return P, V
