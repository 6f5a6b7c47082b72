"""Thompson sampling for linear bandits inside ReLU attention: the parts we implement ([LBM24]; ours), chapter 10.

Gaussian linear Thompson sampling with prior ``w ~ N(0, s^2 I)`` and noise ``N(0, sigma^2)`` has the posterior
``N(mu_t, Sigma_t)`` with ``Sigma_t = sigma^2 A_t^{-1}``, ``A_t = lam I + sum_j a_j a_j^T``, ``lam = sigma^2 / s^2`` and
``mu_t = A_t^{-1} sum_j a_j r_j``: the posterior mean is the LinUCB ridge estimate with this ``lam``, and the
arm values ``v_k = <a_k, w>`` are jointly Gaussian with means ``m_k = <a_k, mu_t>`` and covariances
``C_kl = sigma^2 a_k^T A_t^{-1} a_l``. Thompson sampling plays arm ``k`` with probability ``P(v_k = max_l v_l)``, a
Gaussian orthant probability.

**Implemented** (:func:`thompson_construction`): the GD layers of chapter 10 (``"scaled"`` penalty) for ``mu_t``
and every ``A_t^{-1} a_k``, then one attention layer with ``2A + 2A^2`` heads (opposite-sign pairs) writing ``m_k``
and ``C_kl`` into the token. The square root and the argmax probabilities are in
:mod:`icrl_lib.incontext.thompson_policy` (a Newton-Schulz iteration and a ReLU network with frozen draws, ours;
[LBM24]'s own rational square root and orthant-probability MLP are not implemented);
:func:`gaussian_argmax_probs` is the Monte Carlo reference *outside* the transformer.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .._validation import (
    as_generator, as_tensor, broadcast_batch, check_bool, check_finite_result, check_float_dtype, check_int,
    check_memory, check_positive, check_shape)
from .layout import PromptLayout
from .ridge import check_momentum, ridge_forward, ridge_gd_construction, ridge_layout

__all__ = ["ThompsonConstruction", "thompson_layout", "thompson_construction", "thompson_forward",
           "thompson_readout", "gaussian_argmax_probs"]


class ThompsonConstruction(NamedTuple):
    """The posterior-moment transformer (chapter 10): ``layout``, ``gd_layers``, ``moment_layer`` (``(Q, K, V)``
    (M, D, D)), ``sigma``, ``lam`` (``sigma^2 / prior_std^2``)."""

    layout: PromptLayout
    gd_layers: list
    moment_layer: tuple
    sigma: float
    lam: float


def thompson_layout(d: int, n_arms: int, nesterov: bool = False) -> PromptLayout:
    """The ridge layout with ``A`` queries (the arms) and their solves, plus the rows ``m`` (A) and ``C``
    (A x A) (chapter 10); :func:`icrl_lib.incontext.linucb_prompt` fills it."""
    A = check_int(n_arms, "n_arms")
    return ridge_layout(d, n_queries=A, solve_queries=True, nesterov=check_bool(nesterov, "nesterov"),
                        extra=(("m", A), ("C", A * A)))


def thompson_construction(d: int, n_arms: int, n_layers: int, sigma=1.0, prior_std=1.0, eta=None, momentum=None,
                          dtype: torch.dtype = torch.float64) -> ThompsonConstruction:
    """GD layers for ``mu_t`` and ``A_t^{-1} a_k`` (``lam = sigma^2 / prior_std^2``, step ``eta`` default
    ``1 / (lam + d)``, optional Nesterov ``momentum`` in [0, 1)) and the moment layer for ``m_k`` and ``C_kl``
    (chapter 10).

    Memory: the moment layer has ``2A + 2A^2`` heads of (D, D) matrices with ``D = O(A d + A^2)``, ``O(A^6)``
    entries: refused above ``MAX_INTERMEDIATE_BYTES`` before allocating."""
    d, A = check_int(d, "d"), check_int(n_arms, "n_arms")
    L = check_int(n_layers, "n_layers")
    sigma, prior_std = check_positive(sigma, "sigma"), check_positive(prior_std, "prior_std")
    lam = sigma ** 2 / prior_std ** 2
    eta = 1.0 / (lam + d) if eta is None else check_positive(eta, "eta")
    if momentum is not None:
        check_momentum(momentum)
    dtype = check_float_dtype(dtype)
    layout = thompson_layout(d, A, nesterov=momentum is not None)
    D, R = layout.dim, layout.rows
    check_memory(3 * (2 * A + 2 * A * A) * D * D, dtype, f"the {2 * A + 2 * A * A} heads of ({D}, {D}) matrices",
                 "n_arms (and d)")
    gd = ridge_gd_construction(d, eta, lam, L, layout=layout, penalty="scaled", momentum=momentum, dtype=dtype)
    ONE = R("pos").start
    a, q, w, x, m, C = R("a"), R("q"), R("w"), R("x"), R("m"), R("C")
    eye = torch.eye(d, dtype=dtype)

    def block(name, k):
        base = R(name).start
        return slice(base + k * d, base + (k + 1) * d)

    pairs = [(w, block("q", k), m.start + k, 1.0) for k in range(A)]
    pairs += [(block("x", l_), block("q", k), C.start + k * A + l_, sigma ** 2) for k in range(A) for l_ in range(A)]
    Qs, Ks, Vs = [], [], []
    for src, key, dst, scale in pairs:
        for sign in (1.0, -1.0):
            Qm, Km, Vm = (torch.zeros(D, D, dtype=dtype) for _ in range(3))
            Qm[a, src] = sign * eye
            Km[a, key] = eye
            Vm[dst, ONE] = sign * scale
            Qs.append(Qm), Ks.append(Km), Vs.append(Vm)
    return ThompsonConstruction(layout, gd, (torch.stack(Qs), torch.stack(Ks), torch.stack(Vs)), sigma, lam)


def thompson_forward(H, construction: ThompsonConstruction) -> torch.Tensor:
    """GD layers then the moment layer on a prompt (..., D, N) from ``linucb_prompt(..., layout)`` (chapter 10).
    ``ValueError`` if the output overflows (rescale the prompt)."""
    construction = _check_construction(construction)
    H = as_tensor(H, "H")
    check_shape(H, "H", (construction.layout.dim, None))
    return ridge_forward(H, list(construction.gd_layers) + [construction.moment_layer])


def thompson_readout(H, construction: ThompsonConstruction, all_tokens: bool = False):
    """``(m, C)``: the arm-value means (..., A) and covariances (..., A, A) of the last column, or of every
    column ((..., N, A) and (..., N, A, A)) (chapter 10)."""
    construction = _check_construction(construction)
    all_tokens = check_bool(all_tokens, "all_tokens")
    H = as_tensor(H, "H")
    check_shape(H, "H", (construction.layout.dim, None))
    lay = construction.layout
    A = lay.size("m")
    m = H[..., lay.rows("m"), :].transpose(-1, -2)
    C = H[..., lay.rows("C"), :].transpose(-1, -2)
    C = C.reshape(C.shape[:-1] + (A, A))
    return (m, C) if all_tokens else (m[..., -1, :], C[..., -1, :, :])


def _check_construction(construction) -> ThompsonConstruction:
    if not isinstance(construction, ThompsonConstruction):
        raise ValueError(f"construction must be a ThompsonConstruction (thompson_construction); got "
                         f"{type(construction).__name__}")
    return construction


def gaussian_argmax_probs(means, cov, n_samples: int, generator) -> torch.Tensor:
    """Monte Carlo estimate of ``P(k = argmax_l v_l)`` for ``v ~ N(means, cov)`` (chapter 10): ``means`` (..., A),
    ``cov`` (..., A, A) positive semi-definite; ``n_samples`` draws ``v = means + L z`` with ``L`` the Cholesky
    factor of ``(cov + cov^T)/2`` (plus ``1e-12`` times the identity). Returns (..., A). The same ``generator`` seed
    gives common random numbers for two calls with equal shapes. ``generator``: a ``torch.Generator`` or an int
    seed."""
    means = as_tensor(means, "means")
    check_shape(means, "means", (None,))
    A = means.shape[-1]
    cov = as_tensor(cov, "cov", dtype=means.dtype)
    check_shape(cov, "cov", (A, A))
    batch = broadcast_batch({"means": means.shape, "cov": cov.shape}, {"means": 1, "cov": 2})
    n = check_int(n_samples, "n_samples")
    g = as_generator(generator)
    sym = (cov + cov.transpose(-1, -2)) / 2 + 1e-12 * torch.eye(A, dtype=means.dtype)
    try:
        Lc = torch.linalg.cholesky(sym)
    except RuntimeError as exc:  # not positive semi-definite
        raise ValueError("cov must be positive semi-definite") from exc
    check_finite_result(Lc, "the Cholesky factor of cov", "cov is too large (overflow): rescale means and cov")
    z = torch.randn(batch + (n, A), generator=g, dtype=means.dtype)
    v = check_finite_result(means.unsqueeze(-2) + z @ Lc.transpose(-1, -2), "the samples of v",
                            "means or cov is too large (overflow): rescale them")
    win = torch.nn.functional.one_hot(v.argmax(-1), A).to(means.dtype)
    return win.mean(-2)
