"""Bad-input probe of icrl_lib.rl.episodic_regret (chapter 10)."""
from __future__ import annotations

import torch

from icrl_lib import rl as lib

from ._probe import Case, nan_at, z

MDP = lib.random_episodic_mdp(2, 2, 2, seed=0, n_mdps=2)
POL = torch.zeros(2, 1, 2, 2, dtype=torch.long)

CASES = [
    Case("episodic_values", "type", lambda: lib.episodic_values("mdp"), "mdp"),
    Case("episodic_values", "dtype", lambda: lib.episodic_values(MDP, POL.double()), "policy"),
    Case("episodic_values", "shape", lambda: lib.episodic_values(MDP, POL[:, :, :1]), "policy"),
    Case("episodic_values", "range", lambda: lib.episodic_values(MDP, POL + 2), "policy"),
    Case("episodic_values", "batch", lambda: lib.episodic_values(MDP, POL[:1]), "policy"),
    Case("episodic_values", "legit", lambda: lib.episodic_values(MDP), None,
         check=lambda V: V.shape == (2, 1, 2) and bool((V >= 0).all()) and bool((V <= 2).all())),
    Case("plan_regret", "type", lambda: lib.plan_regret(None, z(2, 1, 2, 2, 2)), "mdp"),
    Case("plan_regret", "shape", lambda: lib.plan_regret(MDP, z(2, 1, 2, 2, 3)), "Q"),
    Case("plan_regret", "batch", lambda: lib.plan_regret(MDP, z(3, 1, 2, 2, 2)), "Q"),
    Case("plan_regret", "nonfinite", lambda: lib.plan_regret(MDP, nan_at(z(2, 1, 2, 2, 2))), "Q"),
    Case("plan_regret", "legit", lambda: lib.plan_regret(MDP, z(2, 1, 2, 2, 2)), None,
         check=lambda g: g.shape == (2,) and bool((g >= -1e-12).all())),
]
EXEMPT: dict = {}
