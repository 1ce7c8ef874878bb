"""Sphinx extension: a ``<meta name="description">`` for every page.

Search engines and link previews show a page's description. Each page gets
the opening of its first paragraph, so the description follows the text and
needs no upkeep.
"""

from __future__ import annotations

import html

from docutils import nodes
from sphinx import addnodes

LONGEST = 160  # characters, about what search results show


def first_paragraph(doctree) -> str:
    """Return the text of the first paragraph outside admonitions and tables, or ''."""
    for paragraph in doctree.findall(nodes.paragraph):
        if not any(
            isinstance(parent, (nodes.Admonition, nodes.table, addnodes.glossary))
            for parent in _ancestors(paragraph)
        ):
            return " ".join(paragraph.astext().split())
    return ""


def _ancestors(node):
    while node.parent is not None:
        node = node.parent
        yield node


def description(text: str) -> str:
    """Shorten text to at most LONGEST characters, at a word boundary."""
    if len(text) <= LONGEST:
        return text
    return text[: LONGEST - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def add_description(app, pagename, templatename, context, doctree):
    if doctree is None:
        return
    text = description(first_paragraph(doctree)) or app.config.project
    context["metatags"] = context.get("metatags", "") + (
        f'\n    <meta name="description" content="{html.escape(text, quote=True)}" />'
    )


def setup(app):
    app.connect("html-page-context", add_description)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
