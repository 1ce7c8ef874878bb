"""Sphinx extension: the build refuses a chapter notebook that holds an error output.

The committed notebooks are published as they are (nothing is executed at
build time), so a cell that failed during a run would show its traceback on
the website. The build stops instead, naming the notebook and the cells.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from sphinx.errors import ExtensionError

from publish.provenance import error_cells


def refuse_error_outputs(app, env, docnames):
    for docname in sorted(env.found_docs):
        path = Path(app.srcdir) / f"{docname}.ipynb"
        if path.is_file():
            cells = error_cells(nbformat.read(path, as_version=4))
            if cells:
                raise ExtensionError(
                    f"{path.name} holds error outputs (cells {cells}), which the "
                    "website would show: fix the notebook and re-run it with "
                    f"`make full NB=chapters/{path.name}`."
                )


def setup(app):
    app.connect("env-before-read-docs", refuse_error_outputs)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
