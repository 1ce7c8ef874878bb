"""Sphinx extension: a link on every page to the same page in the other language.

The English edition is the site's root and the Korean edition (built from
``_build/ko/source``, see publish/korean_edition.py) sits in its ``ko/``
folder, with the same page names. ``cnnbook_language`` says which edition is
being built. Each page gets the switch above its text and ``<link
rel="alternate" hreflang>`` tags for search engines.
"""

from __future__ import annotations

import html

OTHER = {
    # edition: (the other edition, its name in its own language, path from root)
    "en": ("ko", "한국어", "ko/"),
    "ko": ("en", "English", "../"),
}


def switch_target(language: str, pagename: str) -> tuple[str, str, str]:
    """Return (href, link text, language code) of the page in the other edition."""
    other, name, root = OTHER[language]
    up = "../" * pagename.count("/")
    return f"{up}{root}{pagename}.html", name, other


def add_switch(app, pagename, templatename, context, doctree):
    if doctree is None or "body" not in context:
        return  # search, index and other generated pages
    href, name, other = switch_target(app.config.cnnbook_language, pagename)
    label = "이 페이지를 한국어로" if other == "ko" else "This page in English"
    context["body"] = (
        f'<p class="language-switch"><a href="{html.escape(href)}" '
        f'hreflang="{other}" lang="{other}" title="{html.escape(label)}">'
        f"{html.escape(name)}</a></p>\n" + context["body"]
    )
    context["metatags"] = context.get("metatags", "") + (
        f'\n<link rel="alternate" hreflang="{other}" href="{html.escape(href)}" />'
    )


def setup(app):
    app.add_config_value("cnnbook_language", "en", "html")
    app.connect("html-page-context", add_switch)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
