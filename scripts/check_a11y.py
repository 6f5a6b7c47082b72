"""Accessibility audit of every built page with axe-core, in the headless Chromium of the browser check.

Usage: python scripts/check_a11y.py [--html _build/html] [--pages GLOB] [--impact serious,critical]
                                    [--width 1400] [--dark] [--json FILE] [--chromium PATH]

Each page is served from 127.0.0.1 (every request to another host blocked, as in scripts/check_html.py),
opened at --width px, MathJax is left to finish, then axe-core (``axe.min.js`` as bundled by the pinned
PyPI package axe-playwright-python; no network) runs its WCAG 2.x A/AA rules and best practices on the whole
page. Every violation whose impact is in --impact (default: serious and critical) is printed as
``FAIL [rule] impact page: N elements: what (first element)``, then one summary line per rule; the exit
status is 1 if there is any. --dark audits the dark theme instead of the light one.
"""
from __future__ import annotations

import argparse
import fnmatch
import functools
import http.server
import json
import re
import sys
import threading
from collections import defaultdict
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
REFRESH = re.compile(r"http-equiv=[\"']?refresh", re.I)
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
RUN_AXE = """
async (tags) => {
  const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), impact: n.impact,
                              summary: (n.failureSummary || '').split('\\n').slice(1, 2).join(' ').trim(),
                              html: n.html.slice(0, 160)}))}));
}
"""


def axe_source() -> str:
    try:
        return resources.files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")
    except ModuleNotFoundError:
        sys.exit("check_a11y: axe-core is missing: pip install axe-playwright-python (requirements.txt)")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def list_pages(html: Path, pattern: str) -> list[str]:
    pages = []
    for path in sorted(html.rglob("*.html")):
        rel = path.relative_to(html).as_posix()
        if rel.split("/")[0] not in ("_static", "_sources", "_images") and fnmatch.fnmatch(rel, pattern):
            # a redirect (index.html) is no page of its own: the browser check tests its target
            if not REFRESH.search(path.read_text(encoding="utf-8", errors="replace")):
                pages.append(rel)
    return pages


def audit(html: Path, pages: list[str], chromium: str, width: int, dark: bool, impacts: set[str]) -> dict:
    from playwright.sync_api import sync_playwright

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(html)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    source = axe_source()
    found: dict[str, list] = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            ctx = browser.new_context(viewport={"width": width, "height": 1000},
                                      color_scheme="dark" if dark else "light")
            if dark:  # the theme's own switch, as a reader's click leaves it
                ctx.add_init_script("localStorage.setItem('mode', 'dark'); localStorage.setItem('theme', 'dark');")
            else:
                ctx.add_init_script("localStorage.setItem('mode', 'light'); localStorage.setItem('theme', 'light');")

            def route(r):
                url = r.request.url
                if url.startswith(("data:", "blob:", "about:")) or urlsplit(url).hostname == "127.0.0.1":
                    r.continue_()
                else:
                    r.abort()

            ctx.route("**/*", route)
            page = ctx.new_page()
            for rel in pages:
                try:
                    page.goto(f"{base}/{rel}", wait_until="load", timeout=120000)
                    page.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
                    page.wait_for_timeout(300)
                    page.add_script_tag(content=source)
                    violations = page.evaluate(RUN_AXE, TAGS)
                except Exception as e:  # noqa: BLE001 - a page that cannot be audited is a finding
                    violations = [{"id": "audit-failed", "impact": "critical", "help": str(e)[:200],
                                   "helpUrl": "", "nodes": []}]
                found[rel] = [v for v in violations if v["impact"] in impacts]
                print(f"  {rel}: {sum(len(v['nodes']) for v in found[rel])} serious/critical elements"
                      if impacts == {"serious", "critical"} else f"  {rel}: {len(found[rel])} rules", flush=True)
            browser.close()
    finally:
        server.shutdown()
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    ap.add_argument("--pages", default="*", help="glob of pages relative to --html (default: all)")
    ap.add_argument("--impact", default="serious,critical", help="impacts that fail (minor,moderate,...)")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--dark", action="store_true", help="audit the dark theme")
    ap.add_argument("--json", type=Path, help="write the violations here")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args(argv)
    if not Path(args.chromium).exists():
        sys.exit(f"check_a11y: no Chromium at {args.chromium}; apt-get install -y chromium (or --chromium PATH)")
    pages = list_pages(args.html, args.pages)
    if not pages:
        sys.exit(f"check_a11y: no pages in {args.html} (make book)")
    impacts = {s.strip() for s in args.impact.split(",") if s.strip()}
    found = audit(args.html, pages, args.chromium, args.width, args.dark, impacts)
    by_rule: dict[str, list] = defaultdict(list)
    for rel, violations in found.items():
        for v in violations:
            first = v["nodes"][0] if v["nodes"] else {"target": "", "summary": ""}
            print(f"FAIL [{v['id']}] {v['impact']} {rel}: {len(v['nodes'])} elements: {v['help']} "
                  f"(e.g. {first['target'][:100]}{': ' + first['summary'][:120] if first['summary'] else ''})")
            by_rule[v["id"]].append((rel, len(v["nodes"])))
    for rule, hits in sorted(by_rule.items()):
        print(f"  {rule}: {sum(n for _, n in hits)} elements on {len(hits)} pages")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(found, indent=1) + "\n")
    total = sum(len(v) for v in found.values())
    mode = "dark" if args.dark else "light"
    print(f"check_a11y: {len(pages)} pages at {args.width} px ({mode} theme), axe-core {', '.join(TAGS)}: "
          + ("no " + "/".join(sorted(impacts)) + " violations" if not total
             else f"{total} {'/'.join(sorted(impacts))} violations of {len(by_rule)} rules"))
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
