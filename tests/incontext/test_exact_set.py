"""icrl_lib.incontext.exact_set against the direct computations chapter 4 had."""
import numpy as np
import torch

from icrl_lib import incontext as ic
from icrl_lib.attention import linear_self_attention

F = torch.float64


def test_readout_change_matches_direct():
    dist = ic.PromptDistribution(n_states=2, n_actions=2)
    P, V = dist.construction()
    H = ic.sample_prompt_batch(dist, 4, 0).H
    rows = dist.layout.rows("w")
    dP, dV = ic.block_perturbation(dist.layout.dim, "P", dist.layout.data, dist.layout.param, 1)
    direct = (linear_self_attention(H, P + dP, V + dV, mask=True)[:, rows, -1]
              - linear_self_attention(H, P, V, mask=True)[:, rows, -1]).abs().max()
    assert abs(ic.readout_change(H, P, V, dP, dV, rows) - float(direct)) < 1e-14
    assert (dV == 0).all() and (dP[dist.layout.data, dist.layout.param] != 0).all()


def test_perturbation_table_roles():
    dist = ic.PromptDistribution(n_states=2, n_actions=2)
    P, V = dist.construction()
    L = dist.layout
    rng = np.random.default_rng(0)
    H = ic.sarsa_prompt(*(rng.normal(size=s) for s in [(8, 10, 4), (8, 10, 4), (8, 10), (8, 4)]))
    parts = {"data": L.data, "1": L.rows("one"), "w": L.rows("w")}
    table = ic.perturbation_table(H, P, V, parts, L.rows("w"), 0)
    assert len(table) == 18
    moving = {(m, a, b) for m, a, b, c1, c2 in table if max(c1, c2) > 1e-10}
    assert moving == {("P", "data", "1"), ("P", "data", "w"), ("V", "w", "data")}


def test_token_moments_span_and_richness():
    d = 3
    G = ic.one_hot_token_moments(d)
    assert G.shape == (27, 7, 7) and ic.span_rank(G) == d * d + 2 * d
    dist = ic.PromptDistribution(n_states=2, n_actions=2)
    dims = ic.moment_span_dims(dist, 200, torch.zeros(4, dtype=F), torch.Generator().manual_seed(0))
    assert dims["chained"] and dims["span_G"] == dims["span_W"] == dims["span_union"] == 24


def test_exact_set_point_is_exact_and_tangent_in_kernel():
    dist = ic.PromptDistribution(n_states=2, n_actions=2, n_transitions=20)
    batch = ic.sample_prompt_batch(dist, 40, torch.Generator().manual_seed(1))
    P, V = ic.exact_set_point(dist, -1.3, torch.Generator().manual_seed(2))
    out = linear_self_attention(batch.H, P, V, mask=True)[:, dist.output_rows, -1]
    assert float((out - batch.target).abs().max()) < 1e-10
    J = ic.readout_jacobian(batch.H, P, V, dist.output_rows, mask=True)
    T = ic.exact_set_tangent(dist, -1.3)
    assert float((J @ T.T).abs().max()) < 1e-9
    assert ic.span_rank(T) == ic.predicted_null_dimension(dist, "all") == 2 * 14**2 - ic.span_rank(J)


def test_scoreless_block_readout_is_a_polynomial():
    lam = np.arange(-6.0, 7.0)
    one = ic.scoreless_block_readout(lam, 1, 0)
    assert one.shape == (13,)
    assert np.abs(np.diff(one, 4)).max() / np.abs(one).max() < 1e-9
