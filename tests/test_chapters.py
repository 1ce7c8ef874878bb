"""Every chapter, run headless with its smoke parameters.

Each notebook runs twice into the same output folder: once with papermill,
then once under nbval, which also compares the cells tagged
``nbval-check-output`` (shapes, summaries, parameter counts) with the
committed full-run outputs. The hidden check cell at the end of each chapter
asserts what the run must show; any failing cell fails the test. Afterwards
nothing may have appeared outside the output folder. The dogs-vs-cats chapter
reads a copy of its images with a broken JPEG and a text file among them, and
must name both and still run to the end.
"""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest

from publish.provenance import BOOK, chapter_notebooks
from publish.runs import smoke_parameters

pytestmark = pytest.mark.book
SMOKE_PARAMETERS = smoke_parameters()

DOGS_VS_CATS_CHAPTER = "04_dogs_vs_cats_from_scratch.ipynb"

# pytest under nbval's lax mode: only cells tagged nbval-check-output are compared.
NBVAL = [
    sys.executable,
    "-m",
    "pytest",
    "-q",
    "-p",
    "no:cacheprovider",
    "--nbval-lax",
    "--nbval-current-env",
]
SKIPPED_IN_SNAPSHOT = {".git", ".venv", "_build", "__pycache__"}


def snapshot(folder: Path) -> dict[str, float]:
    """Return {relative path: modification time} for the files under folder."""
    files = {}
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in SKIPPED_IN_SNAPSHOT]
        for name in names:
            path = Path(root, name)
            files[str(path.relative_to(folder))] = path.stat().st_mtime
    return files


def tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


def damaged_dogs_vs_cats_folder(folder: Path, splits: dict) -> list[str]:
    """Link the images of ``splits`` into folder, then damage the folder.

    One JPEG is cut short and a text file is added. Returns the names of the two
    bad files. The dogs-vs-cats chapter's smoke run reads this folder, so it
    must name both and still run to the end.
    """
    from helpers import DOGS_VS_CATS_CLASS_NAMES, find_dogs_vs_cats_images

    source = find_dogs_vs_cats_images()
    folder.mkdir()
    for start, stop in splits.values():
        for number in range(start, stop):
            for name in DOGS_VS_CATS_CLASS_NAMES:
                (folder / f"{name}.{number}.jpg").symlink_to(
                    source / f"{name}.{number}.jpg"
                )
    broken = folder / "cat.3.jpg"
    data = broken.read_bytes()
    broken.unlink()
    broken.write_bytes(data[: len(data) // 2])  # a download cut short
    (folder / "notes.txt").write_text("a file someone left among the images\n")
    return [broken.name, "notes.txt"]


@pytest.mark.parametrize("notebook", chapter_notebooks(), ids=lambda p: p.stem)
def test_chapter_smoke_run(notebook, tmp_path):
    work = tmp_path / "notebooks"
    work.mkdir()
    output = tmp_path / "output"
    parameters = {**SMOKE_PARAMETERS[notebook.name], "OUTPUT_DIR": str(output)}
    bad_files = []
    if notebook.name == DOGS_VS_CATS_CHAPTER:
        source = tmp_path / "dogs-vs-cats-with-bad-files"
        bad_files = damaged_dogs_vs_cats_folder(source, parameters["SPLITS"])
        parameters["SOURCE_DIR"] = str(source)
    prepared = work / f"smoke_{notebook.name}"
    papermill.execute_notebook(
        str(notebook), str(prepared), parameters=parameters, prepare_only=True
    )
    book_before = snapshot(BOOK)

    papermill.execute_notebook(
        str(prepared),
        str(work / "first_run.ipynb"),
        cwd=str(work),
        kernel_name="python3",
        progress_bar=False,
    )
    first_outputs = snapshot(output)
    assert first_outputs, f"{notebook.name} wrote nothing under OUTPUT_DIR"
    if bad_files:
        printed = "".join(
            output.get("text", "")
            for cell in nbformat.read(work / "first_run.ipynb", 4).cells
            for output in cell.get("outputs", [])
        )
        assert all(name in printed for name in bad_files), (
            f"the subset step did not name {bad_files}"
        )

    nbval = subprocess.run(
        [*NBVAL, "--nbval-cell-timeout=900", str(prepared)],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert nbval.returncode == 0, (
        f"second smoke run of {notebook.name} under nbval failed:\n"
        f"{tail(nbval.stdout + nbval.stderr)}"
    )

    assert sorted(p.name for p in work.iterdir()) == sorted(
        [prepared.name, "first_run.ipynb"]
    ), (
        f"{notebook.name} wrote files into its working folder: "
        f"{sorted(p.name for p in work.iterdir())}"
    )
    assert snapshot(BOOK) == book_before, f"{notebook.name} wrote into the repository"
    assert set(snapshot(output)) == set(first_outputs), (
        "the second run wrote different files"
    )


def test_nbval_lax_catches_a_changed_checked_output_and_a_failing_hidden_check(
    tmp_path,
):
    """The mechanism above can fail.

    It fails on a tagged cell whose output differs, and on a failing assert.
    """
    checked = nbformat.v4.new_code_cell(
        "print(333_526)", metadata={"tags": ["nbval-check-output"]}, execution_count=1
    )
    checked.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="333,526\n")
    ]
    unchecked = nbformat.v4.new_code_cell("print('free to differ')", execution_count=2)
    unchecked.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="anything\n")
    ]
    hidden = nbformat.v4.new_code_cell(
        "assert 0.5 >= 0.91", metadata={"tags": ["remove-cell"]}
    )
    nbformat.write(
        nbformat.v4.new_notebook(cells=[checked, unchecked, hidden]),
        tmp_path / "probe.ipynb",
    )
    result = subprocess.run(
        [*NBVAL, "probe.ipynb"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert "2 failed, 1 passed" in result.stdout, tail(result.stdout)
