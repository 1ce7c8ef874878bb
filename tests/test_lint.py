"""ruff, with the repository's configuration, finds nothing (as `make lint`).

The code (helpers, the publishing tool, the tests, the Sphinx extensions) and,
through nbQA, the chapters' code cells.
"""

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
def test_lint_finds_nothing(command):
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]
