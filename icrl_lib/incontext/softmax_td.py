"""In-context weighted softmax TD ([X26]): prompt, readout, construction and the constructed forward pass
(chapter 8).

The prompt has one column per trajectory state ``S_0..S_n`` (the last, ``S_n``, is the query) and rows

    x(S_j)        d rows            features
    x(S_{j+1})    d rows, optional  next-state features (only the two-head form reads them; 0 in the query)
    R_{j+1}       1 row             reward earned on leaving S_j (0 in the query)
    tgt_j         1 row             target memory, gamma v(S_{j+1}) (0 at the start)
    cur_j         1 row             current memory, v(S_j) (0 at the start)

The construction (ours, checked exactly in chapter 8): ``A = diag(I_d, 0)`` so the logit of source ``i`` for
destination ``j`` is ``<x(S_i), x(S_j)>``; with ``u = e_R + e_tgt - e_cur`` every source carries
``u^T z_i = delta_{i+1}``; head 1 (``V_1 = alpha e_cur u^T``) adds ``alpha sum_i K(S_i, S_j) delta_{i+1}`` to
``cur_j``. The target memory is then refreshed either by the fixed shift step ``tgt_j <- gamma cur_{j+1}``
(form ``"shift"``) or by a second head whose logits use the next-state rows (form ``"two-heads"``).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch

from .._validation import (as_tensor, broadcast_batch, check_finite_result, check_gamma, check_int, check_memory,
                           check_real, check_shape)
from ..attention.softmax import SoftmaxTransformer
from .layout import check_float_dtype

__all__ = ["SoftmaxTDConstruction", "softmax_td_rows", "softmax_td_prompt", "softmax_td_readout",
           "softmax_td_construction", "softmax_td_forward"]

FORMS = ("shift", "two-heads")


class SoftmaxTDConstruction(NamedTuple):
    """The constructed heads ``[(A, V), ...]`` (each D x D) and the shift step ``(from_row, to_row, gamma)`` or None
    (chapter 8)."""

    heads: list
    shift: tuple | None


def _check_form(form: str) -> str:
    if not isinstance(form, str) or form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}; got {form!r}")
    return form


def softmax_td_rows(d: int, form: str = "shift") -> dict:
    """Row indices of the prompt blocks for feature dimension ``d`` (chapter 8).

    Returns ``{"x": slice, "x_next": slice or None, "R": int, "tgt": int, "cur": int, "D": int}``; the
    ``"two-heads"`` form has the ``d`` next-state rows, ``D = 2d + 3``; the ``"shift"`` form ``D = d + 3``.
    """
    d = check_int(d, "d")
    two = _check_form(form) == "two-heads"
    D = 2 * d + 3 if two else d + 3
    return {"x": slice(0, d), "x_next": slice(d, 2 * d) if two else None, "R": D - 3, "tgt": D - 2, "cur": D - 1,
            "D": D}


def softmax_td_prompt(features, rewards, gamma=None, v0=None, form: str = "shift") -> torch.Tensor:
    """The [X26] prompt ``Z`` (..., D, n+1) of a trajectory (chapter 8).

    Args:
        features: (..., n+1, d), ``x(S_0..S_n)``; rewards: (..., n), ``R_1..R_n``.
        gamma: needed only with ``v0`` (the target memory starts at ``gamma v0(S_{j+1})``).
        v0: optional initial values of the columns (..., n+1); memories are 0 if omitted.
        form: ``"shift"`` (``D = d + 3``, chapter 8, section 1) or ``"two-heads"`` (adds the ``d`` next-state rows).

    Batch dimensions of ``features``, ``rewards`` and ``v0`` broadcast.
    """
    x = as_tensor(features, "features")
    check_shape(x, "features", (None, None))
    r = as_tensor(rewards, "rewards", dtype=x.dtype)
    check_shape(r, "rewards", (None,))
    n, d = x.shape[-2] - 1, x.shape[-1]
    if n < 1 or r.shape[-1] != n:
        raise ValueError(f"rewards must have shape (..., n) with n + 1 = {x.shape[-2]} feature rows (n >= 1); "
                         f"got {tuple(r.shape)}")
    rows = softmax_td_rows(d, form)
    shapes, trailing = {"features": x.shape, "rewards": r.shape}, {"features": 2, "rewards": 1}
    if v0 is not None:
        if gamma is None:
            raise ValueError("gamma must be given together with v0")
        g = check_gamma(gamma)
        v = as_tensor(v0, "v0", dtype=x.dtype)
        check_shape(v, "v0", (n + 1,))
        shapes["v0"], trailing["v0"] = v.shape, 1
    batch = broadcast_batch(shapes, trailing)
    Z = torch.zeros(*batch, rows["D"], n + 1, dtype=x.dtype)
    Z[..., rows["x"], :] = x.transpose(-1, -2)
    if rows["x_next"] is not None:
        Z[..., rows["x_next"], :-1] = x[..., 1:, :].transpose(-1, -2)
    Z[..., rows["R"], :-1] = r
    if v0 is not None:
        Z[..., rows["cur"], :] = v
        Z[..., rows["tgt"], :-1] = g * v[..., 1:]
    return Z


def softmax_td_readout(Z) -> torch.Tensor:
    """The current-memory row (the last row) of a prompt (..., D, n+1): the values (..., n+1) of ``S_0..S_n``.

    The query's value estimate is the last entry (chapter 8).
    """
    Z = as_tensor(Z, "Z")
    check_shape(Z, "Z", (None, None))
    if Z.shape[-2] < 4:
        raise ValueError(f"Z must have at least d + 3 >= 4 rows; got shape {tuple(Z.shape)}")
    return Z[..., -1, :]


def softmax_td_construction(d: int, gamma, alpha, form: str = "shift",
                            dtype: torch.dtype = torch.float64) -> SoftmaxTDConstruction:
    """Our parameter choice under which each layer is one iteration of weighted softmax TD (chapter 8).

    ``A_1 = diag(I_d, 0)``, ``V_1 = alpha e_cur u^T`` with ``u = e_R + e_tgt - e_cur`` (all D x D). Form
    ``"shift"``: one head and the shift step ``(cur, tgt, gamma)``. Form ``"two-heads"``: a second head with
    ``A_2`` = identity block from the source's feature rows to the destination's next-state rows and
    ``V_2 = gamma alpha e_tgt u^T``, no shift.
    """
    g = check_gamma(gamma)
    a = check_real(alpha, "alpha")
    check_float_dtype(dtype)
    rows = softmax_td_rows(d, form)
    D = rows["D"]
    u = torch.zeros(D, dtype=dtype)
    u[rows["R"]], u[rows["tgt"]], u[rows["cur"]] = 1.0, 1.0, -1.0
    A1 = torch.zeros(D, D, dtype=dtype)
    A1[rows["x"], rows["x"]] = torch.eye(d, dtype=dtype)
    V1 = torch.zeros(D, D, dtype=dtype)
    V1[rows["cur"]] = a * u
    if form == "shift":
        return SoftmaxTDConstruction([(A1, V1)], (rows["cur"], rows["tgt"], g))
    A2 = torch.zeros(D, D, dtype=dtype)
    A2[rows["x"], rows["x_next"]] = torch.eye(d, dtype=dtype)
    V2 = torch.zeros(D, D, dtype=dtype)
    V2[rows["tgt"]] = g * a * u
    return SoftmaxTDConstruction([(A1, V1), (A2, V2)], None)


def softmax_td_forward(Z, n_layers: int, gamma, alpha, form: str = "shift", return_all: bool = False
                       ) -> torch.Tensor:
    """The constructed transformer: ``n_layers`` layers of :func:`softmax_td_construction` applied to ``Z`` (chapter 8).

    ``Z`` (..., D, n+1) from :func:`softmax_td_prompt` with the same ``form``. Returns ``Z_L`` (..., D, n+1), or
    with ``return_all`` every ``Z_l`` stacked (..., L+1, D, n+1). Its readout after ``l`` layers equals
    ``weighted_softmax_td(...)[..., l, :]``.

    Memory: each layer forms the ``n x (n+1)`` attention logits of every prompt, ``O(n^2)`` per prompt;
    a call that would need more than ``icrl_lib._validation.MAX_INTERMEDIATE_BYTES`` for them is refused.
    A step that overflows or diverges (large ``alpha`` or features, many layers) raises instead of returning NaN.
    """
    Z = as_tensor(Z, "Z")
    check_shape(Z, "Z", (None, None))
    L = check_int(n_layers, "n_layers")
    if not isinstance(return_all, bool):
        raise ValueError(f"return_all must be a bool; got {return_all!r}")
    D = Z.shape[-2]
    _check_form(form)
    d = D - 3 if form == "shift" else (D - 3) // 2
    if d < 1 or softmax_td_rows(d, form)["D"] != D or Z.shape[-1] < 2:
        raise ValueError(f"Z must have shape (..., D, n+1) with D = d + 3 ('shift') or 2d + 3 ('two-heads') and "
                         f"n >= 1; got {tuple(Z.shape)} for form {form!r}")
    con = softmax_td_construction(d, gamma, alpha, form, dtype=Z.dtype)
    n = Z.shape[-1] - 1
    check_memory(math.prod(Z.shape[:-2]) * n * (n + 1), Z.dtype, "the n x (n+1) attention logits of one layer", "Z")
    model = SoftmaxTransformer.from_heads(con.heads, L, shift=con.shift, dtype=Z.dtype)
    change = "reduce alpha or n_layers, or scale down the features (and rewards) in Z"
    with torch.no_grad():
        try:
            out = model(Z, return_all=return_all)
        except ValueError as exc:   # the transformer's own overflow check: say which inputs of ours to change
            raise ValueError(f"the softmax TD forward pass is not finite (overflow or divergence); {change}") from exc
    return check_finite_result(out, "the softmax TD forward pass", change)
