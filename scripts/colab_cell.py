"""Insert or update the Colab install cell at the top of every chapter notebook.

Usage: python scripts/colab_cell.py [--check] [notebook.ipynb ...]   (default: every book/NN_*.ipynb)

The cell is generated from ``repository.url`` and ``repository.branch`` in ``_config.yml``, the one
place that says where the book lives (the launch buttons read the same keys). On Colab, or in any
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
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "_config.yml"
MARKER = "# Colab (or any Python without icrl_lib): fetch the book and install icrl_lib."
TAGS = ["remove-cell"]
CLONE_DIR = "icrl-book"

TEMPLATE = '''{marker}
# In the book's own environment this cell does nothing and prints nothing.
import importlib, importlib.util, os, subprocess, sys

BOOK_REPOSITORY, BOOK_BRANCH = "{url}", "{branch}"
if importlib.util.find_spec("icrl_lib") is None:
    if not os.path.isdir("{clone}"):
        clone = ["git", "clone", "--quiet", "--depth", "1", "--branch", BOOK_BRANCH]
        subprocess.run(clone + [BOOK_REPOSITORY, "{clone}"], check=True)
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "./{clone}"]
    subprocess.run(pip, check=True)
    importlib.invalidate_caches()
if os.path.isdir("{clone}/book"):
    os.chdir("{clone}/book")  # the chapters read their data files relative to book/'''


def repository(config: Path = CONFIG) -> tuple[str, str]:
    """(url, branch) from _config.yml's ``repository`` block."""
    repo = (yaml.safe_load(config.read_text()) or {}).get("repository") or {}
    url, branch = repo.get("url"), repo.get("branch", "main")
    if not url:
        raise SystemExit(f"colab_cell: {config} has no repository.url")
    return url.rstrip("/"), branch


def cell_source(url: str, branch: str) -> str:
    return TEMPLATE.format(marker=MARKER, url=url, branch=branch, clone=CLONE_DIR)


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
    url, branch = repository(args.config)
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
