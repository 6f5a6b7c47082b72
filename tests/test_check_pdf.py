"""scripts/check_pdf.py on small PDFs built here: it passes a good one and names each fault of a bad one.

No book build and no browser: the PDFs are written with pypdf (a page of text, a filled code frame with
text in it or without, an outline, links), then the script runs on them as `make check-pdf` runs it.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pypdfium2  # noqa: F401  (pinned in requirements.txt: the script renders pages with it)
from pypdf import PdfWriter
from pypdf.annotations import Link
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, TextStringObject

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "check_pdf.py"
W, H = 595, 842  # A4 in points


def text_lines(y0: float, n: int, x: float = 80) -> str:
    return "".join(f"BT /F1 10 Tf {x} {y0 - 14 * k} Td (print(value_{k}, 1e-10)) Tj ET\n" for k in range(n))


def page(writer: PdfWriter, content: str):
    p = writer.add_blank_page(W, H)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    p[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject(
        {NameObject("/F1"): writer._add_object(font)})})
    stream = DecodedStreamObject()
    stream.set_data(content.encode("latin-1"))
    p[NameObject("/Contents")] = writer._add_object(stream)
    return p


GREY_FRAME = "0.96 0.96 0.96 rg 60 {y} 475 {h} re f 0.8 0.8 0.8 RG 60 {y} 475 {h} re S\n"


def build(path: Path, *, outline=True, local_link=False, dangling=False, empty_frame=False) -> Path:
    w = PdfWriter()
    # page 1: prose and a code frame with its code in it (a legitimate, full frame)
    page(w, text_lines(780, 8) + GREY_FRAME.format(y=300, h=300) + "0 0 0 rg " + text_lines(590, 21))
    # page 2: prose, then (when asked) the empty frame a split code cell leaves at the foot of a page
    page(w, "0 0 0 rg " + text_lines(780, 20) + (GREY_FRAME.format(y=60, h=400) if empty_frame else ""))
    page(w, "0 0 0 rg " + text_lines(780, 30))
    if outline:
        ch = w.add_outline_item("1. Chapter one", 0)
        w.add_outline_item("1.1 A section", 1, parent=ch)
        w.add_outline_item("2. Chapter two", 2)
    w.add_named_destination("exercise-1", 2)
    w.add_annotation(0, Link(rect=(80, 700, 200, 712), target_page_index=2))  # internal, explicit
    named = Link(rect=(80, 680, 200, 692), target_page_index=0)
    named[NameObject("/Dest")] = TextStringObject("exercise-1")
    w.add_annotation(0, named)
    w.add_annotation(1, Link(rect=(80, 700, 200, 712), url="https://arxiv.org/abs/2605.05755"))
    if local_link:
        w.add_annotation(1, Link(rect=(80, 680, 200, 692), url="http://127.0.0.1:41217/book/book/intro.html#ex-1"))
    if dangling:
        bad = Link(rect=(80, 660, 200, 672), target_page_index=0)
        bad[NameObject("/Dest")] = TextStringObject("no-such-label")
        w.add_annotation(1, bad)
    with open(path, "wb") as f:
        w.write(f)
    return path


def run(pdf: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), str(pdf), *args], capture_output=True, text=True)


def test_good_pdf_passes(tmp_path):
    r = run(build(tmp_path / "good.pdf"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 pages" in r.stdout and "ok" in r.stdout


def test_missing_outline_fails(tmp_path):
    r = run(build(tmp_path / "no_outline.pdf", outline=False))
    assert r.returncode == 1
    assert "no outline" in r.stdout


def test_link_to_local_server_fails(tmp_path):
    r = run(build(tmp_path / "local.pdf", local_link=True))
    assert r.returncode == 1
    assert "page 2: a link to a local server: http://127.0.0.1:41217" in r.stdout


def test_internal_link_to_missing_destination_fails(tmp_path):
    r = run(build(tmp_path / "dangling.pdf", dangling=True))
    assert r.returncode == 1
    assert "no-such-label" in r.stdout


def test_empty_frame_fails_and_full_frame_passes(tmp_path):
    r = run(build(tmp_path / "frame.pdf", empty_frame=True))
    assert r.returncode == 1
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("frames:")]
    assert len(lines) == 1 and lines[0].startswith("frames: page 2 holds an empty frame"), r.stdout
    # the frame of page 1 (300 pt tall, with code in it) is not reported, at any threshold above a line
    assert run(build(tmp_path / "full.pdf"), "--only", "frames", "--max-frame", "0.05").returncode == 0


def test_list_and_unknown_check():
    r = subprocess.run([sys.executable, str(SCRIPT), "--list"], capture_output=True, text=True)
    assert r.returncode == 0 and {"outline", "links", "frames"} <= {ln.split()[0] for ln in r.stdout.splitlines()}
    r = subprocess.run([sys.executable, str(SCRIPT), "x.pdf", "--only", "nope"], capture_output=True, text=True)
    assert r.returncode == 2
