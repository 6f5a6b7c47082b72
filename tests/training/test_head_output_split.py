"""head_output_split (chapter 11, section 2): the split of a multi-head layer's update over heads and blocks."""
import pytest
import torch

from icrl_lib import incontext as ic
from icrl_lib.training.head_output_split import head_output_split

DIST = ic.PromptDistribution(algorithm="actor-critic", alpha=1.0, beta=10.0)


def _batch():
    return ic.sample_prompt_batch(DIST, 32, torch.Generator().manual_seed(0))


def test_scaled_copies_carry_their_scale_with_no_residual():
    Ps, Vs = DIST.construction()
    P = torch.stack([Ps, Ps])
    V = torch.stack([0.3 * Vs, 0.7 * Vs])
    out = head_output_split(P, V, _batch(), DIST)
    for m, s in enumerate((0.3, 0.7)):
        for b in ("w", "theta"):
            assert out["fraction"][m][b] == pytest.approx(s, abs=1e-10)
            assert out["residual"][m][b] < 1e-10
            assert out["size"][m][b] == pytest.approx(s, abs=1e-10)
    assert max(out["layer_error"].values()) < 1e-10 and out["separation"] < 1e-10


def test_cancelling_heads_show_equal_residuals():
    Ps, Vs = DIST.construction()
    g = torch.Generator().manual_seed(1)
    R = 0.1 * torch.randn(Vs.shape, generator=g, dtype=torch.float64)
    out = head_output_split(torch.stack([Ps, Ps]), torch.stack([0.5 * Vs + R, 0.5 * Vs - R]), _batch(), DIST)
    assert max(out["layer_error"].values()) < 1e-10
    for b in ("w", "theta"):
        assert out["residual"][0][b] == pytest.approx(out["residual"][1][b], rel=1e-8)


def test_bad_shapes_raise():
    Ps, Vs = DIST.construction()
    with pytest.raises(ValueError, match="^P"):
        head_output_split(Ps, Vs, _batch(), DIST)
    with pytest.raises(ValueError, match="^dist"):
        head_output_split(Ps[None], Vs[None], _batch(), "sarsa")
