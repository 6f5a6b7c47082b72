"""Reader notebooks: the chapters as plain Jupyter notebooks that read anywhere (Colab, the student edition).

Usage: python scripts/reader_notebooks.py [--out _build/reader] [notebook.ipynb ...]  (default: every chapter)

The committed chapters are MyST notebooks: their theorems, exercises, admonitions and references are
directives and roles that only Jupyter Book (or JupyterLab with jupyterlab-myst, ``make lab``) renders.
Where no extension can be installed (Colab, a student's plain Jupyter) a reader would see the source. This
script writes the same chapters with every MyST construct turned into plain Markdown, in the spirit of
QuantEcon's notebook builder:

- ``{prf:theorem}``, ``{prf:definition}``, ... and ``{exercise}``: a bold numbered title as the book
  prints it (**Theorem 4.1** (title), **Exercise 4.2** (title)) and the body as a quote, with an anchor
  ``<a id="label">``; ``{prf:proof}``: *Proof.* ... ∎; ``{solution}`` / ``{solution-start}``: a bold
  "Solution to Exercise 4.2" title (``{solution-end}`` disappears);
- ``{admonition}``, ``{note}``, ``{tip}``, ...: a quote with a bold title (the learning-goals box);
- ``{figure}`` and the captions of figure cells (``mystnb.figure`` metadata): the image and
  **Fig. 4.1** caption; ``{math}`` and ``$$ ... $$ (label)``: display math with ``\\tag{4.1}``;
- ``{index}`` entries vanish; ``{bibliography}`` becomes the list of the works the chapter cites;
- the book's LaTeX macros (``mathjax3_config`` in ``_config.yml``: ``\\E``, ``\\T``, ``\\R``, ...) are
  expanded in place, so no renderer needs their definitions;
- roles become text with links: ``{cite:t}`` "Liang and Lai [LL26]" and ``{cite:p}`` "[LL26]" link to the
  online bibliography; ``{prf:ref}``, ``{numref}``, ``{ref}``, ``{eq}`` print the book's number ("Theorem
  2.1", "Fig. 4.2", "Exercise 1.3", "(3.1)") or the section's title and link to the anchor in the same
  notebook or to the page of the online book (``html.baseurl``); ``{doc}`` links to the page.

Numbers are the book's: each kind is counted per chapter in document order (Theorem 4.1, Algorithm 4.2,
Fig. 4.3), the chapter's number from its file name (book/04_... is chapter 4; the preface is unnumbered).
Code cells, their outputs and the tags are kept (Markdown outputs are converted like cells). The Colab cell
stays (``scripts/student_edition.py`` swaps in the student variant). The output folder gets one notebook
per chapter; the script never writes into book/ or the repository root.
"""
from __future__ import annotations

import argparse
import copy
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import colab_cell  # noqa: E402

#: Directive names of sphinx-proof and the word the book prints for each.
PROOF_KINDS = {"theorem": "Theorem", "lemma": "Lemma", "definition": "Definition", "proposition": "Proposition",
               "corollary": "Corollary", "algorithm": "Algorithm", "remark": "Remark", "conjecture": "Conjecture",
               "example": "Example", "property": "Property", "observation": "Observation", "axiom": "Axiom",
               "criterion": "Criterion", "assumption": "Assumption", "notation": "Notation"}
ADMONITIONS = {"admonition", "note", "tip", "hint", "important", "warning", "caution", "attention", "danger",
               "error", "seealso", "dropdown", "topic", "sidebar", "margin", "epigraph", "pull-quote"}
CODE_DIRECTIVES = {"code", "code-block", "sourcecode", "code-cell"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$")
DIRECTIVE = re.compile(r"^\s*\{(?P<name>[^{}\s]+)\}\s*(?P<arg>.*)$")
OPTION = re.compile(r"^\s*:(?P<key>[\w-]+):\s*(?P<value>.*)$")
TARGET = re.compile(r"^\s*\((?P<label>[^()\s]+)\)=\s*$")
ROLE = re.compile(r"\{(?P<role>[\w:-]+)\}`(?P<text>[^`]*)`")
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
CODE_SPAN = re.compile(r"(`+)(?:.+?)\1")
HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*\s*$")
EQ_LABEL = re.compile(r"^(?P<body>.*)\$\$\s*\((?P<label>[^()\s]+)\)\s*$")
#: What a reader notebook must never show (tests and scripts/check_lab.py look for it).
MYST_SOURCE = re.compile(r"^\s*(?:`{3,}|~{3,}|:{3,})\s*\{[\w:-]+\}|\{(?:cite(?::[tp])?|numref|ref|eq|doc|"
                         r"prf:ref|index|term|math)\}`|^\s*:(?:label|class|filter|name|nonumber):|"
                         r"^\s*\([\w:.-]+\)=\s*$", re.M)


@dataclass
class Target:
    label: str
    kind: str  # the word the book prints: Theorem, Exercise, Fig., Equation, section
    number: str | None
    title: str
    page: str  # docname, e.g. book/04_in_context_sarsa


@dataclass
class Book:
    """What a reader notebook needs to know about the whole book."""
    baseurl: str
    macros: dict[str, str]
    targets: dict[str, Target] = field(default_factory=dict)
    pages: dict[str, str] = field(default_factory=dict)  # docname -> title
    bib: dict[str, dict] = field(default_factory=dict)  # key -> {label, authors, text}

    def url(self, page: str, anchor: str | None = None) -> str:
        return f"{self.baseurl}{page}.html" + (f"#{anchor}" if anchor else "")


# ------------------------------------------------------------------------------------------ the book
def chapter_number(path: Path) -> str | None:
    m = re.match(r"^(\d\d)_", path.name)
    return str(int(m.group(1))) if m and int(m.group(1)) > 0 else None


def _config(root: Path) -> dict:
    return yaml.safe_load((root / "_config.yml").read_text()) or {}


def load_book(root: Path = ROOT, chapters: list[Path] | None = None) -> Book:
    cfg = _config(root)
    baseurl = (cfg.get("html") or {}).get("baseurl") or ""
    baseurl = baseurl if baseurl.endswith("/") or not baseurl else baseurl + "/"
    sphinx_cfg = ((cfg.get("sphinx") or {}).get("config") or {})
    raw = (((sphinx_cfg.get("mathjax3_config") or {}).get("tex") or {}).get("macros") or {})
    macros = {k: (v if isinstance(v, str) else v[0]) for k, v in raw.items()
              if isinstance(v, str) or (isinstance(v, list) and len(v) == 1)}
    book = Book(baseurl=baseurl, macros=macros)
    for path in chapters if chapters is not None else sorted((root / "book").glob("[0-9][0-9]_*.ipynb")):
        index_notebook(book, nbformat.read(path, as_version=4), f"book/{path.stem}", chapter_number(path))
    for path in sorted((root / "book").glob("*.md")):
        m = re.search(r"^#\s+(.+)$", path.read_text(), re.M)
        book.pages.setdefault(f"book/{path.stem}", m.group(1).strip() if m else path.stem)
    book.bib = load_bibliography(root)
    return book


def index_notebook(book: Book, nb, page: str, chapter: str | None) -> None:
    """Record the numbered targets of one chapter (labels, numbers, titles) in book.targets."""
    counters: dict[str, int] = {}

    def number(kind: str) -> str:
        counters[kind] = counters.get(kind, 0) + 1
        return f"{chapter}.{counters[kind]}" if chapter else str(counters[kind])

    def add(label, kind, title=""):
        if label:
            book.targets[label] = Target(label, kind, number(kind), title, page)
        else:
            number(kind)

    for cell in nb.cells:
        if cell.cell_type == "code":
            fig = (cell.metadata.get("mystnb") or {}).get("figure") or {}
            if fig.get("caption") or fig.get("name"):
                add(fig.get("name"), "Fig.", fig.get("caption", ""))
            continue
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.split("\n")
        if page not in book.pages:
            for line in lines:
                h = re.match(r"^#\s+(.+)$", line)
                if h:
                    book.pages[page] = h.group(1).strip()
                    break
        for i, line in enumerate(lines):
            f = FENCE.match(line)
            d = DIRECTIVE.match(f.group("info")) if f else None
            if d:
                name, arg = d.group("name"), d.group("arg").strip()
                opts = _options(lines[i + 1:])
                kind = _kind(name)
                if kind and "nonumber" not in opts:
                    add(opts.get("label"), kind, arg)
                elif name == "math" and opts.get("label"):
                    add(opts["label"], "Equation")
                elif name == "figure":
                    add(opts.get("name") or opts.get("label"), "Fig.", "")
                continue
            t = TARGET.match(line)
            if t:
                title = next((HEADING.match(x).group("title") for x in lines[i + 1:] if HEADING.match(x)), "")
                book.targets[t.group("label")] = Target(t.group("label"), "section", None, title, page)
                continue
            e = EQ_LABEL.match(line)
            if e:
                add(e.group("label"), "Equation")


def _kind(name: str) -> str | None:
    if name.startswith("prf:") and name[4:] in PROOF_KINDS:
        return PROOF_KINDS[name[4:]]
    return "Exercise" if name == "exercise" else None


def _options(lines: list[str]) -> dict[str, str]:
    opts = {}
    for line in lines:
        m = OPTION.match(line)
        if not m:
            break
        opts[m.group("key")] = m.group("value").strip()
    return opts


def load_bibliography(root: Path = ROOT) -> dict[str, dict]:
    """key -> {label, authors (for {cite:t}), text (the reference)}; empty without pybtex or a .bib."""
    cfg = _config(root)
    files = [root / f for f in cfg.get("bibtex_bibfiles", [])]
    try:
        from pybtex.database import parse_file
    except ImportError:  # pragma: no cover - pybtex comes with the book's requirements
        return {}
    labels = {}
    ext = root / "book" / "_ext" / "icrl_book.py"
    if ext.exists():
        m = re.search(r"^LABELS = \{(.*?)^\}", ext.read_text(), re.S | re.M)
        if m:
            labels = dict(re.findall(r'"([^"]+)":\s*"([^"]+)"', m.group(1)))
    out = {}
    for path in files:
        if not path.exists():
            continue
        for key, entry in parse_file(str(path)).entries.items():
            people = entry.persons.get("author", [])
            last = [" ".join(p.last_names) for p in people]
            authors = (last[0] if len(last) == 1 else f"{last[0]} and {last[1]}" if len(last) == 2
                       else f"{last[0]} et al." if last else key)
            year = entry.fields.get("year", "")
            label = labels.get(key) or _alpha_label(last, year)
            names = ", ".join(" ".join(p.first_names + p.middle_names + p.last_names) for p in people)
            title = _plain(entry.fields.get("title", ""))
            venue = _plain(entry.fields.get("booktitle") or entry.fields.get("journal")
                           or entry.fields.get("howpublished") or entry.fields.get("publisher") or "")
            eprint = entry.fields.get("eprint")
            text = ". ".join(x for x in (names, f"*{title}*" if title else "", venue, year) if x) + "."
            if eprint:
                text += f" [arXiv:{eprint}](https://arxiv.org/abs/{eprint})."
            out[key] = {"label": label, "authors": authors, "text": text}
    return out


def _plain(text: str) -> str:
    return re.sub(r"[{}]", "", text).replace("\\&", "&").replace("--", "–")


def _alpha_label(last: list[str], year: str) -> str:
    if not last:
        return "?"
    initials = last[0][:3] if len(last) == 1 else "".join(n[0] for n in last[:4])
    return f"{initials}{year[-2:]}"


# ---------------------------------------------------------------------------------------- converting
@dataclass
class Page:
    """The notebook being converted: its docname and the works it cites (for its reference list)."""
    book: Book
    page: str
    cited: list[str] = field(default_factory=list)
    unknown: set[str] = field(default_factory=set)


def expand_macros(text: str, book: Book) -> str:
    """The book's macros replaced by their definitions (``\\T`` -> ``\\top``), outside inline code."""
    if not book.macros:
        return text
    names = sorted(book.macros, key=len, reverse=True)
    pattern = re.compile(r"(?<!\\)\\(" + "|".join(map(re.escape, names)) + r")(?![A-Za-z])")

    def one(segment: str) -> str:
        return pattern.sub(lambda m: book.macros[m.group(1)], segment)

    out, last = [], 0
    for m in CODE_SPAN.finditer(text):
        out.append(one(text[last:m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append(one(text[last:]))
    return "".join(out)


def _link(ctx: Page, text: str, target: Target) -> str:
    if target.page == ctx.page:
        return f"[{text}](#{target.label})"
    return f"[{text}]({ctx.book.url(target.page, target.label)})"


def _name(target: Target) -> str:
    if target.kind == "section":
        return target.title or target.label
    if target.kind == "Equation":
        return f"({target.number})"
    return f"{target.kind} {target.number}"


def render_role(role: str, text: str, ctx: Page) -> str:
    book = ctx.book
    explicit = EXPLICIT.match(text)
    shown, ref = (explicit.group("text"), explicit.group("target").strip()) if explicit else (None, text.strip())
    if role in ("cite:t", "cite:p", "cite", "cite:ps", "cite:ts"):
        parts = []
        for key in [k.strip() for k in text.split(",") if k.strip()]:
            if key not in ctx.cited:
                ctx.cited.append(key)
            entry = book.bib.get(key)
            if entry is None:
                ctx.unknown.add(key)
                parts.append((key, key, f"[{key}]"))
                continue
            link = f"[{entry['label']}]({book.url('book/bibliography', 'cite-all-' + key)})"
            parts.append((entry["authors"], entry["label"], link))
        if role.startswith("cite:t"):
            return ", ".join(f"{a} [{link}]" for a, _, link in parts)
        return "[" + ", ".join(link for _, _, link in parts) + "]"
    if role in ("prf:ref", "numref", "ref", "eq"):
        target = book.targets.get(ref)
        if target is None:
            ctx.unknown.add(ref)
            return shown or ref
        if shown is not None:
            label = shown.replace("%s", target.number or "").replace("{number}", target.number or "")
            label = label.replace("{name}", target.title)
        elif role == "eq":
            label = f"({target.number})"
        else:
            label = _name(target)
        return _link(ctx, label, target)
    if role == "doc":
        page = ref if ref.startswith("book/") else f"book/{ref.removeprefix('/')}"
        page = page.removesuffix(".md").removesuffix(".ipynb")
        title = shown or book.pages.get(page, ref)
        return f"[{title}]({book.url(page)})"
    if role == "math":
        return f"${text}$"
    if role in ("index", "term", "abbr", "sup", "sub", "kbd", "guilabel", "menuselection"):
        return shown or text
    return f"`{text}`"  # an unknown role: its text, as code (never the role markup)


def convert_inline(line: str, ctx: Page) -> str:
    labels = {e["label"]: k for k, e in ctx.book.bib.items()}
    if labels:  # the book's plain shorthand labels, [LL26] or [LL26; ...], link to the entry (as in the HTML)
        plain = re.compile(r"(?<![\[\w])\[(" + "|".join(map(re.escape, sorted(labels, key=len, reverse=True)))
                           + r")(?=\](?!\()|;)")
        line = plain.sub(lambda m: f"[[{m.group(1)}]({ctx.book.url('book/bibliography', 'cite-all-' + labels[m.group(1)])})",
                         line)
    line = ROLE.sub(lambda m: render_role(m.group("role"), m.group("text"), ctx), line)
    return expand_macros(line, ctx.book)


def _closes(line: str, fence: str) -> bool:
    s = line.strip()
    return len(s) >= len(fence) and set(s) == {fence[0]}


def _quote(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return [f"> {x}" if x.strip() else ">" for x in lines]


def convert_lines(lines: list[str], ctx: Page) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        f = FENCE.match(line)
        if f:
            fence, indent = f.group("fence"), f.group("indent")
            j = i + 1
            while j < len(lines) and not _closes(lines[j], fence):
                j += 1
            body = lines[i + 1:j]
            d = DIRECTIVE.match(f.group("info"))
            if d:
                rendered = render_directive(d.group("name"), d.group("arg").strip(), body, ctx)
                out += [indent + x if x else x for x in rendered]
            else:  # a code fence: as it is
                out += [line, *body, lines[j] if j < len(lines) else indent + fence]
            i = j + 1
            continue
        t = TARGET.match(line)
        if t:
            out.append(f'<a id="{t.group("label")}"></a>')
            i += 1
            continue
        if line.strip().startswith("$$"):
            j = i
            if not (line.strip() != "$$" and re.search(r"\$\$\s*(\([^()\s]+\))?\s*$", line.strip()[2:])):
                j = i + 1
                while j < len(lines) and "$$" not in lines[j]:
                    j += 1
            block = lines[i:j + 1]
            e = EQ_LABEL.match(block[-1]) if block else None
            if e and e.group("label") in ctx.book.targets:
                target = ctx.book.targets[e.group("label")]
                block[-1] = f"{e.group('body')}\\tag{{{target.number}}} $$"
                out.append(f'<a id="{target.label}"></a>')
                out.append("")
            out += [expand_macros(x, ctx.book) for x in block]
            i = j + 1
            continue
        out.append(convert_inline(line, ctx))
        i += 1
    return out


def _split_options(body: list[str]) -> tuple[dict[str, str], list[str]]:
    opts = _options(body)
    rest = body[len(opts):]
    if rest and not rest[0].strip():
        rest = rest[1:]
    return opts, rest


def _anchor(label: str | None) -> list[str]:
    return [f'<a id="{label}"></a>', ""] if label else []


def render_directive(name: str, arg: str, body: list[str], ctx: Page) -> list[str]:
    opts, content = _split_options(body)
    label = opts.get("label") or opts.get("name")
    book = ctx.book
    if name == "index":
        return []
    if name == "bibliography":
        return references(ctx)
    if name in CODE_DIRECTIVES:
        return [f"```{arg}".rstrip(), *content, "```"]
    if name == "math":
        target = book.targets.get(label) if label else None
        tag = [f"\\tag{{{target.number}}}"] if target else []
        return [*_anchor(label), "$$", *[expand_macros(x, book) for x in content], *tag, "$$"]
    if name == "raw":
        return content if arg.strip() == "html" else []
    if name in ("solution", "solution-start"):
        target = book.targets.get(arg)
        head = (f"**Solution to {target.kind} {target.number}**" + (f" ({convert_inline(target.title, ctx)})"
                                                                   if target.title else "")
                if target else "**Solution**")
        return [head, "", *(convert_lines(content, ctx) if name == "solution" else [])]
    if name == "solution-end":
        return []
    inner = convert_lines(content, ctx)
    kind = _kind(name)
    if kind:
        target = book.targets.get(label) if label else None
        number = target.number if target else None
        head = f"**{kind} {number}**" if number else f"**{kind}**"
        if arg:
            head += f" ({convert_inline(arg, ctx)})"
        return [*_anchor(label), *_quote([head, "", *inner]), ""]
    if name == "prf:proof":
        return ["*Proof.*", "", *inner, "", "∎"]
    if name == "figure":
        caption = [x for x in inner]
        target = book.targets.get(label) if label else None
        alt = opts.get("alt", "")
        head = f"**Fig. {target.number}**" if target else ""
        first = (head + " " + caption[0]).strip() if caption else head
        return [*_anchor(label), f"![{alt}]({arg})", "", *([first] if first else []), *caption[1:]]
    if name in ADMONITIONS:
        title = convert_inline(arg, ctx) if name == "admonition" and arg else name.replace("-", " ").title()
        return [*_anchor(label), *_quote([f"**{title}**", "", *inner]), ""]
    # any other directive: its name as a bold title, its body as a quote (never its source)
    title = name.split(":")[-1].replace("-", " ").title() + (f" ({convert_inline(arg, ctx)})" if arg else "")
    return [*_anchor(label), *_quote([f"**{title}**", "", *inner]), ""]


def references(ctx: Page) -> list[str]:
    book = ctx.book
    known = [k for k in ctx.cited if k in book.bib]
    if not known:
        return []
    items = sorted(known, key=lambda k: book.bib[k]["label"].lower())
    lines = []
    for key in items:
        entry = book.bib[key]
        lines.append(f"- <a id=\"cite-{key}\"></a>[{entry['label']}] {entry['text']} "
                     f"([in the book's bibliography]({book.url('book/bibliography', 'cite-all-' + key)}))")
    return lines


def convert_markdown(text: str, ctx: Page) -> str:
    return "\n".join(convert_lines(text.split("\n"), ctx)).strip("\n")


def reader_notebook(nb, book: Book, page: str, colab_source: str | None = None):
    """The reader version of one chapter (a new notebook; nb is not changed).

    ``colab_source`` replaces the Colab cell's code (the student edition's variant) when given.
    """
    ctx = Page(book, page)
    cells = []
    for cell in copy.deepcopy(nb.cells):
        if cell.cell_type == "markdown":
            cell.source = convert_markdown(cell.source, ctx)
            if cell.source.strip():
                cells.append(cell)
            continue
        if cell.cell_type == "code":
            if colab_source is not None and cell.source.startswith(colab_cell.MARKER):
                cell.source = colab_source
            for out in cell.get("outputs", []):
                data = out.get("data") or {}
                if "text/markdown" in data:
                    md = data["text/markdown"]
                    md = "".join(md) if isinstance(md, list) else md
                    data["text/markdown"] = convert_markdown(md, ctx)
            cells.append(cell)
            fig = (cell.metadata.get("mystnb") or {}).get("figure") or {}
            if fig.get("caption"):
                target = book.targets.get(fig.get("name", ""))
                head = f"**Fig. {target.number}**" if target else "**Figure**"
                anchor = f'<a id="{target.label}"></a>\n\n' if target else ""
                caption = nbformat.v4.new_markdown_cell(
                    f"{anchor}{head} {convert_inline(' '.join(fig['caption'].split()), ctx)}")
                caption.pop("id", None)
                cells.append(caption)
            continue
        cells.append(cell)
    title = book.pages.get(page, page)
    note = nbformat.v4.new_markdown_cell(
        f"*A reader notebook of [{title}]({book.url(page)}), from the online book [{_config(ROOT).get('title', '')}]"
        f"({book.baseurl}): theorems, exercises and references are plain Markdown here; numbers and links are "
        f"the book's.*")
    note.pop("id", None)
    at = 1 if cells and cells[0].cell_type == "markdown" else 0
    cells.insert(at, note)
    out = nbformat.from_dict(copy.deepcopy(dict(nb)))
    out.cells = cells
    _renumber_ids(out)
    out.metadata["reader_notebook"] = {"source": f"{page}.ipynb", "generator": "scripts/reader_notebooks.py"}
    if ctx.unknown:
        out.metadata["reader_notebook"]["unresolved"] = sorted(ctx.unknown)
    return out


def _renumber_ids(nb) -> None:
    seen = set()
    for k, cell in enumerate(nb.cells):
        cid = cell.get("id")
        if not cid or cid in seen:
            cid = f"reader-{k}"
            while cid in seen:
                cid += "x"
            cell["id"] = cid
        seen.add(cid)


def leftover_myst(nb) -> list[str]:
    """Lines of markdown cells (and Markdown outputs) that still hold MyST source."""
    found = []
    for i, cell in enumerate(nb.cells):
        texts = [cell.source] if cell.cell_type == "markdown" else [
            "".join(o["data"]["text/markdown"]) for o in cell.get("outputs", [])
            if "text/markdown" in (o.get("data") or {})]
        for text in texts:
            inside_code = False
            for line in text.split("\n"):
                if re.match(r"^\s*(`{3,}|~{3,})(?!\s*\{)", line):
                    inside_code = not inside_code
                    continue
                if not inside_code and MYST_SOURCE.search(line):
                    found.append(f"cell {i}: {line.strip()[:100]}")
    return found


def chapters(root: Path = ROOT) -> list[Path]:
    return sorted((root / "book").glob("[0-9][0-9]_*.ipynb"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*", type=Path)
    ap.add_argument("--out", type=Path, default=ROOT / "_build" / "reader")
    args = ap.parse_args(argv)
    out = args.out.resolve()
    repo = ROOT.resolve()
    if out == repo or out in repo.parents or out == repo / "book" or repo / "book" in out.parents:
        print(f"reader_notebooks: refusing --out {args.out}: the repository, an ancestor or book/", file=sys.stderr)
        return 1
    book = load_book()
    out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for path in args.notebooks or chapters():
        reader = reader_notebook(nbformat.read(path, as_version=4), book, f"book/{path.stem}")
        left = leftover_myst(reader)
        unresolved = reader.metadata["reader_notebook"].get("unresolved")
        if left or unresolved:
            failed += 1
            print(f"{path.name}: MyST left {left[:3]}, unresolved {unresolved}", file=sys.stderr)
        nbformat.write(reader, out / path.name)
    print(f"Reader notebooks: {out}/ ({len(args.notebooks or chapters())} chapters)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
