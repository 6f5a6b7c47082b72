"""Write the student edition of the book (``make student``): the chapters without their solutions.

Usage: python scripts/student_edition.py [--out _build/student] [notebook.ipynb ...]

For every chapter (book/NN_*.ipynb) it writes a *reader notebook* (scripts/reader_notebooks.py: MyST
directives and roles as plain Markdown, the book's macros expanded, so the chapter reads in any Jupyter
and in Colab) whose Colab cell installs icrl_lib and fetches only that chapter's data files
(scripts/colab_cell.py, ``student_cell_source``), after it removes
- every ``{solution}`` directive block, and everything from a ``{solution-start}`` directive to its
  ``{solution-end}``, including the code cells in between (the solution cells),
- every cell tagged ``solution``,
and keeps everything else, in particular the scaffold cells of the coding exercises (tagged
``raises-exception``, with their error output cleared) and the exercises themselves. It checks that no
kept code cell uses a name that only a removed solution cell defined (so the student notebook still runs
top to bottom), and fails loudly on an unclosed solution block, on a fence inside a solution as long as
the solution's own (it would end the solution early), and on anything that looks like a misspelt solution
marker or tag (``{Solution}``, ``{solution_start}``, a ``solutions`` tag): those would ship the solution.

The folder gets the stripped chapters, the data files they read (book/_static/results), the notation
page, the library (icrl_lib/, pyproject.toml), requirements-student.txt (only what the chapters need, not
the book's build and test tools), the grading script scripts/grade.py (students can check a notebook the
way the instructor grades it) and a README with the setup commands;
``_build/student.zip`` (``<out>.zip``) holds the same for a learning platform. The instructor guide is
book/instructor_guide.md, a page of the book.

The output is built in a temporary folder beside ``--out`` and renamed into place, with a marker file
(``.icrl-student-edition``) in it. The script replaces only a folder holding that marker, or an empty one,
and only a zip holding it: it refuses (exit 1, nothing touched) any other non-empty folder or file, the
repository, the home folder, an ancestor of the repository, and book/ or icrl_lib/.
"""
from __future__ import annotations

import argparse
import ast
import builtins
import re
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import colab_cell  # noqa: E402
import reader_notebooks  # noqa: E402
SOLUTION_TAG = "solution"
MARKER = ".icrl-student-edition"  # in every folder this script writes: the only folders it deletes
MARKER_TEXT = "Written by scripts/student_edition.py; its next run into this folder deletes and rewrites it.\n"
SCAFFOLD_TAG = "raises-exception"
STUDENT_REQUIREMENTS = "requirements-student.txt"  # the only requirements file a student installs

STUDENT_README = """# {title}: student edition

The chapters of the book as notebooks, with the exercises and without their solutions. Coding
exercises have a scaffold cell that raises `NotImplementedError` until you fill it in.

Set up once (Python 3.11 or newer):

```bash
python3 -m venv .venv
.venv/bin/pip install -r requirements-student.txt  # what the chapters need, at the versions the book was checked with
.venv/bin/pip install --no-deps -e .               # the companion library icrl_lib
.venv/bin/jupyter lab book/
```

`requirements-student.txt` pins `torch=={torch}` (the CPU build). On Linux, plain `pip` may download a
large CUDA build instead; point pip at PyTorch's CPU wheel index:
`.venv/bin/pip install -r requirements-student.txt --extra-index-url https://download.pytorch.org/whl/cpu`.

Before you hand in a notebook, check it the way it will be graded, from this folder:

```bash
.venv/bin/python scripts/grade.py book/02_icl_linear_attention.ipynb
```

It runs the notebook top to bottom and fails (naming the exercise) on a scaffold you have not filled in
or on any cell that raises; `PASS` means it runs to the end. Whether your answer is right is read from
what your cell prints and asserts.

The notebooks are *reader notebooks*: theorems, exercises and references are plain Markdown (numbered
as in the book, with links to the online book), so they read the same in JupyterLab, Jupyter Notebook,
VS Code and Colab; no extension is needed.

On Colab, upload a chapter and run it: its first cell installs `icrl_lib` from {url}
and fetches the data files that chapter reads, nothing else (not the book's chapters). If that address
cannot be reached, the cell says so in one sentence; ask your instructor for the book's address.
The book itself, with the solutions: see your instructor.
"""


class SolutionError(ValueError):
    pass


# The solution markers, exactly as the book writes them (sphinx-exercise's directives and the tag).
KNOWN_DIRECTIVES = ("solution", "solution-start", "solution-end")
DIRECTIVE_OPTIONS = ("class", "label", "hidden")
# A fence opener: ``` or ~~~ (code fences) or ::: (MyST's colon fence), then a {name} and its argument.
OPENER = re.compile(r"^(?P<fence>`{3,}|~{3,}|:{3,})\s*\{(?P<name>[^{}\s]*)\}(?P<arg>.*)$")
# Any {name} outside LaTeX (where it follows a letter, \, ^, _ or }): roles, directives, stray markers.
BRACED = re.compile(r"(?<![\w\\^_}])\{(?P<name>[^{}\s]+)\}")
OPTION = re.compile(r"^\s*:(?P<key>[\w-]+):")


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _normal(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def looks_like_solution(name: str) -> bool:
    """A name a solution marker may have been misspelled as: {Solution}, {solutions-start}, {solutoin}, ..."""
    n = _normal(name)
    return "sol" in n or any(_edit_distance(n, _normal(k)) <= 2 for k in KNOWN_DIRECTIVES)


def _closes(line: str, fence: str) -> bool:
    """True if ``line`` closes a fence opened by ``fence``: only that character, at least as many."""
    s = line.strip()
    return len(s) >= len(fence) and set(s) == {fence[0]}


def strip_markdown(text: str, in_solution: bool) -> tuple[str, bool, int]:
    """Remove solution blocks from one markdown cell; return (text, in_solution after it, removed).

    Raises SolutionError (naming the line) on anything that looks like a solution marker but is not
    exactly one of KNOWN_DIRECTIVES: a misspelt marker would otherwise ship its solution to students.
    """
    out: list[str] = []
    lines = text.split("\n")
    i, removed = 0, 0
    while i < len(lines):
        line = lines[i]
        where = f"line {i + 1}"
        m = OPENER.match(line.strip())
        name = m.group("name") if m else None
        for b in BRACED.finditer(line):
            if looks_like_solution(b.group("name")) and not (
                    m and b.group("name") == name and name in KNOWN_DIRECTIVES and b.start() == line.index("{")):
                raise SolutionError(f"{where}: {{{b.group('name')}}} looks like a misspelt solution marker "
                                    f"(the markers are {', '.join('{' + k + '}' for k in KNOWN_DIRECTIVES)}, "
                                    f"at the start of a fence): {line.strip()[:80]}")
        if m and name in KNOWN_DIRECTIVES:
            fence, arg = m.group("fence"), m.group("arg").strip()
            if name != "solution-end" and not arg:
                raise SolutionError(f"{where}: {{{name}}} needs the exercise's label as its argument")
            if name == "solution-end" and arg:
                raise SolutionError(f"{where}: {{solution-end}} takes no argument, got {arg!r}")
            j = i + 1  # the options, then everything up to the directive's closing fence
            while j < len(lines) and (o := OPTION.match(lines[j])) and not _closes(lines[j], fence):
                if o.group("key") not in DIRECTIVE_OPTIONS:
                    raise SolutionError(f"line {j + 1}: unknown option :{o.group('key')}: of {{{name}}} "
                                        f"(known: {', '.join(DIRECTIVE_OPTIONS)})")
                j += 1
            while j < len(lines) and not _closes(lines[j], fence):
                s = lines[j].strip()
                if s.startswith(fence[0] * len(fence)):  # an opener as long as ours: our fence ends at its end
                    raise SolutionError(f"line {j + 1}: a fence inside {{{name}}} is as long as the "
                                        f"directive's own ({fence}); lengthen the directive's fence")
                j += 1
            if j == len(lines):
                raise SolutionError(f"{where}: unclosed {{{name}}} directive: {line.strip()}")
            if name == "solution":
                removed += 1
            elif name == "solution-start":
                if in_solution:
                    raise SolutionError(f"{where}: {{solution-start}} inside another solution")
                in_solution, removed = True, removed + 1
            else:
                if not in_solution:
                    raise SolutionError(f"{where}: {{solution-end}} without {{solution-start}}")
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
    for index, cell in enumerate(nb.cells):
        tags = cell.metadata.get("tags", [])
        where = f"cell {index}" + (f" (id {cell['id']})" if cell.get("id") else "")
        for tag in tags:
            if tag != SOLUTION_TAG and looks_like_solution(tag):
                raise SolutionError(f"{where}: tag {tag!r} looks like a misspelt {SOLUTION_TAG!r} tag")
        if SOLUTION_TAG in tags:
            stats["solution_cells"] += 1
            if cell.cell_type == "code":
                removed_defs |= names_defined(cell.source)
            continue
        if cell.cell_type == "markdown":
            try:
                text, in_solution, n = strip_markdown(cell.source, in_solution)
            except SolutionError as e:
                raise SolutionError(f"{where}, {e}") from None
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
                problems.append(f"{where}: a kept cell uses {sorted(missing)}, defined only in a removed "
                                f"solution cell: "
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


class OutputError(Exception):
    pass


def check_output(out: Path, with_zip: bool, root: Path = ROOT) -> tuple[Path, Path | None]:
    """(folder, zip) that this run may replace, or OutputError: the script only ever deletes its own output.

    The folder must be new, empty, or an earlier output (it holds MARKER); it may not be (inside) a folder
    the script reads, the repository, the home folder or an ancestor of the repository. The zip next to
    it (<out>.zip) must be new or an earlier output (a zip holding the marker).
    """
    absolute = Path(os.path.abspath(out))
    if absolute.is_symlink():
        raise OutputError(f"{out} is a symbolic link")
    real, repo = absolute.resolve(), root.resolve()
    if real == repo or real in repo.parents:
        raise OutputError(f"{out} is the repository or a folder that contains it")
    if real == Path.home().resolve():
        raise OutputError(f"{out} is the home folder")
    for source in ("book", "icrl_lib"):  # what the script reads from
        if real == repo / source or repo / source in real.parents:
            raise OutputError(f"{out} is inside {source}/, which the student edition is made from")
    if real.exists() or real.is_symlink():
        if not real.is_dir():
            raise OutputError(f"{out} exists and is not a folder")
        if not _ours(real) and any(real.iterdir()):
            raise OutputError(f"{out} is a non-empty folder that this script did not write (no {MARKER} in "
                              f"it); choose another --out, or delete it yourself")
    archive = None
    if with_zip:
        archive = real.parent / f"{real.name}.zip"
        if archive.exists() or archive.is_symlink():
            if archive.is_symlink() or not archive.is_file() or not _our_zip(archive, real.name):
                raise OutputError(f"{archive} exists and is not a zip this script wrote (no {real.name}/{MARKER} "
                                  f"in it); delete it yourself or use --no-zip")
    return real, archive


def _ours(folder: Path) -> bool:
    marker = folder / MARKER
    return marker.is_file() and not marker.is_symlink()


def _our_zip(path: Path, name: str) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            return f"{name}/{MARKER}" in z.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def build(tmp: Path, paths: list[Path], cfg: dict) -> int:
    """Write the student edition into the new folder tmp; return the number of chapters that failed."""
    book = tmp / "book"
    book.mkdir()
    failed = 0
    # Numbers and links of the whole book (a student chapter says "Theorem 4.1" as the book does).
    index = reader_notebooks.load_book(ROOT)
    try:
        url, branch = colab_cell.repository(ROOT / "_config.yml")
    except colab_cell.ConfigError as e:
        print(f"student_edition: {e}", file=sys.stderr)
        return 1
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        try:
            student, stats = strip_notebook(nb)
        except SolutionError as e:
            print(f"{path}: {e}", file=sys.stderr)
            failed += 1
            continue
        # A reader notebook (plain Markdown, no MyST source) whose Colab cell fetches icrl_lib and this
        # chapter's data files only, never the chapters with their solutions.
        colab = colab_cell.student_cell_source(url, branch, colab_cell.chapter_data_files(
            nb, ROOT / "book" / "_static" / "results", ROOT))
        student = reader_notebooks.reader_notebook(student, index, f"book/{path.stem}", colab_source=colab)
        left = reader_notebooks.leftover_myst(student)
        if left:
            print(f"{path}: MyST source left in the student notebook: {left[:3]}", file=sys.stderr)
            failed += 1
            continue
        nbformat.write(student, book / path.name)
        print(f"{path.name}: {stats['solutions']} solutions and {stats['solution_cells']} solution cells "
              f"removed, {stats['scaffolds']} scaffold cells kept")
    if failed:
        return failed
    if (ROOT / "book" / "_static" / "results").is_dir():
        shutil.copytree(ROOT / "book" / "_static" / "results", book / "_static" / "results")
    for name in ("notation.md",):
        if (ROOT / "book" / name).exists():
            shutil.copy2(ROOT / "book" / name, book / name)
    shutil.copytree(ROOT / "icrl_lib", tmp / "icrl_lib", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", STUDENT_REQUIREMENTS, "scripts/grade.py"):
        if (ROOT / name).exists():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tmp / name)
    repo = cfg.get("repository") if isinstance(cfg.get("repository"), dict) else {}
    (tmp / "README.md").write_text(STUDENT_README.format(
        title=cfg.get("title", "The book"), url=repo.get("url", "the book's repository"),
        torch=torch_pin(ROOT / STUDENT_REQUIREMENTS) or "2.13.0"))
    return 0


def torch_pin(path: Path) -> str | None:
    """The version ``torch==X`` pins in a requirements file, or None."""
    try:
        m = re.search(r"^torch==(\S+)\s*$", path.read_text(), re.M)
    except OSError:
        return None
    return m.group(1) if m else None


def write_zip(folder: Path, name: str, path: Path) -> None:
    """A zip of folder's files under the top folder name (as shutil.make_archive with base_dir=name)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for file in sorted(folder.rglob("*")):
            z.write(file, f"{name}/{file.relative_to(folder).as_posix()}")


def publish(tmp: Path, out: Path) -> None:
    """Put the finished folder tmp at out, replacing an earlier output (checked again: it may have changed)."""
    if out.exists():
        if _ours(out):
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.rename(out, old / out.name)
            os.rename(tmp, out)
            shutil.rmtree(old)
            return
        out.rmdir()  # empty (checked before), else OSError: never delete someone else's files
    os.rename(tmp, out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*", type=Path)
    ap.add_argument("--out", type=Path, default=ROOT / "_build" / "student",
                    help=f"a new folder, or an earlier output of this script (it holds {MARKER})")
    ap.add_argument("--no-zip", action="store_true")
    args = ap.parse_args(argv)
    import yaml

    try:
        out, archive = check_output(args.out, not args.no_zip)
    except OutputError as e:
        print(f"student_edition: refusing --out {args.out}: {e}", file=sys.stderr)
        return 1
    try:
        cfg = yaml.safe_load((ROOT / "_config.yml").read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        print(f"student_edition: cannot read _config.yml: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    if not isinstance(cfg, dict):
        print("student_edition: _config.yml is not a mapping", file=sys.stderr)
        return 1
    # Built beside the target and renamed into place: a failed run leaves the earlier output as it was.
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's folder is private; the output is not
    tmp_zip = None
    try:
        (tmp / MARKER).write_text(MARKER_TEXT)
        failed = build(tmp, args.notebooks or chapters(), cfg)
        if failed:
            print(f"student_edition: {failed} chapter(s) failed; nothing written", file=sys.stderr)
            return 1
        if archive is not None:
            fd, name = tempfile.mkstemp(prefix=f".{archive.name}.", suffix=".tmp", dir=out.parent)
            os.close(fd)
            os.chmod(name, 0o666 & ~umask)
            tmp_zip = Path(name)
            write_zip(tmp, out.name, tmp_zip)
        publish(tmp, out)
        if archive is not None:
            os.replace(tmp_zip, archive)
            tmp_zip = None
            print(f"Student edition: {out}/ and {archive}")
        else:
            print(f"Student edition: {out}/")
        return 0
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
        if tmp_zip is not None and tmp_zip.exists():
            tmp_zip.unlink()


if __name__ == "__main__":
    sys.exit(main())
