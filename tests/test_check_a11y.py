"""scripts/check_a11y.py (axe-core in headless Chromium) on two small sites written here: a clean page
passes; a page with an image without alt text, a button without a name and grey-on-white text fails, each
named by its axe rule. No book build; needs Debian's chromium (make test's browser check needs it too).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "check_a11y.py"
CHROMIUM = Path("/usr/bin/chromium")
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")

GOOD = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Chapter 1</title></head>
<body><header><nav aria-label="Chapters"><a href="../index.html">Home</a></nav></header>
<main><h1>Chapter 1</h1><p>Plain text in black on white.</p>
<img src="data:image/png;base64,{png}" alt="A one-pixel figure">
<button type="button">Show the solution</button></main></body></html>"""
BAD = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Chapter 2</title></head>
<body><main><h1>Chapter 2</h1><p style="color:#bbbbbb;background:#ffffff">Grey text on white.</p>
<img src="data:image/png;base64,{png}"><button type="button"><span></span></button></main></body></html>"""

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)")


def site(tmp_path: Path, pages: dict[str, str]) -> Path:
    for rel, text in pages.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text.format(png=PNG))
    return tmp_path


def run(html: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--html", str(html), "--chromium", str(CHROMIUM), *args],
                          capture_output=True, text=True, timeout=300)


def test_clean_site_passes(tmp_path):
    r = run(site(tmp_path, {"book/01.html": GOOD}))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 pages at 1400 px" in r.stdout and "no critical/serious violations" in r.stdout


def test_violations_fail_by_rule(tmp_path):
    html = site(tmp_path / "site", {"book/01.html": GOOD, "book/02.html": BAD})
    r = run(html, "--json", str(tmp_path / "a11y.json"))
    assert r.returncode == 1, r.stdout + r.stderr
    fails = [ln for ln in r.stdout.splitlines() if ln.startswith("FAIL ")]
    rules = {ln.split("]")[0][len("FAIL ["):] for ln in fails}
    assert {"image-alt", "button-name", "color-contrast"} <= rules, r.stdout
    assert all(" book/02.html: " in ln for ln in fails), r.stdout
    found = json.loads((tmp_path / "a11y.json").read_text())
    assert found["book/01.html"] == [] and {v["id"] for v in found["book/02.html"]} >= {"image-alt"}
    # the same page passes when only minor issues would fail and there are none of them
    assert run(html, "--pages", "book/01.html", "--impact", "minor").returncode == 0
