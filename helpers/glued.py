"""Values a committed notebook glued with ``myst_nb.glue``, read without running it.

Used by the publishing tool (the run records copy a chapter's glued weights)
and by ``helpers.training`` (a history another chapter glued).
"""

from __future__ import annotations

import ast


def glued_value(nb, name: str):
    """Return the value a notebook glued under ``name``, or None.

    A glued Python literal is returned as its value.
    """
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            scrap = output.get("metadata", {}).get("scrapbook", {})
            if scrap.get("name") == name:
                text = output.get("data", {}).get(
                    f"{scrap.get('mime_prefix', '')}text/plain", ""
                )
                try:
                    return ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    return text
    return None
