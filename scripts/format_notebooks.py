"""Format the code cells of book notebooks to the book's code width (black style), in place.

Usage: python scripts/format_notebooks.py [--check] [--width 88] book/03_in_context_td.ipynb [...]

The width is the longest code line the book's theme shows without a horizontal scroll bar at 1400 px
(``tests/test_book_style.py`` checks it, ``scripts/check_html.py`` measures it in the built HTML). Code
cells are reformatted with black (``pip install black``; it is a formatting tool, not a requirement of
the book); IPython magics (``%``/``!`` lines) are left as they are. Lines black cannot shorten (long
strings, comments, URLs) are reported with their cell number, for a hand edit. Outputs are not touched:
formatting does not change what a cell computes, but re-execute a notebook anyway before committing
(``scripts/run_notebooks.py``), as for any change of a chapter.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

WIDTH = 88


def _format_source(src: str, width: int) -> str:
    import black

    lines = src.split("\n")
    # Mask IPython magics so black parses the cell; they are restored afterwards.
    masks = {}
    for i, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            token = f"__MAGIC_{i}__ = 0  # masked"
            masks[token] = line
            lines[i] = line[: len(line) - len(stripped)] + token
    text = "\n".join(lines)
    out = text
    # black's string processing splits long (f-)strings into implicitly concatenated pieces; fast=False
    # makes black check that the result parses to the same program. Plain black is the fallback.
    for mode in (black.Mode(line_length=width, preview=True, unstable=True),
                 black.Mode(line_length=width)):
        try:
            out = black.format_file_contents(text, fast=False, mode=mode)
            break
        except black.NothingChanged:
            out = text
            break
        except Exception as exc:  # noqa: BLE001 - an unparsable cell or a black bug: try the next mode
            print(f"  black ({'unstable' if mode.unstable else 'stable'}) failed: {exc}"[:200],
                  file=sys.stderr)
    out = _wrap_comments(out, width)
    for token, line in masks.items():
        out = "\n".join(line if token in row else row for row in out.split("\n"))
    return out.rstrip("\n")


def _wrap_comments(src: str, width: int) -> str:
    """Wrap comment lines longer than ``width``; move a too-long trailing comment above its line."""
    import textwrap

    out = []
    for line in src.split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        stripped = line.lstrip()
        if stripped.startswith("#"):
            body = stripped.lstrip("#").strip()
            out += textwrap.wrap(body, width - len(indent) - 2, initial_indent=indent + "# ",
                                 subsequent_indent=indent + "# ", break_long_words=False)
            continue
        code, sep, comment = line.partition("  # ")
        if sep and '"' not in comment and "'" not in comment and len(code.rstrip()) <= width:
            out += textwrap.wrap(comment.strip(), width - len(indent) - 2, initial_indent=indent + "# ",
                                 subsequent_indent=indent + "# ", break_long_words=False)
            out.append(code.rstrip())
            continue
        out.append(line)
    return "\n".join(out)


def format_notebook(path: Path, width: int = WIDTH, check: bool = False) -> list[tuple[int, int, str]]:
    """Format ``path`` in place (unless ``check``); return the lines still longer than ``width``."""
    nb = nbformat.read(path, as_version=4)
    changed = False
    long_lines = []
    for k, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        new = _format_source(cell.source, width)
        if new != cell.source:
            changed = True
            if not check:
                cell.source = new
        for line in (cell.source if check else new).split("\n"):
            if len(line) > width:
                long_lines.append((k, len(line), line))
    if changed and not check:
        nbformat.write(nb, path)
    if check and changed:
        long_lines.append((-1, 0, "would be reformatted"))
    return long_lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--width", type=int, default=WIDTH)
    parser.add_argument("--check", action="store_true", help="report only; exit 1 if anything would change")
    args = parser.parse_args(argv)
    status = 0
    for path in args.notebooks:
        problems = format_notebook(path, args.width, args.check)
        for cell, n, line in problems:
            status = 1
            where = "notebook" if cell < 0 else f"cell {cell}"
            print(f"{path}: {where}: {n} chars: {line.strip()[:70]}")
    return status


if __name__ == "__main__":
    sys.exit(main())
