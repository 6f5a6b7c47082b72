"""Check that every figure of the built book can be read, in headless Chromium (issue 25, item 5).

Usage: python scripts/check_figures.py [--html _build/html] [--pages 'book/*.html'] [--min-px 10]
                                       [--chromium /usr/bin/chromium] [--json FILE] [--phone]

For every figure image in a chapter page, loaded at 1400 px (and, with --phone, reported at 390 px):
  crisp      vector (SVG), or a raster with at least 2 image pixels per CSS pixel as displayed
  textsize   its smallest text, as displayed, is at least --min-px CSS pixels: the text size in CSS pixels
             that the PNG records (icrl:min-font-px, written by icrl_lib.plotting's display hook) times
             the displayed scale that Chromium reports; a figure without the record fails
  contrast   every data colour of the figure (the PNG's icrl:colors record; for a PNG without one, the
             saturated colours that cover many pixels and are not the heatmap colour map) reaches 3:1
             against the figure's background as Chromium paints it, in the light theme and in the dark
             theme (where the theme dims the image and sets it on a light plate): the colours are put
             on a swatch image inside the page and read back from a screenshot
  cvd        the data colours of each figure stay apart (CIELAB distance >= --cvd-min) under simulated
             protanopia, deuteranopia and tritanopia (Machado et al. 2009, severity 1)

Every failure is printed as ``FAIL [check] page: figure: what``; exit code 1 if any.
"""
from __future__ import annotations

import argparse
import fnmatch
import functools
import http.server
import io
import itertools
import json
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
MIN_CONTRAST = 3.0  # WCAG 2.1, 1.4.11 non-text contrast
CVD_MIN = 10.0

# Machado, Oliveira & Fernandes (2009), severity 1.0, on linear RGB.
CVD = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}


# ------------------------------------------------------------------------------------------ colour science
def srgb(color) -> np.ndarray:
    """'#rrggbb' or (r, g, b) in 0..255 -> sRGB in [0, 1]."""
    if isinstance(color, str):
        h = color.lstrip("#")
        return np.array([int(h[i:i + 2], 16) for i in (0, 2, 4)]) / 255.0
    return np.asarray(color, dtype=float)[:3] / 255.0


def linear(s: np.ndarray) -> np.ndarray:
    return np.where(s <= 0.04045, s / 12.92, ((s + 0.055) / 1.055) ** 2.4)


def luminance(color) -> float:
    """WCAG relative luminance."""
    return float(linear(srgb(color)) @ np.array([0.2126, 0.7152, 0.0722]))


def contrast_ratio(a, b) -> float:
    """WCAG contrast ratio of two colours, 1..21."""
    la, lb = sorted((luminance(a), luminance(b)))
    return (lb + 0.05) / (la + 0.05)


def lab(lin_rgb: np.ndarray) -> np.ndarray:
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ lin_rgb
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def simulate(color, kind: str | None) -> np.ndarray:
    """CIELAB of ``color`` as seen with colour-vision deficiency ``kind`` (None: normal vision)."""
    lin = linear(srgb(color))
    if kind is not None:
        lin = np.clip(CVD[kind] @ lin, 0.0, 1.0)
    return lab(lin)


def closest_pair(colors, kind: str | None) -> tuple[float, str, str]:
    """The smallest CIELAB distance between two of ``colors`` under ``kind``, and the pair."""
    best = (float("inf"), "", "")
    for a, b in itertools.combinations(colors, 2):
        d = float(np.linalg.norm(simulate(a, kind) - simulate(b, kind)))
        best = min(best, (d, a, b))
    return best


# ------------------------------------------------------------------------------------------ the figures
def png_record(path: Path) -> dict:
    from PIL import Image

    with Image.open(path) as im:
        return {k: v for k, v in im.info.items() if isinstance(k, str) and k.startswith("icrl:")}


@functools.lru_cache(maxsize=1)
def _colormap_lut() -> set[str]:
    import matplotlib

    lut = set()
    for name in ("RdBu_r", "RdBu", "viridis", "Blues", "Greys"):
        cmap = matplotlib.colormaps[name].resampled(256)
        for r, g, b, _ in (cmap(np.linspace(0, 1, 256)) * 255).round().astype(int):
            lut.add(f"#{r:02x}{g:02x}{b:02x}")
    return lut


# Colours plotting code names: matplotlib's named colours, its default cycle, the Okabe-Ito palette (the
# book's palette before issue 25) and today's house palette. A PNG without a record is searched for these.
OKABE_ITO = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#f0e442", "#000000"]


@functools.lru_cache(maxsize=1)
def _named_colors() -> set[str]:
    from matplotlib import colors as mcolors

    named = {mcolors.to_hex(c) for table in (mcolors.BASE_COLORS, mcolors.TABLEAU_COLORS, mcolors.CSS4_COLORS)
             for c in table.values()}
    try:
        sys.path.insert(0, str(ROOT))
        from icrl_lib.plotting import METHOD_COLORS, PALETTE

        named |= {mcolors.to_hex(c) for c in [*PALETTE, *METHOD_COLORS.values()]}
    except ImportError:  # pragma: no cover - the check runs without the library too
        pass
    return (named | set(OKABE_ITO)) - {"#ffffff"}


def pixel_colors(path: Path, min_pixels: int = 150) -> list[str]:
    """For a PNG without a record: the named colours (see ``_named_colors``) drawn on at least
    ``min_pixels`` pixels, leaving out greys lighter than mid-grey (grid lines) and the heatmap colour
    maps."""
    from PIL import Image

    with Image.open(path) as im:
        a = np.asarray(im.convert("RGB")).reshape(-1, 3)
    values, counts = np.unique(a, axis=0, return_counts=True)
    named, lut = _named_colors(), _colormap_lut()
    out = []
    for (r, g, b), n in zip(values, counts):
        h = f"#{r:02x}{g:02x}{b:02x}"
        grey = max(r, g, b) - min(r, g, b) < 8
        if n >= min_pixels and h in named and h not in lut and not (grey and r > 128):
            out.append(h)
    return out


FIGURES_JS = r"""
() => [...document.querySelectorAll('article.bd-article img')]
  .filter(img => img.closest('.cell_output, figure'))
  .map(img => {
    const fig = img.closest('figure');
    const cap = fig && fig.querySelector('figcaption .caption-number');
    const s = getComputedStyle(img);
    const w = img.getBoundingClientRect().width - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight)
              - parseFloat(s.borderLeftWidth) - parseFloat(s.borderRightWidth);
    return {src: img.src, natural: img.naturalWidth, shown: w,
            name: (cap ? cap.textContent.trim() : '') + (fig && fig.id ? ' #' + fig.id : '') || img.alt.slice(0, 40)};
  })
"""

SWATCH_JS = r"""
([dataUrl, dark]) => {
  document.documentElement.setAttribute('data-theme', dark ? 'dark' : 'light');
  let box = document.getElementById('icrl-swatch');
  if (box) box.remove();
  box = document.createElement('div');
  box.id = 'icrl-swatch';
  box.className = 'cell_output docutils container';
  box.innerHTML = '<div class="output"><img alt="swatch"></div>';
  const anchor = document.querySelector('article.bd-article .cell_output') || document.querySelector('article.bd-article');
  anchor.parentElement.insertBefore(box, anchor);
  const img = box.querySelector('img');
  return new Promise(res => { img.onload = () => res(true); img.src = dataUrl; });
}
"""

SWATCH = 24  # px per colour block; blocks sit on white with a white gap


def swatch_png(colors: list[str]) -> tuple[bytes, list[tuple[int, int]], tuple[int, int]]:
    from PIL import Image, ImageDraw

    n = len(colors)
    im = Image.new("RGB", (SWATCH * (2 * n + 1), SWATCH * 3), "white")
    d = ImageDraw.Draw(im)
    centres = []
    for i, c in enumerate(colors):
        x0 = SWATCH * (2 * i + 1)
        d.rectangle([x0, SWATCH, x0 + SWATCH - 1, 2 * SWATCH - 1], fill=c)
        centres.append((x0 + SWATCH // 2, SWATCH + SWATCH // 2))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue(), centres, (SWATCH // 2, SWATCH // 2)


def measured_contrast(page, colors: list[str]) -> dict[str, dict[str, float]]:
    """Paint the colours on a white swatch image inside the page, as a figure output, in the light and the
    dark theme; read the pixels back from a screenshot; WCAG contrast of each colour on the painted white."""
    import base64

    from PIL import Image

    data, centres, bg = swatch_png(colors)
    url = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    out: dict[str, dict[str, float]] = {c: {} for c in colors}
    for theme in ("light", "dark"):
        page.evaluate(SWATCH_JS, [url, theme == "dark"])
        page.wait_for_timeout(100)
        img = page.locator("#icrl-swatch img")
        img.scroll_into_view_if_needed()
        box = img.bounding_box()
        pad = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('#icrl-swatch img')).paddingLeft)")
        shot = Image.open(io.BytesIO(img.screenshot(animations="disabled"))).convert("RGB")
        sx = (shot.width - 2 * pad) / (SWATCH * (2 * len(colors) + 1))
        px = lambda x, y: shot.getpixel((int(pad + x * sx), int(pad + y * sx)))  # noqa: E731
        white = px(*bg)
        for c, (x, y) in zip(colors, centres):
            out[c][theme] = contrast_ratio(px(x, y), white)
        del box
    page.evaluate("() => { document.getElementById('icrl-swatch').remove();"
                  " document.documentElement.setAttribute('data-theme', 'light'); }")
    return out


# ------------------------------------------------------------------------------------------ the run
def serve(html: Path):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(html)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    ap.add_argument("--pages", default="book/[0-9][0-9]_*.html", help="glob over page paths")
    ap.add_argument("--min-px", type=float, default=10.0, help="smallest text allowed, CSS px at 1400 px")
    ap.add_argument("--cvd-min", type=float, default=CVD_MIN, help="smallest CIELAB distance between colours")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--phone", action="store_true", help="also report the smallest text at 390 px")
    ap.add_argument("--json", type=Path, help="also write every figure's measurements to this file")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    pages = sorted(p.relative_to(args.html).as_posix() for p in args.html.rglob("*.html"))
    pages = [p for p in pages if fnmatch.fnmatch(p, args.pages)]
    if not pages:
        sys.exit(f"check_figures: no page matches {args.pages} under {args.html}")
    failures: list[str] = []
    rows: list[dict] = []

    def fail(check, page, fig, what):
        failures.append(f"FAIL [{check}] {page}: {fig}: {what}")

    server, base = serve(args.html)
    all_colors: dict[str, list[tuple[str, str]]] = {}
    with tempfile.TemporaryDirectory(prefix="check-figures-") as profile, sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(profile, executable_path=args.chromium, headless=True,
                                                   args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000})
        page = ctx.new_page()
        for rel in pages:
            page.set_viewport_size({"width": 1400, "height": 1000})
            page.goto(f"{base}/{rel}", wait_until="load")
            figs = page.evaluate(FIGURES_JS)
            phone = []
            if args.phone:
                page.set_viewport_size({"width": 390, "height": 844})
                page.wait_for_timeout(200)
                phone = page.evaluate(FIGURES_JS)
                page.set_viewport_size({"width": 1400, "height": 1000})
            for i, f in enumerate(figs):
                path = args.html / unquote(urlsplit(f["src"]).path).lstrip("/")
                name, row = f["name"] or f"image {i + 1}", {"page": rel, **f}
                if path.suffix.lower() == ".svg":
                    row["density"] = float("inf")
                else:
                    row["density"] = f["natural"] / max(f["shown"], 1.0)
                    if row["density"] < 1.98:  # 2x, less the rounding of the displayed width
                        fail("crisp", rel, name, f"raster at {row['density']:.2f} image px per CSS px "
                             f"({f['natural']} px shown at {f['shown']:.0f} px); needs >= 2 or SVG")
                record = png_record(path) if path.suffix.lower() == ".png" else {}
                if "icrl:min-font-px" in record:
                    retina = float(record.get("icrl:retina", 1))
                    shown_px = float(record["icrl:min-font-px"]) * retina * f["shown"] / f["natural"]
                    row["min_text_px"] = round(shown_px, 2)
                    if shown_px < args.min_px:
                        fail("textsize", rel, name, f"smallest text ('{record.get('icrl:min-font-text', '')}') "
                             f"shows at {shown_px:.1f} px < {args.min_px:g} px")
                    if phone and i < len(phone):
                        row["min_text_px_390"] = round(float(record["icrl:min-font-px"]) * retina
                                                       * phone[i]["shown"] / f["natural"], 2)
                else:
                    fail("textsize", rel, name, "no text-size record in the image (icrl:min-font-px): "
                         "not rendered by icrl_lib.plotting's display hook; re-run the chapter")
                if "icrl:colors" in record:
                    colors = [c for c in record["icrl:colors"].split(",") if c]
                    row["colors"] = colors
                elif path.suffix.lower() == ".png":
                    colors = pixel_colors(path)
                    row["colors_from_pixels"] = colors
                else:
                    colors = []
                for c in colors:
                    all_colors.setdefault(c, []).append((rel, name))
                for kind in CVD:
                    if len(colors) > 1:
                        d, a, b = closest_pair(colors, kind)
                        if d < args.cvd_min:
                            fail("cvd", rel, name, f"{a} and {b} are {d:.1f} apart under {kind} "
                                 f"(< {args.cvd_min:g})")
                rows.append(row)
        if all_colors:
            page.goto(f"{base}/{pages[0]}", wait_until="load")
            colors = sorted(all_colors)
            measured = {}
            for k in range(0, len(colors), 24):
                measured.update(measured_contrast(page, colors[k:k + 24]))
            for c, by_theme in measured.items():
                for theme, ratio in by_theme.items():
                    if ratio < MIN_CONTRAST:
                        users = all_colors[c]
                        more = f" and {len(users) - 1} more" if len(users) > 1 else ""
                        fail("contrast", users[0][0], users[0][1],
                             f"data colour {c} has {ratio:.2f}:1 on the {theme} theme's figure background "
                             f"(< {MIN_CONTRAST:g}:1){more}")
            for row in rows:
                row["contrast"] = {c: measured[c] for c in row.get("colors", row.get("colors_from_pixels", []))}
        ctx.close()
    server.shutdown()
    for line in failures:
        print(line)
    if args.json:
        args.json.write_text(json.dumps({"failures": failures, "figures": rows}, indent=1, default=str))
    small = [r["min_text_px"] for r in rows if "min_text_px" in r]
    print(f"check_figures: {len(rows)} figures on {len(pages)} pages; "
          f"smallest text {min(small):.1f} px" if small else
          f"check_figures: {len(rows)} figures on {len(pages)} pages; no text-size record", end="; ")
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
