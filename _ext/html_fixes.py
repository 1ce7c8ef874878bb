"""Sphinx extension: two fixes to the HTML that the theme and docutils write.

- No link is a bare ``#``. The theme links the current page in the sidebar
  (and the logo, on the root page) with ``href="#"``: it leads nowhere new,
  and a link checker or a screen reader takes it for a broken link. The page
  names itself instead, which the browser treats the same way.
- The references page's entries are list items. docutils marks each
  citation ``role="doc-biblioentry"``, a role that DPUB-ARIA 1.1 deprecates
  (Lighthouse's accessibility audit counts it against the page); their
  container already has ``role="list"``, so each entry gets ``role="listitem"``.
"""

from __future__ import annotations

from pathlib import Path

FIXES = (
    ('href="#"', 'href="{page}"'),
    ('role="doc-biblioentry"', 'role="listitem"'),
)


def fix_written_pages(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        fixed = html
        for old, new in FIXES:
            fixed = fixed.replace(old, new.format(page=page.name))
        if fixed != html:
            page.write_text(fixed, encoding="utf-8")


def setup(app):
    app.connect("build-finished", fix_written_pages)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
