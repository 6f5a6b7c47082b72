"""Finding aids and the code on the page (issue 25, items 6, 8 and 9), read from the notebooks and the extension.

- every chapter numbers its sections "N." and its subsections "N.k" (Exercises, Summary, References are not
  numbered), so "section 4.2" means the same thing in every chapter;
- chapters 9-11 put their key terms in the book's index;
- a coding exercise's scaffold shows its code and a one-line note, not a red traceback: its output is removed
  from the page (``remove-output``) while the cell keeps ``raises-exception`` and its committed error (nbval and
  ``make grade`` see it unchanged);
- the list of theorems (book/_ext/theorem_list.py) is numbered, titled and in book order.
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CHAPTERS = sorted(p for p in BOOK.glob("[01][0-9]_*.ipynb") if not p.name.startswith("00_"))
UNNUMBERED = ("Exercises", "Summary", "References")
INDEX_TERMS = {
    9: ["Algorithm Distillation", "Decision-Pretrained Transformer", "reduced expert", "distribution ratio",
        "Dark Room", "Thompson sampling", "see: AD; Algorithm Distillation", "see: DPT; Decision-Pretrained Transformer"],
    10: ["LinUCB", "soft LinUCB", "Thompson sampling", "UCB-VI", "ridge regression by attention", "depth",
         "Algorithm Distillation"],
    11: ["depth", "multi-head attention", "distribution shift", "random features"],
}


def _headings(nb) -> list[str]:
    """The ## and ### headings of the markdown cells, outside fenced blocks."""
    out = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        text = re.sub(r"^(`{3,}|:{3,})\s*\S.*?^\1\s*$", "", cell.source, flags=re.M | re.S)
        out += [line for line in text.split("\n") if re.match(r"#{2,3} ", line)]
    return out


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_sections_are_numbered_one_way(path):
    section, sub, bad = 0, 0, []
    for line in _headings(nbformat.read(path, 4)):
        if line.startswith("## "):
            if line[3:].startswith(UNNUMBERED):
                section = None
                continue
            section, sub = (section or 0) + 1, 0
            if not line.startswith(f"## {section}. "):
                bad.append(f"{line!r}: expected '## {section}. ...'")
        elif section:
            sub += 1
            if not line.startswith(f"### {section}.{sub} "):
                bad.append(f"{line!r}: expected '### {section}.{sub} ...'")
    assert not bad, "sections '## N. Title', subsections '### N.k Title':\n" + "\n".join(bad)


@pytest.mark.parametrize("chapter", sorted(INDEX_TERMS))
def test_key_terms_are_in_the_index(chapter):
    (path,) = BOOK.glob(f"{chapter:02d}_*.ipynb")
    text = "\n".join(c.source for c in nbformat.read(path, 4).cells if c.cell_type == "markdown")
    entries = set()
    for arg in re.findall(r"^```\{index\} *(.+)$", text, re.M):
        entries |= {arg.strip()} | {e.strip() for e in arg.split(",")}
    missing = [t for t in INDEX_TERMS[chapter] if t not in entries]
    assert not missing, f"chapter {chapter}: no index entry for {missing}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_scaffolds_show_no_traceback_on_the_page(path):
    nb = nbformat.read(path, 4)
    for k, cell in enumerate(nb.cells):
        tags = cell.metadata.get("tags", [])
        if cell.cell_type != "code" or "raises-exception" not in tags:
            continue
        assert "remove-output" in tags, f"cell {k}: a scaffold's traceback is removed from the page (remove-output)"
        assert any(o.get("output_type") == "error" for o in cell.get("outputs", [])), (
            f"cell {k}: the committed error output stays (nbval and the grader compare it)")
        note = nb.cells[k - 1]
        assert note.cell_type == "markdown" and "`NotImplementedError`" in note.source.rstrip().split("\n")[-1], (
            f"cell {k}: the markdown just above says, in one line, that the scaffold raises until filled in")


def _theorem_list():
    spec = importlib.util.spec_from_file_location("theorem_list", BOOK / "_ext" / "theorem_list.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_theorem_list_is_numbered_titled_in_book_order():
    mod = _theorem_list()
    proofs = {
        "thm-ch10-regret": ("book/10_b", "theorem"), "def-ch2-x": ("book/02_a", "definition"),
        "alg-ch2-y": ("book/02_a", "algorithm"), "thm-ch2-z": ("book/02_a", "theorem"),
    }
    env = SimpleNamespace(
        proof_list={k: {"docname": d, "countertype": t, "realtype": t} for k, (d, t) in proofs.items()},
        icrl_statements={
            "thm-ch2-z": {"docname": "book/02_a", "position": 0, "title": "One step [vO23]"},
            "def-ch2-x": {"docname": "book/02_a", "position": 1, "title": "Prompt"},
            "alg-ch2-y": {"docname": "book/02_a", "position": 2, "title": "train"},
            "thm-ch10-regret": {"docname": "book/10_b", "position": 0, "title": "Regret [LBM24]"},
        },
        toc_fignumbers={"book/02_a": {"theorem": {"thm-ch2-z": (2, 1)}, "definition": {"def-ch2-x": (2, 1)},
                                      "algorithm": {"alg-ch2-y": (2, 1)}},
                        "book/10_b": {"theorem": {"thm-ch10-regret": (10, 1)}}},
        toc_secnumbers={"book/02_a": {"": (2,)}, "book/10_b": {"": (10,)}},
        titles={"book/02_a": SimpleNamespace(astext=lambda: "Two"), "book/10_b": SimpleNamespace(astext=lambda: "Ten")},
        toctree_includes={"intro": ["book/02_a", "book/10_b"]},
        config=SimpleNamespace(root_doc="intro"),
        found_docs={"intro", "book/02_a", "book/10_b"},
    )
    rows = mod.statements(env)
    assert [r["label"] for r in rows] == ["thm-ch2-z", "def-ch2-x", "alg-ch2-y", "thm-ch10-regret"]
    assert [f"{r['kind']} {r['number']}" for r in rows] == ["Theorem 2.1", "Definition 2.1", "Algorithm 2.1",
                                                            "Theorem 10.1"]
    assert rows[0]["title"] == "One step [vO23]" and rows[-1]["chapter_number"] == "10"
    index = mod.BookProofIndex(SimpleNamespace(env=env))
    content, collapse = index.generate()
    assert [group for group, _ in content] == ["2. Two", "10. Ten"]
    assert content[0][1][0].name == "Theorem 2.1" and content[0][1][0].descr == "One step [vO23]"
    assert (BOOK / "_ext" / "templates" / "prf-index.html").is_file()
