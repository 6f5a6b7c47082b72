"""The interface of an in-context algorithm: what the registry knows about each one (chapters 4-7).

An :class:`InContextAlgorithm` bundles, for the tabular one-hot setting with ``S`` states and ``A`` actions:
the prompt layout, the parameter (output) blocks read out of the query column, the closed-form construction
(a block table), the feature builder that turns sampled transitions into data blocks, the explicit
("teacher") update, the behaviour policy, the parameter sampler and the one-hot null patterns. Everything
that is the same for every algorithm (prompt assembly, readout, output rows, sampling parameters) is
implemented here once; an algorithm file subclasses it and fills in the algorithm-specific parts.
"""
from __future__ import annotations

from typing import Mapping, NamedTuple

import torch

from .._validation import (as_generator, as_tensor, broadcast_batch, check_finite_result, check_indices, check_int, check_real,
                           check_shape)
from .layout import PromptLayout, assemble, block_rows, check_prompt

__all__ = ["Hyperparameters", "InContextAlgorithm"]


class Hyperparameters(NamedTuple):
    """Step sizes and discount of an in-context algorithm (chapters 4-5): critic step ``alpha``, actor step
    ``beta`` (unused by SARSA), discount ``gamma``, behaviour temperature ``temperature``.

    Any object with these four attributes works where ``hp`` is expected (for example a
    :class:`icrl_lib.incontext.PromptDistribution`).
    """

    alpha: float = 1.0
    beta: float = 1.0
    gamma: float = 0.9
    temperature: float = 1.0


def check_hp(hp, fields=("alpha", "gamma")):
    """``hp`` has the hyper-parameter attributes ``fields`` (a :class:`Hyperparameters` or a
    :class:`~icrl_lib.incontext.PromptDistribution`); the values are checked where they are used."""
    missing = [f for f in fields if not hasattr(hp, f)]
    if missing:
        raise ValueError(f"hp must have the attributes {list(fields)} (for example a Hyperparameters); "
                         f"{type(hp).__name__} lacks {missing}")
    return hp


def check_transition_fields(transitions, n_states: int, n_actions: int):
    """``transitions`` is an :class:`icrl_lib.rl.Transitions` whose fields share one shape ``(..., N)``, with
    states in ``[0, S - 1]``, actions in ``[0, A - 1]`` and finite rewards; returns the rewards (float64)."""
    fields = ("s", "a", "r", "s_next", "a_next")
    if not all(hasattr(transitions, f) for f in fields):
        raise ValueError(f"transitions must be an icrl_lib.rl.Transitions (fields {fields}); got "
                         f"{type(transitions).__name__}")
    S, A = check_int(n_states, "n_states"), check_int(n_actions, "n_actions")
    idx = {f: check_indices(getattr(transitions, f), f"transitions.{f}", S if f.startswith("s") else A)
           for f in ("s", "a", "s_next", "a_next")}
    r = as_tensor(transitions.r, "transitions.r", dtype=torch.float64)
    shapes = {f: tuple(t.shape) for f, t in idx.items()} | {"r": tuple(r.shape)}
    if len(set(shapes.values())) != 1 or r.dim() < 1 or r.shape[-1] < 1:
        raise ValueError(f"transitions fields must share one shape (..., N) with N >= 1; got {shapes}")
    return r


def check_data(data, names) -> Mapping:
    """``data`` is a mapping holding the data blocks ``names`` (as built by ``transition_data``)."""
    if not isinstance(data, Mapping):
        raise ValueError(f"data must be a mapping {{block name: (..., N, size)}}; got {type(data).__name__}")
    missing = [n for n in names if n not in data]
    if missing:
        raise ValueError(f"data must hold the blocks {list(names)}; missing {missing}")
    return data


def finite_update(t: torch.Tensor) -> torch.Tensor:
    """The teacher's new parameters, refused if the step overflowed."""
    return check_finite_result(t, "the teacher update", "reduce alpha (and beta) or the scale of params and rewards")


class InContextAlgorithm:
    """Base class of the registry entries (chapters 4-7); see the module docstring.

    Subclasses set ``name`` and ``output_blocks`` and implement :meth:`layout`, :meth:`blocks`,
    :meth:`construction`, :meth:`transition_data`, :meth:`teacher_update`, :meth:`behaviour_policy` and
    :meth:`null_patterns`. Parameters are one flat vector ``(..., n_params)``: the output blocks in order
    (``w`` for SARSA; ``(w; theta)`` for actor-critic). Every parameter layout has a ``one`` block (the
    constant 1 of the query) followed by the output blocks, and an ``r`` data block for the rewards.
    """

    name: str = ""
    output_blocks: tuple = ("w",)

    def __repr__(self) -> str:
        return f"<in-context algorithm {self.name!r}>"

    # ----------------------------------------------------------------- algorithm-specific
    def layout(self, n_states: int, n_actions: int) -> PromptLayout:
        """The prompt layout for ``S`` states and ``A`` actions."""
        raise NotImplementedError

    def blocks(self, n_states: int, n_actions: int, hp) -> dict:
        """The construction as a block table on :meth:`layout` (coefficients may be sympy symbols)."""
        raise NotImplementedError

    def construction(self, n_states: int, n_actions: int, hp, dtype: torch.dtype = torch.float64
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """The exact ``(P*, V*)`` (each ``D x D``): one block = one teacher update (validates ``hp``)."""
        raise NotImplementedError

    def transition_data(self, transitions, params: torch.Tensor, n_states: int, n_actions: int, hp) -> dict:
        """The data blocks (all but ``r``) built from sampled ``transitions`` (fields ``(..., N)``) and the
        current ``params`` ``(..., n_params)``: ``{name: (..., N, size)}`` (float64)."""
        raise NotImplementedError

    def teacher_update(self, params, data: Mapping, rewards, n_states: int, n_actions: int, hp) -> torch.Tensor:
        """The explicit update of ``params`` ``(..., n_params)`` on the data blocks and rewards ``(..., N)``."""
        raise NotImplementedError

    def behaviour_policy(self, params, n_states: int, n_actions: int, temperature: float = 1.0) -> torch.Tensor:
        """The policy ``(..., S, A)`` that collects the context for the current ``params``."""
        raise NotImplementedError

    def null_patterns(self, n_states: int, n_actions: int) -> list:
        """Data-row patterns ``p`` (length ``n_data``) with ``p^T h_t = 0`` on every context token of the
        one-hot prompts: ``P[data, param] += p a^T`` and ``V[out, data] += c p^T`` leave every readout unchanged."""
        raise NotImplementedError

    # ----------------------------------------------------------------- generic
    def n_params(self, n_states: int, n_actions: int) -> int:
        """Length of the flat parameter vector (sum of the output block sizes)."""
        L = self.layout(n_states, n_actions)
        return sum(L.size(n) for n in self.output_blocks)

    def output_rows(self, n_states: int, n_actions: int) -> torch.Tensor:
        """Row indices (LongTensor) of the output blocks in the query column, in parameter order."""
        return block_rows(self.layout(n_states, n_actions), self.output_blocks)

    def split_params(self, params, n_states: int, n_actions: int) -> dict:
        """``{block: (..., size)}``: the flat ``params`` ``(..., n_params)`` cut into the output blocks."""
        L = self.layout(n_states, n_actions)
        params = as_tensor(params, "params")
        check_shape(params, "params", (self.n_params(n_states, n_actions),))
        out, start = {}, 0
        for n in self.output_blocks:
            out[n] = params[..., start: start + L.size(n)]
            start += L.size(n)
        return out

    def prompt(self, data: Mapping, rewards, params, n_states: int, n_actions: int) -> torch.Tensor:
        """The prompt ``(..., D, N+1)``: context columns from ``data`` and ``rewards`` (..., N), query column
        ``(0; 1; params)``."""
        if not isinstance(data, Mapping):
            raise ValueError(f"data must be a mapping {{block name: (..., N, size)}}; got {type(data).__name__}")
        params = as_tensor(params, "params")
        blocks = {k: as_tensor(v, f"data[{k!r}]", dtype=params.dtype) for k, v in data.items()}
        rewards = as_tensor(rewards, "rewards", dtype=params.dtype)
        check_shape(params, "params", (self.n_params(n_states, n_actions),))
        if blocks:
            first = next(iter(blocks.values()))
            N = first.shape[-2] if first.dim() >= 2 else None
            check_shape(rewards, "rewards", (N,))
            shapes = {f"data[{k!r}]": v.shape for k, v in blocks.items()} | {"rewards": rewards.shape,
                                                                             "params": params.shape}
            broadcast_batch(shapes, {k: 2 for k in shapes} | {"rewards": 1, "params": 1})
        blocks["r"] = rewards.unsqueeze(-1)
        query = {"one": torch.ones(1, dtype=params.dtype), **self.split_params(params, n_states, n_actions)}
        return assemble(self.layout(n_states, n_actions), blocks, query, params.dtype)

    def readout(self, H, n_states: int, n_actions: int) -> torch.Tensor:
        """The parameters ``(..., n_params)`` in the output rows of the query column of ``H`` ``(..., D, N+1)``."""
        H = check_prompt(H, "H", self.layout(n_states, n_actions).dim)
        return H[..., self.output_rows(n_states, n_actions), -1]

    def sample_parameters(self, n: int, n_states: int, n_actions: int, scales: Mapping,
                          generator: torch.Generator | int) -> torch.Tensor:
        """``n`` parameter vectors ``(n, n_params)``: block ``b`` drawn ``N(0, scales[b]^2 I)``, blocks in order.

        ``scales`` maps every output block to a real ``>= 0``; ``generator`` is a ``torch.Generator`` or an int seed.
        """
        n = check_int(n, "n")
        generator = as_generator(generator)
        L = self.layout(n_states, n_actions)
        if not isinstance(scales, Mapping):
            raise ValueError(f"scales must be a mapping {{output block: scale}}; got {type(scales).__name__}")
        missing = [b for b in self.output_blocks if b not in scales]
        if missing:
            raise ValueError(f"scales must give a scale for every output block {self.output_blocks}; missing {missing}")
        sc = {b: check_real(scales[b], f"scales[{b!r}]") for b in self.output_blocks}
        for b, v in sc.items():
            if v < 0:
                raise ValueError(f"scales[{b!r}] must be >= 0; got {v}")
        return torch.cat([sc[b] * torch.randn(n, L.size(b), generator=generator, dtype=torch.float64)
                          for b in self.output_blocks], -1)
