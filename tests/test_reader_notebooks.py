"""Reader notebooks (scripts/reader_notebooks.py) and the Colab cells (scripts/colab_cell.py) as a reader meets them.

- The converter turns every MyST construct of a small chapter into plain Markdown: bold numbered titles,
  quotes, expanded macros, citations and cross-references as linked text; the real chapters convert with
  no MyST source left and every reference resolved.
- The Colab cell, run by IPython with a repository that cannot be cloned, stops with one sentence naming
  repository.url and the README section, not a CalledProcessError traceback.
- The student edition's Colab cell, run against a real (local) git repository, installs the library and
  fetches the chapter's data files and nothing else: the chapters' files are never downloaded.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import colab_cell  # noqa: E402
import reader_notebooks as rn  # noqa: E402

md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell

SMALL = [
    md("# Toy chapter\n\nAs {cite:t}`liang2026transformers` show, and {cite:p}`wang2025transformers`."),
    md("```{admonition} Learning goals\n:class: tip\nAfter this chapter you can\n\n1. use $\\E[X]$;\n```"),
    md("```{prf:definition} Value\n:label: def-toy-v\n\n$v = w^\\T x \\in \\R$.\n```\n\n"
       "```{prf:theorem} Main [LL26]\n:label: thm-toy\n\nBy {prf:ref}`def-toy-v`, $\\LSA(H) = H$.\n```\n\n"
       "```{prf:proof}\nSee {numref}`fig-toy` and {eq}`eq-toy`.\n```"),
    md("(sec-toy)=\n## 2. A section\n\n$$\nx = \\Ghat^\\T y\n$$ (eq-toy)\n\n```{math}\n:label: eq-toy2\na = \\one\n```\n\n"
       "```{index} toy\n```\nSee {ref}`sec-toy`, {ref}`the exercise <ex-toy>`, {prf:ref}`prop-ch2-moment` "
       "and {doc}`notation`.\n\n```{note}\nA note.\n```"),
    code("import matplotlib"),
    md("## Exercises\n\n````{exercise} Square\n:label: ex-toy\n\nWrite f.\n\n```python\nf(2)\n```\n````\n\n"
       "```{solution-start} ex-toy\n:class: dropdown\n```\nThe answer:"),
    code("def f(x):\n    return x * x"),
    md("```{solution-end}\n```\n\n## References\n\n```{bibliography}\n:filter: docname in docnames\n```"),
]


def _small():
    nb = nbformat.v4.new_notebook(cells=[c.copy() for c in SMALL])
    nb.cells[4].metadata["mystnb"] = {"figure": {"caption": "A toy figure of $\\R^2$.", "name": "fig-toy"}}
    return nb


@pytest.fixture(scope="module")
def book():
    """The real book's index plus the toy chapter (as chapter 5 of the book)."""
    b = rn.load_book()
    rn.index_notebook(b, _small(), "book/05_toy", "5")
    return b


def test_small_notebook_reads_as_plain_markdown(book):
    reader = rn.reader_notebook(_small(), book, "book/05_toy")
    text = "\n\n".join(c.source for c in reader.cells if c.cell_type == "markdown")
    assert rn.leftover_myst(reader) == [], rn.leftover_myst(reader)
    assert "unresolved" not in reader.metadata["reader_notebook"]
    base = book.baseurl
    # citations: text with links to the online bibliography
    assert (f"Liang and Lai [[LL26]({base}book/bibliography.html#cite-all-liang2026transformers)]" in text)
    assert f"[[W25]({base}book/bibliography.html#cite-all-wang2025transformers)]" in text
    # directives: bold numbered titles in quotes, anchors, proof, admonition title
    assert "> **Learning goals**" in text and "> 1. use $\\mathbb{E}[X]$;" in text
    assert '<a id="def-toy-v"></a>' in text and "> **Definition 5.1** (Value)" in text
    assert "> **Theorem 5.1** (Main [[LL26](" in text
    assert "By [Definition 5.1](#def-toy-v)" in text and "*Proof.*" in text and "∎" in text
    assert "**Exercise 5.1** (Square)" in text and "> ```python" in text
    assert "**Solution to Exercise 5.1** (Square)" in text and "> **Note**" in text
    # figures, equations, sections, other chapters and pages
    assert "**Fig. 5.1** A toy figure of $\\mathbb{R}^2$." in text and "[Fig. 5.1](#fig-toy)" in text
    assert "[(5.1)](#eq-toy)" in text and "\\tag{5.1} $$" in text and "\\tag{5.2}" in text
    assert "[2. A section](#sec-toy)" in text and "[the exercise](#ex-toy)" in text
    assert f"[Proposition 2.1]({base}book/02_icl_linear_attention.html#prop-ch2-moment)" in text
    assert f"]({base}book/notation.html)" in text
    # macros expanded, no macro left
    for macro in ("\\E[", "\\T", "\\R", "\\LSA", "\\Ghat", "\\one"):
        assert macro not in text.replace("\\top", "").replace("\\tag", ""), macro
    assert "\\widehat{G}^\\top y" in text and "\\operatorname{LSA}(H)" in text and "\\mathbf{1}" in text
    # the reference list holds what the chapter cites
    refs = reader.cells[-1].source
    assert "[LL26] Haodong Liang, Lifeng Lai." in refs and "[W25]" in refs
    # code stays code, with the solution cell (this is the full reader notebook)
    assert [c.source for c in reader.cells if c.cell_type == "code"] == ["import matplotlib",
                                                                       "def f(x):\n    return x * x"]
    nbformat.validate(reader)


def test_leftover_myst_finds_directive_source():
    nb = nbformat.v4.new_notebook(cells=[md("```{prf:theorem} T\n:label: x\n\nbody\n```"),
                                         md("see {cite:t}`k`"), md("```python\n# {cite:t}`k` in code\n```")])
    found = rn.leftover_myst(nb)
    assert len(found) == 3 and all("cell 2" not in f for f in found)


@pytest.mark.parametrize("path", rn.chapters(), ids=lambda p: p.stem)
def test_every_chapter_converts_completely(path, book):
    reader = rn.reader_notebook(nbformat.read(path, 4), book, f"book/{path.stem}")
    assert rn.leftover_myst(reader) == []
    assert "unresolved" not in reader.metadata["reader_notebook"], reader.metadata["reader_notebook"]
    nbformat.validate(reader)


# ------------------------------------------------------------------------------------------- Colab cells
def _ipython(source: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run a cell as Colab does (IPython), with icrl_lib not importable (no site-packages on the path)."""
    script = cwd / "cell.py"
    script.write_text(source)
    runner = ("import sys; sys.path = [p for p in sys.path if 'icrl' not in p and p != '']\n"
              "import importlib.util, IPython\n"
              "sys.modules.pop('icrl_lib', None)\n"
              "from IPython.core.interactiveshell import InteractiveShell\n"
              "sh = InteractiveShell.instance()\n"
              f"sh.run_cell(open({str(script)!r}).read())\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-c", runner], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env=env)


def _with_url(template: str, url: str, **kw) -> str:
    return template.format(marker=colab_cell.MARKER, url=repr(url), branch=repr("main"), **kw)


def test_colab_cell_fails_with_one_sentence_when_the_clone_is_impossible(tmp_path):
    source = _with_url(colab_cell.TEMPLATE, f"file://{tmp_path}/no-such-repository", clone="icrl-book")
    source = source.replace('importlib.util.find_spec("icrl_lib") is None', "True")  # as on Colab
    proc = _ipython(source, tmp_path)
    out = proc.stdout + proc.stderr
    assert "CalledProcessError" not in out and "Traceback" not in out, out
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out
    assert "repository.url" in lines[0] and "_config.yml" in lines[0] and "Reading the book" in lines[0]
    assert "Could not clone the book from file://" in lines[0]
    assert not (tmp_path / "icrl-book").exists()


def _git(*args, cwd: Path) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_student_colab_cell_fetches_the_library_and_the_data_files_only(tmp_path):
    origin = tmp_path / "origin"
    (origin / "icrl_lib").mkdir(parents=True)
    (origin / "icrl_lib" / "__init__.py").write_text("")
    (origin / "pyproject.toml").write_text("[project]\nname = 'icrl_lib'\n")
    (origin / "README.md").write_text("# Book\n")
    (origin / "book" / "_static" / "results").mkdir(parents=True)
    (origin / "book" / "_static" / "results" / "ch1_a.json").write_text("{}")
    (origin / "book" / "_static" / "results" / "ch2_b.json").write_text('{"other": 1}')
    (origin / "book" / "01_chapter.ipynb").write_text('{"SECRET SOLUTION": 1}')
    _git("init", "-q", "-b", "main", cwd=origin)
    _git("add", ".", cwd=origin)
    _git("commit", "-q", "-m", "book", cwd=origin)
    _git("config", "uploadpack.allowFilter", "true", cwd=origin)
    secret = _git("rev-parse", "HEAD:book/01_chapter.ipynb", cwd=origin).strip()

    files = [*colab_cell.LIBRARY_FILES, "book/_static/results/ch1_a.json"]
    source = _with_url(colab_cell.STUDENT_TEMPLATE, f"file://{origin}", clone="icrl-lib", files=repr(files))
    source = source.replace('importlib.util.find_spec("icrl_lib") is None', "True")  # as on Colab
    # pip is recorded, not run (git is real)
    source = source.replace('    run(*pip, what="install icrl_lib")', '    print("PIP", pip[-1])')
    student = tmp_path / "colab"
    student.mkdir()
    proc = _ipython(source + "\nprint('CWD', os.getcwd())", student)
    assert proc.returncode == 0 and "PIP ./icrl-lib" in proc.stdout, proc.stdout + proc.stderr
    assert f"CWD {student / 'icrl-lib' / 'book'}" in proc.stdout
    clone = student / "icrl-lib"
    assert (clone / "icrl_lib" / "__init__.py").exists() and (clone / "pyproject.toml").exists()
    assert (clone / "book" / "_static" / "results" / "ch1_a.json").exists()
    assert not (clone / "book" / "_static" / "results" / "ch2_b.json").exists()
    assert not (clone / "book" / "01_chapter.ipynb").exists()
    # the chapter's blob was never downloaded (partial clone: it is a missing promisor object)
    missing = subprocess.run(["git", "rev-list", "--objects", "--missing=print", "HEAD"], cwd=clone,
                             capture_output=True, text=True, env={**os.environ, "GIT_NO_LAZY_FETCH": "1"}).stdout
    assert f"?{secret}" in missing.split(), missing


def test_student_cell_lists_each_chapters_data_files():
    for path in colab_cell.chapters():
        files = colab_cell.chapter_data_files(nbformat.read(path, 4))
        assert all((ROOT / f).is_file() for f in files)
        source = colab_cell.student_cell_source("https://github.com/o/r", "main", files)
        assert max(map(len, source.splitlines())) <= 88
        assert "book/0" not in source.replace("book/_static/results", "")  # no chapter is fetched
    nb = nbformat.read(ROOT / "book" / "11_beyond_the_papers.ipynb", 4)
    assert "book/_static/results/ch6_success_sarsa_default.json" in colab_cell.chapter_data_files(nb)
    with pytest.raises(colab_cell.ConfigError):
        colab_cell.student_cell_source("https://github.com/o/r", "main", ["book/01_x.ipynb"])


def test_student_edition_notebooks_are_reader_notebooks(tmp_path):
    out = tmp_path / "student"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "student_edition.py"), "--out", str(out),
                           "--no-zip", str(ROOT / "book" / "06_teacher_mimicking.ipynb")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    nb = nbformat.read(out / "book" / "06_teacher_mimicking.ipynb", 4)
    assert rn.leftover_myst(nb) == []
    text = json.dumps(nb)
    assert "Solution to" not in text and "{solution" not in text
    cell = next(c for c in nb.cells if c.cell_type == "code")
    assert cell.source.startswith(colab_cell.MARKER) and "--filter=blob:none" in cell.source
    assert "book/_static/results/ch6_tm_sarsa_seed0.json" in cell.source
