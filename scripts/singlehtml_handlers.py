"""Sphinx extension used only by ``make pdf`` (scripts/build_pdf.py) for the single-page HTML build.

Sphinx looks up the HTML visitors of extension nodes under the builder's name first and under its
format ("html") only if no extension registered anything for that name. sphinx-exercise registers
visitors for "singlehtml", so the "html" visitors of sphinx-proof's nodes are not found there and the
singlehtml build fails ("unknown node type: definition_node"). Copy the missing ones over.
"""


def _copy_html_handlers(app) -> None:
    handlers = app.registry.translation_handlers
    if "singlehtml" in handlers:
        for node, visitors in handlers.get("html", {}).items():
            handlers["singlehtml"].setdefault(node, visitors)


def setup(app):
    app.connect("builder-inited", _copy_html_handlers)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
