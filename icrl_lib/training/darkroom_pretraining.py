"""DPT in the Dark Room ([DPT23]'s navigation task, our CPU-sized protocol; chapter 9).

:func:`darkroom_tokens` encodes random-transition contexts and a query state, :func:`darkroom_dataset` labels
them with the optimal action, :func:`darkroom_online` deploys a trained model with frozen weights for several
episodes, and :func:`darkroom_experiment` is the ``dpt-darkroom`` run of the command line.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Callable

import torch

from .._validation import as_generator, as_tensor, check_indices, check_int, check_positive
from ..rl import DarkRoom, mean_and_se, darkroom_goal_split
from ._checks import check_choice, check_isinstance
from .supervised import (TransformerConfig, ATTENTIONS, CausalTransformerPolicy, check_model, action_probabilities,
                         pretrain_supervised)

__all__ = ["darkroom_token_dim", "darkroom_tokens", "darkroom_dataset", "darkroom_online", "DarkRoomConfig",
           "darkroom_experiment"]


# ------------------------------------------------------------------------------------------------ Dark Room

ENCODINGS = ("xy", "onehot")


def darkroom_token_dim(room: DarkRoom, encoding: str = "xy") -> int:
    """Token size of :func:`darkroom_tokens` (chapter 9): ``1 + 2 + 2 + A + 1 + 2`` with ``encoding="xy"``,
    ``1 + S + A + 1 + S`` with ``"onehot"``."""
    check_choice(encoding, "encoding", ENCODINGS)
    _check_room(room, encoding)
    if encoding == "xy":
        return 8 + room.n_actions
    return 2 + room.n_actions + 2 * room.n_states


def _check_room(room, encoding: str = "onehot") -> None:
    # a DarkRoom, or (one-hot codes only) any environment with n_states and n_actions, e.g. a TabularMDP
    if isinstance(room, DarkRoom):
        return
    if encoding == "xy" or not all(isinstance(getattr(room, k, None), int) for k in ("n_states", "n_actions")):
        raise ValueError(f"room must be a DarkRoom (or, with encoding='onehot', an MDP with integer n_states and "
                         f"n_actions); got {type(room).__name__}")


def _cells(room: DarkRoom, s: torch.Tensor, encoding: str) -> torch.Tensor:
    if encoding == "onehot":
        return torch.nn.functional.one_hot(s, room.n_states).double()
    return torch.stack([s // room.size, s % room.size], -1).double() / (room.size - 1)


def darkroom_tokens(room: DarkRoom, queries, states, actions, rewards, next_states, encoding: str = "xy"
                    ) -> torch.Tensor:
    """DPT tokens for the Dark Room (chapter 9), shape (B, n + 1, :func:`darkroom_token_dim`).

    Token 0 is the query ``(1, c(q), 0, 0, 0, 0)``; token ``j >= 1`` is transition ``j`` of the context,
    ``(0, 0, c(s_j), onehot(a_j), r_j, c(s'_j))``, where a cell's code ``c`` is its coordinates ``(x, y) / (size - 1)``
    (``encoding="xy"``, the chapter's) or its one-hot (``"onehot"``; then the query's code shares the slot of
    ``c(s_j)``). ``queries`` (B,) and the transitions (B, n), ``n`` may be 0. The prediction at position ``j`` is
    the action for the query state given the first ``j`` transitions.
    """
    dim = darkroom_token_dim(room, encoding)
    A, S = room.n_actions, room.n_states
    q = check_indices(queries, "queries", S)
    s = check_indices(states, "states", S)
    a = check_indices(actions, "actions", A)
    s2 = check_indices(next_states, "next_states", S)
    r = as_tensor(rewards, "rewards", dtype=torch.float64)
    if s.dim() != 2:
        raise ValueError(f"states must have shape (B, n); got {tuple(s.shape)}")
    B, n = s.shape
    if q.shape != (B,) or a.shape != (B, n) or s2.shape != (B, n) or r.shape != (B, n):
        raise ValueError(f"queries must have shape (B,) and the transitions (B, n) = ({B}, {n}); got "
                         f"{tuple(q.shape)}, {tuple(a.shape)}, {tuple(r.shape)}, {tuple(s2.shape)}")
    c = 2 if encoding == "xy" else room.n_states                  # size of one cell code
    q_slot, s_slot = 1, (3 if encoding == "xy" else 1)            # onehot: the query shares the slot of s_j
    tok = torch.zeros(B, n + 1, dim, dtype=torch.float64)
    tok[:, 0, 0] = 1.0
    tok[:, 0, q_slot:q_slot + c] = _cells(room, q, encoding)
    if n:
        tok[:, 1:, s_slot:s_slot + c] = _cells(room, s, encoding)
        tok[:, 1:, s_slot + c:s_slot + c + A] = torch.nn.functional.one_hot(a, A).double()
        tok[:, 1:, s_slot + c + A] = r
        tok[:, 1:, s_slot + c + A + 1:] = _cells(room, s2, encoding)
    return tok


def darkroom_dataset(room: DarkRoom, n_contexts: int, context_len: int, generator, encoding: str = "xy"
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """DPT pretraining data for the Dark Room (chapter 9): for each goal of ``room``, ``n_contexts`` contexts of
    ``context_len`` uniformly random transitions and a uniform query state, labelled at every position with the
    query's optimal action. Returns ``tokens`` (B * n_contexts, n + 1, dim) and ``labels`` (B * n_contexts, n + 1).
    ``generator``: a ``torch.Generator`` or an int seed."""
    check_choice(encoding, "encoding", ENCODINGS)
    _check_room(room, encoding)
    n_contexts, n = check_int(n_contexts, "n_contexts"), check_int(context_len, "context_len")
    g = as_generator(generator)
    big = room.select(torch.arange(room.n_tasks).repeat_interleave(n_contexts))
    tr = big.random_transitions(n, g)
    q = torch.randint(room.n_states, (big.n_tasks,), generator=g)
    labels = big.optimal_actions().gather(1, q.unsqueeze(-1)).expand(big.n_tasks, n + 1)
    return darkroom_tokens(big, q, *tr, encoding=encoding), labels.contiguous()


def darkroom_online(model: CausalTransformerPolicy, room: DarkRoom, n_episodes: int, context_len: int, generator,
                    encoding: str = "xy") -> torch.Tensor:
    """Online deployment of a DPT model in ``room`` with frozen weights (chapter 9): before each episode the
    model's policy at every state is read with the last ``context_len`` transitions of the previous episodes as
    context (none before the first), and the episode is played by sampling from it. Returns the returns
    (B, n_episodes). ``generator``: a ``torch.Generator`` or an int seed."""
    check_model(model)
    dim = darkroom_token_dim(room, encoding)
    if model.token_dim != dim or model.n_actions != room.n_actions:
        raise ValueError(f"model must read tokens of size {dim} and output {room.n_actions} actions for this room "
                         f"(encoding {encoding!r}); got token_dim = {model.token_dim}, n_actions = {model.n_actions}")
    n_episodes, context_len = check_int(n_episodes, "n_episodes"), check_int(context_len, "context_len")
    g = as_generator(generator)
    B, S = room.n_tasks, room.n_states
    past = [torch.zeros(B, 0, dtype=torch.long), torch.zeros(B, 0, dtype=torch.long),
            torch.zeros(B, 0, dtype=torch.float64), torch.zeros(B, 0, dtype=torch.long)]
    rows = room.select(torch.arange(B).repeat_interleave(S))
    queries = torch.arange(S).repeat(B)
    returns = torch.zeros(B, n_episodes, dtype=torch.float64)
    for k in range(n_episodes):
        ctx = [x[:, -context_len:].repeat_interleave(S, 0) for x in past]
        tokens = darkroom_tokens(rows, queries, *ctx, encoding=encoding)
        policy = action_probabilities(model, tokens)[:, -1].view(B, S, -1)
        ep = room.rollout(policy, g)
        returns[:, k] = ep.rewards.sum(-1)
        past = [torch.cat([p, e], 1) for p, e in zip(past, ep)]
    return returns


@dataclass
class DarkRoomConfig:
    """Settings of chapter 9's Dark Room DPT run (our protocol, CPU-sized): a ``size x size`` room, episodes of
    ``horizon`` steps, ``n_test_goals`` held-out goals, ``n_contexts`` random-transition contexts of
    ``context_len`` per training goal, online evaluation over ``n_episodes`` episodes with ``n_repeats`` runs per
    goal."""

    size: int = 5
    horizon: int = 25
    n_test_goals: int = 5
    context_len: int = 50
    n_contexts: int = 1000
    n_layers: int = 3
    d_model: int = 32
    n_heads: int = 2
    attention: str = "softmax"
    n_steps: int = 1500
    batch_size: int = 128
    lr: float = 1e-3
    n_episodes: int = 10
    n_repeats: int = 20
    encoding: str = "xy"
    seed: int = 0

    @property
    def model(self) -> TransformerConfig:
        """The model part of the config (:class:`~icrl_lib.training.supervised.TransformerConfig`)."""
        return TransformerConfig(self.n_layers, self.d_model, self.n_heads, self.attention)

    def __post_init__(self):
        self.model  # checks n_layers, d_model, n_heads and attention in one place
        check_int(self.size, "size", minimum=2)
        for name in ("horizon", "n_test_goals", "context_len", "n_contexts", "n_layers", "d_model", "n_heads",
                     "n_steps", "batch_size", "n_episodes", "n_repeats"):
            check_int(getattr(self, name), name)
        if self.n_test_goals >= self.size ** 2:
            raise ValueError(f"n_test_goals must leave at least one training goal: at most size^2 - 1 = "
                             f"{self.size ** 2 - 1}; got {self.n_test_goals}")
        if min(self.n_test_goals, self.size ** 2 - self.n_test_goals) * self.n_repeats < 2:
            raise ValueError(f"n_repeats must give at least 2 rooms per split (standard errors): n_repeats * "
                             f"min(n_test_goals, size^2 - n_test_goals) >= 2; got n_repeats = {self.n_repeats}")
        if self.d_model % self.n_heads:
            raise ValueError(f"n_heads must divide d_model; got d_model = {self.d_model}, n_heads = {self.n_heads}")
        check_choice(self.attention, "attention", ATTENTIONS)
        check_positive(self.lr, "lr")
        check_choice(self.encoding, "encoding", ENCODINGS)
        check_int(self.seed, "seed", minimum=0)


def darkroom_experiment(cfg: DarkRoomConfig, progress: bool | Callable = False,
                        log: Callable[[str], None] | None = None, device=None) -> dict:
    """Train DPT on random-transition contexts of the training goals, then deploy it online with frozen weights on
    the held-out and the training goals (chapter 9). Returns returns per episode (mean, se) for ``test`` and
    ``train`` goals, the optimal and uniform-policy returns, the goal split, the loss history and CPU seconds.
    ``device``: where the model trains (:func:`pretrain_supervised`)."""
    check_isinstance(cfg, "cfg", DarkRoomConfig)
    log = log or (lambda line: None)
    t0 = time.process_time()
    train_goals, test_goals = darkroom_goal_split(cfg.size, cfg.n_test_goals, cfg.seed)
    room = DarkRoom(train_goals, cfg.size, cfg.horizon)
    tokens, labels = darkroom_dataset(room, cfg.n_contexts, cfg.context_len, cfg.seed, cfg.encoding)
    model = cfg.model.build(darkroom_token_dim(room, cfg.encoding), room.n_actions, cfg.context_len + 1, cfg.seed)
    result = pretrain_supervised(model, tokens, labels, cfg.n_steps, cfg.batch_size, cfg.lr, seed=cfg.seed,
                                 log_every=max(1, cfg.n_steps // 20), progress=progress, device=device)
    t_train = time.process_time() - t0
    log(f"trained in {t_train:.0f} s CPU; final loss {result.history['loss'][-1]:.4g}")
    out = {"train_goals": train_goals.tolist(), "test_goals": test_goals.tolist(), "returns": {}}
    for split, goals in (("test", test_goals), ("train", train_goals)):
        rooms = DarkRoom(goals.repeat_interleave(cfg.n_repeats), cfg.size, cfg.horizon)
        R = darkroom_online(model, rooms, cfg.n_episodes, cfg.context_len, 40_000 + cfg.seed, cfg.encoding)
        m, se = mean_and_se(R)
        uni = torch.full((rooms.n_tasks, rooms.n_states, rooms.n_actions), 1.0 / rooms.n_actions)
        R_uni = rooms.rollout(uni, 50_000 + cfg.seed).rewards.sum(-1)
        out["returns"][split] = {"mean": m.tolist(), "se": se.tolist(),
                                 "optimal": float(rooms.optimal_return().mean()), "uniform": float(R_uni.mean())}
        log(f"{split}: return per episode {[round(v, 1) for v in m.tolist()]}, optimal "
            f"{out['returns'][split]['optimal']:.1f}")
    out["training"] = result.history
    out["config"] = asdict(cfg)
    out["seconds"] = {"train": t_train, "total": time.process_time() - t0}
    return out


