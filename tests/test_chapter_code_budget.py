"""The chapters keep what teaches and call the library for the rest (CONTRIBUTING.md, "Chapter code").

A code line is a non-blank line of a code cell that is not only a comment; the generated Colab install cell
(scripts/colab_cell.py, hidden on the page) is not the chapter's code and is not counted. Budgets per chapter add
up to at most 5,000 lines; no cell is over 50 lines; at most 20 function or class definitions in all chapters (those that
teach: an exercise scaffold, a hand derivation checked against the library).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
#: chapter number -> (code lines, definitions) allowed.
BUDGET = {0: (40, 0), 1: (320, 2), 2: (320, 2), 3: (470, 2), 4: (450, 2), 5: (350, 1), 6: (600, 2), 7: (460, 2),
          8: (380, 2), 9: (400, 2), 10: (460, 2), 11: (600, 1)}
MAX_CELL_LINES = 50
DEFINITION = re.compile(r"^\s*(?:async\s+)?(?:def|class)\s+\w+", re.M)


def chapter(number: int) -> Path:
    (path,) = BOOK.glob(f"{number:02d}_*.ipynb")
    return path


COLAB_MARKER = "# Colab (or any Python without icrl_lib): fetch the book and install icrl_lib."


def code_cells(path: Path) -> list[str]:
    cells = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    return [s for s in cells if not s.startswith(COLAB_MARKER)]


def code_lines(source: str) -> int:
    return sum(1 for line in source.splitlines() if line.strip() and not line.strip().startswith("#"))


def test_budgets_add_up():
    assert sum(lines for lines, _ in BUDGET.values()) <= 5000
    assert sum(defs for _, defs in BUDGET.values()) <= 20


@pytest.mark.parametrize("number", sorted(BUDGET))
def test_chapter_code_within_budget(number):
    cells = code_cells(chapter(number))
    lines, defs = BUDGET[number]
    total = sum(map(code_lines, cells))
    assert total <= lines, f"chapter {number}: {total} code lines, budget {lines}"
    found = [m.group(0).strip() for s in cells for m in DEFINITION.finditer(s)]
    assert len(found) <= defs, f"chapter {number}: {len(found)} definitions, budget {defs}: {found}"
    long = [(i, code_lines(s)) for i, s in enumerate(cells) if code_lines(s) > MAX_CELL_LINES]
    assert not long, f"chapter {number}: code cells over {MAX_CELL_LINES} lines (code-cell index, lines): {long}"


def test_the_colab_marker_is_the_generators():
    import importlib.util
    spec = importlib.util.spec_from_file_location("colab_cell", BOOK.parent / "scripts" / "colab_cell.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.MARKER == COLAB_MARKER


def test_counter_counts():
    assert code_lines("x = 1\n\n# note\n  y = 2  # why\n") == 2
    assert len(DEFINITION.findall("def f():\n    class A:\n        pass\nundef = 1\n")) == 2
