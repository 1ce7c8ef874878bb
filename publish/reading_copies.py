"""The chapters as JupyterLab shows them to a learner: MyST roles written out.

The notebooks in ``chapters/`` are the source of the book. Their prose uses
roles that only the website's build resolves: ``{glue:text}`` (a number from
the committed run), ``{cite:p}`` and ``{cite:t}`` (references), ``{term}``
(glossary links), ``{run-time}`` (the provenance record) and one
``literalinclude``. In JupyterLab, jupyterlab-myst shows them as raw keys, so
``make lab`` opens copies in ``_build/lab/chapters/`` instead, written by
:func:`write_reading_copies`: each role replaced by the text the website
shows (the glued value formatted as on the page, a citation as "Author
(Year)"), code and outputs unchanged, so the copies run as the chapters do.

A copy the learner has changed since it was written is never overwritten:
the hashes of the copies as written are kept in ``.written.json`` beside them.
"""

from __future__ import annotations

import hashlib
import json
import re
import textwrap
from pathlib import Path

import nbformat
from myst_nb.core.variables import format_plain_text

from publish.provenance import BOOK, RECORD_KEY, chapter_notebooks, describe_run_time

LAB = BOOK / "_build" / "lab" / "chapters"
WRITTEN = LAB / ".written.json"
ROLE = re.compile(r"\{(glue:text|cite:p|cite:t|term|run-time)\}`([^`]*)`")
INCLUDE = re.compile(r"```\{literalinclude\} (?P<file>\S+)\n(?P<options>(?::.*\n)*)```")


class ReadingCopyError(ValueError):
    """A role or directive that a reading copy cannot write out."""


def glued_texts(notebook: Path) -> dict[str, str]:
    """Return {key: text/plain} of every value the notebook glued."""
    values = {}
    for cell in nbformat.read(notebook, as_version=4).cells:
        for output in cell.get("outputs", []):
            scrap = output.get("metadata", {}).get("scrapbook", {})
            if scrap.get("name"):
                prefix = scrap.get("mime_prefix", "")
                values[scrap["name"]] = output["data"][f"{prefix}text/plain"]
    return values


def references() -> dict[str, tuple[str, str]]:
    """Return {citation key: (authors as cited, year)} from references.bib."""
    from pybtex.database import parse_file

    cited = {}
    for key, entry in parse_file(BOOK / "chapters" / "references.bib").entries.items():
        people = entry.persons.get("author", [])
        names = [" ".join(p.last_names) or " ".join(p.first_names) for p in people]
        names = [re.sub(r"[{}]", "", name) for name in names]
        if len(names) > 2:
            authors = f"{names[0]} et al."
        else:
            authors = " and ".join(names)
        cited[key] = (authors, entry.fields.get("year", "n.d."))
    return cited


class Writer:
    """Writes out the roles of one chapter's Markdown."""

    def __init__(self, notebook: Path):
        self.notebook = notebook
        self.glued = {notebook.name: glued_texts(notebook)}
        self.cited = references()
        # The Korean edition's notebooks say so (publish/korean_edition.py).
        metadata = nbformat.read(notebook, as_version=4).metadata
        self.language = metadata.get("cnnbook_language", "en")

    def glue(self, text: str) -> str:
        where, _, key = text.rpartition("::")
        where = where or self.notebook.name
        if where not in self.glued:
            self.glued[where] = glued_texts(self.notebook.parent / where)
        key, _, fmt = key.partition(":")
        if key not in self.glued[where]:
            raise ReadingCopyError(f"{where} glues no value named {key}")
        return format_plain_text(self.glued[where][key], fmt)

    def cite(self, keys: str, textual: bool) -> str:
        parts = []
        for key in (k.strip() for k in keys.split(",")):
            if key not in self.cited:
                raise ReadingCopyError(f"references.bib has no entry {key}")
            authors, year = self.cited[key]
            parts.append(f"{authors} ({year})" if textual else f"{authors}, {year}")
        return "; ".join(parts) if textual else f"({'; '.join(parts)})"

    def run_time(self, name: str) -> str:
        record = nbformat.read(self.notebook.parent / name, as_version=4).metadata
        if RECORD_KEY not in record:
            raise ReadingCopyError(f"{name} has no provenance record")
        language = self.language
        return describe_run_time(record[RECORD_KEY], language)

    def role(self, match: re.Match) -> str:
        name, text = match.groups()
        if name == "glue:text":
            return self.glue(text)
        if name in ("cite:p", "cite:t"):
            return self.cite(text, textual=name == "cite:t")
        if name == "term":  # {term}`shown text <glossary term>` or {term}`term`
            return re.sub(r"\s*<[^>]*>$", "", text)
        return self.run_time(text)

    def include(self, match: re.Match) -> str:
        options = dict(
            line[1:].split(": ", 1) if ": " in line else (line[1:].rstrip(":"), "")
            for line in match["options"].splitlines()
        )
        known = {"language", "start-at", "end-at", "dedent"}
        if set(options) - known:
            raise ReadingCopyError(f"literalinclude options {set(options) - known}")
        lines = (self.notebook.parent / match["file"]).read_text().splitlines()
        start = next(i for i, text in enumerate(lines) if options["start-at"] in text)
        after = enumerate(lines[start:], start)
        end = next(i for i, text in after if options["end-at"] in text)
        code = textwrap.dedent("\n".join(lines[start : end + 1]))
        return f"```{options.get('language', '')}\n{code}\n```"

    def markdown(self, source: str) -> str:
        return ROLE.sub(self.role, INCLUDE.sub(self.include, source))


def reading_copy(notebook: Path) -> nbformat.NotebookNode:
    """Return the chapter with every role of its Markdown written out."""
    writer = Writer(notebook)
    nb = nbformat.read(notebook, as_version=4)
    for number, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            try:
                cell.source = writer.markdown(cell.source)
            except ReadingCopyError as error:
                raise ReadingCopyError(
                    f"{notebook.name}, Markdown cell {number}: {error}"
                ) from None
    return nb


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_reading_copies(
    folder: Path = LAB, notebooks: list[Path] | None = None
) -> list[str]:
    """Write a reading copy of every chapter; return what was done, one line each.

    ``notebooks`` are the chapters of ``chapters/`` unless given (the Korean
    edition gives its own). A copy changed since it was written (a learner's
    edits, outputs of a run) is kept as it is.
    """
    folder.mkdir(parents=True, exist_ok=True)
    record = folder / WRITTEN.name
    written = json.loads(record.read_text()) if record.is_file() else {}
    report = []
    for notebook in notebooks or chapter_notebooks():
        target = folder / notebook.name
        if target.is_file() and written.get(notebook.name) != _sha256(target):
            report.append(f"kept {target.name}: changed since it was written")
            continue
        nbformat.write(reading_copy(notebook), target)
        written[notebook.name] = _sha256(target)
    record.write_text(json.dumps(written, indent=1) + "\n")
    return report
