"""The constructed softmax transformer is weighted softmax TD, layer by layer (chapter 8)."""
import pytest
import torch

from icrl_lib.incontext import (softmax_td_construction, softmax_td_forward, softmax_td_prompt, softmax_td_readout,
                                softmax_td_rows)
from icrl_lib.rl import weighted_softmax_td

F64 = torch.float64


@pytest.mark.parametrize("form", ["shift", "two-heads"])
def test_construction_equals_algorithm_random_sizes(form):
    g = torch.Generator().manual_seed(0)
    for _ in range(12):
        n = int(torch.randint(1, 30, (1,), generator=g))
        d = int(torch.randint(1, 7, (1,), generator=g))
        L = int(torch.randint(1, 31, (1,), generator=g))
        gamma, alpha = float(torch.rand((), generator=g)) * 0.99, 0.2 + float(torch.rand((), generator=g))
        x = torch.rand(2, n + 1, d, generator=g, dtype=F64) * 2 - 1
        r = torch.rand(2, n, generator=g, dtype=F64) * 2 - 1
        Zs = softmax_td_forward(softmax_td_prompt(x, r, form=form), L, gamma, alpha, form=form, return_all=True)
        want = weighted_softmax_td(x, r, gamma, alpha, L)
        assert float((softmax_td_readout(Zs) - want).abs().max()) < 1e-10


def test_forms_agree_and_v0():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(9, 3, generator=g, dtype=F64)
    r = torch.rand(8, generator=g, dtype=F64)
    v0 = torch.randn(9, generator=g, dtype=F64)
    a = softmax_td_readout(softmax_td_forward(softmax_td_prompt(x, r, 0.7, v0), 5, 0.7, 0.9))
    b = softmax_td_readout(softmax_td_forward(softmax_td_prompt(x, r, 0.7, v0, form="two-heads"), 5, 0.7, 0.9,
                                              form="two-heads"))
    want = weighted_softmax_td(x, r, 0.7, 0.9, 5, v0=v0)[-1]
    assert torch.allclose(a, want, atol=1e-12) and torch.allclose(b, want, atol=1e-12)


def test_prompt_layout_and_construction_blocks():
    x = torch.arange(6, dtype=F64).reshape(3, 2)
    r = torch.tensor([1.0, 2.0], dtype=F64)
    Z = softmax_td_prompt(x, r)
    assert Z.shape == (5, 3)
    assert torch.equal(Z[:2], x.T) and torch.equal(Z[2], torch.tensor([1.0, 2.0, 0.0], dtype=F64))
    assert torch.equal(Z[3:], torch.zeros(2, 3, dtype=F64))
    Z2 = softmax_td_prompt(x, r, form="two-heads")
    assert torch.equal(Z2[2:4, :2], x[1:].T) and torch.equal(Z2[2:4, 2], torch.zeros(2, dtype=F64))
    rows = softmax_td_rows(2, "two-heads")
    assert (rows["R"], rows["tgt"], rows["cur"], rows["D"]) == (4, 5, 6, 7)
    con = softmax_td_construction(2, 0.9, 0.5)
    (A, V), = con.heads
    assert con.shift == (4, 3, 0.9)
    assert torch.equal(A, torch.diag(torch.tensor([1.0, 1.0, 0, 0, 0], dtype=F64)))
    assert torch.equal(V[4], torch.tensor([0, 0, 0.5, 0.5, -0.5], dtype=F64)) and not V[:4].any()


def test_stable_with_large_scaled_one_hot_features():
    states = torch.tensor([0, 1, 2, 1, 0, 2, 0])
    x = torch.eye(3, dtype=F64)[states] * 1000.0 ** 0.5
    r = torch.ones(6, dtype=F64)
    out = softmax_td_readout(softmax_td_forward(softmax_td_prompt(x, r), 10, 0.9, 1.0))
    assert torch.isfinite(out).all()
    assert torch.allclose(out, weighted_softmax_td(x, r, 0.9, 1.0, 10)[-1], atol=1e-10)


def test_bad_input():
    x, r = torch.zeros(4, 2), torch.zeros(3)
    with pytest.raises(ValueError, match="^rewards"):
        softmax_td_prompt(x, torch.zeros(4))
    with pytest.raises(ValueError, match="^form"):
        softmax_td_prompt(x, r, form="three-heads")
    with pytest.raises(ValueError, match="^gamma"):
        softmax_td_prompt(x, r, v0=torch.zeros(4))
    with pytest.raises(ValueError, match="^Z"):
        softmax_td_forward(torch.zeros(6, 4), 2, 0.9, 1.0, form="two-heads")
    with pytest.raises(ValueError, match="^n_layers"):
        softmax_td_forward(softmax_td_prompt(x, r), 0, 0.9, 1.0)
    with pytest.raises(ValueError, match="^alpha"):
        softmax_td_construction(2, 0.9, "a")
