"""Source-level checks that keep the book looking like a finished textbook (issue 16).

What can be checked without building: code width, the provenance of every theorem and algorithm, the same
chapter opening everywhere, plain-text titles, figure captions and alt text, folded solutions and coding
scaffolds, one label per paper, chapter numbering. ``scripts/check_html.py`` checks the built HTML (chapter
numbers in the navigation, links on the labels, widths measured in a browser).
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
NUMBERED = [p for p in CHAPTERS if not p.name.startswith("00_")]
#: Longest code line: what the theme shows at 1400 px without a scroll bar (scripts/format_notebooks.py).
CODE_WIDTH = 88
SOURCES = ("[LL26]", "[W25]", "[X26]", "[LBM24]", "[DPT23]", "[AD22]", "[vO23]", "[ours]", "[textbook]")
# "The paper's statement, our construction" (CONTRIBUTING.md, Provenance): [X26; our construction].
SOURCES += tuple(s[:-1] + "; our construction]" for s in SOURCES[:7])
NEEDS_SOURCE = ("theorem", "proposition", "lemma", "algorithm", "corollary")
DIRECTIVE = re.compile(r"^(`{3,}|:{3,})\{(prf:\w+|exercise|solution|solution-start)\}[ \t]*(.*)$", re.M)


def _nb(path: Path):
    return nbformat.read(path, as_version=4)


def _markdown(path: Path) -> str:
    return "\n\n".join(c.source for c in _nb(path).cells if c.cell_type == "markdown")


def _load_extension():
    spec = importlib.util.spec_from_file_location("icrl_book", BOOK / "_ext" / "icrl_book.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_lines_fit_the_column(path):
    long = [
        f"cell {k}: {len(line)} chars: {line.strip()[:60]}"
        for k, cell in enumerate(_nb(path).cells)
        if cell.cell_type == "code"
        for line in cell.source.split("\n")
        if len(line) > CODE_WIDTH
    ]
    assert not long, (
        f"code lines over {CODE_WIDTH} characters (run scripts/format_notebooks.py {path.relative_to(ROOT)}):\n"
        + "\n".join(long)
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_statements_name_their_source(path):
    bad = [
        f"{kind}: {title!r}"
        for _, kind, title in DIRECTIVE.findall(_markdown(path))
        if kind.startswith("prf:") and kind[4:] in NEEDS_SOURCE and not title.rstrip().endswith(SOURCES)
    ]
    assert not bad, "theorem/algorithm titles must end with their source, e.g. [LL26] or [ours]:\n" + "\n".join(bad)


@pytest.mark.parametrize("path", NUMBERED, ids=lambda p: p.name)
def test_every_chapter_opens_the_same_way(path):
    first = next(c.source for c in _nb(path).cells if c.cell_type == "markdown")
    assert first.startswith("# "), "the first cell starts with the chapter title"
    box = re.search(r"^```\{admonition\} Learning goals\n:class: tip\n\n?After this chapter you can\n", first, re.M)
    assert box, "a 'Learning goals' admonition (:class: tip) that starts 'After this chapter you can'"
    assert re.search(r"^1\. ", first[box.end():], re.M), "the learning goals are a numbered list"
    goals_end = first.index("```", box.end())
    rest = first[goals_end:]
    assert "**Prerequisites.**" in rest and "**Estimated time.**" in rest, (
        "after the box: a **Prerequisites.** and an **Estimated time.** paragraph"
    )


@pytest.mark.parametrize("path", NOTEBOOKS + sorted(BOOK.glob("*.md")), ids=lambda p: p.name)
def test_titles_are_plain_text(path):
    text = _markdown(path) if path.suffix == ".ipynb" else path.read_text()
    text = re.sub(r"^(`{3,}).*?^\1", "", text, flags=re.M | re.S)  # not inside code blocks or directives
    headings = [line for line in text.split("\n") if re.match(r"#{1,6} ", line)]
    bad = [h for h in headings if "$" in h or "\\" in h]
    assert not bad, "headings feed the navigation, tab titles and search: no TeX in them:\n" + "\n".join(bad)
    # a paper label in a heading cannot be a link (the heading is the navigation entry): name it in the text
    labelled = [h for h in headings if re.search(r"\[[A-Za-z]{1,6}\d{2}\]", h)]
    assert not labelled, "no [LL26]-style label in headings; cite the paper in the text below:\n" + "\n".join(labelled)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_figures_have_typeset_captions_and_alt_text(path):
    problems = []
    for k, cell in enumerate(_nb(path).cells):
        if cell.cell_type != "code" or "plt.show()" not in cell.source:
            continue
        meta = cell.metadata.get("mystnb", {})
        fig, image = meta.get("figure", {}), meta.get("image", {})
        if not fig.get("name") or not fig.get("caption"):
            problems.append(f"cell {k}: no figure name and caption in the mystnb metadata")
            continue
        alt = image.get("alt", "")
        if len(alt.split()) < 5:
            problems.append(f"cell {k} ({fig['name']}): no meaningful alt text (mystnb.image.alt)")
        caption = re.sub(r"`[^`]*`|\$[^$]*\$", "", fig["caption"])  # code and typeset math are fine
        ascii_math = re.findall(r"\bV\^pi\b|\|\|[^|]+\|\||\bgamma\^|\bpi_theta\b|->|\^T\b", caption)
        if ascii_math:
            problems.append(f"cell {k} ({fig['name']}): ASCII math in the caption {ascii_math}; typeset it with $...$")
        plots = sum(o.get("output_type") in ("display_data", "execute_result") for o in cell.get("outputs", []))
        if plots > 1:
            problems.append(f"cell {k} ({fig['name']}): {plots} display outputs; a figure cell has one")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_solutions_are_folded_and_coding_exercises_have_scaffolds(path):
    nb = _nb(path)
    text = _markdown(path)
    assert "**Solution to" not in text, "solutions go in {solution} / {solution-start} directives"
    for m in re.finditer(r"^(`{3,})\{(solution|solution-start)\}[^\n]*\n(.*?)^\1", text, re.M | re.S):
        assert ":class: dropdown" in m.group(3), f"solution not folded: {m.group(0)[:80]!r}"
    # a coding exercise: a scaffold cell tagged raises-exception between the exercise and its solution
    cells = nb.cells
    for k, cell in enumerate(cells):
        if cell.cell_type != "markdown":
            continue
        for ex in re.finditer(r"^`{3,}\{exercise\} *(.*)\n:label: *(\S+)", cell.source, re.M):
            title, label = ex.groups()
            if not re.search(r"\bcoding\b", title, re.I):
                continue
            start = next(
                (j for j in range(k, len(cells)) if cells[j].cell_type == "markdown"
                 and re.search(r"\{solution(-start)?\} *" + re.escape(label) + r"\b", cells[j].source)),
                None,
            )
            assert start is not None, f"coding exercise {label} has no solution"
            scaffolds = [
                c for c in cells[k + 1:start]
                if c.cell_type == "code" and "raises-exception" in c.metadata.get("tags", [])
            ]
            assert scaffolds, f"coding exercise {label}: no scaffold cell tagged raises-exception before the solution"


def test_one_label_per_paper():
    ext = _load_extension()
    bib = (BOOK / "references.bib").read_text()
    keys = re.findall(r"^@\w+\{([^,]+),", bib, re.M)
    for key in ext.LABELS:
        assert key in keys, f"icrl_book.LABELS names {key}, which references.bib lacks"
    for entry in re.split(r"\n(?=@)", bib):
        if not entry.strip().startswith("@"):
            continue
        key = re.match(r"@\w+\{([^,]+),", entry.strip()).group(1)
        authors = re.search(r"author\s*=\s*\{(.*)\},?\s*$", entry, re.M).group(1)
        assert "others" not in authors, f"{key}: list every author"
        assert all("," in a or " " in a.strip() for a in authors.split(" and ")), f"{key}: full names"
        if "arxiv" in entry.lower():
            assert re.search(r"eprint\s*=\s*\{\d{4}\.\d{4,5}\}", entry), f"{key}: arXiv id in eprint"
    # every bracketed paper label written in the text is one of the book's labels
    known = set(ext.LABELS.values()) | {"ours", "textbook"}
    texts = [_markdown(p) for p in NOTEBOOKS] + [p.read_text() for p in BOOK.glob("*.md")]
    used = set()
    for t in texts:
        t = re.sub(r"`[^`\n]*`", "", t)
        used |= set(re.findall(r"\[([A-Za-z]{1,6}\d{2})\]", t))
    assert used <= known, f"bracketed labels without a bibliography entry: {sorted(used - known)}"


def test_chapters_are_numbered_per_chapter():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]
    assert config.get("numfig") and config.get("numfig_secnum_depth") == 1
    numbered, unnumbered = [], []
    for part in toc["parts"]:
        files = [c["file"] for c in part["chapters"]]
        (numbered if part.get("numbered") else unnumbered).extend(files)
    assert numbered == [f"book/{p.stem}" for p in NUMBERED], "chapters 1-11 numbered, in order"
    assert "book/00_preface" in unnumbered


def test_front_matter_is_current():
    notation = (BOOK / "notation.md").read_text()
    assert "filled in further" not in notation
    for label in ("[LL26]", "[W25]", "[X26]", "[vO23]", "[LBM24]", "[DPT23]", "[AD22]"):
        assert f"| {label} |" in notation, f"the notation page defines {label}"
    intro = (BOOK / "intro.md").read_text()
    assert "How to cite" in intro and "CC BY 4.0" in intro
    assert (ROOT / "CITATION.cff").exists() and (ROOT / "LICENSE").exists() and (ROOT / "LICENSE-text").exists()
    preface = _markdown(BOOK / "00_preface.ipynb")
    labels = set()
    for p in CHAPTERS:
        labels |= set(re.findall(r":label: *(\S+)", _markdown(p)))
    for ref in re.findall(r"\{ref\}`([^`]+)`", preface):
        assert ref in labels, f"the preface refers to {ref}, which no chapter defines"


def test_table_helper_renders_markdown_and_aligned_text():
    from icrl_lib.notebook import Table

    t = Table(["setting", "success", "$\\gamma$"], [["SARSA", "8/8", 0.9], ["AC", "7/8", 12]])
    assert repr(t).split("\n") == [
        "setting  success  $\\gamma$",
        "SARSA        8/8       0.9",
        "AC           7/8        12",
    ]
    md = t._repr_markdown_().split("\n")
    assert md[0] == "| setting | success | $\\gamma$ |" and md[1] == "|---|---:|---:|"
    with pytest.raises(ValueError, match="rows"):
        Table(["a", "b"], [["only one"]])
    with pytest.raises(ValueError, match="align"):
        Table(["a"], [["x"]], align="q")


def test_figures_never_show_text_below_the_minimum_size():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from icrl_lib.plotting import COLUMN_PX, MIN_FONT_PX, enforce_min_font, set_style

    set_style()
    for width in (5.0, 13.0):  # narrower and wider than the content column
        fig, ax = plt.subplots(figsize=(width, 3))
        ax.set_title("tiny", fontsize=4)
        ax.text(0.5, 0.5, "0.12", fontsize=5)
        enforce_min_font(fig)
        scale = min(1.0, COLUMN_PX / (width * fig.dpi))
        for t in fig.findobj(matplotlib.text.Text):
            if t.get_text():
                assert t.get_fontsize() * fig.dpi / 72 * scale >= MIN_FONT_PX - 1e-9
        plt.close(fig)
