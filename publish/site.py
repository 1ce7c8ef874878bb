"""The website: both editions, English at the root and Korean in ``ko/``.

``make book`` (``python -m publish book``) and the tests' ``site`` fixture
build it the same way: Jupyter Book builds the English pages with ``-W``
(warnings are errors), :func:`publish.korean_edition.write_tree` writes the
Korean source tree, Jupyter Book builds it with ``-W`` too, and its pages are
copied into the English site's ``ko/`` folder. Nothing is executed: the
notebooks hold their outputs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from publish.korean_edition import write_tree
from publish.provenance import BOOK
from publish.translations import LANGUAGE


class BuildError(RuntimeError):
    """A build with warnings or errors; the message holds Jupyter Book's output."""


def jupyter_book(source: Path, output: Path) -> Path:
    """Build source into output/_build/html with -W; return that folder."""
    program = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [
            str(program),
            "build",
            "-W",
            "--keep-going",
            "--path-output",
            str(output),
            str(source),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BuildError(
            f"jupyter-book build {source} failed:\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return output / "_build" / "html"


def build_site(output: Path = BOOK) -> tuple[Path, list[str]]:
    """Build both editions under output/_build; return (html folder, report).

    The report names the pages whose Korean messages are not all translated
    (they show the English text until they are).
    """
    html = jupyter_book(BOOK, output)
    korean = output / "_build" / LANGUAGE
    report = write_tree(korean / "source")
    korean_html = jupyter_book(korean / "source", korean)
    shutil.rmtree(html / LANGUAGE, ignore_errors=True)
    shutil.copytree(korean_html, html / LANGUAGE)
    return html, report
