"""Chapter 11: training stacks, heads and random-feature blocks; their metrics."""
import pytest
import torch

from icrl_lib import incontext as ic
from icrl_lib import training as tr

F64 = torch.float64


def test_head_shares_of_split_constructions():
    dist = ic.PromptDistribution(algorithm="actor-critic", n_states=2, n_actions=2)
    P, V = dist.construction()
    L = dist.layout
    # shared: two scaled copies; separated: head 1 writes w only, head 2 theta only
    shared = tr.head_shares(torch.stack([2 * P, P]), torch.stack([V / 4, V / 2]), dist)
    assert shared["separation"] < 1e-12 and max(shared["p_error"]) < 1e-12
    assert sum(s["w"] for s in shared["share"]) == pytest.approx(1.0)
    V1, V2 = V.clone(), V.clone()
    V1[L.rows("theta")] = 0
    V2[L.rows("w")] = 0
    sep = tr.head_shares(torch.stack([P, P]), torch.stack([V1, V2]), dist)
    assert sep["separation"] == pytest.approx(1.0)


def test_plain_recovery_and_layer_recovery():
    P, V = ic.sarsa_construction(4, 1.0, 0.9)
    lay = ic.sarsa_layout(4)
    rec = tr.plain_recovery(3 * P, V / 3, P, V, lay.data, lay.param, lay.rows("w"))
    assert rec["relative_error_P"] < 1e-12 and rec["relative_error_V"] < 1e-12
    dist = ic.PromptDistribution(n_states=2, n_actions=2)
    Ps, Vs = dist.construction()
    out = tr.layer_recovery(torch.stack([Ps, Ps])[:, None], torch.stack([Vs, Vs])[:, None], dist)
    assert len(out) == 2 and max(out[0]["relative_error_P"], out[1]["relative_error_V"]) < 1e-12


@pytest.mark.parametrize("part", ["depth", "heads", "features"])
def test_short_training_runs(part):
    cfg = tr.beyond_config(part, 0, n_steps=20, batch_size=16)
    cfg = tr.StackMimickingConfig(**{**cfg.__dict__, "pool_size": 64, "n_eval_prompts": 32, "log_every": 10})
    res = tr.train_stack_mimicking(cfg)
    assert res.P.shape == (cfg.n_layers, cfg.n_heads, res.P.shape[-1], res.P.shape[-1])
    assert res.history["step"] == [10, 20] and res.history["relative_eval_loss"][-1] < 1.5


def test_construction_has_zero_loss():
    cfg = tr.beyond_config("depth", 0)
    batch = tr.stack_prompts(tr.StackMimickingConfig(**{**cfg.__dict__, "dist": ic.PromptDistribution(
        n_states=2, n_actions=2, n_transitions=8)}), 16, torch.Generator().manual_seed(0))
    dist = ic.PromptDistribution(n_states=2, n_actions=2)
    layers = ic.stacked_construction(dist, 2)
    P = torch.stack([p for p, _ in layers])[:, None]
    V = torch.stack([v for _, v in layers])[:, None]
    assert float(tr.stack_loss(P, V, batch.H, batch.target, dist.output_rows)) < 1e-20


def test_bad_config():
    with pytest.raises(ValueError, match="part"):
        tr.beyond_config("width")
    with pytest.raises(ValueError, match="n_layers"):
        tr.StackMimickingConfig(n_layers=0)


def test_supervised_mdp_experiment_tiny():
    cfg = tr.SupervisedMDPConfig(
        dist=ic.PromptDistribution(n_states=3, n_actions=2, n_transitions=8),
        n_train_mdps=64, n_layers=1, d_model=8, n_steps=5, batch_size=16, n_eval_mdps=6,
    )
    out = tr.supervised_mdp_experiment(cfg)
    nr = out["normalized_return"]
    assert set(nr) == {"model", "certainty_equivalence", "one_sarsa_step"}
    for v in nr.values():
        assert len(v) == 6 and all(-10 < x <= 1 + 1e-9 for x in v)
    assert 0 <= out["label_accuracy"] <= 1 and out["history"]["step"][-1] == 5


def test_supervised_mdp_sweep_keys():
    cfg = tr.SupervisedMDPConfig(
        dist=ic.PromptDistribution(n_states=2, n_actions=2, n_transitions=4),
        n_train_mdps=16, n_layers=1, d_model=8, n_steps=2, batch_size=8, n_eval_mdps=3,
    )
    out = tr.supervised_mdp_sweep([0, 1], config=cfg)
    assert out["part"] == "supervised" and [r["seed"] for r in out["runs"]] == [0, 1]
    assert len(out["runs"][0]["normalized_return"]) == 3
    assert set(out["baselines"]) == {"certainty_equivalence", "one_sarsa_step"}
    assert "seed" not in out["config"] and out["config"]["n_steps"] == 2
    with pytest.raises(ValueError, match="n_train_mdps"):
        tr.SupervisedMDPConfig(n_train_mdps=0)
