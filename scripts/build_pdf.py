"""Build the whole book as one PDF (``make pdf``): the single-page HTML printed by headless Chromium.

Usage: python scripts/build_pdf.py [--out _build/pdf/icrl-book.pdf] [--no-build] [--chromium PATH]

1. ``jupyter-book build . --builder singlehtml`` with a copy of _config.yml that adds one local
   extension (scripts/singlehtml_handlers.py) into _build/pdf/ (its own doctrees: the HTML build is
   not touched).
2. Serve it on 127.0.0.1, open it in Debian's Chromium (no other host is contacted), wait until MathJax
   has typeset every formula, unfold the solutions and make the page a book (BOOKIFY_JS): a title page,
   a table of contents, running heads (one CSS named page per document) and page numbers, links that
   stay inside the PDF (no link to this temporary server), code cells that keep their frame.
3. Print to A4 with a PDF outline (bookmarks, from the headings; tagged PDF), read back with pypdf on
   which page each contents entry landed, put the numbers in (same-width placeholders, so nothing moves)
   and print again; then keep each bookmark's title once (Chromium sometimes doubles it).
   scripts/check_pdf.py (make check-pdf) checks the result: outline, links, empty frames.

The result is _build/pdf/icrl-book.pdf, also copied to _build/html/icrl-book.pdf (the front page links
to it there). Everything comes from requirements.txt and Debian's chromium package: no internet.
Why this route and not LaTeX: README.md, section Publishing.
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
@page { size: A4; margin: 18mm 16mm 18mm 16mm;
  @bottom-center { content: counter(page); font: 9px "DejaVu Sans", sans-serif; color: #555; } }
@page :first { @bottom-center { content: none; } }
@page pdf-toc { @top-left { content: "Contents"; font: italic 9px "DejaVu Sans", sans-serif; color: #555; } }
/* every document of the book starts on a new page */
span[id^="document-"] { display: block; break-before: page; }
figure, .cell_output img, table, mjx-container[display="true"] { break-inside: avoid; }
h1, h2, h3, .admonition-title, .proof > .admonition-title { break-after: avoid; }
.bd-header-article, .bd-sidebar-primary, .bd-sidebar-secondary, .prev-next-area, .header-article-items,
.headerlink, button.toggle-button, .copybtn, footer, .bd-footer, .bd-header, #jb-print-docs-body,
.bd-header-announcement, #searchbox { display: none !important; }
.bd-main .bd-content .bd-article-container { max-width: 100% !important; }
.bd-page-width { max-width: 100% !important; }
pre { white-space: pre-wrap !important; word-break: break-all; }
/* The theme keeps every code block on one page (div.highlight { break-inside: avoid }): a block that did
   not fit moved to the next page and left its cell's frame (.cell_input) behind, empty. Keep the whole
   cell, frame included, together when it is short; let it break across pages when it is taller than a
   fifth of a page (.pdf-tall, measured in BOOKIFY_JS). */
div.highlight, div[class*="highlight-"], .pdf-tall, .pdf-tall pre { break-inside: auto !important; }
.cell_input:not(.pdf-tall), .cell_output:not(.pdf-tall), div[class*="highlight-"]:not(.pdf-tall) {
  break-inside: avoid !important; }
.cell, .cell_input, .cell_output, div.highlight, div[class*="highlight-"] { overflow: visible !important; }
/* title page and contents */
/* the title page is the first page (a named page of its own would leave a blank page before it) */
.pdf-title { text-align: center; padding-top: 55mm; }
.pdf-title .pdf-book { font-size: 30px; font-weight: 700; line-height: 1.25; margin: 0 8mm 10mm; }
.pdf-title .pdf-sub { font-size: 17px; color: #333; margin-bottom: 30mm; }
.pdf-title .pdf-author { font-size: 15px; margin-bottom: 4mm; }
.pdf-title .pdf-meta { font-size: 11px; color: #444; line-height: 1.6; }
.pdf-toc { page: pdf-toc; }
.pdf-toc h2.pdf-toc-title { font-size: 22px; margin: 0 0 6mm; }
.pdf-toc a { color: inherit !important; text-decoration: none !important; }
.pdf-toc .pdf-toc-row { display: flex; align-items: baseline; gap: 4px; margin: 1px 0; font-size: 12px; }
.pdf-toc .pdf-toc-row.level-1 { font-weight: 700; margin-top: 7px; font-size: 13px; }
.pdf-toc .pdf-toc-row.level-2 { padding-left: 9mm; }
.pdf-toc .pdf-toc-fill { flex: 1; border-bottom: 1px dotted #999; transform: translateY(-3px); }
.pdf-toc .pdf-toc-page { font-variant-numeric: tabular-nums; min-width: 3ch; text-align: right; }
"""
OPEN_SOLUTIONS_JS = """
() => {
  document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
  document.querySelectorAll('details').forEach(d => d.open = true);
}
"""
# Turn the single page into a book: running heads (one named page per document), a title page, a table of
# contents whose page numbers come from a first printing, links that stay inside the PDF, headings that
# give the PDF outline the book's structure, and tall code blocks allowed to break across pages.
# Returns the contents entries [[id, level, title]] and what happened to the links.
BOOKIFY_JS = r"""
([meta, rootPages, pageHeight]) => {
  const esc = s => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, ' ');
  const text = el => { const c = el.cloneNode(true);
    c.querySelectorAll('.headerlink, mjx-assistive-mml').forEach(x => x.remove());
    return c.textContent.replace(/\s+/g, ' ').trim(); };
  const article = document.querySelector('article.bd-article') || document.body;
  // the outline takes the headings' text as it is: a line break in the source would join two words
  for (const h of article.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
    const walker = document.createTreeWalker(h, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) n.nodeValue = n.nodeValue.replace(/\s+/g, ' ');
  }
  // the book's own front page heading is an h1, the documents' titles are h2: make the front page an h2
  // too, so that the outline lists the front page and the chapters side by side
  const h1 = article.querySelector('h1');
  if (h1) { const h = document.createElement('h2'); h.innerHTML = h1.innerHTML;
    for (const a of h1.attributes) h.setAttribute(a.name, a.value); h1.replaceWith(h); }
  // every document has its own "Exercises", "Summary", "References"...: on one page their ids repeat, so
  // give each repeat its own id (the contents and the outline must open that document's section)
  const seen = new Map();
  for (const sec of article.querySelectorAll('section[id]')) {
    const n = seen.get(sec.id) || 0; seen.set(sec.id, n + 1);
    if (n) sec.id = `${sec.id}-pdf${n}`;
  }
  // one named page per document, for its running head
  const css = [], entries = [];
  const docs = [...article.querySelectorAll('span[id^="document-"]')];
  const first = article.querySelector('section');
  const units = [[first, first && first.querySelector('h2')]];
  for (const span of docs) { const sec = span.nextElementSibling;
    if (sec && sec.tagName === 'SECTION') units.push([sec, sec.querySelector('h2')]); }
  units.forEach(([sec, h], i) => {
    if (!sec || !h) return;
    const title = text(h);
    sec.style.page = 'doc' + i;
    css.push(`@page doc${i} { @top-left { content: "${esc(meta.short)}"; font: italic 9px "DejaVu Sans",` +
             ` sans-serif; color: #555; } @top-right { content: "${esc(title)}"; font: italic 9px ` +
             `"DejaVu Sans", sans-serif; color: #555; } }`);
    if (!h.id && !sec.id) return;
    entries.push([sec.id || h.id, 1, title]);
    for (const sub of sec.querySelectorAll(':scope > section')) {
      const h3 = sub.querySelector(':scope > h3');
      if (h3 && sub.id) entries.push([sub.id, 2, text(h3)]);
    }
  });
  const style = document.createElement('style'); style.textContent = css.join('\n');
  document.head.appendChild(style);
  // title page and contents, before the front page
  const tp = document.createElement('div'); tp.className = 'pdf-title';
  tp.innerHTML = `<div class="pdf-book"></div><div class="pdf-sub"></div><div class="pdf-author"></div>` +
                 `<div class="pdf-meta"></div>`;
  tp.querySelector('.pdf-book').textContent = meta.title;
  tp.querySelector('.pdf-sub').textContent = meta.subtitle;
  tp.querySelector('.pdf-author').textContent = meta.author;
  tp.querySelector('.pdf-meta').innerHTML = meta.lines.map(l => l.replace(/&/g, '&amp;').replace(/</g, '&lt;')).join('<br>');
  const toc = document.createElement('nav'); toc.className = 'pdf-toc';
  toc.innerHTML = '<h2 class="pdf-toc-title" id="pdf-contents">Contents</h2>';
  for (const [id, level, title] of entries) {
    const row = document.createElement('a'); row.href = '#' + id;
    row.className = 'pdf-toc-row level-' + level; row.dataset.target = id;
    row.innerHTML = '<span class="pdf-toc-text"></span><span class="pdf-toc-fill"></span>' +
                    '<span class="pdf-toc-page">000</span>';
    row.querySelector('.pdf-toc-text').textContent = title;
    toc.appendChild(row);
  }
  article.prepend(tp, toc);
  // links: to an element of this page -> '#id' (a destination inside the PDF); to another page of the
  // site -> the published book; anything else local -> plain text
  const here = location.origin, counts = {internal: 0, published: 0, unlinked: 0};
  for (const a of document.querySelectorAll('a[href]')) {
    let u; try { u = new URL(a.getAttribute('href'), location.href); } catch (e) { continue; }
    if (u.origin !== here) continue;
    const id = decodeURIComponent(u.hash.slice(1));
    if (id && document.getElementById(id)) { a.setAttribute('href', '#' + id); counts.internal++; continue; }
    let path = u.pathname.replace(/^\/+/, '');
    if (path.startsWith('book/') && rootPages.includes(path.slice(5))) path = path.slice(5);
    if (!id && (rootPages.includes(path) || /^book\/[^/]+\.html$/.test(path))) {
      a.setAttribute('href', meta.baseurl + path); counts.published++; continue; }
    a.removeAttribute('href'); counts.unlinked++;
  }
  // tall code blocks may break across pages
  for (const el of document.querySelectorAll('div.highlight, div[class*="highlight-"], .cell_input, .cell_output, .cell')) {
    if (el.getBoundingClientRect().height > pageHeight / 5) el.classList.add('pdf-tall');
  }
  return {entries, counts};
}
"""
FILL_TOC_JS = """
(pages) => { for (const row of document.querySelectorAll('.pdf-toc-row')) {
  row.querySelector('.pdf-toc-page').textContent = String(pages[row.dataset.target] ?? ''); } }
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


def book_meta() -> dict:
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    title = str(cfg.get("title", "")).strip()
    main_title, _, subtitle = title.partition(":")
    baseurl = str((cfg.get("html") or {}).get("baseurl") or "").rstrip("/") + "/"
    repo = cfg.get("repository") or {}
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = ""
    lines = [f"Online: {baseurl}"]
    if repo.get("url"):
        lines.append(f"Source: {repo['url']}" + (f" (commit {commit})" if commit else ""))
    lines.append(f"Printed {time.strftime('%Y-%m-%d')}" + (f" · © {cfg['copyright']}" if cfg.get("copyright") else ""))
    return {"title": main_title.strip(), "subtitle": subtitle.strip(), "short": main_title.strip(),
            "author": str(cfg.get("author", "")), "baseurl": baseurl, "lines": lines}


def destination_pages(pdf: Path, ids: list[str]) -> dict[str, int]:
    """Page numbers (1-based) of the named destinations Chromium wrote for the contents' links."""
    from pypdf import PdfReader

    reader = PdfReader(str(pdf))
    pages = {}
    for name, dest in reader.named_destinations.items():
        n = reader.get_destination_page_number(dest)
        if n is not None:
            pages[str(name).lstrip("/")] = n + 1
    return {i: pages[i] for i in ids if i in pages}


def tidy_outline(pdf: Path) -> int:
    """Chromium sometimes gives a bookmark its heading's text twice ("Bellman equationsBellman equations"):
    keep it once. Returns the number of bookmarks."""
    from pypdf import PdfWriter
    from pypdf.generic import NameObject, TextStringObject

    writer = PdfWriter(str(pdf), incremental=True)  # appends the changed titles, keeps Chromium's bytes
    root = writer._root_object
    outlines = root.get("/Outlines")
    count, fixed = 0, 0
    stack = [outlines.get_object().get("/First")] if outlines is not None else []
    while stack:
        ref = stack.pop()
        while ref is not None:
            item = ref.get_object()
            count += 1
            title = " ".join(str(item.get("/Title", "")).split())
            half = len(title) // 2
            if len(title) % 2 == 0 and half and title[:half] == title[half:]:
                title = title[:half]
            if title != str(item.get("/Title", "")):
                item[NameObject("/Title")] = TextStringObject(title)
                fixed += 1
            if item.get("/First") is not None:
                stack.append(item["/First"])
            ref = item.get("/Next")
    if fixed:
        with open(pdf, "wb") as f:
            writer.write(f)
    return count


def print_pdf(site: Path, out: Path, chromium: str) -> int:
    from playwright.sync_api import sync_playwright

    link_assets(site)
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    external = []
    root_pages = sorted(p.name for p in site.iterdir() if p.suffix in (".html", ".pdf")) + ["icrl-book.pdf"]
    options = dict(format="A4", print_background=True, prefer_css_page_size=True, outline=True, tagged=True,
                   display_header_footer=False)
    with tempfile.TemporaryDirectory(prefix="pdf-") as profile, sync_playwright() as pw:
        # the viewport is the width of the printed column (A4 less the margins), so that the heights
        # measured for the page breaks are those of the printed blocks
        ctx = pw.chromium.launch_persistent_context(profile, executable_path=chromium, headless=True,
                                                   args=CHROMIUM_ARGS, viewport={"width": 672, "height": 1000})

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
        result = page.evaluate(BOOKIFY_JS, [book_meta(), root_pages, 986])
        ids = [e[0] for e in result["entries"]]
        print(f"build_pdf: {len(ids)} contents entries; links {result['counts']}", flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        # first printing: where each contents entry lands; second: the same layout with those numbers
        # (the numbers take the place of same-width placeholders, so no page moves)
        pages: dict[str, int] = {}
        for attempt in range(3):
            page.evaluate(FILL_TOC_JS, pages)
            page.pdf(path=str(out), **options)
            found = destination_pages(out, ids)
            if found == pages:
                break
            pages = found
        else:
            print("build_pdf: the contents' page numbers did not settle after 3 printings")
            errors += 1
        missing = [i for i in ids if i not in pages]
        if missing:
            print(f"build_pdf: {len(missing)} contents entries without a page, e.g. {missing[0]}")
            errors += 1
        ctx.close()
    server.shutdown()
    print(f"build_pdf: {tidy_outline(out)} bookmarks in the outline", flush=True)
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
        print(f"build_pdf: {errors} errors (MathJax errors in the printed book, contents without page numbers)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
