"""Re-execute notebooks in place and normalise their metadata (``make notebooks``).

Usage: python scripts/run_notebooks.py book/01_rl_in_one_chapter.ipynb [more.ipynb ...]

Normalising keeps diffs small and outputs reproducible: stable cell ids, one kernelspec, no execution
timings, execution counts renumbered from 1, and the ``language_info`` block reduced to the language name.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

TIMINGS = Path(__file__).resolve().parent.parent / "book" / "_static" / "execution_times.json"
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


def run(path: Path, timeout: int) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    # Run from the notebook's folder, as nbval and Jupyter do.
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    elapsed = time.perf_counter() - start
    nbformat.write(normalise(nb), path)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    args = parser.parse_args(argv)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    # Outputs are written with the default numeric kernels; `make test` compares them under other ones
    # (PORTABILITY_ENV in the Makefile), so these variables must not leak in here.
    for var in NUMERIC_ENV_VARS:
        os.environ.pop(var, None)
    for path in args.notebooks:
        if path.suffix != ".ipynb" or not path.exists():
            parser.error(f"notebooks: {path} is not an existing .ipynb file")
    # Wall times are recorded for the reproducibility appendix (which shows them without nbval checks).
    timings = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    for path in args.notebooks:
        seconds = run(path, args.timeout)
        timings[path.stem] = round(seconds, 1)
        print(f"{path}: executed in {seconds:.1f} s", flush=True)
        TIMINGS.write_text(json.dumps(dict(sorted(timings.items())), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
