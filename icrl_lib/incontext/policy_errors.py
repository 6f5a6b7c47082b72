"""Chapter 10, sections 2-4: how far the constructed decision makers are from the algorithms they build.

Shapes in [LBM24]'s notation: ``B`` tasks, ``T`` rounds, ``A`` arms in R^d (``arms`` (B, A, d)), the history
``actions`` (B, T), ``rewards`` (B, T); the prompt has ``N = T + 1`` columns (column ``t`` has seen ``t``
observations). For UCB-VI: ``K`` episodes of ``H`` steps in ``S`` states with ``A`` actions. Every function
validates its arguments before any work.
"""
from __future__ import annotations

import torch

from .._validation import as_tensor, check_int, check_positive, check_shape
from ..rl.ucbvi import UCBVIRun, greedy_action
from .linucb import LinUCBConstruction, linucb_prompt, linucb_readout
from .ridge import ridge_forward
from ..attention.relu import relu_mlp
from .ucbvi import UCBVIConstruction, ucbvi_forward, ucbvi_prompt, ucbvi_readout

__all__ = ["linucb_policy_errors", "mean_tv", "history_tokens", "prefix_posterior_moments", "prefix_ridge_steps",
           "ucbvi_replay_errors"]

F64 = torch.float64


def _history(arms, actions, rewards):
    arms = as_tensor(arms, "arms", dtype=F64)
    check_shape(arms, "arms", (None, None, None), batch=False)
    if not isinstance(actions, torch.Tensor) or actions.dtype not in (torch.int64, torch.int32):
        raise ValueError("actions must be an integer tensor (B, T)")
    if actions.shape[:1] != arms.shape[:1] or actions.dim() != 2:
        raise ValueError(f"actions must have shape (B, T) with B = {arms.shape[0]}; got {tuple(actions.shape)}")
    if bool((actions < 0).any()) or bool((actions >= arms.shape[1]).any()):
        raise ValueError(f"actions must lie in 0..{arms.shape[1] - 1}")
    rewards = as_tensor(rewards, "rewards", dtype=F64)
    if rewards.shape != actions.shape:
        raise ValueError(f"rewards must have the shape of actions {tuple(actions.shape)}; got {tuple(rewards.shape)}")
    return arms, actions, rewards


def linucb_policy_errors(arms, actions, rewards, probs, construction, depths, mlps=()) -> dict:
    """``max |log p - log p*|`` over tasks and rounds of the constructed soft-LinUCB policy against ``probs``
    (B, T, A), the exact one on the history: after each depth in ``depths`` (``"depth"``, a list), and at the full
    depth with each square-root MLP ``(W1, W2, b1)`` in ``mlps`` (``"mlp"``); ``"forward_gap"`` is the largest
    gap between that layer-by-layer read-out and ``linucb_forward``'s at the full depth (0 up to round-off).
    Chapter 10."""
    from .linucb import linucb_forward
    arms, actions, rewards = _history(arms, actions, rewards)
    probs = as_tensor(probs, "probs", dtype=F64)
    check_shape(probs, "probs", (actions.shape[1], arms.shape[1]), batch=True)
    if not isinstance(construction, LinUCBConstruction):
        raise ValueError(f"construction must be a LinUCBConstruction; got {type(construction).__name__}")
    n_gd = len(construction.gd_layers)
    depths = list(depths) if isinstance(depths, (list, tuple)) else None
    if not depths or any(isinstance(L, bool) or not isinstance(L, int) or not 0 <= L <= n_gd for L in depths):
        raise ValueError(f"depths must be a non-empty list of integers in 0..{n_gd}; got {depths!r}")
    T = actions.shape[1]
    c = construction

    def policy(H_gd, mlp=None):
        H = relu_mlp(ridge_forward(H_gd, [c.score_layer]), *(mlp or c.mlp))
        return linucb_readout(H, c, all_tokens=True)[:, :T]

    def log_error(p):
        return float((p.log() - probs.log()).abs().max())

    H0 = linucb_prompt(arms, actions, rewards, c.layout)
    Hs = ridge_forward(H0, c.gd_layers, return_all=True)
    full = linucb_readout(linucb_forward(H0, c), c, all_tokens=True)[:, :T]
    return {"depth": [log_error(policy(Hs[:, L])) for L in depths],
            "mlp": [log_error(policy(Hs[:, -1], m)) for m in mlps],
            "forward_gap": float((full - policy(Hs[:, -1])).abs().max())}


def mean_tv(p, q) -> float:
    """The mean over the leading dimensions of the total-variation distance ``0.5 sum_a |p_a - q_a|`` of two
    policies ``p``, ``q`` (..., A). Chapter 10."""
    p, q = as_tensor(p, "p"), as_tensor(q, "q")
    check_shape(p, "p", (None,))
    if p.shape != q.shape:
        raise ValueError(f"q must have the shape of p {tuple(p.shape)}; got {tuple(q.shape)}")
    return float((0.5 * (p - q).abs().sum(-1)).mean())


def history_tokens(arms, actions, rewards):
    """The pulled arms ``X`` (B, T + 1, d) and rewards ``r`` (B, T + 1) of the prompt's columns: a zero token
    first (column 0 has seen nothing), then ``a_{t}``, ``r_t``. Chapter 10."""
    arms, actions, rewards = _history(arms, actions, rewards)
    B, T = actions.shape
    d = arms.shape[-1]
    pulled = torch.gather(arms, 1, actions[..., None].expand(B, T, d))
    return (torch.cat([torch.zeros(B, 1, d, dtype=F64), pulled], 1),
            torch.cat([torch.zeros(B, 1, dtype=F64), rewards], 1))


def _tokens(X, r):
    X = as_tensor(X, "X", dtype=F64)
    check_shape(X, "X", (None, None))
    r = as_tensor(r, "r", dtype=F64)
    if r.shape != X.shape[:-1]:
        raise ValueError(f"r must have shape {tuple(X.shape[:-1])}; got {tuple(r.shape)}")
    return X, r, torch.tril(torch.ones(X.shape[-2], X.shape[-2], dtype=F64))


def prefix_posterior_moments(arms, X, r, lam):
    """The Gaussian posterior's arm moments in every column ``i``: ``A_i = lambda I + sum_{j<=i} a_j a_j^T``,
    ``mu_i = A_i^{-1} sum_{j<=i} a_j r_j``; returns ``m`` (B, N, A) ``= arms mu_i`` and ``C`` (B, N, A, A)
    ``= arms A_i^{-1} arms^T`` (the covariance over ``sigma^2``), from ``history_tokens``' ``X``, ``r``. Chapter 10."""
    X, r, mask = _tokens(X, r)
    arms = as_tensor(arms, "arms", dtype=F64)
    check_shape(arms, "arms", (None, X.shape[-1]))
    lam = check_positive(lam, "lam")
    d = X.shape[-1]
    A_t = lam * torch.eye(d, dtype=F64) + torch.einsum("bjd,bje,ij->bide", X, X, mask)
    b_t = torch.einsum("bjd,bj,ij->bid", X, r, mask)
    mu = torch.linalg.solve(A_t, b_t.unsqueeze(-1)).squeeze(-1)
    arms = arms[:, None]
    return (arms @ mu.unsqueeze(-1)).squeeze(-1), arms @ torch.linalg.solve(A_t, arms.transpose(-1, -2))


def prefix_ridge_steps(X, r, lam, n_steps: int):
    """``n_steps`` explicit gradient steps from 0, in every column ``i`` at once, on the scaled prefix loss
    ``(1/2i) [sum_{j<=i} (<a_j, w> - r_j)^2 + lambda |w|^2]`` with ``eta = 1/(lambda + d)``: ``w`` (B, N, d).
    Chapter 10."""
    X, r, mask = _tokens(X, r)
    lam, n_steps = check_positive(lam, "lam"), check_int(n_steps, "n_steps")
    B, N, d = X.shape
    w = torch.zeros(B, N, d, dtype=F64)
    count = torch.arange(1, N + 1, dtype=F64)[None, :, None]
    eta = 1.0 / (lam + d)
    for _ in range(n_steps):
        resid = torch.einsum("bjd,bid->bij", X, w) - r[:, None, :]
        grad = torch.einsum("ij,bij,bjd->bid", mask, resid, X) + lam * w
        w = w - eta * grad / count
    return w


def ucbvi_replay_errors(run, construction, tau=0.1) -> dict:
    """Replay a reference UCB-VI ``run`` (``UCBVIRun``, B MDPs, K episodes of H steps) through the transformer:
    for every episode ``k`` and step ``h`` the prompt of the first ``k`` episodes and the query ``(h, s_h)``.
    Returns the largest ``|Q-hat - Q|`` of the read-out ``"readout"``, the largest log-policy error of the soft
    policy ``softmax(Q / tau)`` ``"soft"``, and whether the greedy actions are the run's (``"same_actions"``).
    Chapter 10."""
    if not isinstance(run, UCBVIRun):
        raise ValueError(f"run must be a UCBVIRun (rl.run_ucbvi); got {type(run).__name__}")
    if not isinstance(construction, UCBVIConstruction):
        raise ValueError(f"construction must be a UCBVIConstruction; got {type(construction).__name__}")
    tau = check_positive(tau, "tau")
    B, K, H = run.actions.shape
    A = run.Q.shape[-1]
    steps = torch.arange(H).expand(B, K, H)
    readout, soft, same = 0.0, 0.0, True
    for k in range(K):
        def past(x):
            return x[:, :k].reshape(B, k * H).unsqueeze(1).expand(B, H, k * H)

        Z = ucbvi_prompt(past(steps), past(run.states[..., :H]), past(run.actions), past(run.rewards),
                         past(run.states[..., 1:]), torch.arange(H).expand(B, H), run.states[:, k, :H], construction)
        out = ucbvi_readout(ucbvi_forward(Z, construction), construction)  # (B, H, A)
        want = torch.gather(run.Q[:, k], 2, run.states[:, k, :H, None, None].expand(B, H, 1, A)).squeeze(2)
        readout = max(readout, float((out - want).abs().max()))
        soft = max(soft, float((torch.log_softmax(out / tau, -1) - torch.log_softmax(want / tau, -1)).abs().max()))
        same &= bool(torch.equal(greedy_action(out), run.actions[:, k]))
    return {"readout": readout, "soft": soft, "same_actions": same}
