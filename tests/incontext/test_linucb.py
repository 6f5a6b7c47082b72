"""The soft-LinUCB and Thompson-sampling transformers (chapter 10) against numpy solves, the square-root MLP
against sqrt, the expert interface against rl.soft_linucb, and bad inputs."""
import numpy as np
import pytest
import torch

from icrl_lib.incontext import (gaussian_argmax_probs, linucb_construction, linucb_default_momentum, linucb_forward,
                                linucb_prompt, linucb_readout, sqrt_relu, sqrt_relu_coefficients,
                                thompson_construction, thompson_forward, thompson_readout, transformer_linucb_expert)
from icrl_lib.rl import LinearBandit, run_bandit, soft_linucb


def numpy_soft_linucb(arms, actions, rewards, alpha, lam, tau):
    d = arms.shape[1]
    X = arms[actions]
    Amat = lam * np.eye(d) + X.T @ X
    w = np.linalg.solve(Amat, X.T @ rewards)
    width = np.sqrt(np.einsum("kd,dk->k", arms, np.linalg.solve(Amat, arms.T)))
    v = arms @ w + alpha * width
    p = np.exp((v - v.max()) / tau)
    return p / p.sum(), v


def test_sqrt_mlp_exact_at_knots_and_error_shrinks_with_width():
    knots, coefs = sqrt_relu_coefficients(8, 1e-3, 2.0)
    pts = torch.logspace(-3, np.log10(2.0), 8, dtype=torch.float64)
    np.testing.assert_allclose(sqrt_relu(pts, knots, coefs).numpy(), np.sqrt(pts.numpy()), atol=1e-12)
    u = torch.linspace(1e-3, 2.0, 2001, dtype=torch.float64)
    errs = [float((sqrt_relu(u, *sqrt_relu_coefficients(w, 1e-3, 2.0)) - u.sqrt()).abs().max()) for w in (4, 8, 16, 32)]
    assert all(b < a for a, b in zip(errs, errs[1:]))


def test_deep_construction_matches_numpy_soft_linucb():
    rng = np.random.default_rng(0)
    d, A, t = 2, 4, 12
    arms = rng.uniform(-1, 1, (3, A, d))
    actions = rng.integers(0, A, (3, t))
    rewards = rng.normal(size=(3, t))
    c = linucb_construction(d, A, 120, alpha=1.0, lam=1.0, tau=0.5, momentum=linucb_default_momentum(d, 1.0, t),
                            width=64)
    H = linucb_forward(linucb_prompt(arms, actions, rewards, c.layout), c)
    probs = linucb_readout(H, c, all_tokens=True).numpy()
    for b in range(3):
        for s in (0, 5, t):   # every prefix: column s + 1 sees rounds 1..s
            ref, _ = numpy_soft_linucb(arms[b], actions[b, :s], rewards[b, :s], 1.0, 1.0, 0.5)
            np.testing.assert_allclose(probs[b, s], ref, atol=2e-3)


def test_expert_interface_and_agreement_with_rl_soft_linucb():
    g = torch.Generator().manual_seed(1)
    bandit = LinearBandit.sample(8, 2, 3, 0.5, g)
    c = linucb_construction(2, 3, 100, tau=0.5, momentum=linucb_default_momentum(2, 1.0, 10), width=64)
    expert = transformer_linucb_expert(c)
    traj = run_bandit(bandit, soft_linucb(1.0, 1.0, 0.5), 10, 2)
    for t in (0, 4, 10):
        p = expert(bandit, traj.actions[:, :t], traj.rewards[:, :t])
        ref = soft_linucb(1.0, 1.0, 0.5)(bandit, traj.actions[:, :t], traj.rewards[:, :t])
        assert p.shape == (8, 3)
        np.testing.assert_allclose(p.numpy(), ref.numpy(), atol=2e-3)
    out = run_bandit(bandit, expert, 5, 3)
    assert out.actions.shape == (8, 5)


def test_thompson_moments_match_numpy_posterior():
    rng = np.random.default_rng(2)
    d, A, t, sigma, s = 2, 3, 10, 0.8, 1.5
    arms = rng.uniform(-1, 1, (A, d))
    actions = rng.integers(0, A, t)
    rewards = rng.normal(size=t)
    c = thompson_construction(d, A, 150, sigma, s, momentum=0.7)
    m, C = thompson_readout(thompson_forward(linucb_prompt(arms, actions, rewards, c.layout), c), c)
    X = arms[actions]
    prec = np.eye(d) / s ** 2 + X.T @ X / sigma ** 2
    cov_w = np.linalg.inv(prec)
    mu = cov_w @ X.T @ rewards / sigma ** 2
    np.testing.assert_allclose(m.numpy(), arms @ mu, atol=1e-8)
    np.testing.assert_allclose(C.numpy(), arms @ cov_w @ arms.T, atol=1e-8)
    p = gaussian_argmax_probs(m, C, 4000, 0)
    assert abs(float(p.sum()) - 1) < 1e-12


def test_bad_inputs():
    c = linucb_construction(2, 3, 2)
    with pytest.raises(ValueError, match="arms"):
        linucb_prompt(np.zeros((4, 2)), np.zeros(1, dtype=int), np.zeros(1), c.layout)
    with pytest.raises(ValueError, match="actions"):
        linucb_prompt(np.zeros((3, 2)), np.array([3]), np.zeros(1), c.layout)
    with pytest.raises(ValueError, match="actions"):
        linucb_prompt(np.zeros((3, 2)), np.array([0.5]), np.zeros(1), c.layout)
    with pytest.raises(ValueError, match="rewards"):
        linucb_prompt(np.zeros((3, 2)), np.array([0, 1]), np.zeros(1), c.layout)
    with pytest.raises(ValueError, match="width"):
        sqrt_relu_coefficients(1, 0.1, 1.0)
    with pytest.raises(ValueError, match="u_min"):
        sqrt_relu_coefficients(4, 2.0, 1.0)
    with pytest.raises(ValueError, match="tau"):
        linucb_construction(2, 3, 2, tau=0.0)
    with pytest.raises(ValueError, match="construction"):
        transformer_linucb_expert("not a construction")
    with pytest.raises(ValueError, match="cov"):
        gaussian_argmax_probs(np.zeros(2), -np.eye(2), 10, 0)


def test_ad_linucb_experiment_tiny_run_has_the_json_keys():
    from icrl_lib.training import ADLinUCBConfig, ad_linucb_experiment
    cfg = ADLinUCBConfig(n_train_tasks=64, n_steps=5, batch_size=16, n_eval_tasks=4, horizon=5,
                         construction_layers=3, construction_width=4)
    out = ad_linucb_experiment(cfg)
    assert set(out) >= {"horizon", "n_tasks", "regret", "curves", "policy_gap", "training", "config", "seconds"}
    assert set(out["regret"]) == {"trained", "constructed", "soft_linucb", "linucb", "emp"}
    assert len(out["curves"]["trained"]) == 5 and 0 <= out["policy_gap"]["trained"]["tv_mean"] <= 1
    with pytest.raises(ValueError, match="tau"):
        ADLinUCBConfig(tau=0.0)
