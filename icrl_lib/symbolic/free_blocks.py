"""Free block matrices: every block of ``P`` and ``V`` its own matrix symbol, and the blocks an expression
uses (chapters 4-5, "which blocks matter"). Block sizes come from a (possibly symbolic) layout, e.g.
``block_layout(sarsa_layout, d)``; a symbol is named ``P[phi,w]`` after the short block names given.
"""
from __future__ import annotations

from sympy import Basic, MatrixSymbol

from ..incontext import PromptLayout
from .blocks import block_matrix

__all__ = ["free_block_matrices", "used_blocks"]


def free_block_matrices(layout: PromptLayout, short: dict | None = None) -> dict:
    """``{"P": BlockMatrix, "V": BlockMatrix}`` (D x D) whose block ``(a, b)`` is the free symbol
    ``M[short[a],short[b]]`` of size ``size(a) x size(b)`` (chapters 4-5)."""
    if not isinstance(layout, PromptLayout):
        raise ValueError(f"layout must be a PromptLayout; got {type(layout).__name__}")
    names = [n for n, _ in layout.blocks]
    short = dict(short or {n: n for n in names})
    missing = [n for n in names if n not in short]
    if missing:
        raise ValueError(f"short must name every block of the layout; missing {missing}")
    return {m: block_matrix(layout, {(a, b): MatrixSymbol(f"{m}[{short[a]},{short[b]}]", sa, sb)
                                     for a, sa in layout.blocks for b, sb in layout.blocks})
            for m in "PV"}


def used_blocks(*exprs) -> set:
    """Names of the free blocks (symbols named ``M[a,b]``) that occur in the sympy expressions ``exprs``
    (chapters 4-5)."""
    if not exprs or not all(isinstance(e, Basic) for e in exprs):
        raise ValueError("exprs must be one or more sympy expressions")
    return {s.name for e in exprs for s in e.atoms(MatrixSymbol) if "[" in s.name}
