"""scripts/grade.py fails on an unfilled coding exercise and passes on a filled one.

The student notebooks keep the scaffold cells tagged ``raises-exception``, so Jupyter (and nbconvert
--execute) run past an unfilled scaffold; the grading command must not. Every notebook is graded in a
subprocess on a copy in tmp_path; nothing of the repository is touched.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
GRADE = ROOT / "scripts" / "grade.py"
sys.path.insert(0, str(ROOT / "scripts"))

import grade  # noqa: E402

md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
ANSI_OR_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

SCAFFOLD = 'def double(x):\n    # Your code here\n    raise NotImplementedError("exercise: fill in double")\n\n\nprint("double(2) =", double(2))'
FILLED = 'def double(x):\n    return 2 * x\n\n\nprint("double(2) =", double(2))'


def _toy(scaffold: str, after: str = "assert double(3) == 6") -> nbformat.NotebookNode:
    """A student notebook: one proof exercise, one coding exercise with its scaffold, a later cell."""
    return nbformat.v4.new_notebook(cells=[
        md("# Toy chapter"),
        code("x = 1"),
        md("## Exercises\n\n```{exercise} A proof\n:label: ex-toy-proof\n\nProve it.\n```"),
        md("```{exercise} Coding: doubling\n:label: ex-toy-double\n\nFill in the cell below.\n```"),
        code(scaffold, metadata={"tags": ["raises-exception"]}),
        code(after),
    ])


def _grade(*args, cwd: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(GRADE), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"})


def _plain(res: subprocess.CompletedProcess) -> str:
    """The report (stdout), checked to be plain text; nothing else is printed (not even the kernel's log)."""
    assert not res.stderr, res.stderr
    assert "\x1b" not in res.stdout and not ANSI_OR_CONTROL.search(res.stdout), res.stdout
    return res.stdout


def test_an_unfilled_scaffold_fails_and_a_filled_one_passes(tmp_path):
    nbformat.write(_toy(SCAFFOLD), tmp_path / "03_toy.ipynb")
    nbformat.write(_toy(FILLED), tmp_path / "03_toy_solved.ipynb")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    res = _grade(tmp_path / "03_toy.ipynb", cwd=tmp_path)
    out = _plain(res)
    assert res.returncode == 1, out
    assert out.startswith("FAIL "), out
    lines = out.splitlines()
    verdict = next(ln for ln in lines if "ex-toy-double" in ln)
    # numbered per chapter in order (the proof is 3.1), named by its label and title, with the cell
    assert 'exercise 3.2 (ex-toy-double) "Coding: doubling", cell 4: UNFILLED: NotImplementedError: ' \
           "exercise: fill in double" in verdict, out
    # the run went on after the scaffold: the later cell that calls it is reported too
    assert "  error in cell 5 (assert double(3) == 6): NotImplementedError: exercise: fill in double" in lines, out
    assert "0 of 1 notebooks passed" in lines[-1] and "1 unfilled" in lines[-1], out

    res = _grade(tmp_path / "03_toy_solved.ipynb", cwd=tmp_path)
    out = _plain(res)
    assert res.returncode == 0, out
    assert out.startswith("PASS "), out
    assert 'exercise 3.2 (ex-toy-double) "Coding: doubling", cell 4: ok: prints: double(2) = 4' in out, out
    assert "1 of 1 notebooks passed" in out and "1 of 1 ok" in out, out
    # the submissions are graded, never rewritten
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_folder_a_wrong_fill_and_a_failing_cell(tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    nbformat.write(_toy(FILLED), folder / "a.ipynb")
    nbformat.write(_toy(FILLED.replace("2 * x", "x + x + 1")), folder / "b.ipynb")  # wrong: the assert fails
    nbformat.write(_toy(FILLED.replace("return 2 * x", "return 2 * y")), folder / "c.ipynb")  # raises
    res = _grade(folder, "--save", tmp_path / "graded", cwd=tmp_path)
    out = _plain(res)
    assert res.returncode == 1, out
    blocks = {b.split()[1].rsplit("/", 1)[-1]: b for b in out.split("\n") if b[:4] in ("PASS", "FAIL")}
    assert set(blocks) == {"a.ipynb", "b.ipynb", "c.ipynb"}, out
    assert blocks["a.ipynb"].startswith("PASS") and blocks["b.ipynb"].startswith("FAIL"), out
    assert "error in cell 5 (assert double(3) == 6): AssertionError\n" in out, out
    assert "cell 4: FAILED: NameError: name 'y' is not defined" in out, out
    assert "1 of 3 notebooks passed" in out.splitlines()[-1], out
    assert sorted(p.name for p in (tmp_path / "graded").iterdir()) == ["a.ipynb", "b.ipynb", "c.ipynb"]


def test_a_scaffold_that_hangs_is_cut_off_and_fails(tmp_path):
    nbformat.write(_toy("import time\nwhile True:\n    time.sleep(0.1)"), tmp_path / "a.ipynb")
    res = _grade(tmp_path / "a.ipynb", "--timeout", "3", cwd=tmp_path)
    out = _plain(res)
    assert res.returncode == 1 and out.startswith("FAIL"), out
    assert '"Coding: doubling", cell 4: FAILED' in out and "the run stopped in cell 4" in out, out
    assert "Timeout" in out, out


def test_bad_arguments_are_usage_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    for args in (["nothing.ipynb"], [tmp_path / "empty"], ["notes.txt"]):
        res = _grade(*args, cwd=tmp_path)
        assert res.returncode == 2 and "error:" in res.stderr, res.stderr
    nbformat.write(_toy(FILLED), tmp_path / "a.ipynb")
    res = _grade(tmp_path / "a.ipynb", "--save", tmp_path, cwd=tmp_path)
    assert res.returncode == 2 and "overwrite" in res.stderr, res.stderr


def test_every_scaffold_of_the_book_is_named_by_its_exercise():
    """The grader treats every raises-exception cell as a coding exercise's scaffold: in the book the
    tag marks only those (a cell raising NotImplementedError after its exercise)."""
    seen = 0
    for path in sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for s in grade.scaffolds(nb, path):
            seen += 1
            cell = nb.cells[s.index]
            assert "NotImplementedError" in cell.source, f"{path.name} cell {s.index}: not a scaffold"
            chapter = int(path.name[:2])
            assert re.match(rf'exercise {chapter}\.\d+ \(ex-ch{chapter}-[\w-]+\) "', s.name), (path.name, s.name)
    assert seen >= 6


def test_an_untouched_chapter_2_fails_naming_its_exercise(tmp_path):
    """The real student edition of chapter 2 (about 40 s on an idle core): its scaffold fails the grade."""
    made = subprocess.run([sys.executable, str(ROOT / "scripts" / "student_edition.py"), "--no-zip",
                           "--out", tmp_path / "x", ROOT / "book" / "02_icl_linear_attention.ipynb"],
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "x" / "scripts" / "grade.py").is_file()
    assert (tmp_path / "x" / "requirements-student.txt").read_text() == \
        (ROOT / "requirements-student.txt").read_text()
    assert not (tmp_path / "x" / "requirements.txt").exists()  # the book's build and test pins: not for students
    readme = (tmp_path / "x" / "README.md").read_text()
    assert "Python 3.11 or newer" in readme and "pip install -r requirements-student.txt" in readme
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in readme and "scripts/grade.py" in readme
    res = _grade(tmp_path / "x" / "book" / "02_icl_linear_attention.ipynb", cwd=tmp_path, timeout=600)
    out = _plain(res)
    assert res.returncode == 1, out
    assert re.search(r'exercise 2\.\d+ \(ex-ch2-w0-weights\) "Coding: [^"]*", cell \d+: UNFILLED: '
                     r"NotImplementedError: build P and V", out), out
    assert "0 of 1 notebooks passed" in out, out


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)$", line.strip())
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def test_student_requirements_are_the_books_pins_without_its_tools():
    student = _pins(ROOT / "requirements-student.txt")
    book = {**_pins(ROOT / "requirements.txt"), **_pins(ROOT / "requirements-lab.txt")}
    lines = [ln for ln in (ROOT / "requirements-student.txt").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert len(lines) == len(student), "every line is an exact pin"
    assert {k: book.get(k) for k in student} == student, "pins taken from requirements(-lab).txt"
    # what the chapters import, the kernel, the grader, and JupyterLab
    assert {"torch", "numpy", "sympy", "matplotlib", "tqdm", "ipykernel", "nbclient", "jupyterlab"} <= set(student)
    # the book's build and test tools are not a student's business
    assert not {"jupyter-book", "sphinx", "pytest", "nbval", "playwright", "hypothesis", "coverage"} & set(student)


def test_make_grade_and_student():
    out = subprocess.run(["make", "-n", "-B", "grade", "NB=sub/", "GRADE_OPTS=--save g/", "student"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "scripts/grade.py --save g/ sub/" in out.stdout and "scripts/student_edition.py" in out.stdout
