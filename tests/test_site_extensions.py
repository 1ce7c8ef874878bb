"""Unit tests of the book's Sphinx extensions in _ext/ (no build)."""

import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from sphinx.errors import ExtensionError

from publish.provenance import BOOK

sys.path.insert(0, str(BOOK / "_ext"))

import error_outputs  # noqa: E402
import page_meta  # noqa: E402


def notebook_with(tmp_path, name, outputs):
    cell = nbformat.v4.new_code_cell("1 / 0")
    cell.outputs = outputs
    path = tmp_path / "chapters" / name
    path.parent.mkdir(exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)
    return f"chapters/{path.stem}"


def test_the_build_refuses_a_notebook_with_an_error_output(tmp_path):
    error = nbformat.v4.new_output(
        "error", ename="ZeroDivisionError", evalue="division by zero", traceback=[]
    )
    broken = notebook_with(tmp_path, "01_broken.ipynb", [error])
    fine = notebook_with(tmp_path, "02_fine.ipynb", [])
    app = SimpleNamespace(srcdir=str(tmp_path))
    error_outputs.refuse_error_outputs(app, SimpleNamespace(found_docs={fine}), [])
    with pytest.raises(
        ExtensionError, match=r"01_broken.ipynb holds error outputs \(cells \[0\]\)"
    ):
        error_outputs.refuse_error_outputs(
            app, SimpleNamespace(found_docs={fine, broken}), []
        )


def test_descriptions_are_cut_at_a_word_and_say_so():
    text = "word " * 60
    short = page_meta.description(text.strip())
    assert len(short) <= page_meta.LONGEST and short.endswith("word…")
    assert page_meta.description("A short page.") == "A short page."


def test_the_description_skips_admonitions(tmp_path):
    from docutils.core import publish_doctree

    doctree = publish_doctree(
        ".. note::\n\n   Not this.\n\nThe first real paragraph.\n"
    )
    assert page_meta.first_paragraph(doctree) == "The first real paragraph."
    assert Path(page_meta.__file__).parent == BOOK / "_ext"


def test_a_script_registered_twice_is_written_once():
    import unique_scripts

    class Script(str):
        def __new__(cls, filename, **attributes):
            self = super().__new__(cls, filename)
            self.filename, self.attributes = filename, attributes
            return self

    config = Script("", body="const THEBE_JS_URL = 1")
    again = Script("", body="const THEBE_JS_URL = 1")
    again.filename = None  # as one of the two registrations has it
    context = {
        "script_files": [Script("a.js"), config, Script("b.js"), again, Script("a.js")]
    }
    unique_scripts.drop_duplicate_scripts(None, "page", "page.html", context, None)
    assert [s.filename for s in context["script_files"]] == ["a.js", "", "b.js"]
