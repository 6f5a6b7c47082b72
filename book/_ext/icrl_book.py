"""Local Sphinx extension of the book: one citation label per paper, linked wherever it is written.

1. A pybtex label style (``bibtex_default_style: icrl``) that prints the book's shorthand labels ([LL26],
   [W25], [X26], [LBM24], [DPT23], [AD22], [vO23], ...) in every reference list, so the label a reader sees in
   the running text is the label of the bibliography entry. Entries without a shorthand get pybtex's alpha
   label.
2. A doctree pass that turns every plain-text occurrence of a shorthand label in brackets (in running text,
   in theorem and algorithm titles, in tables) into a link to the paper's entry: the bibliography at the end
   of the same page if the paper is listed there, else the book's bibliography page.

The labels live in ``LABELS`` below; a chapter that cites a new paper adds its key and label here.
"""
from __future__ import annotations

import re

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


def setup(app):
    app.connect("env-before-read-docs", add_index_labels)
    app.connect("builder-inited", _tooltips)
    register_plugin("pybtex.style.labels", "icrl", LabelStyle)
    register_plugin("pybtex.style.formatting", "icrl", Style)
    app.connect("doctree-resolved", link_labels)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
