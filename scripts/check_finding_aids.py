"""Check the built HTML's finding aids and scaffolds (issue 25, items 6 and 8).

Usage: python scripts/check_finding_aids.py [--html DIR] [--screenshots DIR]

- no chapter page shows an error traceback (a coding exercise's scaffold shows its code and a note);
- the list of theorems (prf-prf.html) is numbered ("Theorem 3.1"), titled, grouped by chapter and in book order;
- the general index (genindex.html) has the key terms of chapters 9-11.

With --screenshots, headless Chromium (playwright, as scripts/check_html.py) saves the list of theorems and
chapter 2's coding exercise at 1400 px and 390 px. Exit status 0 when every check passes, 1 otherwise.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parent.parent
TERMS = ["Thompson sampling", "LinUCB", "soft LinUCB", "UCB-VI", "Algorithm Distillation",
         "Decision-Pretrained Transformer", "AD", "DPT", "reduced expert", "distribution ratio", "Dark Room",
         "ridge regression by attention", "depth", "multi-head attention", "random features", "distribution shift"]
NUMBERED = re.compile(r"^(Theorem|Definition|Lemma|Proposition|Corollary|Algorithm|Assumption|Remark|Example) "
                      r"(\d+)\.(\d+)$")


def check(html: Path) -> list[str]:
    problems = []
    for page in sorted((html / "book").glob("[01][0-9]_*.html")):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        tracebacks = soup.select(".output.traceback, .highlight-ipythontb")
        if tracebacks:
            problems.append(f"{page.name}: {len(tracebacks)} error traceback(s) on the page")

    listing = html / "prf-prf.html"
    if not listing.exists():
        problems.append("prf-prf.html (the list of theorems) is missing")
    else:
        soup = BeautifulSoup(listing.read_text(encoding="utf-8"), "html.parser")
        main = soup.select_one("main") or soup
        links = [a for a in main.select("table a[href]") if "#" in a["href"]]
        if len(links) < 20:
            problems.append(f"prf-prf.html: {len(links)} linked statements, expected the book's ~50")
        last = (0, "")
        for a in links:
            text = " ".join(a.get_text().split())
            m = NUMBERED.match(text)
            if not m:
                problems.append(f"prf-prf.html: {text!r} is not a numbered statement (raw label?)")
                continue
            chapter = int(m.group(2))
            page = a["href"].split("#")[0]
            if (chapter, page) < last and page != last[1]:
                problems.append(f"prf-prf.html: {text} comes after chapter {last[0]} (not in book order)")
            last = max(last, (chapter, page))
            row = a.find_parent("tr")
            cells = row.find_all("td") if row else []
            if len(cells) < 2 or not cells[1].get_text(strip=True):
                problems.append(f"prf-prf.html: {text} has no title")

    index = html / "genindex.html"
    if index.exists():
        text = " ".join(BeautifulSoup(index.read_text(encoding="utf-8"), "html.parser").get_text(" ").split())
        missing = [t for t in TERMS if not re.search(r"(?<![\w-])" + re.escape(t) + r"(?![\w-])", text)]
        if missing:
            problems.append(f"genindex.html: no entry for {missing}")
    else:
        problems.append("genindex.html is missing")
    return problems


def screenshots(html: Path, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium" if Path("/usr/bin/chromium").exists()
                                    else None)
        for width in (1400, 390):
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto((html / "prf-prf.html").as_uri())
            page.screenshot(path=str(out / f"theorem_list_{width}.png"))
            page.goto((html / "book" / "02_icl_linear_attention.html").as_uri() + "#ex-ch2-w0-weights")
            page.wait_for_timeout(300)
            page.screenshot(path=str(out / f"scaffold_ch2_{width}.png"))
            page.goto((html / "genindex.html").as_uri())
            page.screenshot(path=str(out / f"genindex_{width}.png"))
            page.close()
        browser.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    ap.add_argument("--screenshots", type=Path)
    args = ap.parse_args(argv)
    problems = check(args.html)
    for p in problems:
        print("FAIL", p)
    if args.screenshots:
        screenshots(args.html, args.screenshots)
    print("finding aids:", "ok" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
