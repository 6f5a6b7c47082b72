"""The chapters as a reader sees them in JupyterLab: no MyST source on the rendered page (make check-lab).

Usage: python scripts/check_lab.py [--lab-python .venv/bin/python] [--chromium /usr/bin/chromium]
                                   [--chapter book/04_in_context_sarsa.ipynb ...] [--screenshots DIR]

For each chapter given (default: chapter 4, which has every kind of directive and role) it opens two
notebooks in a real JupyterLab in headless Chromium:

- the committed chapter, rendered by the MyST extension that ``make lab`` installs (jupyterlab-myst, pinned
  in requirements-lab.txt);
- the reader notebook that scripts/reader_notebooks.py generates from it (what Colab and the student
  edition get), which must render in a plain JupyterLab too.

JupyterLab runs on 127.0.0.1 only, on a free port, with a random token, in a temporary folder holding
copies of the two notebooks (nothing of the repository is served or written), with its own settings
folder (every cell rendered: no windowing); a kernel it starts stops with it. Every request to another host is
blocked. The whole check is bounded by ``--timeout`` seconds; the server is stopped at the end.

On each rendered page it reports, per notebook: directive or role source in the text of the markdown
cells (```{prf:theorem}, :label:, {cite:t}`...`, (label)=), raw display-math fences ($$), math that failed
to typeset (KaTeX/MathJax error elements) and the book's macros left as text (\\E, \\T, ...; for the
committed notebooks only with --strict-macros: the committed chapters do not define them for JupyterLab).
``--plain`` disables the MyST extension (JupyterLab as it is without ``make lab``'s extension, as in
any Jupyter a reader has): the reader notebooks must still pass, the committed ones fail.
Screenshots at 1400 px and 390 px of the first theorem go to --screenshots. Exit 1 on any failure.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import reader_notebooks as rn  # noqa: E402

SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
}
# Text of a rendered markdown cell that is MyST source.
SOURCE = re.compile(r"(?:`{3,}|~{3,}|:{3,})\s*\{[\w:-]+\}|\{(?:cite(?::[tp])?|numref|ref|eq|doc|prf:ref|index|"
                    r"term|math)\}`?|^\s*:(?:label|class|filter|name|nonumber):|^\s*\([\w:.-]+\)=\s*$|^\s*\$\$",
                    re.M)
ERRORS = ".katex-error, mjx-merror, .MathJax_Error, [data-mjx-error], .myst-error, .myst-warning"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, deadline: float) -> None:
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"JupyterLab did not answer at {url.split('?')[0]}")


def start_lab(python: str, root: Path, settings: Path, deadline: float,
              plain: bool = False) -> tuple[subprocess.Popen, str]:
    for name, value in SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [python, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--LabApp.news_url=", "--ServerApp.disable_check_xsrf=False"]
    if hasattr(os, "getuid") and os.getuid() == 0:
        cmd.append("--allow-root")
    config = root.parent / "config"
    (config / "labconfig").mkdir(parents=True, exist_ok=True)
    if plain:
        (config / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": {"jupyterlab-myst": True}}))
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config), "JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTER_RUNTIME_DIR": str(root.parent / "rt"),
           "JUPYTERLAB_WORKSPACES_DIR": str(root.parent / "ws")}
    log = open(root.parent / "lab.log", "w")
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base}/api/status?token={token}", deadline)
    except TimeoutError:
        stop(proc)
        raise
    return proc, f"{base}/lab/tree/{{path}}?reset&token={token}"  # reset: no tab of an earlier notebook


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def inspect(page, url: str, macros: list[str], check_macros: bool, shots: Path | None, name: str,
            timeout_ms: int) -> tuple[list[str], dict]:
    """The failures on one rendered notebook and a summary (cells, rendered cells)."""
    page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
    page.wait_for_selector(".jp-MarkdownCell", timeout=timeout_ms)
    # Kernel choice dialogs (no kernel needed to read): dismiss.
    for _ in range(3):
        button = page.query_selector(".jp-Dialog .jp-mod-reject, .jp-Dialog button:has-text('No Kernel')")
        if button is None:
            break
        button.click()
    # Rendering settles: the number of rendered markdown cells stops changing.
    last, stable = -1, 0
    while stable < 3:
        page.wait_for_timeout(1000)
        n = page.evaluate("() => document.querySelectorAll('.jp-MarkdownCell.jp-mod-rendered').length")
        stable = stable + 1 if n == last else 0
        last = n
    page.wait_for_timeout(1500)
    data = page.evaluate("""(sel) => {
        const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)') || document;
        const cells = Array.from(panel.querySelectorAll('.jp-MarkdownCell'));
        return {
          cells: cells.length,
          rendered: cells.filter(c => c.classList.contains('jp-mod-rendered')).length,
          texts: cells.map(c => {
            const out = c.querySelector('.jp-MarkdownOutput, .jp-RenderedMarkdown') || c;
            return out.innerText; }),
          errors: Array.from(panel.querySelectorAll(sel)).map(e => e.textContent.slice(0, 80)),
        };
    }""", ERRORS)
    failures = []
    if data["rendered"] < data["cells"]:
        failures.append(f"{data['cells'] - data['rendered']} of {data['cells']} markdown cells not rendered")
    macro = re.compile(r"\\(" + "|".join(map(re.escape, sorted(macros, key=len, reverse=True))) + r")(?![A-Za-z])")
    for i, text in enumerate(data["texts"]):
        for m in SOURCE.finditer(text):
            line = text[max(0, m.start() - 30):m.end() + 40].replace("\n", " ")
            failures.append(f"markdown cell {i}: MyST source on the page: ...{line}...")
        if check_macros and macros:
            for m in macro.finditer(text):
                failures.append(f"markdown cell {i}: macro \\{m.group(1)} not typeset: "
                                f"...{text[max(0, m.start() - 30):m.end() + 30]}...".replace("\n", " "))
                break
    for err in data["errors"][:20]:
        failures.append(f"math or MyST error on the page: {err}")
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
        target = page.query_selector(".jp-MarkdownCell:has-text('Theorem')")
        for width in (1400, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.wait_for_timeout(800)
            if target is not None:
                target.evaluate("e => e.scrollIntoView({block: 'start'})")
                page.wait_for_timeout(500)
            page.screenshot(path=str(shots / f"{name}-{width}.png"))
        page.set_viewport_size({"width": 1400, "height": 900})
    return failures, {"cells": data["cells"], "rendered": data["rendered"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lab-python", default=str(ROOT / ".venv" / "bin" / "python"),
                    help="a Python with jupyterlab and jupyterlab-myst (make lab installs them into .venv)")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--chapter", action="append", type=Path,
                    help="a committed chapter (repeatable; default book/04_in_context_sarsa.ipynb)")
    ap.add_argument("--reader", action="append", type=Path, default=[],
                    help="an extra notebook to check as a reader notebook (e.g. from the student edition)")
    ap.add_argument("--screenshots", type=Path, default=ROOT / "_build" / "screenshots" / "lab")
    ap.add_argument("--strict-macros", action="store_true",
                    help="also fail on the book's macros left as text in the committed notebooks")
    ap.add_argument("--plain", action="store_true", help="JupyterLab without the MyST extension")
    ap.add_argument("--timeout", type=int, default=300, help="seconds for the whole check")
    ap.add_argument("--json", type=Path, help="write the failures here")
    args = ap.parse_args(argv)
    deadline = time.time() + args.timeout
    chapters = args.chapter or [ROOT / "book" / "04_in_context_sarsa.ipynb"]
    if not Path(args.chromium).exists():
        print(f"check_lab: no Chromium at {args.chromium} (apt-get install chromium)", file=sys.stderr)
        return 2
    modules = "import jupyterlab" + ("" if args.plain else ", jupyterlab_myst")
    probe = subprocess.run([args.lab_python, "-c", modules], capture_output=True)
    if probe.returncode != 0:
        print(f"check_lab: {args.lab_python} has no jupyterlab and jupyterlab_myst (run make lab once, or pip "
              f"install -r requirements-lab.txt)", file=sys.stderr)
        return 2
    book = rn.load_book()
    work = Path(tempfile.mkdtemp(prefix="check-lab-"))
    root = work / "root"
    (root / "committed").mkdir(parents=True)
    (root / "reader").mkdir()
    pages = []  # (name, relative path, reader?)
    for path in chapters:
        shutil.copy2(path, root / "committed" / path.name)
        reader = rn.reader_notebook(nbformat.read(path, as_version=4), book, f"book/{path.stem}")
        nbformat.write(reader, root / "reader" / path.name)
        prefix = "plain-" if args.plain else ""
        pages += [(f"{prefix}committed-{path.stem}", f"committed/{path.name}", False),
                  (f"{prefix}reader-{path.stem}", f"reader/{path.name}", True)]
    for path in args.reader:
        shutil.copy2(path, root / "reader" / f"extra-{path.name}")
        pages.append((f"extra-{path.stem}", f"reader/extra-{path.name}", True))
    failures: list[dict] = []
    proc = None
    try:
        proc, url = start_lab(args.lab_python, root, work / "settings", deadline, args.plain)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]).*"), lambda route: route.abort())
            for name, rel, is_reader in pages:
                page = context.new_page()  # one tab per notebook
                left_ms = int((deadline - time.time()) * 1000)
                if left_ms <= 0:
                    failures.append({"notebook": rel, "what": "time limit reached before this notebook"})
                    continue
                try:
                    found, summary = inspect(page, url.format(path=rel), list(book.macros),
                                             is_reader or args.strict_macros, args.screenshots, name, left_ms)
                except Exception as e:  # a page that does not load or render is a failure, not a crash
                    found, summary = [f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"], {"cells": 0,
                                                                                          "rendered": 0}
                status = "ok" if not found else f"{len(found)} failure(s)"
                print(f"{rel}: {summary['rendered']}/{summary['cells']} markdown cells rendered, {status}")
                for what in found[:15]:
                    print(f"  {what}")
                failures += [{"notebook": rel, "what": w} for w in found]
                page.close()
            browser.close()
    except TimeoutError as e:
        failures.append({"notebook": "-", "what": str(e)})
        print(f"check_lab: {e}", file=sys.stderr)
    finally:
        if proc is not None:
            stop(proc)
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(failures, indent=1))
    print(f"check_lab: {len(failures)} failure(s); screenshots in {args.screenshots}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
