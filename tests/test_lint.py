"""ruff, with the repository's configuration, finds nothing (as `make lint`).

The code (helpers, the publishing tool, the tests, the Sphinx extensions) and,
through nbQA, the chapters' code cells. ruff keeps its cache in a scratch
folder here, not in the repository, where the chapter runs beside these tests
check that nothing is written.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "helpers", "publish", "tests", "_ext"],
        ["ruff", "format", "--check", "helpers", "publish", "tests", "_ext"],
        ["nbqa", "ruff", "chapters"],
    ],
    ids=["ruff", "ruff-format", "nbqa-ruff"],
)
def test_lint_finds_nothing(command, tmp_path):
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        cwd=ROOT,
        env={**os.environ, "RUFF_CACHE_DIR": str(tmp_path / "ruff_cache")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]
