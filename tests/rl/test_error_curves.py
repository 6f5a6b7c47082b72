"""rl.error_curves and rl.action_gaps (chapter 1) against the loops the chapter had."""
from __future__ import annotations

import torch

from icrl_lib import rl

F64 = torch.float64


def _setup():
    mdp = rl.random_mdp(n_states=4, n_actions=2, gamma=0.9, seed=0)
    pi = rl.uniform_policy(4, 2)
    V, _ = rl.policy_evaluation(mdp, pi)
    return mdp, pi, V


def test_td0_error_curves_match_the_chapter_loop():
    mdp, pi, V = _setup()
    alphas = {"a": 0.1, "b": torch.full((50,), 0.05, dtype=F64)}
    got = rl.td0_error_curves(mdp, pi, V, alphas, 50, n_runs=3, seed=2)
    copies = rl.stack_mdps([mdp] * 3)
    for name, alpha in alphas.items():
        values = rl.td0_evaluation(copies, pi, 50, alpha, seed=2).values
        assert torch.equal(got[name], (values - V).abs().max(-1).values)
        assert got[name].shape == (3, 51)
    assert torch.allclose(got["a"][:, 0], V.abs().max().expand(3))  # w_0 = 0


def test_certainty_equivalence_errors_match_the_chapter_loop_and_shrink():
    mdp, pi, V = _setup()
    got = rl.certainty_equivalence_errors(mdp, pi, V, (50, 5000), n_datasets=5, seed=100)
    copies = rl.stack_mdps([mdp] * 5)
    for n in (50, 5000):
        d = rl.sample_transitions(copies, pi, n, seed=100)
        w_n = rl.certainty_equivalence_values(d.s, d.r, d.s_next, 4, 0.9)
        assert got[n] == float((w_n - V).abs().max(-1).values.mean())
    assert got[5000] < got[50]


def test_greedy_commitment_by_hand():
    mdp, _, _ = _setup()
    pi_star, V_star, Q_star = rl.value_iteration(mdp)
    a_star = pi_star.argmax(-1)
    wrong = torch.nn.functional.one_hot((a_star + 1) % 2, 2).to(F64)  # always the other action
    pi = torch.stack([pi_star, 0.9 * wrong + 0.1 * pi_star])
    out = rl.greedy_commitment(pi, pi_star, V_star, Q_star)
    loss = V_star.unsqueeze(-1) - Q_star
    assert bool((out.loss >= 0).all()) and bool((out.loss.gather(-1, a_star[:, None]) == 0).all())
    assert torch.equal(out.optimal, a_star)
    assert not bool(out.wrong[0].any()) and bool(out.wrong[1].all())
    assert torch.allclose(out.p_optimal[0], torch.ones(4, dtype=F64))
    assert torch.allclose(out.p_optimal[1], torch.full((4,), 0.1, dtype=F64))
    for s in range(4):
        assert out.preferred_loss[1, s] == loss[s, (a_star[s] + 1) % 2]
