"""The README's chapter table agrees with the book: order, notebooks and run times."""

import re

import nbformat

from publish.provenance import BOOK, RECORD_KEY, chapter_notebooks


def chapter_rows() -> list[tuple[str, str]]:
    """Return (notebook path, run-time cell) for each row of the README's table."""
    rows = []
    for line in (BOOK / "README.md").read_text().splitlines():
        match = re.match(r"\| [^|]+ \| `(chapters/[^`]+\.ipynb)` \| ([^|]+) \|$", line)
        if match:
            rows.append((match.group(1), match.group(2).strip()))
    return rows


def test_readme_lists_the_chapters_in_book_order():
    listed = [path for path, _ in chapter_rows()]
    assert listed == [str(p.relative_to(BOOK)) for p in chapter_notebooks()]


def test_readme_run_times_are_those_of_the_committed_runs():
    """Each row starts with the minutes its notebook's provenance record measured."""
    for path, time_cell in chapter_rows():
        record = nbformat.read(BOOK / path, as_version=4).metadata.get(RECORD_KEY, {})
        measured = f"{record.get('run_seconds', float('nan')) / 60:.1f} minutes"
        assert time_cell.startswith(measured), (
            f"README says {time_cell!r} for {path}; its full run took {measured}"
        )
