"""Notebook hygiene: a committed notebook holds its code, its outputs and its
record, and nothing of the machine or the editor that made it.

``normalise`` drops the metadata that editors and runs leave behind (through
nbstripout, keeping every output), empty ``tags`` lists and ``remove-stderr``
tags on cells that have no stderr to remove. ``hygiene_problems`` names what a
committed notebook breaks: it is not normalised, or it holds stderr output (a
full run moves a cell's stderr to the terminal; see :mod:`publish.runs`).
``python -m publish normalise`` rewrites the chapters in place (metadata only:
no code or output changes, so no record goes stale), ``--check`` lists.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
from nbstripout import strip_output

# What editors and runs write that says nothing about the book: timings, this
# machine's Python version and paths, widget state, display toggles.
DROPPED_KEYS = [
    "metadata.papermill",
    "metadata.widgets",
    "metadata.signature",
    "metadata.language_info.version",
    "cell.metadata.papermill",
    "cell.metadata.execution",
    "cell.metadata.ExecuteTime",
    "cell.metadata.collapsed",
    "cell.metadata.scrolled",
    "cell.metadata.heading_collapsed",
    "cell.metadata.hidden",
    "metadata.vscode",
    "metadata.colab",
    "cell.metadata.colab",
    "cell.metadata.outputId",
]


def has_stderr(cell) -> bool:
    return any(
        out.get("output_type") == "stream" and out.get("name") == "stderr"
        for out in cell.get("outputs", [])
    )


def normalise(nb):
    """Return the notebook with editor and machine metadata and idle tags removed."""
    nb = strip_output(
        nb, keep_output=True, keep_count=True, keep_id=True, extra_keys=DROPPED_KEYS
    )
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags")
        if tags is None:
            continue
        if "remove-stderr" in tags and not has_stderr(cell):
            tags.remove("remove-stderr")
        if not tags:
            del cell.metadata["tags"]
    return nb


def without_stderr(nb) -> list[str]:
    """Remove every stderr output from the notebook; return their texts."""
    removed = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                removed.append(out.get("text", ""))
            else:
                kept.append(out)
        cell.outputs = kept
    return removed


def hygiene_problems(path: Path) -> list[str]:
    """Return what the committed notebook at ``path`` holds that it should not."""
    nb = nbformat.read(path, as_version=4)
    problems = []
    stderr_cells = [i for i, cell in enumerate(nb.cells) if has_stderr(cell)]
    if stderr_cells:
        problems.append(
            f"{path.name} holds stderr output in cells {stderr_cells}: silence it in "
            f"the code, then re-run it with `make full NB=chapters/{path.name}`."
        )
    if normalise(copy.deepcopy(nb)) != nb:
        problems.append(
            f"{path.name} holds editor or machine metadata, or empty or idle tags: "
            "run `make normalise`."
        )
    return problems
