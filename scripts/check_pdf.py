"""Check a PDF of the book the way a PDF viewer meets it (``make check-pdf``; tests/test_check_pdf.py).

Usage: python scripts/check_pdf.py [--list] [--only NAME,...] [--max-frame F] [PDF]   (default
_build/pdf/icrl-book.pdf)

Checks (each prints its failures, one line each, and the exit status is 1 if any check failed):

  outline   the document has an outline (bookmarks) of at least --min-outline entries, each of them
            opening a page of the document;
  links     no link points to a local server or file (127.0.0.1, localhost, file:, a relative address):
            every internal link is a destination inside the PDF, and every destination resolves to a page;
  frames    no page holds a large empty frame: a filled, uniformly coloured (not white) box at least
            --max-frame of the page's height tall with nothing drawn inside it, which is what a code cell
            that did not fit on the page leaves behind. Pages are rendered with pdfium (pypdfium2).

Needs pypdf and pypdfium2 (requirements.txt).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "_build" / "pdf" / "icrl-book.pdf"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "0.0.0.0", "::1", "[::1]"}
CHECKS = {
    "outline": "the PDF has an outline (bookmarks), every entry opening a page",
    "links": "no link to a local server or file; every internal link resolves to a page of the PDF",
    "frames": "no page holds a large empty (uniformly filled) frame",
}


def _page_index(reader, dest) -> int | None:
    """The page number (0-based) a destination opens, or None."""
    try:
        n = reader.get_destination_page_number(dest)
    except Exception:
        return None
    return n if n is not None and 0 <= n < len(reader.pages) else None


def check_outline(reader, min_entries: int) -> list[str]:
    outline = reader.outline
    entries = []

    def walk(items, depth):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                entries.append((depth, item))

    walk(outline, 0)
    if len(entries) < min_entries:
        return [f"outline: {len(entries)} bookmarks (at least {min_entries} wanted): the PDF has no outline"]
    bad = [f"outline: bookmark {getattr(e, 'title', '?')!r} opens no page of the document"
           for _, e in entries if _page_index(reader, e) is None]
    return bad


def _link_problem(reader, annot, named: set[str]) -> str | None:
    from pypdf.generic import NameObject

    action = annot.get("/A")
    action = action.get_object() if action is not None else None
    dest = annot.get("/Dest")
    if action is not None and action.get("/S") == "/URI":
        uri = str(action.get("/URI"))
        parts = urlsplit(uri)
        if parts.scheme in ("", "file"):
            return f"a link to a local file or relative address: {uri}"
        if parts.scheme in ("http", "https") and (parts.hostname or "") in LOCAL_HOSTS:
            return f"a link to a local server: {uri}"
        return None
    if action is not None and action.get("/S") == "/GoTo":
        dest = action.get("/D")
    if action is not None and action.get("/S") not in (None, "/GoTo", "/URI"):
        return None  # Launch, JavaScript...: not produced by the book's routes
    if dest is None:
        return "a link without a target"
    dest = dest.get_object() if hasattr(dest, "get_object") else dest
    if isinstance(dest, (str, bytes)) or isinstance(dest, NameObject):
        name = dest.decode("latin-1") if isinstance(dest, bytes) else str(dest)
        if name.lstrip("/") not in named and name not in named:
            return f"an internal link to a destination the PDF does not have: {name}"
        return None
    try:
        n = reader.get_page_number(dest[0].get_object())
    except Exception:
        return "an internal link with a malformed destination"
    if n is None or n < 0:
        return "an internal link to a page outside the document"
    return None


def check_links(reader) -> list[str]:
    named = {}
    try:
        named = reader.named_destinations
    except Exception:
        pass
    names = {str(k).lstrip("/") for k in named} | {str(k) for k in named}
    resolved = {k for k, d in named.items() if _page_index(reader, d) is not None}
    problems, total = [], 0
    for i, page in enumerate(reader.pages):
        for a in page.get("/Annots") or []:
            a = a.get_object()
            if a.get("/Subtype") != "/Link":
                continue
            total += 1
            p = _link_problem(reader, a, names)
            if p is None:
                dest = a.get("/Dest") or ((a.get("/A") or {}).get("/D") if a.get("/A") else None)
                if isinstance(dest, str) and dest in named and dest not in resolved:
                    p = f"an internal link to {dest}, which opens no page"
            if p:
                problems.append(f"links: page {i + 1}: {p}")
    return problems


def empty_frames(pdf: Path, max_frame: float, dpi: int = 40) -> list[tuple[int, float, tuple]]:
    """(page number, frame height as a fraction of the page, colour) of every page with an empty frame."""
    import numpy as np
    import pypdfium2 as pdfium

    found = []
    doc = pdfium.PdfDocument(str(pdf))
    try:
        for i in range(len(doc)):
            page = doc[i]
            img = np.asarray(page.render(scale=dpi / 72).to_pil().convert("RGB"), dtype=np.int16)
            page.close()
            h, w, _ = img.shape
            # a row belongs to a frame when one non-white colour covers at least half its width in one run
            # consecutive rows with the same run (same colour, same left and right edge) are one empty
            # box: a line of code or text inside a frame shortens the run of that row and ends the box
            best, run, key, best_colour = 0.0, 0, None, None
            for y in range(h):
                k = _dominant_run(img[y], w)
                if k is not None and key is not None and k[0] == key[0] and abs(k[1] - key[1]) <= 1 \
                        and abs(k[2] - key[2]) <= 1:
                    run += 1
                else:
                    run, key = (1, k) if k is not None else (0, None)
                if run / h > best:
                    best, best_colour = run / h, key[0]
            if best >= max_frame:
                found.append((i + 1, best, best_colour))
    finally:
        doc.close()
    return found


def _dominant_run(row, w):
    """(colour, start, end) of a uniform run covering >= 50% of the row, if it is not white (or near)."""
    import numpy as np

    change = np.any(row[1:] != row[:-1], axis=1)
    edges = np.flatnonzero(change) + 1
    starts = np.concatenate(([0], edges))
    ends = np.concatenate((edges, [w]))
    k = int(np.argmax(ends - starts))
    if ends[k] - starts[k] < w // 2:
        return None
    c = tuple(int(v) for v in row[starts[k]])
    if min(c) >= 250:  # the paper itself
        return None
    return c, int(starts[k]), int(ends[k])


def check_frames(pdf: Path, max_frame: float) -> list[str]:
    return [f"frames: page {n} holds an empty frame {frac:.0%} of the page tall (fill rgb{c})"
            for n, frac, c in empty_frames(pdf, max_frame)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pdf", nargs="?", type=Path, default=DEFAULT)
    ap.add_argument("--list", action="store_true", help="describe the checks and exit")
    ap.add_argument("--only", default="", help="comma-separated check names")
    ap.add_argument("--min-outline", type=int, default=1, help="bookmarks wanted at least")
    ap.add_argument("--max-frame", type=float, default=0.15,
                    help="largest empty frame allowed, as a fraction of the page height")
    args = ap.parse_args(argv)
    if args.list:
        for k, v in CHECKS.items():
            print(f"{k:8s} {v}")
        return 0
    only = [s for s in args.only.split(",") if s] or list(CHECKS)
    unknown = set(only) - set(CHECKS)
    if unknown:
        ap.error(f"unknown check(s): {', '.join(sorted(unknown))}")
    if not args.pdf.exists():
        print(f"check_pdf: no PDF at {args.pdf} (make pdf)")
        return 1
    from pypdf import PdfReader

    reader = PdfReader(str(args.pdf))
    problems = []
    if "outline" in only:
        problems += check_outline(reader, args.min_outline)
    if "links" in only:
        problems += check_links(reader)
    if "frames" in only:
        problems += check_frames(args.pdf, args.max_frame)
    for p in problems:
        print(p)
    print(f"check_pdf: {args.pdf}: {len(reader.pages)} pages, checks {', '.join(only)}: "
          + ("ok" if not problems else f"{len(problems)} problems"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
