"""sympy versions of [X26]'s softmax layer and in-context TD prompt, for chapter 8's fully expanded proof that
one layer of the construction is one iteration of weighted softmax TD.

Shapes in chapter 8's notation: features ``X`` (d x (n+1)), columns ``x(S_0), ..., x(S_n)`` (the last is the
query ``S_n``); rewards ``R_1..R_n``; values ``v(S_0)..v(S_n)``. The prompt is ``D x (n+1)`` with rows
features (``d``), [next-state features (``d``), two-head form only], reward, target memory, current memory.
"""
from __future__ import annotations

import sympy as sp

__all__ = ["symbolic_softmax_td_prompt", "symbolic_softmax_attention"]


def _matrix(A, name: str) -> sp.Matrix:
    if not isinstance(A, sp.MatrixBase):
        raise ValueError(f"{name} must be an explicit sympy Matrix; got {type(A).__name__}")
    return A


def symbolic_softmax_td_prompt(X, rewards, values, gamma, two_heads: bool = False) -> sp.Matrix:
    """The prompt at ``values``, holding chapter 8's invariant: ``tgt_j = gamma v(S_{j+1})`` (0 in the query),
    ``cur_j = v(S_j)``, reward row ``R_{j+1}`` (0 in the query). ``two_heads`` inserts the next-state rows
    ``x(S_{j+1})`` (0 in the query) after the features. Mirrors :func:`icrl_lib.incontext.softmax_td_prompt`
    with ``v0 = values``."""
    X = _matrix(X, "X")
    n = X.shape[1] - 1
    if n < 1:
        raise ValueError(f"X must have shape (d, n+1) with n >= 1; got {X.shape}")
    if not isinstance(rewards, (list, tuple, sp.MatrixBase)) or len(rewards) != n:
        raise ValueError(f"rewards must be a list of n = {n} entries; got {rewards!r}")
    if not isinstance(values, (list, tuple, sp.MatrixBase)) or len(values) != n + 1:
        raise ValueError(f"values must be a list of n + 1 = {n + 1} entries; got {values!r}")
    if not isinstance(gamma, (int, float, sp.Expr)) or isinstance(gamma, bool):
        raise ValueError(f"gamma must be a number or a sympy expression; got {gamma!r}")
    if not isinstance(two_heads, bool):
        raise ValueError(f"two_heads must be True or False; got {two_heads!r}")
    tgt = [gamma * values[j + 1] for j in range(n)] + [0]
    blocks = [X, sp.Matrix([list(rewards) + [0]]), sp.Matrix([tgt]), sp.Matrix([list(values)])]
    if two_heads:
        blocks.insert(1, sp.Matrix(X.shape[0], n + 1, lambda a, j: X[a, j + 1] if j < n else 0))
    return sp.Matrix.vstack(*blocks)


def symbolic_softmax_attention(Z, A, V) -> sp.Matrix:
    """``Z + V Z_src softmax_col(Z_src^T A Z)`` on explicit sympy matrices (chapter 8): the masked softmax layer
    of :func:`icrl_lib.attention.softmax_attention`, whose mask drops the query (last column) as a source.
    ``Z`` is ``D x (n+1)``, ``A`` and ``V`` are ``D x D``."""
    Z, A, V = _matrix(Z, "Z"), _matrix(A, "A"), _matrix(V, "V")
    D, cols = Z.shape
    if cols < 2:
        raise ValueError(f"Z must have shape (D, n+1) with n >= 1; got {Z.shape}")
    for name, M in (("A", A), ("V", V)):
        if M.shape != (D, D):
            raise ValueError(f"{name} must have shape ({D}, {D}); got {M.shape}")
    n = cols - 1
    src = Z[:, :n]
    expo = (src.T * A * Z).applyfunc(sp.exp)
    W = sp.Matrix(n, n + 1, lambda i, j: expo[i, j] / sum(expo[:, j]))
    return Z + V * src * W
