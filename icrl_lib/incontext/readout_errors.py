"""Readout checks of chapter 2's regression constructions: the mask gap and a nonzero start ``w_0``.

Prompts ``Z`` have shape ``(..., d+1, N+1)`` (layout :func:`~icrl_lib.incontext.regression.regression_layout`),
weights ``P, V`` shape ``(d+1, d+1)``; the readout is the query's label slot ``Z[..., d, N]``.

- :func:`mask_readout_gap`: ``max |readout(LSA(Z)) - readout(LSA^mask(Z))|`` over the batch, the quantity of
  the mask lemma (chapter 2, "Masks"), which is ``(1/N) (V z_q)_y z_q^T P z_q`` per prompt.
- :func:`w0_start_error`: the exercise "a nonzero start ``w_0`` kept in the weights": the query's label slot
  starts at ``w_0^T x_q``, a construction ``(P, V) = construction(w0, eta)`` should write the prediction of one
  gradient step from ``w_0``; returns the largest error over the tasks.
"""
from __future__ import annotations

from .._validation import as_tensor, check_bool, check_positive, check_shape
from ..attention import linear_self_attention
from .regression import gd_step_prediction, regression_prompt, regression_readout

__all__ = ["mask_readout_gap", "w0_start_error"]


def mask_readout_gap(Z, P, V) -> float:
    """``max |readout(LSA_{P,V}(Z)) - readout(LSA^mask_{P,V}(Z))|`` over the prompts ``Z`` (..., d+1, N+1);
    chapter 2 (the mask lemma)."""
    Z = as_tensor(Z, "Z")
    check_shape(Z, "Z", (None, None))
    a = regression_readout(linear_self_attention(Z, P, V, mask=False))
    b = regression_readout(linear_self_attention(Z, P, V, mask=True))
    return float((a - b).abs().max())


def w0_start_error(construction, X, y, x_query, w0, eta, mask: bool = True) -> float:
    """Largest error of a one-layer construction that starts gradient descent at ``w0`` (chapter 2 exercise).

    Args:
        construction: ``construction(w0, eta) -> (P, V)``, each ``(d+1, d+1)``.
        X: ``(B, N, d)`` context inputs, ``y`` ``(B, N)`` labels, ``x_query`` ``(B, d)`` (a task batch).
        w0: ``(d,)`` the start; the query's label slot is set to ``w0^T x_q``.
        eta: the step size (> 0); mask: the [W25] mask on the query column.

    Returns ``max |readout - (w_1^T x_q)|`` with ``w_1 = w_0 - eta grad L(w_0)``.
    """
    if not callable(construction):
        raise ValueError(f"construction must be a callable (w0, eta) -> (P, V); got {type(construction).__name__}")
    eta = check_positive(eta, "eta")
    mask = check_bool(mask, "mask")
    Z = regression_prompt(X, y, x_query)
    d = Z.shape[-2] - 1
    w0 = as_tensor(w0, "w0", dtype=Z.dtype)
    check_shape(w0, "w0", (d,), batch=False)
    Z[..., -1, -1] = Z[..., :-1, -1] @ w0  # the query's label slot starts at w_0^T x_q
    P, V = construction(w0, eta)
    pred = regression_readout(linear_self_attention(Z, P, V, mask=mask))
    return float((pred - gd_step_prediction(X, y, x_query, eta, w0=w0)).abs().max())
