"""The Dark Room: a small episodic grid world with an unseen goal, batched over goals ([DPT23], chapter 9).

The agent moves on a ``size x size`` grid (state ``s = x * size + y``), starts every episode at ``start``
(the corner ``(0, 0)`` by default) and acts for ``horizon`` steps. Actions: 0 stay, 1 ``y + 1``, 2 ``y - 1``,
3 ``x - 1``, 4 ``x + 1`` (a move into a wall stays put). The reward is 1 at every step whose *next* state is the
goal and 0 otherwise; the goal is never observed, only its reward. One :class:`DarkRoom` holds ``B`` goals and
moves all of them in one tensor operation.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .._validation import as_generator, as_tensor, check_indices, check_int, check_stochastic, select_rows
from .sampling import categorical_unchecked

__all__ = ["DarkRoom", "DarkRoomEpisodes", "darkroom_goal_split"]

MOVES = ((0, 0), (0, 1), (0, -1), (-1, 0), (1, 0))


class DarkRoomEpisodes(NamedTuple):
    """Transitions of Dark Room episodes (chapter 9): ``states``, ``actions``, ``rewards``, ``next_states``, each
    (B, n) (``n = n_episodes * horizon`` for :meth:`DarkRoom.rollout`, in time order)."""

    states: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_states: torch.Tensor


class DarkRoom:
    """``B`` Dark Rooms that differ only in their goal (chapter 9, [DPT23]'s Dark Room at 5 x 5).

    Args:
        goals: (B,) goal cells in ``[0, size^2)``.
        size: side of the grid (default 5).
        horizon: steps per episode (default 25).
        start: the start cell of every episode (default 0, the corner).
    """

    n_actions = len(MOVES)

    def __init__(self, goals, size: int = 5, horizon: int = 25, start: int = 0):
        self.size = check_int(size, "size", minimum=2)
        self.horizon = check_int(horizon, "horizon")
        S = self.size ** 2
        # check_indices rejects booleans (read as cells 0/1), floats (truncated) and cells outside the grid
        goals = check_indices(goals, "goals", S)
        if goals.dim() != 1 or goals.numel() == 0:
            raise ValueError(f"goals must be a non-empty (B,) integer tensor; got shape {tuple(goals.shape)}")
        self.goals = goals
        self.start = check_int(start, "start", minimum=0)
        if self.start >= S:
            raise ValueError(f"start must be a cell in [0, {S}); got {start}")
        xy = torch.stack(torch.meshgrid(torch.arange(self.size), torch.arange(self.size), indexing="ij"), -1)
        xy = xy.reshape(S, 1, 2) + torch.tensor(MOVES)                                 # (S, A, 2)
        xy = xy.clamp(0, self.size - 1)
        #: (S, A) the next cell of every (state, action): the deterministic kernel, shared by all goals.
        self.next_state = xy[..., 0] * self.size + xy[..., 1]

    @property
    def n_states(self) -> int:
        """Number of cells ``S = size^2``."""
        return self.size ** 2

    @property
    def n_tasks(self) -> int:
        """Number of goals ``B``."""
        return self.goals.shape[0]

    def select(self, index) -> "DarkRoom":
        """The rooms of the goals ``goals[index]`` (chapter 9); ``index`` an int, slice, or integer or boolean
        array."""
        return DarkRoom(self.goals[select_rows(index, self.n_tasks, "index")], self.size, self.horizon, self.start)

    def _check_states(self, states, name: str) -> torch.Tensor:
        s = check_indices(states, name, self.n_states)
        if s.dim() < 1 or s.shape[0] != self.n_tasks:
            raise ValueError(f"{name} must have shape (B, ...) with B = {self.n_tasks}; got {tuple(s.shape)}")
        return s

    def distance(self, states) -> torch.Tensor:
        """Manhattan distance (B, ...) from ``states`` (B, ...) integer cells to each room's goal (chapter 9)."""
        states = self._check_states(states, "states")
        g = self.goals.view(-1, *([1] * (states.dim() - 1)))
        return (states // self.size - g // self.size).abs() + (states % self.size - g % self.size).abs()

    def step(self, states, actions) -> tuple[torch.Tensor, torch.Tensor]:
        """Next states and rewards (both (B, ...)) of ``actions`` in ``states`` (B, ...) (chapter 9): integer
        cells in [0, S) and actions in [0, 5) (floats, booleans and out-of-range values are refused, not
        truncated or wrapped)."""
        states = self._check_states(states, "states")
        actions = check_indices(actions, "actions", self.n_actions)
        if states.shape != actions.shape:
            raise ValueError(f"actions must have the shape of states (B, ...) = {tuple(states.shape)}; got "
                             f"{tuple(actions.shape)}")
        nxt = self.next_state[states, actions]
        return nxt, (nxt == self.goals.view(-1, *([1] * (nxt.dim() - 1)))).double()

    def optimal_actions(self) -> torch.Tensor:
        """(B, S) the optimal action of every cell: the lowest-index action whose next cell is closest to the goal
        (so 0, stay, at the goal); chapter 9's DPT label."""
        S = self.n_states
        nxt = self.next_state.expand(self.n_tasks, S, self.n_actions)
        return self.distance(nxt.reshape(self.n_tasks, -1)).view(self.n_tasks, S, self.n_actions).argmin(-1)

    def optimal_return(self) -> torch.Tensor:
        """(B,) float64 the return of an optimal episode: ``horizon - distance(start, goal) + 1`` capped at
        ``horizon`` (chapter 9)."""
        d = self.distance(torch.full((self.n_tasks,), self.start))
        return (self.horizon - d + 1).clamp(max=self.horizon).double()

    def random_transitions(self, n: int, generator) -> DarkRoomEpisodes:
        """``n`` transitions per room from uniformly random (state, action) pairs (chapter 9: [DPT23]'s random
        pretraining contexts). ``generator``: torch.Generator or int seed."""
        n = check_int(n, "n")
        g = as_generator(generator)
        s = torch.randint(self.n_states, (self.n_tasks, n), generator=g)
        a = torch.randint(self.n_actions, (self.n_tasks, n), generator=g)
        s2, r = self.step(s, a)
        return DarkRoomEpisodes(s, a, r, s2)

    def rollout(self, policy, generator) -> DarkRoomEpisodes:
        """One episode per room from ``start`` under ``policy`` (B, S, A) (rows are action distributions), time
        loop only (chapter 9). Returns (B, horizon) transitions. ``generator``: torch.Generator or int seed.

        Every row of ``policy`` must be a probability vector (finite, non-negative, summing to 1; float32 rows
        within float32 rounding): an all-zero, NaN or negative row would otherwise be read as the last action."""
        policy = as_tensor(policy, "policy")
        if policy.shape != (self.n_tasks, self.n_states, self.n_actions):
            raise ValueError(f"policy must have shape (B, S, A) = ({self.n_tasks}, {self.n_states}, "
                             f"{self.n_actions}); got {tuple(policy.shape)}")
        check_stochastic(policy, "policy")
        g = as_generator(generator)
        H, B = self.horizon, self.n_tasks
        out = [torch.zeros(B, H, dtype=torch.long) for _ in range(2)] + [torch.zeros(B, H, dtype=torch.float64),
                                                                          torch.zeros(B, H, dtype=torch.long)]
        s = torch.full((B,), self.start, dtype=torch.long)
        rows = torch.arange(B)
        for t in range(H):
            a = categorical_unchecked(policy[rows, s].double(), g)
            s2, r = self.step(s, a)
            for buf, v in zip(out, (s, a, r, s2)):
                buf[:, t] = v
            s = s2
        return DarkRoomEpisodes(*out)


def darkroom_goal_split(size: int = 5, n_test: int = 5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A random split of the ``size^2`` goal cells into training and held-out goals (chapter 9); returns
    ``(train_goals, test_goals)`` sorted, with ``n_test`` held-out goals. ``seed``: an int or a
    ``torch.Generator``."""
    S = check_int(size, "size", minimum=2) ** 2
    n_test = check_int(n_test, "n_test")
    if n_test >= S:
        raise ValueError(f"n_test must be < size^2 = {S}; got {n_test}")
    perm = torch.randperm(S, generator=as_generator(seed, "seed"))
    return perm[n_test:].sort().values, perm[:n_test].sort().values
