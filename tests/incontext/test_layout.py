"""icrl_lib.incontext.layout: PromptLayout, assemble and render_blocks (the one renderer of block tables).

Independent checks: assembled prompts against column-by-column numpy assembly; rendered tables against
matrices written entry by entry; the structure rule that no module outside the algorithm files switches on
an algorithm name.
"""
from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest
import torch

from icrl_lib.incontext import PromptLayout, assemble, block_rows, render_blocks

F64 = torch.float64
L = PromptLayout((("a", 2), ("b", 1), ("one", 1), ("w", 2)), 2)


def test_layout_slices_and_names():
    assert L.dim == 6 and L.names == ("a", "b", "one", "w") and L.data == slice(0, 3) and L.param == slice(3, 6)
    assert L.rows("w") == slice(4, 6) and L.size("a") == 2 and L.index("one") == 2
    assert L.data_names == ("a", "b") and L.param_names == ("one", "w")
    assert block_rows(L, ("w", "a")).tolist() == [4, 5, 0, 1]
    with pytest.raises(ValueError, match="^name"):
        L.rows("c")


def test_assemble_against_numpy_columns_and_broadcasting():
    rng = np.random.default_rng(0)
    a, b, w = rng.normal(size=(3, 4, 2)), rng.normal(size=(4, 1)), rng.normal(size=2)
    H = assemble(L, {"a": torch.from_numpy(a), "b": torch.from_numpy(b)},
                 {"one": torch.ones(1, dtype=F64), "w": torch.from_numpy(w)})
    assert H.shape == (3, 6, 5) and H.dtype == F64
    for k in range(3):
        ref = np.zeros((6, 5))
        for t in range(4):
            ref[:2, t], ref[2, t] = a[k, t], b[t, 0]
        ref[3, 4], ref[4:, 4] = 1.0, w
        np.testing.assert_array_equal(H[k].numpy(), ref)
    with pytest.raises(ValueError, match="batch dimensions"):
        assemble(L, {"a": torch.zeros(3, 4, 2), "b": torch.zeros(2, 4, 1)}, {})
    with pytest.raises(ValueError, match="data"):
        assemble(L, {}, {"w": torch.zeros(2)})


def test_render_blocks_entry_by_entry():
    M = torch.arange(4, dtype=F64).reshape(2, 2)
    P, V = render_blocks(L, {("P", "a", "w"): -2.0, ("P", "b", "one"): 1, ("V", "w", "a"): M})
    refP, refV = torch.zeros(6, 6, dtype=F64), torch.zeros(6, 6, dtype=F64)
    refP[0, 4], refP[1, 5], refP[2, 3] = -2.0, -2.0, 1.0
    refV[4:6, 0:2] = M
    assert torch.equal(P, refP) and torch.equal(V, refV)
    assert render_blocks(L, {}, dtype=torch.float32)[0].dtype == torch.float32
    (Q,) = render_blocks(L, {("Q", "a", "a"): 1.0}, matrices=("Q",))
    assert torch.equal(Q[:2, :2], torch.eye(2, dtype=F64))


@pytest.mark.parametrize("table, match", [
    ({("X", "a", "w"): 1.0}, "table keys"), ({("P", "a"): 1.0}, "table keys"),
    ({("P", "a", "b"): 1.0}, "not square"), ({("V", "w", "a"): torch.zeros(3, 2)}, "shape"),
    ({("P", "a", "zz"): 1.0}, "name"),
])
def test_render_blocks_rejects_bad_tables(table, match):
    with pytest.raises(ValueError, match=match):
        render_blocks(L, table)


def test_no_algorithm_name_switches_outside_the_algorithm_files():
    """A new algorithm is one file plus one registry line: no other module compares against a name."""
    root = pathlib.Path(__file__).resolve().parents[2] / "icrl_lib"
    allowed = {"registry.py", "sarsa.py", "actor_critic.py"}
    pattern = re.compile(r"""(==|!=|\bin\b)\s*\(?\s*["'](sarsa|actor-critic)["']|["'](sarsa|actor-critic)["']\s*(==|!=)""")
    offenders = []
    for sub in ("incontext", "attention", "symbolic"):
        for f in (root / sub).glob("*.py"):
            if f.name not in allowed and pattern.search(f.read_text()):
                offenders.append(f"{sub}/{f.name}")
    assert offenders == []
