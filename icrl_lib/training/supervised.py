"""Supervised pretraining of a small causal transformer on expert labels: AD and DPT ([LBM24], chapter 9).

The model (:class:`CausalTransformerPolicy`) reads a sequence of tokens and predicts an action distribution at
every position; position ``t`` sees tokens ``0..t`` only. Our token layout (stated in chapter 9):

- token 0 is the *query* token: a start flag, plus the per-task context (the arm set of a linear bandit) or,
  in an MDP, the one-hot query state;
- token ``t >= 1`` is round ``t`` of the context: the action (its one-hot, or its arm vector for a linear
  bandit) and the reward (for an MDP: state, action, reward, next state);
- the prediction at position ``t`` is the action for round ``t + 1`` given ``D_t`` (the first ``t`` rounds),
  so one forward pass over ``T`` tokens gives all ``T`` predictions of a trajectory, the empty prefix included.

Training (:func:`pretrain_supervised`) minimises the cross-entropy of the labels at every position: the
actions of the context algorithm for Algorithm Distillation ([AD22]), the optimal action of the task for DPT
([DPT23]). Deployment goes through the expert interface of :mod:`icrl_lib.rl.experts`
(:func:`transformer_expert`), so online deployment is ``rl.run_bandit(bandit, transformer_expert(model), T, g)``
and offline deployment is the greedy action after a given dataset.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import as_generator, as_tensor, check_indices, check_int, check_positive, check_real
from ..attention import relu_attention_unchecked
from ..rl.bandits import check_bandit
from ..rl import LinearBandit
from ._checks import check_bool
from .fit import OptimiserConfig, fit, resolve_device

__all__ = ["TransformerConfig", "CausalTransformerPolicy", "bandit_tokens", "bandit_token_dim", "supervised_loss", "SupervisedResult",
           "pretrain_supervised", "transformer_expert", "action_probabilities"]

ATTENTIONS = ("softmax", "relu")


class _SoftmaxAttention(nn.Module):
    """Causal multi-head softmax attention (pre-projection of queries, keys, values; output projection)."""

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, D = x.shape
        q, k, v = self.qkv(x).view(B, N, 3, self.n_heads, D // self.n_heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)          # (B, heads, N, D/heads)
        return self.out(y.transpose(1, 2).reshape(B, N, D))


class _ReluAttention(nn.Module):
    """The [LBM24] causal ReLU attention with ``1/i`` averaging (:func:`icrl_lib.attention.relu_attention`),
    returning the update only (the residual is added by the block)."""

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        scale = 1.0 / math.sqrt(d_model)
        self.Q = nn.Parameter(torch.randn(n_heads, d_model, d_model) * scale)
        self.K = nn.Parameter(torch.randn(n_heads, d_model, d_model) * scale)
        self.V = nn.Parameter(torch.randn(n_heads, d_model, d_model) * scale / n_heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        H = x.transpose(-1, -2)                                              # tokens as columns (B, D, N)
        return (relu_attention_unchecked(H, self.Q, self.K, self.V, causal=True) - H).transpose(-1, -2)


class _Block(nn.Module):
    def __init__(self, d_model: int, n_heads: int, attention: str):
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attn = _SoftmaxAttention(d_model, n_heads) if attention == "softmax" else _ReluAttention(d_model, n_heads)
        self.norm2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


@dataclass(frozen=True)
class TransformerConfig:
    """The model part of every supervised-pretraining config (chapters 9-11): a :class:`CausalTransformerPolicy`
    of ``n_layers`` pre-LayerNorm blocks of width ``d_model`` with ``n_heads`` heads of ``attention``
    (``"softmax"`` or [LBM24]'s ``"relu"``). Every field is checked when the config is built."""

    n_layers: int = 3
    d_model: int = 32
    n_heads: int = 2
    attention: str = "softmax"

    def __post_init__(self):
        for name in ("n_layers", "d_model", "n_heads"):
            check_int(getattr(self, name), name)
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model must be a multiple of n_heads; got {self.d_model} and {self.n_heads}")
        if self.attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {ATTENTIONS}; got {self.attention!r}")

    def build(self, token_dim: int, n_actions: int, max_len: int | None, seed: int = 0) -> "CausalTransformerPolicy":
        """The model for tokens of size ``token_dim`` and ``n_actions`` actions, initialised from ``seed``."""
        return CausalTransformerPolicy(token_dim, n_actions, self.n_layers, self.d_model, self.n_heads,
                                       self.attention, max_len=max_len, seed=seed)


class CausalTransformerPolicy(nn.Module):
    """A small causal transformer that maps a token sequence to action logits at every position (chapter 9).

    The in-context policy ``Alg_theta(. | D_t)`` of [LBM24]'s supervised pretraining (AD and DPT train it on
    expert labels). It is not a Decision Transformer: it conditions on no return-to-go.

    Args:
        token_dim: size of one token (:func:`bandit_token_dim`, or :func:`icrl_lib.training.darkroom_token_dim`).
        n_actions: number of actions ``A`` (the logits' last dimension).
        n_layers, d_model, n_heads: depth, width and heads (pre-LayerNorm blocks with a 4x GELU MLP).
        attention: ``"softmax"`` (causal scaled dot-product attention) or ``"relu"`` (the [LBM24] layer
            ``h_i + sum_m (1/i) sum_{j<=i} ReLU(<Q_m h_i, K_m h_j>) V_m h_j``).
        max_len: longest sequence (learned positional embeddings; ``None`` for none).
        seed: seeds the initialisation (a forked RNG, so the global generator is untouched).

    ``forward(tokens (B, N, token_dim)) -> logits (B, N, A)``; position ``t`` sees tokens ``<= t`` only.
    """

    def __init__(self, token_dim: int, n_actions: int, n_layers: int = 3, d_model: int = 32, n_heads: int = 2,
                 attention: str = "softmax", max_len: int | None = 256, seed: int = 0):
        super().__init__()
        self.token_dim = check_int(token_dim, "token_dim")
        self.n_actions = check_int(n_actions, "n_actions", minimum=2)
        check_int(n_layers, "n_layers")
        check_int(d_model, "d_model")
        check_int(n_heads, "n_heads")
        check_int(seed, "seed", minimum=0)
        if d_model % n_heads:
            raise ValueError(f"d_model must be a multiple of n_heads; got {d_model} and {n_heads}")
        if attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {ATTENTIONS}; got {attention!r}")
        self.attention = attention
        self.max_len = None if max_len is None else check_int(max_len, "max_len")
        self.config = {"token_dim": token_dim, "n_actions": n_actions, "n_layers": n_layers, "d_model": d_model,
                       "n_heads": n_heads, "attention": attention, "max_len": max_len, "seed": seed}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(check_int(seed, "seed", minimum=0))
            self.embed = nn.Linear(token_dim, d_model)
            self.pos = None if max_len is None else nn.Parameter(0.02 * torch.randn(max_len, d_model))
            self.blocks = nn.ModuleList(_Block(d_model, n_heads, attention) for _ in range(n_layers))
            self.norm = nn.LayerNorm(d_model)
            self.head = nn.Linear(d_model, n_actions)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits (B, N, A) of the action distribution at every position of ``tokens`` (B, N, token_dim)."""
        tokens = as_tensor(tokens, "tokens")
        if tokens.dim() != 3 or tokens.shape[-1] != self.token_dim or tokens.shape[1] < 1:
            raise ValueError(f"tokens must have shape (B, N, {self.token_dim}) with N >= 1; got {tuple(tokens.shape)}")
        N = tokens.shape[1]
        if self.max_len is not None and N > self.max_len:
            raise ValueError(f"tokens must have at most max_len = {self.max_len} positions; got {N}")
        x = self.embed(tokens.to(self.head.weight.dtype))
        if self.pos is not None:
            x = x + self.pos[:N]
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))


def bandit_token_dim(bandit) -> int:
    """Token size of :func:`bandit_tokens` for ``bandit`` (chapter 9): ``1 + d + 1`` for features of size
    ``d`` (``d = A`` for multi-armed bandits), plus ``A d`` for a linear bandit's arm set in the query token."""
    check_bandit(bandit)
    A, d = bandit.features.shape[-2:]
    return 2 + d + (A * d if _has_arm_set(bandit) else 0)


def check_model(model) -> None:
    """A :class:`CausalTransformerPolicy` (chapter 9), else ``ValueError`` naming ``model``."""
    if not isinstance(model, CausalTransformerPolicy):
        raise ValueError(f"model must be a CausalTransformerPolicy; got {type(model).__name__}")


def _has_arm_set(bandit) -> bool:
    # a multi-armed bandit's features are the identity: only a linear bandit has a per-task arm set
    return isinstance(bandit, LinearBandit)


def bandit_tokens(bandit, actions, rewards) -> torch.Tensor:
    """The token sequence of bandit histories (chapter 9), shape (B, t + 1, :func:`bandit_token_dim`).

    Token 0: ``(1, 0, 0[, arm set flattened])``; token ``s >= 1``: ``(0, phi(a_s), r_s[, 0])`` with ``phi`` the
    bandit's ``features`` (one-hot for multi-armed, arm vectors for linear bandits). ``actions`` (B, t) long,
    ``rewards`` (B, t); ``t`` may be 0.
    """
    check_bandit(bandit)
    feats = bandit.features                                                  # (B, A, d)
    B, A, d = feats.shape
    actions = check_indices(actions, "actions", A)
    rewards = as_tensor(rewards, "rewards", dtype=feats.dtype)
    if actions.dim() != 2 or actions.shape[0] != B or rewards.shape != actions.shape:
        raise ValueError(f"actions and rewards must have shape ({B}, t); got actions {tuple(actions.shape)} and "
                         f"rewards {tuple(rewards.shape)}")
    t = actions.shape[1]
    ctx = A * d if _has_arm_set(bandit) else 0
    tok = torch.zeros(B, t + 1, 2 + d + ctx, dtype=feats.dtype)
    tok[:, 0, 0] = 1.0
    if ctx:
        tok[:, 0, 2 + d:] = feats.reshape(B, A * d)
    if t:
        tok[:, 1:, 1:1 + d] = torch.gather(feats, 1, actions.long().unsqueeze(-1).expand(B, t, d))
        tok[:, 1:, 1 + d] = rewards
    return tok


def supervised_loss(model: CausalTransformerPolicy, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of ``labels`` (B, T) at the ``T`` positions of ``tokens[:, :T]`` (chapter 9).

    ``tokens`` has ``T + 1`` (a whole trajectory: the last round is never context) or ``T`` positions; the
    prediction at position ``t`` (context ``D_t``) is scored against ``labels[:, t]``, ``t = 0..T-1``.
    """
    check_model(model)
    tokens, labels = _check_data(model, tokens, labels)
    return _loss(model, tokens, labels)


def _check_data(model, tokens, labels):
    tokens = as_tensor(tokens, "tokens")
    labels = check_indices(labels, "labels", model.n_actions)
    if tokens.dim() != 3 or tokens.shape[-1] != model.token_dim:
        raise ValueError(f"tokens must have shape (n, T + 1, {model.token_dim}); got {tuple(tokens.shape)}")
    if labels.dim() != 2 or labels.shape[0] != tokens.shape[0]:
        raise ValueError(f"labels must have shape ({tokens.shape[0]}, T); got {tuple(labels.shape)}")
    if tokens.shape[0] == 0 or labels.shape[1] == 0:
        raise ValueError(f"tokens must hold at least one trajectory of at least one position; got "
                         f"{tuple(tokens.shape)} with labels {tuple(labels.shape)}")
    T = labels.shape[-1]
    if tokens.shape[1] not in (T, T + 1):
        raise ValueError(f"tokens must have T or T + 1 = {T + 1} positions for labels of length T; got "
                         f"{tokens.shape[1]}")
    return tokens, labels


def _loss(model, tokens, labels) -> torch.Tensor:
    T = labels.shape[-1]
    if tokens.shape[1] not in (T, T + 1):
        raise ValueError(f"tokens must have T or T + 1 = {T + 1} positions for labels of length T; got "
                         f"{tokens.shape[1]}")
    logits = model(tokens[:, :T])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1).long())


@dataclass
class SupervisedResult:
    """A trained model and its loss history (steps, training loss averaged over ``log_every`` steps; chapter 9)."""
    model: CausalTransformerPolicy
    history: dict = field(default_factory=dict)


def pretrain_supervised(model: CausalTransformerPolicy, tokens, labels, n_steps: int = 1000, batch_size: int = 256,
                        lr: float = 1e-3, seed: int = 0, log_every: int = 100,
                        progress: Callable[[int, float], None] | bool | None = None,
                        final_lr_fraction: float = 0.1, device=None) -> SupervisedResult:
    """Train ``model`` by cross-entropy on ``labels`` at every position (the MLE of [LBM24]; chapter 9).

    Args:
        tokens: (n, T + 1, token_dim) the ``n`` pretraining trajectories (e.g. :func:`bandit_tokens`).
        labels: (n, T) long, the expert's labels (AD: the context actions; DPT: the optimal action).
        n_steps, batch_size, lr: Adam steps on minibatches of trajectories drawn with replacement; the step
            size decays on a cosine from ``lr`` to ``final_lr_fraction * lr``.
        seed: seeds the minibatch draws (an int or a ``torch.Generator``).
        progress: ``True`` for a tqdm bar, or a callback ``progress(step, loss)``.
        device: train on this torch device (``"cuda"`` for a GPU; default the CPU); the model comes back on the
            CPU, where the library evaluates it.

    The model is trained in place (float32 unless it was converted) and returned with the loss history. A
    diverging run (NaN or inf loss) raises ``ValueError`` asking for a lower ``lr``.
    """
    check_model(model)
    n_steps, batch_size = check_int(n_steps, "n_steps"), check_int(batch_size, "batch_size")
    lr = check_positive(lr, "lr")
    log_every = check_int(log_every, "log_every")
    final_lr_fraction = check_real(final_lr_fraction, "final_lr_fraction")
    if not 0.0 <= final_lr_fraction <= 1.0:
        raise ValueError(f"final_lr_fraction must be in [0, 1]; got {final_lr_fraction}")
    if not (progress is None or isinstance(progress, bool) or callable(progress)):
        raise ValueError(f"progress must be True/False/None or a callable progress(step, loss); got {progress!r}")
    tokens, labels = _check_data(model, tokens, labels)
    device = resolve_device(device)
    tokens = tokens.to(model.head.weight.dtype).to(device)
    labels = labels.to(device)
    model.to(device)
    g = as_generator(seed, "seed")
    model.train()
    n = tokens.shape[0]

    def loss_fn(step: int) -> torch.Tensor:
        idx = torch.randint(n, (min(batch_size, n),), generator=g)
        return _loss(model, tokens[idx], labels[idx])

    history = fit(model.parameters(), loss_fn,
                  OptimiserConfig("adam", lr, schedule="cosine", final_lr_fraction=final_lr_fraction), n_steps,
                  log_every=log_every, average_loss=True, progress=progress, desc="pretrain")
    model.eval()
    model.to("cpu")
    return SupervisedResult(model, history)


@torch.no_grad()
def action_probabilities(model: CausalTransformerPolicy, tokens) -> torch.Tensor:
    """The model's action distributions (B, N, A) at every position of ``tokens`` (B, N, token_dim), float64
    (chapter 9): entry ``[:, t]`` is the model's ``Alg_theta(. | D_t)``."""
    check_model(model)
    tokens = as_tensor(tokens, "tokens")
    model.eval()
    return torch.softmax(model(tokens).double(), -1)


def transformer_expert(model: CausalTransformerPolicy, greedy: bool = False, tokens_fn=bandit_tokens):
    """The trained model as an expert of :mod:`icrl_lib.rl.experts` (chapter 9).

    Returns ``expert(bandit, actions (B, t), rewards (B, t), generator) -> probs (B, A)``: the model's
    distribution at the last position of ``tokens_fn(bandit, actions, rewards)`` (its own history as context
    when run by ``rl.run_bandit``), or with ``greedy=True`` the one-hot of its argmax (ties to the lowest index):
    offline deployment on a given dataset.
    """
    check_model(model)
    greedy = check_bool(greedy, "greedy")
    if not callable(tokens_fn):
        raise ValueError(f"tokens_fn must be a callable tokens_fn(bandit, actions, rewards); got {tokens_fn!r}")

    def expert(bandit, actions, rewards, generator=None):
        probs = action_probabilities(model, tokens_fn(bandit, actions, rewards))[:, -1]
        if greedy:
            probs = F.one_hot(probs.argmax(-1), probs.shape[-1]).double()
        return probs.to(bandit.means.dtype)
    return expert
