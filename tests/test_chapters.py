"""Every chapter, run headless once with its smoke parameters.

Papermill prepares each chapter of _toc.yml (``prepare_only``: it injects the
smoke parameters of chapters/smoke_parameters.yml and an OUTPUT_DIR, and runs
nothing) into ``_output/test_chapters/<chapter>/``, and nbval runs that copy
once, in one kernel, in the same pytest session: one item per code cell
(tests/conftest.py hands this module's ``ChapterTests`` to pytest). nbval runs in
lax mode (pyproject.toml's ``--nbval-lax``), so only the cells tagged
``nbval-check-output`` (data shapes, model summaries, parameter counts) must
print what they printed in the committed full run, up to the sanitize file
``tests/nbval_sanitize.cfg``; any cell that fails fails its item, the hidden
check cell at the end of each chapter included. A last item per chapter,
``after the run``, checks that the chapter wrote its files into its OUTPUT_DIR
and nothing anywhere else. The suite runs on two processes (pytest-xdist,
``--dist loadscope``): a chapter's items share one scope, its notebook, so its
cells run in order in one process and one kernel while the other process runs
other tests. The dogs-vs-cats chapter
reads a copy of its images with a broken JPEG and a text file among them, and
must name both and still run to the end.
"""

import os
import re
import shutil
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import nbformat
import papermill
import pytest
from nbval.plugin import IPyNbFile, get_sanitize_patterns

from publish.provenance import BOOK, chapter_notebooks
from publish.runs import lock, smoke_parameters

RUNS = BOOK / "_output" / "test_chapters"  # one folder per chapter
SANITIZE_FILE = Path(__file__).with_name("nbval_sanitize.cfg")
CHECKED = "nbval-check-output"  # the tag of cells whose output must not change
DOGS_VS_CATS_CHAPTER = "05_dogs_vs_cats_from_scratch.ipynb"
DAMAGED_FOLDER = "dogs-vs-cats-with-bad-files"
SKIPPED_IN_SNAPSHOT = {".git", ".venv", "_build", "__pycache__"}
# What other tests write while a chapter runs beside them: the other chapters'
# runs and the browser test's screenshots.
WRITTEN_BY_OTHER_TESTS = (RUNS, BOOK / "_output" / "screenshots")


def snapshot(folder: Path, leave_out: tuple[Path, ...] = ()) -> dict[str, float]:
    """Return {relative path: modification time} for the files under folder.

    The folders ``leave_out`` are left out.
    """
    files = {}
    for root, dirs, names in os.walk(folder):
        dirs[:] = [
            d
            for d in dirs
            if d not in SKIPPED_IN_SNAPSHOT and Path(root, d) not in leave_out
        ]
        for name in names:
            path = Path(root, name)
            files[str(path.relative_to(folder))] = path.stat().st_mtime
    return files


def parameters_cell(notebook: Path) -> str:
    """Return the source of the notebook's cell tagged ``parameters``."""
    cells = nbformat.read(notebook, 4).cells
    return next(c.source for c in cells if "parameters" in c.metadata.get("tags", []))


def printed(outputs) -> str:
    """Return what a code cell printed: its text streams and plain-text results."""
    parts = []
    for output in outputs:
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            parts.append(output.get("text", ""))
        elif "text/plain" in output.get("data", {}):
            parts.append(output["data"]["text/plain"])
    return "".join(parts)


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


class ChapterRun(IPyNbFile):
    """One chapter, prepared by papermill and run by nbval.

    Its folder, ``_output/test_chapters/<chapter>/``, is the kernel's working
    folder (nbval's: the notebook's own) and holds everything the run may
    write: the prepared notebook, the chapter's OUTPUT_DIR (``output``) and,
    for the dogs-vs-cats chapter, the damaged copy of its images.
    """

    def __init__(self, *args, chapter: Path, **kwargs):
        super().__init__(*args, **kwargs)
        self.chapter = chapter
        self.folder = self.path.parent
        self.add_marker(pytest.mark.book)
        self.parameters = dict(smoke_parameters()[chapter.name])
        # Chapters that save files have an OUTPUT_DIR setting; chapter 1 saves nothing.
        self.output = None
        if "OUTPUT_DIR" in parameters_cell(chapter):
            self.output = self.folder / "output"
            self.parameters["OUTPUT_DIR"] = str(self.output)
        if chapter.name == DOGS_VS_CATS_CHAPTER:
            self.parameters["SOURCE_DIR"] = str(self.folder / DAMAGED_FOLDER)
        self.bad_files = []
        self.book_before = None
        self.cells = []
        self.held = ExitStack()

    def collect(self):
        """Prepare the notebook, then let nbval make an item of each code cell."""
        self.folder.mkdir(parents=True, exist_ok=True)
        # Each test process collects: write a copy, then move it into place.
        prepared = self.folder / f".prepared-{os.getpid()}.ipynb"
        papermill.execute_notebook(
            str(self.chapter),
            str(prepared),
            parameters=self.parameters,
            prepare_only=True,
        )
        os.replace(prepared, self.path)
        self.cells = list(super().collect())
        yield from self.cells
        yield AfterTheRun.from_parent(self, name="after the run")

    def setup(self):
        """Clear the folder of an earlier run, then start nbval's kernel there."""
        self.held.enter_context(lock(self.folder))  # one test session at a time
        for path in self.folder.iterdir():
            if path.name in (self.path.name, ".run-lock"):
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        if self.chapter.name == DOGS_VS_CATS_CHAPTER:
            self.bad_files = damaged_dogs_vs_cats_folder(
                self.folder / DAMAGED_FOLDER, self.parameters["SPLITS"]
            )
        self.book_before = snapshot(BOOK, leave_out=WRITTEN_BY_OTHER_TESTS)
        super().setup()

    def teardown(self):
        try:
            super().teardown()
        finally:
            self.held.close()


class AfterTheRun(pytest.Item):
    """What a chapter's run must leave behind, checked after its last cell."""

    def runtest(self):
        run = self.parent
        if run.book_before is None or all(c.test_outputs is None for c in run.cells):
            pytest.skip("the chapter's cells did not run")
        name = run.chapter.name
        if run.output is not None:
            assert snapshot(run.output), f"{name} wrote nothing under OUTPUT_DIR"
        if run.bad_files:
            text = "".join(printed(c.test_outputs or []) for c in run.cells)
            assert all(bad in text for bad in run.bad_files), (
                f"the subset step did not name {run.bad_files}"
            )
        expected = {run.path.name, ".run-lock"}
        expected |= {run.output.name} if run.output is not None else set()
        expected |= {DAMAGED_FOLDER} if run.bad_files else set()
        found = {p.name for p in run.folder.iterdir()}
        assert found <= expected, (
            f"{name} wrote files into its working folder: {sorted(found - expected)}"
        )
        assert snapshot(BOOK, leave_out=WRITTEN_BY_OTHER_TESTS) == run.book_before, (
            f"{name} wrote into the repository"
        )


class ChapterTests(pytest.Module):
    """This module's tests, then every chapter of _toc.yml, each run once."""

    def collect(self):
        yield from super().collect()
        for chapter in chapter_notebooks():
            yield ChapterRun.from_parent(
                self, path=RUNS / chapter.stem / chapter.name, chapter=chapter
            )


@pytest.mark.book
def test_nbval_catches_a_changed_checked_output_and_only_there(tmp_path):
    """nbval, as the chapters run, fails a checked cell whose output changed.

    An unchecked cell may print something else, and the sanitize file lets a
    checked cell's memory address differ.
    """
    checked = nbformat.v4.new_code_cell(
        'print(f"{333_526:,}")', metadata={"tags": [CHECKED]}
    )
    checked.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="333,527\n")
    ]
    free = nbformat.v4.new_code_cell("import time\nprint(time.time())")
    free.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1.0\n")]
    address = nbformat.v4.new_code_cell(
        "class Box:\n    pass\n\n\nBox()", metadata={"tags": [CHECKED]}
    )
    address.outputs = [
        nbformat.v4.new_output(
            "execute_result",
            data={"text/plain": "<__main__.Box at 0x7f0c1a2b3c40>"},
            execution_count=3,
        )
    ]
    for count, cell in enumerate([checked, free, address], start=1):
        cell.execution_count = count
    notebook = nbformat.v4.new_notebook(cells=[checked, free, address])
    notebook.metadata.kernelspec = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, tmp_path / "tiny.ipynb")

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tiny.ipynb"]
        + ["--nbval-lax", f"--nbval-sanitize-with={SANITIZE_FILE}", "-rA"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    report = result.stdout
    assert result.returncode == 1, report
    assert "1 failed, 2 passed" in report, report
    assert "FAILED tiny.ipynb::Cell 0" in report, report
    assert "Cell outputs differ" in report and "333,526" in report, report


def test_the_sanitize_file_rewrites_only_what_varies_between_runs():
    patterns = get_sanitize_patterns(SANITIZE_FILE.read_text())

    def sanitized(text):
        for regex, replace in patterns:  # as nbval applies them
            text = re.sub(regex, replace, text)
        return text

    assert (
        sanitized("<object object at 0x7f0c1a2b3c40>") == "<object object at 0xADDRESS>"
    )
    assert sanitized("took 12.3 s, 85ms/step") == "took TIME, TIME/step"
    assert sanitized("started 2026-12-04T14:43:43") == "started DATETIME"
    smoke = "saved /repo/_output/test_chapters/02_fashion/output/best.keras"
    full = "saved ../_output/fashion_mnist/best.keras"
    assert sanitized(smoke) == sanitized(full) == "saved OUTPUT_DIR/best.keras"
    for checked in [
        "training: (60000, 28, 28) uint8 (60000,)",
        "53 layers, 720,353 parameters",
        "a 180 x 180 image becomes (5, 5, 512) features",
        "Total params: 29,898 (116.79 KB)",
        "pool_size (2, 2) strides (2, 2)",
        "trained for 2 steps",
    ]:
        assert sanitized(checked) == checked
