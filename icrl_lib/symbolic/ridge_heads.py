"""The [LBM24] ridge layer as sympy block matrices, for chapter 10's hand derivation (section 1).

A token of the ridge prompt has four row blocks: ``a`` (d), the scalars ``s = (r, 1, i, i^2)`` (4), ``q`` (d)
and ``w`` (d); ``d`` may be a symbol. :func:`ridge_token` is the column ``h_i``; :func:`ridge_heads` the three
heads ``(Q_m, K_m, V_m)`` of one layer of :func:`icrl_lib.incontext.ridge_gd_construction`, each a
(3d + 4) x (3d + 4) block matrix: the two data heads (``s = +1, -1``) with ``Q h_i = s (w_i, 1)`` in the
``(a, r)`` slot, ``K h_j = (a_j, -r_j)``, ``V h_j = -s eta a_j`` into the ``w`` rows, and the local head with
query ``(i - i^2, i)`` on ``(e_1, e_i)``, key ``(1, j)`` and value ``-eta lambda w_j``.
"""
from __future__ import annotations

import sympy as sp
from sympy import BlockMatrix, Identity, ZeroMatrix

from .core import check_symbolic_size

__all__ = ["ridge_token", "ridge_heads"]

_NAMES = ("a", "s", "q", "w")


def _check_expr(x, name: str):
    try:
        v = sp.sympify(x)
    except (sp.SympifyError, TypeError) as exc:
        raise ValueError(f"{name} must be a number or a sympy expression; got {type(x).__name__}") from exc
    if not isinstance(v, sp.Expr) or isinstance(v, sp.MatrixBase) or v.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        raise ValueError(f"{name} must be a finite number or a sympy expression; got {x!r}")
    return v


def _check_vector(x, name: str, d):
    if not (isinstance(x, sp.MatrixExpr) or isinstance(x, sp.MatrixBase)) or x.shape[1] != 1:
        raise ValueError(f"{name} must be a d x 1 sympy matrix (MatrixSymbol); got {x!r}")
    if sp.simplify(x.shape[0] - d) != 0:
        raise ValueError(f"{name} must have d = {d} rows; got {x.shape[0]}")
    return x


def ridge_token(a, r, pos, q, w) -> BlockMatrix:
    """The token ``h = (a, (r, 1, pos, pos^2), q, w)``: ``a``, ``q``, ``w`` d x 1 matrices (``MatrixSymbol``),
    ``r`` and ``pos`` scalars; a (3d + 4) x 1 block matrix. Chapter 10."""
    d = check_symbolic_size(a.shape[0], "a") if isinstance(a, (sp.MatrixExpr, sp.MatrixBase)) else None
    if d is None:
        raise ValueError(f"a must be a d x 1 sympy matrix (MatrixSymbol); got {type(a).__name__}")
    a, q, w = (_check_vector(v, nm, d) for v, nm in ((a, "a"), (q, "q"), (w, "w")))
    r, pos = _check_expr(r, "r"), _check_expr(pos, "pos")
    return BlockMatrix([[a], [sp.Matrix([r, 1, pos, pos**2])], [q], [w]])


def _scalars(entries: dict) -> sp.Matrix:
    M = sp.zeros(4, 4)
    for (i, j), v in entries.items():
        M[i, j] = v
    return M


def _blocks(d, **parts) -> BlockMatrix:
    sizes = {"a": d, "s": 4, "q": d, "w": d}
    B = [[sp.zeros(4, 4) if p == c == "s" else ZeroMatrix(sizes[p], sizes[c]) for c in _NAMES] for p in _NAMES]
    for key, val in parts.items():
        B[_NAMES.index(key[0])][_NAMES.index(key[1])] = val
    return BlockMatrix(B)


def ridge_heads(d, eta, lam) -> dict:
    """The heads of one ridge layer: ``{1: (Q, K, V), -1: (Q, K, V), "local": (Q, K, V)}``, block matrices over
    the row blocks ``a, s, q, w`` (sizes d, 4, d, d); ``d`` an integer >= 1 or a sympy expression, ``eta`` and
    ``lam`` numbers or symbols. At ``d = 3`` their explicit forms are the library's ``Q[m], K[m], V[m]``. Chapter 10."""
    d = check_symbolic_size(d, "d")
    eta, lam = _check_expr(eta, "eta"), _check_expr(lam, "lam")
    heads = {s: (_blocks(d, aw=s * Identity(d), ss=_scalars({(0, 1): s})),
                 _blocks(d, aa=Identity(d), ss=_scalars({(0, 0): -1})),
                 _blocks(d, wa=-s * eta * Identity(d))) for s in (1, -1)}
    heads["local"] = (_blocks(d, ss=_scalars({(1, 2): 1, (1, 3): -1, (2, 2): 1})),
                      _blocks(d, ss=_scalars({(1, 1): 1, (2, 2): 1})),
                      _blocks(d, ww=-eta * lam * Identity(d)))
    return heads
