"""LinearTransformer against apply_layers: constructions, shared vs separate layers, initialisation."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from icrl_lib.attention import apply_layers
from icrl_lib.incontext import td_construction
from icrl_lib.incontext import td_prompt
from icrl_lib.attention import LinearTransformer

F64 = torch.float64


def named(arg: str) -> str:
    return rf"^{re.escape(arg)}\b"


def random_prompts(B=4, n=6, d=3, seed=0):
    rng = np.random.default_rng(seed)
    return td_prompt(rng.normal(size=(B, n, d)), rng.normal(size=(B, n, d)), rng.normal(size=(B, n)),
                     rng.normal(size=(B, d)), 0.9)


def test_from_layers_reproduces_apply_layers_on_the_construction():
    d, L = 3, 4
    C = 0.2 * torch.randn(L, d, d, generator=torch.Generator().manual_seed(1), dtype=F64)
    layers = td_construction(d, L, C)
    model = LinearTransformer.from_layers(layers)
    assert not model.shared and model.mask and model.P.dtype == F64 and model.P.shape == (L, 2 * d + 1, 2 * d + 1)
    Z = random_prompts(d=d)
    assert torch.allclose(model(Z), apply_layers(Z, layers, mask=True), atol=1e-13, rtol=0)
    unmasked = LinearTransformer.from_layers(layers, mask=False)
    assert torch.allclose(unmasked(Z), apply_layers(Z, layers, mask=False), atol=1e-13, rtol=0)
    for (P, V), (P2, V2) in zip(model.layer_params(), layers):
        assert torch.equal(P, P2) and torch.equal(V, V2)
    assert LinearTransformer.from_layers(layers, dtype=torch.float32).P.dtype == torch.float32


def test_shared_layers_apply_one_pair_L_times():
    D, L = 7, 3
    shared = LinearTransformer(D, L, shared=True, init_gain=0.5, seed=3, dtype=F64)
    assert shared.P.shape == (1, D, D) and shared.V.shape == (1, D, D)
    pair = (shared.P[0].detach(), shared.V[0].detach())
    Z = random_prompts()
    expected = apply_layers(Z, [pair] * L, mask=True)
    assert torch.allclose(shared(Z), expected, atol=1e-13, rtol=0)
    separate = LinearTransformer.from_layers([pair] * L)
    assert torch.allclose(separate(Z), shared(Z), atol=1e-13, rtol=0)
    params = shared.layer_params()
    assert len(params) == L and all(torch.equal(p[0], pair[0]) for p in params)
    params[0][0].zero_()                                 # copies, not views of the parameters
    assert not torch.equal(shared.P[0].detach(), params[0][0])


def test_initialisation_is_seeded_and_scaled():
    a, b = LinearTransformer(9, 3, seed=5), LinearTransformer(9, 3, seed=5)
    c = LinearTransformer(9, 3, seed=6)
    assert torch.equal(a.P, b.P) and torch.equal(a.V, b.V) and not torch.equal(a.P, c.P)
    assert a.P.dtype == torch.float32
    big = LinearTransformer(40, 2, shared=False, init_gain=1.0, seed=0, dtype=F64)
    std = float(torch.cat([big.P.detach().flatten(), big.V.detach().flatten()]).std())
    assert abs(std - 1.0 / math.sqrt(40) / 2) < 0.01   # gain / sqrt(D) / L for separate layers
    zero = LinearTransformer(5, 2, init_gain=0.0)
    assert float(zero.P.detach().abs().max()) == 0.0 and torch.equal(zero(random_prompts(d=2)).detach(), random_prompts(d=2).float())


def test_gradients_reach_every_layer():
    model = LinearTransformer(7, 3, shared=False, init_gain=0.3, seed=0, dtype=F64)
    model(random_prompts())[..., -1, -1].pow(2).sum().backward()
    assert all(float(g.abs().sum()) > 0 for g in (model.P.grad[l] for l in range(3)))


def test_bad_input_raises():
    with pytest.raises(ValueError, match=named("dim")):
        LinearTransformer(0, 1)
    with pytest.raises(ValueError, match=named("n_layers")):
        LinearTransformer(3, 0)
    with pytest.raises(ValueError, match=named("init_gain")):
        LinearTransformer(3, 1, init_gain=-1.0)
    with pytest.raises(ValueError, match=named("seed")):
        LinearTransformer(3, 1, seed=-1)
    model = LinearTransformer(7, 2)
    for bad in (torch.zeros(5, 4), torch.zeros(7, 1), torch.zeros(7)):
        with pytest.raises(ValueError, match=named("Z")):
            model(bad)
    with pytest.raises(ValueError, match=named("layers")):
        LinearTransformer.from_layers([])
    with pytest.raises(ValueError, match=re.escape("layers[1][0]")):
        LinearTransformer.from_layers([(torch.zeros(3, 3), torch.zeros(3, 3)), (torch.zeros(4, 4), torch.zeros(3, 3))])
