"""sympy builders of the in-context TD, SARSA and actor-critic prompts and blocks (chapters 3-5).

The row layouts and the constructions come from :mod:`icrl_lib.incontext` (:func:`~icrl_lib.incontext.td_layout`,
:func:`~icrl_lib.incontext.sarsa_layout`, :func:`~icrl_lib.incontext.actor_critic_layout` and the block
tables :func:`~icrl_lib.incontext.td_blocks`, :func:`~icrl_lib.incontext.sarsa_blocks`,
:func:`~icrl_lib.incontext.actor_critic_blocks`), the same objects that place the rows of the torch prompts
and constructions, so the numbers, the proofs and the figures use one row order and one set of coefficients.
Explicit builders (``symbolic_*``) take concrete sizes; block builders (``block_*``) symbolic ones
(see :mod:`icrl_lib.symbolic.blocks`). Constructions follow the book's convention: ``(P, V)`` = (key-query,
value), as in [LL26].
"""
from __future__ import annotations

import sympy as sp
from sympy import BlockMatrix, Identity, ZeroMatrix

from ..incontext import (actor_critic_blocks, actor_critic_layout, sarsa_blocks, sarsa_layout, td_blocks,
                         td_layout)
from .blocks import (as_matrix, block_layout, block_tokens, check_dim, matrix_shape, render_block_matrices,
                     render_blocks_sympy, symbolic_prompt)
from .core import MAX_SYMBOLS, check_matrix, check_scalar, check_symbolic_size

__all__ = ["block_td_prompt", "block_td_construction", "symbolic_td_prompt", "symbolic_td_construction",
           "symbolic_sarsa_prompt", "symbolic_sarsa_readout", "symbolic_sarsa_construction",
           "symbolic_actor_critic_prompt", "symbolic_actor_critic_readout", "symbolic_actor_critic_construction",
           "block_sarsa_tokens", "block_sarsa_construction", "block_actor_critic_tokens",
           "block_actor_critic_construction"]


# --- In-context TD ([W25], chapter 3) -------------------------------------------------------------------

def block_td_prompt(X, X_next, bottom, x_q, gamma, query_bottom=None) -> BlockMatrix:
    """The [W25] TD prompt as a 3 x 2 BlockMatrix (row blocks ``d, d, 1``; column blocks ``n, 1``). Chapter 3.

    ``X`` and ``X_next`` are ``d x n`` (columns ``x(s_j)`` and ``x(s_{j+1})``), ``bottom`` the ``1 x n``
    bottom row (the rewards in the prompt, the TD errors at ``w_l`` after ``l`` layers), ``x_q`` the
    ``d x 1`` query features and ``query_bottom`` the query's ``1 x 1`` bottom entry (default 0).
    """
    check_matrix(X, "X")
    d, n = X.shape
    check_matrix(X_next, "X_next", (d, n))
    check_matrix(bottom, "bottom", (1, n))
    check_matrix(x_q, "x_q", (d, 1))
    gamma = check_scalar(gamma, "gamma")
    if query_bottom is None:
        query_bottom = ZeroMatrix(1, 1)
    check_matrix(query_bottom, "query_bottom", (1, 1))
    return BlockMatrix([[X, x_q], [gamma * X_next, ZeroMatrix(d, 1)], [bottom, query_bottom]])


def block_td_construction(d, C) -> tuple[BlockMatrix, BlockMatrix]:
    """[W25]'s layer as 3 x 3 BlockMatrices ``(P, V)`` in the book convention (chapter 3).

    ``P = [[-C^T, C^T, 0], [0, 0, 0], [0, 0, 0]]`` (key-query, [W25]'s ``Q``) and ``V = e_D e_D^T``
    (value, [W25]'s ``P``), row/column blocks ``(d, d, 1)`` (:func:`icrl_lib.incontext.td_blocks` on
    :func:`icrl_lib.incontext.td_layout`); ``C`` is a ``d x d`` matrix expression and ``d`` may be a symbol.
    Mirrors :func:`icrl_lib.incontext.td_construction` (both render the same block table).
    """
    d = check_symbolic_size(d, "d")
    check_matrix(C, "C", (d, d))
    return render_block_matrices(block_layout(td_layout, d), td_blocks(C))


def symbolic_td_prompt(x: sp.Matrix, x_next: sp.Matrix, r: sp.Matrix, x_q: sp.Matrix, gamma) -> sp.Matrix:
    """The [W25] TD prompt as an explicit ``(2d+1) x (n+1)`` sympy Matrix (chapter 3).

    ``x`` and ``x_next`` are ``d x n`` (one column per transition), ``r`` is ``1 x n`` or ``n x 1``,
    ``x_q`` is ``d x 1``. Columns ``(x_j; gamma x'_j; r_j)`` then ``(x_q; 0; 0)``, as
    :func:`icrl_lib.incontext.td_prompt`.
    """
    for name, A in (("x", x), ("x_next", x_next), ("r", r), ("x_q", x_q)):
        if not isinstance(A, sp.MatrixBase):
            raise ValueError(f"{name} must be an explicit sympy Matrix; got {type(A).__name__}")
    d, n = x.shape
    if d < 1 or n < 1:
        raise ValueError(f"x must have shape (d, n) with d, n >= 1; got {x.shape}")
    gamma = check_scalar(gamma, "gamma")
    if x_next.shape != (d, n):
        raise ValueError(f"x_next must have shape ({d}, {n}); got {x_next.shape}")
    if r.shape not in ((1, n), (n, 1)):
        raise ValueError(f"r must have shape (1, {n}); got {r.shape}")
    if x_q.shape != (d, 1):
        raise ValueError(f"x_q must have shape ({d}, 1); got {x_q.shape}")
    r = r if r.shape == (1, n) else r.T
    return symbolic_prompt(td_layout(d), {"x": x.T, "x_next": gamma * x_next.T, "r": r.T}, {"x": x_q}, n)


def symbolic_td_construction(C: sp.Matrix) -> tuple[sp.Matrix, sp.Matrix]:
    """[W25]'s layer ``(P, V)`` as explicit ``(2d+1) x (2d+1)`` sympy Matrices for an explicit ``d x d`` ``C``.

    Same block table (:func:`icrl_lib.incontext.td_blocks`) as :func:`block_td_construction` and
    :func:`icrl_lib.incontext.td_construction`. Chapter 3.
    """
    if not isinstance(C, sp.MatrixBase) or C.shape[0] != C.shape[1] or C.shape[0] < 1:
        raise ValueError(f"C must be a square explicit sympy Matrix; got {getattr(C, 'shape', type(C).__name__)}")
    return render_blocks_sympy(td_layout(C.shape[0]), td_blocks(C))


# --- SARSA (chapter 4) and actor-critic (chapter 5) ------------------------------------------------

def symbolic_sarsa_prompt(phi, phi_next, rewards, w) -> sp.Matrix:
    """The SARSA prompt of :func:`icrl_lib.incontext.sarsa_prompt` as a sympy Matrix (chapter 4).

    ``phi``, ``phi_next``: ``(N, d)``; ``rewards``: ``N`` entries; ``w``: ``d`` entries. Returns the
    ``(3d + 2) x (N + 1)`` matrix with columns ``(phi_t; phi'_t; R_t; 0; 0_d)`` and the query
    ``(0_d; 0_d; 0; 1; w)``.
    """
    N, d = matrix_shape(phi, "phi")
    phi = as_matrix(phi, "phi", (N, d))
    phi_next = as_matrix(phi_next, "phi_next", (N, d))
    rewards = as_matrix(rewards, "rewards", (N, 1))
    w = as_matrix(w, "w", (d, 1))
    return symbolic_prompt(sarsa_layout(d), {"phi": phi, "phi_next": phi_next, "r": rewards},
                           {"one": sp.Matrix([[1]]), "w": w}, N)


def symbolic_sarsa_readout(H: sp.Matrix) -> sp.Matrix:
    """The ``w`` rows of the query column, a ``d x 1`` Matrix (chapter 4)."""
    if not isinstance(H, sp.MatrixBase):
        raise ValueError(f"H must be a sympy Matrix; got {type(H).__name__}")
    D = H.shape[0]
    if D < 5 or (D - 2) % 3 != 0 or H.shape[1] < 2:
        raise ValueError(f"H must have shape (3d + 2, N + 1) with d, N >= 1; got {H.shape}")
    return H[sarsa_layout((D - 2) // 3).rows("w"), H.shape[1] - 1]


def symbolic_sarsa_construction(d: int, alpha, gamma) -> tuple[sp.Matrix, sp.Matrix]:
    """:func:`icrl_lib.incontext.sarsa_construction` with symbolic ``alpha``, ``gamma`` (chapter 4).

    ``P[(phi, phi', r), (1, w)] = [[0, -I], [0, gamma I], [1, 0]]``, ``V[w, phi] = alpha I``, zero elsewhere:
    the block table :func:`icrl_lib.incontext.sarsa_blocks` rendered in sympy.
    """
    d = _check_explicit_dim(d, "d", lambda k: 3 * k + 2)
    alpha, gamma = check_scalar(alpha, "alpha"), check_scalar(gamma, "gamma")
    return render_blocks_sympy(sarsa_layout(d), sarsa_blocks(sp.sympify(alpha), sp.sympify(gamma)))


def _check_explicit_dim(d, name: str, dim_of) -> int:
    # an explicit construction is a dim_of(d) x dim_of(d) Matrix: refuse sizes it would take minutes to build
    d = check_dim(d, name)
    if dim_of(d) ** 2 > MAX_SYMBOLS:
        raise ValueError(f"{name} is too large for an explicit matrix ({dim_of(d)} x {dim_of(d)} entries, limit "
                         f"{MAX_SYMBOLS}); use the block version for general sizes")
    return d


def symbolic_actor_critic_prompt(x, x_next, rewards, psi, w, theta) -> sp.Matrix:
    """The actor-critic prompt of :func:`icrl_lib.incontext.actor_critic_prompt` as a sympy Matrix (chapter 5).

    ``x``, ``x_next``: ``(N, d_c)``; ``rewards``: ``N`` entries; ``psi``: ``(N, d_a)``; ``w``: ``d_c``
    entries; ``theta``: ``d_a`` entries.
    """
    N, dc = matrix_shape(x, "x")
    x = as_matrix(x, "x", (N, dc))
    x_next = as_matrix(x_next, "x_next", (N, dc))
    rewards = as_matrix(rewards, "rewards", (N, 1))
    _, da = matrix_shape(psi, "psi")
    psi = as_matrix(psi, "psi", (N, da))
    w = as_matrix(w, "w", (dc, 1))
    theta = as_matrix(theta, "theta", (da, 1))
    return symbolic_prompt(actor_critic_layout(dc, da), {"x": x, "x_next": x_next, "r": rewards, "psi": psi},
                           {"one": sp.Matrix([[1]]), "w": w, "theta": theta}, N)


def symbolic_actor_critic_readout(H: sp.Matrix, d_critic: int, d_actor: int) -> tuple[sp.Matrix, sp.Matrix]:
    """``(w, theta)`` from the query column (``d_c x 1`` and ``d_a x 1`` Matrices; chapter 5)."""
    if not isinstance(H, sp.MatrixBase):
        raise ValueError(f"H must be a sympy Matrix; got {type(H).__name__}")
    L = actor_critic_layout(check_dim(d_critic, "d_critic"), check_dim(d_actor, "d_actor"))
    if H.shape[0] != L.dim or H.shape[1] < 2:
        raise ValueError(f"H must have shape ({L.dim}, N + 1) with N >= 1; got {H.shape}")
    q = H.shape[1] - 1
    return H[L.rows("w"), q], H[L.rows("theta"), q]


def symbolic_actor_critic_construction(d_critic: int, d_actor: int, alpha, beta, gamma
                                       ) -> tuple[sp.Matrix, sp.Matrix]:
    """:func:`icrl_lib.incontext.actor_critic_construction` with symbolic step sizes (chapter 5, ours).

    ``P`` as in SARSA on ``(x, x', r)`` against ``(1, w)``; ``V[w, x] = alpha I``, ``V[theta, psi] = beta I``.
    """
    dc, da = check_dim(d_critic, "d_critic"), check_dim(d_actor, "d_actor")
    _check_explicit_dim(dc + da, "d_critic + d_actor", lambda k: 2 * k + 2)
    alpha, beta, gamma = (check_scalar(v, k) for v, k in ((alpha, "alpha"), (beta, "beta"), (gamma, "gamma")))
    return render_blocks_sympy(actor_critic_layout(dc, da), actor_critic_blocks(alpha, beta, gamma))


def block_sarsa_tokens(Phi, Phi_next, r, w) -> tuple[BlockMatrix, BlockMatrix]:
    """``(C, h_q)`` of the SARSA prompt for symbolic ``d`` and ``N`` (chapter 4).

    ``Phi``, ``Phi_next``: ``d x N`` (column ``t`` is ``phi_t``, ``phi'_t``); ``r``: ``1 x N``; ``w``: ``d x 1``.
    """
    check_matrix(Phi, "Phi")
    d, N = Phi.shape
    check_matrix(Phi_next, "Phi_next", (d, N))
    check_matrix(r, "r", (1, N))
    check_matrix(w, "w", (d, 1))
    L = block_layout(sarsa_layout, d)
    return block_tokens(L, {"phi": Phi, "phi_next": Phi_next, "r": r}, {"one": Identity(1), "w": w}, N)


def block_sarsa_construction(d, alpha, gamma) -> tuple[BlockMatrix, BlockMatrix]:
    """The SARSA ``(P, V)`` as BlockMatrices for symbolic ``d`` (chapter 4; see
    :func:`symbolic_sarsa_construction`)."""
    d = check_symbolic_size(d, "d")
    alpha, gamma = check_scalar(alpha, "alpha"), check_scalar(gamma, "gamma")
    return render_block_matrices(block_layout(sarsa_layout, d), sarsa_blocks(alpha, gamma))


def block_actor_critic_tokens(X, X_next, r, Psi, w, theta) -> tuple[BlockMatrix, BlockMatrix]:
    """``(C, h_q)`` of the actor-critic prompt for symbolic sizes (chapter 5).

    ``X``, ``X_next``: ``d_c x N``; ``r``: ``1 x N``; ``Psi``: ``d_a x N``; ``w``: ``d_c x 1``; ``theta``:
    ``d_a x 1``.
    """
    check_matrix(X, "X")
    dc, N = X.shape
    check_matrix(Psi, "Psi")
    da = Psi.shape[0]
    check_matrix(X_next, "X_next", (dc, N))
    check_matrix(r, "r", (1, N))
    check_matrix(Psi, "Psi", (da, N))
    check_matrix(w, "w", (dc, 1))
    check_matrix(theta, "theta", (da, 1))
    L = block_layout(actor_critic_layout, dc, da)
    return block_tokens(L, {"x": X, "x_next": X_next, "r": r, "psi": Psi},
                        {"one": Identity(1), "w": w, "theta": theta}, N)


def block_actor_critic_construction(d_critic, d_actor, alpha, beta, gamma) -> tuple[BlockMatrix, BlockMatrix]:
    """The actor-critic ``(P, V)`` as BlockMatrices for symbolic sizes (chapter 5, our construction)."""
    d_critic, d_actor = check_symbolic_size(d_critic, "d_critic"), check_symbolic_size(d_actor, "d_actor")
    alpha, beta, gamma = (check_scalar(v, k) for v, k in ((alpha, "alpha"), (beta, "beta"), (gamma, "gamma")))
    return render_block_matrices(block_layout(actor_critic_layout, d_critic, d_actor),
                                 actor_critic_blocks(alpha, beta, gamma))
