"""The set of exact parameters of a block and how far a learned block is from it (chapters 4-6).

For the prompts of a :class:`~icrl_lib.incontext.PromptDistribution` the entries of ``(P, V)`` split into
roles (:func:`parameter_roles`). The query column has zeros in its data rows and the context columns have
zeros in their parameter rows, so the token second moment is block diagonal and

    readout = u[out] + (1/N) V[out, data] Ghat_dd P[data, param] u            (the *active* pair)
                     + (1/N) V[out, param] u (u^T P[param, param] u)           (the *query* pair; 0 if masked)

with ``u = h_q[param]``; every other entry is *inert* (zero gradient). Near the construction the zero set
of the loss on the active blocks is ``{(c P* + null, V*/c + null)}``: a scale ``c`` plus the one-hot null
directions (:func:`null_directions`), built from the registry entry's ``null_patterns``.
"""
from __future__ import annotations

import torch

from .._validation import as_tensor, check_finite_result, check_indices, check_memory, check_positive
from ..attention import lsa_unchecked
from .layout import PromptLayout, check_layout
from .tasks import PromptDistribution

__all__ = ["ROLES", "null_directions", "project_out", "recovery_metrics", "parameter_roles", "select_mask",
           "predicted_null_dimension", "aligned_active_blocks", "data_moments", "span_rank",
           "readout_jacobian"]

_F64 = torch.float64
ROLES = ("active", "query", "inert")


def _check_dist(dist) -> PromptDistribution:
    if not isinstance(dist, PromptDistribution):
        raise ValueError(f"dist must be a PromptDistribution; got {type(dist).__name__}")
    return dist


def _orthonormal(dirs: list) -> torch.Tensor:
    M = torch.stack([x.reshape(-1) for x in dirs])
    Q, _ = torch.linalg.qr(M.T)
    return Q.T.reshape((-1,) + dirs[0].shape)


def null_directions(dist: PromptDistribution) -> tuple[torch.Tensor, torch.Tensor]:
    """Orthonormal bases of the one-hot null directions of the active blocks (chapter 4's count).

    Returns ``(N_P, N_V)``: ``N_P`` (k_P, n_data, n_param) directions of ``P[data, param]`` and ``N_V``
    (k_V, n_out, n_data) directions of ``V[out, data]`` along which every readout is unchanged: ``p a^T`` and
    ``c p^T`` for each pattern ``p`` of ``dist.spec.null_patterns`` (for SARSA ``1^T phi_t = 1^T phi'_t = 1``;
    for the tabular softmax actor also: the entries of ``psi_t`` sum to zero within each state block).
    """
    dist = _check_dist(dist)
    L = dist.layout
    n_data, n_param = L.data.stop, L.dim - L.data.stop
    n_out = len(dist.output_rows)
    patterns = dist.spec.null_patterns(dist.n_states, dist.n_actions)
    eye_p, eye_o = torch.eye(n_param, dtype=_F64), torch.eye(n_out, dtype=_F64)
    dirs_P = [torch.outer(p, eye_p[j]) for p in patterns for j in range(n_param)]
    dirs_V = [torch.outer(eye_o[i], p) for p in patterns for i in range(n_out)]
    return _orthonormal(dirs_P), _orthonormal(dirs_V)


def project_out(X: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """``X`` minus its components along the orthonormal ``basis`` (k, *X.shape) with k >= 1 (chapter 6)."""
    X = as_tensor(X, "X")
    basis = as_tensor(basis, "basis", dtype=X.dtype)
    if basis.dim() != X.dim() + 1 or tuple(basis.shape[1:]) != tuple(X.shape) or basis.shape[0] < 1:
        raise ValueError(f"basis must have shape (k, *X.shape) = (k, {', '.join(map(str, X.shape))}) with k >= 1; "
                         f"got {tuple(basis.shape)}")
    flat = basis.reshape(basis.shape[0], -1)
    x = X.reshape(-1)
    return (x - flat.T @ (flat @ x)).reshape(X.shape)


def _active(P, V, dist):
    L = dist.layout
    rows = dist.output_rows
    return P[L.data, L.param], V[rows][:, L.data]


def recovery_metrics(P, V, dist: PromptDistribution) -> dict[str, float]:
    """How far a learned block ``(P, V)`` (each D x D) is from the set of exact parameters (chapter 6).

    Active blocks: ``P[data, param]`` and ``V[out, data]`` (``out`` = the rows read out); everything else
    is *inert* for these prompts. The scale ``c`` (the symmetry ``(cV, P/c)``) is aligned by least squares
    on ``V``'s active block, the one-hot null directions are projected out, and

        relative_error_P = ||Pi(c P_act - P*_act)|| / ||Pi P*_act||,
        relative_error_V = ||Pi(V_act / c - V*_act)|| / ||Pi V*_act||,

    with ``Pi`` the projection orthogonal to :func:`null_directions`. Also ``inert_norm`` (Frobenius norm of
    all entries outside the active blocks), ``balance`` = ``||V||^2 - ||P||^2`` and ``scale`` = c.
    """
    dist = _check_dist(dist)
    P = as_tensor(P, "P", dtype=_F64).detach()
    V = as_tensor(V, "V", dtype=_F64).detach()
    L = dist.layout
    if P.shape != (L.dim, L.dim) or V.shape != (L.dim, L.dim):
        raise ValueError(f"P and V must have shape ({L.dim}, {L.dim}); got {tuple(P.shape)} and {tuple(V.shape)}")
    Ps, Vs = dist.construction()
    P_act, V_act = _active(P, V, dist)
    Ps_act, Vs_act = _active(Ps, Vs, dist)
    N_P, N_V = null_directions(dist)
    # Only the components orthogonal to the null directions are identifiable, for P* and V* too.
    Ps_id, Vs_id = project_out(Ps_act, N_P), project_out(Vs_act, N_V)
    c = float((project_out(V_act, N_V) * Vs_id).sum() / (Vs_id ** 2).sum())
    c = c if abs(c) > 1e-12 else 1e-12
    err_P = project_out(c * P_act - Ps_act, N_P).norm() / Ps_id.norm()
    err_V = project_out(V_act / c - Vs_act, N_V).norm() / Vs_id.norm()
    active_P = torch.zeros_like(P, dtype=torch.bool)
    active_P[L.data, L.param] = True
    active_V = torch.zeros_like(V, dtype=torch.bool)
    active_V[dist.output_rows.unsqueeze(-1), torch.arange(L.data.stop)] = True
    inert = (P[~active_P] ** 2).sum() + (V[~active_V] ** 2).sum()
    out = {"relative_error_P": float(err_P), "relative_error_V": float(err_V),
           "inert_norm": float(inert.sqrt()), "balance": float((V ** 2).sum() - (P ** 2).sum()), "scale": c}
    check_finite_result(torch.tensor(list(out.values()), dtype=_F64), "the recovery metrics",
                        "P and V are too large (their squared norms overflow): rescale P and V")
    return out


def parameter_roles(dist: PromptDistribution) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Boolean masks ``(mask_P, mask_V)`` (each D x D) of the ``active``, ``query`` and ``inert`` entries
    (chapter 6; see the module docstring). The three roles partition the ``2 D^2`` entries. With ``mask=True``
    (query not a source) the query pair is inert too; the masks describe the unmasked layer.
    """
    dist = _check_dist(dist)
    L = dist.layout
    D = L.dim
    out = torch.zeros(D, dtype=torch.bool)
    out[dist.output_rows] = True
    is_data = torch.zeros(D, dtype=torch.bool)
    is_data[L.data] = True
    is_param = ~is_data
    active = (is_data[:, None] & is_param[None, :], out[:, None] & is_data[None, :])
    query = (is_param[:, None] & is_param[None, :], out[:, None] & is_param[None, :])
    inert = (~(active[0] | query[0]), ~(active[1] | query[1]))
    return {"active": active, "query": query, "inert": inert}


def select_mask(dist: PromptDistribution, entries="active") -> tuple[torch.Tensor, torch.Tensor]:
    """Masks ``(mask_P, mask_V)`` of the entries a Hessian or a fit is taken over (chapter 6).

    ``entries`` is a role name (``"active"``, ``"query"``, ``"inert"``), ``"trainable"`` (active and query:
    every entry whose gradient is not identically zero), ``"all"``, or a pair of boolean (D, D) masks.
    """
    roles = parameter_roles(dist)
    if isinstance(entries, str):
        if entries in roles:
            return roles[entries]
        if entries == "trainable":
            return roles["active"][0] | roles["query"][0], roles["active"][1] | roles["query"][1]
        if entries == "all":
            return torch.ones_like(roles["active"][0]), torch.ones_like(roles["active"][1])
        raise ValueError(f"entries must be one of {ROLES + ('trainable', 'all')} or a pair of masks; got {entries!r}")
    try:
        mP, mV = entries
    except (TypeError, ValueError):
        raise ValueError("entries must be a role name or a pair (mask_P, mask_V)") from None
    D = roles["active"][0].shape[0]
    mP, mV = torch.as_tensor(mP), torch.as_tensor(mV)
    if mP.shape != (D, D) or mV.shape != (D, D) or mP.dtype != torch.bool or mV.dtype != torch.bool:
        raise ValueError(f"entries masks must be boolean tensors of shape ({D}, {D})")
    return mP, mV


def predicted_null_dimension(dist: PromptDistribution, entries: str = "active") -> int:
    """Dimension of the zero set of the loss near the construction, counted by hand (chapters 4-6).

    On the active blocks of a rich prompt distribution: one scale ``c`` plus the one-hot null directions of
    :func:`null_directions` (for SARSA ``1 + (d + 1) + d``). ``"trainable"`` adds every query-pair entry (at
    the construction both factors of that pair are zero, so the Hessian vanishes there), ``"all"`` also the
    inert entries.
    """
    N_P, N_V = null_directions(dist)
    count = 1 + N_P.shape[0] + N_V.shape[0]
    if entries == "active":
        return count
    roles = parameter_roles(dist)
    n_query = int(roles["query"][0].sum() + roles["query"][1].sum())
    if entries == "trainable":
        return count + n_query
    if entries == "all":
        return count + n_query + int(roles["inert"][0].sum() + roles["inert"][1].sum())
    raise ValueError(f"entries must be 'active', 'trainable' or 'all'; got {entries!r}")


def aligned_active_blocks(P, V, dist: PromptDistribution) -> dict[str, torch.Tensor | float]:
    """The active blocks of a learned ``(P, V)`` next to the construction's, for heatmaps (chapter 6).

    The scale ``c`` of :func:`recovery_metrics` is undone (``c P_act`` and ``V_act / c``), and the ``*_id``
    entries are the identifiable parts: the components orthogonal to :func:`null_directions`. Keys:
    ``scale``, ``P_act``, ``V_act``, ``P_id``, ``V_id``, ``P_star``, ``V_star``, ``P_star_id``, ``V_star_id``;
    the relative errors of ``recovery_metrics`` are ``||P_id - P_star_id|| / ||P_star_id||`` and the same for V.
    """
    P = as_tensor(P, "P", dtype=_F64)
    V = as_tensor(V, "V", dtype=_F64)
    c = recovery_metrics(P, V, dist)["scale"]
    P_act, V_act = _active(P, V, dist)
    Ps_act, Vs_act = _active(*dist.construction(), dist)
    N_P, N_V = null_directions(dist)
    out = {"scale": c, "P_act": c * P_act, "V_act": V_act / c, "P_star": Ps_act, "V_star": Vs_act}
    for k, basis in (("P", N_P), ("V", N_V)):
        out[f"{k}_id"] = project_out(out[f"{k}_act"], basis)
        out[f"{k}_star_id"] = project_out(out[f"{k}_star"], basis)
    return out


def data_moments(H, layout: PromptLayout) -> torch.Tensor:
    """The data block of the token second moment, ``Ghat_data = (1/N) sum_t z_t z_t^T`` (chapter 4).

    ``H`` (..., D, N+1) prompts of ``layout`` (the last column is the query); ``z_t = H[data, t]`` for the
    N context columns. Returns (..., n_data, n_data) with ``n_data = layout.data.stop``. The masked readout
    of a block is linear in this matrix (chapter 4, section 4.4), so the span of the ``Ghat_data`` of a
    prompt distribution is what its richness is about.
    """
    check_layout(layout)
    H = as_tensor(H, "H")
    if H.dim() < 2 or H.shape[-2] != layout.dim or H.shape[-1] < 2:
        raise ValueError(f"H must have shape (..., {layout.dim}, N+1) with N >= 1; got {tuple(H.shape)}")
    Z = H[..., layout.data, :-1]
    return check_finite_result(Z @ Z.transpose(-1, -2) / Z.shape[-1], "the data moments",
                               "H is too large (its second moments overflow): rescale H")


def span_rank(X, rtol: float = 1e-9) -> int:
    """Dimension of the span of the matrices (or vectors) ``X[i]`` (n, ...): the number of singular values of
    the flattened (n, m) stack above ``rtol`` times the largest (chapter 4: richness of the moments, the
    rank of a readout Jacobian). 0 for an all-zero stack."""
    X = as_tensor(X, "X", dtype=_F64)
    if X.dim() < 1 or X.shape[0] < 1:
        raise ValueError(f"X must be a non-empty stack (n, ...); got shape {tuple(X.shape)}")
    rtol = check_positive(rtol, "rtol")
    X = X.reshape(X.shape[0], -1)
    top = float(X.abs().max()) if X.numel() else 0.0
    if top > 1e150 or 0.0 < top < 1e-150:   # rank is scale-free: rescale so that the SVD neither overflows nor underflows
        X = X / top
    sv = torch.linalg.svdvals(X)
    if sv.numel() == 0 or float(sv[0]) == 0.0:
        return 0
    return int((sv > rtol * sv[0]).sum())


def readout_jacobian(H, P, V, rows, mask: bool = False) -> torch.Tensor:
    """Jacobian of the readouts ``LSA_{P,V}(H)[rows, -1]`` of many prompts with respect to ``(P, V)`` (chapter 4).

    ``H`` (B, D, N+1), ``P``, ``V`` (D, D), ``rows`` the readout rows (a slice, a list or a LongTensor, e.g.
    ``dist.output_rows``). Returns ``J`` (B * n_rows, 2 D^2): row ``(b, i)`` is the gradient of readout ``i``
    of prompt ``b``; columns are ``vec(P)`` then ``vec(V)`` (row-major). At a zero of the teacher-mimicking
    loss the loss Hessian is ``2 J^T J / (B n_rows)``, so ``2 D^2 - rank J`` is the dimension of its null space.
    """
    H = as_tensor(H, "H", dtype=_F64)
    P = as_tensor(P, "P", dtype=_F64)
    V = as_tensor(V, "V", dtype=_F64)
    if H.dim() != 3 or H.shape[0] < 1 or H.shape[-1] < 2:
        raise ValueError(f"H must have shape (B, D, N+1) with B >= 1 and N >= 1; got {tuple(H.shape)}")
    B, D, cols = H.shape
    if P.shape != (D, D) or V.shape != (D, D):
        raise ValueError(f"P and V must have shape ({D}, {D}); got {tuple(P.shape)} and {tuple(V.shape)}")
    if not isinstance(mask, bool):
        raise ValueError(f"mask must be a bool; got {mask!r}")
    if isinstance(rows, slice):
        rows = torch.arange(D)[rows]
    if isinstance(rows, str):
        raise ValueError(f"rows must be row indices (a slice, a list or a LongTensor); got {rows!r}")
    rows = check_indices(rows, "rows", D)
    if rows.dim() != 1 or rows.numel() == 0:
        raise ValueError(f"rows must be a non-empty list of row indices in [0, {D}); got {rows.tolist()}")
    # the vmapped jacobian materialises, per prompt, the (N+1) x (N+1) scores and an (n_rows, 2 D^2) Jacobian
    check_memory(B * (cols * cols + rows.numel() * 2 * D * D), _F64, "the per-prompt scores and Jacobians", "H")

    def single(P_, V_, H_):
        return lsa_unchecked(H_, P_, V_, mask=bool(mask))[rows, -1]

    JP, JV = torch.vmap(torch.func.jacrev(single, argnums=(0, 1)), in_dims=(None, None, 0))(P, V, H)
    return check_finite_result(torch.cat([JP.reshape(-1, D * D), JV.reshape(-1, D * D)], dim=1),
                               "the readout Jacobian", "H (or P and V) is too large: rescale H")
