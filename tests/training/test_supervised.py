"""Supervised pretraining (chapter 9): the causal transformer, tokens, loss, data, deployment, the exact
references (reduced expert, distribution ratio) and the Dark Room, against independent computations."""
from __future__ import annotations

import math

import pytest
import torch

from icrl_lib.attention import relu_attention
from icrl_lib.rl import (BernoulliBandit, DarkRoom, GaussianBandit, LinearBandit, beta_bernoulli_optimal_action_probs,
                         darkroom_goal_split, mean_and_se, run_bandit, ucb, uniform)
from icrl_lib.training import (BanditPretrainingConfig, CausalTransformerPolicy, action_probabilities, all_histories,
                               bandit_cli_config, bandit_token_dim, bandit_tokens, beta_bernoulli_log_evidence,
                               collect_bandit_data, darkroom_dataset, darkroom_online, darkroom_token_dim,
                               darkroom_tokens, distribution_ratio, posterior_sampling,
                               pretrain_supervised, supervised_loss, transformer_expert)

F64 = torch.float64


@pytest.mark.parametrize("attention", ["softmax", "relu"])
def test_causal_mask_a_later_token_never_changes_an_earlier_prediction(attention):
    model = CausalTransformerPolicy(6, 3, n_layers=2, d_model=8, n_heads=2, attention=attention, max_len=12, seed=1)
    g = torch.Generator().manual_seed(0)
    tok = torch.randn(4, 10, 6, generator=g)
    base = model(tok)
    for t in (0, 3, 9):
        changed = tok.clone()
        changed[:, t] += torch.randn(4, 6, generator=g)
        out = model(changed)
        assert torch.allclose(out[:, :t], base[:, :t], atol=1e-6)
        assert not torch.allclose(out[:, t], base[:, t], atol=1e-6)


def test_relu_attention_layer_is_the_lbm24_layer():
    model = CausalTransformerPolicy(5, 2, n_layers=1, d_model=8, n_heads=2, attention="relu", max_len=None, seed=0)
    layer = model.blocks[0].attn
    x = torch.randn(3, 7, 8, generator=torch.Generator().manual_seed(2))
    H = x.transpose(-1, -2)
    want = relu_attention(H, layer.Q, layer.K, layer.V, causal=True) - H
    assert torch.allclose(layer(x), want.transpose(-1, -2), atol=1e-6)


def test_initialisation_is_seeded_and_leaves_the_global_rng_alone():
    torch.manual_seed(5)
    before = torch.rand(3)
    torch.manual_seed(5)
    a = CausalTransformerPolicy(4, 2, seed=3)
    after = torch.rand(3)
    b = CausalTransformerPolicy(4, 2, seed=3)
    assert torch.equal(before, after)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_bandit_tokens_layout():
    bandit = BernoulliBandit(torch.tensor([[0.1, 0.9, 0.5], [0.2, 0.3, 0.4]], dtype=F64))
    actions = torch.tensor([[1, 2], [0, 0]])
    rewards = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=F64)
    tok = bandit_tokens(bandit, actions, rewards)
    assert tok.shape == (2, 3, bandit_token_dim(bandit)) == (2, 3, 5)
    assert torch.equal(tok[:, 0], torch.tensor([[1.0, 0, 0, 0, 0]] * 2, dtype=F64))
    assert torch.equal(tok[0, 1], torch.tensor([0, 0, 1, 0, 1.0], dtype=F64))
    assert torch.equal(tok[1, 2], torch.tensor([0, 1, 0, 0, 1.0], dtype=F64))
    assert bandit_tokens(bandit, actions[:, :0], rewards[:, :0]).shape == (2, 1, 5)
    lin = LinearBandit.sample(2, 3, 4, 1.0, torch.Generator().manual_seed(0))
    tl = bandit_tokens(lin, actions, rewards)
    assert tl.shape[-1] == bandit_token_dim(lin) == 2 + 3 + 4 * 3
    assert torch.equal(tl[:, 0, 5:], lin.features.reshape(2, 12))
    assert torch.equal(tl[0, 2, 1:4], lin.features[0, 2])
    with pytest.raises(ValueError, match="actions"):
        bandit_tokens(bandit, torch.tensor([[3], [0]]), rewards[:, :1])
    with pytest.raises(ValueError, match="actions and rewards"):
        bandit_tokens(bandit, actions, rewards[:, :1])


def test_loss_is_the_cross_entropy_at_every_position_including_the_empty_prefix():
    model = CausalTransformerPolicy(5, 3, n_layers=1, d_model=8, max_len=6, seed=0)
    tok = torch.randn(2, 5, 5, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([[0, 1, 2, 0], [2, 2, 1, 0]])
    logp = torch.log_softmax(model(tok[:, :4]), -1)
    want = -logp.gather(-1, labels.unsqueeze(-1)).mean()
    assert torch.allclose(supervised_loss(model, tok, labels), want)          # T + 1 tokens: last one unused
    assert torch.allclose(supervised_loss(model, tok[:, :4], labels), want)
    with pytest.raises(ValueError, match="tokens"):
        supervised_loss(model, tok[:, :3], labels)


def test_collect_labels_ad_and_dpt():
    g = torch.Generator().manual_seed(0)
    bandit = GaussianBandit.sample(6, 4, 0.3, g)
    ad = collect_bandit_data(bandit, ucb(), 5, 1, labels="ad")
    assert torch.equal(ad.labels, ad.actions)
    dpt = collect_bandit_data(bandit, uniform(), 5, 1, labels="dpt")
    assert torch.equal(dpt.labels, bandit.optimal_action.unsqueeze(-1).expand(6, 5))
    assert dpt.tokens().shape == (6, 6, bandit_token_dim(bandit))
    with pytest.raises(ValueError, match="labels"):
        collect_bandit_data(bandit, uniform(), 5, 1, labels="bc")


def test_pretraining_lowers_the_loss_and_the_model_deploys_as_an_expert():
    g = torch.Generator().manual_seed(0)
    data = collect_bandit_data(BernoulliBandit.sample(512, 2, g), uniform(), 4, g, labels="dpt")
    model = CausalTransformerPolicy(bandit_token_dim(data.bandit), 2, n_layers=1, d_model=16, max_len=6, seed=0)
    res = pretrain_supervised(model, data.tokens(), data.labels, n_steps=60, batch_size=128, lr=3e-3, log_every=20)
    assert res.history["step"] == [20, 40, 60] and res.history["loss"][-1] < res.history["loss"][0]
    test = BernoulliBandit.sample(8, 2, g)
    traj = run_bandit(test, transformer_expert(model), 5, 3)
    assert traj.probs.shape == (8, 5, 2) and torch.allclose(traj.probs.sum(-1), torch.ones(8, 5, dtype=F64))
    full = action_probabilities(model, bandit_tokens(test, traj.actions, traj.rewards))
    greedy = transformer_expert(model, greedy=True)(test, traj.actions, traj.rewards, None)
    assert torch.equal(greedy, torch.nn.functional.one_hot(full[:, -1].argmax(-1), 2).to(F64))
    assert torch.allclose(full[:, 2], transformer_expert(model)(test, traj.actions[:, :2], traj.rewards[:, :2]),
                          atol=1e-6)


def test_pretraining_rejects_bad_input():
    model = CausalTransformerPolicy(5, 2, n_layers=1, d_model=8, max_len=4)
    with pytest.raises(ValueError, match="labels"):
        pretrain_supervised(model, torch.zeros(3, 4, 5), torch.full((3, 3), 2), n_steps=1)
    with pytest.raises(ValueError, match="tokens"):
        pretrain_supervised(model, torch.zeros(3, 4), torch.zeros(3, 3, dtype=torch.long), n_steps=1)
    with pytest.raises(ValueError, match="n_steps"):
        pretrain_supervised(model, torch.zeros(3, 4, 5), torch.zeros(3, 3, dtype=torch.long), n_steps=0)
    with pytest.raises(ValueError, match="max_len"):
        model(torch.zeros(1, 5, 5))
    with pytest.raises(ValueError, match="tokens"):
        model(torch.zeros(1, 3, 4))
    with pytest.raises(ValueError, match="attention"):
        CausalTransformerPolicy(5, 2, attention="linear")
    with pytest.raises(ValueError, match="d_model"):
        CausalTransformerPolicy(5, 2, d_model=9, n_heads=2)
    with pytest.raises(ValueError, match="n_actions"):
        CausalTransformerPolicy(5, 1)


def test_the_dpt_label_averages_to_the_exact_posterior_monte_carlo():
    # the reduced expert of DPT: E[1{a* = a} | D] = P(a* = a | D); rejection sampling on short histories
    g = torch.Generator().manual_seed(0)
    n = 400_000
    means = torch.rand(n, 2, generator=g, dtype=F64)
    actions = torch.randint(2, (n, 2), generator=g)
    rewards = (torch.rand(n, 2, generator=g, dtype=F64) < means.gather(1, actions)).double()
    for hist_a, hist_r in (([0, 0], [1.0, 1.0]), ([0, 1], [1.0, 0.0]), ([1, 1], [0.0, 1.0])):
        hit = (actions == torch.tensor(hist_a)).all(-1) & (rewards == torch.tensor(hist_r, dtype=F64)).all(-1)
        freq = (means[hit].argmax(-1) == 0).double()
        m, se = mean_and_se(freq)
        exact = beta_bernoulli_optimal_action_probs(torch.tensor([hist_a]), torch.tensor([hist_r], dtype=F64), 2)
        assert abs(float(m) - float(exact[0, 0])) < 4 * float(se)
    # and the posterior_sampling expert is that posterior
    b = BernoulliBandit(means[:3])
    p = posterior_sampling()(b, actions[:3], rewards[:3])
    assert torch.allclose(p, beta_bernoulli_optimal_action_probs(actions[:3], rewards[:3], 2))


def test_all_histories_and_the_evidence_sum_to_one():
    for t, A in ((0, 2), (1, 3), (3, 2)):
        a, r = all_histories(t, A)
        assert a.shape == r.shape == ((2 * A) ** t, t)
        assert len({tuple(x) for x in torch.cat([a, r.long()], -1).tolist()}) == (2 * A) ** t
    a, r = all_histories(4, 2)
    ev = beta_bernoulli_log_evidence(a, r, 2).exp()
    # for every fixed action sequence the reward sequences' probabilities sum to 1
    per_actions = torch.zeros(16, dtype=F64).index_add_(0, (a * 2 ** torch.arange(3, -1, -1)).sum(-1), ev)
    assert torch.allclose(per_actions, torch.ones(16, dtype=F64), atol=1e-12)
    # Laplace's rule against the Beta integral: P(r = (1, 1) | a = (0, 0)) = 1/3
    assert abs(float(beta_bernoulli_log_evidence(torch.tensor([0, 0]), torch.tensor([1.0, 1.0]), 2).exp()) - 1 / 3) < 1e-12


def test_trajectory_mixture_ratio_is_at_most_one_over_alpha():
    # [LBM24]'s trajectory-level mixture: R = E_TS[1 / (alpha + (1 - alpha) P^unif / P^TS)] <= 1 / alpha
    for alpha in (0.1, 0.5):
        for T in (1, 3, 6):
            R, _ = distribution_ratio(alpha, T, mixture="trajectory")
            assert 1 - 1e-12 <= R <= 1 / alpha + 1e-12
    assert abs(distribution_ratio(1.0, 5, mixture="trajectory")[0] - 1) < 1e-12
    assert abs(distribution_ratio(0.0, 5, mixture="trajectory")[0] - distribution_ratio(0.0, 5)[0]) < 1e-9
    m, se = distribution_ratio(0.5, 6, method="mc", n_samples=20000, seed=1, mixture="trajectory")
    assert abs(m - distribution_ratio(0.5, 6, mixture="trajectory")[0]) < 4 * se
    # per task, the context algorithm is TS or uniform for the whole trajectory; at alpha = 1 the two mixtures agree
    from icrl_lib.training import bandit_experts
    b = BernoulliBandit.sample(64, 3, 0)
    ctx = bandit_experts(BanditPretrainingConfig(bandit="bernoulli", n_arms=3, alpha=0.5))["context"]
    tr = run_bandit(b, ctx, 6, 1)
    kinds = {tuple(row.tolist()) for row in (tr.probs == 1.0 / 3).all(-1)}
    assert kinds == {(True,) * 6, (False,) * 6}
    one = [run_bandit(b, bandit_experts(BanditPretrainingConfig(bandit="bernoulli", n_arms=3, alpha=1.0,
                                                                mixture=m))["context"], 6, 2).actions
           for m in ("trajectory", "round")]
    assert torch.equal(one[0], one[1])


def test_distribution_ratio_enumeration_counts_and_monte_carlo_agree():
    for alpha in (0.0, 0.3, 1.0):
        for T in (1, 2, 5):
            e, _ = distribution_ratio(alpha, T)
            c, _ = distribution_ratio(alpha, T, method="counts")
            assert abs(e - c) < 1e-10 * max(1.0, e)
    assert abs(distribution_ratio(1.0, 6)[0] - 1) < 1e-12
    assert distribution_ratio(0.0, 6)[0] > distribution_ratio(0.5, 6)[0] > 1
    # T = 2 by hand: the first action is uniform under TS (ratio 1); R = E_TS[TS(a_2|D_1) / Alg_0(a_2|D_1)]
    a, r = all_histories(1, 2)
    ts = beta_bernoulli_optimal_action_probs(a, r, 2)
    ev = beta_bernoulli_log_evidence(a, r, 2).exp() * 0.5
    alpha = 0.2
    hand = float((ev * (ts * ts / (alpha * ts + (1 - alpha) / 2)).sum(-1)).sum())
    assert abs(distribution_ratio(alpha, 2)[0] - hand) < 1e-12
    m, se = distribution_ratio(0.5, 6, method="mc", n_samples=20000, seed=1)
    assert abs(m - distribution_ratio(0.5, 6)[0]) < 4 * se
    with pytest.raises(ValueError, match="method"):
        distribution_ratio(0.5, 3, method="exact")
    with pytest.raises(ValueError, match="alpha"):
        distribution_ratio(1.5, 3)


def test_mean_and_se_and_configs():
    m, se = mean_and_se(torch.tensor([1.0, 2.0, 3.0]))
    assert float(m) == 2.0 and abs(float(se) - 1 / math.sqrt(3)) < 1e-12
    with pytest.raises(ValueError, match="at least 2"):
        mean_and_se(torch.tensor([1.0]))
    cfg = bandit_cli_config("ad-bandit", seed=3, horizon=None)
    assert cfg.labels == "ad" and cfg.context == "ucb" and cfg.seed == 3 and cfg.horizon == 50
    assert bandit_cli_config("dpt-bandit").bandit == "gaussian"
    with pytest.raises(ValueError, match="name"):
        bandit_cli_config("bc-bandit")
    with pytest.raises(ValueError, match="bandit"):
        BanditPretrainingConfig(bandit="linear")
    with pytest.raises(ValueError, match="alpha"):
        BanditPretrainingConfig(alpha=2.0)


# ------------------------------------------------------------------------------------------------ Dark Room

def test_darkroom_dynamics_and_optimal_policy():
    room = DarkRoom(torch.tensor([0, 12, 24, 4]), size=5, horizon=25)
    s = torch.tensor([0, 0, 24, 24])
    nxt, r = room.step(s, torch.tensor([3, 4, 4, 2]))                  # x-1 at x=0 stays; x+1; wall; y-1
    assert nxt.tolist() == [0, 5, 24, 23] and r.tolist() == [1.0, 0.0, 1.0, 0.0]
    # following the optimal actions reaches the goal in exactly distance steps and stays there
    opt = room.optimal_actions()
    assert opt.shape == (4, 25) and opt[torch.arange(4), room.goals].tolist() == [0, 0, 0, 0]
    policy = torch.nn.functional.one_hot(opt, 5).double()
    ep = room.rollout(policy, 0)
    assert torch.equal(ep.rewards.sum(-1), room.optimal_return())
    assert room.optimal_return().tolist() == [25.0, 22.0, 18.0, 22.0]
    d_next = room.distance(room.next_state.expand(4, 25, 5).reshape(4, -1)).view(4, 25, 5)
    assert torch.equal(d_next.gather(-1, opt.unsqueeze(-1)).squeeze(-1), d_next.min(-1).values)
    tr = room.random_transitions(50, 1)
    assert torch.equal(tr.next_states, room.next_state[tr.states, tr.actions])
    assert torch.equal(tr.rewards, (tr.next_states == room.goals.unsqueeze(-1)).double())
    train, test = darkroom_goal_split(5, 5, seed=0)
    assert len(train) == 20 and len(test) == 5 and set(train.tolist()) | set(test.tolist()) == set(range(25))
    with pytest.raises(ValueError, match="goals"):
        DarkRoom(torch.tensor([25]))
    with pytest.raises(ValueError, match="policy"):
        room.rollout(torch.ones(4, 25, 4) / 4, 0)
    with pytest.raises(ValueError, match="actions"):
        room.step(s, torch.tensor([0, 1, 2, 5]))


def test_darkroom_tokens_dataset_and_online_deployment():
    room = DarkRoom(torch.tensor([3, 7]))
    tr = room.random_transitions(4, 0)
    tok = darkroom_tokens(room, torch.tensor([1, 2]), *tr, encoding="onehot")
    S, A = 25, 5
    assert tok.shape == (2, 5, darkroom_token_dim(room, "onehot")) == (2, 5, 2 + 2 * S + A)
    assert tok[0, 0, 0] == 1 and tok[0, 0, 1 + 1] == 1 and tok[0, 0].sum() == 2
    j = 2
    assert tok[1, j + 1, 1 + tr.states[1, j]] == 1 and tok[1, j + 1, 1 + S + tr.actions[1, j]] == 1
    assert tok[1, j + 1, 1 + S + A] == tr.rewards[1, j]
    assert tok[1, j + 1, 2 + S + A + tr.next_states[1, j]] == 1
    xy = darkroom_tokens(room, torch.tensor([1, 2]), *tr)               # the chapter's coordinates
    assert xy.shape == (2, 5, darkroom_token_dim(room)) == (2, 5, 8 + A)
    assert torch.allclose(xy[1, 0], torch.tensor([1, 0, 0.5] + [0] * (5 + A), dtype=F64))     # cell 2 = (0, 2)
    s, a, r, s2 = (v[0, 1] for v in tr)
    want = [0, 0, 0, float(s // 5) / 4, float(s % 5) / 4] + [float(a == k) for k in range(A)] + \
        [float(r), float(s2 // 5) / 4, float(s2 % 5) / 4]
    assert torch.allclose(xy[0, 2], torch.tensor(want, dtype=F64))
    with pytest.raises(ValueError, match="encoding"):
        darkroom_token_dim(room, "rgb")
    tokens, labels = darkroom_dataset(room, 3, 6, 0, encoding="onehot")
    assert tokens.shape == (6, 7, darkroom_token_dim(room, "onehot")) and labels.shape == (6, 7)
    q = tokens[:, 0, 1:1 + S].argmax(-1)
    goals = room.goals.repeat_interleave(3)
    assert torch.equal(labels[:, 0], room.select(torch.arange(2).repeat_interleave(3)).optimal_actions()[
        torch.arange(6), q])
    assert torch.equal(labels, labels[:, :1].expand(6, 7)) and goals.shape == (6,)
    model = CausalTransformerPolicy(darkroom_token_dim(room), 5, n_layers=1, d_model=8, max_len=7)
    R = darkroom_online(model, room, 3, 6, 0)
    assert R.shape == (2, 3) and bool((R >= 0).all()) and bool((R <= 25).all())
