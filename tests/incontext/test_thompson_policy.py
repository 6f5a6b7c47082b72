"""Newton-Schulz square root and the ReLU argmax network of chapter 10 ([ours])."""
import torch

from icrl_lib.incontext import gaussian_argmax_probs, newton_schulz_sqrt, relu_argmax_probs

F64 = torch.float64


def test_newton_schulz_converges_to_the_psd_root_also_when_singular():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(6, 5, 2, generator=g, dtype=F64)            # rank 2 in dimension 5
    C = X @ X.transpose(-1, -2)
    scale = float(torch.linalg.eigvalsh(C).amax()) * 1.01
    R = newton_schulz_sqrt(C, 12, scale)
    assert float((R[-1] @ R[-1].transpose(-1, -2) - C).abs().max()) < 1e-8
    errs = [float((R[k] @ R[k].transpose(-1, -2) - C).abs().max()) for k in range(0, 9, 2)]
    assert all(b < a for a, b in zip(errs, errs[1:]))


def test_relu_argmax_probs_matches_monte_carlo():
    g = torch.Generator().manual_seed(1)
    m = torch.randn(8, 4, generator=g, dtype=F64)
    X = torch.randn(8, 4, 4, generator=g, dtype=F64)
    C = X @ X.transpose(-1, -2)
    root = torch.linalg.cholesky(C)
    z = torch.randn(20000, 4, generator=g, dtype=F64)
    p = relu_argmax_probs(m, root, z, 1e-4)
    ref = gaussian_argmax_probs(m, C, 20000, 2)
    assert float((0.5 * (p - ref).abs().sum(-1)).max()) < 0.03
    assert torch.allclose(p.sum(-1), torch.ones(8, dtype=F64))
