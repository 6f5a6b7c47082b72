"""Local Sphinx extension of the book: one citation label per paper, linked wherever it is written.

1. A pybtex label style (``bibtex_default_style: icrl``) that prints the book's shorthand labels ([LL26],
   [W25], [X26], [LBM24], [DPT23], [AD22], [vO23], ...) in every reference list, so the label a reader sees in
   the running text is the label of the bibliography entry. Entries without a shorthand get pybtex's alpha
   label.
2. A doctree pass that turns every plain-text occurrence of a shorthand label in brackets (in running text,
   in theorem and algorithm titles, in tables) into a link to the paper's entry: the bibliography at the end
   of the same page if the paper is listed there, else the book's bibliography page.

The labels live in ``LABELS`` below; a chapter that cites a new paper adds its key and label here.

3. The reader fixes (issue 25): ``book/_static/reader/`` (icrl-reader.js and .css: working navigation toggles
   on a phone and a desktop, a scroll cue on wide content, solution titles that open the solution, search
   excerpts without TeX, no second search field), the favicon, numbers in table cells that do not break at
   their minus sign, no raw ``:meth:`` role text from docstrings, and sphinx-thebe's inline script once
   instead of twice (under Sphinx 7.4 it is added twice and the second ``const THEBE_JS_URL`` throws).
"""
from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.style.formatting.alpha import Style as AlphaStyle
from pybtex.style.labels.alpha import LabelStyle as AlphaLabelStyle
from sphinx import addnodes

#: bib key -> the label the book writes in brackets.
LABELS = {
    "liang2026transformers": "LL26",
    "wang2025transformers": "W25",
    "xie2026beyond": "X26",
    "lin2024transformers": "LBM24",
    "lee2023supervised": "DPT23",
    "laskin2022incontext": "AD22",
    "vonoswald2023transformers": "vO23",
    "sutton2018reinforcement": "SB18",
    "boyan2002technical": "Boy02",
    "tsitsiklis1997analysis": "TV97",
    "garg2022what": "GTLV22",
    "ahn2023transformers": "ACDS23",
}
#: The global bibliography page and the key prefix of its entries.
BIB_DOC = "book/bibliography"
BIB_PREFIX = "all-"
#: Labels linked in plain text: the papers' shorthands (not [ours] / [textbook]).
_LINKED = {label: key for key, label in LABELS.items()}
_PATTERN = re.compile(r"\[(" + "|".join(re.escape(lab) for lab in sorted(_LINKED, key=len, reverse=True))
                      + r")(?:\]|(?=; our construction\]))")  # [X26] and the "[X26; our construction]" form
_SKIP = (nodes.literal, nodes.literal_block, nodes.reference, nodes.math, nodes.math_block, nodes.raw,
         nodes.FixedTextElement, addnodes.pending_xref, nodes.citation, nodes.label)


def _bare_key(key: str) -> str:
    return key[len(BIB_PREFIX):] if key.startswith(BIB_PREFIX) else key


class LabelStyle(AlphaLabelStyle):
    """The book's shorthand label for the papers it discusses; alpha labels for the rest."""

    def format_label(self, entry):
        return LABELS.get(_bare_key(entry.key)) or super().format_label(entry)


class Style(AlphaStyle):
    """Alpha formatting and sorting with the book's labels."""

    default_label_style = LabelStyle


def _in_skipped(node: nodes.Node) -> bool:
    parent = node.parent
    while parent is not None:
        if isinstance(parent, _SKIP):
            return True
        # Page and section titles feed the navigation, the browser tab and search: keep them plain text.
        if isinstance(parent, nodes.title) and isinstance(parent.parent, nodes.section):
            return True
        parent = parent.parent
    return False


def _local_citation_ids(doctree: nodes.document) -> dict[str, str]:
    """bib key -> the id of its entry in a bibliography on this page."""
    found = {}
    for cit in doctree.findall(nodes.citation):
        for ident in cit.get("ids", []):
            if ident.startswith("cite-"):
                found.setdefault(_bare_key(ident[len("cite-"):]), ident)
    return found


def link_labels(app, doctree: nodes.document, docname: str) -> None:
    """Replace ``[LL26]``-style text by links to the entry (same page first, else the bibliography)."""
    if app.builder.format != "html":
        return
    local = _local_citation_ids(doctree)
    for text in list(doctree.findall(nodes.Text)):
        if not _PATTERN.search(text.astext()) or _in_skipped(text):
            continue
        source = text.astext()
        pieces: list[nodes.Node] = []
        last = 0
        for m in _PATTERN.finditer(source):
            if m.start() > last:
                pieces.append(nodes.Text(source[last:m.start()]))
            key = _LINKED[m.group(1)]
            if key in local:
                uri = "#" + local[key]
            else:
                uri = app.builder.get_relative_uri(docname, BIB_DOC) + "#cite-" + BIB_PREFIX + key
            ref = nodes.reference("", "", internal=True, refuri=uri, classes=["icrl-cite"],
                                  reftitle=getattr(app.env, "icrl_tooltips", {}).get(key, key))
            ref += nodes.Text(m.group(0))
            pieces.append(ref)
            last = m.end()
        if last < len(source):
            pieces.append(nodes.Text(source[last:]))
        text.parent.replace(text, pieces)


def add_index_labels(app, env, docnames) -> None:
    """Make sphinx-proof's list of theorems, proofs and algorithms referable as ``{ref}`prf-prf```."""
    std = env.get_domain("std")
    std.data["labels"]["prf-prf"] = ("prf-prf", "", "List of theorems, definitions and algorithms")
    std.data["anonlabels"]["prf-prf"] = ("prf-prf", "")


def _tooltips(app) -> None:
    """bib key -> "Authors (year): title" for the title attribute of a label's link."""
    from pybtex.database import parse_file

    out = {}
    for bibfile in app.config.bibtex_bibfiles or []:
        data = parse_file(str(app.srcdir / bibfile))
        for key, entry in data.entries.items():
            people = entry.persons.get("author", [])
            names = [" ".join(p.last_names) for p in people]
            who = names[0] + " et al." if len(names) > 2 else " and ".join(names)
            title = entry.fields.get("title", "").replace("{", "").replace("}", "")
            out[key] = f"{who} ({entry.fields.get('year', '')}): {title}"
    app.env.icrl_tooltips = out


#: The reader's static files (copied to _static/ of the build).
READER_STATIC = Path(__file__).resolve().parent.parent / "_static" / "reader"
#: A number as a table shows it, with its sign or comparison: "< 1e-02", "-0.35", "3.2e-05", "≥ −1".
_NUMBER = re.compile(r"(?:[<>≤≥≈~]\s?)?[-−+]?\d+(?:[.,]\d+)*(?:[eE][-+−]?\d+)?%?")
#: A Python role left as text by a docstring turned into Markdown (":meth:" before ``name``).
_ROLE = re.compile(r":(?:py:)?(?:meth|func|class|mod|data|attr|obj|exc|const):~?$")


def _reader_config(app, config) -> None:
    """Add the reader's static folder; light/dark follows the system unless the reader chose."""
    config.html_static_path = [*config.html_static_path, str(READER_STATIC)]
    if not config.html_favicon:
        config.html_favicon = str(READER_STATIC / "favicon.svg")
    # pydata-sphinx-theme logs "Got invalid theme mode" on a first visit when the default mode is empty.
    config.html_context = {"default_mode": "auto", **(config.html_context or {})}


def nobreak_numbers(app, doctree: nodes.document, docname: str) -> None:
    """Wrap signed numbers in table cells in ``<span class="icrl-nobr">`` (no line break at the minus)."""
    if app.builder.format != "html":
        return
    for entry in list(doctree.findall(nodes.entry)):
        for text in list(entry.findall(nodes.Text)):
            if isinstance(text.parent, (nodes.literal, nodes.math, nodes.raw, nodes.inline)) and \
                    "icrl-nobr" in text.parent.get("classes", []):
                continue
            source = text.astext()
            hits = [m for m in _NUMBER.finditer(source) if re.search(r"[-−<>≤≥≈~]", m.group(0))
                    or " " in m.group(0)]
            if not hits or isinstance(text.parent, (nodes.math, nodes.raw, nodes.literal_block)):
                continue
            pieces: list[nodes.Node] = []
            last = 0
            for m in hits:
                pieces.append(nodes.Text(source[last:m.start()]))
                pieces.append(nodes.inline(m.group(0), m.group(0), classes=["icrl-nobr"]))
                last = m.end()
            pieces.append(nodes.Text(source[last:]))
            text.parent.replace(text, [p for p in pieces if not (isinstance(p, nodes.Text) and not p.astext())])


def drop_raw_roles(app, doctree: nodes.document, docname: str) -> None:
    """``:meth:`` text right before a literal (a docstring's role printed as Markdown) goes."""
    for lit in list(doctree.findall(nodes.literal)):
        parent = lit.parent
        if parent is None:
            continue
        i = parent.index(lit)
        if i == 0 or not isinstance(parent[i - 1], nodes.Text):
            continue
        before = parent[i - 1].astext()
        m = _ROLE.search(before)
        if m:
            parent.replace(parent[i - 1], nodes.Text(before[:m.start()]))


def dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    """Each script once per page: sphinx-thebe's inline config is registered twice under Sphinx 7.4."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        # an inline script's filename is None from one registration and "" from the other
        key = (str(getattr(js, "filename", js) or ""),
               tuple(sorted((k, str(v)) for k, v in (getattr(js, "attributes", None) or {}).items())))
        if key in seen:
            continue
        seen.add(key)
        unique.append(js)
    scripts[:] = unique


def citation_list_role(app, pagename, templatename, context, doctree) -> None:
    """docutils marks the reference list ``role="list"`` though it holds back-links, not list items: screen
    readers then announce an empty list (axe-core's aria-required-children). The list is a plain block."""
    body = context.get("body")
    if body and 'role="list" class="citation-list"' in body:
        context["body"] = body.replace('<div role="list" class="citation-list">', '<div class="citation-list">')


def setup(app):
    app.connect("config-inited", _reader_config)
    app.connect("html-page-context", citation_list_role)
    app.add_css_file("icrl-reader.css")
    app.add_js_file("icrl-reader.js")
    app.connect("doctree-resolved", nobreak_numbers)
    app.connect("doctree-resolved", drop_raw_roles)
    # last: other extensions add page scripts in this event
    app.connect("html-page-context", dedupe_scripts, priority=999)
    app.connect("env-before-read-docs", add_index_labels)
    app.connect("builder-inited", _tooltips)
    register_plugin("pybtex.style.labels", "icrl", LabelStyle)
    register_plugin("pybtex.style.formatting", "icrl", Style)
    app.connect("doctree-resolved", link_labels)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
