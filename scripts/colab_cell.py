"""Insert or update the Colab install cell at the top of every chapter notebook.

Usage: python scripts/colab_cell.py [--check] [notebook.ipynb ...]   (default: every book/NN_*.ipynb)

The cell is generated from ``repository.url`` and ``repository.branch`` in ``_config.yml``, the one
place that says where the book lives (the launch buttons read the same keys). Both are checked (an
https://HOST/PATH or git@HOST:PATH address without spaces, quotes or control characters; a branch name
by git's check-ref-format rules) and written into the cell as Python string literals: a quote in
_config.yml can never become code in every reader's first cell. A bad value, malformed YAML or a missing
key is a one-line error (exit 2). On Colab, or in any
Python where ``icrl_lib`` is not importable, the cell clones the book at that branch (the chapters read
their data files from ``book/_static``), installs ``icrl_lib`` from the clone with pip, and moves into the
clone's ``book/`` folder. In the book's own environment (``make``, nbval, the HTML build) it prints
nothing and changes nothing. The cell is tagged ``remove-cell``: the HTML and the PDF do not show it.

The cell's code is already in black's style at 88 columns (scripts/format_notebooks.py leaves it as
it is). Running the script twice changes nothing the second time. ``--check`` changes nothing and exits 1 if a
chapter lacks the current cell (``tests/test_publishing.py`` runs the same check).
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "_config.yml"
MARKER = "# Colab (or any Python without icrl_lib): fetch the book and install icrl_lib."
TAGS = ["remove-cell"]
CLONE_DIR = "icrl-book"

# Shared by both cells: run a command quietly; on failure stop the notebook with one sentence.
_COMMON = '''{marker}
# In the book's own environment this cell does nothing and prints nothing.
import importlib, importlib.util, os, subprocess, sys

BOOK_REPOSITORY, BOOK_BRANCH = {url}, {branch}


class BookNotFetched(RuntimeError):
    def _render_traceback_(self):  # IPython prints this sentence instead of a traceback
        return [str(self)]


def run(*cmd, what):
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0")  # never ask for a password
    try:
        done = subprocess.run(list(cmd), env=env, capture_output=True, text=True)
    except OSError:
        done = None
    if done is None or done.returncode != 0:
        raise BookNotFetched(
            f"Could not {{what}} from {{BOOK_REPOSITORY}} (branch {{BOOK_BRANCH}}): this "
            "cell comes from repository.url in the book's _config.yml; see 'On Colab' "
            "in the README section 'Reading the book'."
        ) from None

'''

TEMPLATE = _COMMON + '''
if importlib.util.find_spec("icrl_lib") is None:
    if not os.path.isdir("{clone}"):
        clone = ["git", "clone", "--quiet", "--depth", "1", "--branch", BOOK_BRANCH]
        run(*clone, BOOK_REPOSITORY, "{clone}", what="clone the book")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "./{clone}"]
    run(*pip, what="install icrl_lib")
    importlib.invalidate_caches()
if os.path.isdir("{clone}/book"):
    os.chdir("{clone}/book")  # the chapters read their data files relative to book/'''

# The student edition's cell: the library and this chapter's data files only, never the chapters (the
# solutions): a clone without any file (--filter=blob:none --no-checkout), then a checkout of the named
# paths, which downloads only their files.
STUDENT_CLONE_DIR = "icrl-lib"
STUDENT_TEMPLATE = _COMMON + '''
# The library and this chapter's data files only: the book's chapters are not fetched.
FILES = {files}
if importlib.util.find_spec("icrl_lib") is None:
    if not os.path.isdir("{clone}"):
        clone = ["git", "clone", "--quiet", "--depth", "1", "--filter=blob:none"]
        clone += ["--no-checkout", "--branch", BOOK_BRANCH, BOOK_REPOSITORY, "{clone}"]
        run(*clone, what="fetch icrl_lib")
    checkout = ["git", "-C", "{clone}", "checkout", "--quiet", "HEAD", "--"]
    run(*checkout, *FILES, what="fetch icrl_lib and this chapter's data files")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "./{clone}"]
    run(*pip, what="install icrl_lib")
    importlib.invalidate_caches()
if os.path.isdir("{clone}/book"):
    os.chdir("{clone}/book")  # the chapter reads its data files relative to book/'''
#: What the student cell fetches besides the chapter's data files (pip builds icrl_lib from these).
LIBRARY_FILES = ("pyproject.toml", "README.md", "icrl_lib")


class ConfigError(ValueError):
    pass


# https://host/path or git@host:path (scp-like ssh); no whitespace, quotes, backslashes or control characters.
URL = re.compile(r"^(?:https://[A-Za-z0-9.-]+(?::[0-9]+)?/[^\s'\"`\\<>]+|git@[A-Za-z0-9.-]+:[^\s'\"`\\<>]+)$")


def check_url(url) -> str:
    if not isinstance(url, str) or not URL.match(url) or any(ord(c) < 32 or ord(c) == 127 for c in url):
        raise ConfigError(f"repository.url must be https://HOST/PATH or git@HOST:PATH without spaces, quotes or "
                          f"control characters; got {url!r}")
    return url


def check_branch(branch) -> str:
    """The rules of ``git check-ref-format --branch`` (a branch name, not an arbitrary string)."""
    bad = None
    if not isinstance(branch, str) or not branch:
        bad = "a non-empty string"
    elif any(ord(c) < 32 or ord(c) == 127 for c in branch) or any(c in branch for c in " ~^:?*[\\"):
        bad = "free of spaces, control characters and ~ ^ : ? * [ \\"
    elif ".." in branch or "@{" in branch or "//" in branch or branch == "@":
        bad = "free of '..', '@{' and '//' (and not '@')"
    elif branch.startswith(("-", "/", ".")) or branch.endswith(("/", ".", ".lock")):
        bad = "not starting with '-', '/' or '.' and not ending with '/', '.' or '.lock'"
    elif any(part.startswith(".") or part.endswith(".lock") for part in branch.split("/")):
        bad = "without a component starting with '.' or ending with '.lock'"
    if bad:
        raise ConfigError(f"repository.branch must be a git branch name ({bad}); got {branch!r}")
    return branch


def repository(config: Path = CONFIG) -> tuple[str, str]:
    """(url, branch) from _config.yml's ``repository`` block, checked (ConfigError otherwise)."""
    try:
        data = yaml.safe_load(config.read_text())
    except OSError as e:
        raise ConfigError(f"cannot read {config}: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{config} is not valid YAML: {' '.join(str(e).split())}") from None
    repo = (data or {}).get("repository") if isinstance(data or {}, dict) else None
    if not isinstance(repo, dict) or not repo.get("url"):
        raise ConfigError(f"{config} has no repository.url")
    url, branch = repo["url"], repo.get("branch", "main")
    url = check_url(url).rstrip("/")
    return check_url(url), check_branch(branch)


def cell_source(url: str, branch: str) -> str:
    # Python literals (repr), never pasted text: the cell runs on every reader's machine.
    return TEMPLATE.format(marker=MARKER, url=_literal(check_url(url)), branch=_literal(check_branch(branch)),
                           clone=CLONE_DIR)


def student_cell_source(url: str, branch: str, data_files: list[str]) -> str:
    """The student edition's cell: installs icrl_lib and fetches ``data_files`` (paths in the repository,
    book/_static/results/...) without the chapters."""
    for f in data_files:
        if not DATA_FILE.match(f):
            raise ConfigError(f"a chapter data file must be book/_static/results/NAME.json; got {f!r}")
    files = [*LIBRARY_FILES, *sorted(set(data_files))]
    listing = "[" + ", ".join(_literal(f) for f in files) + "]"
    if len(f"FILES = {listing}") > 88:  # black's style: one item a line
        listing = "[\n" + "".join(f"    {_literal(f)},\n" for f in files) + "]"
    return STUDENT_TEMPLATE.format(marker=MARKER, url=_literal(check_url(url)),
                                   branch=_literal(check_branch(branch)), clone=STUDENT_CLONE_DIR,
                                   files=listing)


DATA_FILE = re.compile(r"^book/_static/results/[A-Za-z0-9_.+-]+\.json$")
RESULTS = ROOT / "book" / "_static" / "results"
_LOAD = re.compile(r"""load_result\(\s*(f?)(["'])(.+?)\2""")
_PARADIGM = re.compile(r"\bPARADIGM_RESULTS\b")


def chapter_data_files(nb, results: Path = RESULTS, root: Path = ROOT) -> list[str]:
    """The committed result files a chapter reads (repository paths): every ``load_result("NAME")``, every
    ``load_result(f"...{x}...")`` as a pattern over the files in book/_static/results, every result name
    written as a string in a code cell, and icrl_lib.training's PARADIGM_RESULTS when the chapter uses it."""
    names = sorted(p.stem for p in results.glob("*.json"))
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    found = set()
    for m in _LOAD.finditer(code):
        text = m.group(3).removesuffix(".json")
        if m.group(1):
            pattern = re.compile("^" + ".+".join(map(re.escape, re.split(r"\{[^{}]*\}", text))) + "$")
            found |= {n for n in names if pattern.match(n)}
        elif text in names:
            found.add(text)
    found |= {n for n in names if re.search(r"""["']""" + re.escape(n) + r"""(?:\.json)?["']""", code)}
    if _PARADIGM.search(code):
        paradigms = (root / "icrl_lib" / "training" / "paradigms.py")
        if paradigms.exists():
            m = re.search(r"PARADIGM_RESULTS\s*=\s*\(([^)]*)\)", paradigms.read_text())
            if m:
                found |= {n for n in re.findall(r"""["']([^"']+)["']""", m.group(1)) if n in names}
    return [f"book/_static/results/{n}.json" for n in sorted(found)]


def _literal(text: str) -> str:
    """The string as a Python literal, in double quotes (black's style) when that needs no escaping."""
    return f'"{text}"' if '"' not in text and "\\" not in text and text.isprintable() else repr(text)


def chapters(root: Path = ROOT) -> list[Path]:
    return sorted((root / "book").glob("[0-9][0-9]_*.ipynb"))


def find_cell(nb) -> int | None:
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.source.startswith(MARKER):
            return i
    return None


def is_current(nb, source: str) -> bool:
    i = find_cell(nb)
    if i is None:
        return False
    cell = nb.cells[i]
    first_code = next(j for j, c in enumerate(nb.cells) if c.cell_type == "code")
    return (cell.source == source and cell.metadata.get("tags") == TAGS and not cell.outputs
            and i == first_code)


def apply(nb, source: str) -> bool:
    """Put the current cell first among the code cells (after the title cell). True if nb changed."""
    if is_current(nb, source):
        return False
    i = find_cell(nb)
    if i is not None:
        nb.cells.pop(i)
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = list(TAGS)
    cell.pop("id", None)  # scripts/run_notebooks.py renumbers ids; keep nbformat 4.5 valid below
    first_code = next((j for j, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
    at = min(first_code, 1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0)
    nb.cells.insert(at, cell)
    ids = {c.get("id") for c in nb.cells}
    k = 0
    while f"colab-install-{k}" in ids:
        k += 1
    cell["id"] = f"colab-install-{k}" if k else "colab-install"
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*", type=Path)
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if a cell is missing or stale")
    ap.add_argument("--config", type=Path, default=CONFIG)
    args = ap.parse_args(argv)
    try:
        url, branch = repository(args.config)
    except ConfigError as e:
        print(f"colab_cell: {e}", file=sys.stderr)
        return 2
    source = cell_source(url, branch)
    stale = []
    for path in args.notebooks or chapters():
        nb = nbformat.read(path, as_version=4)
        if args.check:
            if not is_current(nb, source):
                stale.append(path)
            continue
        if apply(nb, source):
            nbformat.write(nb, path)
            print(f"{path}: Colab install cell written ({url} @ {branch})")
    if stale:
        for path in stale:
            print(f"{path}: no current Colab install cell; run python scripts/colab_cell.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
