"""Bandit experts against independent computations (chapters 9-10)."""
from __future__ import annotations

import math
from itertools import product

import numpy as np
import pytest
import sympy as sp
import torch

from icrl_lib.rl import (BernoulliBandit, GaussianBandit, LinearBandit, beta_bernoulli_optimal_action_probs,
                         empirical_greedy, lcb, linucb, mixture, run_bandit, soft_linucb, thompson_sampling, ucb,
                         uniform)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def random_history(B, t, A, seed, bernoulli=False):
    g = gen(seed)
    actions = torch.randint(0, A, (B, t), generator=g)
    if bernoulli:
        rewards = (torch.rand(B, t, generator=g, dtype=torch.float64) < 0.5).double()
    else:
        rewards = torch.randn(B, t, generator=g, dtype=torch.float64)
    return actions, rewards


def loop_scores(actions, rewards, A, score):
    """Per task and arm, a Python loop over the history; ``score(mean, n, t)`` for pulled arms, None otherwise."""
    out = []
    for a_row, r_row in zip(actions.tolist(), rewards.tolist()):
        row = []
        for k in range(A):
            rs = [r for a, r in zip(a_row, r_row) if a == k]
            row.append(score(sum(rs) / len(rs), len(rs), len(a_row)) if rs else None)
        out.append(row)
    return out


def argmax_with_unpulled(row, unpulled_value):
    vals = [unpulled_value if v is None else v for v in row]
    return max(range(len(vals)), key=lambda k: (vals[k], -k))


@pytest.mark.parametrize("t", [0, 2, 9, 30])
def test_ucb_emp_lcb_against_a_loop(t):
    A = 4
    b = GaussianBandit.sample(25, A, 0.3, gen(1))
    actions, rewards = random_history(25, t, A, seed=t)
    cases = [
        (ucb(c=0.7), lambda m, n, T: m + 0.7 * math.sqrt(2 * math.log(max(T, 1)) / n), math.inf),
        (empirical_greedy(), lambda m, n, T: m, math.inf),
        (lcb(c=1.3), lambda m, n, T: m - 1.3 / math.sqrt(n), -math.inf),
    ]
    for expert, score, unpulled in cases:
        probs = expert(b, actions, rewards)
        assert probs.shape == (25, A) and probs.dtype == torch.float64
        want = [argmax_with_unpulled(row, unpulled) for row in loop_scores(actions, rewards, A, score)]
        assert probs.argmax(-1).tolist() == want, expert
        assert bool((probs.sum(-1) == 1).all()) and bool(((probs == 0) | (probs == 1)).all())


def test_ucb_plays_unpulled_arms_first_and_ties_lowest():
    b = GaussianBandit(torch.zeros(1, 3, dtype=torch.float64), 1.0)
    assert ucb()(b, torch.zeros(1, 0, dtype=torch.long), torch.zeros(1, 0)).tolist() == [[1, 0, 0]]
    acts, rews = torch.tensor([[0, 2]]), torch.tensor([[5.0, 5.0]])
    assert ucb()(b, acts, rews).tolist() == [[0, 1, 0]]
    assert empirical_greedy()(b, acts, rews).tolist() == [[0, 1, 0]]
    assert lcb()(b, acts, rews).tolist() == [[1, 0, 0]]                 # tie between arms 0 and 2


def test_dpt_conventions_of_greedy_and_ucb():
    """[DPT23]'s public code: offline greedy scores an unpulled arm 0; its UCB bonus is c / sqrt(max(1, n))."""
    b = GaussianBandit(torch.zeros(1, 3, dtype=torch.float64), 1.0)
    acts, rews = torch.tensor([[0, 2]]), torch.tensor([[5.0, -1.0]])
    assert empirical_greedy()(b, acts, rews).tolist() == [[0, 1, 0]]                 # online: unpulled first
    assert empirical_greedy(online=False)(b, acts, rews).tolist() == [[1, 0, 0]]     # offline: arm 1 scores 0
    neg = torch.tensor([[-1.0, -2.0]])
    assert empirical_greedy(online=False)(b, acts, neg).tolist() == [[0, 1, 0]]      # 0 beats negative means
    # UCB, DPT form: scores mean + c / sqrt(max(1, n)); unpulled arms score c, not +inf
    acts, rews = torch.tensor([[0, 0, 0, 0, 2]]), torch.tensor([[0.9, 0.9, 0.9, 0.9, 0.2]])
    assert ucb(1.0, bonus="dpt")(b, acts, rews).tolist() == [[1, 0, 0]]              # 1.4 vs 1.0 vs 1.2
    assert ucb(0.1, bonus="dpt")(b, acts, rews).tolist() == [[1, 0, 0]]              # 0.95 vs 0.1 vs 0.3
    assert ucb(1.0)(b, acts, rews).tolist() == [[0, 1, 0]]                           # book's UCB1: unpulled first


def test_default_constants_follow_the_papers():
    """linucb's bonus 2 ([LBM24]'s code); linear TS's prior N(0, I) ([LBM24]); multi-armed TS's N(0.5, 1/12)."""
    from icrl_lib.rl import LinearBandit
    lb = LinearBandit.sample(6, 3, 4, 0.5, gen(3))
    acts, rews = random_history(6, 5, 4, seed=3)
    rews = rews.to(torch.float64)
    assert torch.equal(linucb()(lb, acts, rews), linucb(2.0, 1.0)(lb, acts, rews))
    a = thompson_sampling()(lb, acts, rews, gen(4))
    b2 = thompson_sampling(prior_mean=0.0, prior_std=1.0)(lb, acts, rews, gen(4))
    assert torch.equal(a, b2)
    gb = GaussianBandit.sample(6, 4, 0.3, gen(5))
    a = thompson_sampling()(gb, acts, rews, gen(6))
    b2 = thompson_sampling(prior_mean=0.5, prior_std=1 / math.sqrt(12))(gb, acts, rews, gen(6))
    assert torch.equal(a, b2)


def direct_linucb_scores(bandit, actions, rewards, alpha, lam):
    """Per task: gather the played arm vectors and solve with numpy."""
    out = []
    X_all = bandit.features.numpy()
    for b in range(bandit.n_tasks):
        X = X_all[b][actions[b].numpy()]                                  # (t, d)
        r = rewards[b].numpy()
        A_t = lam * np.eye(X_all.shape[-1]) + X.T @ X
        w = np.linalg.solve(A_t, X.T @ r)
        Ainv = np.linalg.inv(A_t)
        arms = X_all[b]
        out.append(arms @ w + alpha * np.sqrt(np.einsum("kd,de,ke->k", arms, Ainv, arms)))
    return np.array(out)


@pytest.mark.parametrize("kind", ["linear", "gaussian"])
def test_linucb_and_soft_linucb_against_a_direct_solve(kind):
    if kind == "linear":
        b = LinearBandit.sample(12, 3, 6, 1.5, gen(2))
    else:
        b = GaussianBandit.sample(12, 6, 0.3, gen(2))
    actions, rewards = random_history(12, 17, 6, seed=3)
    scores = direct_linucb_scores(b, actions, rewards, alpha=0.8, lam=0.5)
    probs = linucb(alpha=0.8, lam=0.5)(b, actions, rewards)
    assert probs.argmax(-1).tolist() == scores.argmax(-1).tolist()
    soft = soft_linucb(alpha=0.8, lam=0.5, tau=0.2)(b, actions, rewards)
    z = scores / 0.2
    want = np.exp(z - z.max(-1, keepdims=True))
    want /= want.sum(-1, keepdims=True)
    np.testing.assert_allclose(soft.numpy(), want, atol=1e-12)
    empty = linucb(alpha=0.8, lam=0.5)(b, actions[:, :0], rewards[:, :0])
    assert empty.sum().item() == 12


def test_linucb_on_one_hot_features_is_a_ridge_ucb():
    b = GaussianBandit.sample(8, 5, 0.3, gen(4))
    actions, rewards = random_history(8, 20, 5, seed=5)
    counts = torch.nn.functional.one_hot(actions, 5).sum(1).double()
    sums = torch.zeros(8, 5, dtype=torch.float64).scatter_add_(1, actions, rewards)
    scores = sums / (1 + counts) + 2.0 / torch.sqrt(1 + counts)
    soft = soft_linucb(alpha=2.0, lam=1.0, tau=0.5)(b, actions, rewards)
    assert torch.allclose(soft, torch.softmax(scores / 0.5, -1), atol=1e-12)


def sympy_optimal_probs(successes, failures):
    """P(argmax theta = a) for theta_k ~ Beta(1 + s_k, 1 + f_k), by exact rational integration."""
    x = sp.symbols("x")
    dens = [x ** s * (1 - x) ** f / sp.beta(s + 1, f + 1) for s, f in zip(successes, failures)]
    cdfs = [sp.integrate(d.subs(x, sp.Symbol("y")), (sp.Symbol("y"), 0, x)) for d in dens]
    out = []
    for a in range(len(dens)):
        integrand = dens[a] * sp.Mul(*[cdfs[k] for k in range(len(dens)) if k != a])
        out.append(float(sp.integrate(sp.expand(integrand), (x, 0, 1))))
    return out


@pytest.mark.parametrize("history", [
    ([0, 1, 0], [1, 0, 1], 2),
    ([1, 1, 1, 0], [1, 1, 0, 0], 2),
    ([0, 2, 1, 2, 2], [1, 0, 1, 1, 0], 3),
    ([3, 0, 1, 3], [1, 1, 0, 0], 4),
])
def test_beta_bernoulli_probs_against_sympy(history):
    acts, rews, A = history
    s = [sum(r for a, r in zip(acts, rews) if a == k) for k in range(A)]
    f = [sum(1 - r for a, r in zip(acts, rews) if a == k) for k in range(A)]
    want = sympy_optimal_probs(s, f)
    got = beta_bernoulli_optimal_action_probs(torch.tensor([acts]), torch.tensor([rews], dtype=torch.float64), A)
    np.testing.assert_allclose(got[0].numpy(), want, atol=1e-12)


def test_beta_bernoulli_two_arm_closed_form_on_every_short_history():
    """Every history of length <= 3 of a 2-armed bandit: the closed form against exact rational integrals."""
    cache = {}
    for t in range(4):
        hist = list(product(product(range(2), range(2)), repeat=t))
        acts = torch.tensor([[h[0] for h in hs] for hs in hist], dtype=torch.long).reshape(len(hist), t)
        rews = torch.tensor([[h[1] for h in hs] for hs in hist], dtype=torch.float64).reshape(len(hist), t)
        got = beta_bernoulli_optimal_action_probs(acts, rews, 2)
        for i, hs in enumerate(hist):
            s = tuple(sum(r for a, r in hs if a == k) for k in range(2))
            f = tuple(sum(1 - r for a, r in hs if a == k) for k in range(2))
            if (s, f) not in cache:
                cache[(s, f)] = sympy_optimal_probs(s, f)
            np.testing.assert_allclose(got[i].numpy(), cache[(s, f)], atol=1e-13)
    assert t == 3


def test_beta_bernoulli_probs_against_monte_carlo_and_batching():
    acts, rews = random_history(3, 40, 5, seed=6, bernoulli=True)
    got = beta_bernoulli_optimal_action_probs(acts, rews, 5)
    rng = np.random.default_rng(0)
    for b in range(3):
        s = np.array([rews[b][acts[b] == k].sum().item() for k in range(5)])
        n = np.array([(acts[b] == k).sum().item() for k in range(5)])
        draws = rng.beta(1 + s, 1 + n - s, size=(200_000, 5))
        freq = np.bincount(draws.argmax(1), minlength=5) / 200_000
        np.testing.assert_allclose(got[b].numpy(), freq, atol=0.006)
    batched = beta_bernoulli_optimal_action_probs(acts.reshape(3, 1, 40), rews.reshape(3, 1, 40), 5)
    assert batched.shape == (3, 1, 5)
    assert torch.allclose(batched[:, 0], got, atol=1e-15)
    long_acts, long_rews = random_history(4, 300, 5, seed=7, bernoulli=True)
    probs = beta_bernoulli_optimal_action_probs(long_acts, long_rews, 5)
    assert float((probs.sum(-1) - 1).abs().max()) < 1e-12 and bool((probs >= 0).all())
    empty = beta_bernoulli_optimal_action_probs(torch.zeros(2, 0, dtype=torch.long), torch.zeros(2, 0), 3)
    assert torch.allclose(empty, torch.full((2, 3), 1 / 3, dtype=empty.dtype), atol=1e-13)
    f32 = beta_bernoulli_optimal_action_probs(acts, rews.float(), 5)
    assert f32.dtype == torch.float32


def frequencies(probs_rows):
    return probs_rows.mean(0)


def test_beta_thompson_sampling_frequencies_match_the_exact_posterior():
    n = 20000
    acts = torch.tensor([[0, 1, 2, 0, 1, 0]]).expand(n, 6)
    rews = torch.tensor([[1.0, 0.0, 1.0, 1.0, 1.0, 0.0]], dtype=torch.float64).expand(n, 6)
    bandit = BernoulliBandit(torch.full((n, 3), 0.5, dtype=torch.float64))
    exact = beta_bernoulli_optimal_action_probs(acts[:1], rews[:1], 3)[0]
    probs = thompson_sampling()(bandit, acts, rews, gen(8))
    assert bool(((probs == 0) | (probs == 1)).all()) and bool((probs.sum(-1) == 1).all())
    freq = frequencies(probs)
    se = torch.sqrt(exact * (1 - exact) / n)
    assert bool(((freq - exact).abs() < 4.5 * se + 1e-3).all()), (freq, exact)
    # a prior with shape < 1 (the boosted Gamma branch) against numpy's Beta sampler
    ts = thompson_sampling(prior="beta", prior_a=0.5, prior_b=0.3)
    freq = frequencies(ts(bandit, acts, rews, gen(9)))
    rng = np.random.default_rng(1)
    draws = rng.beta([0.5 + 2, 0.5 + 1, 0.5 + 1], [0.3 + 1, 0.3 + 1, 0.3], size=(400_000, 3))
    ref = np.bincount(draws.argmax(1), minlength=3) / 400_000
    np.testing.assert_allclose(freq.numpy(), ref, atol=0.015)


def normal_cdf(z):
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def test_gaussian_thompson_sampling_frequencies():
    n = 20000
    acts = torch.tensor([[0, 1, 1, 0, 1]]).expand(n, 5)
    rews = torch.tensor([[0.4, 0.7, 0.5, 0.2, 0.9]], dtype=torch.float64).expand(n, 5)
    bandit = GaussianBandit(torch.zeros(n, 2, dtype=torch.float64), 0.3)
    m0, s0, sig = 0.5, 1 / math.sqrt(12), 0.3
    post = []
    for k in range(2):
        rs = [r for a, r in zip(acts[0].tolist(), rews[0].tolist()) if a == k]
        prec = 1 / s0 ** 2 + len(rs) / sig ** 2
        post.append(((m0 / s0 ** 2 + sum(rs) / sig ** 2) / prec, 1 / prec))
    p1 = normal_cdf((post[1][0] - post[0][0]) / math.sqrt(post[0][1] + post[1][1]))
    freq = frequencies(thompson_sampling(prior="gaussian")(bandit, acts, rews, gen(10)))
    assert abs(float(freq[1]) - p1) < 4.5 * math.sqrt(p1 * (1 - p1) / n) + 1e-3


def test_linear_thompson_sampling_frequencies():
    n = 20000
    arms = torch.tensor([[[1.0, 0.2], [0.3, 0.9]]], dtype=torch.float64).expand(n, 2, 2)
    lin = LinearBandit(torch.zeros(n, 2, dtype=torch.float64), arms, 1.5)
    acts = torch.tensor([[0, 1, 0, 0]]).expand(n, 4)
    rews = torch.tensor([[0.8, -0.4, 1.9, 0.1]], dtype=torch.float64).expand(n, 4)
    m0, s0, sig = 0.2, 0.7, 1.5
    X = arms[0].numpy()[acts[0].numpy()]
    prec = np.eye(2) / s0 ** 2 + X.T @ X / sig ** 2
    cov = np.linalg.inv(prec)
    mu = cov @ (m0 / s0 ** 2 * np.ones(2) + X.T @ rews[0].numpy() / sig ** 2)
    diff = arms[0, 1].numpy() - arms[0, 0].numpy()
    p1 = normal_cdf(diff @ mu / math.sqrt(diff @ cov @ diff))
    ts = thompson_sampling(prior="gaussian", prior_mean=m0, prior_std=s0)
    freq = frequencies(ts(lin, acts, rews, gen(11)))
    assert abs(float(freq[1]) - p1) < 4.5 * math.sqrt(p1 * (1 - p1) / n) + 1e-3


def test_uniform_and_mixture():
    b = GaussianBandit.sample(3, 4, 0.3, gen(12))
    acts, rews = random_history(3, 6, 4, seed=13)
    assert torch.equal(uniform()(b, acts, rews), torch.full((3, 4), 0.25, dtype=torch.float64))
    mix = mixture(0.3, empirical_greedy(), uniform())
    want = 0.3 * empirical_greedy()(b, acts, rews) + 0.7 * 0.25
    assert torch.allclose(mix(b, acts, rews), want, atol=1e-15)
    assert torch.equal(mixture(1.0, empirical_greedy(), uniform())(b, acts, rews), empirical_greedy()(b, acts, rews))


def test_mixture_sampled_frequencies_in_run_bandit():
    n = 20000
    b = BernoulliBandit(torch.tensor([[0.2, 0.9, 0.5]], dtype=torch.float64).expand(n, 3))
    always0 = mixture(0.0, uniform(), lcb())           # lcb on empty data plays arm 0
    assert always0(b, torch.zeros(n, 0, dtype=torch.long), torch.zeros(n, 0))[:, 0].eq(1).all()
    traj = run_bandit(b, mixture(0.4, lcb(), uniform()), 2, gen(14))
    freq = torch.bincount(traj.actions[:, 0], minlength=3).double() / n
    want = torch.tensor([0.4 + 0.2, 0.2, 0.2], dtype=torch.float64)
    assert bool(((freq - want).abs() < 4.5 * torch.sqrt(want * (1 - want) / n)).all()), freq


def test_experts_are_reproducible_and_learn():
    b = GaussianBandit.sample(300, 5, 0.3, gen(15))
    t1 = run_bandit(b, thompson_sampling(), 60, 16)
    t2 = run_bandit(b, thompson_sampling(), 60, 16)
    assert torch.equal(t1.actions, t2.actions)
    from icrl_lib.rl import regret
    r_ts = regret(b, t1.actions)[:, -1].mean()
    r_unif = regret(b, run_bandit(b, uniform(), 60, 17).actions)[:, -1].mean()
    assert r_ts < 0.5 * r_unif


def test_bad_inputs():
    b = GaussianBandit.sample(2, 3, 0.3, gen(0))
    acts, rews = torch.zeros(2, 1, dtype=torch.long), torch.zeros(2, 1)
    with pytest.raises(ValueError, match="tau must be > 0"):
        soft_linucb(tau=0)
    with pytest.raises(ValueError, match="lam must be > 0"):
        linucb(lam=-1)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        linucb(alpha=-0.1)
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\]"):
        mixture(1.5, uniform(), uniform())
    with pytest.raises(ValueError, match="second must be an expert"):
        mixture(0.5, uniform(), 3)
    with pytest.raises(ValueError, match="c must be >= 0"):
        ucb(c=-1)
    with pytest.raises(ValueError, match="prior must be"):
        thompson_sampling(prior="laplace")
    with pytest.raises(ValueError, match="generator"):
        thompson_sampling()(b, acts, rews)
    with pytest.raises(ValueError, match="rewards must lie in"):
        thompson_sampling(prior="beta")(b, acts, rews + 2, 0)
    with pytest.raises(ValueError, match="prior='beta' needs a multi-armed"):
        thompson_sampling(prior="beta")(LinearBandit.sample(2, 2, 3, 1.0, 0), acts, rews, 0)
    with pytest.raises(ValueError, match="sigma must be given"):
        thompson_sampling(prior="gaussian")(BernoulliBandit.sample(2, 3, 0), acts, rews, 0)
    with pytest.raises(ValueError, match="actions must hold arm indices"):
        ucb()(b, acts + 3, rews)
    with pytest.raises(ValueError, match="rewards must have the shape"):
        empirical_greedy()(b, acts, torch.zeros(2, 2))
    with pytest.raises(ValueError, match="n_arms"):
        beta_bernoulli_optimal_action_probs(acts, rews, 0)
    with pytest.raises(ValueError, match="rewards must be 0 or 1"):
        beta_bernoulli_optimal_action_probs(acts, rews + 0.5, 3)
    with pytest.raises(ValueError, match="actions must hold integer"):
        beta_bernoulli_optimal_action_probs(rews, rews, 3)
    with pytest.raises(ValueError, match=r"actions must hold (arm )?indices in \[0, 1\]"):
        beta_bernoulli_optimal_action_probs(acts + 2, rews, 2)
