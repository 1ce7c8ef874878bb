"""Fixtures shared by the test files."""

import subprocess
import sys
from pathlib import Path

import pytest

from publish.provenance import BOOK


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """Build the book once with -W (warnings are errors) into a scratch folder.

    Return its html folder.
    """
    out = tmp_path_factory.mktemp("site")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [
            str(jupyter_book),
            "build",
            "-W",
            "--keep-going",
            "--path-output",
            str(out),
            str(BOOK),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, (
        f"jupyter-book build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    return out / "_build" / "html"
