"""Chapter 8, section 7: the depth errors against the algorithms they implement."""
import torch

from icrl_lib.incontext import linear_td_depth_errors, softmax_td_depth_errors
from icrl_lib.rl import batch_td_evaluation, weighted_softmax_td

F = torch.float64


def _data():
    g = torch.Generator().manual_seed(0)
    return torch.randn(4, 9, 3, generator=g, dtype=F) / 2, torch.randn(4, 8, generator=g, dtype=F), \
        torch.randn(4, generator=g, dtype=F)


def test_linear_errors_are_batch_td():
    x, r, v = _data()
    w = batch_td_evaluation(x[:, :-1], x[:, 1:], r, 0.5, 0.5, 4)
    want = ((w * x[:, -1:, :]).sum(-1) - v.unsqueeze(-1)).abs().mean(0)
    got = linear_td_depth_errors(x, r, v, 0.5, 4, 0.5)
    assert got.shape == (5,) and torch.allclose(got, want, atol=1e-10)


def test_softmax_errors_are_weighted_softmax_td():
    x, r, v = _data()
    want = (weighted_softmax_td(x * 2.0, r, 0.5, 1.0, 3)[..., -1] - v.unsqueeze(-1)).abs().mean(0)
    assert torch.allclose(softmax_td_depth_errors(x, r, v, 0.5, 3, beta=4.0), want, atol=1e-10)
