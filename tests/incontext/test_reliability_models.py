"""Reliability of the chapter-10/11 models: ridge minimiser conditions, divergence, int seeds, named batch errors."""
import pytest
import torch

from icrl_lib import incontext as ic

F64 = torch.float64


def test_ridge_solution_requires_a_minimiser():
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(6, 3, generator=g, dtype=F64), torch.randn(6, generator=g, dtype=F64)
    with pytest.raises(ValueError, match="lam must be >= 0"):
        ic.ridge_solution(X, y, -1.0)
    with pytest.raises(ValueError, match="lam > 0"):
        ic.ridge_solution(X[:2], y[:2], 0.0)          # n < d: singular
    # lam = 0 with full column rank: the least-squares solution
    assert torch.allclose(ic.ridge_solution(X, y, 0.0), torch.linalg.lstsq(X, y).solution, atol=1e-12)


def test_divergent_step_names_eta():
    X = torch.randn(5, 2, generator=torch.Generator().manual_seed(1), dtype=F64)
    with pytest.raises(ValueError, match="eta"):
        ic.ridge_gd_steps(X, torch.ones(5, dtype=F64), 1e3, 0.1, 300)


def test_int_seeds_equal_generators():
    dist = ic.PromptDistribution(n_states=2, n_actions=2, n_transitions=3)
    a = ic.sample_depth_batch(dist, 2, 2, 7)
    b = ic.sample_depth_batch(dist, 2, 2, torch.Generator().manual_seed(7))
    assert torch.equal(a.H, b.H) and torch.equal(a.target, b.target)
    assert torch.equal(ic.random_feature_tables(1, 2, 2, 3, 5),
                       ic.random_feature_tables(1, 2, 2, 3, torch.Generator().manual_seed(5)))


@pytest.mark.parametrize("call", [
    lambda: ic.ridge_gd_steps(torch.zeros(2, 4, 2), torch.zeros(3, 4), 0.1, 0.1, 1),
    lambda: ic.linucb_prompt(torch.zeros(2, 3, 2), torch.zeros(3, 4, dtype=torch.long), torch.zeros(3, 4)),
    lambda: ic.gaussian_argmax_probs(torch.zeros(2, 3), torch.eye(3).expand(4, 3, 3), 5, 0),
])
def test_mismatched_batches_raise_one_named_error(call):
    with pytest.raises(ValueError, match="batch dimensions do not broadcast"):
        call()
