"""Check the built book the way a reader sees it (``make check-html``), in headless Chromium.

Usage: python scripts/check_html.py [--html _build/html] [--only CHECK,...] [--skip CHECK,...]
                                    [--pages GLOB] [--code-width 88] [--json FILE] [--list]

Reader-facing checks (issue 15):
  load         every page loads (HTTP 200, no JavaScript error)
  offline      no page requests anything from another host (the book works without the internet)
  mathjax      every math element in the text is rendered by MathJax, no MathJax error node, no raw TeX
               left in the text
  images       every image loads
  links        every internal link resolves: the file exists and the #fragment is an id on that page
  xrefs        no unresolved cross-reference (a role rendered as text instead of a link, or "??")
  solutions    every solution is a folded dropdown when the page opens
  search       the search page finds a word from a chapter (--search-word, a result in --search-page)
  launch       the Colab and Binder buttons of every chapter open it from repository.url at
               repository.branch of _config.yml (the repository the Colab install cell clones)
Textbook polish (issue 16):
  numbering    every chapter (book/NN_*.html, NN >= 1) is "NN. title" in the navigation
  titles       no TeX (\\( \\[ $ or a math element) in any <title>, navigation entry, prev/next link or
               search-index title
  citations    every bracketed paper label ([W25] ...) in the text is a link to a bibliography entry
               that shows the same label
  width        at 1400 px no display equation or table is wider than the content column
  outputwidth  at 1400 px no printed cell output is wider than its box (it would scroll or be cut)
  codewidth    no line of code (code cells and code blocks) is longer than --code-width characters
Every reader path (issue 25):
  console      no page logs a JavaScript error (an uncaught exception or console.error) or gets an HTTP
               error for one of its own files, at 1400 px and at 390 px
  phonenav     at 390 px (a phone, touch) tapping the chapter-list button shows the chapter list and
               tapping the "on this page" button shows the page's contents, on every page
  desktopnav   at 1400 px the sidebar button (hamburger) collapses the chapter list and a second click
               brings it back
  phonewidth   at 390 px the page itself does not scroll sideways, and every display equation, table, code
               cell or output that scrolls inside its box shows a scroll cue (a faded edge: mask-image)
  numbreak     at 390 px no number in a table cell is broken across lines ("< 1e-" / "02")
  solutionclick  clicking a "Solution to ..." title (on its text) opens the solution where it is and does
               not jump to the exercise
  searchbox    at 1400 px one search field is visible outside the page's text, not two
  searchtex    the search page's excerpts show no TeX source ("TD(\\(\\lambda\\))"; --search-tex-word)

Every failure is printed as ``FAIL [check] page: element: what``; the exit code is 1 if any enabled
check fails. Screenshots of each page under book/ go to --screenshots (the top 1400 x 1000 px;
--full-page for whole pages). Chromium: Debian's /usr/bin/chromium, or --chromium PATH.
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
import time
from collections import Counter
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
CHECKS = ("load", "offline", "mathjax", "images", "links", "xrefs", "solutions", "search", "launch",
          "numbering", "titles", "citations", "width", "outputwidth", "codewidth", "console", "phonenav",
          "desktopnav", "phonewidth", "numbreak", "solutionclick", "searchbox", "searchtex")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1400, "height": 1000}
PAPER_LABELS = ("LL26", "W25", "X26", "LBM24", "DPT23", "AD22", "vO23")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
CHAPTER = re.compile(r"^book/(\d\d)_[^/]+\.html$")
TEX = re.compile(r"\\[(\[]|\$")
# Files that another make target adds to _build/html: links to them are checked only when they exist.
OPTIONAL_TARGETS = {"icrl-book.pdf": "make pdf"}
# Console messages that are not the page's errors: a request the offline check already reports (aborted
# here on purpose) or an HTTP error the response listener reports with its URL.
CONSOLE_NOT_ERRORS = ("Failed to load resource",)

PAGE_JS = r"""
([labels, codeWidth]) => {
  const out = {merror: [], unrendered: [], rawtex: [], images: [], solutions: [], wide: [], outwide: [],
               code: [], xrefs: [], nav: [], titles: [], ids: [], links: [], cites: [], plain: [], bib: []};
  const article = document.querySelector('article.bd-article');
  const snip = (s, n=70) => { s = (s || '').replace(/\s+/g, ' ').trim(); return s.length > n ? s.slice(0, n-1) + '…' : s; };
  // where: the id of the enclosing theorem/exercise/solution box if any, else of the enclosing section
  const where = (el) => {
    for (let e = el; e && e !== document.body; e = e.parentElement) {
      if (e.id && !/-content$/.test(e.id) && (e.tagName === 'SECTION' || e.classList.contains('admonition') || e.classList.contains('proof')))
        return '#' + e.id;
    }
    return '(top)';
  };
  // MathJax keeps each formula's TeX on its MathItem; map the rendered container back to it
  const texOf = new Map();
  try { for (const it of MathJax.startup.document.math) texOf.set(it.typesetRoot, it.math); } catch (e) {}
  out.title = document.title;
  for (const e of document.querySelectorAll('mjx-merror, [data-mjx-error]'))
    out.merror.push([where(e), snip(e.getAttribute('data-mjx-error') || e.textContent)]);
  // navigation, prev/next: text and whether it holds math
  for (const a of document.querySelectorAll('nav.bd-docs-nav a[href]'))
    out.nav.push([a.href, snip(a.textContent, 80), !!a.querySelector('.math, mjx-container')]);
  for (const [kind, sel] of [['navigation caption', 'nav.bd-docs-nav .caption'], ['prev/next', '.prev-next-area .prev-next-title'],
                             ['breadcrumb', '.bd-breadcrumbs li'], ['navigation', 'nav.bd-docs-nav a']])
    for (const e of document.querySelectorAll(sel))
      out.titles.push([kind, snip(e.textContent, 80), !!e.querySelector('.math, mjx-container')]);
  for (const e of document.querySelectorAll('[id]')) out.ids.push(e.id);
  out.launch = [...document.querySelectorAll('a[href*="colab.research.google.com"], a[href*="mybinder.org"]')].map(a => a.href);
  for (const a of document.querySelectorAll('a[href]')) {
    const h = a.getAttribute('href');
    if (/^(https?:|mailto:|javascript:|data:)/.test(h) && !a.href.startsWith(location.origin)) continue;
    out.links.push([a.href, h, snip(a.textContent, 40)]);
  }
  for (const img of document.querySelectorAll('main img'))
    if (!img.complete || img.naturalWidth === 0) out.images.push([where(img), img.getAttribute('src')]);
  for (const s of document.querySelectorAll('.solution')) {
    const title = snip((s.querySelector('.admonition-title') || s).textContent, 60);
    if (!s.classList.contains('dropdown')) { out.solutions.push([where(s), title, 'not a dropdown (:class: dropdown missing)']); continue; }
    const shown = [...s.children].filter(c => !c.matches('.admonition-title, button.toggle-button'))
      .filter(c => c.checkVisibility({visibilityProperty: true, opacityProperty: true}) && c.getBoundingClientRect().height > 0);
    if (shown.length) out.solutions.push([where(s), title, 'dropdown is open when the page loads']);
  }
  for (const b of document.querySelectorAll('[role=doc-biblioentry]')) {
    const l = b.querySelector('.label');
    out.bib.push([b.id, l ? l.textContent.replace(/[\[\]\s]/g, '') : '']);
  }
  if (!article) return out;
  for (const m of article.querySelectorAll('.math'))
    if (!m.querySelector('mjx-container')) out.unrendered.push([where(m), snip(m.textContent, 60)]);
  for (const x of article.querySelectorAll('span.xref, code.xref'))
    if (!x.closest('a')) out.xrefs.push([where(x), snip(x.textContent, 40), 'cross-reference did not resolve (text, not a link)']);
  // a role printed as text (":meth:" before a name): Markdown made from a docstring
  for (const c of article.querySelectorAll('code')) {
    const prev = c.previousSibling;
    if (prev && prev.nodeType === 3 && /:(py:)?(meth|func|class|mod|data|attr|obj|exc|ref|numref|eq|doc|cite(:[tp])?):~?$/.test(prev.textContent))
      out.xrefs.push([where(c), snip(prev.textContent.slice(-12) + c.textContent, 50), 'a role printed as text, not a link']);
  }
  // prose text nodes: raw TeX, '??', plain paper labels
  const skip = 'pre, code, script, style, textarea, mjx-container, svg, .math, .cell_output';
  const texRe = /\\(\(|\)|\[|\]|begin\{|end\{|frac|mathbb|mathcal|sum_|alpha|gamma|theta)|\$\$/;
  const labRe = new RegExp('\\[(' + labels.join('|') + ')\\b', 'g');
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  let n;
  while ((n = walker.nextNode())) {
    const p = n.parentElement, t = n.textContent;
    if (!p || p.closest(skip)) continue;
    const m = t.match(texRe);
    if (m) out.rawtex.push([where(p), snip(t.slice(Math.max(0, m.index - 25), m.index + 35), 60)]);
    if (t.includes('??')) out.xrefs.push([where(p), snip(t, 50), "'??' in the text (a reference that did not resolve)"]);
    if (!p.closest('a')) for (const mm of t.matchAll(labRe)) {
      const ctx = p.closest('.admonition-title, h1, h2, h3, h4, figcaption, th, td, li, p');
      const kind = ctx ? (ctx.classList.contains('admonition-title') ? 'theorem/exercise title' : ctx.tagName.toLowerCase()) : p.tagName.toLowerCase();
      out.plain.push([where(p), kind, mm[1], snip(t.slice(Math.max(0, mm.index - 30), mm.index + 40), 70)]);
    }
  }
  const bareRe = new RegExp('^\\s*\\[?(' + labels.join('|') + ')\\]?\\s*$');
  for (const a of article.querySelectorAll('a[href]')) {
    if (a.getAttribute('role') === 'doc-backlink' || a.closest('.label')) continue;
    const m = a.textContent.match(bareRe) || a.textContent.match(new RegExp('\\[(' + labels.join('|') + ')\\b'));
    if (m) out.cites.push([where(a), m[1], a.href, a.getAttribute('href'), snip(a.textContent, 40)]);
  }
  // code lines
  const cells = [...article.querySelectorAll('div.cell')];
  for (const pre of article.querySelectorAll('pre')) {
    if (pre.closest('.cell_output, .output')) continue;
    const cell = pre.closest('div.cell');
    const name = cell ? 'code cell ' + (cells.indexOf(cell) + 1) : 'code block';
    pre.textContent.split('\n').forEach((line, i) => {
      if (line.length > codeWidth) out.code.push([where(pre), name, i + 1, line.length, snip(line, 50)]);
    });
  }
  // widths at the current viewport
  const cs = getComputedStyle(article), ar = article.getBoundingClientRect();
  const right = ar.right - parseFloat(cs.paddingRight), col = right - ar.left - parseFloat(cs.paddingLeft);
  out.col = Math.round(col);
  for (const c of article.querySelectorAll('mjx-container[display="true"]')) {
    const r = (c.querySelector('mjx-math') || c).getBoundingClientRect();
    if (r.width > col + 1 || r.right > right + 1) out.wide.push([where(c), 'display equation "' + snip(texOf.get(c) || '', 60) + '"', Math.round(r.width)]);
  }
  for (const t of article.querySelectorAll('table')) {
    const w = Math.max(t.getBoundingClientRect().width, t.scrollWidth), r = t.getBoundingClientRect();
    const head = snip([...t.querySelectorAll('th')].slice(0, 4).map(x => x.textContent).join(' | '), 50);
    if (w > col + 1 || r.right > right + 1) out.wide.push([where(t), 'table [' + head + ']', Math.round(w)]);
  }
  for (const p of article.querySelectorAll('.cell_output pre')) {
    if (p.closest('.tag_raises-exception')) continue;
    if (p.scrollWidth > p.clientWidth + 1) {
      const longest = p.textContent.split('\n').reduce((a, b) => a.length >= b.length ? a : b, '');
      out.outwide.push([where(p), 'printed output, longest line ' + longest.length + ' characters "' + snip(longest, 40) + '"', p.scrollWidth]);
    }
  }
  return out;
}
"""

# At 390 px: does the page scroll sideways, which boxes scroll without a cue, which table numbers break.
PHONE_JS = r"""
() => {
  const out = {page: [document.documentElement.scrollWidth, document.documentElement.clientWidth], nocue: [], wider: [], breaks: []};
  const article = document.querySelector('article.bd-article');
  if (!article) return out;
  const snip = (s, n=50) => { s = (s || '').replace(/\s+/g, ' ').trim(); return s.length > n ? s.slice(0, n-1) + '…' : s; };
  const where = (el) => {
    for (let e = el; e && e !== document.body; e = e.parentElement)
      if (e.id && !/-content$/.test(e.id) && (e.tagName === 'SECTION' || e.classList.contains('admonition'))) return '#' + e.id;
    return '(top)';
  };
  const kind = (e) => e.closest('mjx-container[display="true"], div.math') ? 'display equation' : e.closest('table, .pst-scrollable-table-container') || e.querySelector('table') ? 'table'
    : e.closest('.cell_output, .output') ? 'cell output' : e.closest('.cell, div.highlight') || e.tagName === 'PRE' ? 'code' : e.tagName.toLowerCase();
  const vw = document.documentElement.clientWidth;
  for (const e of article.querySelectorAll('*')) {
    const cs = getComputedStyle(e);
    if (cs.display === 'none' || !e.checkVisibility()) continue;
    if (/auto|scroll/.test(cs.overflowX) && e.scrollWidth > e.clientWidth + 1) {
      const cue = [cs.maskImage, cs.webkitMaskImage].some(m => m && m !== 'none');
      if (!cue) out.nocue.push([where(e), kind(e), e.scrollWidth, e.clientWidth, snip(e.textContent, 40)]);
    }
    const r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > vw + 1) {
      let inside = false;
      for (let p = e.parentElement; p && p !== document.body; p = p.parentElement)
        if (/auto|scroll|hidden|clip/.test(getComputedStyle(p).overflowX)) { inside = true; break; }
      if (!inside && out.wider.length < 5) out.wider.push([where(e), e.tagName.toLowerCase() + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ')[0] : ''), Math.round(r.right), snip(e.textContent, 40)]);
    }
  }
  // numbers in table cells: one token, one line
  const num = /(?:[<>≤≥≈~]\s?)?[-−+]?\d+(?:[.,]\d+)*(?:[eE][-+−]?\d+)?/g;
  for (const cell of article.querySelectorAll('td, th')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    let n;
    while ((n = walker.nextNode())) {
      if (n.parentElement.closest('mjx-container')) continue;
      for (const m of n.textContent.matchAll(num)) {
        if (!/[-−<>≤≥≈~]/.test(m[0])) continue;
        const range = document.createRange();
        range.setStart(n, m.index); range.setEnd(n, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (tops.size > 1) out.breaks.push([where(cell), m[0]]);
      }
    }
  }
  return out;
}
"""

# Is the chapter list / "on this page" list in front of the reader: a link of it visible, inside the window,
# and the element at its centre (not under an overlay)?
SHOWN_JS = r"""
(sel) => {
  for (const a of document.querySelectorAll(sel)) {
    if (!a.checkVisibility({visibilityProperty: true, opacityProperty: true})) continue;
    const r = a.getBoundingClientRect();
    if (r.width < 2 || r.height < 2 || r.right <= 0 || r.bottom <= 0 || r.left >= innerWidth || r.top >= innerHeight) continue;
    const x = Math.min(Math.max(r.left + Math.min(r.width / 2, 20), 0), innerWidth - 1), y = Math.min(Math.max(r.top + r.height / 2, 0), innerHeight - 1);
    const hit = document.elementFromPoint(x, y);
    if (hit && (hit === a || a.contains(hit) || hit.contains(a))) return true;
  }
  return false;
}
"""
CHAPTER_LIST = "nav.bd-docs-nav a"
PAGE_TOC = "#pst-page-toc-nav a, nav.page-toc a, .bd-toc-nav a"


def _visible(page, selector: str):
    for el in page.query_selector_all(selector):
        try:
            if el.is_visible():
                return el
        except Exception:  # noqa: BLE001 - a detached element is not visible
            pass
    return None


def _wait_shown(page, selector: str, shown: bool, timeout_ms: int = 3000) -> bool:
    try:
        page.wait_for_function(f"(sel) => ({SHOWN_JS})(sel) === {str(shown).lower()}", arg=selector,
                               timeout=timeout_ms, polling=100)
        return True
    except Exception:  # noqa: BLE001 - timed out: the panel did not change
        return False


def check_phone_nav(page, rep: "Report", rel: str) -> None:
    """At 390 px: tap the chapter-list and "on this page" buttons; each panel must come up."""
    if "phonenav" not in rep.enabled:
        return
    if not page.query_selector(CHAPTER_LIST) or page.evaluate(SHOWN_JS, CHAPTER_LIST):
        pass  # no chapter list, or it is on the page already
    else:
        btn = _visible(page, ".primary-toggle")
        if btn is None:
            rep.fail("phonenav", rel, "chapter-list button", "no visible button opens the chapter list at 390 px")
        else:
            btn.tap()
            if not _wait_shown(page, CHAPTER_LIST, True):
                rep.fail("phonenav", rel, "chapter-list button", "tapping it does not show the chapter list (390 px)")
            page.keyboard.press("Escape")
            _wait_shown(page, CHAPTER_LIST, False, 1500)
    toc = page.query_selector_all(PAGE_TOC)
    if toc and not page.evaluate(SHOWN_JS, PAGE_TOC):
        btn = _visible(page, ".secondary-toggle")
        if btn is None:
            rep.fail("phonenav", rel, '"on this page" button', 'no visible button opens "on this page" at 390 px')
        else:
            btn.tap()
            if not _wait_shown(page, PAGE_TOC, True):
                rep.fail("phonenav", rel, '"on this page" button', 'tapping it does not show the page contents (390 px)')
            page.keyboard.press("Escape")
            _wait_shown(page, PAGE_TOC, False, 1500)


def check_desktop_nav(page, rep: "Report", rel: str) -> None:
    """At 1400 px: the hamburger hides the chapter list; a second click shows it again."""
    if "desktopnav" not in rep.enabled or not page.evaluate(SHOWN_JS, CHAPTER_LIST):
        return
    btn = _visible(page, ".primary-toggle")
    if btn is None:
        return
    btn.click()
    if not _wait_shown(page, CHAPTER_LIST, False):
        rep.fail("desktopnav", rel, "sidebar button", "clicking it does not collapse the chapter list (1400 px)")
        return
    btn.click()
    if not _wait_shown(page, CHAPTER_LIST, True):
        rep.fail("desktopnav", rel, "sidebar button", "a second click does not bring the chapter list back (1400 px)")


def check_solution_click(page, rep: "Report", rel: str) -> None:
    """Click the text of the first folded "Solution to ..." title: it opens in place, no jump."""
    if "solutionclick" not in rep.enabled:
        return
    title = page.query_selector(".solution.dropdown > .admonition-title")
    if title is None:
        return
    target = title.query_selector("a, .icrl-solution-of") or title
    target.scroll_into_view_if_needed()
    before = page.evaluate("() => [location.hash, scrollY]")
    target.click()
    page.wait_for_timeout(400)
    after = page.evaluate("""(t) => { const s = t.closest('.solution'); const r = t.getBoundingClientRect();
        const shown = [...s.children].filter(c => !c.matches('.admonition-title, button.toggle-button'))
          .some(c => c.checkVisibility() && c.getBoundingClientRect().height > 0);
        return [location.hash, scrollY, shown, r.top >= -1 && r.bottom <= innerHeight + 1]; }""", title)
    name = " ".join((title.text_content() or "").split())[:60]
    if after[0] != before[0] or not after[3]:
        rep.fail("solutionclick", rel, f"'{name}'", f"clicking the title jumps away (to {after[0] or 'another place'})")
    elif not after[2]:
        rep.fail("solutionclick", rel, f"'{name}'", "clicking the title does not open the solution")


class Report:
    def __init__(self, enabled: set[str]):
        self.enabled = enabled
        self.failures: list[dict] = []

    def fail(self, check: str, page: str, element: str, what: str) -> None:
        if check in self.enabled:
            self.failures.append({"check": check, "page": page, "element": element, "what": what})


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(html: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(html)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def list_pages(html: Path, pattern: str) -> list[str]:
    pages = []
    for path in sorted(html.rglob("*.html")):
        rel = path.relative_to(html).as_posix()
        if rel.split("/")[0] not in ("_static", "_sources", "_images") and fnmatch.fnmatch(rel, pattern):
            pages.append(rel)
    return pages


def _watch(page, base: str, errors: list[str]) -> None:
    """Collect the page's JavaScript errors and its own files that answer with an HTTP error."""
    page.on("pageerror", lambda e: errors.append(f"uncaught exception: {e}"))
    page.on("console", lambda m: m.type == "error" and not any(t in m.text for t in CONSOLE_NOT_ERRORS)
            and errors.append(f"console.error: {m.text}"))

    def response(r):
        # /favicon.ico is the browser's own guess when a page names no icon, not a file the page asks for
        if r.status >= 400 and r.url.startswith(base) and urlsplit(r.url).path != "/favicon.ico":
            errors.append(f"HTTP {r.status} for {r.url[len(base):][:100]}")
    page.on("response", response)


def _goto(page, rep: Report, base: str, rel: str, check: str = "load") -> bool:
    try:
        resp = page.goto(f"{base}/{rel}", wait_until="load", timeout=60000)
    except Exception as e:  # noqa: BLE001 - any load failure is a finding
        rep.fail(check, rel, "page", f"did not load: {str(e)[:120]}")
        return False
    if resp is None or resp.status != 200:
        rep.fail(check, rel, "page", f"HTTP status {resp.status if resp else 'none'}")
        return False
    try:
        page.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
    except Exception as e:  # noqa: BLE001
        rep.fail("mathjax", rel, "MathJax", f"typesetting failed: {str(e)[:120]}")
    return True


def visit(args, rep: Report, pages: list[str]) -> dict[str, dict]:
    """Load every page in Chromium at 1400 px (PAGE_JS) and at 390 px on a touch screen (PHONE_JS); return
    the findings per page."""
    from playwright.sync_api import sync_playwright

    found: dict[str, dict] = {}
    server, base = serve(args.html)
    args.screenshots.mkdir(parents=True, exist_ok=True)
    phone_shots = args.screenshots / "phone"
    phone_shots.mkdir(exist_ok=True)
    phone_pass = bool({"phonenav", "phonewidth", "numbreak", "console"} & rep.enabled)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport=DESKTOP)
        phone_ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        external: list[str] = []
        errors: list[str] = []

        def route(r):
            url = r.request.url
            if url.startswith(("data:", "blob:", "about:")) or urlsplit(url).hostname == "127.0.0.1":
                r.continue_()
            else:
                external.append(url)
                r.abort()

        for c in (ctx, phone_ctx):
            c.route("**/*", route)
        page, phone = ctx.new_page(), phone_ctx.new_page()
        _watch(page, base, errors)
        _watch(phone, base, errors)
        for rel in pages:
            external.clear()
            errors.clear()
            t0 = time.perf_counter()
            text = (args.html / rel).read_text(encoding="utf-8", errors="replace")
            m = re.search(r'http-equiv="refresh"\s+content="\d+;\s*url=([^"]+)"', text, re.I)
            if m:  # a redirect (index.html): its target must exist
                if not (args.html / Path(rel).parent / m.group(1)).exists():
                    rep.fail("links", rel, "redirect", f"target {m.group(1)} does not exist")
                continue
            if not _goto(page, rep, base, rel):
                continue
            found[rel] = page.evaluate(PAGE_JS, [list(PAPER_LABELS), args.code_width])
            found[rel]["url"] = page.url
            if rel.startswith("book/"):
                page.screenshot(path=str(args.screenshots / (Path(rel).stem + ".png")), full_page=args.full_page)
            if "searchbox" in rep.enabled:
                n = page.evaluate("""() => [...document.querySelectorAll('.search-button-field, form.bd-search input, input[type=search]')]
                    .filter(e => e.checkVisibility({visibilityProperty: true, opacityProperty: true}) && !e.closest('dialog, .bd-main')).length""")
                if n > 1:
                    rep.fail("searchbox", rel, "header", f"{n} search fields visible at 1400 px (one is enough)")
            check_desktop_nav(page, rep, rel)
            check_solution_click(page, rep, rel)
            if phone_pass and _goto(phone, rep, base, rel, "phonewidth"):
                f = phone.evaluate(PHONE_JS)
                found[rel]["phone"] = f
                if rel.startswith("book/"):
                    phone.screenshot(path=str(phone_shots / (Path(rel).stem + ".png")))
                check_phone_nav(phone, rep, rel)
            for err in dict.fromkeys(errors):
                rep.fail("console", rel, "JavaScript", err[:200])
            for url in external:
                rep.fail("offline", rel, "request", f"asks another host for {url[:100]}")
            if args.verbose:
                print(f"  {rel}: {time.perf_counter() - t0:.1f} s", flush=True)
        if ({"search", "searchtex"} & rep.enabled) and (args.html / "search.html").exists():
            check_search(args, rep, page, base)
        ctx.close()
        phone_ctx.close()
        browser.close()
    server.shutdown()
    return found


def check_search(args, rep: Report, page, base: str) -> None:
    """The search page finds --search-word on --search-page; its excerpts for --search-tex-word show no TeX."""
    for word, check in ((args.search_word, "search"), (args.search_tex_word, "searchtex")):
        if check not in rep.enabled:
            continue
        page.goto(f"{base}/search.html?q={word}", wait_until="load")
        hrefs, excerpts = [], []
        try:
            page.wait_for_function("() => /finished|found/i.test((document.querySelector('#search-results .search-summary') "
                                   "|| {}).textContent || '')", timeout=30000)
            page.wait_for_timeout(300)  # the excerpts arrive page by page
            hrefs = page.eval_on_selector_all("#search-results li a", "els => els.map(e => e.href)")
            excerpts = page.eval_on_selector_all("#search-results li p.context", "els => els.map(e => e.textContent)")
        except Exception:  # noqa: BLE001 - reported below
            pass
        if check == "search" and not any(args.search_page in h for h in hrefs):
            rep.fail("search", "search.html", f"query '{word}'",
                     f"no result on {args.search_page} ({len(hrefs)} results)")
        if check == "searchtex":
            if not excerpts:
                rep.fail("searchtex", "search.html", f"query '{word}'", "no result excerpts to check")
            for ex in excerpts:
                m = re.search(r"\\[(\[)\]]|\\[A-Za-z]+|\$\$", ex)
                if m:
                    rep.fail("searchtex", "search.html", f"query '{word}'",
                             f"TeX source in a result excerpt: ...{ex[max(0, m.start() - 30):m.end() + 20]}...")


def analyse(args, rep: Report, found: dict[str, dict], base_pages: list[str]) -> None:
    def rel_of(url: str) -> tuple[str, str]:
        parts = urlsplit(url)
        return unquote(parts.path).lstrip("/"), unquote(parts.fragment)

    ids = {rel: set(f["ids"]) for rel, f in found.items()}
    bib = {rel: dict(map(tuple, f["bib"])) for rel, f in found.items()}
    numbered_reported: set[int] = set()
    for rel, f in found.items():
        if TEX.search(f["title"]):
            rep.fail("titles", rel, f"<title> '{f['title'][:60]}'", "TeX in the page title (browser tab)")
        for kind, text, has_math in f["titles"]:
            if has_math or TEX.search(text):
                rep.fail("titles", rel, f"{kind} '{text[:60]}'", "TeX in a title (raw TeX on pages without math)")
        for href, text, _ in f["nav"]:
            target, _frag = rel_of(href)
            m = CHAPTER.match(target)
            if m and int(m.group(1)) >= 1:
                n = int(m.group(1))
                if n not in numbered_reported and not re.match(rf"^{n}\.?\s", text):
                    numbered_reported.add(n)
                    rep.fail("numbering", rel, f"navigation entry '{text[:50]}'",
                             f"chapter {n} is not numbered {n} in the navigation")
        for w, t in f["merror"]:
            rep.fail("mathjax", rel, w, f"MathJax error: {t}")
        for w, t in f["unrendered"]:
            rep.fail("mathjax", rel, w, f"math not rendered by MathJax: {t}")
        for w, t in f["rawtex"]:
            rep.fail("mathjax", rel, w, f"raw TeX in the text: {t}")
        for w, src in f["images"]:
            rep.fail("images", rel, f"{w} img {src}", "image did not load")
        for w, title, what in f["solutions"]:
            rep.fail("solutions", rel, f"{w} '{title}'", what)
        for w, t, what in f["xrefs"]:
            rep.fail("xrefs", rel, f"{w} '{t}'", what)
        for href, raw, text in f["links"]:
            target, frag = rel_of(href)
            if target.endswith("/") or target == "":
                target += "index.html"
            label = f'link "{text}" -> {raw}'
            if not (args.html / target).exists():
                if target in OPTIONAL_TARGETS:
                    continue
                rep.fail("links", rel, label, f"target {target} does not exist")
            elif frag and target.endswith(".html"):
                if target not in ids:
                    ids[target] = set(re.findall(r'\bid="([^"]+)"', (args.html / target).read_text(encoding="utf-8")))
                if frag not in ids[target]:
                    rep.fail("links", rel, label, f"no element with id '{frag}' on {target}")
        for w, kind, lab, text in f["plain"]:
            if rel.endswith("prf-prf.html"):  # the list of theorems repeats each title's source tag; the statement links it
                continue
            rep.fail("citations", rel, f"{w} <{kind}> '{text}'", f"[{lab}] is plain text, not a link to its bibliography entry")
        for w, lab, href, raw, text in f["cites"]:
            target, frag = rel_of(href)
            entries = bib.get(target)
            if entries is None and (args.html / target).exists():
                page = (args.html / target).read_text(encoding="utf-8")
                entries = dict(re.findall(r'id="([^"]+)" role="doc-biblioentry">\s*<span class="label">'
                                          r'<span class="fn-bracket">\[</span>(?:<a[^>]*>)?([^<]+)', page))
                bib[target] = entries
            shown = (entries or {}).get(frag)
            if shown is None:
                rep.fail("citations", rel, f"{w} link '{text}' -> {raw}", f"[{lab}] does not point to a bibliography entry")
            elif shown != lab:
                rep.fail("citations", rel, f"{w} link '{text}' -> {raw}",
                         f"[{lab}] points to the entry labelled [{shown}]: the labels differ")
        for w, kind, px in f["wide"]:
            rep.fail("width", rel, f"{w} {kind}", f"{px} px wide, content column {f['col']} px (window 1400 px)")
        for w, kind, px in f["outwide"]:
            rep.fail("outputwidth", rel, f"{w} {kind}", f"{px} px wide, content column {f['col']} px (window 1400 px)")
        for w, name, line, length, text in f["code"]:
            rep.fail("codewidth", rel, f"{name} ({w}) line {line}",
                     f"{length} > {args.code_width} characters: {text}")
        phone = f.get("phone")
        if phone:
            sw, cw = phone["page"]
            if sw > cw + 1:
                what = "; ".join(f"{w} <{tag}> right edge {px} px '{t}'" for w, tag, px, t in phone["wider"][:3])
                rep.fail("phonewidth", rel, "page", f"the page scrolls sideways at 390 px ({sw} px wide): {what}")
            kinds = Counter(k for _, k, *_ in phone["nocue"])
            for w, kind, sw_, cw_, t in phone["nocue"][:5]:
                rep.fail("phonewidth", rel, f"{w} {kind} '{t}'",
                         f"scrolls sideways ({sw_} px in {cw_} px) with no scroll cue at 390 px")
            if len(phone["nocue"]) > 5:
                rep.fail("phonewidth", rel, "more", "and " + ", ".join(f"{n} {k}" for k, n in kinds.items())
                         + f" in all ({len(phone['nocue'])}) scroll with no cue")
            for w, token in phone["breaks"]:
                rep.fail("numbreak", rel, f"{w} table cell '{token}'", "the number is broken across two lines at 390 px")
    check_launch(args, rep, found)
    index = args.html / "searchindex.js"
    if index.exists() and "titles" in rep.enabled:
        m = re.search(r'"titles":\s*(\[.*?\])', index.read_text(encoding="utf-8"))
        for t in json.loads(m.group(1)) if m else []:
            if TEX.search(t) or 'class="math' in t:
                rep.fail("titles", "searchindex.js", f"title '{t[:60]}'", "TeX in a search-result title")


def check_launch(args, rep: Report, found: dict[str, dict]) -> None:
    """Launch buttons of the chapters point to repository.url @ repository.branch of _config.yml."""
    import yaml

    config = args.html.parent.parent / "_config.yml"
    if not config.exists():
        return
    repo = (yaml.safe_load(config.read_text()) or {}).get("repository") or {}
    owner_repo = str(repo.get("url", "")).rstrip("/").removeprefix("https://github.com/")
    branch = repo.get("branch", "main")
    for rel, f in found.items():
        if not CHAPTER.match(rel):
            continue
        nb = Path(rel).with_suffix(".ipynb").as_posix()
        want = {"colab": f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/{nb}",
                "binder": f"https://mybinder.org/v2/gh/{owner_repo}/{branch}?"}
        for kind, prefix in want.items():
            links = [h for h in f.get("launch", []) if kind in h]
            if not links:
                rep.fail("launch", rel, f"{kind} button", "missing")
            for h in links:
                if not h.startswith(prefix):
                    rep.fail("launch", rel, f"{kind} button", f"opens {h[:100]}, not {prefix}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    ap.add_argument("--screenshots", type=Path, default=ROOT / "_build" / "screenshots")
    ap.add_argument("--only", default="", help="comma-separated checks to run (default: all)")
    ap.add_argument("--skip", default="", help="comma-separated checks to skip")
    ap.add_argument("--pages", default="*", help="glob over page paths, e.g. 'book/05_*'")
    ap.add_argument("--code-width", type=int, default=88, help="longest allowed code line (characters)")
    ap.add_argument("--search-word", default="Boyan")
    ap.add_argument("--search-page", default="03_in_context_td")
    ap.add_argument("--search-tex-word", default="eligibility",
                    help="a query whose result excerpts hold math (check searchtex)")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--full-page", action="store_true", help="screenshot whole pages, not their top")
    ap.add_argument("--json", type=Path, help="also write the failures to this file as JSON")
    ap.add_argument("--verbose", action="store_true", help="print the time spent on each page")
    ap.add_argument("--list", action="store_true", help="describe the checks and exit")
    args = ap.parse_args(argv)
    if args.list:
        print(__doc__)
        return 0
    only = {c for c in args.only.split(",") if c} or set(CHECKS)
    skip = {c for c in args.skip.split(",") if c}
    for c in sorted(only | skip):
        if c not in CHECKS:
            ap.error(f"unknown check '{c}'; choose from {', '.join(CHECKS)}")
    args.html = args.html.resolve()
    if not (args.html / "index.html").exists():
        ap.error(f"--html: {args.html} has no index.html; run `make book` first")
    if not Path(args.chromium).exists():
        sys.exit(f"check_html: no Chromium at {args.chromium}. Install Debian's package "
                 "(apt-get install -y chromium; .ci/run does) or pass --chromium PATH")
    try:
        import playwright  # noqa: F401
    except ImportError:
        sys.exit("check_html: the Python package playwright is missing (it is in requirements.txt: make venv)")
    start = time.perf_counter()
    rep = Report(only - skip)
    pages = list_pages(args.html, args.pages)
    found = visit(args, rep, pages)
    analyse(args, rep, found, pages)
    counts = Counter(f["check"] for f in rep.failures)
    for f in rep.failures:
        print(f"FAIL [{f['check']}] {f['page']}: {f['element']}: {f['what']}")
    print(f"\ncheck-html: {len(pages)} pages in {time.perf_counter() - start:.0f} s; "
          f"screenshots in {args.screenshots}")
    for c in CHECKS:
        if c in rep.enabled:
            print(f"  {c:<12} {f'{counts[c]} failures' if counts[c] else 'ok'}")
    if args.json:
        args.json.write_text(json.dumps(rep.failures, indent=1, ensure_ascii=False) + "\n")
    return 1 if rep.failures else 0


if __name__ == "__main__":
    sys.exit(main())
