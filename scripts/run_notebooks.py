"""Re-execute notebooks in place and normalise their metadata (``make notebooks``).

Usage: python scripts/run_notebooks.py [--timeout S] [--timings FILE] book/01_rl_in_one_chapter.ipynb [...]

Normalising keeps diffs small and outputs reproducible: stable cell ids, one kernelspec, no execution
timings, execution counts renumbered from 1, and the ``language_info`` block reduced to the language name.

A notebook that fails is left as it was, reported in one block (the notebook, the failing cell's index and
first line, the exception), and the others still run; the exit status is 1 if any failed. The wall times
of the chapters in book/ (only those) go to book/_static/execution_times.json (``--timings``), keeping the
entries of the notebooks not run.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

BOOK = Path(__file__).resolve().parent.parent / "book"
TIMINGS = BOOK / "_static" / "execution_times.json"
# ANSI escape sequences (IPython colours its tracebacks) and other control characters but tab/newline
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]|[\x00-\x08\x0b-\x1f\x7f]")
NUMERIC_ENV_VARS = ("MKL_CBWR", "ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS", "ICRL_NUM_THREADS")
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def normalise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb.metadata = nbformat.from_dict({
        "kernelspec": KERNELSPEC,
        "language_info": {"name": "python"},
        **({"jupytext": nb.metadata["jupytext"]} if "jupytext" in nb.metadata else {}),
    })
    count = 0
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i:03d}"
        keep = {k: v for k, v in cell.metadata.items() if k in ("tags", "mystnb", "raw_mimetype")}
        cell.metadata = nbformat.from_dict(keep)
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            for out in cell.get("outputs", []):
                if "execution_count" in out:
                    out.execution_count = count
                out.pop("metadata", None) if out.get("output_type") == "stream" else None
                if out.get("output_type") in ("display_data", "execute_result"):
                    out.metadata = nbformat.from_dict({})
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


class NotebookFailed(Exception):
    """A notebook that did not run through: ``report`` is the block printed for it."""

    def __init__(self, report: str):
        super().__init__(report)
        self.report = report


def plain(text: str) -> str:
    return ANSI.sub("", str(text))


def failure_report(path: Path, nb, index: int | None, error: BaseException) -> str:
    lines = [f"FAILED {path}"]
    if nb is not None and index is not None and 0 <= index < len(nb.cells):
        cell = nb.cells[index]
        first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
        lines.append(f"  cell {index}" + (f" (id {cell['id']})" if cell.get("id") else "") + f": {plain(first)[:100]}")
    ename, evalue = getattr(error, "ename", None), getattr(error, "evalue", None)
    if ename is None:  # not an error in the cell's code: a timeout, a dead kernel, a missing kernel
        ename, evalue = type(error).__name__, str(error).strip().splitlines()[0] if str(error).strip() else ""
    message = " ".join(plain(evalue).split())
    lines.append(f"  {plain(ename)}: {message[:500]}" if message else f"  {plain(ename)}")
    return "\n".join(lines)


def run(path: Path, timeout: int) -> float:
    """Execute the notebook and write it back normalised; NotebookFailed (file untouched) if a cell fails."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as e:  # noqa: BLE001 -- not JSON, not a notebook
        raise NotebookFailed(failure_report(path, None, None, e)) from None
    current: list[int] = []
    start = time.perf_counter()
    # Run from the notebook's folder, as nbval and Jupyter do.
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            on_cell_start=lambda cell, cell_index: current.append(cell_index))
    try:
        client.execute()
    except Exception as e:  # noqa: BLE001 -- every failure becomes one report; the other notebooks still run
        raise NotebookFailed(failure_report(path, nb, current[-1] if current else None, e)) from None
    elapsed = time.perf_counter() - start
    nbformat.write(normalise(nb), path)
    return elapsed


def in_book(path: Path) -> bool:
    """A notebook of the book itself (book/NAME.ipynb), whose time the appendix reports."""
    return path.resolve().parent == BOOK.resolve()


def write_json(path: Path, data: dict) -> None:
    """Replace the file in one step: an interrupted run never leaves it half written."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(dict(sorted(data.items())), indent=1) + "\n")
    os.replace(tmp, path)


def record_time(path: Path, name: str, seconds: float) -> None:
    """Set one notebook's wall time in the timings file, re-reading it under a lock on its folder: two runs of
    this script at once (one per core) then keep each other's entries."""
    import fcntl

    fd = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        data = json.loads(path.read_text()) if path.exists() else {}
        data[name] = round(seconds, 1)
        write_json(path, data)
    finally:
        os.close(fd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    parser.add_argument("--timings", type=Path, default=TIMINGS,
                        help="where the wall times of book/ notebooks are recorded (default: %(default)s)")
    args = parser.parse_args(argv)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    # Outputs are written with the default numeric kernels; `make test` compares them under other ones
    # (PORTABILITY_ENV in the Makefile), so these variables must not leak in here.
    for var in NUMERIC_ENV_VARS:
        os.environ.pop(var, None)
    for path in args.notebooks:
        if path.suffix != ".ipynb" or not path.is_file():
            parser.error(f"notebooks: {path} is not an existing .ipynb file")
    # Wall times are recorded for the reproducibility appendix (which shows them without nbval checks).
    try:
        timings = json.loads(args.timings.read_text()) if args.timings.exists() else {}
    except (OSError, ValueError) as e:
        print(f"run_notebooks: cannot read {args.timings}: {e}", file=sys.stderr)
        return 1
    if not isinstance(timings, dict):
        print(f"run_notebooks: {args.timings} is not a JSON object", file=sys.stderr)
        return 1
    failed = []
    for path in args.notebooks:
        try:
            seconds = run(path, args.timeout)
        except NotebookFailed as e:
            print(e.report, file=sys.stderr, flush=True)
            failed.append(path)
            continue
        print(f"{path}: executed in {seconds:.1f} s", flush=True)
        if in_book(path):
            record_time(args.timings, path.stem, seconds)
    if failed:
        print(f"run_notebooks: {len(failed)} of {len(args.notebooks)} notebooks failed: "
              f"{', '.join(str(p) for p in failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
