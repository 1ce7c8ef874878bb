"""Sphinx extension: each script appears once in a page's head.

sphinx-thebe registers its inline configuration script (``const THEBE_JS_URL
= ...``) each time Sphinx starts reading documents, and a Jupyter Book build
can do that more than once, so pages declared the same constants twice and
the browser reported a SyntaxError. This drops the repeats before the page is
written.
"""

from __future__ import annotations


def _key(script) -> tuple:
    attributes = getattr(script, "attributes", {}) or {}
    # An inline script's file name is None or "", depending on who added it.
    return (
        getattr(script, "filename", str(script)) or "",
        tuple(sorted(attributes.items())),
    )


def drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique  # in place: later handlers (MathJax's) add to this very list


def setup(app):
    app.connect("html-page-context", drop_duplicate_scripts)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
