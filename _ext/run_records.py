"""Sphinx extension: the ``run-records`` directive and the ``run-time`` role.

``run-records`` (on the results page)
renders, as a table, the provenance record that ``make full`` writes into
each chapter notebook's metadata (see publish/provenance.py):
when each run started, how long it took, on what hardware, with which
library versions and pretrained weights, from which commit. The table is
read from the committed notebooks at build time, so it cannot drift from them.

``{run-time}`04_mnist_with_and_without_pooling.ipynb``` writes how long that
chapter's committed run took and on what, from the same record ("12.8 minutes
on 2 CPU cores, no GPU"): the intro's table and each chapter's "Time to run"
use it, so every page gives the time the results page gives.
"""

from __future__ import annotations

import json
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.util.docutils import SphinxDirective, SphinxRole

from publish.provenance import RECORD_KEY, describe_run_time

HEADERS = {
    "en": (
        "chapter",
        "run started (UTC)",
        "minutes",
        "hardware",
        "TensorFlow / Keras",
        "pretrained weights",
        "commit",
    ),
    "ko": (
        "장",
        "실행 시작 (UTC)",
        "분",
        "하드웨어",
        "TensorFlow / Keras",
        "사전 훈련된 가중치",
        "커밋",
    ),
}
# The table's words in the Korean edition (cnnbook_language = "ko").
KOREAN = {"none": "없음", "profile": "프로필", "except": "다음 설정만 바꿈:"}


def describe_hardware(hardware: dict, language: str = "en") -> str:
    """'2 CPU cores (AMD EPYC), 23.5 GiB, no GPU' from a record's hardware entry."""
    gpu = hardware.get("gpu", "none")
    if language == "ko":
        return (
            f"CPU 코어 {hardware.get('cores')}개 ({hardware.get('cpu', '?')}), "
            f"{hardware.get('memory_gib')} GiB, "
            + ("GPU 없음" if gpu == "none" else f"GPU: {gpu}")
        )
    return (
        f"{hardware.get('cores')} CPU cores ({hardware.get('cpu', '?')}), "
        f"{hardware.get('memory_gib')} GiB, "
        + ("no GPU" if gpu == "none" else f"GPU: {gpu}")
    )


def read_record(path: Path) -> dict | None:
    """Return the provenance record stored in a notebook, or None."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return notebook.get("metadata", {}).get(RECORD_KEY)


class RunTime(SphinxRole):
    """``{run-time}`NAME.ipynb```: the run time of a chapter's committed run."""

    def run(self):
        path = Path(self.env.srcdir) / "chapters" / self.text
        if not path.is_file():
            msg = self.inliner.reporter.error(
                f"run-time: no notebook chapters/{self.text}", line=self.lineno
            )
            return [], [msg]
        self.env.note_dependency(str(path))
        record = read_record(path)
        if record is None:
            msg = self.inliner.reporter.error(
                f"{path.name} has no provenance record: "
                f"run `make full NB=chapters/{path.name}`.",
                line=self.lineno,
            )
            return [], [msg]
        text = describe_run_time(record, self.config.cnnbook_language)
        return [nodes.inline(text=text, classes=["run-time"])], []


class RunRecords(SphinxDirective):
    """``{run-records}``: one row per chapter notebook.

    The numbered chapters (chapters/NN_*.ipynb) come first, then the appendix.
    """

    def run(self):
        chapters = Path(self.env.srcdir) / "chapters"
        language = self.config.cnnbook_language
        headers = HEADERS[language]
        table = nodes.table(classes=["run-records"])
        group = nodes.tgroup(cols=len(headers))
        table += group
        group += [nodes.colspec(colwidth=1) for _ in headers]
        head, body = nodes.thead(), nodes.tbody()
        group += [head, body]
        head += self.row([nodes.Text(h) for h in headers])
        # Numbered chapters first (01_...), then the appendices (appendix_...).
        appendices = 0
        for path in sorted(
            chapters.glob("*.ipynb"), key=lambda p: (not p.name[:2].isdigit(), p.name)
        ):
            if f"chapters/{path.stem}" not in self.env.found_docs:
                continue  # a chapter not yet in _toc.yml is not part of the book
            self.env.note_dependency(str(path))
            record = read_record(path)
            if record is None:
                raise self.error(
                    f"{path.name} has no provenance record: "
                    f"run `make full NB=chapters/{path.name}`."
                )
            link = addnodes.pending_xref(
                "",
                refdomain="std",
                reftype="doc",
                refexplicit=True,
                reftarget=f"/chapters/{path.stem}",
            )
            if path.name[:2].isdigit():
                label = path.name[:2].lstrip("0")
            else:  # the appendices, lettered in order: A, B, ...
                label = chr(ord("A") + appendices)
                appendices += 1
            link += nodes.inline(text=label)
            versions = record.get("versions", {})
            tensorflow = (
                versions.get("tensorflow") or versions.get("tensorflow-cpu") or "?"
            )
            weights = (
                record.get("pretrained_weights")
                or record.get("parameters", {}).get("WEIGHTS")
                or "none"
            )
            words = KOREAN if language == "ko" else {w: w for w in KOREAN}
            weights = words["none"] if weights == "none" else weights
            changed = record.get("overrides") or {}
            profile = f"{record['profile']} {words['profile']}" + (
                f", {words['except']} "
                + ", ".join(f"{k} = {v!r}" for k, v in changed.items())
                if changed
                else ""
            )
            cells = [
                link,
                nodes.Text(
                    f"{record['started_utc'][:16].replace('T', ' ')}, {profile}"
                ),
                nodes.Text(f"{record['run_seconds'] / 60:.1f}"),
                nodes.Text(describe_hardware(record.get("hardware", {}), language)),
                nodes.Text(f"{tensorflow} / {versions.get('keras', '?')}"),
                nodes.Text(str(weights)),
                nodes.literal(text=str(record.get("git_commit", "?"))),
            ]
            body += self.row(cells)
        return [table]

    @staticmethod
    def row(contents) -> nodes.row:
        row = nodes.row()
        for content in contents:
            entry = nodes.entry()
            entry += nodes.paragraph("", "", content)
            row += entry
        return row


def setup(app):
    app.add_directive("run-records", RunRecords)
    app.add_role("run-time", RunTime())
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
