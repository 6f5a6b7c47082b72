"""How readers and courses get the book: one repository setting, Colab, Binder, workflows, student edition.

`repository.url` and `repository.branch` in _config.yml are the single source of truth for where the book
lives; the launch buttons, the Colab install cell, the Pages address and the workflows must agree with it.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import colab_cell  # noqa: E402
import student_edition  # noqa: E402

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
URL, BRANCH = colab_cell.repository()
GITHUB = re.compile(r"^https://github\.com/(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+)$")


def test_repository_setting_is_a_github_repository():
    m = GITHUB.match(URL)
    assert m, f"repository.url in _config.yml must be https://github.com/OWNER/REPO, not {URL!r}"
    assert BRANCH and re.fullmatch(r"[\w./-]+", BRANCH)
    assert CONFIG["repository"].get("path_to_book", "") == ""  # the notebooks are at book/ in the repository


def test_pages_address_follows_the_repository():
    m = GITHUB.match(URL)
    assert CONFIG["html"]["baseurl"] == f"https://{m['owner']}.github.io/{m['repo']}/"


def test_written_copies_of_the_address_agree():
    """Texts that must spell the address out (the citation entries) use the configured one."""
    owner_repo = URL.removeprefix("https://github.com/")
    m = GITHUB.match(URL)
    for name in ("book/intro.md", "CITATION.cff", "README.md", "book/00_preface.ipynb", "pyproject.toml"):
        path = ROOT / name
        if not path.exists():
            continue
        text = path.read_text()
        for other in re.findall(r"https://github\.com/([\w.-]+/[\w.-]+?)(?:\.git)?(?=[/\s\"'}),]|$)", text):
            assert other == owner_repo, f"{name} names https://github.com/{other}, _config.yml says {URL}"
        for other in re.findall(r"https://([\w.-]+)\.github\.io/([\w.-]+)", text):
            if other != ("OWNER", "REPO"):  # the README's placeholder
                assert other == (m["owner"], m["repo"]), f"{name} names the Pages site of {other}"


def test_launch_buttons_read_the_repository_setting():
    lb = CONFIG["launch_buttons"]
    assert lb["colab_url"] == "https://colab.research.google.com"
    assert lb["binderhub_url"] == "https://mybinder.org"
    for key in ("repository_url", "repository_branch"):  # no second copy of the address
        assert key not in json.dumps(CONFIG)
    # the built buttons are checked against this setting by scripts/check_html.py (check "launch")


def test_every_chapter_has_the_current_colab_cell():
    """Fails until `python scripts/colab_cell.py` (or `make colab-cell`) has been run after a change."""
    source = colab_cell.cell_source(URL, BRANCH)
    stale = [p.name for p in colab_cell.chapters() if not colab_cell.is_current(nbformat.read(p, 4), source)]
    assert not stale, f"run `python scripts/colab_cell.py`: no current Colab cell in {stale}"


def _run_cell(python: list[str], cwd: Path, source: str) -> dict:
    """Run the cell's code with subprocess.run and os.chdir recorded instead of executed."""
    prelude = (
        "import json, os, subprocess, sys\n"
        "calls, dirs = [], []\n"
        "subprocess.run = lambda cmd, **kw: calls.append(list(cmd)) or subprocess.CompletedProcess(cmd, 0)\n"
        "os.chdir = dirs.append\n"
        "sys.stdout = out = __import__('io').StringIO()\n"
    )
    epilogue = ("\nsys.stdout = sys.__stdout__\n"
                "print(json.dumps({'calls': calls, 'chdir': dirs, 'printed': out.getvalue(), "
                "'python': sys.executable}))\n")
    proc = subprocess.run(python + ["-c", prelude + source + epilogue], cwd=cwd, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_colab_cell_installs_from_the_repository_when_icrl_lib_is_missing(tmp_path):
    # -I -S: no site-packages, so icrl_lib is not importable (as on Colab); nothing is really run
    res = _run_cell([sys.executable, "-I", "-S"], tmp_path, colab_cell.cell_source(URL, BRANCH))
    assert res["calls"] == [
        ["git", "clone", "--quiet", "--depth", "1", "--branch", BRANCH, URL, "icrl-book"],
        [res["python"], "-m", "pip", "install", "--quiet", "./icrl-book"],
    ]
    assert res["printed"] == ""
    # a second run in the same session (the clone exists): no second clone, and the cell moves into book/
    (tmp_path / "icrl-book" / "book").mkdir(parents=True)
    res = _run_cell([sys.executable, "-I", "-S"], tmp_path, colab_cell.cell_source(URL, BRANCH))
    assert res["calls"] == [[res["python"], "-m", "pip", "install", "--quiet", "./icrl-book"]]
    assert res["chdir"] == ["icrl-book/book"]


def test_colab_cell_does_nothing_in_the_books_environment():
    res = _run_cell([sys.executable], ROOT / "book", colab_cell.cell_source(URL, BRANCH))
    assert res == {**res, "calls": [], "chdir": [], "printed": ""}


def test_colab_cell_is_idempotent_and_first_among_code_cells():
    source = colab_cell.cell_source(URL, BRANCH)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title"),
                                         nbformat.v4.new_code_cell("from icrl_lib.notebook import setup")])
    assert colab_cell.apply(nb, source) is True
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code"]
    assert nb.cells[1].metadata["tags"] == ["remove-cell"] and nb.cells[1].source == source
    assert colab_cell.apply(nb, source) is False
    nbformat.validate(nb)
    # a stale cell (another URL) is replaced, not duplicated
    old = colab_cell.cell_source("https://github.com/someone/else", "main")
    nb.cells[1].source = old
    assert colab_cell.apply(nb, source) is True
    assert sum(c.source.startswith(colab_cell.MARKER) for c in nb.cells) == 1


def _workflow(name: str) -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())


def test_workflows_build_deploy_and_test():
    book, test = _workflow("book.yml"), _workflow("test.yml")
    runs = " ".join(s.get("run", "") for s in book["jobs"]["build"]["steps"])
    assert "make book" in runs and "make pdf" in runs
    uploads = [s for s in book["jobs"]["build"]["steps"] if "upload-pages-artifact" in s.get("uses", "")]
    assert uploads and uploads[0]["with"]["path"] == "_build/html"
    assert any("deploy-pages" in s.get("uses", "") for s in book["jobs"]["deploy"]["steps"])
    assert book[True]["push"]["branches"] == [BRANCH]  # YAML reads the key `on` as True
    assert any(s.get("run") == ".ci/run" for s in test["jobs"]["test"]["steps"])
    for name in ("book.yml", "test.yml"):  # no other address of the book hides in a workflow
        text = (ROOT / ".github" / "workflows" / name).read_text()
        for m in re.finditer(r"https://github\.com/[\w.-]+/[\w.-]+", text):
            assert m.group(0) == URL


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)$", line.strip())
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def test_binder_installs_cpu_torch_and_the_pinned_rest():
    text = (ROOT / "binder" / "requirements.txt").read_text()
    torch = _pins(ROOT / "requirements.txt")["torch"]
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in text
    assert f"torch=={torch}+cpu" in text.splitlines()
    assert "-r ../requirements.txt" in text.splitlines()
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    assert "pip install --no-deps -e ." in (ROOT / "binder" / "postBuild").read_text()


def test_lab_requirements_are_exact_and_do_not_repin_the_book():
    lab, book = _pins(ROOT / "requirements-lab.txt"), _pins(ROOT / "requirements.txt")
    lines = [l for l in (ROOT / "requirements-lab.txt").read_text().splitlines() if l and not l.startswith("#")]
    assert len(lines) == len(lab) and "jupyterlab" in lab
    assert not set(lab) & set(book)


def test_make_targets_exist():
    out = subprocess.run(["make", "-n", "-B", "lab", "pdf", "student", "check-html", "colab-cell"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for cmd in ("jupyter lab --notebook-dir=book", "scripts/build_pdf.py", "scripts/student_edition.py",
                "scripts/check_html.py", "scripts/colab_cell.py"):
        assert cmd in out.stdout


# ------------------------------------------------------------------------------------ student edition
def _toy():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    scaffold = code('def f(x):\n    raise NotImplementedError("exercise")\n\nf(1)')
    scaffold.metadata["tags"] = ["raises-exception"]
    scaffold.outputs = [nbformat.v4.new_output("error", ename="NotImplementedError", evalue="exercise",
                                               traceback=[])]
    return nbformat.v4.new_notebook(cells=[
        md("# Chapter\n\nText."),
        code("x = 1"),
        md("## Exercises\n\n```{exercise} Square\n:label: ex-sq\n\nWrite f.\n```"),
        scaffold,
        md("```{solution-start} ex-sq\n:class: dropdown\n```\n\nThe answer is $x^2$:"),
        code("def f(x):\n    return x * x\n\nhelper = f(3)"),
        md("so f(3) = 9.\n\n```{solution-end}\n```\n\n```{exercise} Why\n:label: ex-why\n\nExplain.\n```\n\n"
           "````{solution} ex-why\n:class: dropdown\n\nBecause.\n\n```python\nprint(1)\n```\n````\n\nAfter."),
        code("print(x)"),
    ])


def test_student_edition_removes_solutions_and_keeps_scaffolds():
    student, stats = student_edition.strip_notebook(_toy())
    text = "\n".join(c.source for c in student.cells)
    assert "{solution" not in text and "return x * x" not in text and "Because" not in text
    assert "The answer" not in text and "so f(3)" not in text
    assert "{exercise} Square" in text and "{exercise} Why" in text and "After." in text
    scaffolds = [c for c in student.cells if "raises-exception" in c.metadata.get("tags", [])]
    assert len(scaffolds) == 1 and scaffolds[0].outputs == [] and "NotImplementedError" in scaffolds[0].source
    assert [c.source for c in student.cells if c.cell_type == "code"][-1] == "print(x)"
    assert stats == {"solutions": 2, "solution_cells": 1, "scaffolds": 1}
    nbformat.validate(student)


def test_student_edition_refuses_a_notebook_that_would_not_run():
    nb = _toy()
    nb.cells.append(nbformat.v4.new_code_cell("print(helper)"))  # defined only in the solution
    with pytest.raises(student_edition.SolutionError, match="helper"):
        student_edition.strip_notebook(nb)
    nb = _toy()
    nb.cells[6].source = "unclosed"  # {solution-start} without {solution-end}
    with pytest.raises(student_edition.SolutionError):
        student_edition.strip_notebook(nb)


@pytest.mark.parametrize("path", student_edition.chapters(), ids=lambda p: p.stem)
def test_student_edition_of_each_chapter(path):
    nb = nbformat.read(path, 4)
    student, stats = student_edition.strip_notebook(nb)
    src = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    out = "\n".join(c.source for c in student.cells if c.cell_type == "markdown")
    n_solutions = len(re.findall(r"^\s*[`:]{3,}\s*\{solution(?:-start)?\}", src, re.M))
    assert stats["solutions"] == n_solutions
    assert "{solution" not in out
    assert out.count("{exercise}") == src.count("{exercise}")
    tag = "raises-exception"
    assert (sum(tag in c.metadata.get("tags", []) for c in student.cells)
            == sum(tag in c.metadata.get("tags", []) for c in nb.cells))


# -------------------------------------------------------------------------------------- browser check
FAULTY_PAGE = """<!DOCTYPE html><html><head><title>A \\(x\\) title</title></head><body>
<nav class="bd-docs-nav"><a href="01_rl.html">RL in one chapter</a></nav>
<main><article class="bd-article" style="width:800px;padding:0 10px">
<section id="s1"><h1>Intro</h1>
<p>As [W25] show, and <a href="#nowhere">a broken link</a>, and raw \\frac{a}{b} TeX.</p>
<p><a href="#cite-x">W25</a> points to an entry with another label.</p>
<div class="citation" id="cite-x" role="doc-biblioentry"><span class="label">[WBDZ25]</span></div>
<div class="solution admonition" id="sol"><p class="admonition-title">Solution</p><p>shown</p></div>
<table style="width:1500px"><tr><th>wide</th></tr></table>
<div class="cell"><div class="cell_input"><pre>x = 1  # """ + "y" * 100 + """</pre></div></div>
<img src="missing.png">
</section></article></main></body></html>"""
CLEAN_PAGE = """<!DOCTYPE html><html><head><title>RL</title></head><body>
<nav class="bd-docs-nav"><a href="01_rl.html">1. RL in one chapter</a></nav>
<main><article class="bd-article"><section id="s"><h1>1. RL</h1><p>Plain text.</p></section></article></main>
</body></html>"""


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium")
def test_check_html_reports_each_fault_with_page_and_element(tmp_path):
    site = tmp_path / "html"
    (site / "book").mkdir(parents=True)
    (site / "index.html").write_text('<meta http-equiv="Refresh" content="0; url=book/intro.html" />')
    (site / "book" / "intro.html").write_text(FAULTY_PAGE)
    (site / "book" / "01_rl.html").write_text(CLEAN_PAGE)
    out = tmp_path / "failures.json"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_html.py"), "--html", str(site),
                           "--screenshots", str(tmp_path / "shots"), "--json", str(out), "--skip", "search"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    failures = json.loads(out.read_text())
    found = {(f["check"], f["page"]) for f in failures}
    for check in ("titles", "numbering", "citations", "links", "mathjax", "solutions", "width", "codewidth",
                  "images"):
        assert (check, "book/intro.html") in found, (check, proc.stdout)
    assert not [f for f in failures if f["page"] == "book/01_rl.html"], proc.stdout
    texts = " ".join(f["what"] for f in failures)
    assert "[W25] is plain text" in texts and "labelled [WBDZ25]" in texts
    assert "no element with id 'nowhere'" in texts and "not a dropdown" in texts
    assert (tmp_path / "shots" / "intro.png").exists()
