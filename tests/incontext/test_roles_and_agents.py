"""icrl_lib.incontext.manifold (entry roles, hand-counted null dimension, aligned blocks) and
icrl_lib.incontext.agents (teacher and block agents in rl.run_control), chapters 6-7.

Independent checks: the inert entries against autograd of the loss written out here; the hand count of the
zero set against the nullity of the readout Jacobian at the construction (autograd, float64); the agents
against each other under common random numbers and the recorded returns against exact single-MDP
evaluation of the parameters they produced.
"""
from __future__ import annotations

import pytest
import torch

from icrl_lib.attention import lsa_unchecked
from icrl_lib.incontext import (PromptDistribution, aligned_active_blocks, behaviour_policy_fn, block_agent,
                                build_prompt_batch, held_out_mdps, null_directions, parameter_roles,
                                predicted_null_dimension, recovery_metrics, sample_parameters,
                                sample_prompt_batch, select_mask, teacher_agent)
from icrl_lib.rl import (expected_return, normalized_return, random_mdp, reference_returns, run_control,
                         sample_transitions, softmax_q_policy, value_iteration)

ALGS = ["sarsa", "actor-critic"]
F64 = torch.float64
SARSA = PromptDistribution(algorithm="sarsa", n_states=4, n_actions=2, n_transitions=20)
AC = PromptDistribution(algorithm="actor-critic", n_states=4, n_actions=2, n_transitions=20, alpha=0.5, beta=2.0)


def loss(P, V, batch, rows, mask=False):
    out = lsa_unchecked(batch.H, P, V, mask=mask)[..., rows, -1]
    return ((out - batch.target) ** 2).sum(-1).mean()


# ------------------------------------------------------------------------------------------ roles
@pytest.mark.parametrize("alg", ALGS)
def test_parameter_roles_partition_the_entries(alg):
    dist = PromptDistribution(algorithm=alg)
    roles = parameter_roles(dist)
    L = dist.layout
    D, n_data, n_out = L.dim, L.data.stop, len(dist.output_rows)
    n_param = D - n_data
    for k in (0, 1):
        total = sum(roles[r][k].to(torch.int) for r in ("active", "query", "inert"))
        assert torch.all(total == 1)
    assert int(roles["active"][0].sum()) == n_data * n_param and int(roles["active"][1].sum()) == n_out * n_data
    assert int(roles["query"][0].sum()) == n_param ** 2 and int(roles["query"][1].sum()) == n_out * n_param
    Ps, Vs = dist.construction()
    assert torch.all(Ps[~roles["active"][0]] == 0) and torch.all(Vs[~roles["active"][1]] == 0)


@pytest.mark.parametrize("alg", ALGS)
def test_inert_entries_have_zero_gradient(alg):
    dist = PromptDistribution(algorithm=alg, n_transitions=10)
    batch = sample_prompt_batch(dist, 16, torch.Generator().manual_seed(0))
    inert = parameter_roles(dist)["inert"]
    gen = torch.Generator().manual_seed(1)
    D = dist.layout.dim
    P = torch.randn(D, D, generator=gen, dtype=F64).requires_grad_(True)
    V = torch.randn(D, D, generator=gen, dtype=F64).requires_grad_(True)
    gP, gV = torch.autograd.grad(loss(P, V, batch, dist.output_rows), (P, V))
    assert torch.all(gP[inert[0]] == 0) and torch.all(gV[inert[1]] == 0)
    assert float(gP[~inert[0]].abs().max()) > 0 and float(gV[~inert[1]].abs().max()) > 0


def test_select_mask_options_and_validation():
    dist = PromptDistribution(algorithm="sarsa", n_states=2, n_actions=2)
    roles = parameter_roles(dist)
    tP, tV = select_mask(dist, "trainable")
    assert torch.equal(tP, roles["active"][0] | roles["query"][0]) and torch.equal(tV, roles["active"][1] | roles["query"][1])
    aP, aV = select_mask(dist, "all")
    assert bool(aP.all()) and bool(aV.all())
    assert select_mask(dist, roles["query"]) == roles["query"]
    with pytest.raises(ValueError, match="entries"):
        select_mask(dist, "everything")
    with pytest.raises(ValueError, match="entries"):
        select_mask(dist, (torch.zeros(3, 3, dtype=torch.bool), torch.zeros(3, 3, dtype=torch.bool)))
    with pytest.raises(ValueError, match="entries"):
        predicted_null_dimension(dist, "inert")
    with pytest.raises(ValueError, match="dist"):
        parameter_roles("sarsa")


@pytest.mark.parametrize("alg, expected", [("sarsa", 32), ("actor-critic", 247)])
def test_predicted_null_dimension_is_the_nullity_of_the_readout_jacobian(alg, expected):
    """At the construction the residual vanishes, so the Hessian's null space on the active entries is the
    null space of the Jacobian of all readouts: nullity = #active - rank(J). The readout is linear in P for
    fixed V and in V for fixed P, so unit differences give J's columns exactly (no autograd)."""
    dist = PromptDistribution(algorithm=alg)
    assert predicted_null_dimension(dist, "active") == expected
    batch = sample_prompt_batch(dist, 120, torch.Generator().manual_seed(2))
    Ps, Vs = dist.construction()
    mP, mV = select_mask(dist, "active")
    rows = dist.output_rows
    D = Ps.shape[0]
    # moments G_b = H_b H_b^T and query columns: one layer's readout is h_q[rows] + V[rows] G P h_q / N
    H = batch.H
    G, hq, N = H @ H.transpose(-1, -2), H[..., -1], H.shape[-1] - 1

    def readout(P, V):                                   # (k, D, D) -> (k, B * n_out), by the loop-free layer
        return (hq[:, rows] + torch.einsum("koe,bef,kfg,bg->kbo", V[:, rows], G, P, hq) / N).reshape(P.shape[0], -1)

    base = readout(Ps[None], Vs[None])
    cols = []
    for mask, which in ((mP, "P"), (mV, "V")):
        idx = mask.reshape(-1).nonzero().squeeze(-1)
        for chunk in idx.split(256):
            E = torch.zeros(len(chunk), D * D, dtype=F64)
            E[torch.arange(len(chunk)), chunk] = 1.0
            E = E.reshape(-1, D, D)
            out = readout(Ps + E, Vs.expand_as(E)) if which == "P" else readout(Ps.expand_as(E), Vs + E)
            cols.append(out - base)
    J = torch.cat(cols).T
    # the moment form is the layer itself (checked once against the attention layer)
    assert torch.allclose(base[0], lsa_unchecked(H, Ps, Vs)[..., rows, -1].reshape(-1), atol=1e-12)
    assert J.shape[1] - int(torch.linalg.matrix_rank(J, rtol=1e-9)) == expected
    roles = parameter_roles(dist)
    n_query = int(roles["query"][0].sum() + roles["query"][1].sum())
    n_inert = int(roles["inert"][0].sum() + roles["inert"][1].sum())
    assert predicted_null_dimension(dist, "trainable") == expected + n_query
    assert predicted_null_dimension(dist, "all") == expected + n_query + n_inert
    N_P, N_V = null_directions(dist)
    assert expected == 1 + N_P.shape[0] + N_V.shape[0]


@pytest.mark.parametrize("alg", ALGS)
def test_aligned_active_blocks_reproduce_the_recovery_metrics(alg):
    dist = PromptDistribution(algorithm=alg)
    Ps, Vs = dist.construction()
    gen = torch.Generator().manual_seed(0)
    P = -Ps / 2 + 0.01 * torch.randn(Ps.shape, generator=gen, dtype=F64)
    V = -2 * Vs + 0.01 * torch.randn(Vs.shape, generator=gen, dtype=F64)
    a = aligned_active_blocks(P, V, dist)
    m = recovery_metrics(P, V, dist)
    assert abs(a["scale"] - m["scale"]) < 1e-15 and abs(a["scale"] + 2) < 0.05
    errP = float((a["P_id"] - a["P_star_id"]).norm() / a["P_star_id"].norm())
    errV = float((a["V_id"] - a["V_star_id"]).norm() / a["V_star_id"].norm())
    assert abs(errP - m["relative_error_P"]) < 1e-12 and abs(errV - m["relative_error_V"]) < 1e-12
    s = aligned_active_blocks(Ps, Vs, dist)
    assert torch.equal(s["P_act"], s["P_star"]) and torch.allclose(s["V_id"], s["V_star_id"], atol=1e-15)


# ------------------------------------------------------------------------------------------ agents
@pytest.mark.parametrize("dist", [SARSA, AC], ids=["sarsa", "actor-critic"])
def test_block_agent_with_the_construction_is_the_teacher(dist):
    g = torch.Generator().manual_seed(0)
    S, A = dist.n_states, dist.n_actions
    mdps = random_mdp(S, A, dist.gamma, n_mdps=16, generator=g)
    params = sample_parameters(dist, 16, g)
    T = sample_transitions(mdps, behaviour_policy_fn(dist, 0.5)(params), dist.n_transitions, g)
    teacher = teacher_agent(dist)(params, T)
    P, V = dist.construction()
    assert (block_agent(P, V, dist)(params, T) - teacher).abs().max() < 1e-12
    assert (block_agent(P / 3.0, 3.0 * V, dist, mask=True)(params, T) - teacher).abs().max() < 1e-12
    # the teacher agent is the prompt batch's target on the same draws
    batch = build_prompt_batch(PromptDistribution(**{**dist.__dict__, "reward_noise": 0.0}), mdps, params,
                               torch.Generator().manual_seed(5), temperature=0.5)
    g5 = torch.Generator().manual_seed(5)
    T5 = sample_transitions(mdps, behaviour_policy_fn(dist, 0.5)(params), dist.n_transitions, g5)
    assert torch.allclose(teacher_agent(dist)(params, T5), batch.target, atol=1e-14, rtol=0)


@pytest.mark.parametrize("dist,tau", [(SARSA, 0.5), (AC, 1.0)], ids=["sarsa", "actor-critic"])
def test_construction_agent_equals_teacher_in_run_control(dist, tau):
    mdps = held_out_mdps(dist, 6, seed=0)
    P, V = dist.construction()
    policy = behaviour_policy_fn(dist, tau)
    params0 = torch.zeros(dist.n_params, dtype=F64)
    res = run_control(mdps, {"transformer": block_agent(P, V, dist), "teacher": teacher_agent(dist)}, policy,
                      params0, 6, dist.n_transitions, seed=4, reward_noise=dist.reward_noise)
    assert (res.returns["transformer"] - res.returns["teacher"]).abs().max() < 1e-10
    assert (res.params["transformer"] - res.params["teacher"]).abs().max() < 1e-10
    # the recorded returns are the exact returns of the produced parameters, MDP by MDP
    for i in range(2):
        for k in (0, 3, 6):
            J = expected_return(mdps[i], policy(res.params["teacher"][i, k]))
            assert abs(float(J) - float(res.returns["teacher"][i, k])) < 1e-12
    res2 = run_control(mdps, {"teacher": teacher_agent(dist)}, policy, params0, 6, dist.n_transitions, seed=5)
    assert not torch.allclose(res2.returns["teacher"], res.returns["teacher"])


def test_sarsa_behaviour_policy_matches_rl_softmax_q_policy():
    params = sample_parameters(SARSA, 3, torch.Generator().manual_seed(0))
    pi = behaviour_policy_fn(SARSA, 0.4)(params)
    ref = softmax_q_policy(SARSA.n_states, SARSA.n_actions, 0.4)
    for b in range(3):
        assert torch.allclose(pi[b], ref(params[b]), atol=1e-14)


def test_sarsa_teacher_improves_toward_the_oracle():
    dist = PromptDistribution(algorithm="sarsa", n_transitions=40)
    mdps = held_out_mdps(dist, 16, seed=0)
    res = run_control(mdps, {"teacher": teacher_agent(dist)}, behaviour_policy_fn(dist, 0.3),
                      torch.zeros(dist.n_params, dtype=F64), 20, dist.n_transitions, seed=0,
                      reward_noise=dist.reward_noise)
    J_random, J_star = reference_returns(mdps)
    final = normalized_return(res.returns["teacher"][:, -1], J_random, J_star)
    assert final.mean() > 0.7 and (final <= 1 + 1e-12).all()
    _, V_star, _ = value_iteration(mdps[0])
    assert abs(float(mdps[0].rho0 @ V_star) - float(J_star[0])) < 1e-9


def test_agent_validation():
    with pytest.raises(ValueError, match="dist"):
        teacher_agent("sarsa")
    with pytest.raises(ValueError, match="P and V"):
        block_agent(torch.zeros(3, 3), torch.zeros(3, 3), SARSA)
    with pytest.raises(ValueError, match="temperature"):
        behaviour_policy_fn(SARSA, 0.0)
