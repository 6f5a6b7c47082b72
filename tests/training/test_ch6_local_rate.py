"""Chapter 6: the linear model of the local-rate theorem (training.linear_model_curve)."""
import math

import pytest
import torch

from icrl_lib.training import hessian_spectrum, linear_model_curve

F64 = torch.float64


def _quadratic_problem(seed=0, n=6, null=2):
    g = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=F64))
    lam = torch.cat([torch.zeros(null, dtype=F64), torch.linspace(0.2, 1.0, n - null, dtype=F64)])
    H = Q @ torch.diag(lam) @ Q.T
    return H, torch.randn(n, generator=g, dtype=F64)


def test_linear_model_is_exact_for_a_quadratic_loss():
    # independent computation: plain gradient descent on L(x) = x^T H x / 2, step by step
    H, x0 = _quadratic_problem()
    lr, K = 1.2, 60
    xs, losses = [x0], [0.5 * x0 @ H @ x0]
    for _ in range(K):
        xs.append(xs[-1] - lr * H @ xs[-1])
        losses.append(0.5 * xs[-1] @ H @ xs[-1])
    spec = hessian_spectrum(H)
    coef, curve = linear_model_curve(spec, xs[0], xs[-1], lr, K, torch.arange(K + 1))
    assert spec.null_dim == 2 and coef.shape == (4,)
    torch.testing.assert_close(curve, torch.stack(losses), rtol=1e-10, atol=1e-14)
    # the coefficients are the normal components of x0 - x_inf (x_inf = projection of x0 onto the null space)
    nz = spec.eigenvalues > spec.threshold
    torch.testing.assert_close(coef, spec.eigenvectors[:, nz].T @ x0, rtol=1e-8, atol=1e-12)


def test_linear_model_slope_tends_to_the_predicted_one():
    H, x0 = _quadratic_problem(seed=1)
    lr, K = 1.0, 400
    spec = hessian_spectrum(H)
    x = x0.clone()
    for _ in range(K):
        x = x - lr * H @ x
    _, curve = linear_model_curve(spec, x0, x, lr, K, torch.tensor([K - 1, K]))
    slope = float(torch.log(curve[1] / curve[0]))
    assert math.isclose(slope, 2 * math.log(1 - lr * spec.lambda_min), rel_tol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    ({"spectrum": "no"}, "spectrum"),
    ({"theta0": torch.zeros(5)}, "theta0"),
    ({"lr": -1.0}, "lr"),
    ({"lr": 5.0}, "lr"),
    ({"n_steps": 0}, "n_steps"),
    ({"steps": torch.tensor([-1, 2])}, "steps"),
])
def test_linear_model_bad_input(kwargs, match):
    H, x0 = _quadratic_problem()
    args = {"spectrum": hessian_spectrum(H), "theta0": x0, "thetaK": 0.5 * x0, "lr": 1.0, "n_steps": 10,
            "steps": torch.arange(3)}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        linear_model_curve(**args)
