"""Bad-input probe of chapter 10's checks in icrl_lib.incontext (ridge_depth, policy_errors, regret_chain)."""
from __future__ import annotations

import math

import torch

from icrl_lib import incontext as lib
from icrl_lib.rl import LinearBandit, random_episodic_mdp, run_bandit, run_ucbvi, soft_linucb

from ._probe import Case, nan_at, r, z

F = torch.float64
NAN = float("nan")
X, Y = r(6, 2, seed=1), r(6, seed=2)
BAND = LinearBandit.sample(2, 2, 3, 1.0, 0)
TRAJ = run_bandit(BAND, soft_linucb(1.0, 1.0, 0.1), 4, 1)
HIST = (BAND.features, TRAJ.actions, TRAJ.rewards, TRAJ.probs)
CON = lib.linucb_construction(2, 3, 4, width=8)
XT, RT = lib.history_tokens(BAND.arms, TRAJ.actions, TRAJ.rewards)
MDP = random_episodic_mdp(2, 2, 2, seed=0, n_mdps=2)
UCON = lib.ucbvi_construction(2, 2, 2, 2)
URUN = run_ucbvi(MDP, 2, 0.1, 1)
P3 = torch.tensor([[0.2, 0.3, 0.5]], dtype=F)


def _solver(X_, q, lam, n_layers, momentum=None):
    want = torch.linalg.solve(lam * torch.eye(3, dtype=F) + X_.T @ X_, q)
    return want.expand(n_layers + 1, 3)


CASES = [
    Case("prefix_curvature", "shape", lambda: lib.prefix_curvature(z(3), 0.1), "X"),
    Case("prefix_curvature", "nonfinite", lambda: lib.prefix_curvature(nan_at(X), 0.1), "X"),
    Case("prefix_curvature", "range", lambda: lib.prefix_curvature(X, -1.0), "lam"),
    Case("prefix_curvature", "legit", lambda: lib.prefix_curvature(torch.eye(2, dtype=F), 0.5), None,
         check=lambda v: abs(v - 1.5) < 1e-12, note="first prefix has curvature 1"),
    Case("ridge_random_check", "range", lambda: lib.ridge_random_check(0), "n_trials"),
    Case("ridge_random_check", "type", lambda: lib.ridge_random_check(1, seed=1.5), "seed"),
    Case("ridge_random_check", "legit", lambda: lib.ridge_random_check(1), None,
         check=lambda o: max(o["last"], o["prefix"], o["nesterov"]) < 1e-10 and len(o["cases"]) == 1),
    Case("ridge_depth_errors", "shape", lambda: lib.ridge_depth_errors(X, z(5), 0.1, 3), "y"),
    Case("ridge_depth_errors", "nonfinite", lambda: lib.ridge_depth_errors(nan_at(X), Y, 0.1, 3), "X"),
    Case("ridge_depth_errors", "range", lambda: lib.ridge_depth_errors(X, Y, 0.0, 3), "lam"),
    Case("ridge_depth_errors", "range", lambda: lib.ridge_depth_errors(X, Y, 0.1, 0), "n_layers"),
    Case("ridge_depth_errors", "legit", lambda: lib.ridge_depth_errors(X, Y, 0.5, 3), None,
         check=lambda o: o["err"].shape == (4,) and abs(float(o["err"][0]) - 1) < 1e-12),
    Case("conditioned_context", "range", lambda: lib.conditioned_context(0.5), "kappa"),
    Case("conditioned_context", "nonfinite", lambda: lib.conditioned_context(NAN), "kappa"),
    Case("conditioned_context", "range", lambda: lib.conditioned_context(10, d=4, n=2), "n"),
    Case("conditioned_context", "legit", lambda: lib.conditioned_context(10), None,
         check=lambda o: o[0].shape == (40, 4) and abs(o[2] - 0.05) < 1e-15),
    Case("layers_to_tolerance", "shape", lambda: lib.layers_to_tolerance(z(2, 2)), "err"),
    Case("layers_to_tolerance", "range", lambda: lib.layers_to_tolerance(z(2), 0.0), "tol"),
    Case("layers_to_tolerance", "nonfinite", lambda: lib.layers_to_tolerance(nan_at(z(2))), "err"),
    Case("layers_to_tolerance", "legit", lambda: lib.layers_to_tolerance(torch.tensor([1.0, 1e-3]), 1e-6),
         None, check=lambda v: v is None, note="never below"),
    Case("layers_vs_condition", "empty", lambda: lib.layers_vs_condition(()), "targets"),
    Case("layers_vs_condition", "range", lambda: lib.layers_vs_condition((10, 0.5)), "kappa"),
    Case("layers_vs_condition", "range", lambda: lib.layers_vs_condition((3, 5), tol=-1.0), "tol"),
    Case("query_solver_layers", "type", lambda: lib.query_solver_layers(3), "solver"),
    Case("query_solver_layers", "range", lambda: lib.query_solver_layers(_solver, lam=0.0), "lam"),
    Case("query_solver_layers", "legit", lambda: lib.query_solver_layers(_solver, n_layers=2), None,
         check=lambda o: o["plain"][0] < 1e-12 and o["Nesterov"][1] == 0, note="exact solver"),
    Case("linucb_policy_errors", "shape", lambda: lib.linucb_policy_errors(z(2, 3), *HIST[1:], CON, [1]), "arms"),
    Case("linucb_policy_errors", "type", lambda: lib.linucb_policy_errors(*HIST, "con", [1]), "construction"),
    Case("linucb_policy_errors", "range", lambda: lib.linucb_policy_errors(*HIST, CON, [9]), "depths"),
    Case("linucb_policy_errors", "empty", lambda: lib.linucb_policy_errors(*HIST, CON, []), "depths"),
    Case("linucb_policy_errors", "nonfinite",
         lambda: lib.linucb_policy_errors(HIST[0], HIST[1], nan_at(HIST[2]), HIST[3], CON, [1]), "rewards"),
    Case("linucb_policy_errors", "range",
         lambda: lib.linucb_policy_errors(HIST[0], HIST[1] + 5, *HIST[2:], CON, [1]), "actions"),
    Case("linucb_policy_errors", "legit", lambda: lib.linucb_policy_errors(*HIST, CON, [0, 4]), None,
         check=lambda o: len(o["depth"]) == 2 and o["forward_gap"] < 1e-12 and o["mlp"] == []),
    Case("mean_tv", "shape", lambda: lib.mean_tv(P3, P3[:, :2]), "q"),
    Case("mean_tv", "nonfinite", lambda: lib.mean_tv(nan_at(P3), P3), "p"),
    Case("mean_tv", "legit", lambda: lib.mean_tv(P3, P3.flip(-1)), None, check=lambda v: abs(v - 0.3) < 1e-12),
    Case("history_tokens", "shape", lambda: lib.history_tokens(z(2, 3), TRAJ.actions, TRAJ.rewards), "arms"),
    Case("history_tokens", "dtype", lambda: lib.history_tokens(BAND.arms, TRAJ.actions.double(), TRAJ.rewards),
         "actions"),
    Case("history_tokens", "shape", lambda: lib.history_tokens(BAND.arms, TRAJ.actions, z(2, 3)), "rewards"),
    Case("history_tokens", "legit", lambda: lib.history_tokens(BAND.arms, TRAJ.actions, TRAJ.rewards), None,
         check=lambda o: o[0].shape == (2, 5, 2) and float(o[0][:, 0].abs().sum()) == 0.0),
    Case("prefix_posterior_moments", "shape", lambda: lib.prefix_posterior_moments(BAND.arms, XT, RT[:, :2], 1.0),
         "r"),
    Case("prefix_posterior_moments", "range", lambda: lib.prefix_posterior_moments(BAND.arms, XT, RT, 0.0), "lam"),
    Case("prefix_posterior_moments", "shape", lambda: lib.prefix_posterior_moments(z(2, 3, 4), XT, RT, 1.0),
         "arms"),
    Case("prefix_posterior_moments", "legit", lambda: lib.prefix_posterior_moments(BAND.arms, XT, RT, 1.0), None,
         check=lambda o: torch.allclose(o[1][:, 0], BAND.arms @ BAND.arms.transpose(-1, -2))),
    Case("prefix_ridge_steps", "nonfinite", lambda: lib.prefix_ridge_steps(nan_at(XT), RT, 1.0, 2), "X"),
    Case("prefix_ridge_steps", "range", lambda: lib.prefix_ridge_steps(XT, RT, 1.0, 0), "n_steps"),
    Case("prefix_ridge_steps", "legit", lambda: lib.prefix_ridge_steps(XT, RT, 1.0, 1), None,
         check=lambda w: w.shape == (2, 5, 2) and float(w[:, 0].abs().sum()) == 0.0),
    Case("ucbvi_replay_errors", "type", lambda: lib.ucbvi_replay_errors("run", UCON), "run"),
    Case("ucbvi_replay_errors", "type", lambda: lib.ucbvi_replay_errors(URUN, None), "construction"),
    Case("ucbvi_replay_errors", "range", lambda: lib.ucbvi_replay_errors(URUN, UCON, tau=0.0), "tau"),
    Case("ucbvi_replay_errors", "legit", lambda: lib.ucbvi_replay_errors(URUN, UCON), None,
         check=lambda o: o["readout"] < 1e-10 and o["same_actions"]),
    Case("construction_weights", "type", lambda: lib.construction_weights([z(2), "w"]), "x"),
    Case("construction_weights", "legit", lambda: lib.construction_weights([(z(2), None), [z(1, 3)]]), None,
         check=lambda ws: [w.numel() for w in ws] == [2, 3]),
    Case("chain_term", "empty", lambda: lib.chain_term([], 0.0, 3), "weights"),
    Case("chain_term", "nonfinite", lambda: lib.chain_term([nan_at(z(2))], 0.0, 3), "weights"),
    Case("chain_term", "range", lambda: lib.chain_term([z(2) + 1], -0.1, 3), "eps"),
    Case("chain_term", "range", lambda: lib.chain_term([z(2) + 1], 0.0, 3, delta=0.0), "delta"),
    Case("chain_term", "range", lambda: lib.chain_term([z(2) + 1], 0.0, 0), "horizon"),
    Case("chain_term", "legit", lambda: lib.chain_term([z(2) + 1], 0.0, 1, n_train=1, delta=1.0), None,
         check=lambda o: o["P"] == 2 and abs(o["term"] - math.sqrt(2 * math.log(3))) < 1e-12),
]
EXEMPT: dict = {}
