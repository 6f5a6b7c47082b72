"""Grade student notebooks (``make grade NB=...``): run each one and fail on an unfilled coding exercise.

Usage: python scripts/grade.py [--timeout S] [--workdir DIR] [--save DIR] NOTEBOOK_OR_FOLDER [...]

Every notebook (a folder means the ``*.ipynb`` files in it) is executed top to bottom in a fresh kernel,
as ``scripts/run_notebooks.py`` does, and is never written back. The scaffold cell of a coding exercise
(a code cell tagged ``raises-exception``: in the book the tag marks these cells only) is graded like any
other cell: the tag, which lets the book and Jupyter run past the scaffold's ``NotImplementedError``, is
ignored here. Execution goes on after an error, so every exercise of the notebook gets a verdict:

    FAIL 02_icl_linear_attention.ipynb (31.0 s)
      exercise 2.5 (ex-ch2-w0-weights) "Coding: a nonzero start $w_0$ kept in the weights", cell 37:
        UNFILLED: NotImplementedError: build P and V

``ok`` (with the first printed lines of the cell, the check the instructor reads), ``UNFILLED`` (the
scaffold still raises ``NotImplementedError``), ``FAILED`` (another exception) or ``not reached`` (the
kernel died or a cell timed out before it), then any other cell that raised. The exercise number is the
chapter's (the ``NN_`` of the file name) and the exercise's position among the notebook's ``{exercise}``
directives; the label and title are those of the last ``{exercise}`` before the scaffold.

The exit status is 0 when every notebook ran through with every scaffold filled, 1 otherwise, 2 on bad
arguments. The notebooks run from ``--workdir``; by default from their own folder when it holds the data
files (``_static/``), else from the ``book/`` folder next to this script's folder (the book's, or the
student edition's), where the chapters find them. This script needs only nbformat, nbclient and a Python
kernel (ipykernel), so it also runs in the student edition's environment.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
SCAFFOLD_TAG = "raises-exception"
UNFILLED = "NotImplementedError"
# ANSI escape sequences (IPython colours its tracebacks) and other control characters but tab/newline
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]|[\x00-\x08\x0b-\x1f\x7f]")
# An {exercise} directive (MyST code or colon fence), its title, and its :label: option.
EXERCISE = re.compile(r"^(?P<fence>`{3,}|:{3,})\s*\{exercise\}(?P<title>[^\n]*)\n(?P<options>(?:[ \t]*:[\w-]+:[^\n]*\n)*)",
                      re.M)
LABEL = re.compile(r"^[ \t]*:label:[ \t]*(?P<label>\S+)", re.M)
# The same exercise in a reader notebook (scripts/reader_notebooks.py: the student edition, Colab):
# <a id="label"></a>, then a quote opening with **Exercise N.k** (title).
READER_EXERCISE = re.compile(r'(?:<a id="(?P<label>[^"]+)"></a>\s*\n\s*)?^> \*\*Exercise [\d.]+\*\*'
                             r'(?: \((?P<title>[^\n]*)\))?[ \t]*$', re.M)
CHAPTER = re.compile(r"^(?P<n>\d+)_")


def plain(text) -> str:
    """One line without ANSI codes or runs of white space."""
    return " ".join(ANSI.sub("", str(text)).split())


@dataclass
class Scaffold:
    index: int  # the cell's index in the notebook
    name: str  # "exercise 2.5 (ex-ch2-w0-weights) "Coding: ..."" or "the scaffold"
    verdict: str = "not reached"  # ok, UNFILLED, FAILED, not reached
    detail: str = ""


@dataclass
class Result:
    path: Path
    seconds: float = 0.0
    scaffolds: list[Scaffold] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # other cells that raised, one line each
    fatal: str = ""  # the notebook could not be read or its run was cut short

    @property
    def passed(self) -> bool:
        return not self.fatal and not self.errors and all(s.verdict == "ok" for s in self.scaffolds)


def exercises(nb) -> list[tuple[int, int, str, str]]:
    """(cell index, number in the notebook, label, title) of every {exercise} directive, in order."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for m in EXERCISE.finditer(cell.source + "\n"):
            label = LABEL.search(m.group("options"))
            found.append((i, len(found) + 1, label.group("label") if label else "", plain(m.group("title"))))
        for m in READER_EXERCISE.finditer(cell.source):
            found.append((i, len(found) + 1, m.group("label") or "", plain(m.group("title") or "")))
    return found


def scaffolds(nb, path: Path) -> list[Scaffold]:
    """The scaffold cells, each named by the last exercise before it."""
    m = CHAPTER.match(path.name)
    chapter = f"{int(m.group('n'))}." if m else ""
    found = exercises(nb)
    out = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or SCAFFOLD_TAG not in cell.metadata.get("tags", []):
            continue
        before = [e for e in found if e[0] < i]
        if before:
            _, number, label, title = before[-1]
            name = f"exercise {chapter}{number}" + (f" ({label})" if label else "") + (f' "{title}"' if title else "")
        else:
            name = "a scaffold with no {exercise} before it"
        out.append(Scaffold(i, name))
    return out


def first_line(cell) -> str:
    return plain(next((ln for ln in cell.source.splitlines() if ln.strip() and not ln.lstrip().startswith("#")),
                      ""))[:80]


def printed(cell, limit: int = 120) -> str:
    """The text a cell printed or displayed, on one line (what the instructor reads against the solution)."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            parts.append(out.get("text", ""))
        elif out.get("output_type") in ("display_data", "execute_result"):
            parts.append(out.get("data", {}).get("text/plain", ""))
    text = "; ".join(plain(line) for line in "\n".join(parts).splitlines() if line.strip())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def error_of(cell) -> tuple[str, str] | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return plain(out.get("ename", "")), plain(out.get("evalue", ""))[:300]
    return None


def default_workdir(path: Path) -> Path:
    if (path.parent / "_static").is_dir() or not (ROOT / "book" / "_static").is_dir():
        return path.parent
    return ROOT / "book"


def grade(path: Path, timeout: int, workdir: Path | None = None, save: Path | None = None) -> Result:
    """Run one notebook (never written back) and grade its scaffolds and its other cells."""
    result = Result(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as e:  # noqa: BLE001 -- not JSON, not a notebook
        result.fatal = f"cannot read the notebook: {plain(e)[:300]}"
        return result
    result.scaffolds = scaffolds(nb, path)
    started: list[int] = []
    # allow_errors: every cell runs, so every exercise gets a verdict; errors are read from the outputs
    # below, where the raises-exception tag counts for nothing.
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(workdir or default_workdir(path))}},
                            on_cell_start=lambda cell, cell_index: started.append(cell_index))
    start = time.perf_counter()
    try:
        # The kernel's own log (a TCP-transport warning at every start) would bury the report; what the
        # cells print to stderr still reaches their outputs.
        client.execute(stderr=subprocess.DEVNULL)
    except Exception as e:  # noqa: BLE001 -- a timeout, a dead kernel, no kernel: the run was cut short
        where = f" in cell {started[-1]}: {first_line(nb.cells[started[-1]])}" if started else ""
        message = plain(str(e).strip().splitlines()[0] if str(e).strip() else "")
        result.fatal = f"the run stopped{where} ({type(e).__name__}{': ' + message[:200] if message else ''})"
    result.seconds = time.perf_counter() - start
    reached = set(started[:-1]) if result.fatal else set(started)
    scaffold_cells = {s.index: s for s in result.scaffolds}
    if result.fatal and started and started[-1] in scaffold_cells:  # the student's code hung or killed the kernel
        scaffold_cells[started[-1]].verdict, scaffold_cells[started[-1]].detail = "FAILED", "see below"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or i not in reached:
            continue
        error = error_of(cell)
        if i in scaffold_cells:
            s = scaffold_cells[i]
            if error is None:
                s.verdict, s.detail = "ok", (f"prints: {printed(cell)}" if printed(cell) else "")
            else:
                s.verdict = "UNFILLED" if error[0] == UNFILLED else "FAILED"
                s.detail = ": ".join(e for e in error if e)
        elif error is not None:
            result.errors.append(f"cell {i} ({first_line(cell)}): {': '.join(e for e in error if e)}")
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, save / path.name)
    return result


def report(result: Result, shown: str) -> str:
    lines = [f"{'PASS' if result.passed else 'FAIL'} {shown} ({result.seconds:.1f} s)"
             + ("" if result.scaffolds else ", no coding exercise")]
    for s in result.scaffolds:
        lines.append(f"  {s.name}, cell {s.index}: {s.verdict}" + (f": {s.detail}" if s.detail else ""))
    for error in result.errors[:3]:
        lines.append(f"  error in {error}")
    if len(result.errors) > 3:
        lines.append(f"  ... and {len(result.errors) - 3} more cells raised")
    if result.fatal:
        lines.append(f"  {result.fatal}")
    return "\n".join(lines)


def collect(targets: list[Path]) -> list[Path]:
    paths = []
    for t in targets:
        if t.is_dir():
            found = sorted(p for p in t.glob("*.ipynb") if p.is_file())
            if not found:
                raise ValueError(f"{t} holds no .ipynb file")
            paths += found
        elif t.suffix == ".ipynb" and t.is_file():
            paths.append(t)
        else:
            raise ValueError(f"{t} is neither an .ipynb file nor a folder")
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="+", type=Path, help="student notebooks, or folders of them")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per cell (default: %(default)s)")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="run the notebooks from this folder (default: see the description)")
    ap.add_argument("--save", type=Path, default=None,
                    help="also write the executed notebooks into this folder (for reading their outputs)")
    args = ap.parse_args(argv)
    try:
        paths = collect(args.notebooks)
    except ValueError as e:
        ap.error(str(e))
    if args.workdir is not None and not args.workdir.is_dir():
        ap.error(f"--workdir {args.workdir} is not a folder")
    if args.save is not None and any(args.save.resolve() == p.parent.resolve() for p in paths):
        ap.error("--save must not be the folder of a graded notebook (it would overwrite the submission)")
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    failed = 0
    counts = {"UNFILLED": 0, "FAILED": 0, "not reached": 0}
    for path in paths:
        result = grade(path, args.timeout, args.workdir, args.save)
        print(report(result, str(path)), flush=True)
        failed += not result.passed
        for s in result.scaffolds:
            counts[s.verdict] = counts.get(s.verdict, 0) + 1
    n_ex = sum(counts.values())
    print(f"grade: {len(paths) - failed} of {len(paths)} notebooks passed; coding exercises: "
          f"{counts.get('ok', 0)} of {n_ex} ok, {counts['UNFILLED']} unfilled, {counts['FAILED']} failed, "
          f"{counts['not reached']} not reached")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
