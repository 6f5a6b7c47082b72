"""Our emergence protocol for softmax TD (chapter 8): tasks, loss, construction model, a short training run."""
import dataclasses

import pytest
import torch

from icrl_lib.incontext import softmax_td_readout
from icrl_lib.rl import weighted_softmax_td
from icrl_lib.training import (SoftmaxPretrainingConfig, block_metrics, construction_model, loss_gradient_norm,
                               sample_softmax_td_tasks, softmax_td_loss, softmax_td_pretrain)


def test_tasks_shapes_and_reproducible():
    t1 = sample_softmax_td_tasks(4, 5, 3, 10, 0.8, 7)
    t2 = sample_softmax_td_tasks(4, 5, 3, 10, 0.8, torch.Generator().manual_seed(7))
    assert t1.Z.shape == (4, 6, 11) and t1.rewards.shape == (4, 10) and t1.v_true.shape == (4, 11)
    assert torch.equal(t1.Z, t2.Z)
    assert torch.allclose(t1.Z[:, :3].norm(dim=1), torch.ones(4, 11))


def test_construction_model_is_the_algorithm_and_loss_matches():
    tasks = sample_softmax_td_tasks(3, 5, 2, 8, 0.8, 1, dtype=torch.float64)
    m = construction_model(2, 4, 0.8, 0.6, beta=2.0, dtype=torch.float64)
    with torch.no_grad():
        v = softmax_td_readout(m(tasks.Z))
    x = tasks.Z[:, :2].transpose(-1, -2) * 2.0 ** 0.5
    assert torch.allclose(v, weighted_softmax_td(x, tasks.rewards, 0.8, 0.6, 4)[..., -1, :], atol=1e-12)
    delta = tasks.rewards + 0.8 * v[:, 1:] - v[:, :-1]
    with torch.no_grad():
        loss = float(softmax_td_loss(m, tasks))
    assert abs(loss - float((delta ** 2).mean())) < 1e-12
    assert block_metrics(m)["cos_A"] == pytest.approx(1.0) and block_metrics(m)["alpha"] == pytest.approx(0.6)
    assert loss_gradient_norm(m, tasks) > 0


def test_short_training_moves_toward_the_construction():
    cfg = SoftmaxPretrainingConfig(n_steps=60, batch_size=16, n=12, seed=0)
    res = softmax_td_pretrain(cfg)
    assert res.losses.shape == (60,) and torch.isfinite(res.losses).all()
    assert float(res.losses[-10:].mean()) < float(res.losses[:10].mean())
    assert block_metrics(res.model)["cos_A"] > 0.5
    res2 = softmax_td_pretrain(dataclasses.replace(cfg, masked=False, n_steps=5))
    assert block_metrics(res2.model)["off_block"] > 0


def test_bad_input():
    with pytest.raises(ValueError, match="^n_states"):
        sample_softmax_td_tasks(4, 2, 3, 10, 0.8, 0)
    with pytest.raises(ValueError, match="^beta"):
        construction_model(2, 1, 0.5, 1.0, beta=-1.0)
    with pytest.raises(ValueError, match="^lr"):
        softmax_td_pretrain(SoftmaxPretrainingConfig(lr=0.0, n_steps=1))
