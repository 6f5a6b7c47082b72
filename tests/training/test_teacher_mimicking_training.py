"""Teacher-mimicking training (chapter 6): the loss at the construction, the scale symmetry, the block readout
against the registry's readout of the attention layer, initialisation, training runs and validation.

(The prompt distribution, its targets and the null directions are tested with icrl_lib.incontext.)
"""
from __future__ import annotations

import pytest
import torch

from icrl_lib.attention import linear_self_attention
from icrl_lib.incontext import ALGORITHMS, PromptDistribution, sample_prompt_batch
from icrl_lib.training import (TeacherMimickingConfig, block_readout, init_parameters, mimicking_loss,
                               train_teacher_mimicking)

ALGS = sorted(ALGORITHMS)
F64 = torch.float64


def _dist(alg, **kw):
    return PromptDistribution(algorithm=alg, **kw)


def _batch(dist, n=16, seed=0):
    return sample_prompt_batch(dist, n, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("alg", ALGS)
def test_construction_has_zero_loss_on_random_batches(alg):
    for seed, kw in [(0, {}), (1, {"w_scale": 3.0, "reward_noise": 1.0}), (2, {"fixed_mdp_seed": 4})]:
        dist = _dist(alg, **kw)
        P, V = dist.construction()
        for mask in (False, True):
            assert float(mimicking_loss(P, V, _batch(dist, 32, seed), dist.output_rows, mask)) < 1e-25


@pytest.mark.parametrize("alg", ALGS)
def test_block_readout_is_the_checked_layer_and_the_loss_a_sum_of_squares(alg):
    dist = _dist(alg, n_transitions=6)
    batch = _batch(dist, 5, seed=1)
    P, V = init_parameters(dist.layout.dim, 1.0, torch.Generator().manual_seed(2), dtype=F64)
    rows = dist.output_rows
    for mask in (False, True):
        out = block_readout(P, V, batch.H, rows, mask)
        ref = linear_self_attention(batch.H, P, V, mask=mask)[..., rows, -1]
        assert torch.allclose(out, ref, atol=1e-12)
        assert torch.allclose(out, dist.spec.readout(linear_self_attention(batch.H, P, V, mask=mask),
                                                     dist.n_states, dist.n_actions), atol=1e-12)
        loss = sum(float(((out[b] - batch.target[b]) ** 2).sum()) for b in range(5)) / 5
        assert abs(float(mimicking_loss(P, V, batch, rows, mask)) - loss) < 1e-10 * max(1.0, loss)


@pytest.mark.parametrize("alg", ALGS)
def test_scale_symmetry_leaves_the_loss_unchanged(alg):
    dist = _dist(alg)
    gen = torch.Generator().manual_seed(1)
    P, V = init_parameters(dist.layout.dim, 1.0, gen, dtype=F64)
    batch, rows = _batch(dist, 16, 2), dist.output_rows
    l0 = mimicking_loss(P, V, batch, rows)
    for c in (-2.0, 0.3, 5.0):
        assert torch.isclose(mimicking_loss(P / c, c * V, batch, rows), l0, rtol=1e-12)


def test_init_parameters_balanced_scaled_and_seeded():
    P, V = init_parameters(47, 0.1, torch.Generator().manual_seed(0), balanced=True, dtype=F64)
    assert abs(float(V.norm()) - float(P.norm())) < 1e-12
    assert 0.05 < float(P.norm()) / (0.1 * 47 ** 0.5) < 1.5         # entries N(0, scale^2 / D)
    P2, V2 = init_parameters(47, 0.1, torch.Generator().manual_seed(0), balanced=True, dtype=F64)
    assert torch.equal(P, P2) and torch.equal(V, V2)
    Pu, Vu = init_parameters(47, 0.1, torch.Generator().manual_seed(0), balanced=False, dtype=F64)
    assert torch.equal(Pu, P) and abs(float(Vu.norm()) - float(Pu.norm())) > 1e-6
    assert init_parameters(4, 0.1, torch.Generator().manual_seed(0))[0].dtype == torch.float32
    P0, V0 = init_parameters(4, 0.0, torch.Generator().manual_seed(0))
    assert torch.all(P0 == 0) and torch.all(V0 == 0)
    with pytest.raises(ValueError, match="scale"):
        init_parameters(4, -1.0, torch.Generator())


@pytest.mark.parametrize("alg", ALGS)
def test_tiny_training_run_is_deterministic_and_decreases_the_loss(alg):
    dist = _dist(alg, n_transitions=10)
    cfg = TeacherMimickingConfig(dist=dist, lr=3e-3, n_steps=60, batch_size=32, log_every=20,
                                 n_eval_prompts=64, seed=1, init_scale=0.5)
    r1, r2 = train_teacher_mimicking(cfg), train_teacher_mimicking(cfg)
    assert torch.equal(r1.P, r2.P) and torch.equal(r1.V, r2.V)
    assert r1.history == r2.history
    assert r1.history["step"] == [0, 20, 40, 60]
    assert r1.history["eval_loss"][-1] < r1.history["eval_loss"][0]
    for key in ("relative_error_P", "relative_error_V", "inert_norm", "balance", "scale", "loss"):
        assert len(r1.history[key]) == 4
    assert r1.P.dtype == F64 and r1.final_metrics()["eval_loss"] == r1.history["eval_loss"][-1]
    assert r1.as_dict()["config"]["dist"]["algorithm"] == alg


def test_training_from_the_construction_stays_there():
    dist = _dist("sarsa", n_transitions=8)
    P0, V0 = dist.construction()
    cfg = TeacherMimickingConfig(dist=dist, optimizer="gd", lr=0.01, n_steps=3, batch_size=16, log_every=3,
                                 n_eval_prompts=16, dtype="float64")
    r = train_teacher_mimicking(cfg, P0=P0, V0=V0)
    assert torch.allclose(r.P, P0, atol=1e-12) and torch.allclose(r.V, V0, atol=1e-12)
    assert r.history["eval_loss"][-1] < 1e-25 and r.history["relative_error_P"][-1] < 1e-12


def test_gd_on_a_fixed_dataset_keeps_inert_entries_and_starts_from_P0():
    dist = _dist("sarsa", n_transitions=8)
    L = dist.layout
    P0, V0 = init_parameters(L.dim, 0.3, torch.Generator().manual_seed(4), dtype=F64)
    cfg = TeacherMimickingConfig(dist=dist, optimizer="gd", lr=0.05, n_steps=5, batch_size=16, log_every=5,
                                 n_eval_prompts=16, fixed_dataset=True, dtype="float64")
    r = train_teacher_mimicking(cfg, P0=P0, V0=V0)
    # the data columns of P are multiplied by the zeros of the query column: never updated
    assert torch.equal(r.P[:, L.data], P0[:, L.data])
    assert not torch.equal(r.P[L.data, L.param], P0[L.data, L.param])


@pytest.mark.parametrize("kwargs, name", [
    ({"optimizer": "sgd"}, "optimizer"), ({"lr": 0.0}, "lr"), ({"n_steps": 0}, "n_steps"),
    ({"batch_size": 0}, "batch_size"), ({"init_scale": -0.1}, "init_scale"), ({"dtype": "float16"}, "dtype"),
    ({"seed": -1}, "seed"), ({"log_every": 0}, "log_every"), ({"dist": "sarsa"}, "dist"),
])
def test_config_validation_names_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        TeacherMimickingConfig(**kwargs)


def test_train_rejects_a_non_config():
    with pytest.raises(ValueError, match="config"):
        train_teacher_mimicking("not a config")
