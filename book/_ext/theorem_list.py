"""The list of theorems, definitions and algorithms (``prf-prf.html``): numbered, titled, in book order.

sphinx-proof's own index lists the raw labels sorted alphabetically (``alg-ch10-...`` before ``def-ch2-...``),
without numbers or titles. This extension replaces that index (same domain, same page name ``prf-prf``, so
``{ref}`prf-prf``` keeps working) by one grouped by chapter in the order of the table of contents, each
statement in the order it appears, shown as "Theorem 3.1  Bellman equations [LL26]" with a link to it.

Enable it in ``_config.yml`` under ``sphinx: local_extensions:`` as ``theorem_list: book/_ext``.
"""
from __future__ import annotations

from pathlib import Path

from docutils import nodes
from sphinx.domains import Index, IndexEntry

#: The page's template (templates/prf-index.html next to this file).
TEMPLATES = Path(__file__).resolve().parent / "templates"
PAGE = "prf-prf"


def _title(node: nodes.Element) -> str:
    """The statement's title as plain text: " (Bellman equations [LL26])" -> "Bellman equations [LL26]"."""
    title = node.next_node(nodes.title)
    text = " ".join((title.astext() if title is not None else "").split())
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    return text


def record_statements(app, doctree: nodes.document) -> None:
    """Remember each statement's title and its position in the document (``env.icrl_statements``)."""
    env = app.env
    proofs = getattr(env, "proof_list", {})
    found = getattr(env, "icrl_statements", {})
    position = 0
    for node in doctree.findall(nodes.Element):
        label = node.get("label") if isinstance(node, nodes.Admonition) else None
        if label and label in proofs and proofs[label]["docname"] == env.docname:
            found[label] = {"docname": env.docname, "position": position, "title": _title(node)}
            position += 1
    env.icrl_statements = found


def purge(app, env, docname: str) -> None:
    found = getattr(env, "icrl_statements", {})
    env.icrl_statements = {k: v for k, v in found.items() if v["docname"] != docname}


def merge(app, env, docnames, other) -> None:
    env.icrl_statements = {**getattr(env, "icrl_statements", {}),
                           **{k: v for k, v in getattr(other, "icrl_statements", {}).items()
                              if v["docname"] in docnames}}


def book_order(env) -> list[str]:
    """The documents in the order of the table of contents (depth first from the root document)."""
    order: list[str] = []

    def visit(doc: str) -> None:
        if doc in order:
            return
        order.append(doc)
        for child in env.toctree_includes.get(doc, []):
            visit(child)

    visit(env.config.root_doc)
    return order + sorted(set(env.found_docs) - set(order))


def statements(env) -> list[dict]:
    """Every numbered statement in book order: chapter, number, kind, title, page and anchor."""
    proofs = getattr(env, "proof_list", {})
    found = getattr(env, "icrl_statements", {})
    rank = {doc: i for i, doc in enumerate(book_order(env))}
    rows = []
    for label, info in proofs.items():
        doc = info["docname"]
        number = env.toc_fignumbers.get(doc, {}).get(info["countertype"], {}).get(label)
        rows.append({
            "label": label,
            "docname": doc,
            "kind": info["realtype"].title(),
            "number": ".".join(map(str, number)) if number else "",
            "title": found.get(label, {}).get("title", ""),
            "position": found.get(label, {}).get("position", 0),
            "chapter": env.titles[doc].astext() if doc in env.titles else doc,
            "chapter_number": ".".join(map(str, env.toc_secnumbers.get(doc, {}).get("", ()))),
        })
    rows.sort(key=lambda r: (rank.get(r["docname"], len(rank)), r["position"], r["label"]))
    return rows


class BookProofIndex(Index):
    """sphinx-proof's index (``prf-prf``) in book order, one group per chapter."""

    name = "prf"
    localname = "List of theorems, definitions and algorithms"
    shortname = "Statements"

    def generate(self, docnames=None):
        groups: dict[str, list[IndexEntry]] = {}
        for row in statements(self.domain.env):
            if docnames and row["docname"] not in docnames:
                continue
            name = f"{row['kind']} {row['number']}".strip()
            group = f"{row['chapter_number']}. {row['chapter']}" if row["chapter_number"] else row["chapter"]
            groups.setdefault(group, []).append(
                IndexEntry(name, 0, row["docname"], row["label"], "", "", row["title"]))
        return list(groups.items()), False


def page_template(app, pagename, templatename, context, doctree):
    """Render the list with the book's template (no code font, chapter headings, a title column)."""
    if pagename == PAGE:
        return "prf-index.html"
    return None


def add_templates(app, config) -> None:
    config.templates_path = [str(TEMPLATES), *config.templates_path]


def setup(app):
    app.setup_extension("sphinx_proof")
    from sphinx_proof.domain import ProofDomain

    ProofDomain.indices = [BookProofIndex]
    app.connect("config-inited", add_templates)
    app.connect("doctree-read", record_statements)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    app.connect("html-page-context", page_template)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
