"""icrl_lib.rl.episodic_regret (chapter 10) against a per-MDP backward induction."""
import torch

from icrl_lib.rl import episodic_values, greedy_action, plan_regret, random_episodic_mdp, run_ucbvi


def _values(P, r, pi=None):  # one MDP, plain loops
    H, S, A = r.shape
    V = torch.zeros(S, dtype=r.dtype)
    for h in reversed(range(H)):
        Q = r[h] + P[h] @ V
        V = Q.amax(-1) if pi is None else Q[torch.arange(S), pi[h]]
    return V


def test_values_and_regret():
    mdp = random_episodic_mdp(3, 2, 3, seed=4, n_mdps=2)
    V = episodic_values(mdp)
    for b in range(2):
        assert torch.allclose(V[b, 0], _values(mdp.P[b], mdp.r[b]), atol=1e-12)
    run = run_ucbvi(mdp, 4, 0.1, 5)
    pi = greedy_action(run.Q)
    want = torch.tensor([sum(float(mdp.rho0[b] @ (_values(mdp.P[b], mdp.r[b]) - _values(mdp.P[b], mdp.r[b], pi[b, k])))
                             for k in range(4)) for b in range(2)], dtype=mdp.r.dtype)
    assert torch.allclose(plan_regret(mdp, run.Q), want, atol=1e-12)


def test_optimal_plan_has_no_regret():
    mdp = random_episodic_mdp(3, 2, 3, seed=4, n_mdps=2)
    Qstar = torch.zeros(2, 1, 3, 3, 2, dtype=mdp.r.dtype)
    for b in range(2):
        V = torch.zeros(3, dtype=mdp.r.dtype)
        for h in reversed(range(3)):
            Qstar[b, 0, h] = mdp.r[b, h] + mdp.P[b, h] @ V
            V = Qstar[b, 0, h].amax(-1)
    assert float(plan_regret(mdp, Qstar).abs().max()) < 1e-12
