"""The reader's own environment: run every chapter under the newest numpy, torch, sympy and matplotlib.

Usage: python scripts/check_newest.py [--venv DIR] [--torch-index URL] [--pip-opts "..."]
                                      [--timeout S] [--report FILE] [--reuse] [book/NN_x.ipynb ...]

Colab and a student's laptop will not have the pinned versions of requirements.txt. This check

1. makes a throwaway virtual environment (``--venv``, default ``_build/newest/venv``; removed and made
   anew unless ``--reuse``) with the newest numpy, torch, sympy and matplotlib that the package index
   serves (torch's CPU wheel when ``--torch-index`` names PyTorch's CPU index, as the scheduled workflow
   does) and every other pin of requirements.txt as it is;
2. executes every notebook of the book (``book/*.ipynb``: the chapters and the appendices), one at a
   time, in a temporary copy (``book/`` is never written), in that environment, with ``icrl_lib``
   imported from this checkout, ``python`` without ``-O`` and ``PYTHONOPTIMIZE`` unset, so every
   ``assert`` in the chapters is in force. A cell that raises fails
   the chapter, except the coding exercises' scaffold cells (tag ``raises-exception``), which raise by
   design. Printed digits may differ from the committed outputs: they are counted, not failed. Left out:
   book/reproducibility.ipynb, which asserts that the environment is the pinned one (PINNED_BY_DESIGN);
3. prints one line per chapter (ok / FAILED with the cell and the exception) and writes a JSON report
   (``--report``, default ``_build/newest/report.json``) with the versions installed.

Exit status 1 if a chapter failed or the environment could not be installed. It is slow (every chapter,
about as long as ``make notebooks``): run it under ``nice``. Not part of ``make test``; the scheduled
workflow .github/workflows/newest.yml runs it weekly.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
NEWEST = ("numpy", "torch", "sympy", "matplotlib")
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
# Notebooks that assert the pinned environment itself: under other versions they fail by design. Left out
# of the default run (said so in its output); naming one on the command line runs it.
PINNED_BY_DESIGN = {"reproducibility.ipynb": "asserts that the installed versions are requirements.txt's pins"}

# Executed inside the throwaway environment: run one notebook, print one JSON line.
RUNNER = r'''
import json, sys, time
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
src, timeout = sys.argv[1], int(sys.argv[2])
nb = nbformat.read(src, as_version=4)
committed = [[o.get("text", "") for o in c.get("outputs", []) if o.get("output_type") == "stream"]
             for c in nb.cells if c.cell_type == "code"]
client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=False,
                        resources={"metadata": {"path": sys.argv[3]}})
t0 = time.time()
result = {"ok": True}
try:
    client.execute()
except CellExecutionError as e:
    result = {"ok": False, "ename": e.ename, "evalue": str(e.evalue)[:400]}
except Exception as e:  # a timeout, a dead kernel
    result = {"ok": False, "ename": type(e).__name__, "evalue": str(e).strip()[:400]}
if not result["ok"]:
    for i, c in enumerate(nb.cells):
        if c.cell_type == "code" and any(o.get("output_type") == "error" for o in c.get("outputs", [])):
            if "raises-exception" not in c.get("metadata", {}).get("tags", []):
                result["cell"] = i
                result["first_line"] = next((l for l in c.source.splitlines() if l.strip()), "")[:100]
                break
now = [[o.get("text", "") for o in c.get("outputs", []) if o.get("output_type") == "stream"]
       for c in nb.cells if c.cell_type == "code"]
result["cells_printing_differently"] = sum(a != b for a, b in zip(committed, now))
result["seconds"] = round(time.time() - t0, 1)
print("RESULT " + json.dumps(result))
'''

VERSIONS = r'''
import json, sys
import numpy, torch, sympy, matplotlib
print(json.dumps({"python": sys.version.split()[0], "numpy": numpy.__version__, "torch": torch.__version__,
                  "sympy": sympy.__version__, "matplotlib": matplotlib.__version__,
                  "optimize": sys.flags.optimize}))
'''


def pinned_rest(requirements: Path) -> list[str]:
    """requirements.txt without the pins of the four packages taken at their newest."""
    keep = []
    for line in requirements.read_text().splitlines():
        s = line.split("#", 1)[0].strip()
        if not s:
            continue
        name = re.split(r"[=<>!~\[; ]", s, maxsplit=1)[0].lower().replace("_", "-")
        if name not in NEWEST:
            keep.append(s)
    return keep


def make_venv(venv: Path, torch_index: str | None, pip_opts: list[str], reuse: bool) -> dict:
    py = venv / "bin" / "python"
    if not (reuse and py.exists()):
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        req = venv / "requirements-newest.txt"
        req.write_text("\n".join(pinned_rest(ROOT / "requirements.txt") + list(NEWEST)) + "\n")
        extra = ["--extra-index-url", torch_index] if torch_index else []
        cmd = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--upgrade",
               *extra, *pip_opts, "-r", str(req)]
        print("check_newest: " + " ".join(cmd[2:]), flush=True)
        subprocess.run(cmd, check=True)
    out = subprocess.run([str(py), "-c", VERSIONS], check=True, capture_output=True, text=True,
                         env=kernel_env())
    return json.loads(out.stdout.strip().splitlines()[-1])


def kernel_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONOPTIMIZE", "VIRTUAL_ENV")}
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def run_chapter(py: Path, nb: Path, timeout: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="newest-") as tmp:
        # a copy of book/ so that the chapter finds its data files and writes nothing into book/; beside it
        # links to the rest of the checkout, which some notebooks read (../requirements.txt)
        work = Path(tmp) / "book"
        shutil.copytree(BOOK, work, ignore=shutil.ignore_patterns("_build", ".ipynb_checkpoints"))
        for entry in ROOT.iterdir():
            if entry.name not in ("book", ".git", "_build", ".venv"):
                (Path(tmp) / entry.name).symlink_to(entry)
        env = kernel_env()
        env["PATH"] = str(py.parent) + os.pathsep + env.get("PATH", "")  # the kernel: this venv's python
        proc = subprocess.run([str(py), "-c", RUNNER, str(work / nb.name), str(timeout), str(work)],
                              capture_output=True, text=True, env=env, cwd=work)
    line = next((ln for ln in reversed(proc.stdout.splitlines()) if ln.startswith("RESULT ")), None)
    if line is None:
        return {"ok": False, "ename": "RunnerError", "evalue": ANSI.sub("", proc.stderr.strip())[-400:]}
    return json.loads(line[len("RESULT "):])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*", type=Path, help="default: every book/*.ipynb")
    ap.add_argument("--venv", type=Path, default=ROOT / "_build" / "newest" / "venv")
    ap.add_argument("--torch-index", default=None,
                    help="extra index for torch's CPU wheel (PyTorch's CPU index; PyPI's Linux torch is CUDA)")
    ap.add_argument("--pip-opts", default="", help="more pip options, one string")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    ap.add_argument("--report", type=Path, default=ROOT / "_build" / "newest" / "report.json")
    ap.add_argument("--reuse", action="store_true", help="keep an existing --venv instead of making it anew")
    args = ap.parse_args(argv)
    notebooks = args.notebooks or [nb for nb in sorted(BOOK.glob("*.ipynb")) if nb.name not in PINNED_BY_DESIGN]
    for name, why in PINNED_BY_DESIGN.items():
        if not args.notebooks:
            print(f"check_newest: not run: {name} ({why})")
    try:
        versions = make_venv(args.venv.resolve(), args.torch_index, args.pip_opts.split(), args.reuse)
    except subprocess.CalledProcessError as e:
        print(f"check_newest: the newest environment could not be installed ({e})")
        return 1
    print("check_newest: " + ", ".join(f"{k} {v}" for k, v in versions.items()), flush=True)
    if versions["optimize"]:
        print("check_newest: python runs with -O (PYTHONOPTIMIZE): asserts would be skipped")
        return 1
    py = args.venv.resolve() / "bin" / "python"
    results = {}
    for nb in notebooks:
        r = run_chapter(py, nb.resolve(), args.timeout)
        results[nb.name] = r
        if r["ok"]:
            print(f"ok      {nb.name}  {r['seconds']:.0f} s, {r['cells_printing_differently']} cells print "
                  "differently from the committed outputs", flush=True)
        else:
            where = f" cell {r['cell']} ({r.get('first_line', '')})" if "cell" in r else ""
            print(f"FAILED  {nb.name}{where}: {r['ename']}: {' '.join(r['evalue'].split())[:300]}", flush=True)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps({"versions": versions, "chapters": results}, indent=1) + "\n")
    failed = [k for k, r in results.items() if not r["ok"]]
    print(f"check_newest: {len(results) - len(failed)} of {len(results)} chapters ran with every assert in "
          f"force under the newest versions; report: {args.report}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
