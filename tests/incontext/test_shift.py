"""incontext.shift, fixed_point and sample_efficiency (chapter 11) against independent computations."""
from __future__ import annotations

import numpy as np
import torch

from icrl_lib import incontext as ic
from icrl_lib import rl

F = torch.float64
DIST = ic.PromptDistribution(n_states=3, n_actions=2, n_transitions=6)


def test_construction_is_its_teacher_under_every_shift():
    P, V = DIST.construction()
    conds = ic.shift_conditions(DIST)
    assert len(conds) == 14
    small = {k: conds[k] for k in ("Dirichlet 0.1 (sparse)", "rewards + 1", "gamma 0.5", "N = 5")}
    out = ic.block_shift_study(P, V, small, 0.3, 3, n_mdps=4, n_prompts=16)
    for name, (err, teacher, (gap, half)) in out.items():
        assert -0.5 < teacher <= 1.0 + 1e-12
        if name == "gamma 0.5":  # the block keeps gamma = 0.9: off the shifted teacher's step
            assert err > 0.05
        else:
            assert err < 1e-10 and abs(gap) < 1e-10 and half < 1e-10, name


def test_moments_and_fixed_point():
    mdps = rl.dirichlet_mdp(3, 2, 1.0, 0.9, 4, 0)
    trn = rl.sample_transitions(mdps, rl.uniform_policy(3, 2), 30, torch.Generator().manual_seed(0))
    table = ic.random_feature_tables(1, 3, 2, 6, 1)[0]  # d = |S||A|: invertible
    A_hat, b_hat = ic.feature_sarsa_moments(table, trn, 0.9)
    phi = table[trn.s, trn.a]
    phi_n = table[trn.s_next, trn.a_next]
    want = torch.einsum("bni,bnj->bij", phi, phi - 0.9 * phi_n) / 30
    assert torch.allclose(A_hat, want, atol=1e-12)
    assert torch.allclose(b_hat, (phi * trn.r.to(F)[..., None]).mean(1), atol=1e-12)
    w = ic.fixed_point_agent(table, 0.9)(torch.zeros(4, 6, dtype=F), trn)
    assert torch.allclose((A_hat @ w[..., None])[..., 0], b_hat, atol=1e-8)
    # one SARSA step leaves the fixed point in place
    step = ic.feature_teacher_agent(table, 0.3, 0.9)
    assert torch.allclose(step(w, trn), w, atol=1e-8)


def test_step_curves_match_direct_runs():
    mdps = rl.dirichlet_mdp(3, 2, 1.0, 0.9, 3, 2)
    policy = ic.behaviour_policy_fn(DIST, 0.3)
    curves, ent = ic.in_context_step_curves(mdps, DIST, policy, 24, (6,), (1,), (12, 24), seed=1)
    steps, x = curves["in-context, N = 6, L = 1"]
    assert list(steps) == [0, 6, 12, 18, 24]
    direct = rl.normalized_control(mdps, {"a": ic.teacher_agent(DIST)}, policy, torch.zeros(6, dtype=F), 4, 6,
                                   seed=1)["a"]
    assert torch.allclose(x, direct, atol=1e-12)
    sweep, best, oc, oent = ic.online_step_curves(mdps, 24, (0.1, 0.5), 0.3, (12, 24), eval_every=6, seed=1)
    for method, a in best.items():
        finals = [float(x[:, -1].mean()) for _, x in sweep[method].values()]
        assert a == (0.1, 0.5)[int(np.argmax(finals))]
        o = rl.online_td_control(mdps, 12, a, method, 0.3, 6, generator=1)
        assert abs(oent[f"online {method}, alpha = {a:g}"][0] - rl.policy_entropy(rl.softmax_policy(o.q, 0.3))) < 1e-12
