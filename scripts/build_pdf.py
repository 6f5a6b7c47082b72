"""Build the whole book as one PDF (``make pdf``): the single-page HTML printed by headless Chromium.

Usage: python scripts/build_pdf.py [--out _build/pdf/icrl-book.pdf] [--no-build] [--chromium PATH]

1. ``jupyter-book build . --builder singlehtml`` with a copy of _config.yml that adds one local
   extension (scripts/singlehtml_handlers.py) into _build/pdf/ (its own doctrees: the HTML build is
   not touched).
2. Serve it on 127.0.0.1, open it in Debian's Chromium (no other host is contacted), wait until MathJax
   has typeset every formula, unfold the solutions, start every chapter on a new page, and print
   to A4 with page numbers.

The result is _build/pdf/icrl-book.pdf, also copied to _build/html/icrl-book.pdf (the front page links
to it there). Everything comes from requirements.txt and Debian's chromium package: no internet.
Why not LaTeX: README.md, section Publishing.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build" / "pdf"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
PRINT_CSS = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm; }
/* every document of the book starts on a new page */
span[id^="document-"] { display: block; break-before: page; }
figure, .cell_output img, table, mjx-container[display="true"] { break-inside: avoid; }
h1, h2, h3 { break-after: avoid; }
.bd-header-article, .bd-sidebar-primary, .bd-sidebar-secondary, .prev-next-area, .header-article-items,
.headerlink, button.toggle-button, .copybtn, footer, .bd-footer, .bd-header { display: none !important; }
.bd-main .bd-content .bd-article-container { max-width: 100% !important; }
.bd-page-width { max-width: 100% !important; }
pre { white-space: pre-wrap !important; word-break: break-all; }
"""
OPEN_SOLUTIONS_JS = """
() => {
  document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
  document.querySelectorAll('details').forEach(d => d.open = true);
}
"""


def build_singlehtml() -> Path:
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    sphinx = cfg.setdefault("sphinx", {})
    # the copy lives in _build/pdf/: make the book's own local extensions' paths absolute
    local = {name: str((ROOT / path).resolve()) for name, path in (sphinx.get("local_extensions") or {}).items()}
    local["singlehtml_handlers"] = str(ROOT / "scripts")
    sphinx["local_extensions"] = local
    BUILD.mkdir(parents=True, exist_ok=True)
    config = BUILD / "_config_pdf.yml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    jb = Path(sys.executable).with_name("jupyter-book")
    subprocess.run([str(jb), "build", str(ROOT), "--builder", "singlehtml", "--config", str(config),
                    "--path-output", str(BUILD)], check=True)
    out = BUILD / "_build" / "singlehtml"
    link_assets(out)
    if not (out / "book" / "intro.html").exists():
        raise SystemExit(f"build_pdf: {out}/book/intro.html (the single page) was not built")
    return out


def link_assets(site: Path) -> None:
    """The single page is book/intro.html but Sphinx writes its image and static links relative to the
    output root (_images/, _static/); make them resolve from book/ too."""
    for name in ("_images", "_static"):
        link = site / "book" / name
        if (site / name).is_dir() and not link.exists():
            link.symlink_to(Path("..") / name)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def print_pdf(site: Path, out: Path, chromium: str) -> int:
    from playwright.sync_api import sync_playwright

    link_assets(site)
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    external = []
    with tempfile.TemporaryDirectory(prefix="pdf-") as profile, sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(profile, executable_path=chromium, headless=True,
                                                   args=CHROMIUM_ARGS, viewport={"width": 1100, "height": 1400})

        def route(r):
            if urlsplit(r.request.url).hostname == "127.0.0.1" or r.request.url.startswith(("data:", "blob:")):
                r.continue_()
            else:
                external.append(r.request.url)
                r.abort()

        ctx.route("**/*", route)
        page = ctx.new_page()
        page.goto(f"{base}/book/intro.html", wait_until="load", timeout=300000)
        page.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
        errors = page.evaluate("() => document.querySelectorAll('mjx-merror').length")
        page.add_style_tag(content=PRINT_CSS)
        page.evaluate(OPEN_SOLUTIONS_JS)
        page.emulate_media(media="print")
        out.parent.mkdir(parents=True, exist_ok=True)
        page.pdf(path=str(out), format="A4", print_background=True, display_header_footer=True,
                 header_template="<span></span>",
                 footer_template='<div style="font-size:8px;width:100%;text-align:center;">'
                                 '<span class="pageNumber"></span> / <span class="totalPages"></span></div>',
                 margin={"top": "16mm", "bottom": "18mm", "left": "14mm", "right": "14mm"})
        ctx.close()
    server.shutdown()
    if external:
        print(f"build_pdf: blocked {len(external)} requests to other hosts, e.g. {external[0]}")
    return errors


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=BUILD / "icrl-book.pdf")
    ap.add_argument("--no-build", action="store_true", help="reuse _build/pdf/_build/singlehtml")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args(argv)
    if not Path(args.chromium).exists():
        sys.exit(f"build_pdf: no Chromium at {args.chromium}; apt-get install -y chromium (or --chromium PATH)")
    t0 = time.perf_counter()
    site = BUILD / "_build" / "singlehtml" if args.no_build else build_singlehtml()
    t1 = time.perf_counter()
    errors = print_pdf(site, args.out, args.chromium)
    t2 = time.perf_counter()
    html = ROOT / "_build" / "html"
    if html.is_dir():
        shutil.copy2(args.out, html / "icrl-book.pdf")
    size = args.out.stat().st_size / 1e6
    print(f"PDF: {args.out} ({size:.1f} MB); single-page HTML {t1 - t0:.0f} s, printing {t2 - t1:.0f} s")
    if errors:
        print(f"build_pdf: {errors} MathJax errors in the printed book")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
