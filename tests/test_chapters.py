"""Every chapter, run headless once with its smoke parameters.

Papermill injects the smoke parameters and runs the notebook; any failing
cell fails the test, and the hidden check cell at the end of each chapter
asserts what the run must show. The cells tagged ``nbval-check-output``
(nbval's name for them: shapes, summaries, parameter counts) must then print
exactly what they printed in the committed full run. Nothing may appear
outside the output folder. The dogs-vs-cats chapter reads a copy of its
images with a broken JPEG and a text file among them, and must name both and
still run to the end.
"""

import os
from pathlib import Path

import nbformat
import papermill
import pytest

from publish.provenance import BOOK, chapter_notebooks
from publish.runs import smoke_parameters

pytestmark = pytest.mark.book
SMOKE_PARAMETERS = smoke_parameters()

DOGS_VS_CATS_CHAPTER = "05_dogs_vs_cats_from_scratch.ipynb"

CHECKED = "nbval-check-output"  # the tag of cells whose output must not change


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


def parameters_cell(notebook: Path) -> str:
    """Return the source of the notebook's cell tagged ``parameters``."""
    cells = nbformat.read(notebook, 4).cells
    return next(c.source for c in cells if "parameters" in c.metadata.get("tags", []))


def printed(cell) -> str:
    """Return what a code cell printed: its text streams and plain-text results."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            parts.append(output.get("text", ""))
        elif "text/plain" in output.get("data", {}):
            parts.append(output["data"]["text/plain"])
    return "".join(parts)


def changed_checked_outputs(committed, executed) -> list[str]:
    """Return a message for each checked cell whose printed output changed.

    Cells are matched by their source, since papermill adds a cell of its own.
    """
    runs = {c.source: c for c in executed.cells if c.cell_type == "code"}
    problems = []
    for cell in committed.cells:
        if CHECKED in cell.get("metadata", {}).get("tags", []):
            now = printed(runs[cell.source]) if cell.source in runs else "(not run)"
            if now != printed(cell):
                first_line = cell.source.splitlines()[0]
                problems.append(
                    f"cell `{first_line}` printed\n{now}\ninstead of\n{printed(cell)}"
                )
    return problems


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
    parameters = dict(SMOKE_PARAMETERS[notebook.name])
    # Chapters that save files have an OUTPUT_DIR setting; chapter 1 saves nothing.
    writes_files = "OUTPUT_DIR" in parameters_cell(notebook)
    if writes_files:
        parameters["OUTPUT_DIR"] = str(output)
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
        str(work / "run.ipynb"),
        cwd=str(work),
        kernel_name="python3",
        progress_bar=False,
    )
    if writes_files:
        assert snapshot(output), f"{notebook.name} wrote nothing under OUTPUT_DIR"
    executed = nbformat.read(work / "run.ipynb", 4)
    if bad_files:
        text = "".join(printed(cell) for cell in executed.cells)
        assert all(name in text for name in bad_files), (
            f"the subset step did not name {bad_files}"
        )
    problems = changed_checked_outputs(nbformat.read(notebook, 4), executed)
    assert not problems, f"{notebook.name}: " + "\n\n".join(problems)

    assert sorted(p.name for p in work.iterdir()) == sorted(
        [prepared.name, "run.ipynb"]
    ), (
        f"{notebook.name} wrote files into its working folder: "
        f"{sorted(p.name for p in work.iterdir())}"
    )
    assert snapshot(BOOK) == book_before, f"{notebook.name} wrote into the repository"


def test_a_changed_checked_output_is_caught_and_others_may_differ():
    """The comparison above can fail: on a checked cell, and only there."""
    checked = nbformat.v4.new_code_cell("print(333_526)", metadata={"tags": [CHECKED]})
    checked.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="333,526\n")
    ]
    free = nbformat.v4.new_code_cell("print(time.time())")
    free.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1.0\n")]
    committed = nbformat.v4.new_notebook(cells=[checked, free])

    executed = nbformat.from_dict(nbformat.v4.new_notebook(cells=[]))
    injected = nbformat.v4.new_code_cell("EPOCHS = 1")
    executed.cells = [injected, nbformat.from_dict(checked), nbformat.from_dict(free)]
    executed.cells[2].outputs[0]["text"] = "2.0\n"
    assert changed_checked_outputs(committed, executed) == []

    executed.cells[1].outputs[0]["text"] = "333,527\n"
    (problem,) = changed_checked_outputs(committed, executed)
    assert "print(333_526)" in problem and "333,527" in problem
