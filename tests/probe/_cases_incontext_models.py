"""Bad-input probe of the model half of icrl_lib.incontext (regression, ridge, depth, random features, LinUCB,
Thompson sampling, UCB-VI); see _probe.py. Run by test_probe_incontext.py together with the RL half."""
from __future__ import annotations

import numpy as np
import sympy as sp
import torch

from icrl_lib import incontext as lib
from icrl_lib import rl
from icrl_lib.attention import linear_self_attention, relu_attention

from ._probe import Case

F = torch.float64
NAN = float("nan")


def z(*shape):
    return torch.zeros(*shape, dtype=F)


def r(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F)


def nan_at(t):
    t = t.clone()
    t.view(-1)[0] = NAN
    return t


def close(a, b, tol=1e-10):
    a, b = torch.as_tensor(a).detach(), torch.as_tensor(b).detach()
    return a.shape == b.shape and bool(torch.allclose(a.to(F), b.to(F), atol=tol, rtol=0))


def lazy(fn):
    """Build a fixture on first use (the probe stays cheap to import)."""
    cache = []

    def get():
        if not cache:
            cache.append(fn())
        return cache[0]
    return get


# --- tiny fixtures: d = 2, n = 4 data points
X = r(4, 2, seed=1)
Y = r(4, seed=2)
XQ = r(2, seed=3)
BIG = 1e200 * torch.ones(4, 2, dtype=F)
RLAY = lib.ridge_layout(2)                               # D = 3d + 4 = 10
RH = lib.ridge_prompt(X, Y, XQ)
RLAYERS = lib.ridge_gd_construction(2, 0.1, 0.1, 2)
SLAY = lib.ridge_layout(2, n_queries=1, solve_queries=True)

DIST = lib.PromptDistribution(n_states=2, n_actions=2, n_transitions=3)
DIST_AC = lib.PromptDistribution("actor-critic", n_states=2, n_actions=2, n_transitions=3)
TR = rl.Transitions(s=torch.tensor([[0, 1, 1]]), a=torch.tensor([[1, 0, 1]]),
                    r=torch.tensor([[0.5, -1.0, 2.0]], dtype=F), s_next=torch.tensor([[1, 1, 0]]),
                    a_next=torch.tensor([[0, 1, 0]]))
TR_BAD = TR._replace(s=torch.tensor([[0, 5, 1]]))
W4 = r(1, 4, seed=4)                                     # SARSA params, d = S A = 4
BATCH = lazy(lambda: lib.sample_prompt_batch(DIST, 2, torch.Generator().manual_seed(0)))
PV = lazy(lambda: DIST.construction())
STACK_P = lazy(lambda: torch.stack([PV()[0]] * 2))
STACK_V = lazy(lambda: torch.stack([PV()[1]] * 2))
DATA = lazy(lambda: DIST.spec.transition_data(TR, W4, 2, 2, DIST))

TABLE = r(2, 2, 3, seed=5)                               # S = A = 2, d = 3 features
SFEAT = torch.tensor([[0, 1, 1]])
AFEAT = torch.tensor([[1, 0, 1]])

ARMS = r(3, 2, seed=6)                                   # A = 3 arms, d = 2
ACTS = torch.tensor([0, 2, 1, 1])
REWS = r(4, seed=7)
LUCB = lazy(lambda: lib.linucb_construction(2, 3, 2, width=4))
LPROMPT = lazy(lambda: lib.linucb_prompt(ARMS, ACTS, REWS))
TS = lazy(lambda: lib.thompson_construction(2, 3, 2))
TPROMPT = lazy(lambda: lib.linucb_prompt(ARMS, ACTS, REWS, TS().layout))
KNOTS = lazy(lambda: lib.sqrt_relu_coefficients(4, 0.01, 1.0))

UC = lazy(lambda: lib.ucbvi_construction(1, 2, 2, 2))   # H = 1, S = A = 2, K = 2
UH, US, UA, USN = (torch.tensor([0, 0]), torch.tensor([0, 1]), torch.tensor([1, 0]), torch.tensor([1, 1]))
UR = torch.tensor([0.5, 1.0], dtype=F)
UZ = lazy(lambda: lib.ucbvi_prompt(UH, US, UA, UR, USN, torch.tensor(0), torch.tensor(1), UC()))

G = sp.MatrixSymbol("G", 2, 2)


def _ridge_loop(Xv, yv, eta, lam, L):
    w = torch.zeros(Xv.shape[-1], dtype=F)
    for _ in range(L):
        w = w - eta * (Xv.T @ (Xv @ w - yv) / Xv.shape[0] + lam * w)
    return w


CASES = [
    # ---------------------------------------------------------------- regression (chapter 2)
    Case("regression_layout", "range", lambda: lib.regression_layout(0), "d"),
    Case("regression_layout", "type", lambda: lib.regression_layout(2.0), "d"),
    Case("regression_layout", "legit", lambda: lib.regression_layout(3), None, lambda L: L.dim == 4),
    Case("param_layout", "range", lambda: lib.param_layout(-1), "d"),
    Case("param_layout", "type", lambda: lib.param_layout("2"), "d"),
    Case("param_layout", "legit", lambda: lib.param_layout(2), None, lambda L: L.dim == 6),
    Case("regression_prompt", "shape", lambda: lib.regression_prompt(X, Y[:3], XQ), "y"),
    Case("regression_prompt", "shape", lambda: lib.regression_prompt(X, Y, z(3)), "x_query"),
    Case("regression_prompt", "nonfinite", lambda: lib.regression_prompt(nan_at(X), Y, XQ), "X"),
    Case("regression_prompt", "dtype", lambda: lib.regression_prompt(X, Y, np.array(["a", "b"])), "x_query"),
    Case("regression_prompt", "empty", lambda: lib.regression_prompt(z(0, 2), z(0), XQ), "X"),
    Case("regression_prompt", "batch", lambda: lib.regression_prompt(r(2, 4, 2), r(3, 4), XQ), "batch"),
    Case("regression_prompt", "legit", lambda: lib.regression_prompt(X.numpy(), Y.tolist(), XQ), None,
         lambda Z: Z.shape == (3, 5) and close(Z[:2, :4], X.T) and close(Z[2, :4], Y) and float(Z[2, 4]) == 0),
    Case("regression_readout", "shape", lambda: lib.regression_readout(z(1, 5)), "Z"),
    Case("regression_readout", "nonfinite", lambda: lib.regression_readout(nan_at(z(3, 5))), "Z"),
    Case("regression_readout", "range", lambda: lib.regression_readout(z(3, 5), sign=2.0), "sign"),
    Case("regression_readout", "type", lambda: lib.regression_readout(z(3, 5), sign="-"), "sign"),
    Case("regression_readout", "empty", lambda: lib.regression_readout(z(3, 1)), "Z"),
    Case("regression_readout", "legit", lambda: lib.regression_readout(RH[:3, :5] * 0 + 2.0, sign=-1), None,
         lambda v: float(v) == -2.0),
    Case("step_matrix", "range", lambda: lib.step_matrix(-0.1, 2), "eta"),
    Case("step_matrix", "nonfinite", lambda: lib.step_matrix(NAN, 2), "eta"),
    Case("step_matrix", "shape", lambda: lib.step_matrix(z(3, 3), 2), "eta"),
    Case("step_matrix", "range", lambda: lib.step_matrix(0.1, 0), "d"),
    Case("step_matrix", "type", lambda: lib.step_matrix(0.1, 2.5), "d"),
    Case("step_matrix", "dtype", lambda: lib.step_matrix(0.1, 2, dtype=torch.int64), "dtype"),
    Case("step_matrix", "type", lambda: lib.step_matrix("0.1", 2), "eta"),
    Case("step_matrix", "legit", lambda: lib.step_matrix(np.float32(0.5), 2), None,
         lambda G_: close(G_, 0.5 * torch.eye(2, dtype=F))),
    Case("gd_blocks", "shape", lambda: lib.gd_blocks(z(2, 3)), "Gamma"),
    Case("gd_blocks", "type", lambda: lib.gd_blocks("I"), "Gamma"),
    Case("gd_blocks", "nonfinite", lambda: lib.gd_blocks(nan_at(z(2, 2))), "Gamma"),
    Case("gd_blocks", "range", lambda: lib.gd_blocks(torch.eye(2), sign=2), "sign"),
    Case("gd_blocks", "legit", lambda: lib.gd_blocks(G), None, lambda b: b[("P", "x", "x")] == G.T, note="sympy"),
    Case("gd_param_blocks", "shape", lambda: lib.gd_param_blocks(z(2)), "Gamma"),
    Case("gd_param_blocks", "type", lambda: lib.gd_param_blocks(3), "Gamma"),
    Case("gd_param_blocks", "nonfinite", lambda: lib.gd_param_blocks(nan_at(z(2, 2))), "Gamma"),
    Case("gd_param_blocks", "legit", lambda: lib.gd_param_blocks(2 * sp.Identity(2)), None,
         lambda b: b[("V", "w", "x")] == 2 * sp.Identity(2), note="sympy"),
    Case("gd_construction", "range", lambda: lib.gd_construction(0), "d"),
    Case("gd_construction", "range", lambda: lib.gd_construction(2, eta=0.0), "eta"),
    Case("gd_construction", "shape", lambda: lib.gd_construction(2, eta=z(3, 3)), "eta"),
    Case("gd_construction", "type", lambda: lib.gd_construction(2, residual="yes"), "residual"),
    Case("gd_construction", "dtype", lambda: lib.gd_construction(2, dtype=torch.int32), "dtype"),
    Case("gd_construction", "legit", lambda: lib.gd_construction(2, eta=0.5), None,
         lambda PV_: close(PV_[0][:2, :2], 0.5 * torch.eye(2, dtype=F)) and float(PV_[1][2, 2]) == 1.0),
    Case("gd_step", "shape", lambda: lib.gd_step(X, Y[:3]), "y"),
    Case("gd_step", "shape", lambda: lib.gd_step(X, Y, w0=z(3)), "w0"),
    Case("gd_step", "nonfinite", lambda: lib.gd_step(X, nan_at(Y)), "y"),
    Case("gd_step", "range", lambda: lib.gd_step(X, Y, eta=-1.0), "eta"),
    Case("gd_step", "empty", lambda: lib.gd_step(z(0, 2), z(0)), "X"),
    Case("gd_step", "batch", lambda: lib.gd_step(r(2, 4, 2), Y, w0=z(3, 2)), "batch"),
    Case("gd_step", "dtype", lambda: lib.gd_step(X, Y, w0=np.array(["a", "b"])), "w0"),
    Case("gd_step", "overflow", lambda: lib.gd_step(BIG, Y, w0=torch.ones(2, dtype=F)), "X"),
    Case("gd_step", "legit", lambda: lib.gd_step(X, Y, eta=0.5), None,
         lambda w: close(w, 0.5 * X.T @ Y / 4)),
    Case("gd_step_prediction", "shape", lambda: lib.gd_step_prediction(X, Y, z(3)), "x_query"),
    Case("gd_step_prediction", "nonfinite", lambda: lib.gd_step_prediction(X, Y, nan_at(XQ)), "x_query"),
    Case("gd_step_prediction", "batch", lambda: lib.gd_step_prediction(r(2, 4, 2), Y, z(3, 2)), "batch"),
    Case("gd_step_prediction", "overflow", lambda: lib.gd_step_prediction(X, Y, 1e308 * torch.ones(2, dtype=F),
                                                                          eta=1e10), "x_query"),
    Case("gd_step_prediction", "legit", lambda: lib.gd_step_prediction(X, Y, XQ), None,
         lambda p: close(p, (X.T @ Y / 4) @ XQ)),
    Case("param_prompt", "shape", lambda: lib.param_prompt(X, Y, z(3)), "w0"),
    Case("param_prompt", "nonfinite", lambda: lib.param_prompt(X, Y, nan_at(z(2))), "w0"),
    Case("param_prompt", "batch", lambda: lib.param_prompt(r(2, 4, 2), Y, z(3, 2)), "batch"),
    Case("param_prompt", "empty", lambda: lib.param_prompt(z(4, 0), Y, z(0)), "X"),
    Case("param_prompt", "legit", lambda: lib.param_prompt(X, Y, XQ), None,
         lambda H: H.shape == (6, 5) and close(H[4:, 4], XQ) and float(H[3, 4]) == 1.0),
    Case("param_readout", "shape", lambda: lib.param_readout(z(5, 3)), "H"),
    Case("param_readout", "nonfinite", lambda: lib.param_readout(nan_at(z(6, 3))), "H"),
    Case("param_readout", "dtype", lambda: lib.param_readout([["a"]]), "H"),
    Case("param_readout", "legit", lambda: lib.param_readout(lib.param_prompt(X, Y, XQ)), None,
         lambda w: close(w, XQ)),
    Case("gd_param_construction", "range", lambda: lib.gd_param_construction(0), "d"),
    Case("gd_param_construction", "range", lambda: lib.gd_param_construction(2, eta=-1), "eta"),
    Case("gd_param_construction", "dtype", lambda: lib.gd_param_construction(2, dtype=torch.int64), "dtype"),
    Case("gd_param_construction", "legit", lambda: lib.param_readout(linear_self_attention(
        lib.param_prompt(X, Y, XQ), *lib.gd_param_construction(2, eta=0.5))), None,
        lambda w: close(w, lib.gd_step(X, Y, eta=0.5, w0=XQ))),
    # ---------------------------------------------------------------- ridge (chapter 10)
    Case("ridge_layout", "range", lambda: lib.ridge_layout(0), "d"),
    Case("ridge_layout", "range", lambda: lib.ridge_layout(2, n_queries=-1), "n_queries"),
    Case("ridge_layout", "range", lambda: lib.ridge_layout(2, n_queries=0, solve_queries=True), "solve_queries"),
    Case("ridge_layout", "type", lambda: lib.ridge_layout(2, nesterov="no"), "nesterov"),
    Case("ridge_layout", "type", lambda: lib.ridge_layout(2, solve_queries=1), "solve_queries"),
    Case("ridge_layout", "type", lambda: lib.ridge_layout(2, extra=("u", 3)), "extra"),
    Case("ridge_layout", "range", lambda: lib.ridge_layout(2, extra=(("u", 0),)), "extra"),
    Case("ridge_layout", "legit", lambda: lib.ridge_layout(2, extra=(("u", 3),)), None,
         lambda L: L.dim == 13 and L.names[-1] == "u"),
    Case("ridge_prompt", "shape", lambda: lib.ridge_prompt(X, Y[:3], XQ), "y"),
    Case("ridge_prompt", "shape", lambda: lib.ridge_prompt(X, Y, z(3)), "x_query"),
    Case("ridge_prompt", "shape", lambda: lib.ridge_prompt(z(4), Y, XQ), "X"),
    Case("ridge_prompt", "nonfinite", lambda: lib.ridge_prompt(X, Y, nan_at(XQ)), "x_query"),
    Case("ridge_prompt", "dtype", lambda: lib.ridge_prompt(np.array([["a"]]), Y, XQ), "X"),
    Case("ridge_prompt", "empty", lambda: lib.ridge_prompt(z(0, 2), z(0), XQ), "X"),
    Case("ridge_prompt", "batch", lambda: lib.ridge_prompt(r(2, 4, 2), r(3, 4), XQ), "batch"),
    Case("ridge_prompt", "type", lambda: lib.ridge_prompt(X, Y, XQ, layout="default"), "layout"),
    Case("ridge_prompt", "type", lambda: lib.ridge_prompt(X, Y, XQ, layout=lib.regression_layout(2)), "layout"),
    Case("ridge_prompt", "type", lambda: lib.ridge_prompt(X, Y, XQ, start_token="yes"), "start_token"),
    Case("ridge_prompt", "legit", lambda: lib.ridge_prompt(z(0, 2), z(0), XQ, start_token=True), None,
         lambda H: H.shape == (10, 1) and close(H[6:8, 0], XQ), note="only-start-token"),
    Case("ridge_gd_construction", "range", lambda: lib.ridge_gd_construction(2, 0.1, -1.0, 2), "lam"),
    Case("ridge_gd_construction", "range", lambda: lib.ridge_gd_construction(2, 0.0, 0.1, 2), "eta"),
    Case("ridge_gd_construction", "nonfinite", lambda: lib.ridge_gd_construction(2, NAN, 0.1, 2), "eta"),
    Case("ridge_gd_construction", "range", lambda: lib.ridge_gd_construction(2, 0.1, 0.1, 0), "n_layers"),
    Case("ridge_gd_construction", "range", lambda: lib.ridge_gd_construction(2, 0.1, 0.1, 2, penalty="x"),
         "penalty"),
    Case("ridge_gd_construction", "range", lambda: lib.ridge_gd_construction(
        2, 0.1, 0.1, 2, layout=lib.ridge_layout(2, nesterov=True), momentum=1.5), "momentum"),
    Case("ridge_gd_construction", "shape", lambda: lib.ridge_gd_construction(2, 0.1, 0.1, 2,
                                                                             layout=lib.ridge_layout(3)), "layout"),
    Case("ridge_gd_construction", "type", lambda: lib.ridge_gd_construction(2, 0.1, 0.1, 2, layout=5), "layout"),
    Case("ridge_gd_construction", "dtype", lambda: lib.ridge_gd_construction(2, 0.1, 0.1, 2, dtype=torch.int64),
         "dtype"),
    Case("ridge_gd_construction", "overflow", lambda: lib.ridge_gd_construction(
        2, 0.1, 0.1, 1, layout=lib.ridge_layout(2, n_queries=3000, solve_queries=True)), "layout", note="memory"),
    Case("ridge_gd_construction", "legit", lambda: lib.ridge_readout(lib.ridge_forward(RH, RLAYERS)), None,
         lambda w: close(w, _ridge_loop(X, Y, 0.1, 0.1, 2))),
    Case("ridge_nesterov_construction", "range", lambda: lib.ridge_nesterov_construction(2, 0.1, 0.1, 2, -0.5),
         "momentum"),
    Case("ridge_nesterov_construction", "nonfinite", lambda: lib.ridge_nesterov_construction(2, 0.1, 0.1, 2, NAN),
         "momentum"),
    Case("ridge_nesterov_construction", "range", lambda: lib.ridge_nesterov_construction(0, 0.1, 0.1, 2, 0.5),
         "d"),
    Case("ridge_nesterov_construction", "type", lambda: lib.ridge_nesterov_construction(2, 0.1, 0.1, 2, 0.5,
                                                                                         layout=RLAY), "momentum"),
    Case("ridge_nesterov_construction", "legit", lambda: lib.ridge_readout(lib.ridge_forward(
        lib.ridge_prompt(X, Y, layout=lib.ridge_layout(2, nesterov=True)),
        lib.ridge_nesterov_construction(2, 0.1, 0.1, 3, 0.5)), lib.ridge_layout(2, nesterov=True)), None,
        lambda w: close(w, lib.ridge_gd_steps(X, Y, 0.1, 0.1, 3, momentum=0.5)[-1])),
    Case("ridge_forward", "shape", lambda: lib.ridge_forward(z(9, 4), RLAYERS), "layers"),
    Case("ridge_forward", "nonfinite", lambda: lib.ridge_forward(nan_at(RH), RLAYERS), "H"),
    Case("ridge_forward", "nonfinite", lambda: lib.ridge_forward(RH, [lib.RidgeLayer(
        nan_at(RLAYERS[0].Q), RLAYERS[0].K, RLAYERS[0].V)]), "layers"),
    Case("ridge_forward", "dtype", lambda: lib.ridge_forward(RH, [(np.array([["a"]]),) * 3]), "layers"),
    Case("ridge_forward", "type", lambda: lib.ridge_forward(RH, [(RLAYERS[0].Q, RLAYERS[0].K)]), "layers"),
    Case("ridge_forward", "type", lambda: lib.ridge_forward(RH, 5), "layers"),
    Case("ridge_forward", "legit", lambda: lib.ridge_forward(RH, [tuple(t.numpy() for t in RLAYERS[0])]), None,
         lambda H: close(H, lib.ridge_forward(RH, RLAYERS[:1])), note="numpy-layers"),
    Case("ridge_forward", "empty", lambda: lib.ridge_forward(RH, []), "layers"),
    Case("ridge_forward", "empty", lambda: lib.ridge_forward(z(10, 0), RLAYERS), "H"),
    Case("ridge_forward", "type", lambda: lib.ridge_forward(RH, RLAYERS, return_all="yes"), "return_all"),
    Case("ridge_forward", "overflow", lambda: lib.ridge_forward(1e200 * RH, RLAYERS), "H"),
    Case("ridge_forward", "overflow", lambda: lib.ridge_forward(z(10, 100_000), RLAYERS), "H", note="memory"),
    Case("ridge_forward", "legit", lambda: lib.ridge_forward(RH, RLAYERS[:1]), None,
         lambda H: close(H, relu_attention(RH, *RLAYERS[0]))),
    Case("ridge_readout", "shape", lambda: lib.ridge_readout(z(9, 3)), "H"),
    Case("ridge_readout", "nonfinite", lambda: lib.ridge_readout(nan_at(RH)), "H"),
    Case("ridge_readout", "type", lambda: lib.ridge_readout(RH, layout="x"), "layout"),
    Case("ridge_readout", "type", lambda: lib.ridge_readout(RH, all_tokens="yes"), "all_tokens"),
    Case("ridge_readout", "shape", lambda: lib.ridge_readout(RH, layout=SLAY), "H", note="layout-mismatch"),
    Case("ridge_readout", "legit", lambda: lib.ridge_readout(RH.numpy(), all_tokens=True), None,
         lambda w: w.shape == (4, 2) and float(w.abs().sum()) == 0),
    Case("ridge_query_solutions", "shape", lambda: lib.ridge_query_solutions(RH, SLAY), "H"),
    Case("ridge_query_solutions", "range", lambda: lib.ridge_query_solutions(RH, RLAY), "layout"),
    Case("ridge_query_solutions", "type", lambda: lib.ridge_query_solutions(RH, None), "layout"),
    Case("ridge_query_solutions", "type", lambda: lib.ridge_query_solutions(
        lib.ridge_prompt(X, Y, XQ, layout=SLAY), SLAY, all_tokens=1), "all_tokens"),
    Case("ridge_query_solutions", "nonfinite", lambda: lib.ridge_query_solutions(
        nan_at(lib.ridge_prompt(X, Y, XQ, layout=SLAY)), SLAY), "H"),
    Case("ridge_query_solutions", "legit", lambda: lib.ridge_query_solutions(
        lib.ridge_prompt(X, Y, XQ, layout=SLAY), SLAY), None, lambda x: x.shape == (1, 2)),
    Case("ridge_gd_steps", "shape", lambda: lib.ridge_gd_steps(X, Y[:3], 0.1, 0.1, 2), "y"),
    Case("ridge_gd_steps", "nonfinite", lambda: lib.ridge_gd_steps(nan_at(X), Y, 0.1, 0.1, 2), "X"),
    Case("ridge_gd_steps", "range", lambda: lib.ridge_gd_steps(X, Y, 0.1, -0.1, 2), "lam"),
    Case("ridge_gd_steps", "range", lambda: lib.ridge_gd_steps(X, Y, -0.1, 0.1, 2), "eta"),
    Case("ridge_gd_steps", "range", lambda: lib.ridge_gd_steps(X, Y, 0.1, 0.1, 2, momentum=1.0), "momentum"),
    Case("ridge_gd_steps", "range", lambda: lib.ridge_gd_steps(X, Y, 0.1, 0.1, 0), "n_layers"),
    Case("ridge_gd_steps", "empty", lambda: lib.ridge_gd_steps(z(0, 2), z(0), 0.1, 0.1, 2), "X"),
    Case("ridge_gd_steps", "batch", lambda: lib.ridge_gd_steps(r(2, 4, 2), r(3, 4), 0.1, 0.1, 2), "batch"),
    Case("ridge_gd_steps", "dtype", lambda: lib.ridge_gd_steps(X, np.array(["a"] * 4), 0.1, 0.1, 2), "y"),
    Case("ridge_gd_steps", "overflow", lambda: lib.ridge_gd_steps(X, Y, 1e3, 0.1, 200), "eta",
         note="divergent-step"),
    Case("ridge_gd_steps", "legit", lambda: lib.ridge_gd_steps(X, Y, 0.1, 0.1, 3), None,
         lambda w: close(w[-1], _ridge_loop(X, Y, 0.1, 0.1, 3)) and w.shape == (4, 2)),
    Case("ridge_solution", "shape", lambda: lib.ridge_solution(X, Y[:3], 0.1), "y"),
    Case("ridge_solution", "nonfinite", lambda: lib.ridge_solution(X, Y, NAN), "lam"),
    Case("ridge_solution", "range", lambda: lib.ridge_solution(X, Y, -1.0), "lam"),
    Case("ridge_solution", "range", lambda: lib.ridge_solution(X[:1], Y[:1], 0.0), "lam", note="singular-n<d"),
    Case("ridge_solution", "range", lambda: lib.ridge_solution(torch.ones(4, 2, dtype=F), Y, 0.0), "lam",
         note="singular-collinear"),
    Case("ridge_solution", "empty", lambda: lib.ridge_solution(z(0, 2), z(0), 0.1), "X"),
    Case("ridge_solution", "batch", lambda: lib.ridge_solution(r(2, 4, 2), r(3, 4), 0.1), "batch"),
    Case("ridge_solution", "type", lambda: lib.ridge_solution(X, Y, "0.1"), "lam"),
    Case("ridge_solution", "legit", lambda: lib.ridge_solution(X, Y, 0.0), None,
         lambda w: close(w, torch.linalg.lstsq(X, Y).solution), note="lam0-full-rank"),
    Case("ridge_solution", "legit", lambda: lib.ridge_solution(X, Y, 0.1), None,
         lambda w: close(w, lib.ridge_gd_steps(X, Y, 0.5, 0.1, 2000)[-1], 1e-8)),
    # ---------------------------------------------------------------- depth (chapter 11)
    Case("stacked_construction", "type", lambda: lib.stacked_construction("sarsa", 2), "dist"),
    Case("stacked_construction", "range", lambda: lib.stacked_construction(DIST, 0), "n_layers"),
    Case("stacked_construction", "dtype", lambda: lib.stacked_construction(DIST, 2, dtype=torch.int64), "dtype"),
    Case("stacked_construction", "legit", lambda: lib.stacked_construction(DIST, 2), None,
         lambda ls: len(ls) == 2 and close(ls[1][0], PV()[0])),
    Case("stack_readout", "shape", lambda: lib.stack_readout(BATCH().H, STACK_P()[..., :3, :3], STACK_V(),
                                                             DIST.output_rows), "P"),
    Case("stack_readout", "shape", lambda: lib.stack_readout(BATCH().H, STACK_P(), STACK_V()[:1],
                                                             DIST.output_rows), "V"),
    Case("stack_readout", "nonfinite", lambda: lib.stack_readout(nan_at(BATCH().H), STACK_P(), STACK_V(),
                                                                 DIST.output_rows), "H"),
    Case("stack_readout", "nonfinite", lambda: lib.stack_readout(BATCH().H, nan_at(STACK_P()), STACK_V(),
                                                                 DIST.output_rows), "P"),
    Case("stack_readout", "dtype", lambda: lib.stack_readout(BATCH().H.numpy().astype(str), STACK_P(), STACK_V(),
                                                             DIST.output_rows), "H"),
    Case("stack_readout", "range", lambda: lib.stack_readout(BATCH().H, STACK_P(), STACK_V(), [99]), "rows"),
    Case("stack_readout", "type", lambda: lib.stack_readout(BATCH().H, STACK_P(), STACK_V(), [0.5]), "rows"),
    Case("stack_readout", "type", lambda: lib.stack_readout(BATCH().H, STACK_P(), STACK_V(), DIST.output_rows,
                                                            mask="no"), "mask"),
    Case("stack_readout", "empty", lambda: lib.stack_readout(BATCH().H, STACK_P()[:0], STACK_V()[:0],
                                                             DIST.output_rows), "P"),
    Case("stack_readout", "empty", lambda: lib.stack_readout(BATCH().H[..., :1], STACK_P(), STACK_V(),
                                                             DIST.output_rows), "H", note="N0"),
    Case("stack_readout", "overflow", lambda: lib.stack_readout(1e200 * BATCH().H, STACK_P(), STACK_V(),
                                                                DIST.output_rows), "H"),
    Case("stack_readout", "legit", lambda: lib.stack_readout(BATCH().H.numpy(), STACK_P(), STACK_V(),
                                                             DIST.output_rows), None,
         lambda out: close(out, lib.sample_depth_batch(DIST, 2, 2, torch.Generator().manual_seed(0)).target),
         note="numpy"),
    Case("repeated_teacher_update", "type", lambda: lib.repeated_teacher_update(None, W4, DATA(), TR.r, 2), "dist"),
    Case("repeated_teacher_update", "range", lambda: lib.repeated_teacher_update(DIST, W4, DATA(), TR.r, 0),
         "n_steps"),
    Case("repeated_teacher_update", "shape", lambda: lib.repeated_teacher_update(DIST, z(1, 3), DATA(), TR.r, 2),
         "params"),
    Case("repeated_teacher_update", "nonfinite", lambda: lib.repeated_teacher_update(DIST, nan_at(W4), DATA(),
                                                                                     TR.r, 2), "params"),
    Case("repeated_teacher_update", "nonfinite", lambda: lib.repeated_teacher_update(DIST, W4, DATA(),
                                                                                     nan_at(TR.r), 2), "rewards"),
    Case("repeated_teacher_update", "type", lambda: lib.repeated_teacher_update(DIST, W4, [1, 2], TR.r, 2), "data"),
    Case("repeated_teacher_update", "shape", lambda: lib.repeated_teacher_update(DIST, W4, DATA(), TR.r[..., :2],
                                                                                 2), "rewards"),
    Case("repeated_teacher_update", "legit", lambda: lib.repeated_teacher_update(DIST, W4, DATA(), TR.r, 2), None,
         lambda p: close(p, rl.batch_sarsa_update(rl.batch_sarsa_update(W4, DATA()["phi"], DATA()["phi_next"],
                                                                         TR.r, DIST.alpha, DIST.gamma),
                                                  DATA()["phi"], DATA()["phi_next"], TR.r, DIST.alpha, DIST.gamma))),
    Case("repeated_teacher_agent", "type", lambda: lib.repeated_teacher_agent("sarsa", 2), "dist"),
    Case("repeated_teacher_agent", "range", lambda: lib.repeated_teacher_agent(DIST, 0), "n_steps"),
    Case("repeated_teacher_agent", "type", lambda: lib.repeated_teacher_agent(DIST, 2)(W4, (1, 2)), "transitions",
         note="call"),
    Case("repeated_teacher_agent", "shape", lambda: lib.repeated_teacher_agent(DIST, 2)(z(1, 3), TR), "params",
         note="call"),
    Case("repeated_teacher_agent", "range", lambda: lib.repeated_teacher_agent(DIST, 2)(W4, TR_BAD), "transitions",
         note="call-bad-state"),
    Case("repeated_teacher_agent", "legit", lambda: lib.repeated_teacher_agent(DIST, 2)(W4, TR), None,
         lambda p: close(p, lib.repeated_teacher_update(DIST, W4, DATA(), TR.r, 2))),
    Case("stacked_block_agent", "shape", lambda: lib.stacked_block_agent(STACK_P()[..., :3], STACK_V(), DIST), "P"),
    Case("stacked_block_agent", "nonfinite", lambda: lib.stacked_block_agent(STACK_P(), nan_at(STACK_V()), DIST),
         "V"),
    Case("stacked_block_agent", "type", lambda: lib.stacked_block_agent(STACK_P(), STACK_V(), 3), "dist"),
    Case("stacked_block_agent", "type", lambda: lib.stacked_block_agent(STACK_P(), STACK_V(), DIST, mask="n"),
         "mask"),
    Case("stacked_block_agent", "type", lambda: lib.stacked_block_agent(STACK_P(), STACK_V(), DIST)(W4, None),
         "transitions", note="call"),
    Case("stacked_block_agent", "shape", lambda: lib.stacked_block_agent(STACK_P(), STACK_V(), DIST)(z(1, 5), TR),
         "params", note="call"),
    Case("stacked_block_agent", "legit", lambda: lib.stacked_block_agent(STACK_P(), STACK_V(), DIST)(W4, TR), None,
         lambda p: close(p, lib.repeated_teacher_update(DIST, W4, DATA(), TR.r, 2))),
    Case("sample_depth_batch", "type", lambda: lib.sample_depth_batch("sarsa", 2, 2, 0), "dist"),
    Case("sample_depth_batch", "range", lambda: lib.sample_depth_batch(DIST, 0, 2, 0), "n_prompts"),
    Case("sample_depth_batch", "range", lambda: lib.sample_depth_batch(DIST, 2, 0, 0), "n_steps"),
    Case("sample_depth_batch", "type", lambda: lib.sample_depth_batch(DIST, 2, 2, "seed"), "generator"),
    Case("sample_depth_batch", "range", lambda: lib.sample_depth_batch(DIST, 2, 2, -1), "generator"),
    Case("sample_depth_batch", "legit", lambda: lib.sample_depth_batch(DIST, 2, 1, 3), None,
         lambda b: torch.equal(b.H, lib.sample_prompt_batch(DIST, 2, torch.Generator().manual_seed(3)).H),
         note="int-seed"),
    # ---------------------------------------------------------------- random features (chapter 11)
    Case("random_feature_tables", "range", lambda: lib.random_feature_tables(0, 2, 2, 3, 0), "n_tables"),
    Case("random_feature_tables", "type", lambda: lib.random_feature_tables(1, 2.0, 2, 3, 0), "n_states"),
    Case("random_feature_tables", "type", lambda: lib.random_feature_tables(1, 2, 2, 3, None), "generator"),
    Case("random_feature_tables", "legit", lambda: lib.random_feature_tables(1, 2, 2, 3, 5), None,
         lambda t: torch.equal(t, lib.random_feature_tables(1, 2, 2, 3, torch.Generator().manual_seed(5)))
         and t.shape == (1, 2, 2, 3) and float(t.abs().max()) <= 1, note="int-seed"),
    Case("feature_data", "shape", lambda: lib.feature_data(z(2, 3), SFEAT, AFEAT), "table"),
    Case("feature_data", "nonfinite", lambda: lib.feature_data(nan_at(TABLE), SFEAT, AFEAT), "table"),
    Case("feature_data", "range", lambda: lib.feature_data(TABLE, torch.tensor([[0, 2, 1]]), AFEAT), "s"),
    Case("feature_data", "dtype", lambda: lib.feature_data(TABLE, SFEAT, AFEAT.double()), "a"),
    Case("feature_data", "shape", lambda: lib.feature_data(TABLE, SFEAT, AFEAT[..., :2]), "a"),
    Case("feature_data", "batch", lambda: lib.feature_data(TABLE[None].expand(2, 2, 2, 3), SFEAT.expand(3, 3),
                                                           AFEAT.expand(3, 3)), "batch"),
    Case("feature_data", "empty", lambda: lib.feature_data(z(2, 2, 0), SFEAT, AFEAT), "table"),
    Case("feature_data", "legit", lambda: lib.feature_data(TABLE.numpy(), SFEAT, AFEAT), None,
         lambda phi: close(phi[0, 1], TABLE[1, 0]) and phi.shape == (1, 3, 3)),
    Case("feature_prompt_batch", "type", lambda: lib.feature_prompt_batch(None, 3, 2, 0), "dist"),
    Case("feature_prompt_batch", "range", lambda: lib.feature_prompt_batch(DIST, 0, 2, 0), "d"),
    Case("feature_prompt_batch", "range", lambda: lib.feature_prompt_batch(DIST, 3, 0, 0), "n_prompts"),
    Case("feature_prompt_batch", "type", lambda: lib.feature_prompt_batch(DIST, 3, 2, "g"), "generator"),
    Case("feature_prompt_batch", "shape", lambda: lib.feature_prompt_batch(DIST, 3, 2, 0, tables=TABLE), "tables"),
    Case("feature_prompt_batch", "nonfinite", lambda: lib.feature_prompt_batch(
        DIST, 3, 1, 0, tables=nan_at(TABLE[None])), "tables"),
    Case("feature_prompt_batch", "legit", lambda: lib.feature_prompt_batch(DIST, 3, 2, 4), None,
         lambda bt: close(bt[0].H, lib.feature_prompt_batch(DIST, 3, 2, torch.Generator().manual_seed(4))[0].H),
         note="int-seed"),
    Case("feature_teacher_agent", "shape", lambda: lib.feature_teacher_agent(z(2, 3), 0.5, 0.9), "table"),
    Case("feature_teacher_agent", "range", lambda: lib.feature_teacher_agent(TABLE, -0.5, 0.9), "alpha"),
    Case("feature_teacher_agent", "range", lambda: lib.feature_teacher_agent(TABLE, 0.5, 1.5), "gamma"),
    Case("feature_teacher_agent", "nonfinite", lambda: lib.feature_teacher_agent(nan_at(TABLE), 0.5, 0.9),
         "table"),
    Case("feature_teacher_agent", "type", lambda: lib.feature_teacher_agent(TABLE, 0.5, 0.9)(z(1, 3), "tr"),
         "transitions", note="call"),
    Case("feature_teacher_agent", "shape", lambda: lib.feature_teacher_agent(TABLE, 0.5, 0.9)(z(1, 4), TR),
         "w", note="call"),
    Case("feature_teacher_agent", "range", lambda: lib.feature_teacher_agent(TABLE, 0.5, 0.9)(z(1, 3), TR_BAD),
         "transitions", note="call-bad-state"),
    Case("feature_teacher_agent", "legit", lambda: lib.feature_teacher_agent(TABLE, 0.5, 0.9)(z(1, 3), TR), None,
         lambda w: close(w, rl.batch_sarsa_update(z(1, 3), lib.feature_data(TABLE, TR.s, TR.a),
                                                  lib.feature_data(TABLE, TR.s_next, TR.a_next), TR.r, 0.5, 0.9))),
    Case("feature_block_agent", "shape", lambda: lib.feature_block_agent(z(5, 5), z(5, 5), TABLE), "P"),
    Case("feature_block_agent", "shape", lambda: lib.feature_block_agent(z(11, 11), z(11, 11), z(3)), "table"),
    Case("feature_block_agent", "nonfinite", lambda: lib.feature_block_agent(z(11, 11), nan_at(z(11, 11)), TABLE),
         "V"),
    Case("feature_block_agent", "type", lambda: lib.feature_block_agent(z(11, 11), z(11, 11), TABLE, mask=None),
         "mask"),
    Case("feature_block_agent", "type", lambda: lib.feature_block_agent(z(11, 11), z(11, 11), TABLE)(z(1, 3), 5),
         "transitions", note="call"),
    Case("feature_block_agent", "legit", lambda: lib.feature_block_agent(
        *lib.sarsa_construction(3, 0.5, 0.9), TABLE)(z(1, 3), TR), None,
        lambda w: close(w, lib.feature_teacher_agent(TABLE, 0.5, 0.9)(z(1, 3), TR))),
    Case("feature_policy_fn", "shape", lambda: lib.feature_policy_fn(z(3), 1.0), "table"),
    Case("feature_policy_fn", "range", lambda: lib.feature_policy_fn(TABLE, 0.0), "temperature"),
    Case("feature_policy_fn", "nonfinite", lambda: lib.feature_policy_fn(nan_at(TABLE), 1.0), "table"),
    Case("feature_policy_fn", "shape", lambda: lib.feature_policy_fn(TABLE, 1.0)(z(4)), "w", note="call"),
    Case("feature_policy_fn", "legit", lambda: lib.feature_policy_fn(TABLE, 1.0)(z(3)), None,
         lambda pi: close(pi, torch.full((2, 2), 0.5, dtype=F))),
    # ---------------------------------------------------------------- LinUCB (chapter 10)
    Case("linucb_layout", "range", lambda: lib.linucb_layout(2, 0), "n_arms"),
    Case("linucb_layout", "range", lambda: lib.linucb_layout(0, 2), "d"),
    Case("linucb_layout", "type", lambda: lib.linucb_layout(2, 2, nesterov="no"), "nesterov"),
    Case("linucb_layout", "legit", lambda: lib.linucb_layout(2, 3), None, lambda L: L.dim == 4 + 4 + 12 + 6),
    Case("linucb_prompt", "shape", lambda: lib.linucb_prompt(z(3), ACTS, REWS), "arms"),
    Case("linucb_prompt", "range", lambda: lib.linucb_prompt(ARMS, torch.tensor([0, 3, 1, 1]), REWS), "actions"),
    Case("linucb_prompt", "dtype", lambda: lib.linucb_prompt(ARMS, ACTS.double(), REWS), "actions"),
    Case("linucb_prompt", "shape", lambda: lib.linucb_prompt(ARMS, ACTS, REWS[:3]), "rewards"),
    Case("linucb_prompt", "nonfinite", lambda: lib.linucb_prompt(ARMS, ACTS, nan_at(REWS)), "rewards"),
    Case("linucb_prompt", "nonfinite", lambda: lib.linucb_prompt(nan_at(ARMS), ACTS, REWS), "arms"),
    Case("linucb_prompt", "batch", lambda: lib.linucb_prompt(r(2, 3, 2), ACTS.expand(3, 4), REWS.expand(3, 4)),
         "batch"),
    Case("linucb_prompt", "type", lambda: lib.linucb_prompt(ARMS, ACTS, REWS, layout="x"), "layout"),
    Case("linucb_prompt", "shape", lambda: lib.linucb_prompt(ARMS, ACTS, REWS, layout=lib.linucb_layout(2, 2)),
         "arms", note="layout-mismatch"),
    Case("linucb_prompt", "legit", lambda: lib.linucb_prompt(ARMS, [], []), None,
         lambda H: H.shape == (26, 1), note="empty-history"),
    Case("linucb_construction", "range", lambda: lib.linucb_construction(2, 0, 2), "n_arms"),
    Case("linucb_construction", "range", lambda: lib.linucb_construction(2, 3, 2, lam=0.0), "lam"),
    Case("linucb_construction", "range", lambda: lib.linucb_construction(2, 3, 2, tau=-1.0), "tau"),
    Case("linucb_construction", "nonfinite", lambda: lib.linucb_construction(2, 3, 2, alpha=NAN), "alpha"),
    Case("linucb_construction", "range", lambda: lib.linucb_construction(2, 3, 2, alpha=-1.0), "alpha"),
    Case("linucb_construction", "range", lambda: lib.linucb_construction(2, 3, 2, momentum=2.0), "momentum"),
    Case("linucb_construction", "range", lambda: lib.linucb_construction(2, 3, 2, width=1), "width"),
    Case("linucb_construction", "range", lambda: lib.linucb_construction(2, 3, 2, u_min=2.0, u_max=1.0), "u_min"),
    Case("linucb_construction", "dtype", lambda: lib.linucb_construction(2, 3, 2, dtype=torch.int64), "dtype"),
    Case("linucb_construction", "overflow", lambda: lib.linucb_construction(20, 200, 1), "n_arms", note="memory"),
    Case("linucb_construction", "legit", lambda: lib.linucb_readout(lib.linucb_forward(LPROMPT(), LUCB()), LUCB(),
                                                                    scores=True), None,
         lambda v: v.shape == (3,) and bool(torch.isfinite(v).all())),
    Case("linucb_forward", "shape", lambda: lib.linucb_forward(z(5, 3), LUCB()), "H"),
    Case("linucb_forward", "nonfinite", lambda: lib.linucb_forward(nan_at(LPROMPT()), LUCB()), "H"),
    Case("linucb_forward", "type", lambda: lib.linucb_forward(LPROMPT(), "c"), "construction"),
    Case("linucb_forward", "overflow", lambda: lib.linucb_forward(1e200 * LPROMPT(), LUCB()), "H"),
    Case("linucb_forward", "legit", lambda: lib.linucb_forward(LPROMPT().numpy(), LUCB()), None,
         lambda H: H.shape == LPROMPT().shape),
    Case("linucb_readout", "shape", lambda: lib.linucb_readout(z(5, 3), LUCB()), "H"),
    Case("linucb_readout", "type", lambda: lib.linucb_readout(LPROMPT(), None), "construction"),
    Case("linucb_readout", "type", lambda: lib.linucb_readout(LPROMPT(), LUCB(), all_tokens="y"), "all_tokens"),
    Case("linucb_readout", "type", lambda: lib.linucb_readout(LPROMPT(), LUCB(), scores="y"), "scores"),
    Case("linucb_readout", "nonfinite", lambda: lib.linucb_readout(nan_at(LPROMPT()), LUCB()), "H"),
    Case("linucb_readout", "legit", lambda: lib.linucb_readout(LPROMPT(), LUCB(), all_tokens=True), None,
         lambda p: p.shape == (5, 3) and close(p, torch.full((5, 3), 1 / 3, dtype=F))),
    Case("linucb_default_momentum", "range", lambda: lib.linucb_default_momentum(2, 0.0, 10), "lam"),
    Case("linucb_default_momentum", "range", lambda: lib.linucb_default_momentum(0, 1.0, 10), "d"),
    Case("linucb_default_momentum", "range", lambda: lib.linucb_default_momentum(2, 1.0, 0), "horizon"),
    Case("linucb_default_momentum", "nonfinite", lambda: lib.linucb_default_momentum(2, float("inf"), 10), "lam"),
    Case("linucb_default_momentum", "range", lambda: lib.linucb_default_momentum(2, 1.0, 10, eta=-1.0), "eta"),
    Case("linucb_default_momentum", "legit", lambda: lib.linucb_default_momentum(2, 1.0, 10), None,
         lambda b: abs(b - (33 ** 0.5 - 1) / (33 ** 0.5 + 1)) < 1e-12),
    Case("sqrt_relu_coefficients", "range", lambda: lib.sqrt_relu_coefficients(1, 0.1, 1.0), "width"),
    Case("sqrt_relu_coefficients", "range", lambda: lib.sqrt_relu_coefficients(4, 0.0, 1.0), "u_min"),
    Case("sqrt_relu_coefficients", "range", lambda: lib.sqrt_relu_coefficients(4, 2.0, 1.0), "u_min"),
    Case("sqrt_relu_coefficients", "nonfinite", lambda: lib.sqrt_relu_coefficients(4, 0.1, NAN), "u_max"),
    Case("sqrt_relu_coefficients", "dtype", lambda: lib.sqrt_relu_coefficients(4, 0.1, 1.0, dtype=torch.int64),
         "dtype"),
    Case("sqrt_relu_coefficients", "legit", lambda: lib.sqrt_relu(torch.tensor([0.01, 1.0], dtype=F), *KNOTS()),
         None, lambda v: close(v, torch.tensor([0.1, 1.0], dtype=F), 1e-12)),
    Case("sqrt_relu", "nonfinite", lambda: lib.sqrt_relu(torch.tensor([NAN]), *KNOTS()), "u"),
    Case("sqrt_relu", "nonfinite", lambda: lib.sqrt_relu(z(2), nan_at(KNOTS()[0]), KNOTS()[1]), "knots"),
    Case("sqrt_relu", "dtype", lambda: lib.sqrt_relu(z(2), np.array(["a"] * 4), KNOTS()[1]), "knots"),
    Case("sqrt_relu", "shape", lambda: lib.sqrt_relu(z(2), KNOTS()[0], KNOTS()[1][:3]), "coefs"),
    Case("sqrt_relu", "shape", lambda: lib.sqrt_relu(z(2), z(2, 2), z(2, 2)), "knots"),
    Case("sqrt_relu", "empty", lambda: lib.sqrt_relu(z(2), z(0), z(0)), "knots"),
    Case("sqrt_relu", "overflow", lambda: lib.sqrt_relu(torch.tensor([1e308], dtype=F), KNOTS()[0],
                                                        1e10 * KNOTS()[1]), "u"),
    Case("sqrt_relu", "legit", lambda: lib.sqrt_relu(np.array([0.25, -1.0]), KNOTS()[0].numpy(), KNOTS()[1]), None,
         lambda v: v.shape == (2,) and float(v[1]) == 0.0 and 0.4 < float(v[0]) <= 0.5, note="numpy"),
    Case("transformer_linucb_expert", "type", lambda: lib.transformer_linucb_expert(TS()), "construction"),
    Case("transformer_linucb_expert", "legit", lambda: lib.transformer_linucb_expert(LUCB())(
        rl.LinearBandit(torch.zeros(1, 2, dtype=F), ARMS[None], 1.0), ACTS[None], REWS[None]), None,
        lambda p: p.shape == (1, 3) and close(p.sum(-1), torch.ones(1, dtype=F))),
    # ---------------------------------------------------------------- Thompson sampling (chapter 10)
    Case("thompson_layout", "range", lambda: lib.thompson_layout(2, 0), "n_arms"),
    Case("thompson_layout", "type", lambda: lib.thompson_layout(2, 2, nesterov=None), "nesterov"),
    Case("thompson_layout", "legit", lambda: lib.thompson_layout(2, 3), None,
         lambda L: L.size("m") == 3 and L.size("C") == 9),
    Case("thompson_construction", "range", lambda: lib.thompson_construction(2, 3, 2, sigma=0.0), "sigma"),
    Case("thompson_construction", "range", lambda: lib.thompson_construction(2, 3, 2, prior_std=-1.0),
         "prior_std"),
    Case("thompson_construction", "nonfinite", lambda: lib.thompson_construction(2, 3, 2, eta=NAN), "eta"),
    Case("thompson_construction", "range", lambda: lib.thompson_construction(2, 3, 0), "n_layers"),
    Case("thompson_construction", "range", lambda: lib.thompson_construction(2, 3, 2, momentum=-0.1), "momentum"),
    Case("thompson_construction", "dtype", lambda: lib.thompson_construction(2, 3, 2, dtype=torch.bool), "dtype"),
    Case("thompson_construction", "overflow", lambda: lib.thompson_construction(10, 60, 1), "n_arms",
         note="memory"),
    Case("thompson_construction", "legit", lambda: lib.thompson_readout(lib.thompson_forward(
        lib.linucb_prompt(ARMS, [], [], TS().layout), TS()), TS()), None,
        lambda mc: close(mc[0], z(3)) and close(mc[1], (1 - (2 / 3) ** 2) * ARMS @ ARMS.T), note="prior-2-steps"),
    Case("thompson_forward", "shape", lambda: lib.thompson_forward(z(4, 3), TS()), "H"),
    Case("thompson_forward", "nonfinite", lambda: lib.thompson_forward(nan_at(TPROMPT()), TS()), "H"),
    Case("thompson_forward", "type", lambda: lib.thompson_forward(TPROMPT(), LUCB()), "construction"),
    Case("thompson_forward", "overflow", lambda: lib.thompson_forward(1e200 * TPROMPT(), TS()), "H"),
    Case("thompson_forward", "legit", lambda: lib.thompson_forward(TPROMPT().numpy(), TS()), None,
         lambda H: H.shape == TPROMPT().shape),
    Case("thompson_readout", "shape", lambda: lib.thompson_readout(z(4, 3), TS()), "H"),
    Case("thompson_readout", "type", lambda: lib.thompson_readout(TPROMPT(), 1), "construction"),
    Case("thompson_readout", "type", lambda: lib.thompson_readout(TPROMPT(), TS(), all_tokens="no"), "all_tokens"),
    Case("thompson_readout", "nonfinite", lambda: lib.thompson_readout(nan_at(TPROMPT()), TS()), "H"),
    Case("thompson_readout", "legit", lambda: lib.thompson_readout(TPROMPT(), TS(), all_tokens=True), None,
         lambda mc: mc[0].shape == (5, 3) and mc[1].shape == (5, 3, 3)),
    Case("gaussian_argmax_probs", "shape", lambda: lib.gaussian_argmax_probs(z(3), z(2, 2), 10, 0), "cov"),
    Case("gaussian_argmax_probs", "nonfinite", lambda: lib.gaussian_argmax_probs(nan_at(z(3)), z(3, 3), 10, 0),
         "means"),
    Case("gaussian_argmax_probs", "range", lambda: lib.gaussian_argmax_probs(z(3), -torch.eye(3), 10, 0), "cov"),
    Case("gaussian_argmax_probs", "range", lambda: lib.gaussian_argmax_probs(z(3), torch.eye(3), 0, 0),
         "n_samples"),
    Case("gaussian_argmax_probs", "type", lambda: lib.gaussian_argmax_probs(z(3), torch.eye(3), 10, "g"),
         "generator"),
    Case("gaussian_argmax_probs", "empty", lambda: lib.gaussian_argmax_probs(z(0), z(0, 0), 10, 0), "means"),
    Case("newton_schulz_sqrt", "shape", lambda: lib.newton_schulz_sqrt(z(2, 3), 3, 1.0), "C"),
    Case("newton_schulz_sqrt", "nonfinite", lambda: lib.newton_schulz_sqrt(nan_at(z(2, 2)), 3, 1.0), "C"),
    Case("newton_schulz_sqrt", "range", lambda: lib.newton_schulz_sqrt(torch.eye(2, dtype=F), -1, 1.0), "n_iter"),
    Case("newton_schulz_sqrt", "range", lambda: lib.newton_schulz_sqrt(torch.eye(2, dtype=F), 3, 0.0), "scale"),
    Case("newton_schulz_sqrt", "legit", lambda: lib.newton_schulz_sqrt(torch.diag(torch.tensor(
        [0.25, 0.0, 0.81], dtype=F)), 12, 1.0), None,
         lambda R: R.shape == (13, 3, 3) and bool(torch.allclose(R[-1].diagonal(), torch.tensor(
             [0.5, 0.0, 0.9], dtype=F), atol=1e-10)), note="diagonal-root"),
    Case("relu_argmax_probs", "shape", lambda: lib.relu_argmax_probs(z(3), z(2, 2), z(4, 3), 0.1), "root"),
    Case("relu_argmax_probs", "shape", lambda: lib.relu_argmax_probs(z(3), z(3, 3), z(4, 2), 0.1), "draws"),
    Case("relu_argmax_probs", "nonfinite", lambda: lib.relu_argmax_probs(nan_at(z(3)), z(3, 3), z(4, 3), 0.1),
         "means"),
    Case("relu_argmax_probs", "range", lambda: lib.relu_argmax_probs(z(3), z(3, 3), z(4, 3), 0.0), "gamma"),
    Case("relu_argmax_probs", "empty", lambda: lib.relu_argmax_probs(z(0), z(0, 0), z(4, 0), 0.1), "means"),
    Case("relu_argmax_probs", "legit", lambda: lib.relu_argmax_probs(torch.tensor([0.0, 1.0, 0.2], dtype=F),
                                                                      z(3, 3), z(4, 3), 0.1), None,
         lambda p: bool(torch.allclose(p, torch.tensor([0.0, 1.0, 0.0], dtype=F))), note="no-noise-argmax"),
    Case("gaussian_argmax_probs", "batch", lambda: lib.gaussian_argmax_probs(z(2, 3), torch.eye(3).expand(4, 3, 3),
                                                                             10, 0), "batch"),
    Case("gaussian_argmax_probs", "overflow", lambda: lib.gaussian_argmax_probs(z(3), 1e308 * torch.eye(3, dtype=F),
                                                                                10, 0), "cov"),
    Case("gaussian_argmax_probs", "legit", lambda: lib.gaussian_argmax_probs(torch.tensor([0.0, 5.0]), z(2, 2),
                                                                             20, 1), None,
         lambda p: close(p, torch.tensor([0.0, 1.0]))),
    # ---------------------------------------------------------------- UCB-VI (chapter 10)
    Case("ucbvi_layout", "range", lambda: lib.ucbvi_layout(0, 2, 2, 2), "horizon"),
    Case("ucbvi_layout", "type", lambda: lib.ucbvi_layout(1, 2, 2.0, 2), "n_actions"),
    Case("ucbvi_layout", "legit", lambda: lib.ucbvi_layout(1, 2, 2, 2), None, lambda L: L.size("out") == 2),
    Case("ucbvi_construction", "range", lambda: lib.ucbvi_construction(1, 0, 2, 2), "n_states"),
    Case("ucbvi_construction", "range", lambda: lib.ucbvi_construction(1, 2, 2, 2, delta=0.0), "delta"),
    Case("ucbvi_construction", "range", lambda: lib.ucbvi_construction(1, 2, 2, 2, bonus_scale=-1.0), "bonus_scale"),
    Case("ucbvi_construction", "nonfinite", lambda: lib.ucbvi_construction(1, 2, 2, 2, delta=NAN), "delta"),
    Case("ucbvi_construction", "dtype", lambda: lib.ucbvi_construction(1, 2, 2, 2, dtype=torch.int64), "dtype"),
    Case("ucbvi_construction", "overflow", lambda: lib.ucbvi_construction(10, 10, 10, 100), "n_episodes",
         note="memory"),
    Case("ucbvi_construction", "legit", lambda: UC(), None,
         lambda c: c.n_blocks == 2 * 1 + 4 and c.embedding_dim == c.layout.dim and c.max_heads == 2,
         note="depth-2H+4"),
    Case("UCBVIConstruction", "legit", lambda: UC(), None,
         lambda c: isinstance(c, lib.UCBVIConstruction) and c.horizon == 1 and c.n_episodes == 2
         and c.max_heads >= 1 and c.n_blocks == len(c.blocks), note="properties"),
    Case("ucbvi_prompt", "range", lambda: lib.ucbvi_prompt(UH, US, UA, torch.tensor([0.5, 1.5], dtype=F), USN,
                                                          torch.tensor(0), torch.tensor(0), UC()), "r"),
    Case("ucbvi_prompt", "nonfinite", lambda: lib.ucbvi_prompt(UH, US, UA, nan_at(UR), USN, torch.tensor(0),
                                                              torch.tensor(0), UC()), "r"),
    Case("ucbvi_prompt", "range", lambda: lib.ucbvi_prompt(UH, torch.tensor([0, 2]), UA, UR, USN, torch.tensor(0),
                                                          torch.tensor(0), UC()), "s"),
    Case("ucbvi_prompt", "dtype", lambda: lib.ucbvi_prompt(UH, US, UA.double(), UR, USN, torch.tensor(0),
                                                          torch.tensor(0), UC()), "a"),
    Case("ucbvi_prompt", "shape", lambda: lib.ucbvi_prompt(UH, US, UA[:1], UR, USN, torch.tensor(0),
                                                          torch.tensor(0), UC()), "a"),
    Case("ucbvi_prompt", "range", lambda: lib.ucbvi_prompt(UH, US, UA, UR, USN, torch.tensor(1), torch.tensor(0),
                                                          UC()), "query_h"),
    Case("ucbvi_prompt", "batch", lambda: lib.ucbvi_prompt(UH, US, UA, UR, USN, torch.zeros(3, dtype=torch.long),
                                                          torch.zeros(2, dtype=torch.long), UC()), "batch"),
    Case("ucbvi_prompt", "type", lambda: lib.ucbvi_prompt(UH, US, UA, UR, USN, 0, 0, "c"), "construction"),
    Case("ucbvi_prompt", "dtype", lambda: lib.ucbvi_prompt(UH, US, UA, UR, USN, "a", 0, UC()), "query_h"),
    Case("ucbvi_prompt", "legit", lambda: lib.ucbvi_prompt(UH[:0], US[:0], UA[:0], UR[:0], USN[:0], 0, 1, UC()),
         None, lambda Z: Z.shape == (UC().layout.dim, 1), note="no-transitions"),
    Case("ucbvi_forward", "shape", lambda: lib.ucbvi_forward(z(5, 2), UC()), "Z"),
    Case("ucbvi_forward", "nonfinite", lambda: lib.ucbvi_forward(nan_at(UZ()), UC()), "Z"),
    Case("ucbvi_forward", "type", lambda: lib.ucbvi_forward(UZ(), LUCB()), "construction"),
    Case("ucbvi_forward", "overflow", lambda: lib.ucbvi_forward(1e300 * UZ(), UC()), "Z"),
    Case("ucbvi_forward", "legit", lambda: lib.ucbvi_readout(lib.ucbvi_forward(UZ(), UC()), UC()), None,
         lambda q: q.shape == (2,) and bool((q <= 1.0 + 1e-12).all()) and bool((q >= 0).all())),
    Case("ucbvi_readout", "shape", lambda: lib.ucbvi_readout(z(5, 2), UC()), "Z"),
    Case("ucbvi_readout", "type", lambda: lib.ucbvi_readout(UZ(), None), "construction"),
    Case("ucbvi_readout", "nonfinite", lambda: lib.ucbvi_readout(nan_at(UZ()), UC()), "Z"),
    Case("ucbvi_readout", "legit", lambda: lib.ucbvi_readout(UZ().numpy(), UC()), None,
         lambda q: close(q, z(2))),
    Case("ucbvi_q_table", "shape", lambda: lib.ucbvi_q_table(z(5, 2), UC()), "Z"),
    Case("ucbvi_q_table", "type", lambda: lib.ucbvi_q_table(UZ(), "c"), "construction"),
    Case("ucbvi_q_table", "nonfinite", lambda: lib.ucbvi_q_table(nan_at(UZ()), UC()), "Z"),
    Case("ucbvi_q_table", "legit", lambda: lib.ucbvi_q_table(lib.ucbvi_forward(UZ(), UC()), UC()), None,
         lambda Q: Q.shape == (1, 2, 2) and close(Q[0, 1], lib.ucbvi_readout(lib.ucbvi_forward(UZ(), UC()), UC()))),
    Case("ucbvi_transformer_planner", "type", lambda: lib.ucbvi_transformer_planner(None), "construction"),
    Case("ucbvi_transformer_planner", "range", lambda: lib.ucbvi_transformer_planner(UC())(
        UH[None], US[None], UA[None], UR[None] + 1, USN[None], 1), "r", note="call"),
    Case("ucbvi_transformer_planner", "legit", lambda: lib.ucbvi_transformer_planner(UC())(
        UH[None], US[None], UA[None], UR[None], USN[None], 1), None,
        lambda Q: Q.shape == (1, 1, 2, 2) and close(Q[0], lib.ucbvi_q_table(lib.ucbvi_forward(UZ(), UC()), UC()))),
]

EXEMPT = {
    "PENALTIES": "a constant: the tuple of ridge penalty names, takes no input",
    "RidgeLayer": "a plain data type (NamedTuple of Q, K, V) built by ridge_gd_construction; "
                  "ridge_forward validates its contents",
    "LinUCBConstruction": "a plain data type (NamedTuple) built by linucb_construction; the functions taking it "
                          "check its type",
    "ThompsonConstruction": "a plain data type (NamedTuple) built by thompson_construction; the functions taking "
                            "it check its type",
}
