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

from .._validation import as_tensor, check_int, check_shape
from .layout import PromptLayout, assemble, block_rows

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
        params = as_tensor(params, "params")
        blocks = {k: as_tensor(v, f"data[{k!r}]", dtype=params.dtype) for k, v in data.items()}
        rewards = as_tensor(rewards, "rewards", dtype=params.dtype)
        blocks["r"] = rewards.unsqueeze(-1)
        query = {"one": torch.ones(1, dtype=params.dtype), **self.split_params(params, n_states, n_actions)}
        return assemble(self.layout(n_states, n_actions), blocks, query, params.dtype)

    def readout(self, H, n_states: int, n_actions: int) -> torch.Tensor:
        """The parameters ``(..., n_params)`` in the output rows of the query column of ``H``."""
        return H[..., self.output_rows(n_states, n_actions), -1]

    def sample_parameters(self, n: int, n_states: int, n_actions: int, scales: Mapping,
                          generator: torch.Generator) -> torch.Tensor:
        """``n`` parameter vectors ``(n, n_params)``: block ``b`` drawn ``N(0, scales[b]^2 I)``, blocks in order."""
        n = check_int(n, "n")
        if not isinstance(generator, torch.Generator):
            raise ValueError("generator must be a torch.Generator")
        L = self.layout(n_states, n_actions)
        missing = [b for b in self.output_blocks if b not in scales]
        if missing:
            raise ValueError(f"scales must give a scale for every output block {self.output_blocks}; missing {missing}")
        return torch.cat([float(scales[b]) * torch.randn(n, L.size(b), generator=generator, dtype=torch.float64)
                          for b in self.output_blocks], -1)
