"""The publishing scripts never destroy, leak or execute what they should not.

- scripts/student_edition.py deletes only folders (and zips) it wrote itself, and refuses anything that
  looks like a misspelt solution marker instead of shipping the solution;
- scripts/colab_cell.py writes _config.yml's repository settings into the chapters as checked Python
  literals, never as pasted code;
- scripts/run_notebooks.py reports a failing notebook in one plain block, runs the others, exits non-zero,
  and records wall times only for the book's own notebooks.

Every script runs as a subprocess on copies in tmp_path: nothing of the repository is touched.
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
sys.path.insert(0, str(SCRIPTS))

import colab_cell  # noqa: E402
import run_notebooks  # noqa: E402
import student_edition  # noqa: E402

MARKER = student_edition.MARKER
md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell


def _run(args: list, cwd: Path, env: dict | None = None, timeout: int = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def _hashes(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _chapter(*cells) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=[md("# Chapter"), code("x = 1"), *cells])


# ------------------------------------------------------------------------------------ student edition
@pytest.fixture
def repo(tmp_path) -> Path:
    """The part of the repository that student_edition.py reads, with one small chapter."""
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    for name in ("student_edition.py", "reader_notebooks.py", "colab_cell.py"):  # and what it imports
        shutil.copy2(SCRIPTS / name, root / "scripts")
    (root / "_config.yml").write_text("title: Toy\nrepository:\n  url: https://github.com/o/r\n  branch: main\n")
    (root / "pyproject.toml").write_text("[project]\nname = 'toy'\n")
    (root / "icrl_lib").mkdir()
    (root / "icrl_lib" / "__init__.py").write_text("")
    (root / "book" / "_static" / "results").mkdir(parents=True)
    (root / "book" / "_static" / "results" / "r.json").write_text("{}")
    (root / "book" / "intro.md").write_text("# Intro\n")
    (root / "book" / "notation.md").write_text("# Notation\n")
    nbformat.write(_chapter(md("```{exercise} E\n:label: ex-e\n\nDo it.\n```"),
                            md("```{solution} ex-e\n:class: dropdown\n\nSECRET\n```\n\nAfter.")),
                   root / "book" / "01_toy.ipynb")
    return root


def _student(repo: Path, *args, env: dict | None = None) -> subprocess.CompletedProcess:
    return _run([repo / "scripts" / "student_edition.py", *args], cwd=repo, env=env)


def _refused(res: subprocess.CompletedProcess) -> None:
    assert res.returncode == 1, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("student_edition: refusing --out"), res.stderr
    assert "Traceback" not in res.stderr


def test_student_edition_refuses_the_book_folder(repo):
    before = _hashes(repo)
    for out in ("book", repo / "book", "book/student", "icrl_lib"):
        _refused(_student(repo, "--out", out))
    assert _hashes(repo) == before
    assert not list(repo.glob("book/*.zip")) and not (repo / "book.zip").exists()


def test_student_edition_refuses_a_foreign_folder_and_leaves_it_intact(tmp_path, repo):
    foreign = tmp_path / "thesis"
    foreign.mkdir()
    (foreign / "chapter1.tex").write_text("my work")
    (tmp_path / "thesis.zip").write_text("not a zip of ours")
    before = _hashes(tmp_path)
    _refused(_student(repo, "--out", foreign))
    _refused(_student(repo, "--out", foreign, "--no-zip"))
    _refused(_student(repo, "--out", foreign / "chapter1.tex", "--no-zip"))  # a file
    assert _hashes(tmp_path) == before
    # a new folder whose <out>.zip belongs to someone else: refused too (a real zip without the marker)
    with zipfile.ZipFile(tmp_path / "notes.zip", "w") as z:
        z.writestr("notes/a.txt", "mine")
    before = _hashes(tmp_path)
    _refused(_student(repo, "--out", tmp_path / "notes"))
    assert _hashes(tmp_path) == before and not (tmp_path / "notes").exists()


def test_student_edition_refuses_the_repository_its_ancestors_and_home(tmp_path, repo):
    home = tmp_path / "home"  # a stand-in home folder: Path.home() reads $HOME
    home.mkdir()
    (home / ".bashrc").write_text("keep me")
    before = _hashes(tmp_path)
    for out in (".", repo, tmp_path, "/", home):
        _refused(_student(repo, "--out", out, env={"HOME": str(home)}))
    assert _hashes(tmp_path) == before


def test_student_edition_reruns_into_its_own_output(tmp_path, repo):
    out = tmp_path / "build" / "student"
    res = _student(repo, "--out", out)
    assert res.returncode == 0, res.stderr
    assert (out / MARKER).is_file() and (out / "book" / "01_toy.ipynb").is_file()
    text = (out / "book" / "01_toy.ipynb").read_text()
    # a reader notebook: the exercise as a bold numbered title, no MyST source, no solution
    assert "SECRET" not in text and "After." in text and "**Exercise 1.1** (E)" in text
    assert "{exercise}" not in text and "Solution to" not in text
    with zipfile.ZipFile(out.parent / "student.zip") as z:
        assert f"student/{MARKER}" in z.namelist() and "student/book/01_toy.ipynb" in z.namelist()
    (out / "stale.txt").write_text("from an earlier run")
    res = _student(repo, "--out", out)
    assert res.returncode == 0, res.stderr
    assert not (out / "stale.txt").exists() and (out / MARKER).is_file()
    assert sorted(p.name for p in out.parent.iterdir()) == ["student", "student.zip"]  # no temporary left
    # an empty folder is fine too
    (tmp_path / "empty").mkdir()
    assert _student(repo, "--out", tmp_path / "empty", "--no-zip").returncode == 0


def test_student_edition_failure_keeps_the_earlier_output(tmp_path, repo):
    out = tmp_path / "student"
    assert _student(repo, "--out", out).returncode == 0
    nbformat.write(_chapter(md("```{solutoin} ex-e\nSECRET\n```")), repo / "book" / "02_bad.ipynb")
    before = _hashes(tmp_path)
    res = _student(repo, "--out", out)
    assert res.returncode == 1 and "02_bad.ipynb" in res.stderr and "nothing written" in res.stderr
    assert _hashes(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo", "student", "student.zip"]


MISSPELT = [  # (markdown, the marker the error must name)
    ("```{solution_start} ex-e\n```\n\nSECRET\n\n```{solution-end}\n```", "solution_start"),
    ("```{solutions-start} ex-e\n```\n\nSECRET\n\n```{solution-end}\n```", "solutions-start"),
    ("```{solution-start} ex-e\n```\n\nSECRET\n\n```{solution_end}\n```", "solution_end"),
    ("```{solutoin} ex-e\nSECRET\n```", "solutoin"),
    ("```{Solution} ex-e\nSECRET\n```", "Solution"),
    ("```{slution} ex-e\nSECRET\n```", "slution"),
    (":::{solution-strat} ex-e\nSECRET\n:::", "solution-strat"),
    ("{solution-start} ex-e\n\nSECRET", "solution-start"),  # a marker outside any fence
]


@pytest.mark.parametrize("source, name", MISSPELT, ids=[f"{n}-{i}" for i, (_, n) in enumerate(MISSPELT)])
def test_a_misspelt_solution_marker_is_an_error(tmp_path, repo, source, name):
    path = repo / "book" / "02_typo.ipynb"
    nbformat.write(_chapter(md("Intro text."), md(source)), path)
    res = _student(repo, "--out", tmp_path / "out", path)
    assert res.returncode == 1, res.stdout
    assert f"{{{name}}}" in res.stderr and "02_typo.ipynb" in res.stderr and "cell 3" in res.stderr
    assert "line" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("tag", ["solutions", "Solution", "solution-cell", "soluton"])
def test_a_misspelt_solution_tag_is_an_error(tmp_path, repo, tag):
    cell = code("answer = 42")
    cell.metadata["tags"] = [tag]
    path = repo / "book" / "02_tag.ipynb"
    nbformat.write(_chapter(cell), path)
    res = _student(repo, "--out", tmp_path / "out", path)
    assert res.returncode == 1 and repr(tag) in res.stderr and "cell 2" in res.stderr, res.stderr


def test_unknown_options_and_missing_labels_are_errors():
    for source in ("```{solution}\nSECRET\n```", "```{solution} ex\n:clas: dropdown\nSECRET\n```",
                   "```{solution-start}\n```\nSECRET\n```{solution-end}\n```"):
        with pytest.raises(student_edition.SolutionError):
            student_edition.strip_notebook(_chapter(md(source)))


NESTED = [
    # a ```` solution holding a ``` code block, and a colon-fenced solution holding both kinds
    "````{solution} ex-e\n:class: dropdown\n\nThe code:\n\n```python\nSECRET_CODE = 1\n```\n\nSECRET_TEXT\n````",
    "::::{solution} ex-e\n:class: dropdown\n\n:::{note}\nSECRET_NOTE\n:::\n\n```python\nSECRET_CODE = 1\n```"
    "\n\nSECRET_TEXT\n::::",
    "`````{solution} ex-e\n````markdown\n```python\nSECRET_CODE = 1\n```\n````\nSECRET_TEXT\n`````",
    "~~~~{solution} ex-e\n~~~python\nSECRET_CODE = 1\n~~~\nSECRET_TEXT\n~~~~",
]


@pytest.mark.parametrize("source", NESTED, ids=["backticks", "colons", "deep", "tildes"])
def test_nested_fences_inside_a_solution_are_removed_whole(tmp_path, repo, source):
    path = repo / "book" / "02_nested.ipynb"
    nbformat.write(_chapter(md("Before.\n\n" + source + "\n\nAfter.\n\n```python\nkept = 2\n```")), path)
    res = _student(repo, "--out", tmp_path / "out", "--no-zip", path)
    assert res.returncode == 0, res.stderr
    student = nbformat.read(tmp_path / "out" / "book" / "02_nested.ipynb", 4)
    text = "\n".join(c.source for c in student.cells)
    assert "SECRET" not in text and "{solution" not in text
    assert "Before." in text and "After." in text and "```python\nkept = 2\n```" in text


@pytest.mark.parametrize("source", [
    "```{solution} ex-e\n```python\nSECRET_CODE = 1\n```\nSECRET_TEXT\n```",  # the inner ``` ends it
    ":::{solution} ex-e\n:::{note}\nSECRET\n:::\nSECRET_TEXT\n:::",
])
def test_a_fence_as_long_as_the_solutions_is_an_error(source):
    with pytest.raises(student_edition.SolutionError, match="lengthen"):
        student_edition.strip_notebook(_chapter(md(source)))


def test_the_real_book_still_passes():
    for path in student_edition.chapters():
        student_edition.strip_notebook(nbformat.read(path, 4))


# ----------------------------------------------------------------------------------------- Colab cell
PAYLOAD = "https://github.com/o/r'+__import__(\"os\").system(\"touch PWNED\")+'"


def _config(tmp_path: Path, url: str, branch: str = "main") -> Path:
    path = tmp_path / "_config.yml"
    path.write_text(f"repository:\n  url: {json.dumps(url)}\n  branch: {json.dumps(branch)}\n")
    return path


def _record_cell(source: str, cwd: Path) -> dict:
    """Run the cell with subprocess.run and os.chdir recorded, not executed (as in test_publishing)."""
    prelude = ("import json, os, subprocess, sys\ncalls = []\n"
               "subprocess.run = lambda cmd, **kw: calls.append(list(cmd)) or subprocess.CompletedProcess(cmd, 0)\n"
               "os.chdir = lambda d: None\n")
    res = _run(["-I", "-S", "-c", prelude + source + "\nprint(json.dumps(calls))"], cwd=cwd)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_a_quote_in_the_repository_url_is_rejected_and_never_executed(tmp_path):
    nb_path = tmp_path / "01_x.ipynb"
    nbformat.write(_chapter(), nb_path)
    before = nb_path.read_bytes()
    for quoted in (PAYLOAD, PAYLOAD.replace("'", '"'), "https://github.com/o/r\nimport os"):
        config = _config(tmp_path, quoted)
        for args in ([], ["--check"]):
            res = _run([SCRIPTS / "colab_cell.py", "--config", config, *args, nb_path], cwd=tmp_path)
            assert res.returncode == 2 and "repository.url" in res.stderr, res.stderr
            assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
        with pytest.raises(colab_cell.ConfigError):
            colab_cell.cell_source(quoted, "main")
    assert nb_path.read_bytes() == before
    # even if a bad value reached the template, it is a literal: the payload stays a string
    source = colab_cell.TEMPLATE.format(marker=colab_cell.MARKER, url=repr(PAYLOAD), branch=repr("main"),
                                        clone=colab_cell.CLONE_DIR)
    assert _record_cell(source, tmp_path)[0][-2] == PAYLOAD
    assert not list(tmp_path.rglob("PWNED")) and not (ROOT / "PWNED").exists()


@pytest.mark.parametrize("branch", ["a..b", "-x", "/x", "x/", "x.lock", "x.", "a b", "a~1", "a^", "a:b", "a?",
                                    "a*", "a[b", "a\\b", "a@{b", "a//b", "a\tb", "a\x7fb", "", "x/.hidden",
                                    "main\"+__import__('os').system('touch PWNED')+\""])
def test_a_malformed_branch_is_rejected(tmp_path, branch):
    res = _run([SCRIPTS / "colab_cell.py", "--config", _config(tmp_path, "https://github.com/o/r", branch),
                "--check", tmp_path / "none.ipynb"], cwd=tmp_path)
    assert res.returncode == 2 and "repository.branch" in res.stderr, res.stderr
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("text, message", [
    ("repository: [unclosed\n", "not valid YAML"),
    ("title: x\n", "no repository.url"),
    ("repository:\n  branch: main\n", "no repository.url"),
    ("- a list\n", "no repository.url"),
    ("repository:\n  url: 42\n", "repository.url"),
])
def test_a_bad_config_is_a_one_line_error(tmp_path, text, message):
    (tmp_path / "_config.yml").write_text(text)
    res = _run([SCRIPTS / "colab_cell.py", "--config", tmp_path / "_config.yml", "--check",
                tmp_path / "none.ipynb"], cwd=tmp_path)
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("url, branch", [("https://github.com/o/r", "main"),
                                         ("git@github.com:o/r.git", "feature/x-1.2"),
                                         ("https://example.org:8443/a/b$(id);x", "release_2026"),
                                         # a valid git branch name holding quotes: it stays a string
                                         ("https://github.com/o/r",
                                          "x\"+str(__import__('os').system('touch${IFS}PWNED'))+\"")])
def test_the_cell_holds_the_settings_as_python_literals(tmp_path, url, branch):
    url, branch = colab_cell.repository(_config(tmp_path, url, branch))
    source = colab_cell.cell_source(url, branch)
    assign = next(n for n in ast.parse(source).body if isinstance(n, ast.Assign)
                  and [t.id for t in n.targets[0].elts] == ["BOOK_REPOSITORY", "BOOK_BRANCH"])
    assert ast.literal_eval(assign.value) == (url, branch)
    calls = _record_cell(source, tmp_path)  # icrl_lib is not importable under -I -S: the cell clones
    assert calls[0] == ["git", "clone", "--quiet", "--depth", "1", "--branch", branch, url, "icrl-book"]
    assert not (tmp_path / "PWNED").exists()


def test_the_current_config_gives_the_committed_cell():
    """The literals are the quoted strings the template always had: the chapters need no regeneration."""
    url, branch = colab_cell.repository()
    assert f'BOOK_REPOSITORY, BOOK_BRANCH = "{url}", "{branch}"' in colab_cell.cell_source(url, branch)


# ------------------------------------------------------------------------------------- run_notebooks
def test_run_notebooks_reports_a_failing_cell_and_goes_on(tmp_path):
    failing = tmp_path / "failing.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[
        md("# Failing"), code("x = 1"),
        code("\n# fails on purpose, with a coloured message\nraise ValueError('\\x1b[31mred\\x1b[0m alert')"),
        code("print('never')")]), failing)
    passing = tmp_path / "passing.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[code("print(6 * 7)")]), passing)
    timings = tmp_path / "execution_times.json"
    timings.write_text(json.dumps({"01_rl_in_one_chapter": 12.5, "zz_other": 1.0}, indent=1) + "\n")
    before_timings, before_failing = timings.read_bytes(), failing.read_bytes()
    real = ROOT / "book" / "_static" / "execution_times.json"
    real_before = real.read_bytes() if real.exists() else None

    res = _run([SCRIPTS / "run_notebooks.py", "--timeout", "60", "--timings", timings, failing, passing],
               cwd=tmp_path, timeout=120)
    assert res.returncode == 1, res.stdout + res.stderr
    err = res.stderr
    assert "\x1b" not in err and "\x1b" not in res.stdout
    assert f"FAILED {failing}\n  cell 2 (id " in err and "# fails on purpose, with a coloured message" in err
    assert "\n  ValueError: red alert\n" in err
    assert "1 of 2 notebooks failed" in err and "Traceback" not in err and "never" not in err
    assert f"{passing}: executed in" in res.stdout
    assert nbformat.read(passing, 4).cells[0].outputs[0]["text"] == "42\n"
    assert failing.read_bytes() == before_failing  # a failed notebook is left as it was
    assert timings.read_bytes() == before_timings  # nothing outside book/ recorded, nothing dropped
    assert (real.read_bytes() if real.exists() else None) == real_before


def test_only_the_books_notebooks_are_timed(tmp_path):
    assert run_notebooks.in_book(ROOT / "book" / "01_rl_in_one_chapter.ipynb")
    assert not run_notebooks.in_book(tmp_path / "01_rl_in_one_chapter.ipynb")
    assert not run_notebooks.in_book(ROOT / "book" / "sub" / "x.ipynb")
    timings = tmp_path / "t.json"
    timings.write_text(json.dumps({"a": 1.0}))
    run_notebooks.write_json(timings, {"b": 2.0, "a": 1.0})
    assert json.loads(timings.read_text()) == {"a": 1.0, "b": 2.0}
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]  # no temporary file left
