"""The exact UCB-VI transformer (chapter 10) against the tabular reference: Q tables and actions at every step of
every episode, the read-out at every visited (h, s), its size, and bad inputs."""
import pytest
import torch

from icrl_lib.incontext import ucbvi_construction, ucbvi_forward, ucbvi_prompt, ucbvi_readout, ucbvi_transformer_planner
from icrl_lib.rl import greedy_action, random_episodic_mdp, run_ucbvi


@pytest.mark.parametrize("bonus_scale", [2.0, 0.1])
def test_transformer_equals_tabular_ucbvi(bonus_scale):
    mdp = random_episodic_mdp(3, 2, 3, seed=1, n_mdps=6)
    K = 5
    ref = run_ucbvi(mdp, K, 0.1, 7, bonus_scale=bonus_scale)
    c = ucbvi_construction(3, 3, 2, K, bonus_scale=bonus_scale)
    run = run_ucbvi(mdp, K, 0.1, 7, planner=ucbvi_transformer_planner(c), bonus_scale=bonus_scale)
    assert float((run.Q - ref.Q).abs().max()) < 1e-10
    assert torch.equal(run.actions, ref.actions) and torch.equal(run.states, ref.states)
    # the read-out at every step of every episode: Q_h(s_h, .) and the greedy action
    H = 3
    steps = torch.arange(H).expand(6, K, H)
    for k in range(K):
        flat = lambda x: x[:, :k].reshape(6, k * H).unsqueeze(1).expand(6, H, k * H)   # noqa: E731
        Z = ucbvi_prompt(flat(steps), flat(ref.states[..., :H]), flat(ref.actions), flat(ref.rewards),
                         flat(ref.states[..., 1:]), torch.arange(H).expand(6, H), ref.states[:, k, :H], c)
        out = ucbvi_readout(ucbvi_forward(Z, c), c)                               # (6, H, A)
        want = torch.gather(ref.Q[:, k], 2, ref.states[:, k, :H, None, None].expand(6, H, 1, 2)).squeeze(2)
        assert float((out - want).abs().max()) < 1e-10
        assert torch.equal(greedy_action(out), ref.actions[:, k])


def test_size_and_depth():
    c = ucbvi_construction(3, 3, 2, 4)
    assert c.n_blocks == 2 * 3 + 4
    c4 = ucbvi_construction(2, 2, 4, 3)
    assert c4.n_blocks == 2 * (1 + 2) + 4   # a max tree of depth 2 over four actions
    assert c.embedding_dim == c.layout.dim


def test_four_actions_exact():
    mdp = random_episodic_mdp(2, 4, 2, seed=3, n_mdps=3)
    ref = run_ucbvi(mdp, 4, 0.1, 1, bonus_scale=0.05)
    c = ucbvi_construction(2, 2, 4, 4, bonus_scale=0.05)
    run = run_ucbvi(mdp, 4, 0.1, 1, planner=ucbvi_transformer_planner(c), bonus_scale=0.05)
    assert float((run.Q - ref.Q).abs().max()) < 1e-10


def test_bad_inputs():
    c = ucbvi_construction(2, 2, 2, 2)
    ok = dict(h=[0], s=[0], a=[0], r=[0.5], s_next=[1], query_h=0, query_s=0)
    ucbvi_prompt(**ok, construction=c)
    with pytest.raises(ValueError, match="r must"):
        ucbvi_prompt(**{**ok, "r": [1.5]}, construction=c)
    with pytest.raises(ValueError, match="s_next"):
        ucbvi_prompt(**{**ok, "s_next": [2]}, construction=c)
    with pytest.raises(ValueError, match="query_h"):
        ucbvi_prompt(**{**ok, "query_h": 5}, construction=c)
    with pytest.raises(ValueError, match="a must"):
        ucbvi_prompt(**{**ok, "a": [0.0]}, construction=c)
    with pytest.raises(ValueError, match="Z"):
        ucbvi_forward(torch.zeros(3, 2, dtype=torch.float64), c)
