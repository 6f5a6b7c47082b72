"""Tests of icrl_lib.incontext.tasks and .manifold (chapter 6): prompt distribution, targets, symmetries of the
mimicking loss, null directions, recovery metrics and validation.

Independent computations: the teacher's targets are recomputed by plain numpy loops over the sampled
transitions (not through icrl_lib.rl's updates); null directions and the scale symmetry are checked through
the loss itself (written out here: squared error of the block's readout against the target).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from icrl_lib.attention import lsa_unchecked
from icrl_lib.incontext import (HELD_OUT_SEED_OFFSET, PromptDistribution, behaviour_policy, build_prompt_batch,
                                held_out_mdps, null_directions, project_out, recovery_metrics, sample_parameters,
                                sample_prompt_batch)
from icrl_lib.rl import random_mdp, sample_transitions

ALGS = ["sarsa", "actor-critic"]
F64 = torch.float64


def construction(dist):
    return dist.construction()


def prompt_layout(dist):
    return dist.layout


def output_rows(dist):
    return dist.output_rows


def mimicking_loss(P, V, batch, rows, mask=False):
    out = lsa_unchecked(batch.H.to(P.dtype), P, V, mask=mask)[..., rows, -1]
    return ((out - batch.target.to(P.dtype)) ** 2).sum(-1).mean()


def init_parameters(D, scale, gen, dtype=F64):
    return (torch.randn(D, D, generator=gen, dtype=dtype) * scale / D ** 0.5,
            torch.randn(D, D, generator=gen, dtype=dtype) * scale / D ** 0.5)


def _dist(alg, **kw):
    return PromptDistribution(algorithm=alg, **kw)


def _batch(dist, n=16, seed=0):
    return sample_prompt_batch(dist, n, torch.Generator().manual_seed(seed))


def _active_slices(dist):
    L = prompt_layout(dist)
    return L.data, L.param, output_rows(dist)


# ------------------------------------------------------------------ prompts and targets

@pytest.mark.parametrize("alg", ALGS)
def test_sample_prompt_batch_shapes_and_determinism(alg):
    dist = _dist(alg, n_transitions=7)
    L = prompt_layout(dist)
    b1, b2 = _batch(dist, 5, seed=3), _batch(dist, 5, seed=3)
    n_out = len(output_rows(dist))
    assert b1.H.shape == (5, L.dim, 8) and b1.H.dtype == F64
    assert b1.target.shape == (5, n_out) and b1.params.shape == (5, n_out)
    assert torch.equal(b1.H, b2.H) and torch.equal(b1.target, b2.target)
    assert not torch.equal(b1.H, _batch(dist, 5, seed=4).H)
    # query column: zeros in the data rows, (1; params) in the parameter rows; context: zeros in param rows
    assert torch.all(b1.H[:, L.data, -1] == 0)
    assert torch.all(b1.H[:, L.rows("one"), -1] == 1)
    assert torch.equal(b1.H[:, output_rows(dist), -1], b1.params)
    assert torch.all(b1.H[:, L.param, :-1] == 0)
    # the dimension is 47 for both algorithms with |S| = 5, |A| = 3
    assert L.dim == 47


def _numpy_softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("alg", ALGS)
def test_build_prompt_batch_targets_match_a_loop_over_transitions(alg):
    dist = _dist(alg, n_transitions=9, reward_noise=0.3)
    S, A, N, g, al, be = dist.n_states, dist.n_actions, dist.n_transitions, dist.gamma, dist.alpha, dist.beta
    B = 4
    mdps = random_mdp(S, A, g, seed=11, n_mdps=B)
    params = sample_parameters(dist, B, torch.Generator().manual_seed(2))
    batch = build_prompt_batch(dist, mdps, params, torch.Generator().manual_seed(7))
    # replay the same draws: the noise-free transitions, then the reward noise (the sampler draws it last)
    gen = torch.Generator().manual_seed(7)
    T = sample_transitions(mdps, behaviour_policy(dist, params), N, gen)
    noise = torch.randn(B, N, generator=gen, dtype=F64).numpy() * dist.reward_noise
    s, a, s2, a2 = (x.numpy() for x in (T.s, T.a, T.s_next, T.a_next))
    r_mean = mdps.r.numpy()
    p = params.numpy()
    for b in range(B):
        if alg == "sarsa":
            w = p[b]
            w_new = w.copy()
            for t in range(N):
                r = r_mean[b, s[b, t], a[b, t]] + noise[b, t]
                i, j = s[b, t] * A + a[b, t], s2[b, t] * A + a2[b, t]
                w_new[i] += al / N * (r + g * w[j] - w[i])
            expected = w_new
        else:
            w, theta = p[b, :S], p[b, S:]
            w_new, th_new = w.copy(), theta.copy()
            for t in range(N):
                r = r_mean[b, s[b, t], a[b, t]] + noise[b, t]
                delta = r + g * w[s2[b, t]] - w[s[b, t]]
                psi = np.zeros(S * A)
                psi[s[b, t] * A:(s[b, t] + 1) * A] = -_numpy_softmax(theta.reshape(S, A)[s[b, t]])
                psi[s[b, t] * A + a[b, t]] += 1.0
                w_new[s[b, t]] += al / N * delta
                th_new += be / N * delta * psi
            expected = np.concatenate([w_new, th_new])
        np.testing.assert_allclose(batch.target[b].numpy(), expected, rtol=0, atol=1e-12)


def test_behaviour_policy_is_the_softmax_of_q_over_tau():
    dist = _dist("sarsa", temperature=0.5)
    params = sample_parameters(dist, 3, torch.Generator().manual_seed(0))
    pi = behaviour_policy(dist, params)
    q = params.numpy().reshape(3, dist.n_states, dist.n_actions)
    np.testing.assert_allclose(pi.numpy(), _numpy_softmax(q / 0.5), atol=1e-12)


def test_fixed_mdp_and_poor_distributions():
    dist = _dist("sarsa", fixed_mdp_seed=5, w_scale=0.0, reward_noise=0.0)
    b = _batch(dist, 6, seed=1)
    assert torch.equal(b.mdps.P[0], b.mdps.P[5]) and torch.equal(b.mdps.r[0], b.mdps.r[3])
    assert torch.all(b.params == 0)
    # deterministic rewards: the reward row is the fixed r(s, a) of the pair in the phi rows
    L = prompt_layout(dist)
    phi = b.H[:, L.rows("phi"), :-1]                       # (B, d, N)
    r_row = b.H[:, L.rows("r"), :-1].squeeze(1)            # (B, N)
    r_table = b.mdps.r[0].reshape(-1)
    assert torch.allclose(r_row, torch.einsum("d,bdn->bn", r_table, phi), atol=1e-14)


# ------------------------------------------------------------------ construction, loss, symmetries

@pytest.mark.parametrize("alg", ALGS)
def test_construction_has_zero_loss_on_random_batches(alg):
    for seed, kw in [(0, {}), (1, {"w_scale": 3.0, "reward_noise": 1.0}), (2, {"fixed_mdp_seed": 4})]:
        dist = _dist(alg, **kw)
        P, V = construction(dist)
        for mask in (False, True):
            assert float(mimicking_loss(P, V, _batch(dist, 32, seed), output_rows(dist), mask)) < 1e-25


@pytest.mark.parametrize("alg", ALGS)
def test_null_directions_are_orthonormal_and_leave_the_loss_unchanged(alg):
    dist = _dist(alg)
    L = prompt_layout(dist)
    data, param, rows = _active_slices(dist)
    N_P, N_V = null_directions(dist)
    n_param, n_out = L.dim - data.stop, len(rows)
    n_patterns = 1 if alg == "sarsa" else 1 + dist.n_states
    assert N_P.shape == (n_patterns * n_param, data.stop, n_param)
    assert N_V.shape == (n_patterns * n_out, n_out, data.stop)
    for N in (N_P, N_V):
        flat = N.reshape(N.shape[0], -1)
        assert torch.allclose(flat @ flat.T, torch.eye(N.shape[0], dtype=F64), atol=1e-12)
    P, V = construction(dist)
    batch = _batch(dist, 32, seed=5)
    gen = torch.Generator().manual_seed(0)
    P2, V2 = P.clone(), V.clone()
    P2[data, param] += torch.einsum("k,kij->ij", torch.randn(N_P.shape[0], generator=gen, dtype=F64), N_P)
    V2[rows.unsqueeze(-1), torch.arange(data.stop)] += torch.einsum(
        "k,kij->ij", torch.randn(N_V.shape[0], generator=gen, dtype=F64), N_V)
    assert float(mimicking_loss(P2, V2, batch, rows)) < 1e-24
    # a generic direction of the same size is not null
    P3 = P.clone()
    P3[data, param] += torch.randn(data.stop, L.dim - data.stop, generator=gen, dtype=F64)
    assert float(mimicking_loss(P3, V, batch, rows)) > 1e-3


@pytest.mark.parametrize("alg", ALGS)
def test_scale_symmetry_leaves_the_loss_unchanged(alg):
    dist = _dist(alg)
    L = prompt_layout(dist)
    gen = torch.Generator().manual_seed(1)
    P, V = init_parameters(L.dim, 1.0, gen)
    batch, rows = _batch(dist, 16, 2), output_rows(dist)
    l0 = mimicking_loss(P, V, batch, rows)
    for c in (-2.0, 0.3, 5.0):
        assert torch.isclose(mimicking_loss(P / c, c * V, batch, rows), l0, rtol=1e-12)


@pytest.mark.parametrize("alg", ALGS)
def test_recovery_metrics_zero_at_construction_and_invariant(alg):
    dist = _dist(alg)
    P, V = construction(dist)
    m = recovery_metrics(P, V, dist)
    assert m["relative_error_P"] < 1e-14 and m["relative_error_V"] < 1e-14
    assert m["inert_norm"] == 0 and abs(m["scale"] - 1) < 1e-14
    assert abs(m["balance"] - (float((V ** 2).sum()) - float((P ** 2).sum()))) < 1e-12
    data, param, rows = _active_slices(dist)
    N_P, N_V = null_directions(dist)
    gen = torch.Generator().manual_seed(3)
    for c in (-1.7, 0.25, 3.0):
        P2, V2 = P.clone() / c, V.clone() * c
        P2[data, param] += torch.einsum("k,kij->ij", torch.randn(N_P.shape[0], generator=gen, dtype=F64), N_P)
        V2[rows.unsqueeze(-1), torch.arange(data.stop)] += torch.einsum(
            "k,kij->ij", torch.randn(N_V.shape[0], generator=gen, dtype=F64), N_V)
        m2 = recovery_metrics(P2, V2, dist)
        assert m2["relative_error_P"] < 1e-12 and m2["relative_error_V"] < 1e-12
        assert abs(m2["scale"] - c) < 1e-12 and m2["inert_norm"] == 0
    # an inert entry shows up in inert_norm only
    P3 = P.clone()
    P3[0, 0] = 0.5
    m3 = recovery_metrics(P3, V, dist)
    assert abs(m3["inert_norm"] - 0.5) < 1e-15 and m3["relative_error_P"] < 1e-14
    # a perturbation of the active block is measured relative to the construction
    P4 = P.clone()
    E = torch.zeros_like(P)
    E[data, param] = torch.randn(data.stop, param.stop - param.start, generator=gen, dtype=F64)
    E_id = E[data, param] - torch.einsum("kij,kij,kab->ab", N_P, E[data, param].expand_as(N_P), N_P)
    P4 += 0.01 * E
    Ps_id = P[data, param] - torch.einsum("kij,kij,kab->ab", N_P, P[data, param].expand_as(N_P), N_P)
    expected = 0.01 * float(E_id.norm()) / float(Ps_id.norm())
    assert abs(recovery_metrics(P4, V, dist)["relative_error_P"] - expected) < 1e-12


def test_recovery_metrics_rejects_bad_shapes():
    with pytest.raises(ValueError, match="P and V"):
        recovery_metrics(torch.zeros(3, 3), torch.zeros(3, 3), _dist("sarsa"))


@pytest.mark.parametrize("kwargs, name", [
    ({"algorithm": "q"}, "algorithm"), ({"gamma": 1.0}, "gamma"), ({"n_transitions": 0}, "n_transitions"),
    ({"alpha": 0.0}, "alpha"), ({"w_scale": -1.0}, "w_scale"), ({"reward_noise": -0.1}, "reward_noise"),
    ({"fixed_mdp_seed": -2}, "fixed_mdp_seed"), ({"temperature": 0.0}, "temperature"),
])
def test_distribution_validation_names_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        PromptDistribution(**kwargs)


def test_sample_prompt_batch_validation():
    with pytest.raises(ValueError, match="dist"):
        sample_prompt_batch("sarsa", 4, torch.Generator())
    with pytest.raises(ValueError, match="n_prompts"):
        sample_prompt_batch(_dist("sarsa"), 0, torch.Generator())
    with pytest.raises(ValueError, match="generator"):
        sample_prompt_batch(_dist("sarsa"), 4, None)  # an int seed is accepted
    with pytest.raises(ValueError, match="temperature"):
        behaviour_policy(_dist("sarsa"), torch.zeros(15), temperature=0.0)


def test_distribution_properties_come_from_the_registry():
    sarsa, ac = _dist("sarsa"), _dist("actor-critic")
    assert sarsa.d == 15 and ac.d == 5 and sarsa.n_params == 15 and ac.n_params == 20
    assert sarsa.spec.name == "sarsa" and ac.spec.name == "actor-critic"
    assert output_rows(ac).tolist() == list(range(27, 47))


def test_behaviour_policy_of_the_actor_is_the_softmax_of_theta():
    dist = _dist("actor-critic")
    params = sample_parameters(dist, 3, torch.Generator().manual_seed(0))
    pi = behaviour_policy(dist, params, temperature=0.3)      # the actor ignores the SARSA temperature
    th = params[:, dist.n_states:].numpy().reshape(3, dist.n_states, dist.n_actions)
    np.testing.assert_allclose(pi.numpy(), _numpy_softmax(th), atol=1e-12)


def test_project_out_removes_exactly_the_basis_components():
    gen = torch.Generator().manual_seed(0)
    Q, _ = torch.linalg.qr(torch.randn(12, 4, generator=gen, dtype=F64))
    basis = Q.T.reshape(4, 3, 4)
    X = torch.randn(3, 4, generator=gen, dtype=F64)
    Y = project_out(X, basis)
    assert torch.allclose(torch.einsum("kij,ij->k", basis, Y), torch.zeros(4, dtype=F64), atol=1e-14)
    assert torch.allclose(project_out(Y, basis), Y, atol=1e-14)
    assert torch.allclose(X - Y, torch.einsum("k,kij->ij", torch.einsum("kij,ij->k", basis, X), basis), atol=1e-14)


def test_held_out_mdps_are_deterministic_and_disjoint_from_training_seeds():
    SARSA = PromptDistribution(algorithm="sarsa", n_states=4, n_actions=2, n_transitions=20)
    a, b = held_out_mdps(SARSA, 5, seed=2), held_out_mdps(SARSA, 5, seed=2)
    assert torch.equal(a.P, b.P)
    assert (a.batch_shape, a.n_states, a.n_actions, a.gamma) == ((5,), 4, 2, SARSA.gamma)
    assert torch.equal(a.P, random_mdp(4, 2, SARSA.gamma, seed=HELD_OUT_SEED_OFFSET + 2, n_mdps=5).P)
    assert not torch.equal(a.P, held_out_mdps(SARSA, 5, seed=3).P)
    # training generators use small seeds (cfg.seed and 1_000_003 + cfg.seed): none of those MDPs reappear
    train = [random_mdp(4, 2, SARSA.gamma, seed=s, n_mdps=5).P for s in (0, 1, 2, 1_000_003, 1_000_005)]
    assert all(not torch.isclose(a.P[:, None], t[None]).all(dim=(-1, -2, -3)).any() for t in train)
    with pytest.raises(ValueError, match="n_mdps"):
        held_out_mdps(SARSA, 0)
    with pytest.raises(ValueError, match="seed"):
        held_out_mdps(SARSA, 3, seed=-1)
