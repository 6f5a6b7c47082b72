"""Trainable stacks of linear self-attention layers (chapters 3 and 6).

``LinearTransformer`` holds one ``(P, V)`` pair per layer (``shared=False``) or a single pair applied
``n_layers`` times (``shared=True``, [W25]'s default "auto" mode), in the book's convention: ``P`` is the
key-query matrix and ``V`` the value matrix of :func:`icrl_lib.attention.linear_self_attention`.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .._validation import (
    as_generator, as_tensor, check_bool, check_finite_result, check_float_dtype, check_int, check_pairs,
    check_real, check_shape)
from .linear import lsa_unchecked

__all__ = ["LinearTransformer"]


class LinearTransformer(nn.Module):
    """``n_layers`` linear self-attention layers with residual connections, batched over prompts (chapters 3, 6).

    Args:
        dim: token dimension ``D``.
        n_layers: number of layers ``L``.
        shared: one ``(P, V)`` pair for all layers (weight tying) instead of one per layer.
        mask: remove the query column as a source ([W25]).
        init_gain: parameters start as ``N(0, init_gain^2 / D)`` entries (Xavier-normal with gain
            ``init_gain``, [W25] use 0.1), divided by ``L`` for separate layers.
        seed: seed of the initialisation, an int >= 0 or a ``torch.Generator`` (the global generator is not
            touched).
        dtype: parameter dtype (float32 for training, float64 for exactness checks).

    Parameters ``P`` and ``V`` have shape ``(L', D, D)`` with ``L' = 1`` if shared else ``L``.
    """

    def __init__(self, dim: int, n_layers: int, shared: bool = True, mask: bool = True,
                 init_gain: float = 0.1, seed=0, dtype: torch.dtype = torch.float32):
        super().__init__()
        self.dim = check_int(dim, "dim")
        self.n_layers = check_int(n_layers, "n_layers")
        gain = check_real(init_gain, "init_gain")
        if gain < 0:
            raise ValueError(f"init_gain must be >= 0; got {gain}")
        self.shared = check_bool(shared, "shared")
        self.mask = check_bool(mask, "mask")
        dtype = check_float_dtype(dtype)
        n_params = 1 if self.shared else self.n_layers
        g = as_generator(seed, "seed")
        std = gain / math.sqrt(self.dim) / (1 if self.shared else self.n_layers)
        self.P = nn.Parameter(torch.randn(n_params, dim, dim, generator=g, dtype=dtype) * std)
        self.V = nn.Parameter(torch.randn(n_params, dim, dim, generator=g, dtype=dtype) * std)

    @classmethod
    def from_layers(cls, layers, mask: bool = True, dtype: torch.dtype | None = None) -> "LinearTransformer":
        """A (separate-layer) transformer initialised at given ``[(P_1, V_1), ...]``, e.g. a construction (chapter 3)."""
        layers = check_pairs(layers, "layers")
        check_bool(mask, "mask")
        P0 = as_tensor(layers[0][0], "layers[0][0]")
        dtype = P0.dtype if dtype is None else check_float_dtype(dtype)
        check_shape(P0, "layers[0][0]", (None, None), batch=False)
        D = P0.shape[-1]
        model = cls(D, len(layers), shared=False, mask=mask, init_gain=0.0, dtype=dtype)
        with torch.no_grad():
            for l, (P, V) in enumerate(layers):
                P = as_tensor(P, f"layers[{l}][0]", dtype=dtype)
                V = as_tensor(V, f"layers[{l}][1]", dtype=dtype)
                check_shape(P, f"layers[{l}][0]", (D, D), batch=False)
                check_shape(V, f"layers[{l}][1]", (D, D), batch=False)
                model.P[l] = P
                model.V[l] = V
        return model

    def layer_params(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The ``(P_l, V_l)`` actually applied at each of the ``L`` layers (detached copies; chapter 3)."""
        idx = [0] * self.n_layers if self.shared else range(self.n_layers)
        return [(self.P[i].detach().clone(), self.V[i].detach().clone()) for i in idx]

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        """Apply the ``L`` layers to prompts ``Z`` of shape ``(..., D, N+1)`` (chapter 3).

        ``Z`` may be any array (converted, cast to the parameters' dtype); ``ValueError`` for NaN input or an
        output that overflows."""
        Z = as_tensor(Z, "Z")
        if Z.dim() < 2 or Z.shape[-2] != self.dim or Z.shape[-1] < 2:
            raise ValueError(f"Z must have shape (..., {self.dim}, N+1) with N >= 1; got {tuple(Z.shape)}")
        Z = Z.to(self.P.dtype)
        for l in range(self.n_layers):
            i = 0 if self.shared else l
            Z = lsa_unchecked(Z, self.P[i], self.V[i], mask=self.mask)
        return check_finite_result(Z, "the transformer output", "Z or the parameters are too large: rescale Z")
