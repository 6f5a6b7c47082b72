"""Bad-input probe of chapter 1's error curves and action gaps (icrl_lib.rl.error_curves, .action_gaps)."""
from __future__ import annotations

import torch

from icrl_lib import rl as lib

from ._probe import Case, nan_at

F = torch.float64
NAN = float("nan")


def _mdp(n_mdps=None):
    return lib.random_mdp(2, 2, 0.9, seed=0, n_mdps=n_mdps)


M = _mdp()
PI = lib.uniform_policy(2, 2)
V, Q = lib.policy_evaluation(M, PI)
PI_STAR, V_STAR, Q_STAR = lib.value_iteration(M)


def td(**kw):
    args = dict(mdp=M, pi=PI, values=V, alphas={"a": 0.1}, n_steps=5, n_runs=2)
    args.update(kw)
    return lambda: lib.td0_error_curves(**args)


def ce(**kw):
    args = dict(mdp=M, pi=PI, values=V, sizes=(20,), n_datasets=2)
    args.update(kw)
    return lambda: lib.certainty_equivalence_errors(**args)


def gc(**kw):
    args = dict(pi=PI.expand(3, 2, 2), pi_star=PI_STAR, V_star=V_STAR, Q_star=Q_STAR)
    args.update(kw)
    return lambda: lib.greedy_commitment(**args)


CASES = [
    Case("td0_error_curves", "type", td(mdp="mdp"), "mdp"),
    Case("td0_error_curves", "batch", td(mdp=_mdp(2)), "mdp", note="batched MDP"),
    Case("td0_error_curves", "shape", td(values=torch.zeros(3, dtype=F)), "values"),
    Case("td0_error_curves", "nonfinite", td(values=nan_at(V)), "values"),
    Case("td0_error_curves", "range", td(n_runs=0), "n_runs"),
    Case("td0_error_curves", "range", td(n_steps=0), "n_steps"),
    Case("td0_error_curves", "empty", td(alphas={}), "alphas"),
    Case("td0_error_curves", "shape", td(pi=torch.full((2, 3), 1 / 3, dtype=F)), "pi"),
    Case("td0_error_curves", "legit", td(), None,
         check=lambda out: set(out) == {"a"} and out["a"].shape == (2, 6)),
    Case("certainty_equivalence_errors", "type", ce(mdp=None), "mdp"),
    Case("certainty_equivalence_errors", "range", ce(n_datasets=0), "n_datasets"),
    Case("certainty_equivalence_errors", "empty", ce(sizes=()), "sizes"),
    Case("certainty_equivalence_errors", "range", ce(sizes=(0,)), "sizes"),
    Case("certainty_equivalence_errors", "type", ce(sizes=5), "sizes"),
    Case("certainty_equivalence_errors", "shape", ce(values=torch.zeros(2, 2, dtype=F)), "values"),
    Case("certainty_equivalence_errors", "legit", ce(), None,
         check=lambda out: list(out) == [20] and out[20] >= 0.0),
    Case("greedy_commitment", "shape", gc(Q_star=torch.zeros(2, dtype=F)), "Q_star"),
    Case("greedy_commitment", "shape", gc(V_star=torch.zeros(3, dtype=F)), "V_star"),
    Case("greedy_commitment", "nonfinite", gc(V_star=nan_at(V_STAR)), "V_star"),
    Case("greedy_commitment", "shape", gc(pi=torch.full((3, 2, 3), 1 / 3, dtype=F)), "pi"),
    Case("greedy_commitment", "range", gc(pi=torch.ones(3, 2, 2, dtype=F)), "pi"),
    Case("greedy_commitment", "range", gc(pi_star=torch.ones(2, 2, dtype=F)), "pi_star"),
    Case("greedy_commitment", "range", gc(atol=0.0), "atol"),
    Case("greedy_commitment", "legit", gc(pi=PI_STAR), None, note="one policy",
         check=lambda out: out.wrong.shape == (1, 2) and not bool(out.wrong.any())),
]

EXEMPT = {"GreedyCommitment": "plain result type (NamedTuple)"}
