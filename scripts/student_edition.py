"""Write the student edition of the book (``make student``): the chapters without their solutions.

Usage: python scripts/student_edition.py [--out _build/student] [notebook.ipynb ...]

For every chapter (book/NN_*.ipynb) it removes
- every ``{solution}`` directive block, and everything from a ``{solution-start}`` directive to its
  ``{solution-end}``, including the code cells in between (the solution cells),
- every cell tagged ``solution``,
and keeps everything else, in particular the scaffold cells of the coding exercises (tagged
``raises-exception``, with their error output cleared) and the exercises themselves. It checks that no
kept code cell uses a name that only a removed solution cell defined (so the student notebook still runs
top to bottom), and fails loudly on an unclosed solution block.

The folder gets the stripped chapters, the data files they read (book/_static/results), the notation
page, the library (icrl_lib/, pyproject.toml, requirements*.txt) and a README with the setup commands;
``_build/student.zip`` holds the same for a learning platform. The instructor guide is
book/instructor_guide.md, a page of the book.
"""
from __future__ import annotations

import argparse
import ast
import builtins
import re
import shutil
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^(?P<fence>`{3,}|:{3,})\s*\{(?P<name>[\w:-]+)\}")
SOLUTION_TAG = "solution"
SCAFFOLD_TAG = "raises-exception"

STUDENT_README = """# {title}: student edition

The chapters of the book as notebooks, with the exercises and without their solutions. Coding
exercises have a scaffold cell that raises `NotImplementedError` until you fill it in.

Set up once (Python 3.10 or newer):

```bash
python3 -m venv .venv
.venv/bin/pip install -r requirements.txt      # the exact versions the book was checked with
.venv/bin/pip install --no-deps -e .           # the companion library icrl_lib
.venv/bin/pip install -r requirements-lab.txt  # JupyterLab
.venv/bin/jupyter lab book/
```

On Colab, upload a chapter and run it: its first cell installs `icrl_lib` from {url}.
The book itself, with the solutions: see your instructor.
"""


class SolutionError(ValueError):
    pass


def strip_markdown(text: str, in_solution: bool) -> tuple[str, bool, int]:
    """Remove solution blocks from one markdown cell; return (text, in_solution after it, removed)."""
    out: list[str] = []
    lines = text.split("\n")
    i, removed = 0, 0
    while i < len(lines):
        line = lines[i]
        m = FENCE.match(line.strip())
        name = m.group("name") if m else None
        if m and name in ("solution", "solution-start", "solution-end"):
            fence = m.group("fence")
            j = i + 1  # skip to the directive's closing fence
            while j < len(lines) and not (lines[j].strip().startswith(fence[0] * len(fence))
                                          and set(lines[j].strip()) == {fence[0]}):
                j += 1
            if j == len(lines):
                raise SolutionError(f"unclosed {{{name}}} directive: {line.strip()}")
            if name == "solution":
                removed += 1
            elif name == "solution-start":
                if in_solution:
                    raise SolutionError("{solution-start} inside another solution")
                in_solution, removed = True, removed + 1
            else:
                if not in_solution:
                    raise SolutionError("{solution-end} without {solution-start}")
                in_solution = False
            i = j + 1
            continue
        if not in_solution:
            out.append(line)
        i += 1
    return "\n".join(out).strip("\n"), in_solution, removed


def names_defined(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def names_used(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def strip_notebook(nb) -> tuple[object, dict]:
    """The student version of a notebook and a summary of what was removed."""
    cells, in_solution = [], False
    stats = {"solutions": 0, "solution_cells": 0, "scaffolds": 0}
    removed_defs: set[str] = set()
    kept_defs: set[str] = set()
    problems: list[str] = []
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if SOLUTION_TAG in tags:
            stats["solution_cells"] += 1
            if cell.cell_type == "code":
                removed_defs |= names_defined(cell.source)
            continue
        if cell.cell_type == "markdown":
            text, in_solution, n = strip_markdown(cell.source, in_solution)
            stats["solutions"] += n
            if text.strip():
                cell = nbformat.from_dict(dict(cell))
                cell.source = text
                cells.append(cell)
            continue
        if cell.cell_type == "code" and in_solution and SCAFFOLD_TAG not in tags:
            stats["solution_cells"] += 1
            removed_defs |= names_defined(cell.source)
            continue
        if cell.cell_type == "code":
            own = names_defined(cell.source)
            missing = (names_used(cell.source) & removed_defs) - kept_defs - own - set(dir(builtins))
            if missing:
                problems.append(f"a kept cell uses {sorted(missing)}, defined only in a removed solution cell: "
                                f"{cell.source.splitlines()[0][:60] if cell.source else ''}")
            kept_defs |= own
            if SCAFFOLD_TAG in tags:
                stats["scaffolds"] += 1
                cell = nbformat.from_dict(dict(cell))
                cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    if in_solution:
        raise SolutionError("{solution-start} without {solution-end} before the end of the notebook")
    if problems:
        raise SolutionError("; ".join(problems))
    student = nbformat.from_dict(dict(nb))
    student.cells = cells
    return student, stats


def chapters(root: Path = ROOT) -> list[Path]:
    return sorted((root / "book").glob("[0-9][0-9]_*.ipynb"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*", type=Path)
    ap.add_argument("--out", type=Path, default=ROOT / "_build" / "student")
    ap.add_argument("--no-zip", action="store_true")
    args = ap.parse_args(argv)
    import yaml

    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    if args.out.exists():
        shutil.rmtree(args.out)
    book = args.out / "book"
    book.mkdir(parents=True)
    failed = 0
    for path in args.notebooks or chapters():
        nb = nbformat.read(path, as_version=4)
        try:
            student, stats = strip_notebook(nb)
        except SolutionError as e:
            print(f"{path}: {e}", file=sys.stderr)
            failed += 1
            continue
        nbformat.write(student, book / path.name)
        print(f"{path.name}: {stats['solutions']} solutions and {stats['solution_cells']} solution cells "
              f"removed, {stats['scaffolds']} scaffold cells kept")
    if (ROOT / "book" / "_static" / "results").is_dir():
        shutil.copytree(ROOT / "book" / "_static" / "results", book / "_static" / "results")
    for name in ("notation.md",):
        if (ROOT / "book" / name).exists():
            shutil.copy2(ROOT / "book" / name, book / name)
    shutil.copytree(ROOT / "icrl_lib", args.out / "icrl_lib",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "requirements.txt", "requirements-lab.txt"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, args.out / name)
    (args.out / "README.md").write_text(STUDENT_README.format(
        title=cfg.get("title", "The book"), url=cfg.get("repository", {}).get("url", "the book's repository")))
    if not args.no_zip:
        archive = shutil.make_archive(str(args.out), "zip", root_dir=args.out.parent, base_dir=args.out.name)
        print(f"Student edition: {args.out}/ and {archive}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
