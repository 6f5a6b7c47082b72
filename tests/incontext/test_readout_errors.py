"""incontext.readout_errors (chapter 2): the mask lemma's gap and the w_0-in-the-weights exercise."""
from __future__ import annotations

import torch

from icrl_lib.attention import linear_self_attention
from icrl_lib.incontext import (gd_construction, gd_step_prediction, mask_readout_gap, regression_prompt,
                                regression_readout, w0_start_error)
from icrl_lib.training import sample_regression_tasks

F64 = torch.float64


def test_mask_gap_matches_the_lemma():
    T = sample_regression_tasks(50, 10, 3, seed=1)
    Z = regression_prompt(T.X, T.y, T.x_query)
    P, V = gd_construction(3, 0.3)
    assert mask_readout_gap(Z, P, V) == 0.0
    Z[:, -1, -1] = 1.0  # a nonzero query label: gap = (1/N) * 1 * eta |x_q|^2
    predicted = float((0.3 / 10 * (T.x_query ** 2).sum(-1)).max())
    assert abs(mask_readout_gap(Z, P, V) - predicted) < 1e-12
    g = torch.Generator().manual_seed(0)
    Pr, Vr = torch.randn(4, 4, generator=g, dtype=F64), torch.randn(4, 4, generator=g, dtype=F64)
    a = regression_readout(linear_self_attention(Z, Pr, Vr))
    b = regression_readout(linear_self_attention(Z, Pr, Vr, mask=True))
    assert mask_readout_gap(Z, Pr, Vr) == float((a - b).abs().max())


def test_w0_start_error_is_zero_for_the_solution_and_not_for_the_plain_construction():
    T = sample_regression_tasks(200, 12, 3, seed=9)
    w0 = torch.tensor([0.5, -1.0, 2.0], dtype=F64)

    def solution(w0, eta):
        P, V = gd_construction(3, eta)
        V[3, :3] = -w0
        return P, V

    for mask in (True, False):
        assert w0_start_error(solution, T.X, T.y, T.x_query, w0, 0.4, mask=mask) < 1e-10
    plain = w0_start_error(lambda w0, eta: gd_construction(3, eta), T.X, T.y, T.x_query, w0, 0.4)
    # the plain construction adds the step from 0 to the starting slot w_0^T x_q
    expected = (T.x_query @ w0 + gd_step_prediction(T.X, T.y, T.x_query, 0.4)
                - gd_step_prediction(T.X, T.y, T.x_query, 0.4, w0=w0))
    assert abs(plain - float(expected.abs().max())) < 1e-10 and plain > 1e-2
