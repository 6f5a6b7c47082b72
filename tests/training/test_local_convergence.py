"""Chapter 6: local_convergence and mode_energies against a direct computation with the gradient-flow
primitives (the code the chapter had), on a small SARSA distribution."""
import torch

from icrl_lib.incontext import PromptDistribution, parameter_roles, sample_prompt_batch, select_mask
from icrl_lib.training import (fit_log_slope, flat_entries, gradient_descent, hessian_spectrum, linear_model_curve,
                               local_convergence, loss_hessian, mode_energies, predicted_log_loss_slope,
                               query_moments)

F64 = torch.float64


def test_matches_the_direct_computation():
    dist = PromptDistribution(n_states=2, n_actions=2, n_transitions=8)
    qm = query_moments(sample_prompt_batch(dist, 32, torch.Generator().manual_seed(0)))
    Ps, Vs = dist.construction()
    g = torch.Generator().manual_seed(1)
    P = Ps + 0.05 * torch.randn(Ps.shape, generator=g, dtype=F64)
    V = Vs + 0.05 * torch.randn(Vs.shape, generator=g, dtype=F64)
    run = local_convergence(P, V, qm, dist, n_steps=80, log_every=4)
    # direct: zero the query pair, step 1.5 / lambda_max over the active pair
    q = parameter_roles(dist)["query"]
    P0, V0 = P.clone(), V.clone()
    P0[q[0]], V0[q[1]] = 0.0, 0.0
    act = select_mask(dist, "active")
    rows = dist.output_rows
    eta = 1.5 / hessian_spectrum(loss_hessian(P0, V0, qm, rows, act)).lambda_max
    gd = gradient_descent(P0, V0, qm, rows, eta, 80, log_every=4, dist=dist)
    spec = hessian_spectrum(loss_hessian(gd.P, gd.V, qm, rows, act))
    late = gd.steps >= 60
    assert run.eta == eta and torch.equal(run.P0, P0) and torch.equal(run.gd.loss, gd.loss)
    assert run.predicted == predicted_log_loss_slope(spec.lambda_min, eta)
    assert run.measured == fit_log_slope(gd.steps[late], gd.loss[late])
    assert torch.all(run.gd.P[q[0]] == 0) and torch.all(run.gd.V[q[1]] == 0)
    assert run.gd.loss[-1] < run.gd.loss[0]
    m = mode_energies(run)
    coef, curve = linear_model_curve(spec, flat_entries(P0, V0, act), flat_entries(gd.P, gd.V, act), eta, 80,
                                     gd.steps)
    torch.testing.assert_close(m.coef, coef)
    torch.testing.assert_close(m.curve, curve)
    lam = spec.eigenvalues[spec.eigenvalues > spec.threshold]
    torch.testing.assert_close(m.energy, 0.5 * lam * coef ** 2)
    torch.testing.assert_close(m.energy.sum(), curve[0])
