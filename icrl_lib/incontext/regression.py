"""In-context linear regression, the warm-up of chapter 2 ([vO23]: one linear-attention layer = one GD step).

Conventions (chapter 2). A task is a weight vector ``w*`` in R^d; its context holds N
pairs ``(x_i, y_i)`` with ``y_i = w*^T x_i (+ noise)``, and a query input ``x_q``. The prompt stacks the
tokens ``z_i = (x_i; y_i)`` as columns and ends with the query column ``(x_q; 0)`` (layout
:func:`regression_layout`):

    Z = [[x_1, ..., x_N, x_q],
         [y_1, ..., y_N, 0  ]]      in R^{(d+1) x (N+1)}.

The in-context loss is ``L(w) = (1/(2N)) sum_i (w^T x_i - y_i)^2`` with gradient
``grad L(w) = (1/N) sum_i (w^T x_i - y_i) x_i``. One linear-attention layer in the [LL26] form
(:func:`icrl_lib.attention.linear_self_attention`) with the weights of :func:`gd_construction` writes the
prediction ``w_1^T x_q`` of one gradient step ``w_1 = w_0 - eta grad L(w_0)`` (``w_0 = 0``) into the
query's label slot, read by :func:`regression_readout`.

A second layout keeps the parameter in the prompt (the layout of chapters 4-5, :func:`param_layout`):
context columns ``(x_i; y_i; 0; 0_d)`` and query column ``(0_d; 0; 1; w_0)``; :func:`gd_param_construction`
makes one layer output ``w_1`` itself in the query's last d rows (:func:`param_readout`). Both
constructions are block tables (:func:`gd_blocks`, :func:`gd_param_blocks`) rendered by
:func:`icrl_lib.incontext.render_blocks`. The training parts live in :mod:`icrl_lib.training.regression`.
"""
from __future__ import annotations

from numbers import Real

import numpy as np
import torch

from .._validation import (
    as_tensor, broadcast_batch, check_bool, check_finite_result, check_float_dtype, check_int, check_positive,
    check_real, check_shape)
from .layout import PromptLayout, assemble, render_blocks

__all__ = ["regression_layout", "regression_prompt", "regression_readout", "step_matrix", "gd_blocks",
           "gd_construction", "gd_step", "gd_step_prediction", "param_layout", "param_prompt", "param_readout",
           "gd_param_blocks", "gd_param_construction"]


def regression_layout(d: int) -> PromptLayout:
    """Rows ``(x: d, y: 1)`` of the regression prompt (chapter 2); the query fills the ``x`` rows with ``x_q``."""
    d = check_int(d, "d")
    return PromptLayout((("x", d), ("y", 1)), 2)


def param_layout(d: int) -> PromptLayout:
    """Rows ``(x: d, y: 1 | one: 1, w: d)`` of the parameter-in-the-prompt regression layout (chapter 2)."""
    d = check_int(d, "d")
    return PromptLayout((("x", d), ("y", 1), ("one", 1), ("w", d)), 2)


def _context(X, y, names=("X", "y")):
    """Validate a regression context: ``X`` (..., N, d), ``y`` (..., N) in ``X``'s dtype."""
    X = as_tensor(X, names[0])
    check_shape(X, names[0], (None, None))
    N, d = X.shape[-2:]
    y = as_tensor(y, names[1], dtype=X.dtype)
    check_shape(y, names[1], (N,))
    return X, y, N, d


def regression_prompt(X, y, x_query) -> torch.Tensor:
    """The prompt ``Z = [[x_1 .. x_N, x_q], [y_1 .. y_N, 0]]`` of shape ``(..., d+1, N+1)``.

    ``X`` (..., N, d) context inputs (one row per token), ``y`` (..., N) labels, ``x_query`` (..., d).
    Leading batch dimensions broadcast. The query's label slot is 0 (chapter 2).
    """
    X, y, N, d = _context(X, y)
    xq = as_tensor(x_query, "x_query", dtype=X.dtype)
    check_shape(xq, "x_query", (d,))
    batch = broadcast_batch({"X": X.shape, "y": y.shape, "x_query": xq.shape}, {"X": 2, "y": 1, "x_query": 1})
    return assemble(regression_layout(d), {"x": X, "y": y.unsqueeze(-1)}, {"x": xq}, X.dtype, tuple(batch))


def regression_readout(Z, sign: float = 1.0) -> torch.Tensor:
    """The prediction ``sign * Z[..., -1, -1]`` (the query's label slot) of ``Z`` (..., d+1, N+1), shape ``(...)``.

    ``sign=-1`` reads the residual form of :func:`gd_construction` (``residual=True``), as in [vO23].
    Chapter 2.
    """
    Z = as_tensor(Z, "Z")
    check_shape(Z, "Z", (None, None))
    if Z.shape[-2] < 2 or Z.shape[-1] < 2:
        raise ValueError(f"Z must have shape (..., d+1, N+1) with d >= 1, N >= 1; got {tuple(Z.shape)}")
    s = check_real(sign, "sign")
    if s not in (1.0, -1.0):
        raise ValueError(f"sign must be +1 or -1; got {s}")
    return s * Z[..., -1, -1]


def step_matrix(eta, d: int, dtype=torch.float64) -> torch.Tensor:
    """``eta`` as a (d, d) preconditioner ``Gamma`` (chapter 2): a positive scalar gives ``eta I``, a matrix is
    used as it is; ``ValueError`` naming ``eta`` otherwise. ``d >= 1``; ``dtype`` floating."""
    d = check_int(d, "d")
    dtype = check_float_dtype(dtype)
    if (isinstance(eta, (torch.Tensor, np.ndarray)) and eta.ndim == 0) or isinstance(eta, (Real, np.number)):
        if isinstance(eta, np.ndarray):
            eta = eta[()]
        return check_positive(eta, "eta") * torch.eye(d, dtype=dtype)
    G = as_tensor(eta, "eta", dtype=dtype)
    check_shape(G, "eta", (d, d), batch=False)
    return G


def gd_blocks(Gamma, sign=1) -> dict:
    """The GD layer as a block table on :func:`regression_layout` (chapter 2): ``P[x, x] = Gamma^T``,
    ``V[y, y] = sign`` (``+1``, or ``-1`` for [vO23]'s residual form). ``Gamma`` is a d x d matrix (torch,
    sympy ``Matrix`` or ``MatrixSymbol``); ``sign`` is ``+1`` or ``-1``."""
    Gamma = _check_gamma_matrix(Gamma)
    s = check_real(sign, "sign")
    if s not in (1.0, -1.0):
        raise ValueError(f"sign must be +1 or -1; got {sign!r}")
    return {("P", "x", "x"): Gamma.T, ("V", "y", "y"): sign}


def _check_gamma_matrix(Gamma, name: str = "Gamma"):
    """A square matrix: numeric (converted to a finite torch tensor) or symbolic (sympy, kept as it is)."""
    if isinstance(Gamma, (torch.Tensor, np.ndarray, list, tuple)):
        G = as_tensor(Gamma, name)
        if G.dim() != 2 or G.shape[0] != G.shape[1] or G.shape[0] < 1:
            raise ValueError(f"{name} must be a square (d, d) matrix; got shape {tuple(G.shape)}")
        return G
    shape = getattr(Gamma, "shape", None)
    if not hasattr(Gamma, "T") or not isinstance(shape, tuple) or len(shape) != 2:
        raise ValueError(f"{name} must be a (d, d) matrix (torch, numpy or sympy); got {type(Gamma).__name__}")
    if bool(shape[0] != shape[1]):  # sympy sizes may be symbols: d != d is False
        raise ValueError(f"{name} must be a square (d, d) matrix; got shape {shape}")
    return Gamma


def gd_construction(d: int, eta=1.0, residual: bool = False, dtype: torch.dtype = torch.float64
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """The weights ``(P, V)`` (each ``(d+1, d+1)``) with which one [LL26] layer is one GD step (chapter 2).

    ``P = [[Gamma^T, 0], [0, 0]]`` with ``Gamma = eta I_d`` (``eta`` a positive scalar) or ``Gamma = eta``
    (a (d, d) preconditioner), and ``V = [[0, 0], [0, s]]`` with ``s = +1``. Then the query's label slot of
    ``LSA_{P,V}(Z)`` is ``w_1^T x_q`` with ``w_1 = -Gamma grad L(0) = (1/N) Gamma sum_i y_i x_i``.

    ``residual=True`` uses ``s = -1`` ([vO23]'s sign): the context label slots become the residuals
    ``y_i - w_1^T x_i`` and the query slot ``-w_1^T x_q`` (read it with ``regression_readout(Z, sign=-1)``);
    stacking L such layers with ``mask=True`` gives L gradient steps.
    """
    d = check_int(d, "d")
    residual = check_bool(residual, "residual")
    G = step_matrix(eta, d, dtype)
    return render_blocks(regression_layout(d), gd_blocks(G, -1 if residual else 1), dtype)


def gd_step(X, y, eta=1.0, w0=None) -> torch.Tensor:
    """One gradient step on ``L(w) = (1/(2N)) sum_i (w^T x_i - y_i)^2``: ``w_1 = w_0 - Gamma grad L(w_0)``.

    ``X`` (..., N, d), ``y`` (..., N), ``eta`` a positive scalar (``Gamma = eta I``) or a (d, d) matrix,
    ``w0`` (..., d) (zeros if omitted). Returns ``w_1`` (..., d). Chapter 2.
    """
    X, y, N, d = _context(X, y)
    G = step_matrix(eta, d, X.dtype)
    if w0 is None:
        w0 = torch.zeros(d, dtype=X.dtype)
    w0 = as_tensor(w0, "w0", dtype=X.dtype)
    check_shape(w0, "w0", (d,))
    broadcast_batch({"X": X.shape, "y": y.shape, "w0": w0.shape}, {"X": 2, "y": 1, "w0": 1})
    residual = (X @ w0.unsqueeze(-1)).squeeze(-1) - y
    grad = (residual.unsqueeze(-1) * X).mean(-2)
    return check_finite_result(w0 - (G @ grad.unsqueeze(-1)).squeeze(-1), "the step w_1",
                               "X, y, w0 or eta is too large: rescale them")


def gd_step_prediction(X, y, x_query, eta=1.0, w0=None) -> torch.Tensor:
    """The prediction ``w_1^T x_q`` after one step of :func:`gd_step`; ``x_query`` (..., d), returns ``(...)``.
    Chapter 2."""
    w1 = gd_step(X, y, eta=eta, w0=w0)
    xq = as_tensor(x_query, "x_query", dtype=w1.dtype)
    check_shape(xq, "x_query", (w1.shape[-1],))
    broadcast_batch({"X, y, w0": w1.shape, "x_query": xq.shape}, {"X, y, w0": 1, "x_query": 1})
    return check_finite_result((w1 * xq).sum(-1), "the prediction w_1^T x_q",
                               "x_query, X, y, w0 or eta is too large: rescale them")


# --- parameter in the prompt (the layout of chapters 4-5) -------------------------------------------

def param_prompt(X, y, w0) -> torch.Tensor:
    """Prompt ``H`` (..., 2d+2, N+1): context columns ``(x_i; y_i; 0; 0_d)``, query column ``(0_d; 0; 1; w_0)``.

    Data block ``(x; y)`` (d+1 rows), parameter block ``(1; w)`` (d+1 rows), as in the SARSA layout of
    chapter 4. ``X`` (..., N, d), ``y`` (..., N), ``w0`` (..., d). Chapter 2.
    """
    X, y, N, d = _context(X, y)
    w0 = as_tensor(w0, "w0", dtype=X.dtype)
    check_shape(w0, "w0", (d,))
    batch = broadcast_batch({"X": X.shape, "y": y.shape, "w0": w0.shape}, {"X": 2, "y": 1, "w0": 1})
    one = torch.ones(1, dtype=X.dtype)
    return assemble(param_layout(d), {"x": X, "y": y.unsqueeze(-1)}, {"one": one, "w": w0}, X.dtype, tuple(batch))


def param_readout(H) -> torch.Tensor:
    """The parameter ``w`` (..., d) stored in the last d rows of the query column of ``H`` (..., 2d+2, N+1).
    Chapter 2."""
    H = as_tensor(H, "H")
    check_shape(H, "H", (None, None))
    D = H.shape[-2]
    if D % 2 or D < 4:
        raise ValueError(f"H must have shape (..., 2d+2, N+1) with d >= 1; got {tuple(H.shape)}")
    return H[..., param_layout(D // 2 - 1).rows("w"), -1]


def gd_param_blocks(Gamma) -> dict:
    """The parameter-layout GD layer as a block table on :func:`param_layout` (chapter 2):
    ``P[x, w] = -I``, ``P[y, one] = 1``, ``V[w, x] = Gamma`` (a d x d matrix: torch, numpy or sympy)."""
    Gamma = _check_gamma_matrix(Gamma)
    return {("P", "x", "w"): -1, ("P", "y", "one"): 1, ("V", "w", "x"): Gamma}


def gd_param_construction(d: int, eta=1.0, dtype: torch.dtype = torch.float64
                          ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(P, V)`` (each (2d+2, 2d+2)) with which one [LL26] layer on :func:`param_prompt` outputs ``w_1``.

    ``P[data, param]`` with rows ``(x, y)`` and columns ``(1, w)`` is ``[[0, -I_d], [1, 0]]``, so
    ``h_i^T P h_q = y_i - w_0^T x_i`` (the negative residual); ``V[w rows, x cols] = Gamma`` (``eta I_d``
    or a (d, d) matrix), so ``V h_i = (0; 0; 0; Gamma x_i)``. The query's ``w`` rows then hold
    ``w_0 + (1/N) Gamma sum_i (y_i - w_0^T x_i) x_i = w_0 - Gamma grad L(w_0)``. Chapter 2 (a bridge to the
    SARSA construction of chapter 4, which is this one with ``y`` replaced by the TD target).
    """
    d = check_int(d, "d")
    G = step_matrix(eta, d, dtype)
    return render_blocks(param_layout(d), gd_param_blocks(G), dtype)
