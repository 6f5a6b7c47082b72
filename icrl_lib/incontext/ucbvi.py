"""UCB-VI inside a ReLU-attention transformer, exactly ([LBM24]'s claim; our realisation), chapter 10.

Prompt (:func:`ucbvi_prompt`): one column per transition ``(h, s, a, r, s')`` of the completed episodes (one-hot
``h``, ``s``, ``a``, ``s'`` and the reward), then one query column holding one-hot ``(h, s)`` of the current step;
every column has the positional rows ``(1, i)``. A *block* is an optional causal ReLU-attention layer followed by
an optional MLP ``H + W2 ReLU(W1 H + b1)`` ([LBM24]'s layer). Our blocks (:func:`ucbvi_construction`):

1. MLP: one-hot products ``[h, s, a] = ReLU(e_h + e_s + e_a - 2)``, ``[h, s, a, s']``, ``r [h, s, a] =
   ReLU(r + e_h + e_s + e_a - 3)`` (exact for ``r`` in [0, 1]) and the query's ``[h, s]``;
2. attention with one head of score ``i`` (so the 1/i-average becomes a sum): the counts ``N_h(s, a, s')``,
   ``N_h(s, a)``, ``R_h(s, a)``; MLP: indicators ``1[N = c] = ReLU(N-c+1) - 2 ReLU(N-c) + ReLU(N-c-1)``, c = 0..K;
3. MLP: ``P_hat = sum_c (1/c) ReLU(N(s,a,s') - K (1 - 1[N(s,a) = c]))`` (exact on integer counts, ``N <= K``),
   ``r_hat`` likewise, and ``z = r_hat + b(N)`` with the bonus ``b`` a linear function of the indicators;
4. for ``h = H, ..., 1`` two blocks: attention with ``S A`` *local* heads, score
   ``<P_hat_h(s, a, .)_i, V_{h+1, j}> + G (j - i)`` (``G > H``, so only the current token survives the ReLU)
   and value ``j`` (cancelling the 1/i), adds ``P_hat V_{h+1}`` to ``z_h``; MLP ``Q_h = H - ReLU(H - z_h)``;
   then an MLP ``V_h = max_a Q_h`` (``max(x, y) = ReLU(y) + ReLU(x - y)`` for ``y >= 0``, a tree over actions);
5. read-out: attention with ``A`` local heads, score ``<[h, s]_i, Q(., ., a)_j> + G (j - i)``, writes
   ``Q_h(s, a)`` of the query's ``(h, s)`` into the output rows.

Depth ``H (1 + ceil(log2 A)) + 4`` blocks in total (``2H + 4`` for two actions) against the paper's ``2H + 8``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from .._validation import (
    as_tensor, broadcast_batch, check_finite_result, check_float_dtype, check_indices, check_int,
    check_memory, check_probability, check_real, check_shape)
from ..rl.ucbvi import ucbvi_bonus
from .layout import PromptLayout
from .ridge import forward_named

__all__ = ["UCBVIConstruction", "ucbvi_layout", "ucbvi_prompt", "ucbvi_construction", "ucbvi_forward",
           "ucbvi_readout", "ucbvi_q_table", "ucbvi_transformer_planner"]


class UCBVIConstruction(NamedTuple):
    """The constructed UCB-VI transformer (chapter 10): ``layout``, ``blocks`` (a list of ``(attention, mlp)``
    with ``attention = (Q, K, V)`` (M, D, D) or None and ``mlp = (W1, W2, b1)`` or None), ``horizon``,
    ``n_states``, ``n_actions``, ``n_episodes`` (the ``K`` of the bonus and the count range)."""

    layout: PromptLayout
    blocks: list
    horizon: int
    n_states: int
    n_actions: int
    n_episodes: int

    @property
    def n_blocks(self) -> int:
        """Number of blocks (attention + MLP layers of [LBM24])."""
        return len(self.blocks)

    @property
    def embedding_dim(self) -> int:
        """``D``, the number of rows of a token."""
        return self.layout.dim

    @property
    def max_heads(self) -> int:
        """The largest number of heads of an attention layer."""
        return max((b[0][0].shape[0] for b in self.blocks if b[0] is not None), default=0)


def _max_tree(n: int) -> list:
    """Levels of a pairwise max tree over ``n`` items: sizes n, ceil(n/2), ..., 1."""
    sizes = [n]
    while sizes[-1] > 1:
        sizes.append((sizes[-1] + 1) // 2)
    return sizes


def ucbvi_layout(horizon: int, n_states: int, n_actions: int, n_episodes: int) -> PromptLayout:
    """Row blocks of the UCB-VI prompt (chapter 10); the first eight are data rows."""
    H, S, A, K = (check_int(horizon, "horizon"), check_int(n_states, "n_states"), check_int(n_actions, "n_actions"),
                  check_int(n_episodes, "n_episodes"))
    X = H * S * A
    blocks = [("h", H), ("s", S), ("a", A), ("sn", S), ("r", 1), ("qh", H), ("qs", S), ("pos", 2),
              ("hsa", X), ("hsas", X * S), ("rhsa", X), ("hs", H * S),
              ("N", X), ("Nsas", X * S), ("R", X), ("ind", X * (K + 1)),
              ("P", X * S), ("z", X), ("Q", X), ("V", H * S), ("out", A)]
    sizes = _max_tree(A)
    for level, size in enumerate(sizes[1:-1], start=1):
        blocks.append((f"max{level}", H * S * size))
    return PromptLayout(tuple(blocks), 8)


def ucbvi_prompt(h, s, a, r, s_next, query_h, query_s, construction: "UCBVIConstruction") -> torch.Tensor:
    """The prompt (..., D, n + 1) of ``n`` transitions and a query step (chapter 10).

    ``h, s, a, s_next`` (..., n) int (0-based steps, states, actions), ``r`` (..., n) in [0, 1];
    ``query_h``, ``query_s`` (...) int: the step and state at which to act. An empty history (n = 0) may be
    given as empty lists.
    """
    c = _check_construction(construction)
    lay, H, S, A = c.layout, c.horizon, c.n_states, c.n_actions
    r = as_tensor(r, "r")
    if r.dim() < 1:
        raise ValueError(f"r must have shape (..., n) (n >= 0 transitions); got {tuple(r.shape)}")
    if bool((r < 0).any()) or bool((r > 1).any()):
        raise ValueError("r must lie in [0, 1]")
    ints = {}
    for name, x, upper in (("h", h, H), ("s", s, S), ("a", a, A), ("s_next", s_next, S), ("query_h", query_h, H),
                           ("query_s", query_s, S)):
        if r.numel() == 0 and not isinstance(x, torch.Tensor) and np.asarray(x).size == 0:
            x = torch.zeros(np.asarray(x).shape, dtype=torch.long)   # an empty list: no transitions yet
        ints[name] = check_indices(x, name, upper)
    for name in ("h", "s", "a", "s_next"):
        if ints[name].shape != r.shape:
            raise ValueError(f"{name} must have the shape of r {tuple(r.shape)}; got {tuple(ints[name].shape)}")
    batch = broadcast_batch({"r": r.shape, "query_h": ints["query_h"].shape, "query_s": ints["query_s"].shape},
                            {"r": 1, "query_h": 0, "query_s": 0})
    n = r.shape[-1]
    Z = torch.zeros(batch + (lay.dim, n + 1), dtype=r.dtype)
    oh = torch.nn.functional.one_hot
    for name, row, size in (("h", "h", H), ("s", "s", S), ("a", "a", A), ("s_next", "sn", S)):
        Z[..., lay.rows(row), :n] = oh(ints[name], size).to(r.dtype).expand(batch + (n, size)).transpose(-1, -2)
    Z[..., lay.rows("r").start, :n] = r.expand(batch + (n,))
    Z[..., lay.rows("qh"), n] = oh(ints["query_h"], H).to(r.dtype).expand(batch + (H,))
    Z[..., lay.rows("qs"), n] = oh(ints["query_s"], S).to(r.dtype).expand(batch + (S,))
    p = lay.rows("pos").start
    Z[..., p, :] = 1.0
    Z[..., p + 1, :] = torch.arange(1, n + 2, dtype=r.dtype)
    return Z


def ucbvi_construction(horizon: int, n_states: int, n_actions: int, n_episodes: int, delta=0.1, bonus_scale=2.0,
                       dtype: torch.dtype = torch.float64) -> UCBVIConstruction:
    """The blocks of the exact UCB-VI transformer (module docstring) for ``K = n_episodes`` and the bonus
    ``bonus_scale * H sqrt(log(S A K H / delta) / max(N, 1))`` of :func:`icrl_lib.rl.ucbvi_bonus` (chapter 10):
    ``delta`` in (0, 1], ``bonus_scale >= 0``.

    Memory: the token dimension is ``D = O(H S A (S + K))`` and an attention layer holds ``3 S A`` matrices of
    ``D x D``: refused above ``MAX_INTERMEDIATE_BYTES`` before allocating.
    """
    H, S, A, K = (check_int(horizon, "horizon"), check_int(n_states, "n_states"), check_int(n_actions, "n_actions"),
                  check_int(n_episodes, "n_episodes"))
    delta = check_probability(delta, "delta")
    if delta == 0:
        raise ValueError("delta must be in (0, 1]; got 0.0")
    if check_real(bonus_scale, "bonus_scale") < 0:
        raise ValueError(f"bonus_scale must be >= 0; got {bonus_scale}")
    dtype = check_float_dtype(dtype)
    lay = ucbvi_layout(H, S, A, K)
    D = lay.dim
    X = H * S * A
    n_units = X * (3 * (K + 1) + K * (S + 1) + K + 1 + 2 + S) + H * S
    check_memory(max(3 * max(S * A, 1) * D * D, 2 * n_units * D), dtype,
                 f"the ({D}, {D}) matrices of the attention heads and MLPs",
                 "the problem size (horizon, n_states, n_actions, n_episodes)")
    R_ = lay.rows
    ONE, I = R_("pos").start, R_("pos").start + 1
    G = float(H + 1)

    def row(name, idx=0):
        return R_(name).start + idx

    def x_idx(h, s, a):
        return (h * S + s) * A + a

    def mlp(units):
        """units: list of (w1 dict row->coef, bias, w2 dict row->coef)."""
        W1 = torch.zeros(len(units), D, dtype=dtype)
        W2 = torch.zeros(D, len(units), dtype=dtype)
        b1 = torch.zeros(len(units), dtype=dtype)
        for u, (w1, b, w2) in enumerate(units):
            for rr, cf in w1.items():
                W1[u, rr] += cf
            b1[u] = b
            for rr, cf in w2.items():
                W2[rr, u] += cf
        return W1, W2, b1

    def local_heads(pairs):
        """Local quadratic heads: for each (query_rows, key_rows, out_row) the score <H[qr]_i, H[kr]_j> + G(j-i)
        and value j into out_row, so token i receives <H[qr]_i, H[kr]_i>."""
        Qs, Ks, Vs = [], [], []
        for qr, kr, out in pairs:
            Q, Kt, V = (torch.zeros(D, D, dtype=dtype) for _ in range(3))
            m = len(qr)
            for c, (a_, b_) in enumerate(zip(qr, kr)):
                Q[c, a_] = 1.0
                Kt[c, b_] = 1.0
            Q[m, ONE], Kt[m, I] = G, 1.0              # + G j
            Q[m + 1, I], Kt[m + 1, ONE] = -G, 1.0     # - G i
            V[out, I] = 1.0
            Qs.append(Q), Ks.append(Kt), Vs.append(V)
        return torch.stack(Qs), torch.stack(Ks), torch.stack(Vs)

    blocks = []
    # 1. one-hot products
    units = []
    for h in range(H):
        for s in range(S):
            units.append(({row("qh", h): 1.0, row("qs", s): 1.0}, -1.0, {row("hs", h * S + s): 1.0}))
            for a in range(A):
                x = x_idx(h, s, a)
                base = {row("h", h): 1.0, row("s", s): 1.0, row("a", a): 1.0}
                units.append((base, -2.0, {row("hsa", x): 1.0}))
                units.append(({**base, row("r"): 1.0}, -3.0, {row("rhsa", x): 1.0}))
                for sn in range(S):
                    units.append(({**base, row("sn", sn): 1.0}, -3.0, {row("hsas", x * S + sn): 1.0}))
    blocks.append((None, mlp(units)))
    # 2. counts (score i: the average becomes a sum) and the indicators 1[N = c]
    Q, Kt, V = (torch.zeros(1, D, D, dtype=dtype) for _ in range(3))
    Q[0, 0, I], Kt[0, 0, ONE] = 1.0, 1.0
    for src, dst in (("hsa", "N"), ("hsas", "Nsas"), ("rhsa", "R")):
        V[0, R_(dst), R_(src)] = torch.eye(lay.size(src), dtype=dtype)
    units = []
    for x in range(X):
        for c in range(K + 1):
            out = {row("ind", x * (K + 1) + c): 1.0}
            units.append(({row("N", x): 1.0}, -(c - 1.0), out))
            units.append(({row("N", x): 1.0}, -float(c), {row("ind", x * (K + 1) + c): -2.0}))
            units.append(({row("N", x): 1.0}, -(c + 1.0), out))
    blocks.append(((Q, Kt, V), mlp(units)))
    # 3. P_hat, r_hat and z = r_hat + b
    bonus = ucbvi_bonus(torch.arange(K + 1, dtype=dtype), H, S, A, K, delta, bonus_scale)
    units = []
    for x in range(X):
        for c in range(1, K + 1):
            gate = {row("ind", x * (K + 1) + c): float(K)}
            for sn in range(S):
                units.append(({row("Nsas", x * S + sn): 1.0, **gate}, -float(K), {row("P", x * S + sn): 1.0 / c}))
            units.append(({row("R", x): 1.0, **gate}, -float(K), {row("z", x): 1.0 / c}))
        for c in range(K + 1):
            units.append(({row("ind", x * (K + 1) + c): 1.0}, 0.0, {row("z", x): float(bonus[c])}))
    blocks.append((None, mlp(units)))
    # 4. value iteration, h = H-1 .. 0 (0-based)
    sizes = _max_tree(A)
    for h in reversed(range(H)):
        attn = None
        if h < H - 1:
            pairs = []
            for s in range(S):
                for a in range(A):
                    x = x_idx(h, s, a)
                    pairs.append(([row("P", x * S + sn) for sn in range(S)],
                                  [row("V", (h + 1) * S + sn) for sn in range(S)], row("z", x)))
            attn = local_heads(pairs)
        units = []
        for s in range(S):
            for a in range(A):
                x = x_idx(h, s, a)
                units.append(({row("z", x): -1.0}, float(H), {row("Q", x): -1.0}))
            units.append(({ONE: float(H)}, 0.0, {row("Q", x_idx(h, s, a)): 1.0 for a in range(A)}))
        blocks.append((attn, mlp(units)))
        # the max over actions, by a pairwise tree (one MLP per level)
        level_rows = {0: lambda s, k: row("Q", x_idx(h, s, k))}
        for level in range(1, len(sizes)):
            last = level == len(sizes) - 1
            prev = level_rows[level - 1]
            dst = (lambda s, k: row("V", h * S + s)) if last else \
                (lambda s, k, lv=level: row(f"max{lv}", (h * S + s) * sizes[lv] + k))
            units = []
            for s in range(S):
                for k in range(sizes[level]):
                    i0, i1 = 2 * k, 2 * k + 1
                    if i1 < sizes[level - 1]:   # max(x, y) = ReLU(y) + ReLU(x - y), y >= 0
                        units.append(({prev(s, i1): 1.0}, 0.0, {dst(s, k): 1.0}))
                        units.append(({prev(s, i0): 1.0, prev(s, i1): -1.0}, 0.0, {dst(s, k): 1.0}))
                    else:
                        units.append(({prev(s, i0): 1.0}, 0.0, {dst(s, k): 1.0}))
            level_rows[level] = dst
            blocks.append((None, mlp(units)))
    # 5. read-out of Q_h(s, .) at the query's (h, s)
    pairs = [([row("hs", hs) for hs in range(H * S)],
              [row("Q", x_idx(hs // S, hs % S, a)) for hs in range(H * S)], row("out", a)) for a in range(A)]
    blocks.append((local_heads(pairs), None))
    return UCBVIConstruction(lay, blocks, H, S, A, K)


def ucbvi_forward(Z, construction: UCBVIConstruction) -> torch.Tensor:
    """Run the constructed blocks on a prompt (..., D, N) (chapter 10). ``ValueError`` if the output overflows
    (a prompt far outside the one-hot / [0, 1] encoding of :func:`ucbvi_prompt`)."""
    construction = _check_construction(construction)
    Z = as_tensor(Z, "Z")
    check_shape(Z, "Z", (construction.layout.dim, None))
    for attn, mlp in construction.blocks:
        if attn is not None:
            Z = forward_named(Z, [attn], False, "Z")
        if mlp is not None:   # relu_mlp on trusted weights; the result is checked once at the end
            W1, W2, b1 = mlp
            Z = Z + W2.to(Z.dtype) @ torch.relu(W1.to(Z.dtype) @ Z + b1.to(Z.dtype).unsqueeze(-1))
    return check_finite_result(Z, "the transformer output", "Z is too large: build it with ucbvi_prompt")


def _check_construction(construction) -> UCBVIConstruction:
    if not isinstance(construction, UCBVIConstruction):
        raise ValueError(f"construction must be a UCBVIConstruction (ucbvi_construction); got "
                         f"{type(construction).__name__}")
    return construction


def ucbvi_readout(Z, construction: UCBVIConstruction) -> torch.Tensor:
    """``Q_h(s, .)`` (..., A) at the query column's ``(h, s)`` (the last column) (chapter 10)."""
    construction = _check_construction(construction)
    Z = as_tensor(Z, "Z")
    check_shape(Z, "Z", (construction.layout.dim, None))
    return Z[..., construction.layout.rows("out"), -1]


def ucbvi_q_table(Z, construction: UCBVIConstruction) -> torch.Tensor:
    """The whole table ``Q`` (..., H, S, A) held by the last column (chapter 10)."""
    c = _check_construction(construction)
    Z = as_tensor(Z, "Z")
    check_shape(Z, "Z", (c.layout.dim, None))
    return Z[..., c.layout.rows("Q"), -1].reshape(Z.shape[:-2] + (c.horizon, c.n_states, c.n_actions))


def ucbvi_transformer_planner(construction: UCBVIConstruction):
    """A ``planner`` for :func:`icrl_lib.rl.run_ucbvi` that plans with the constructed transformer (chapter 10):
    ``planner(h, s, a, r, s_next, k)`` builds the prompt of the ``k`` completed episodes with a query at step 0,
    state 0, and returns the table ``Q`` (..., H, S, A) of the last column."""
    construction = _check_construction(construction)

    def planner(h, s, a, r, s_next, k):
        q0 = torch.zeros(as_tensor(r, "r").shape[:-1], dtype=torch.long)
        Z = ucbvi_prompt(h, s, a, r, s_next, q0, q0, construction)
        return ucbvi_q_table(ucbvi_forward(Z, construction), construction)
    return planner
