"""Bad-input probe of chapter 11's incontext modules (shift, fixed_point, sample_efficiency); see _probe.py."""
from __future__ import annotations

import torch

from icrl_lib import incontext as ic
from icrl_lib import rl

from ._probe import Case, nan_at, z

F = torch.float64
DIST = ic.PromptDistribution(n_states=2, n_actions=2, n_transitions=3)
MDPS = rl.dirichlet_mdp(2, 2, 1.0, 0.9, 2, 0)
TR = rl.Transitions(s=torch.tensor([[0, 1, 1]]), a=torch.tensor([[1, 0, 1]]),
                    r=torch.tensor([[0.5, -1.0, 2.0]], dtype=F), s_next=torch.tensor([[1, 1, 0]]),
                    a_next=torch.tensor([[0, 1, 0]]))
ONEHOT = torch.eye(4, dtype=F).reshape(2, 2, 4)
P0, V0 = DIST.construction()
POLICY = ic.behaviour_policy_fn(DIST, 0.3)


def _one_condition():
    return {"none": ic.shift_conditions(DIST)["none (Dirichlet 1)"]}


CASES = [
    Case("shift_conditions", "type", lambda: ic.shift_conditions("sarsa"), "dist"),
    Case("shift_conditions", "legit", lambda: ic.shift_conditions(DIST), None,
         check=lambda c: len(c) == 14 and c["gamma 0.5"][0].gamma == 0.5, note="fourteen"),
    Case("block_shift_study", "shape", lambda: ic.block_shift_study(z(3, 3), z(3, 3), _one_condition(), 0.3, 2),
         "P"),
    Case("block_shift_study", "nonfinite", lambda: ic.block_shift_study(nan_at(P0), V0, _one_condition(), 0.3, 2),
         "P"),
    Case("block_shift_study", "empty", lambda: ic.block_shift_study(P0, V0, {}, 0.3, 2), "conditions"),
    Case("block_shift_study", "range", lambda: ic.block_shift_study(P0, V0, _one_condition(), -1.0, 2),
         "temperature"),
    Case("block_shift_study", "legit",
         lambda: ic.block_shift_study(P0, V0, _one_condition(), 0.3, 2, n_mdps=4, n_prompts=8), None,
         check=lambda s: s["none"][0] < 1e-10 and abs(s["none"][2][0]) < 1e-10, note="construction-is-teacher"),
    Case("feature_sarsa_moments", "shape", lambda: ic.feature_sarsa_moments(z(2, 4), TR, 0.9), "table"),
    Case("feature_sarsa_moments", "range", lambda: ic.feature_sarsa_moments(ONEHOT, TR, 1.5), "gamma"),
    Case("feature_sarsa_moments", "type", lambda: ic.feature_sarsa_moments(ONEHOT, "tr", 0.9), "transitions"),
    Case("feature_sarsa_moments", "range",
         lambda: ic.feature_sarsa_moments(ONEHOT, TR._replace(s=torch.tensor([[0, 5, 1]])), 0.9), "transitions.s"),
    Case("feature_sarsa_moments", "legit", lambda: ic.feature_sarsa_moments(ONEHOT, TR, 0.9), None,
         check=lambda m: m[0].shape == (1, 4, 4) and m[1].shape == (1, 4), note="shapes"),
    Case("fixed_point_agent", "shape", lambda: ic.fixed_point_agent(z(4), 0.9), "table"),
    Case("fixed_point_agent", "range", lambda: ic.fixed_point_agent(ONEHOT, -0.1), "gamma"),
    Case("fixed_point_agent", "shape", lambda: ic.fixed_point_agent(ONEHOT, 0.9)(z(1, 3), TR), "w",
         note="w-size"),
    Case("in_context_step_curves", "type",
         lambda: ic.in_context_step_curves("mdps", DIST, POLICY, 20, (5,), (1,), (10,)), "mdps"),
    Case("in_context_step_curves", "range",
         lambda: ic.in_context_step_curves(MDPS, DIST, POLICY, 20, (5,), (1,), (30,)), "marks"),
    Case("in_context_step_curves", "empty",
         lambda: ic.in_context_step_curves(MDPS, DIST, POLICY, 20, (), (1,), (10,)), "contexts"),
    Case("in_context_step_curves", "legit",
         lambda: ic.in_context_step_curves(MDPS, DIST, POLICY, 20, (5,), (1, 2), (10, 20)), None,
         check=lambda c: (c[0]["in-context, N = 5, L = 2"][1].shape == (2, 5)
                          and len(c[1]["in-context, N = 5, L = 1"]) == 2),
         note="shapes"),
    Case("online_step_curves", "type", lambda: ic.online_step_curves("mdps", 20, (0.1,), 0.3, (10,)), "mdps"),
    Case("online_step_curves", "range", lambda: ic.online_step_curves(MDPS, 20, (-0.1,), 0.3, (10,)), "alphas"),
    Case("online_step_curves", "empty", lambda: ic.online_step_curves(MDPS, 20, (), 0.3, (10,)), "alphas"),
    Case("online_step_curves", "legit",
         lambda: ic.online_step_curves(MDPS, 20, (0.1, 0.2), 0.3, (10, 20), eval_every=10), None,
         check=lambda o: set(o[1]) == set(rl.ONLINE_METHODS) and len(o[2]) == len(rl.ONLINE_METHODS),
         note="keys"),
]
EXEMPT = {}
