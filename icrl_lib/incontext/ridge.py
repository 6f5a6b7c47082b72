"""Ridge regression by gradient descent inside ReLU attention ([LBM24]; exact realisation ours), chapter 10.

Tokens are the columns of ``H`` (..., D, N); column ``i`` (1-based, ``i = 1..N``) is a data token
``(a_i, r_i)`` and every column carries its own copy of the estimate ``w``. The [LBM24] causal layer averages
over the ``i`` tokens a column may see (``relu_attention``), so after ``l`` layers column ``i`` holds the
``l``-th gradient-descent iterate on *its own prefix* loss

    l_i(w) = (1/2i) sum_{j<=i} (<a_j, w> - r_j)^2 + (lambda/2) |w|^2            (penalty="constant")
    l_i(w) = (1/2i) [sum_{j<=i} (<a_j, w> - r_j)^2 + lambda |w|^2]             (penalty="scaled")

and the last column holds the iterate on the whole context (``n = N`` tokens: the ridge loss of chapter 10, section 1,
for ``"constant"``). The ``"scaled"`` penalty has the LinUCB minimiser ``A_i^{-1} sum_j a_j r_j`` with
``A_i = lambda I + sum_{j<=i} a_j a_j^T`` in every column (used by :mod:`icrl_lib.incontext.linucb`).

Rows of a token (:func:`ridge_layout`): ``a`` (d), ``r`` (1), ``pos`` (3: ``1, i, i^2``), ``q`` (m x d query
vectors, for example the arms of a bandit), ``w`` (d), optionally ``w_prev`` (d, Nesterov), ``x`` (m x d,
iterates of the solves ``H x_k = q_k``) and ``x_prev``. Heads of one layer (ours):

- two *data* heads with query ``(y_i, 1)`` and key ``(a_j, -r_j)`` and opposite signs, so that
  ``ReLU(s) - ReLU(-s) = s`` gives the signed residual ``<a_j, y_i> - r_j``; their value ``-/+ eta a_j``
  written into the ``w`` rows turns the 1/i-average into ``-eta`` times the data gradient at ``y_i``
  (``y = w`` for plain GD, ``y = (1 + beta) w - beta w_prev`` for Nesterov);
- two heads per solve ``k`` with query ``x_k`` and key ``a_j`` (the gradient of ``(1/2i) sum_j <a_j, x>^2``);
- a *local* head gated by the positional rows: its score ``i (1 - i + j)`` is ``i`` on the current token
  and ``<= 0`` on every earlier one, so after the 1/i-average it applies a token-local linear map exactly
  (the ``lambda`` term of the ``"constant"`` penalty, the momentum of Nesterov, the targets ``q_k``);
- with the ``"scaled"`` penalty a second local head with score ``1 - i + j`` (weight ``1/i``) applies
  ``-(eta lambda / i) y`` and ``+(eta / i) q_k``.
"""
from __future__ import annotations

from math import prod
from typing import NamedTuple

import torch

from .._validation import (
    as_tensor, broadcast_batch, check_bool, check_finite_result, check_float_dtype, check_int, check_memory,
    check_pairs, check_positive, check_real, check_shape)
from ..attention.relu import causal_average_weights
from .layout import PromptLayout

__all__ = ["ridge_layout", "ridge_prompt", "ridge_gd_construction", "ridge_nesterov_construction", "ridge_forward",
           "ridge_readout", "ridge_query_solutions", "ridge_gd_steps", "ridge_solution", "RidgeLayer",
           "PENALTIES"]

PENALTIES = ("constant", "scaled")


class RidgeLayer(NamedTuple):
    """One ReLU-attention layer ``(Q, K, V)``, each (M, D, D) (chapter 10)."""

    Q: torch.Tensor
    K: torch.Tensor
    V: torch.Tensor


def ridge_layout(d: int, n_queries: int = 1, solve_queries: bool = False, nesterov: bool = False,
                 extra: tuple = ()) -> PromptLayout:
    """Row blocks of the ridge prompt (chapter 10).

    ``(a: d, r: 1, pos: 3 | q: n_queries*d, w: d [, w_prev: d] [, x: n_queries*d [, x_prev: n_queries*d]]
    [, extra...])``; ``pos`` holds ``(1, i, i^2)`` for the column ``i``. ``extra`` is a tuple of
    ``(name, size)`` blocks appended at the end (the LinUCB pipeline's score rows).
    """
    d = check_int(d, "d")
    m = check_int(n_queries, "n_queries", minimum=0)
    solve_queries = check_bool(solve_queries, "solve_queries")
    nesterov = check_bool(nesterov, "nesterov")
    if solve_queries and m == 0:
        raise ValueError("solve_queries needs n_queries >= 1")
    if not isinstance(extra, (tuple, list)) or not all(
            isinstance(b, (tuple, list)) and len(b) == 2 and isinstance(b[0], str) for b in extra):
        raise ValueError(f"extra must be a tuple of (name, size) blocks; got {extra!r}")
    blocks = [("a", d), ("r", 1), ("pos", 3)]
    if m:
        blocks.append(("q", m * d))
    blocks.append(("w", d))
    if nesterov:
        blocks.append(("w_prev", d))
    if solve_queries:
        blocks.append(("x", m * d))
        if nesterov:
            blocks.append(("x_prev", m * d))
    for name, size in extra:
        blocks.append((name, check_int(size, f"extra[{name!r}]")))
    return PromptLayout(tuple(blocks), 3)


def check_ridge_layout(layout, name: str = "layout", needs: tuple = ()) -> PromptLayout:
    """A :func:`ridge_layout` (a ``PromptLayout`` with the blocks ``a, r, pos, w`` and ``needs``); ``ValueError``
    naming ``name`` otherwise."""
    if not isinstance(layout, PromptLayout):
        raise ValueError(f"{name} must be a PromptLayout from ridge_layout; got {type(layout).__name__}")
    missing = [b for b in ("a", "r", "pos", "w") + tuple(needs) if b not in layout.names]
    if missing:
        raise ValueError(f"{name} must be a ridge layout (ridge_layout) with blocks {missing}; got blocks "
                         f"{list(layout.names)}")
    return layout


def _queries_of(layout: PromptLayout, d: int) -> int:
    return layout.size("q") // d if "q" in layout.names else 0


def _layout_d(layout: PromptLayout) -> int:
    return layout.size("a")


def ridge_prompt(X, y, x_query=None, layout: PromptLayout | None = None, start_token: bool = False) -> torch.Tensor:
    """The ridge prompt ``H`` (..., D, N) of a regression context (chapter 10).

    Args:
        X: (..., n, d) inputs ``a_1..a_n`` (one row per token); y: (..., n) targets ``r_1..r_n``.
        x_query: (..., d) one query vector, or (..., m, d) for a layout with ``m > 1`` queries, or None;
            written into the ``q`` rows of every column (a fixed arm set is the same in every token).
        layout: from :func:`ridge_layout`; default ``ridge_layout(d)`` (one query, plain GD).
        start_token: prepend a column with no data (``a = 0, r = 0``; the empty prefix of a bandit), so
            ``N = n + 1``; otherwise ``N = n``.
    Column ``i`` gets ``pos = (1, i, i^2)``; the ``w``, ``w_prev``, ``x`` rows start at 0.
    """
    X = as_tensor(X, "X")
    start_token = check_bool(start_token, "start_token")
    if X.dim() < 2 or X.shape[-1] < 1 or (X.shape[-2] < 1 and not start_token):
        raise ValueError(f"X must have shape (..., n, d) with n >= 1 (n >= 0 with a start token); "
                         f"got {tuple(X.shape)}")
    n, d = X.shape[-2:]
    y = as_tensor(y, "y", dtype=X.dtype)
    if y.dim() < 1 or y.shape[-1] != n:
        raise ValueError(f"y must have shape (..., {n}); got {tuple(y.shape)}")
    layout = ridge_layout(d) if layout is None else check_ridge_layout(layout)
    if _layout_d(layout) != d:
        raise ValueError(f"X must have d = {_layout_d(layout)} columns for this layout; got {d}")
    m = _queries_of(layout, d)
    shapes, trailing = {"X": X.shape, "y": y.shape}, {"X": 2, "y": 1}
    if x_query is not None:
        if m == 0:
            raise ValueError("x_query must be None for a layout without query rows")
        xq = as_tensor(x_query, "x_query", dtype=X.dtype)
        if m == 1:
            check_shape(xq, "x_query", (d,))
            xq = xq.unsqueeze(-2)
        else:
            check_shape(xq, "x_query", (m, d))
        shapes["x_query"], trailing["x_query"] = xq.shape, 2
    batch = tuple(broadcast_batch(shapes, trailing))
    N = n + int(bool(start_token))
    H = torch.zeros(batch + (layout.dim, N), dtype=X.dtype)
    off = N - n
    H[..., layout.rows("a"), off:] = X.transpose(-1, -2)
    H[..., layout.rows("r").start, off:] = y
    i = torch.arange(1, N + 1, dtype=X.dtype)
    p = layout.rows("pos").start
    H[..., p, :], H[..., p + 1, :], H[..., p + 2, :] = 1.0, i, i * i
    if x_query is not None:
        H[..., layout.rows("q"), :] = xq.reshape(xq.shape[:-2] + (m * d, 1))
    return H


def _check_penalty(penalty: str) -> str:
    if penalty not in PENALTIES:
        raise ValueError(f"penalty must be one of {PENALTIES}; got {penalty!r}")
    return penalty


def ridge_gd_construction(d: int, eta, lam, n_layers: int, layout: PromptLayout | None = None,
                          penalty: str = "constant", momentum=None, dtype: torch.dtype = torch.float64) -> list:
    """``n_layers`` identical ReLU-attention layers, each one gradient step on the ridge loss (chapter 10).

    Column ``i``'s ``w`` rows go from ``w_l`` to ``w_{l+1} = w_l - eta grad l_i(w_l)`` (module docstring), and
    with a layout that solves its queries the ``x_k`` rows take one step on ``(1/2) x^T H_i x - b_k^T x`` with
    the Hessian ``H_i`` of ``l_i`` and ``b_k = q_k`` (``"constant"``) or ``q_k / i`` (``"scaled"``, fixed point
    ``A_i^{-1} q_k``). With ``momentum=beta`` in [0, 1) (a layout with ``nesterov=True``) the step is Nesterov's:
    ``y = (1 + beta) w - beta w_prev``, ``w_prev <- w``, ``w <- y - eta grad l_i(y)``. ``eta > 0``, ``lam >= 0``.

    Memory: ``3 M D^2`` entries (quadratic in the token dimension ``D``), refused above
    ``MAX_INTERMEDIATE_BYTES``.

    Returns a list of ``n_layers`` times the same :class:`RidgeLayer` ``(Q, K, V)``, each (M, D, D) with
    ``M = 3 + 2m`` heads (``m`` solved queries; 3 for plain ridge GD), one more for Nesterov with the
    ``"scaled"`` penalty (both local heads are then needed).
    """
    d = check_int(d, "d")
    eta = check_positive(eta, "eta")
    lam = check_real(lam, "lam")
    if lam < 0:
        raise ValueError(f"lam must be >= 0; got {lam}")
    L = check_int(n_layers, "n_layers")
    _check_penalty(penalty)
    beta = 0.0 if momentum is None else check_momentum(momentum)
    dtype = check_float_dtype(dtype)
    layout = ridge_layout(d, nesterov=momentum is not None) if layout is None else check_ridge_layout(layout)
    if _layout_d(layout) != d:
        raise ValueError(f"layout must have d = {d} data rows; got {_layout_d(layout)}")
    nesterov = "w_prev" in layout.names
    if (momentum is not None) != nesterov:
        raise ValueError("momentum must be given exactly when the layout has w_prev rows (nesterov=True)")
    D = layout.dim
    m = _queries_of(layout, d)
    solve = "x" in layout.names
    n_heads = 4 + 2 * m * solve          # two data heads per solve, at most two local heads
    check_memory(3 * n_heads * D * D, dtype, f"the {n_heads} heads of ({D}, {D}) matrices",
                 "layout (d and n_queries)")
    R = layout.rows
    p = R("pos").start
    ONE, I, I2 = p, p + 1, p + 2
    r = R("r").start
    a = R("a")
    eye = torch.eye(d, dtype=dtype)

    def zeros():
        return torch.zeros(D, D, dtype=dtype)

    heads = []

    def data_heads(cur: slice, prev: slice | None, use_r: bool):
        # query y = (1 + beta) cur - beta prev (into the a-slot) [and 1 into the r-slot]; key (a_j, -r_j)
        for sign in (1.0, -1.0):
            Q, K, V = zeros(), zeros(), zeros()
            Q[a, cur] = sign * (1.0 + beta) * eye
            if prev is not None:
                Q[a, prev] = -sign * beta * eye
            K[a, a] = eye
            if use_r:
                Q[r, ONE] = sign
                K[r, r] = -1.0
            V[cur, a] = -sign * eta * eye
            heads.append((Q, K, V))

    wp = R("w_prev") if nesterov else None
    data_heads(R("w"), wp, True)
    xs = []
    if solve:
        for k in range(m):
            cur = slice(R("x").start + k * d, R("x").start + (k + 1) * d)
            prev = slice(R("x_prev").start + k * d, R("x_prev").start + (k + 1) * d) if nesterov else None
            qk = slice(R("q").start + k * d, R("q").start + (k + 1) * d)
            data_heads(cur, prev, False)
            xs.append((cur, prev, qk))

    # the token-local maps: weight 1 (score i(1 - i + j)) and weight 1/i (score 1 - i + j)
    local, scaled = zeros(), zeros()
    pen = local if penalty == "constant" else scaled
    for cur, prev, qk in [(R("w"), wp, None)] + xs:
        if prev is not None:      # momentum: cur += beta (cur - prev); prev <- cur
            local[cur, cur] += beta * eye
            local[cur, prev] += -beta * eye
            local[prev, cur] += eye
            local[prev, prev] += -eye
        pen[cur, cur] += -eta * lam * (1.0 + beta) * eye
        if prev is not None:
            pen[cur, prev] += eta * lam * beta * eye
        if qk is not None:
            pen[cur, qk] += eta * eye
    if bool(local.abs().sum() > 0):
        Q, K = zeros(), zeros()
        Q[ONE, I], Q[ONE, I2], Q[I, I] = 1.0, -1.0, 1.0       # query (i - i^2, i); key (1, j)
        K[ONE, ONE], K[I, I] = 1.0, 1.0
        heads.append((Q, K, local))
    if bool(scaled.abs().sum() > 0):
        Q, K = zeros(), zeros()
        Q[ONE, ONE], Q[ONE, I], Q[I, ONE] = 1.0, -1.0, 1.0    # query (1 - i, 1); key (1, j)
        K[ONE, ONE], K[I, I] = 1.0, 1.0
        heads.append((Q, K, scaled))
    layer = RidgeLayer(*(torch.stack(t) for t in zip(*heads)))
    return [layer] * L


def check_momentum(momentum) -> float:
    """Nesterov's momentum ``beta`` in [0, 1) (1 or more makes the iteration diverge)."""
    beta = check_real(momentum, "momentum")
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"momentum must be in [0, 1); got {beta}")
    return beta


def ridge_nesterov_construction(d: int, eta, lam, n_layers: int, momentum, layout: PromptLayout | None = None,
                                penalty: str = "constant", dtype: torch.dtype = torch.float64) -> list:
    """The accelerated (Nesterov) variant of :func:`ridge_gd_construction` (chapter 10): the same three heads
    with the query at the look-ahead point ``y = (1 + beta) w - beta w_prev`` and the momentum in the local
    head; the layout must have ``nesterov=True`` (default ``ridge_layout(d, nesterov=True)``). For a
    ``mu``-strongly convex, ``L``-smooth loss, ``eta = 1/L`` and ``beta = (sqrt(kappa) - 1)/(sqrt(kappa) + 1)``
    need about ``sqrt(kappa)`` layers per digit instead of ``kappa``."""
    d = check_int(d, "d")
    check_momentum(momentum)
    layout = ridge_layout(d, nesterov=True) if layout is None else check_ridge_layout(layout)
    if "w_prev" not in layout.names:
        raise ValueError("momentum needs a layout with w_prev rows: layout must be ridge_layout(..., nesterov=True)")
    return ridge_gd_construction(d, eta, lam, n_layers, layout=layout, penalty=penalty, momentum=momentum,
                                 dtype=dtype)


def _nonzero(mask: torch.Tensor) -> torch.Tensor:
    return torch.nonzero(mask).flatten()


def _compress(layer) -> tuple:
    """The nonzero rows and columns of a layer's matrices (the same layer, evaluated without its zero blocks)."""
    Q, K, V = layer
    slot = _nonzero((Q != 0).any(-1).any(0) | (K != 0).any(-1).any(0))
    qc, kc = _nonzero((Q != 0).any(-2).any(0)), _nonzero((K != 0).any(-2).any(0))
    vr, vc = _nonzero((V != 0).any(-1).any(0)), _nonzero((V != 0).any(-2).any(0))
    return (Q[:, slot][:, :, qc], K[:, slot][:, :, kc], V[:, vr][:, :, vc], qc, kc, vr, vc)


def _apply_compressed(H: torch.Tensor, comp: tuple) -> torch.Tensor:
    Qc, Kc, Vc, qc, kc, vr, vc = comp
    qH = Qc.to(H.dtype) @ H[..., qc, :].unsqueeze(-3)                 # (..., M, s, N)
    kH = Kc.to(H.dtype) @ H[..., kc, :].unsqueeze(-3)
    weights = torch.relu(kH.transpose(-1, -2) @ qH) * causal_average_weights(H.shape[-1], True, H.dtype)
    HW = H[..., vc, :].unsqueeze(-3) @ weights                         # (..., M, c, N)
    M, rv, cv = Vc.shape
    upd = Vc.to(H.dtype).permute(1, 0, 2).reshape(rv, M * cv) @ HW.reshape(HW.shape[:-3] + (M * cv, HW.shape[-1]))
    out = H.clone()
    out[..., vr, :] += upd
    return out


def ridge_forward(H, layers, return_all: bool = False) -> torch.Tensor:
    """Apply ReLU-attention layers (for example :func:`ridge_gd_construction`; causal, no MLP) to ``H`` (chapter 10).

    ``H`` (..., D, N); ``layers`` a non-empty list of ``(Q, K, V)`` (M, D, D) (tensors or arrays, each layer
    checked once). Each layer is ``relu_attention(H, Q, K, V)`` evaluated on the nonzero rows and columns of its
    matrices only (the same sums without their zero terms; the tests compare it with ``relu_attention``).
    Returns ``H_L`` (..., D, N), or with ``return_all`` every ``H_l`` stacked (..., L+1, D, N).

    Memory ``O(B M N^2)`` (the (N, N) score matrices of the ``M`` heads, B the batch size): refused with the size
    it would need above ``MAX_INTERMEDIATE_BYTES``. ``ValueError`` if the output overflows.
    """
    return forward_named(H, layers, return_all, "H")


def forward_named(H, layers, return_all: bool, name: str) -> torch.Tensor:
    """:func:`ridge_forward` with the prompt argument called ``name`` in error messages."""
    H = as_tensor(H, name)
    check_shape(H, name, (None, None))
    layers = check_pairs(layers, "layers", size=3, what="(Q, K, V) layer")
    return_all = check_bool(return_all, "return_all")
    D, N = H.shape[-2:]
    cache = {}
    for i, layer in enumerate(layers):
        key = tuple(id(t) for t in layer)
        if key in cache:
            continue
        mats = []
        for which, mat in zip("QKV", layer):
            mat = as_tensor(mat, f"layers[{i}].{which}", dtype=H.dtype)
            if mat.dim() != 3 or mat.shape[-2:] != (D, D) or mat.shape[0] < 1:
                raise ValueError(f"layers[{i}].{which} must have shape (M, {D}, {D}); got {tuple(mat.shape)}")
            mats.append(mat)
        if len({m.shape[0] for m in mats}) != 1:
            raise ValueError(f"layers[{i}]: Q, K and V must have the same number of heads; got "
                             f"{[m.shape[0] for m in mats]}")
        check_memory(prod(H.shape[:-2]) * mats[0].shape[0] * N * N, H.dtype,
                     f"the ({N}, {N}) score matrices of {mats[0].shape[0]} heads", name)
        cache[key] = _compress(mats)
    out = [H]
    for layer in layers:
        H = _apply_compressed(H, cache[tuple(id(t) for t in layer)])
        out.append(H)
    check_finite_result(H, "the output of the layers", f"{name} or the layers are too large: rescale {name}")
    return torch.stack(out, -3) if return_all else H


def ridge_readout(H, layout: PromptLayout | None = None, all_tokens: bool = False) -> torch.Tensor:
    """The estimate ``w`` of the last column (..., d), or of every column (..., N, d) (chapter 10).

    ``layout`` defaults to ``ridge_layout(d)`` with ``d = (D - 4) / 3``.
    """
    H = as_tensor(H, "H")
    check_shape(H, "H", (None, None))
    all_tokens = check_bool(all_tokens, "all_tokens")
    if layout is not None:
        check_ridge_layout(layout)
    else:
        D = H.shape[-2]
        if D < 7 or (D - 4) % 3:
            raise ValueError(f"H must have D = 3d + 4 rows for the default layout; got {D}")
        layout = ridge_layout((D - 4) // 3)
    if H.shape[-2] != layout.dim:
        raise ValueError(f"H must have {layout.dim} rows for this layout; got {H.shape[-2]}")
    w = H[..., layout.rows("w"), :].transpose(-1, -2)
    return w if all_tokens else w[..., -1, :]


def ridge_query_solutions(H, layout: PromptLayout, all_tokens: bool = False) -> torch.Tensor:
    """The iterates ``x_k`` of the solves (..., m, d) of the last column, or (..., N, m, d) (chapter 10)."""
    check_ridge_layout(layout)
    if "x" not in layout.names:
        raise ValueError("layout must have solve_queries=True")
    all_tokens = check_bool(all_tokens, "all_tokens")
    H = as_tensor(H, "H")
    check_shape(H, "H", (layout.dim, None))
    d = _layout_d(layout)
    x = H[..., layout.rows("x"), :].transpose(-1, -2)
    x = x.reshape(x.shape[:-1] + (x.shape[-1] // d, d))
    return x if all_tokens else x[..., -1, :, :]


def ridge_gd_steps(X, y, eta, lam, n_layers: int, momentum=None) -> torch.Tensor:
    """The explicit algorithm: ``w_0 = 0``, ``w_{l+1} = w_l - eta grad l(w_l)`` on
    ``l(w) = (1/2n) sum_j (<x_j, w> - y_j)^2 + (lam/2)|w|^2`` (Nesterov with ``momentum`` in [0, 1)), chapter 10.

    ``X`` (..., n, d), ``y`` (..., n), ``eta > 0``, ``lam >= 0``. Returns every iterate (..., L+1, d); a step size
    too large for the loss (divergence to inf/NaN) raises ``ValueError`` naming ``eta``.
    """
    X = as_tensor(X, "X")
    check_shape(X, "X", (None, None))
    n = X.shape[-2]
    y = as_tensor(y, "y", dtype=X.dtype)
    check_shape(y, "y", (n,))
    eta, lam = check_positive(eta, "eta"), check_real(lam, "lam")
    if lam < 0:
        raise ValueError(f"lam must be >= 0; got {lam}")
    beta = 0.0 if momentum is None else check_momentum(momentum)
    L = check_int(n_layers, "n_layers")
    batch = broadcast_batch({"X": X.shape, "y": y.shape}, {"X": 2, "y": 1})
    w = torch.zeros(batch + (X.shape[-1],), dtype=X.dtype)
    w_prev = w
    out = [w]
    for _ in range(L):
        z = (1.0 + beta) * w - beta * w_prev
        resid = (X @ z.unsqueeze(-1)).squeeze(-1) - y
        grad = (X.transpose(-1, -2) @ resid.unsqueeze(-1)).squeeze(-1) / n + lam * z
        w_prev, w = w, z - eta * grad
        out.append(w)
    return check_finite_result(torch.stack(out, -2), "the GD iterates",
                               "reduce eta (below 2 / lambda_max of X^T X / n + lam I) or n_layers")


def ridge_solution(X, y, lam) -> torch.Tensor:
    """The minimiser ``(X^T X / n + lam I)^{-1} X^T y / n`` of the ridge loss of :func:`ridge_gd_steps`
    (..., d), by a linear solve (chapter 10).

    ``X`` (..., n, d), ``y`` (..., n), ``lam >= 0`` (a negative ``lam`` makes the loss non-convex: its
    stationary point is a saddle, not a minimiser). With ``lam = 0`` the minimiser is unique only if ``X^T X``
    is invertible (``n >= d`` and independent columns): a singular problem raises ``ValueError`` asking for
    ``lam > 0`` rather than returning one of infinitely many minimisers.
    """
    X = as_tensor(X, "X")
    check_shape(X, "X", (None, None))
    n, d = X.shape[-2:]
    y = as_tensor(y, "y", dtype=X.dtype)
    check_shape(y, "y", (n,))
    lam = check_real(lam, "lam")
    if lam < 0:
        raise ValueError(f"lam must be >= 0 (a negative lam has no minimiser); got {lam}")
    broadcast_batch({"X": X.shape, "y": y.shape}, {"X": 2, "y": 1})
    if lam == 0 and n < d:
        raise ValueError(f"lam = 0 with n = {n} < d = {d} data points: X^T X is singular and the minimiser is "
                         f"not unique; use lam > 0")
    Hm = X.transpose(-1, -2) @ X / n + lam * torch.eye(d, dtype=X.dtype)
    b = (X.transpose(-1, -2) @ y.unsqueeze(-1)).squeeze(-1) / n
    try:
        w = torch.linalg.solve(Hm, b)
    except RuntimeError as exc:  # torch.linalg.LinAlgError: exactly singular
        raise ValueError(f"X^T X / n + lam I is singular (lam = {lam}, collinear columns of X); use lam > 0") from exc
    return check_finite_result(w, "the ridge solution", "X^T X / n + lam I is (nearly) singular: use lam > 0")
