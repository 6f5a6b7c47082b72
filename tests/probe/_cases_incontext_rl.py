"""Bad-input probe of the RL half of icrl_lib.incontext (layout, TD, SARSA, actor-critic, registry, tasks,
manifold, agents, softmax TD); see _probe.py. Run by test_probe_incontext.py together with the model half."""
from __future__ import annotations

import math

import numpy as np
import sympy as sp
import torch

from icrl_lib import incontext as lib
from icrl_lib.attention import lsa_unchecked as lsa
from icrl_lib.rl import Transitions, batch_sarsa_update, random_mdp, weighted_softmax_td

from ._probe import Case, nan_at, r, z

F = torch.float64
NAN = float("nan")


def close(a, b, tol=1e-10):
    return isinstance(a, torch.Tensor) and a.shape == torch.as_tensor(b).shape and bool(
        torch.allclose(a.to(F), torch.as_tensor(b, dtype=F), atol=tol, rtol=0))


# Tiny fixtures: S = A = 2 (SARSA d = 4, D = 14; actor-critic d_c = 2, d_a = 4, D = 16), N = 3 transitions.
L = lib.PromptLayout((("a", 2), ("b", 1), ("one", 1), ("w", 2)), 2)
DIST = lib.PromptDistribution(n_states=2, n_actions=2, n_transitions=3)
DIST_AC = lib.PromptDistribution("actor-critic", n_states=2, n_actions=2, n_transitions=3)
HP = lib.Hyperparameters(alpha=0.5, beta=2.0, gamma=0.9, temperature=1.0)
TR = Transitions(s=torch.tensor([[0, 1, 1]]), a=torch.tensor([[1, 0, 1]]), r=torch.tensor([[0.5, -1.0, 2.0]], dtype=F),
                 s_next=torch.tensor([[1, 1, 0]]), a_next=torch.tensor([[0, 1, 0]]))
TR_BAD = TR._replace(s=torch.tensor([[0, 5, 1]]))
W = r(1, 4, seed=1)             # SARSA params (batch 1)
WT = r(1, 6, seed=2)            # actor-critic params (w: 2, theta: 4)
PH, PHN, RW = r(3, 4, seed=3), r(3, 4, seed=4), r(3, seed=5)
PS, VS = lib.sarsa_construction(4, 0.5, 0.9)
PD, VD = DIST.construction()    # alpha = 1 (the distribution's step size)
SP_DATA = lib.SARSA.transition_data(TR, W, 2, 2, HP)
MDP2 = random_mdp(2, 2, 0.9, n_mdps=2, seed=0)
MDP3S = random_mdp(3, 2, 0.9, n_mdps=2, seed=0)
X5, R4 = r(5, 2, seed=6), r(4, seed=7)   # softmax TD trajectory: n = 4, d = 2


def _pl_sym():
    d = sp.Symbol("d", positive=True, integer=True)
    return lib.PromptLayout((("x", d), ("r", 1)), 2).size("x") == d


def _assemble_numpy():
    H = lib.assemble(L, {"a": np.ones((3, 2)), "b": np.zeros((3, 1))}, {"one": np.ones(1), "w": np.ones(2)})
    return H.shape == (6, 4) and float(H[:2, :3].sum()) == 6.0 and float(H[2:, 3].sum()) == 3.0


def _teacher_matches():
    upd = lib.teacher_agent(DIST)(W, TR)
    return close(upd, batch_sarsa_update(W, SP_DATA["phi"], SP_DATA["phi_next"], TR.r, DIST.alpha, DIST.gamma))


def _jacobian_affine():
    upd = lib.teacher_agent(DIST)
    J = lib.agent_jacobian(upd, W, TR)
    dp = r(1, 4, seed=9)
    return close(upd(W + dp, TR) - upd(W, TR), (J @ dp.unsqueeze(-1)).squeeze(-1))


def _sliding_matches():
    feats, rew = r(7, 2, seed=10), r(7, seed=11)
    Z, qr = lib.td_sliding_prompts(feats, rew, 3, 0.9)
    Z0 = lib.td_prompt(feats[:3], feats[1:4], rew[:3], feats[4], 0.9)
    return Z.shape == (3, 5, 4) and close(Z[0], Z0) and close(qr, rew[4:7])


def _sliding_batch():
    Z, qr = lib.td_sliding_prompts(r(2, 6, 2, seed=12), r(6, seed=13), 2, 0.5)
    return Z.shape == (2, 3, 5, 3) and qr.shape == (2, 3)


def _softmax_forward_matches():
    Z = lib.softmax_td_forward(lib.softmax_td_prompt(X5, R4), 3, 0.8, 0.5, return_all=True)
    return close(lib.softmax_td_readout(Z), weighted_softmax_td(X5, R4, 0.8, 0.5, 3))


def _sample_params_seed():
    a = lib.SARSA.sample_parameters(3, 2, 2, {"w": 1.0}, 4)
    b = lib.SARSA.sample_parameters(3, 2, 2, {"w": 1.0}, torch.Generator().manual_seed(4))
    return torch.equal(a, b) and a.shape == (3, 4)


def _prompt_batch_seed():
    a = lib.sample_prompt_batch(DIST, 2, 5)
    b = lib.sample_prompt_batch(DIST, 2, torch.Generator().manual_seed(5))
    return torch.equal(a.H, b.H) and torch.equal(a.target, b.target) and a.H.shape == (2, 14, 4)


def _recovery_at_construction():
    m = lib.recovery_metrics(*DIST.construction(), DIST)
    return m["relative_error_P"] < 1e-12 and m["relative_error_V"] < 1e-12 and abs(m["scale"] - 1) < 1e-12


CASES = [
    # ------------------------------------------------------------------ PromptLayout
    Case("PromptLayout", "type", lambda: lib.PromptLayout("ab", 1), "blocks"),
    Case("PromptLayout", "type", lambda: lib.PromptLayout((("a", 2), "b"), 1), "blocks", note="entry"),
    Case("PromptLayout", "dtype", lambda: lib.PromptLayout((("a", 2.5),), 1), "blocks"),
    Case("PromptLayout", "range", lambda: lib.PromptLayout((("a", 0),), 1), "blocks"),
    Case("PromptLayout", "range", lambda: lib.PromptLayout((("a", 2), ("a", 1)), 1), "blocks", note="duplicate"),
    Case("PromptLayout", "range", lambda: lib.PromptLayout((("a", 2),), 2), "n_data_blocks"),
    Case("PromptLayout", "type", lambda: lib.PromptLayout((("a", 2),), "1"), "n_data_blocks"),
    Case("PromptLayout", "empty", lambda: lib.PromptLayout((), 0), "blocks"),
    Case("PromptLayout", "range", lambda: L.rows("zz"), "name", note="rows"),
    Case("PromptLayout", "type", lambda: L.size(3), "name", note="size"),
    Case("PromptLayout", "legit", lambda: (L.rows("w"), L.dim, L.data, L.param, L.data_names), None,
         check=lambda o: o == (slice(4, 6), 6, slice(0, 3), slice(3, 6), ("a", "b"))),
    Case("PromptLayout", "legit", _pl_sym, None, check=lambda o: o is True, note="sympy sizes"),
    # ------------------------------------------------------------------ assemble
    Case("assemble", "type", lambda: lib.assemble("L", {"a": z(3, 2)}, {}), "layout"),
    Case("assemble", "type", lambda: lib.assemble(L, [z(3, 2)], {}), "data"),
    Case("assemble", "empty", lambda: lib.assemble(L, {}, {"w": z(2)}), "data"),
    Case("assemble", "range", lambda: lib.assemble(L, {"zz": z(3, 2)}, {}), "data"),
    Case("assemble", "range", lambda: lib.assemble(L, {"a": z(3, 2)}, {"zz": z(2)}), "params", note="params"),
    Case("assemble", "shape", lambda: lib.assemble(L, {"a": z(3, 3)}, {}), "data['a']"),
    Case("assemble", "shape", lambda: lib.assemble(L, {"a": z(3, 2), "b": z(4, 1)}, {}), "data['b']", note="N"),
    Case("assemble", "shape", lambda: lib.assemble(L, {"a": z(3, 2)}, {"w": z(3)}), "params['w']"),
    Case("assemble", "batch", lambda: lib.assemble(L, {"a": z(2, 3, 2), "b": z(3, 3, 1)}, {}), "data['a']"),
    Case("assemble", "nonfinite", lambda: lib.assemble(L, {"a": nan_at(z(3, 2))}, {}), "data['a']"),
    Case("assemble", "dtype", lambda: lib.assemble(L, {"a": np.array([["x", "y"]])}, {}), "data['a']"),
    Case("assemble", "dtype", lambda: lib.assemble(L, {"a": z(3, 2)}, {}, dtype=torch.int64), "dtype"),
    Case("assemble", "legit", _assemble_numpy, None, check=lambda o: o is True, note="numpy"),
    # ------------------------------------------------------------------ render_blocks
    Case("render_blocks", "type", lambda: lib.render_blocks("L", {}), "layout"),
    Case("render_blocks", "type", lambda: lib.render_blocks(L, [1, 2]), "table"),
    Case("render_blocks", "range", lambda: lib.render_blocks(L, {("P", "zz", "a"): 1}), "table"),
    Case("render_blocks", "range", lambda: lib.render_blocks(L, {("Q", "a", "a"): 1}), "table", note="matrix"),
    Case("render_blocks", "shape", lambda: lib.render_blocks(L, {("P", "a", "w"): z(3, 2)}), "table"),
    Case("render_blocks", "shape", lambda: lib.render_blocks(L, {("P", "a", "b"): 2.0}), "table", note="square"),
    Case("render_blocks", "nonfinite", lambda: lib.render_blocks(L, {("P", "a", "a"): NAN}), "table"),
    Case("render_blocks", "nonfinite", lambda: lib.render_blocks(L, {("P", "a", "w"): nan_at(z(2, 2))}), "table",
         note="matrix"),
    Case("render_blocks", "type", lambda: lib.render_blocks(L, {("P", "a", "a"): "x"}), "table", note="value"),
    Case("render_blocks", "type", lambda: lib.render_blocks(L, {("P", "a", "a"): sp.Symbol("c")}), "table",
         note="symbol"),
    Case("render_blocks", "dtype", lambda: lib.render_blocks(L, {("P", "a", "a"): 1}, dtype=torch.int64), "dtype"),
    Case("render_blocks", "type", lambda: lib.render_blocks(L, {}, matrices="P"), "matrices"),
    Case("render_blocks", "legit", lambda: lib.render_blocks(lib.sarsa_layout(4), lib.sarsa_blocks(0.5, 0.9)), None,
         check=lambda o: close(o[0], PS) and close(o[1], VS)),
    Case("render_blocks", "legit", lambda: lib.render_blocks(L, {("V", "w", "a"): np.eye(2)}), None,
         check=lambda o: float(o[1][4:6, 0:2].trace()) == 2.0, note="numpy block"),
    # ------------------------------------------------------------------ block_rows
    Case("block_rows", "type", lambda: lib.block_rows("L", ["w"]), "layout"),
    Case("block_rows", "range", lambda: lib.block_rows(L, ["w", "zz"]), "names"),
    Case("block_rows", "empty", lambda: lib.block_rows(L, []), "names"),
    Case("block_rows", "type", lambda: lib.block_rows(L, 5), "names"),
    Case("block_rows", "legit", lambda: lib.block_rows(L, ["w", "one"]), None,
         check=lambda o: o.tolist() == [4, 5, 3]),
    Case("block_rows", "legit", lambda: lib.block_rows(L, "one"), None, check=lambda o: o.tolist() == [3],
         note="one name"),
    # ------------------------------------------------------------------ is_matrix_value (a predicate on any object)
    Case("is_matrix_value", "legit", lambda: (lib.is_matrix_value(np.eye(2)), lib.is_matrix_value(2.0),
                                              lib.is_matrix_value(z(3)), lib.is_matrix_value(sp.eye(2))),
         None, check=lambda o: o == (True, False, False, True)),
    # ------------------------------------------------------------------ check_transitions
    Case("check_transitions", "shape", lambda: lib.check_transitions(("x", "y"), z(3, 2), z(3, 3), z(3)), "y"),
    Case("check_transitions", "shape", lambda: lib.check_transitions(("x", "y"), z(3, 2), z(3, 2), z(4)), "rewards"),
    Case("check_transitions", "shape", lambda: lib.check_transitions(("x", "y"), z(2), z(2), z(1)), "x", note="1-d"),
    Case("check_transitions", "empty", lambda: lib.check_transitions(("x", "y"), z(0, 2), z(0, 2), z(0)), "x"),
    Case("check_transitions", "nonfinite", lambda: lib.check_transitions(("x", "y"), z(3, 2), nan_at(z(3, 2)), z(3)),
         "y"),
    Case("check_transitions", "batch", lambda: lib.check_transitions(("x", "y"), z(2, 3, 2), z(3, 3, 2), z(3)),
         "y"),
    Case("check_transitions", "dtype", lambda: lib.check_transitions(("x", "y"), [["a"]], z(1, 1), z(1)), "x"),
    Case("check_transitions", "type", lambda: lib.check_transitions("xy", z(3, 2), z(3, 2), z(3)), "names"),
    Case("check_transitions", "legit", lambda: lib.check_transitions(("x", "y"), np.ones((3, 2)), z(3, 2), [1, 2, 3]),
         None, check=lambda o: o[0].dtype == F and o[2].tolist() == [1.0, 2.0, 3.0]),
    # ------------------------------------------------------------------ check_prompt
    Case("check_prompt", "shape", lambda: lib.check_prompt(z(5, 3), "H", 6), "H"),
    Case("check_prompt", "empty", lambda: lib.check_prompt(z(6, 1), "H", 6), "H"),
    Case("check_prompt", "nonfinite", lambda: lib.check_prompt(nan_at(z(6, 3)), "H", 6), "H"),
    Case("check_prompt", "type", lambda: lib.check_prompt(z(6, 3), "H", "6"), "dim"),
    Case("check_prompt", "range", lambda: lib.check_prompt(z(6, 3), "H", 0), "dim"),
    Case("check_prompt", "type", lambda: lib.check_prompt(z(6, 3), 3, 6), "name"),
    Case("check_prompt", "legit", lambda: lib.check_prompt(np.zeros((2, 6, 3)), "H", 6), None,
         check=lambda o: o.shape == (2, 6, 3)),
    # ------------------------------------------------------------------ TD (chapter 3)
    Case("td_layout", "type", lambda: lib.td_layout("3"), "d"),
    Case("td_layout", "dtype", lambda: lib.td_layout(2.0), "d"),
    Case("td_layout", "range", lambda: lib.td_layout(0), "d"),
    Case("td_layout", "legit", lambda: lib.td_layout(3).dim, None, check=lambda o: o == 7),
    Case("td_prompt", "shape", lambda: lib.td_prompt(z(3, 2), z(3, 2), z(3), z(3), 0.9), "x_query"),
    Case("td_prompt", "shape", lambda: lib.td_prompt(z(3, 2), z(3, 3), z(3), z(2), 0.9), "x_next"),
    Case("td_prompt", "batch", lambda: lib.td_prompt(z(2, 3, 2), z(3, 3, 2), z(3), z(2), 0.9), "x_next"),
    Case("td_prompt", "batch", lambda: lib.td_prompt(z(2, 3, 2), z(3, 2), z(3), z(4, 2), 0.9), "x_query",
         note="query"),
    Case("td_prompt", "nonfinite", lambda: lib.td_prompt(z(3, 2), z(3, 2), nan_at(z(3)), z(2), 0.9), "rewards"),
    Case("td_prompt", "range", lambda: lib.td_prompt(z(3, 2), z(3, 2), z(3), z(2), 1.0), "gamma"),
    Case("td_prompt", "type", lambda: lib.td_prompt(z(3, 2), z(3, 2), z(3), z(2), "0.9"), "gamma"),
    Case("td_prompt", "empty", lambda: lib.td_prompt(z(0, 2), z(0, 2), z(0), z(2), 0.9), "x"),
    Case("td_prompt", "dtype", lambda: lib.td_prompt(torch.zeros(3, 2, dtype=torch.complex64), z(3, 2), z(3), z(2),
                                                     0.9), "x"),
    Case("td_prompt", "legit", lambda: lib.td_prompt(np.ones((1, 2)), 2 * np.ones((1, 2)), [3.0], [4.0, 5.0], 0.5),
         None, check=lambda o: close(o, [[1, 4], [1, 5], [1, 0], [1, 0], [3, 0]])),
    Case("td_readout", "shape", lambda: lib.td_readout(z(4, 3)), "Z"),
    Case("td_readout", "shape", lambda: lib.td_readout(z(5)), "Z", note="1-d"),
    Case("td_readout", "empty", lambda: lib.td_readout(z(5, 0)), "Z"),
    Case("td_readout", "nonfinite", lambda: lib.td_readout(nan_at(z(5, 3))), "Z"),
    Case("td_readout", "dtype", lambda: lib.td_readout(np.array([["a"] * 3] * 5)), "Z"),
    Case("td_readout", "legit", lambda: lib.td_readout(torch.arange(15.0).reshape(5, 3)), None,
         check=lambda o: float(o) == -14.0),
    Case("td_sliding_prompts", "shape", lambda: lib.td_sliding_prompts(z(6, 2), z(5), 2, 0.9), "rewards"),
    Case("td_sliding_prompts", "range", lambda: lib.td_sliding_prompts(z(6, 2), z(6), 0, 0.9), "n"),
    Case("td_sliding_prompts", "range", lambda: lib.td_sliding_prompts(z(6, 2), z(6), 5, 0.9), "features",
         note="too short"),
    Case("td_sliding_prompts", "range", lambda: lib.td_sliding_prompts(z(6, 2), z(6), 2, -0.1), "gamma"),
    Case("td_sliding_prompts", "type", lambda: lib.td_sliding_prompts(z(6, 2), z(6), 2.0, 0.9), "n"),
    Case("td_sliding_prompts", "batch", lambda: lib.td_sliding_prompts(z(2, 6, 2), z(3, 6), 2, 0.9), "rewards"),
    Case("td_sliding_prompts", "nonfinite", lambda: lib.td_sliding_prompts(nan_at(z(6, 2)), z(6), 2, 0.9),
         "features"),
    Case("td_sliding_prompts", "empty", lambda: lib.td_sliding_prompts(z(0, 2), z(0), 2, 0.9), "features"),
    Case("td_sliding_prompts", "legit", _sliding_matches, None, check=lambda o: o is True),
    Case("td_sliding_prompts", "legit", _sliding_batch, None, check=lambda o: o is True, note="batch"),
    Case("td_blocks", "type", lambda: lib.td_blocks("C"), "C"),
    Case("td_blocks", "shape", lambda: lib.td_blocks(z(2, 3)), "C"),
    Case("td_blocks", "nonfinite", lambda: lib.td_blocks(nan_at(z(2, 2))), "C"),
    Case("td_blocks", "legit", lambda: lib.render_blocks(lib.td_layout(2), lib.td_blocks(np.eye(2))), None,
         check=lambda o: close(o[0], lib.td_construction(2, 1)[0][0]), note="numpy"),
    Case("residual_gradient_blocks", "type", lambda: lib.residual_gradient_blocks(None), "C"),
    Case("residual_gradient_blocks", "shape", lambda: lib.residual_gradient_blocks(z(2)), "C"),
    Case("residual_gradient_blocks", "nonfinite", lambda: lib.residual_gradient_blocks(nan_at(z(2, 2))), "C"),
    Case("residual_gradient_blocks", "legit",
         lambda: lib.render_blocks(lib.td_layout(2), lib.residual_gradient_blocks([[1.0, 0.0], [0.0, 1.0]])), None,
         check=lambda o: float(o[0][2:4, 2:4].trace()) == -2.0, note="list"),
    Case("td_construction", "type", lambda: lib.td_construction("2", 1), "d"),
    Case("td_construction", "range", lambda: lib.td_construction(2, 0), "n_layers"),
    Case("td_construction", "shape", lambda: lib.td_construction(2, 2, C=z(3, 3)), "C"),
    Case("td_construction", "shape", lambda: lib.td_construction(2, 2, C=z(3, 2, 2)), "C", note="per layer"),
    Case("td_construction", "nonfinite", lambda: lib.td_construction(2, 1, C=nan_at(z(2, 2))), "C"),
    Case("td_construction", "dtype", lambda: lib.td_construction(2, 1, dtype=torch.int64), "dtype"),
    Case("td_construction", "legit", lambda: lib.td_construction(1, 2, C=2 * torch.ones(2, 1, 1)), None,
         check=lambda o: len(o) == 2 and close(o[1][0], [[-2, 2, 0], [0, 0, 0], [0, 0, 0]])
         and close(o[1][1], [[0, 0, 0], [0, 0, 0], [0, 0, 1]])),
    Case("td_lambda_mask", "range", lambda: lib.td_lambda_mask(3, 1.5), "lam"),
    Case("td_lambda_mask", "type", lambda: lib.td_lambda_mask(3, "a"), "lam"),
    Case("td_lambda_mask", "nonfinite", lambda: lib.td_lambda_mask(3, NAN), "lam"),
    Case("td_lambda_mask", "range", lambda: lib.td_lambda_mask(0, 0.5), "n"),
    Case("td_lambda_mask", "dtype", lambda: lib.td_lambda_mask(3, 0.5, dtype=torch.int64), "dtype"),
    Case("td_lambda_mask", "legit", lambda: lib.td_lambda_mask(2, 0.5), None,
         check=lambda o: close(o, [[1, 0, 0], [0.5, 1, 0], [0, 0, 0]])),
    # ------------------------------------------------------------------ SARSA (chapter 4)
    Case("sarsa_layout", "type", lambda: lib.sarsa_layout(None), "d"),
    Case("sarsa_layout", "range", lambda: lib.sarsa_layout(-1), "d"),
    Case("sarsa_layout", "legit", lambda: lib.sarsa_layout(4).dim, None, check=lambda o: o == 14),
    Case("sarsa_prompt", "shape", lambda: lib.sarsa_prompt(PH, PHN, RW, z(3)), "w"),
    Case("sarsa_prompt", "shape", lambda: lib.sarsa_prompt(PH, PHN[:2], RW, z(4)), "phi_next"),
    Case("sarsa_prompt", "batch", lambda: lib.sarsa_prompt(PH, PHN, RW, z(2, 4)).shape and
         lib.sarsa_prompt(z(3, 3, 4), PHN, RW, z(2, 4)), "w"),
    Case("sarsa_prompt", "nonfinite", lambda: lib.sarsa_prompt(PH, PHN, RW, nan_at(z(4))), "w"),
    Case("sarsa_prompt", "empty", lambda: lib.sarsa_prompt(z(0, 4), z(0, 4), z(0), z(4)), "phi"),
    Case("sarsa_prompt", "dtype", lambda: lib.sarsa_prompt(PH, PHN, np.array(["a", "b", "c"]), z(4)), "rewards"),
    Case("sarsa_prompt", "type", lambda: lib.sarsa_prompt(PH, PHN, RW, "w"), "w"),
    Case("sarsa_prompt", "legit", lambda: lib.sarsa_readout(lsa(lib.sarsa_prompt(PH, PHN, RW, W[0]),
                                                                              PS, VS)), None,
         check=lambda o: close(o, batch_sarsa_update(W[0], PH, PHN, RW, 0.5, 0.9))),
    Case("sarsa_readout", "shape", lambda: lib.sarsa_readout(z(6, 3)), "H"),
    Case("sarsa_readout", "empty", lambda: lib.sarsa_readout(z(14, 1)), "H"),
    Case("sarsa_readout", "nonfinite", lambda: lib.sarsa_readout(nan_at(z(14, 3))), "H"),
    Case("sarsa_readout", "legit", lambda: lib.sarsa_readout(lib.sarsa_prompt(PH, PHN, RW, W)), None,
         check=lambda o: close(o, W)),
    Case("sarsa_blocks", "type", lambda: lib.sarsa_blocks("a", 0.9), "alpha"),
    Case("sarsa_blocks", "nonfinite", lambda: lib.sarsa_blocks(NAN, 0.9), "alpha"),
    Case("sarsa_blocks", "range", lambda: lib.sarsa_blocks(0.5, 1.5), "gamma"),
    Case("sarsa_blocks", "range", lambda: lib.sarsa_blocks(-0.5, 0.5), "alpha", note="alpha"),
    Case("sarsa_blocks", "legit", lambda: lib.sarsa_blocks(sp.Symbol("alpha"), sp.Symbol("gamma")), None,
         check=lambda o: o[("V", "w", "phi")] == sp.Symbol("alpha"), note="sympy"),
    Case("sarsa_construction", "range", lambda: lib.sarsa_construction(4, 0.0, 0.9), "alpha"),
    Case("sarsa_construction", "nonfinite", lambda: lib.sarsa_construction(4, math.inf, 0.9), "alpha"),
    Case("sarsa_construction", "range", lambda: lib.sarsa_construction(4, 0.5, 1.0), "gamma"),
    Case("sarsa_construction", "type", lambda: lib.sarsa_construction(4.0, 0.5, 0.9), "d"),
    Case("sarsa_construction", "dtype", lambda: lib.sarsa_construction(4, 0.5, 0.9, dtype=torch.int32), "dtype"),
    Case("sarsa_construction", "legit", lambda: lib.sarsa_construction(1, 0.5, 0.9), None,
         check=lambda o: float(o[0][1, 4]) == 0.9 and float(o[1][4, 0]) == 0.5 and float(o[0].abs().sum()) == 2.9),
    # SarsaAlgorithm and the registry entry SARSA: constructor and every public method
    Case("SarsaAlgorithm", "legit", lambda: lib.SarsaAlgorithm().n_params(2, 3), None, check=lambda o: o == 6),
    Case("SarsaAlgorithm", "type", lambda: lib.SarsaAlgorithm().layout(2.5, 2), "n_states"),
    Case("SarsaAlgorithm", "range", lambda: lib.SarsaAlgorithm().construction(0, 2, HP), "n_states"),
    Case("SarsaAlgorithm", "type", lambda: lib.SarsaAlgorithm().construction(2, 2, None), "hp"),
    Case("SarsaAlgorithm", "type", lambda: lib.SarsaAlgorithm().blocks(2, 2, "hp"), "hp", note="blocks"),
    Case("SarsaAlgorithm", "range", lambda: lib.SarsaAlgorithm().construction(2, 2, HP._replace(alpha=-1.0)), "alpha"),
    Case("SarsaAlgorithm", "type", lambda: lib.SarsaAlgorithm().transition_data("T", W, 2, 2, HP), "transitions"),
    Case("SarsaAlgorithm", "range", lambda: lib.SarsaAlgorithm().transition_data(TR_BAD, W, 2, 2, HP), "transitions",
         note="state index"),
    Case("SarsaAlgorithm", "type", lambda: lib.SarsaAlgorithm().teacher_update(W, {}, TR.r, 2, 2, HP), "data"),
    Case("SarsaAlgorithm", "shape", lambda: lib.SarsaAlgorithm().teacher_update(z(1, 5), SP_DATA, TR.r, 2, 2, HP),
         "params", note="teacher"),
    Case("SarsaAlgorithm", "shape", lambda: lib.SarsaAlgorithm().behaviour_policy(z(5), 2, 2), "params"),
    Case("SarsaAlgorithm", "range", lambda: lib.SarsaAlgorithm().behaviour_policy(z(4), 2, 2, 0.0), "temperature"),
    Case("SarsaAlgorithm", "nonfinite", lambda: lib.SarsaAlgorithm().behaviour_policy(nan_at(z(4)), 2, 2), "params"),
    Case("SarsaAlgorithm", "range", lambda: lib.SarsaAlgorithm().null_patterns(0, 2), "n_states"),
    Case("SarsaAlgorithm", "legit", lambda: lib.SarsaAlgorithm().behaviour_policy(np.zeros(4), 2, 2), None,
         check=lambda o: close(o, torch.full((2, 2), 0.5))),
    Case("SARSA", "overflow", lambda: SARSA_overflow(), "alpha"),
    Case("SARSA", "legit", lambda: lib.SARSA.teacher_update(W, SP_DATA, TR.r, 2, 2, HP), None,
         check=lambda o: close(o, batch_sarsa_update(W, SP_DATA["phi"], SP_DATA["phi_next"], TR.r, 0.5, 0.9))),
    Case("SARSA", "shape", lambda: lib.SARSA.prompt(SP_DATA, z(1, 4), W, 2, 2), "rewards"),
    Case("SARSA", "shape", lambda: lib.SARSA.prompt({"phi": z(1, 3, 5), "phi_next": z(1, 3, 4)}, TR.r, W, 2, 2),
         "data['phi']", note="data"),
    Case("SARSA", "batch", lambda: lib.SARSA.prompt(SP_DATA, TR.r, z(2, 4), 2, 2).shape and
         lib.SARSA.prompt(SP_DATA, z(3, 3), z(2, 4), 2, 2), "rewards"),
    Case("SARSA", "shape", lambda: lib.SARSA.readout(z(1, 13, 4), 2, 2), "H"),
    Case("SARSA", "legit", lambda: lib.SARSA.readout(lib.SARSA.prompt(SP_DATA, TR.r, W, 2, 2), 2, 2), None,
         check=lambda o: close(o, W), note="readout"),
    Case("SARSA", "range", lambda: lib.SARSA.sample_parameters(0, 2, 2, {"w": 1.0}, 0), "n"),
    Case("SARSA", "range", lambda: lib.SARSA.sample_parameters(2, 2, 2, {"w": -1.0}, 0), "scales"),
    Case("SARSA", "nonfinite", lambda: lib.SARSA.sample_parameters(2, 2, 2, {"w": NAN}, 0), "scales"),
    Case("SARSA", "type", lambda: lib.SARSA.sample_parameters(2, 2, 2, [1.0], 0), "scales", note="scales"),
    Case("SARSA", "type", lambda: lib.SARSA.sample_parameters(2, 2, 2, {"w": 1.0}, "g"), "generator"),
    Case("SARSA", "legit", _sample_params_seed, None, check=lambda o: o is True, note="int seed"),
    # The generic methods of the base class, called on an entry
    Case("InContextAlgorithm", "shape", lambda: lib.InContextAlgorithm.split_params(lib.SARSA, z(5), 2, 2), "params"),
    Case("InContextAlgorithm", "nonfinite", lambda: lib.InContextAlgorithm.split_params(lib.SARSA, nan_at(z(4)), 2, 2),
         "params"),
    Case("InContextAlgorithm", "type", lambda: lib.InContextAlgorithm.output_rows(lib.SARSA, "2", 2), "n_states"),
    Case("InContextAlgorithm", "type", lambda: lib.InContextAlgorithm.prompt(lib.SARSA, None, TR.r, W, 2, 2), "data"),
    Case("InContextAlgorithm", "empty", lambda: lib.InContextAlgorithm.readout(lib.SARSA, z(14, 1), 2, 2), "H"),
    Case("InContextAlgorithm", "legit", lambda: lib.InContextAlgorithm.output_rows(lib.SARSA, 1, 2), None,
         check=lambda o: o.tolist() == [6, 7]),
    # ------------------------------------------------------------------ actor-critic (chapter 5)
    Case("actor_critic_layout", "range", lambda: lib.actor_critic_layout(2, 0), "d_actor"),
    Case("actor_critic_layout", "type", lambda: lib.actor_critic_layout("2", 1), "d_critic"),
    Case("actor_critic_layout", "legit", lambda: lib.actor_critic_layout(2, 4).dim, None, check=lambda o: o == 16),
    Case("actor_critic_prompt", "shape", lambda: lib.actor_critic_prompt(z(3, 2), z(3, 2), z(3), z(2, 4), z(2), z(4)),
         "psi"),
    Case("actor_critic_prompt", "shape", lambda: lib.actor_critic_prompt(z(3, 2), z(3, 2), z(3), z(3, 4), z(2), z(3)),
         "theta", note="theta"),
    Case("actor_critic_prompt", "batch", lambda: lib.actor_critic_prompt(z(3, 2), z(3, 2), z(3), z(2, 3, 4), z(3, 2),
                                                                         z(4)), "w"),
    Case("actor_critic_prompt", "nonfinite", lambda: lib.actor_critic_prompt(z(3, 2), z(3, 2), z(3), nan_at(z(3, 4)),
                                                                             z(2), z(4)), "psi"),
    Case("actor_critic_prompt", "empty", lambda: lib.actor_critic_prompt(z(0, 2), z(0, 2), z(0), z(0, 4), z(2), z(4)),
         "x"),
    Case("actor_critic_prompt", "dtype", lambda: lib.actor_critic_prompt(z(3, 2), z(3, 2), z(3), z(3, 4), "ab", z(4)),
         "w"),
    Case("actor_critic_prompt", "legit", lambda: lib.actor_critic_readout(
        lib.actor_critic_prompt(z(3, 2), z(3, 2), z(3), z(3, 4), WT[0, :2], WT[0, 2:]), 2, 4), None,
        check=lambda o: close(torch.cat(o), WT[0])),
    Case("actor_critic_readout", "shape", lambda: lib.actor_critic_readout(z(15, 3), 2, 4), "H"),
    Case("actor_critic_readout", "range", lambda: lib.actor_critic_readout(z(16, 3), 0, 4), "d_critic"),
    Case("actor_critic_readout", "nonfinite", lambda: lib.actor_critic_readout(nan_at(z(16, 3)), 2, 4), "H"),
    Case("actor_critic_readout", "empty", lambda: lib.actor_critic_readout(z(16, 1), 2, 4), "H"),
    Case("actor_critic_blocks", "type", lambda: lib.actor_critic_blocks(0.5, None, 0.9), "beta"),
    Case("actor_critic_blocks", "range", lambda: lib.actor_critic_blocks(0.5, 1.0, 2.0), "gamma"),
    Case("actor_critic_blocks", "nonfinite", lambda: lib.actor_critic_blocks(math.inf, 1.0, 0.9), "alpha"),
    Case("actor_critic_blocks", "legit", lambda: lib.actor_critic_blocks(0.5, 2.0, 0.9), None,
         check=lambda o: o[("V", "theta", "psi")] == 2.0 and o[("P", "x_next", "w")] == 0.9),
    Case("actor_critic_construction", "range", lambda: lib.actor_critic_construction(2, 4, 0.5, -1.0, 0.9), "beta"),
    Case("actor_critic_construction", "nonfinite", lambda: lib.actor_critic_construction(2, 4, NAN, 1.0, 0.9), "alpha"),
    Case("actor_critic_construction", "type", lambda: lib.actor_critic_construction(2, 4, 0.5, 1.0, "g"), "gamma"),
    Case("actor_critic_construction", "dtype", lambda: lib.actor_critic_construction(2, 4, 0.5, 1.0, 0.9,
                                                                                     dtype=torch.bool), "dtype"),
    Case("actor_critic_construction", "legit", lambda: lib.actor_critic_construction(2, 4, 0.5, 2.0, 0.9), None,
         check=lambda o: o[0].shape == (16, 16) and float(o[1].sum()) == 2 * 0.5 + 4 * 2.0),
    Case("ActorCriticAlgorithm", "legit", lambda: lib.ActorCriticAlgorithm().n_params(2, 2), None,
         check=lambda o: o == 6),
    Case("ActorCriticAlgorithm", "range", lambda: lib.ActorCriticAlgorithm().layout(2, 0), "n_actions"),
    Case("ActorCriticAlgorithm", "type", lambda: lib.ActorCriticAlgorithm().construction(2, 2, {"alpha": 1}), "hp"),
    Case("ActorCriticAlgorithm", "type", lambda: lib.ActorCriticAlgorithm().construction(2.0, 2, HP), "n_states"),
    Case("ActorCriticAlgorithm", "type", lambda: lib.ActorCriticAlgorithm().transition_data(None, WT, 2, 2, HP),
         "transitions"),
    Case("ActorCriticAlgorithm", "range", lambda: lib.ActorCriticAlgorithm().transition_data(TR_BAD, WT, 2, 2, HP),
         "transitions", note="state index"),
    Case("ActorCriticAlgorithm", "shape", lambda: lib.ActorCriticAlgorithm().transition_data(TR, z(1, 5), 2, 2, HP),
         "params"),
    Case("ActorCriticAlgorithm", "batch", lambda: lib.ActorCriticAlgorithm().transition_data(TR, z(2, 6), 2, 2, HP)
         and lib.ActorCriticAlgorithm().transition_data(Transitions(*(f.expand(3, 3) for f in TR)),
                                                        z(2, 6), 2, 2, HP), "params"),
    Case("ActorCriticAlgorithm", "type", lambda: lib.ActorCriticAlgorithm().teacher_update(WT, {"x": 1}, TR.r, 2, 2,
                                                                                           HP), "data"),
    Case("ActorCriticAlgorithm", "shape", lambda: lib.ActorCriticAlgorithm().behaviour_policy(z(4), 2, 2), "params"),
    Case("ActorCriticAlgorithm", "range", lambda: lib.ActorCriticAlgorithm().null_patterns(2, -1), "n_actions"),
    Case("ActorCriticAlgorithm", "nonfinite", lambda: lib.ActorCriticAlgorithm().behaviour_policy(nan_at(z(6)), 2, 2),
         "params"),
    Case("ACTOR_CRITIC", "range", lambda: lib.ACTOR_CRITIC.sample_parameters(2, 2, 2, {"w": 1.0}, 0), "scales"),
    Case("ACTOR_CRITIC", "type", lambda: lib.ACTOR_CRITIC.sample_parameters(2, 2, 2, {"w": 1.0, "theta": 1.0}, 1.5),
         "generator"),
    Case("ACTOR_CRITIC", "legit", lambda: lib.ACTOR_CRITIC.readout(lib.ACTOR_CRITIC.prompt(
        lib.ACTOR_CRITIC.transition_data(TR, WT, 2, 2, HP), TR.r, WT, 2, 2), 2, 2), None, check=lambda o: close(o, WT)),
    Case("ACTOR_CRITIC", "legit", lambda: lib.ACTOR_CRITIC.behaviour_policy(WT[0], 2, 2), None,
         check=lambda o: o.shape == (2, 2) and close(o.sum(-1), torch.ones(2)), note="policy"),
    # ------------------------------------------------------------------ registry
    Case("get_algorithm", "range", lambda: lib.get_algorithm("q-learning"), "algorithm"),
    Case("get_algorithm", "type", lambda: lib.get_algorithm(5), "algorithm"),
    Case("get_algorithm", "legit", lambda: lib.get_algorithm("actor-critic"), None,
         check=lambda o: o is lib.ACTOR_CRITIC),
    # ------------------------------------------------------------------ tasks (chapters 6-7)
    Case("PromptDistribution", "range", lambda: lib.PromptDistribution("q"), "algorithm"),
    Case("PromptDistribution", "range", lambda: lib.PromptDistribution(n_states=0), "n_states"),
    Case("PromptDistribution", "type", lambda: lib.PromptDistribution(n_actions=2.5), "n_actions"),
    Case("PromptDistribution", "range", lambda: lib.PromptDistribution(gamma=1.0), "gamma"),
    Case("PromptDistribution", "nonfinite", lambda: lib.PromptDistribution(alpha=NAN), "alpha"),
    Case("PromptDistribution", "range", lambda: lib.PromptDistribution(w_scale=-1.0), "w_scale"),
    Case("PromptDistribution", "range", lambda: lib.PromptDistribution(fixed_mdp_seed=-1), "fixed_mdp_seed"),
    Case("PromptDistribution", "type", lambda: lib.PromptDistribution(temperature="1"), "temperature"),
    Case("PromptDistribution", "empty", lambda: lib.PromptDistribution(n_transitions=0), "n_transitions"),
    Case("PromptDistribution", "dtype", lambda: DIST.construction(dtype=torch.int64), "dtype"),
    Case("PromptDistribution", "legit", lambda: (DIST.d, DIST.n_params, DIST.layout.dim, DIST_AC.n_params), None,
         check=lambda o: o == (4, 4, 14, 6)),
    Case("sample_mdps", "type", lambda: lib.sample_mdps("dist", 2, 0), "dist"),
    Case("sample_mdps", "range", lambda: lib.sample_mdps(DIST, 0, 0), "n_mdps"),
    Case("sample_mdps", "type", lambda: lib.sample_mdps(DIST, 2, "g"), "generator"),
    Case("sample_mdps", "legit", lambda: (lib.sample_mdps(DIST, 2, 3).P,
                                          lib.sample_mdps(DIST, 2, torch.Generator().manual_seed(3)).P), None,
         check=lambda o: o[0].shape == (2, 2, 2, 2) and torch.equal(*o)),
    Case("sample_parameters", "type", lambda: lib.sample_parameters(None, 2, 0), "dist"),
    Case("sample_parameters", "range", lambda: lib.sample_parameters(DIST, -1, 0), "n"),
    Case("sample_parameters", "type", lambda: lib.sample_parameters(DIST, 2, None), "generator"),
    Case("sample_parameters", "legit", lambda: lib.sample_parameters(DIST_AC, 3, 0), None,
         check=lambda o: o.shape == (3, 6) and o.dtype == F),
    Case("behaviour_policy", "shape", lambda: lib.behaviour_policy(DIST, z(5)), "params"),
    Case("behaviour_policy", "nonfinite", lambda: lib.behaviour_policy(DIST, nan_at(z(4))), "params"),
    Case("behaviour_policy", "range", lambda: lib.behaviour_policy(DIST, z(4), temperature=-1.0), "temperature"),
    Case("behaviour_policy", "type", lambda: lib.behaviour_policy({"n_states": 2}, z(4)), "dist"),
    Case("behaviour_policy", "dtype", lambda: lib.behaviour_policy(DIST, ["a", "b", "c", "d"]), "params"),
    Case("behaviour_policy", "legit", lambda: lib.behaviour_policy(DIST_AC, [0.0] * 6), None,
         check=lambda o: close(o, torch.full((2, 2), 0.5))),
    Case("build_prompt_batch", "type", lambda: lib.build_prompt_batch(DIST, "mdps", z(2, 4), 0), "mdps"),
    Case("build_prompt_batch", "range", lambda: lib.build_prompt_batch(DIST, MDP3S, z(2, 4), 0), "mdps",
         note="n_states"),
    Case("build_prompt_batch", "shape", lambda: lib.build_prompt_batch(DIST, MDP2, z(2, 5), 0), "params"),
    Case("build_prompt_batch", "nonfinite", lambda: lib.build_prompt_batch(DIST, MDP2, nan_at(z(2, 4)), 0), "params"),
    Case("build_prompt_batch", "batch", lambda: lib.build_prompt_batch(DIST, MDP2, z(3, 4), 0), "params"),
    Case("build_prompt_batch", "type", lambda: lib.build_prompt_batch(DIST, MDP2, z(2, 4), "g"), "generator"),
    Case("build_prompt_batch", "dtype", lambda: lib.build_prompt_batch(DIST, MDP2, np.array([["a"] * 4] * 2), 0),
         "params"),
    Case("build_prompt_batch", "range", lambda: lib.build_prompt_batch(DIST, MDP2, z(2, 4), 0, temperature=0.0),
         "temperature"),
    Case("build_prompt_batch", "overflow", lambda: lib.build_prompt_batch(
        lib.PromptDistribution(n_states=2, n_actions=2, n_transitions=3, alpha=1e300), MDP2, 1e10 * torch.ones(2, 4),
        0), "alpha"),
    Case("build_prompt_batch", "legit", lambda: lib.build_prompt_batch(DIST, MDP2, z(2, 4), 0), None,
         check=lambda o: o.H.shape == (2, 14, 4) and o.target.shape == (2, 4)),
    Case("sample_prompt_batch", "range", lambda: lib.sample_prompt_batch(DIST, 0, 0), "n_prompts"),
    Case("sample_prompt_batch", "type", lambda: lib.sample_prompt_batch(DIST, 2, 0.5), "generator"),
    Case("sample_prompt_batch", "type", lambda: lib.sample_prompt_batch(None, 2, 0), "dist"),
    Case("sample_prompt_batch", "legit", _prompt_batch_seed, None, check=lambda o: o is True),
    Case("held_out_mdps", "range", lambda: lib.held_out_mdps(DIST, 2, seed=-1), "seed"),
    Case("held_out_mdps", "type", lambda: lib.held_out_mdps(DIST, 1.5), "n_mdps"),
    Case("held_out_mdps", "type", lambda: lib.held_out_mdps("d", 1), "dist"),
    Case("held_out_mdps", "legit", lambda: lib.held_out_mdps(DIST, 2, 1).P, None,
         check=lambda o: torch.equal(o, random_mdp(2, 2, 0.9, seed=lib.HELD_OUT_SEED_OFFSET + 1, n_mdps=2).P)),
    Case("behaviour_blocks", "type", lambda: lib.behaviour_blocks(lib.SARSA), "dist"),
    Case("behaviour_blocks", "legit", lambda: (lib.behaviour_blocks(DIST), lib.behaviour_blocks(DIST_AC)), None,
         check=lambda o: o == (("w",), ("theta",))),
    Case("behaviour_parameters", "shape", lambda: lib.behaviour_parameters(DIST_AC, z(4)), "params"),
    Case("behaviour_parameters", "nonfinite", lambda: lib.behaviour_parameters(DIST, nan_at(z(4))), "params"),
    Case("behaviour_parameters", "type", lambda: lib.behaviour_parameters(3, z(4)), "dist"),
    Case("behaviour_parameters", "legit", lambda: lib.behaviour_parameters(DIST_AC, WT.numpy()), None,
         check=lambda o: close(o, WT[:, 2:])),
    # ------------------------------------------------------------------ manifold (chapters 4-6)
    Case("null_directions", "type", lambda: lib.null_directions("sarsa"), "dist"),
    Case("null_directions", "legit", lambda: lib.null_directions(DIST), None,
         check=lambda o: o[0].shape == (5, 9, 5) and o[1].shape == (4, 4, 9)),
    Case("project_out", "shape", lambda: lib.project_out(z(3, 3), z(2, 3, 2)), "basis"),
    Case("project_out", "nonfinite", lambda: lib.project_out(nan_at(z(3)), torch.eye(3)[:1]), "X"),
    Case("project_out", "type", lambda: lib.project_out("X", torch.eye(3)[:1]), "X"),
    Case("project_out", "empty", lambda: lib.project_out(z(3), z(0, 3)), "basis"),
    Case("project_out", "legit", lambda: lib.project_out(np.ones(3), np.eye(3)[:1]), None,
         check=lambda o: close(o, [0.0, 1.0, 1.0])),
    Case("recovery_metrics", "shape", lambda: lib.recovery_metrics(z(13, 13), z(14, 14), DIST), "P"),
    Case("recovery_metrics", "nonfinite", lambda: lib.recovery_metrics(nan_at(PS), VS, DIST), "P"),
    Case("recovery_metrics", "type", lambda: lib.recovery_metrics(PS, VS, None), "dist"),
    Case("recovery_metrics", "dtype", lambda: lib.recovery_metrics(PS, np.array([["a"] * 14] * 14), DIST), "V"),
    Case("recovery_metrics", "overflow", lambda: lib.recovery_metrics(1e200 * PS, VS, DIST), "P"),
    Case("recovery_metrics", "legit", _recovery_at_construction, None, check=lambda o: o is True),
    Case("parameter_roles", "type", lambda: lib.parameter_roles(lib.SARSA), "dist"),
    Case("parameter_roles", "legit", lambda: lib.parameter_roles(DIST), None,
         check=lambda o: all(int(sum(o[k][i].sum() for k in lib.ROLES)) == 14 * 14 for i in (0, 1))),
    Case("select_mask", "range", lambda: lib.select_mask(DIST, "everything"), "entries"),
    Case("select_mask", "type", lambda: lib.select_mask(DIST, 5), "entries", note="int"),
    Case("select_mask", "shape", lambda: lib.select_mask(DIST, (torch.ones(3, 3, dtype=torch.bool),) * 2), "entries"),
    Case("select_mask", "dtype", lambda: lib.select_mask(DIST, (z(14, 14), z(14, 14))), "entries", note="float"),
    Case("select_mask", "type", lambda: lib.select_mask("d", "active"), "dist"),
    Case("select_mask", "legit", lambda: lib.select_mask(DIST, "trainable"), None,
         check=lambda o: int(o[0].sum()) == 9 * 5 + 5 * 5),
    Case("predicted_null_dimension", "range", lambda: lib.predicted_null_dimension(DIST, "nope"), "entries"),
    Case("predicted_null_dimension", "type", lambda: lib.predicted_null_dimension(None), "dist"),
    Case("predicted_null_dimension", "legit", lambda: lib.predicted_null_dimension(DIST), None,
         check=lambda o: o == 1 + (4 + 1) + 4),
    Case("aligned_active_blocks", "shape", lambda: lib.aligned_active_blocks(PS, z(3, 3), DIST), "V"),
    Case("aligned_active_blocks", "nonfinite", lambda: lib.aligned_active_blocks(PS, nan_at(VS), DIST), "V"),
    Case("aligned_active_blocks", "type", lambda: lib.aligned_active_blocks(PS, VS, "dist"), "dist"),
    Case("aligned_active_blocks", "legit", lambda: lib.aligned_active_blocks(2 * PD, VD / 2, DIST), None,
         check=lambda o: abs(o["scale"] - 0.5) < 1e-12 and close(o["P_id"], o["P_star_id"])),
    Case("data_moments", "type", lambda: lib.data_moments(z(14, 4), "layout"), "layout"),
    Case("data_moments", "shape", lambda: lib.data_moments(z(13, 4), DIST.layout), "H"),
    Case("data_moments", "empty", lambda: lib.data_moments(z(14, 1), DIST.layout), "H"),
    Case("data_moments", "nonfinite", lambda: lib.data_moments(nan_at(z(14, 4)), DIST.layout), "H"),
    Case("data_moments", "overflow", lambda: lib.data_moments(1e200 * torch.ones(14, 4, dtype=F), DIST.layout), "H"),
    Case("data_moments", "legit", lambda: lib.data_moments(np.ones((14, 3)), DIST.layout), None,
         check=lambda o: close(o, torch.ones(9, 9))),
    Case("span_rank", "empty", lambda: lib.span_rank(z(0, 3)), "X"),
    Case("span_rank", "nonfinite", lambda: lib.span_rank(nan_at(z(2, 3))), "X"),
    Case("span_rank", "range", lambda: lib.span_rank(z(2, 3), rtol=-1.0), "rtol"),
    Case("span_rank", "type", lambda: lib.span_rank(z(2, 3), rtol="a"), "rtol"),
    Case("span_rank", "dtype", lambda: lib.span_rank(np.array(["a", "b"])), "X"),
    Case("span_rank", "legit", lambda: lib.span_rank(1e300 * torch.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=F)), None,
         check=lambda o: o == 2, note="huge entries"),
    Case("span_rank", "legit", lambda: lib.span_rank([[1.0, 2.0], [2.0, 4.0], [0.0, 0.0]]), None,
         check=lambda o: o == 1),
    Case("readout_jacobian", "shape", lambda: lib.readout_jacobian(z(14, 4), PS, VS, [0]), "H"),
    Case("readout_jacobian", "shape", lambda: lib.readout_jacobian(z(2, 14, 4), PS[:3], VS, [0]), "P", note="P"),
    Case("readout_jacobian", "range", lambda: lib.readout_jacobian(z(2, 14, 4), PS, VS, [14]), "rows"),
    Case("readout_jacobian", "dtype", lambda: lib.readout_jacobian(z(2, 14, 4), PS, VS, [0.5]), "rows"),
    Case("readout_jacobian", "empty", lambda: lib.readout_jacobian(z(2, 14, 4), PS, VS, []), "rows"),
    Case("readout_jacobian", "empty", lambda: lib.readout_jacobian(z(0, 14, 4), PS, VS, [0]), "H", note="no prompts"),
    Case("readout_jacobian", "nonfinite", lambda: lib.readout_jacobian(nan_at(z(2, 14, 4)), PS, VS, [0]), "H"),
    Case("readout_jacobian", "type", lambda: lib.readout_jacobian(z(2, 14, 4), PS, VS, [0], mask="yes"), "mask"),
    Case("readout_jacobian", "type", lambda: lib.readout_jacobian(z(2, 14, 4), PS, VS, "w"), "rows", note="rows"),
    Case("readout_jacobian", "overflow", lambda: lib.readout_jacobian(1e200 * torch.ones(1, 14, 4, dtype=F), PS, VS,
                                                                      [10]), "H"),
    Case("readout_jacobian", "legit", lambda: lib.readout_jacobian(lib.SARSA.prompt(SP_DATA, TR.r, W, 2, 2), PS, VS,
                                                                   DIST.output_rows), None,
         check=lambda o: o.shape == (4, 2 * 14 * 14)),
    # ------------------------------------------------------------------ agents (chapter 7)
    Case("teacher_agent", "type", lambda: lib.teacher_agent("sarsa"), "dist"),
    Case("teacher_agent", "shape", lambda: lib.teacher_agent(DIST)(z(1, 5), TR), "params"),
    Case("teacher_agent", "nonfinite", lambda: lib.teacher_agent(DIST)(nan_at(z(1, 4)), TR), "params"),
    Case("teacher_agent", "type", lambda: lib.teacher_agent(DIST)(W, (1, 2)), "transitions"),
    Case("teacher_agent", "range", lambda: lib.teacher_agent(DIST)(W, TR_BAD), "transitions", note="state index"),
    Case("teacher_agent", "nonfinite", lambda: lib.teacher_agent(DIST)(W, TR._replace(r=nan_at(TR.r))), "r",
         note="rewards"),
    Case("teacher_agent", "batch", lambda: lib.teacher_agent(DIST)(z(2, 4), TR).shape and
         lib.teacher_agent(DIST)(z(2, 4), Transitions(*(f.expand(3, 3) for f in TR))), "params"),
    Case("teacher_agent", "overflow", lambda: lib.teacher_agent(lib.PromptDistribution(n_states=2, n_actions=2,
                                                                                       alpha=1e300))(
        1e300 * torch.ones(1, 4, dtype=F), TR), "alpha"),
    Case("teacher_agent", "legit", _teacher_matches, None, check=lambda o: o is True),
    Case("block_agent", "shape", lambda: lib.block_agent(PS[:3], VS, DIST), "P"),
    Case("block_agent", "nonfinite", lambda: lib.block_agent(PS, nan_at(VS), DIST), "V"),
    Case("block_agent", "type", lambda: lib.block_agent(PS, VS, None), "dist"),
    Case("block_agent", "type", lambda: lib.block_agent(PS, VS, DIST, mask="no"), "mask", note="mask"),
    Case("block_agent", "shape", lambda: lib.block_agent(PS, VS, DIST)(z(1, 3), TR), "params", note="update"),
    Case("block_agent", "type", lambda: lib.block_agent(PS, VS, DIST)(W, None), "transitions"),
    Case("block_agent", "overflow", lambda: lib.block_agent(1e200 * PS, 1e200 * VS, DIST)(W, TR), "P", note="scale"),
    Case("block_agent", "legit", lambda: lib.block_agent(PD.numpy(), VD.numpy(), DIST)(W, TR), None,
         check=lambda o: close(o, lib.teacher_agent(DIST)(W, TR))),
    Case("behaviour_policy_fn", "range", lambda: lib.behaviour_policy_fn(DIST, 0.0), "temperature"),
    Case("behaviour_policy_fn", "type", lambda: lib.behaviour_policy_fn(0), "dist"),
    Case("behaviour_policy_fn", "shape", lambda: lib.behaviour_policy_fn(DIST)(z(3)), "params"),
    Case("behaviour_policy_fn", "nonfinite", lambda: lib.behaviour_policy_fn(DIST)(nan_at(z(4))), "params"),
    Case("behaviour_policy_fn", "legit", lambda: lib.behaviour_policy_fn(DIST, 2.0)(np.zeros((3, 4))), None,
         check=lambda o: close(o, torch.full((3, 2, 2), 0.5))),
    Case("agent_jacobian", "type", lambda: lib.agent_jacobian("f", W, TR), "update"),
    Case("agent_jacobian", "shape", lambda: lib.agent_jacobian(lib.teacher_agent(DIST), z(1, 3), TR), "params"),
    Case("agent_jacobian", "nonfinite", lambda: lib.agent_jacobian(lib.teacher_agent(DIST), nan_at(W), TR), "params"),
    Case("agent_jacobian", "shape", lambda: lib.agent_jacobian(lambda p, t: p[..., :2], W, TR), "update",
         note="update output"),
    Case("agent_jacobian", "overflow", lambda: lib.agent_jacobian(lambda p, t: 1e300 * 1e300 * p, W, TR), "update"),
    Case("agent_jacobian", "legit", _jacobian_affine, None, check=lambda o: o is True),
    # ------------------------------------------------------------------ softmax TD (chapter 8)
    Case("softmax_td_rows", "range", lambda: lib.softmax_td_rows(0), "d"),
    Case("softmax_td_rows", "range", lambda: lib.softmax_td_rows(2, "three-heads"), "form"),
    Case("softmax_td_rows", "type", lambda: lib.softmax_td_rows(2, ["shift"]), "form", note="form"),
    Case("softmax_td_rows", "type", lambda: lib.softmax_td_rows(2.0), "d"),
    Case("softmax_td_rows", "legit", lambda: lib.softmax_td_rows(2, "two-heads"), None,
         check=lambda o: o["D"] == 7 and o["x_next"] == slice(2, 4) and o["cur"] == 6),
    Case("softmax_td_prompt", "batch", lambda: lib.softmax_td_prompt(z(2, 5, 2), z(3, 4)), "rewards"),
    Case("softmax_td_prompt", "batch", lambda: lib.softmax_td_prompt(z(2, 5, 2), z(4), 0.9, z(3, 5)), "v0",
         note="v0"),
    Case("softmax_td_prompt", "shape", lambda: lib.softmax_td_prompt(X5, z(5)), "rewards"),
    Case("softmax_td_prompt", "shape", lambda: lib.softmax_td_prompt(X5, R4, 0.9, z(4)), "v0", note="v0 shape"),
    Case("softmax_td_prompt", "nonfinite", lambda: lib.softmax_td_prompt(nan_at(X5), R4), "features"),
    Case("softmax_td_prompt", "range", lambda: lib.softmax_td_prompt(X5, R4, 1.5, z(5)), "gamma"),
    Case("softmax_td_prompt", "type", lambda: lib.softmax_td_prompt(X5, R4, "g", z(5)), "gamma", note="gamma"),
    Case("softmax_td_prompt", "range", lambda: lib.softmax_td_prompt(X5, R4, None, z(5)), "gamma", note="missing"),
    Case("softmax_td_prompt", "type", lambda: lib.softmax_td_prompt(X5, R4, form=2), "form"),
    Case("softmax_td_prompt", "empty", lambda: lib.softmax_td_prompt(z(1, 2), z(0)), "rewards"),
    Case("softmax_td_prompt", "empty", lambda: lib.softmax_td_prompt(z(0, 2), z(0)), "features", note="features"),
    Case("softmax_td_prompt", "dtype", lambda: lib.softmax_td_prompt(X5, np.array(list("abcd"))), "rewards"),
    Case("softmax_td_prompt", "legit", lambda: lib.softmax_td_prompt(np.ones((2, 1)), [2.0], 0.5, [3.0, 4.0]), None,
         check=lambda o: close(o, [[1, 1], [2, 0], [2, 0], [3, 4]])),
    Case("softmax_td_readout", "shape", lambda: lib.softmax_td_readout(z(3, 5)), "Z"),
    Case("softmax_td_readout", "nonfinite", lambda: lib.softmax_td_readout(nan_at(z(5, 5))), "Z"),
    Case("softmax_td_readout", "empty", lambda: lib.softmax_td_readout(z(5, 0)), "Z"),
    Case("softmax_td_readout", "legit", lambda: lib.softmax_td_readout(torch.arange(10.0).reshape(5, 2)), None,
         check=lambda o: o.tolist() == [8.0, 9.0]),
    Case("softmax_td_construction", "range", lambda: lib.softmax_td_construction(2, 1.0, 0.5), "gamma"),
    Case("softmax_td_construction", "type", lambda: lib.softmax_td_construction(2, 0.9, "a"), "alpha"),
    Case("softmax_td_construction", "nonfinite", lambda: lib.softmax_td_construction(2, 0.9, NAN), "alpha"),
    Case("softmax_td_construction", "range", lambda: lib.softmax_td_construction(0, 0.9, 0.5), "d"),
    Case("softmax_td_construction", "range", lambda: lib.softmax_td_construction(2, 0.9, 0.5, "x"), "form", note="form"),
    Case("softmax_td_construction", "dtype", lambda: lib.softmax_td_construction(2, 0.9, 0.5, dtype=torch.int64),
         "dtype"),
    Case("softmax_td_construction", "legit", lambda: lib.softmax_td_construction(1, 0.5, 2.0, "two-heads"), None,
         check=lambda o: o.shift is None and len(o.heads) == 2 and float(o.heads[1][1][3, 2]) == 1.0
         and float(o.heads[1][1][3, 4]) == -1.0),
    Case("softmax_td_forward", "shape", lambda: lib.softmax_td_forward(z(6, 5), 2, 0.9, 1.0, form="two-heads"), "Z"),
    Case("softmax_td_forward", "empty", lambda: lib.softmax_td_forward(z(5, 1), 2, 0.9, 1.0), "Z"),
    Case("softmax_td_forward", "range", lambda: lib.softmax_td_forward(z(5, 5), 0, 0.9, 1.0), "n_layers"),
    Case("softmax_td_forward", "nonfinite", lambda: lib.softmax_td_forward(nan_at(z(5, 5)), 2, 0.9, 1.0), "Z"),
    Case("softmax_td_forward", "range", lambda: lib.softmax_td_forward(z(5, 5), 2, 0.9, 1.0, form="x"), "form"),
    Case("softmax_td_forward", "type", lambda: lib.softmax_td_forward(z(5, 5), 2, 0.9, 1.0, return_all="yes"),
         "return_all"),
    Case("softmax_td_forward", "type", lambda: lib.softmax_td_forward(z(5, 5), 2, None, 1.0), "gamma"),
    Case("softmax_td_forward", "overflow", lambda: lib.softmax_td_forward(lib.softmax_td_prompt(X5, R4 + 1), 150,
                                                                          0.9, 1e3), "alpha", note="divergence"),
    Case("softmax_td_forward", "overflow", lambda: lib.softmax_td_forward(lib.softmax_td_prompt(1e200 * X5, R4), 1,
                                                                          0.9, 0.5), "Z", note="logits"),
    Case("softmax_td_forward", "overflow", lambda: lib.softmax_td_forward(z(1, 5, 1).expand(3, 5, 40000), 1, 0.9, 0.5),
         "Z", note="memory"),
    Case("softmax_td_forward", "legit", _softmax_forward_matches, None, check=lambda o: o is True),
]


def SARSA_overflow():
    return lib.SARSA.teacher_update(1e300 * torch.ones(1, 4, dtype=F), SP_DATA, TR.r, 2, 2,
                                    HP._replace(alpha=1e300))


EXEMPT = {
    "ALGORITHMS": "a registry dict (name -> entry); its entries SARSA and ACTOR_CRITIC are probed by name",
    "HELD_OUT_SEED_OFFSET": "a constant integer: takes no input",
    "ROLES": "a constant tuple of role names: takes no input",
    "Hyperparameters": "a plain NamedTuple of numbers or sympy symbols; validated where used (blocks, construction)",
    "PromptBatch": "a plain NamedTuple of results (H, target, params, mdps): takes no input to validate",
    "SoftmaxTDConstruction": "a plain NamedTuple of results (heads, shift): takes no input to validate",
}
