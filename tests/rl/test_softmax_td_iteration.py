"""The matrix form of weighted softmax TD (chapter 8) against the algorithm and the code chapter 8 had."""
import math

import torch

from icrl_lib.rl import (boyan_chain, certainty_equivalence_limit, empirical_kernel_matrices, iteration_radius,
                         layers_needed, linear_td_iteration_radius, matrix_form_path, sample_mrp_trajectory,
                         tabular_limit_gap, weighted_softmax_td)

F = torch.float64


def _traj(n=80, seed=3, S=5):
    return sample_mrp_trajectory(boyan_chain(S, gamma=0.8, seed=seed), n=n, seed=seed)


def test_matrix_form_path_is_the_algorithm_on_the_columns():
    st, rw = _traj()
    feats = torch.randn(5, 2, generator=torch.Generator().manual_seed(0), dtype=F)
    path, counts = matrix_form_path(st, rw, feats, 0.8, 6, alpha=0.7)
    want = weighted_softmax_td(feats[st], rw, 0.8, 0.7, 6)
    assert torch.allclose(path[:, st], want, atol=1e-12)
    assert counts.sum() == len(rw)


def test_iteration_radius_matches_the_eigenvalues():
    st, rw = _traj()
    feats = torch.eye(5, dtype=F) * 1.5
    M, P, _, _ = empirical_kernel_matrices(st, rw, feats)
    I = torch.eye(5, dtype=F)
    want = torch.linalg.eigvals(I - 0.5 * M @ (I - 0.8 * P)).abs().max()
    assert abs(float(iteration_radius(st, feats, 0.8, alpha=0.5)) - float(want)) < 1e-12


def test_certainty_equivalence_is_the_limit_and_a_fixed_point():
    st, rw = _traj(n=300)
    v_ce = certainty_equivalence_limit(st, rw, 5, 0.8)
    path, _ = matrix_form_path(st, rw, torch.eye(5, dtype=F), 0.8, 400)
    assert torch.allclose(path[-1], v_ce, atol=1e-8)


def test_layers_needed_and_tabular_gap():
    rel = torch.tensor([[1.0, 0.1, 1e-4, 2e-3, 1e-4], [1.0, 1e-4, 1e-5, 1e-6, 1e-7]], dtype=F)
    assert layers_needed(rel, 1e-3).tolist() == [4.0, 1.0]
    st, rw = _traj()
    gaps = tabular_limit_gap(st, rw, 5, 0.8, [0.1, 1.0, 1000.0], 5)
    assert gaps[0] > gaps[1] > gaps[2] and float(gaps[2]) < 1e-10


def test_linear_td_iteration_radius():
    x = torch.randn(3, 20, 2, generator=torch.Generator().manual_seed(1), dtype=F)
    A = x[:, :-1].transpose(1, 2) @ (x[:, :-1] - 0.5 * x[:, 1:]) / 19
    want = torch.linalg.eigvals(torch.eye(2, dtype=F) - 2.0 * A).abs().amax(-1)
    got = linear_td_iteration_radius(x[:, :-1], x[:, 1:], 0.5, 2.0)
    assert torch.allclose(got, want) and not math.isnan(float(got.sum()))
