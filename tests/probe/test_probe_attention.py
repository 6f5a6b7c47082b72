"""Bad-input probe of icrl_lib.attention (see _probe.py)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from icrl_lib import attention as lib

from ._probe import Case, collect, params, run_case

F64 = torch.float64
NAN = float("nan")


def _z(*shape):
    return torch.zeros(*shape, dtype=F64)


def _r(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def _nan(t, idx=(0,)):
    t = t.clone()
    t[idx] = NAN
    return t


H3 = _r(3, 5)                       # D = 3, N + 1 = 5
M3 = 0.1 * _r(3, 3, seed=1)
HEADS = 0.1 * _r(2, 3, 3, seed=2)   # two heads
BIG = 1e200 * torch.ones(3, 5, dtype=F64)
ONE3 = torch.eye(3, dtype=F64)


def _lt(**kw):
    return lib.LinearTransformer(3, 2, dtype=F64, **kw)


def _st(**kw):
    return lib.SoftmaxTransformer(3, 2, dtype=F64, **kw)


def _close(a, b, tol=1e-12):
    return float((torch.as_tensor(a) - torch.as_tensor(b)).detach().abs().max()) < tol


CASES = [
    # --- linear_self_attention
    Case("linear_self_attention", "shape", lambda: lib.linear_self_attention(H3, _z(4, 4), M3), "P"),
    Case("linear_self_attention", "shape", lambda: lib.linear_self_attention(_z(3), M3, M3), "H"),
    Case("linear_self_attention", "dtype", lambda: lib.linear_self_attention(np.array([["a"]]), M3, M3), "H"),
    Case("linear_self_attention", "nonfinite", lambda: lib.linear_self_attention(_nan(H3), M3, M3), "H"),
    Case("linear_self_attention", "nonfinite", lambda: lib.linear_self_attention(H3, M3, _nan(M3)), "V"),
    Case("linear_self_attention", "empty", lambda: lib.linear_self_attention(_z(3, 1), M3, M3), "H"),
    Case("linear_self_attention", "batch", lambda: lib.linear_self_attention(_r(2, 3, 5), _r(4, 3, 3), M3),
         "batch"),
    Case("linear_self_attention", "type", lambda: lib.linear_self_attention(H3, M3, M3, mask="no"), "mask"),
    Case("linear_self_attention", "shape", lambda: lib.linear_self_attention(H3, M3, M3, mask=_z(4, 4)), "mask"),
    Case("linear_self_attention", "overflow", lambda: lib.linear_self_attention(BIG, ONE3, ONE3), "H"),
    Case("linear_self_attention", "legit", lambda: lib.linear_self_attention(H3.numpy(), M3, M3),
         None, lambda out: _close(out, lib.lsa_unchecked(H3, M3, M3)), note="numpy"),
    # --- apply_layers
    Case("apply_layers", "empty", lambda: lib.apply_layers(H3, []), "layers"),
    Case("apply_layers", "type", lambda: lib.apply_layers(H3, 5), "layers"),
    Case("apply_layers", "type", lambda: lib.apply_layers(H3, [M3]), "layers"),
    Case("apply_layers", "shape", lambda: lib.apply_layers(H3, [(M3, _z(2, 2))]), "V"),
    Case("apply_layers", "nonfinite", lambda: lib.apply_layers(_nan(H3), [(M3, M3)]), "H"),
    Case("apply_layers", "type", lambda: lib.apply_layers(H3, [(M3, M3)], mask=1), "mask"),
    Case("apply_layers", "overflow", lambda: lib.apply_layers(BIG, [(ONE3, ONE3)]), "H"),
    Case("apply_layers", "legit", lambda: lib.apply_layers(H3, [(M3, M3), (M3, M3)]), None,
         lambda out: _close(out, lib.lsa_unchecked(lib.lsa_unchecked(H3, M3, M3), M3, M3))),
    # --- lsa_unchecked: no checks by design; its result is the checked layer's
    Case("lsa_unchecked", "legit", lambda: lib.lsa_unchecked(H3, M3, M3, mask=True), None,
         lambda out: _close(out, lib.linear_self_attention(H3, M3, M3, mask=True))),
    # --- LinearTransformer
    Case("LinearTransformer", "range", lambda: lib.LinearTransformer(0, 2), "dim"),
    Case("LinearTransformer", "type", lambda: lib.LinearTransformer(3.0, 2), "dim"),
    Case("LinearTransformer", "range", lambda: lib.LinearTransformer(3, 0), "n_layers"),
    Case("LinearTransformer", "type", lambda: lib.LinearTransformer(3, 2, shared="no"), "shared"),
    Case("LinearTransformer", "type", lambda: lib.LinearTransformer(3, 2, mask="no"), "mask"),
    Case("LinearTransformer", "range", lambda: lib.LinearTransformer(3, 2, init_gain=-1.0), "init_gain"),
    Case("LinearTransformer", "nonfinite", lambda: lib.LinearTransformer(3, 2, init_gain=NAN), "init_gain"),
    Case("LinearTransformer", "dtype", lambda: lib.LinearTransformer(3, 2, dtype=torch.int64), "dtype"),
    Case("LinearTransformer", "type", lambda: lib.LinearTransformer(3, 2, seed="a"), "seed"),
    Case("LinearTransformer", "legit", lambda: lib.LinearTransformer(3, 2, seed=torch.Generator().manual_seed(4)),
         None, lambda m: torch.equal(m.P, lib.LinearTransformer(3, 2, seed=4).P), note="generator-seed"),
    Case("LinearTransformer", "shape", lambda: _lt()(_z(4, 5)), "Z", note="forward"),
    Case("LinearTransformer", "empty", lambda: _lt()(_z(3, 1)), "Z", note="forward-N0"),
    Case("LinearTransformer", "nonfinite", lambda: _lt()(_nan(H3)), "Z", note="forward"),
    Case("LinearTransformer", "dtype", lambda: _lt()(np.array([["a"]])), "Z", note="forward"),
    Case("LinearTransformer", "overflow", lambda: lib.LinearTransformer.from_layers([(ONE3, ONE3)])(BIG), "Z",
         note="forward"),
    Case("LinearTransformer", "legit", lambda: _lt()(H3.numpy()), None,
         lambda out: out.shape == (3, 5) and bool(torch.isfinite(out).all()), note="forward-numpy"),
    Case("LinearTransformer", "empty", lambda: lib.LinearTransformer.from_layers([]), "layers", note="from_layers"),
    Case("LinearTransformer", "type", lambda: lib.LinearTransformer.from_layers([M3]), "layers", note="from_layers"),
    Case("LinearTransformer", "shape", lambda: lib.LinearTransformer.from_layers([(M3, _z(2, 2))]), "layers",
         note="from_layers"),
    Case("LinearTransformer", "nonfinite", lambda: lib.LinearTransformer.from_layers([(_nan(M3), M3)]), "layers",
         note="from_layers"),
    Case("LinearTransformer", "type", lambda: lib.LinearTransformer.from_layers([(M3, M3)], mask="yes"), "mask",
         note="from_layers"),
    Case("LinearTransformer", "legit", lambda: lib.LinearTransformer.from_layers([(M3, 2 * M3)]).layer_params(),
         None, lambda lp: len(lp) == 1 and torch.equal(lp[0][1], 2 * M3), note="layer_params"),
    # --- softmax_attention
    Case("softmax_attention", "shape", lambda: lib.softmax_attention(H3, _z(2, 2), M3), "A"),
    Case("softmax_attention", "empty", lambda: lib.softmax_attention(_z(3, 1), M3, M3), "Z"),
    Case("softmax_attention", "nonfinite", lambda: lib.softmax_attention(_nan(H3), M3, M3), "Z"),
    Case("softmax_attention", "dtype", lambda: lib.softmax_attention(H3, np.array([["a"]]), M3), "A"),
    Case("softmax_attention", "batch", lambda: lib.softmax_attention(_r(2, 3, 5), M3, _r(3, 3, 3)), "batch"),
    Case("softmax_attention", "overflow", lambda: lib.softmax_attention(BIG, ONE3, ONE3), "Z"),
    Case("softmax_attention", "overflow", lambda: lib.softmax_attention(_z(1, 100_001), _z(1, 1), _z(1, 1)), "Z",
         note="memory"),
    Case("softmax_attention", "legit", lambda: lib.softmax_attention(H3, 1e3 * ONE3, M3), None,
         lambda out: bool(torch.isfinite(out).all()), note="large-logits"),
    # --- softmax_attention_unchecked
    Case("softmax_attention_unchecked", "legit", lambda: lib.softmax_attention_unchecked(H3, M3, M3), None,
         lambda out: _close(out, lib.softmax_attention(H3, M3, M3))),
    # --- column_shift
    Case("column_shift", "dtype", lambda: lib.column_shift(np.zeros((3, 4)).astype(str), 0, 1, 1.0), "Z"),
    Case("column_shift", "nonfinite", lambda: lib.column_shift(_nan(H3), 0, 1, 1.0), "Z"),
    Case("column_shift", "shape", lambda: lib.column_shift(_z(3), 0, 1, 1.0), "Z"),
    Case("column_shift", "range", lambda: lib.column_shift(H3, 3, 1, 1.0), "from_row"),
    Case("column_shift", "range", lambda: lib.column_shift(H3, 0, -1, 1.0), "to_row"),
    Case("column_shift", "type", lambda: lib.column_shift(H3, 0.5, 1, 1.0), "from_row"),
    Case("column_shift", "nonfinite", lambda: lib.column_shift(H3, 0, 1, NAN), "scale"),
    Case("column_shift", "type", lambda: lib.column_shift(H3, 0, 1, "1"), "scale"),
    Case("column_shift", "legit", lambda: lib.column_shift(H3.numpy(), 0, 2, 2.0), None,
         lambda out: torch.equal(out[2, :-1], 2.0 * H3[0, 1:]) and float(out[2, -1]) == 0.0
         and torch.equal(out[:2], H3[:2]), note="numpy"),
    # --- SoftmaxTransformer
    Case("SoftmaxTransformer", "range", lambda: lib.SoftmaxTransformer(0, 1), "dim"),
    Case("SoftmaxTransformer", "range", lambda: lib.SoftmaxTransformer(3, 1, n_heads=0), "n_heads"),
    Case("SoftmaxTransformer", "type", lambda: lib.SoftmaxTransformer(3, 1, shared="no"), "shared"),
    Case("SoftmaxTransformer", "range", lambda: lib.SoftmaxTransformer(3, 1, shift=(0, 3, 1.0)), "shift"),
    Case("SoftmaxTransformer", "type", lambda: lib.SoftmaxTransformer(3, 1, shift=(0, 1)), "shift"),
    Case("SoftmaxTransformer", "nonfinite", lambda: lib.SoftmaxTransformer(3, 1, shift=(0, 1, NAN)), "shift"),
    Case("SoftmaxTransformer", "shape", lambda: lib.SoftmaxTransformer(3, 1, param_masks={"A": _z(2, 2)}),
         "param_masks"),
    Case("SoftmaxTransformer", "type", lambda: lib.SoftmaxTransformer(3, 1, param_masks=[1]), "param_masks"),
    Case("SoftmaxTransformer", "range", lambda: lib.SoftmaxTransformer(3, 1, init_scale=-0.1), "init_scale"),
    Case("SoftmaxTransformer", "type", lambda: lib.SoftmaxTransformer(3, 1, generator="x"), "generator"),
    Case("SoftmaxTransformer", "dtype", lambda: lib.SoftmaxTransformer(3, 1, dtype=torch.int32), "dtype"),
    Case("SoftmaxTransformer", "shape", lambda: _st()(_z(4, 5)), "Z", note="forward"),
    Case("SoftmaxTransformer", "empty", lambda: _st()(_z(3, 1)), "Z", note="forward-N0"),
    Case("SoftmaxTransformer", "shape", lambda: _st()(_z(5)), "Z", note="forward-1d"),
    Case("SoftmaxTransformer", "nonfinite", lambda: _st()(_nan(H3)), "Z", note="forward"),
    Case("SoftmaxTransformer", "type", lambda: _st()(H3, return_all="yes"), "return_all", note="forward"),
    Case("SoftmaxTransformer", "overflow", lambda: lib.SoftmaxTransformer.from_heads([(ONE3, ONE3)], 1)(BIG), "Z",
         note="forward"),
    Case("SoftmaxTransformer", "legit", lambda: _st()(H3.numpy()), None,
         lambda out: _close(out, _st()(H3)), note="forward-numpy"),
    Case("SoftmaxTransformer", "empty", lambda: lib.SoftmaxTransformer.from_heads([], 1), "heads", note="from_heads"),
    Case("SoftmaxTransformer", "shape", lambda: lib.SoftmaxTransformer.from_heads([(M3, _z(2, 2))], 1), "heads",
         note="from_heads"),
    Case("SoftmaxTransformer", "type", lambda: lib.SoftmaxTransformer.from_heads([M3], 1), "heads",
         note="from_heads"),
    Case("SoftmaxTransformer", "range", lambda: lib.SoftmaxTransformer.from_heads([(M3, M3)], 0), "n_layers",
         note="from_heads"),
    Case("SoftmaxTransformer", "range", lambda: _st(shared=False).layer_params(2), "layer", note="layer_params"),
    Case("SoftmaxTransformer", "legit", lambda: lib.SoftmaxTransformer.from_heads([(M3, 2 * M3)], 2), None,
         lambda m: _close(m(H3), lib.softmax_attention(lib.softmax_attention(H3, M3, 2 * M3), M3, 2 * M3)),
         note="from_heads"),
    # --- relu_attention
    Case("relu_attention", "shape", lambda: lib.relu_attention(H3, _z(2, 2), M3, M3), "Q"),
    Case("relu_attention", "shape", lambda: lib.relu_attention(H3, HEADS, HEADS[:1], HEADS), "heads"),
    Case("relu_attention", "nonfinite", lambda: lib.relu_attention(_nan(H3), M3, M3, M3), "H"),
    Case("relu_attention", "nonfinite", lambda: lib.relu_attention(H3, M3, M3, _nan(M3)), "V"),
    Case("relu_attention", "dtype", lambda: lib.relu_attention(np.array([["a"]]), M3, M3, M3), "H"),
    Case("relu_attention", "empty", lambda: lib.relu_attention(_z(3, 0), M3, M3, M3), "H"),
    Case("relu_attention", "batch", lambda: lib.relu_attention(_r(2, 3, 5), _r(3, 1, 3, 3), M3, M3), "batch"),
    Case("relu_attention", "type", lambda: lib.relu_attention(H3, M3, M3, M3, causal="no"), "causal"),
    Case("relu_attention", "overflow", lambda: lib.relu_attention(BIG, ONE3, ONE3, ONE3), "H"),
    Case("relu_attention", "overflow", lambda: lib.relu_attention(_z(1, 100_000), _z(1, 1), _z(1, 1), _z(1, 1)),
         "H", note="memory"),
    Case("relu_attention", "legit", lambda: lib.relu_attention(H3, M3, M3, M3, causal=np.bool_(False)), None,
         lambda out: _close(out, lib.relu_attention_unchecked(H3, M3[None], M3[None], M3[None], causal=False)),
         note="numpy-bool"),
    # --- relu_attention_unchecked
    Case("relu_attention_unchecked", "legit", lambda: lib.relu_attention_unchecked(H3, HEADS, HEADS, HEADS), None,
         lambda out: _close(out, lib.relu_attention(H3, HEADS, HEADS, HEADS))),
    # --- relu_mlp
    Case("relu_mlp", "shape", lambda: lib.relu_mlp(H3, _z(4, 2), _z(3, 4)), "W1"),
    Case("relu_mlp", "shape", lambda: lib.relu_mlp(H3, _z(4, 3), _z(3, 5)), "W2"),
    Case("relu_mlp", "shape", lambda: lib.relu_mlp(H3, _z(4, 3), _z(3, 4), _z(3)), "b1"),
    Case("relu_mlp", "nonfinite", lambda: lib.relu_mlp(H3, _nan(_z(4, 3)), _z(3, 4)), "W1"),
    Case("relu_mlp", "dtype", lambda: lib.relu_mlp(H3, _z(4, 3), np.array([["a"] * 4] * 3)), "W2"),
    Case("relu_mlp", "empty", lambda: lib.relu_mlp(_z(3, 0), _z(4, 3), _z(3, 4)), "H"),
    Case("relu_mlp", "batch", lambda: lib.relu_mlp(_r(2, 3, 5), _z(3, 4, 3), _z(3, 4)), "batch"),
    Case("relu_mlp", "overflow", lambda: lib.relu_mlp(BIG, 1e200 * torch.ones(4, 3, dtype=F64), _z(3, 4) + 1),
         "H"),
    Case("relu_mlp", "legit", lambda: lib.relu_mlp(H3, ONE3, -ONE3), None,
         lambda out: _close(out, H3 - torch.relu(H3))),
    # --- causal_average_weights
    Case("causal_average_weights", "range", lambda: lib.causal_average_weights(0), "n"),
    Case("causal_average_weights", "type", lambda: lib.causal_average_weights(2.5), "n"),
    Case("causal_average_weights", "type", lambda: lib.causal_average_weights(3, causal="no"), "causal"),
    Case("causal_average_weights", "dtype", lambda: lib.causal_average_weights(3, dtype=torch.int64), "dtype"),
    Case("causal_average_weights", "overflow", lambda: lib.causal_average_weights(100_000), "n", note="memory"),
    Case("causal_average_weights", "legit", lambda: lib.causal_average_weights(3), None,
         lambda C: _close(C, torch.tensor([[1, 1 / 2, 1 / 3], [0, 1 / 2, 1 / 3], [0, 0, 1 / 3]], dtype=F64))),
    # --- multihead_lsa
    Case("multihead_lsa", "nonfinite", lambda: lib.multihead_lsa(H3, _nan(HEADS, (1, 0, 0)), HEADS), "P",
         note="head1"),
    Case("multihead_lsa", "nonfinite", lambda: lib.multihead_lsa(H3, HEADS, _nan(HEADS, (1, 2, 2))), "V",
         note="head1"),
    Case("multihead_lsa", "nonfinite", lambda: lib.multihead_lsa(_nan(H3), HEADS, HEADS), "H"),
    Case("multihead_lsa", "shape", lambda: lib.multihead_lsa(H3, HEADS, HEADS[:1]), "V"),
    Case("multihead_lsa", "shape", lambda: lib.multihead_lsa(H3, _z(2, 4, 4), _z(2, 4, 4)), "P"),
    Case("multihead_lsa", "dtype", lambda: lib.multihead_lsa(H3, np.array([[["a"]]]), HEADS), "P"),
    Case("multihead_lsa", "empty", lambda: lib.multihead_lsa(H3, _z(0, 3, 3), _z(0, 3, 3)), "P"),
    Case("multihead_lsa", "empty", lambda: lib.multihead_lsa(_z(3, 1), HEADS, HEADS), "H", note="N0"),
    Case("multihead_lsa", "type", lambda: lib.multihead_lsa(H3, HEADS, HEADS, mask="no"), "mask"),
    Case("multihead_lsa", "overflow", lambda: lib.multihead_lsa(BIG, ONE3[None], ONE3[None]), "H"),
    Case("multihead_lsa", "legit", lambda: lib.multihead_lsa(H3.numpy(), HEADS.numpy(), HEADS), None,
         lambda out: _close(out, lib.lsa_unchecked(H3, HEADS[0], HEADS[0]) + lib.lsa_unchecked(
             H3, HEADS[1], HEADS[1]) - H3), note="numpy"),
    # --- multihead_lsa_unchecked
    Case("multihead_lsa_unchecked", "legit", lambda: lib.multihead_lsa_unchecked(H3, HEADS, HEADS, mask=True),
         None, lambda out: _close(out, lib.multihead_lsa(H3, HEADS, HEADS, mask=True))),
]

EXEMPT: dict = {}


CASES, EXEMPT = collect("attention", CASES, EXEMPT)  # plus every _cases_attention_*.py


@pytest.mark.parametrize("case", params(CASES))
def test_bad_input(case):
    run_case(case)
