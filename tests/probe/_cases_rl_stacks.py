"""Bad-input probe of icrl_lib.rl.learning_curves (chapter 11); see _probe.py."""
from __future__ import annotations

import math

import torch

from icrl_lib import rl

from ._probe import Case, nan_at, r, z

F = torch.float64
MDPS = rl.dirichlet_mdp(2, 2, 1.0, 0.9, 3, 0)
X = torch.tensor([[0.1, 0.5, 0.9], [0.3, 0.7, 0.9]], dtype=F)
AGENT = {"sarsa": rl.sarsa_update_fn(2, 2, 1.0, 0.9)}
POLICY = rl.softmax_q_policy(2, 2, 1.0)

CASES = [
    Case("normalized_control", "type", lambda: rl.normalized_control("mdps", AGENT, POLICY, z(4), 2, 5), "mdps"),
    Case("normalized_control", "empty", lambda: rl.normalized_control(MDPS, {}, POLICY, z(4), 2, 5), "agents"),
    Case("normalized_control", "range", lambda: rl.normalized_control(MDPS, AGENT, POLICY, z(4), 2, 5, seed=-1),
         "seed"),
    Case("normalized_control", "legit", lambda: rl.normalized_control(MDPS, AGENT, POLICY, z(4), 2, 5),
         None, check=lambda x: x["sarsa"].shape == (3, 3) and bool(torch.isfinite(x["sarsa"]).all()),
         note="shape"),
    Case("first_round_reaching", "shape", lambda: rl.first_round_reaching(r(3)), "x"),
    Case("first_round_reaching", "nonfinite", lambda: rl.first_round_reaching(nan_at(X)), "x"),
    Case("first_round_reaching", "range", lambda: rl.first_round_reaching(X, float("nan")), "level"),
    Case("first_round_reaching", "legit", lambda: rl.first_round_reaching(X, 0.6), None,
         check=lambda k: k == 1, note="first-hit"),
    Case("first_round_reaching", "legit", lambda: rl.first_round_reaching(X, 2.0), None,
         check=lambda k: k is None, note="never"),
    Case("policy_entropy", "shape", lambda: rl.policy_entropy(torch.ones(3, dtype=F) / 3), "pi"),
    Case("policy_entropy", "range", lambda: rl.policy_entropy(torch.ones(2, 3, dtype=F)), "pi"),
    Case("policy_entropy", "nonfinite", lambda: rl.policy_entropy(nan_at(torch.ones(2, 3, dtype=F) / 3)), "pi"),
    Case("policy_entropy", "legit", lambda: rl.policy_entropy(torch.ones(2, 3, dtype=F) / 3), None,
         check=lambda h: abs(h - math.log(3)) < 1e-12, note="uniform"),
    Case("value_at_step", "shape", lambda: rl.value_at_step([0, 10], X, 5), "steps"),
    Case("value_at_step", "range", lambda: rl.value_at_step([0, 10, 20], X, 25), "step"),
    Case("value_at_step", "type", lambda: rl.value_at_step([0, 10, 20], X, 2.5), "step"),
    Case("value_at_step", "legit", lambda: rl.value_at_step([0, 10, 20], X, 5), None,
         check=lambda v: torch.equal(v, X[:, 1]), note="next-point"),
]
EXEMPT = {}
