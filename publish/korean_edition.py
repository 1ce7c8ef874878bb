"""The Korean edition's source tree, written from the English pages and the catalogs.

Sphinx's own translation path breaks on MyST-NB notebooks (MyST-NB issue 587:
the translated text is parsed again as notebook JSON), so the Korean edition is
built from a generated tree instead: :func:`write_tree` copies each page of
``_toc.yml`` into ``_build/ko/source/`` with every Markdown message replaced by
its translation from ``locales/ko/LC_MESSAGES/<page>.po``, the glued English
phrases replaced by theirs, and links to a section pointed at the Korean
heading's anchor. Code and outputs stay as they are, so the numbers of both
editions come from the same run. ``make book`` builds this tree into
``_build/html/ko/``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import polib
import yaml
from myst_parser.mdit_to_docutils.base import default_slugify

from publish.provenance import BOOK, RECORD_KEY, chapter_notebooks
from publish.translations import (
    GLUE_CONTEXT,
    LANGUAGE,
    blocks,
    catalog_path,
    toc_pages,
)

SOURCE = BOOK / "_build" / LANGUAGE / "source"
TITLE = "합성곱 신경망으로 배우는 이미지 분류"
AUTHOR = "cnnbook 저자들"
CAPTIONS = {"Chapters": "본문", "Appendix": "부록", "Reference": "참고 자료"}
# The footer's author line: the theme's Korean for "By {author}" puts "으로"
# before the name, so the Korean tree brings its own template.
AUTHOR_TEMPLATE = """{% if author %}
<p class="component-author">지은이: {{ author }}</p>
{% endif %}
"""
SHARED = ("_static", "_ext", "helpers", "chapters/references.bib")  # linked, not copied
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
SECTION_LINK = re.compile(r"\]\((?P<page>[^)#\s]*)#(?P<anchor>[^)\s]+)\)")


class Catalog:
    """A page's translations: {English block: Korean} and {glue key: Korean}."""

    def __init__(self, page: Path):
        self.page = page
        self.messages: dict[str, str] = {}
        self.glued: dict[str, str] = {}
        self.missing: list[str] = []
        path = catalog_path(page)
        if not path.exists():
            return
        for entry in polib.pofile(str(path)):
            if entry.obsolete or "fuzzy" in entry.flags or not entry.msgstr.strip():
                continue
            if entry.msgctxt and entry.msgctxt.startswith(GLUE_CONTEXT):
                self.glued[entry.msgctxt.removeprefix(GLUE_CONTEXT)] = entry.msgstr
            else:
                self.messages[entry.msgid] = entry.msgstr

    def markdown(self, source: str) -> str:
        """The Korean text of a Markdown cell or page; English where untranslated."""
        out = []
        for text, is_message in blocks(source):
            if is_message and text not in self.messages:
                self.missing.append(text)
            out.append(self.messages.get(text, text) if is_message else text)
        return "\n".join(out)


def heading_anchors(english: str, korean: str) -> dict[str, str]:
    """Return {English heading anchor: Korean heading anchor} of one page."""

    def anchors(text: str) -> list[str]:
        found = []
        for source in text:
            for line in source.split("\n"):
                match = HEADING.match(line)
                if match:
                    found.append(default_slugify(match.group(2)))
        return found

    return dict(zip(anchors(english), anchors(korean), strict=False))


def write_tree(folder: Path = SOURCE) -> list[str]:
    """Write the Korean source tree; return one line per page with English left."""
    pages = toc_pages()
    translated: dict[Path, tuple[list[str], list[str], Catalog]] = {}
    for page in pages:
        catalog = Catalog(page)
        if page.suffix == ".ipynb":
            notebook = nbformat.read(page, as_version=4)
            english = [c.source for c in notebook.cells if c.cell_type == "markdown"]
        else:
            english = [page.read_text()]
        korean = [catalog.markdown(source) for source in english]
        translated[page] = (english, korean, catalog)
    # Links to a section: the Korean heading's anchor, on any page.
    anchors = {
        page.name: heading_anchors(english, korean)
        for page, (english, korean, _) in translated.items()
    }

    def relink(text: str, page: Path) -> str:
        def one(match: re.Match) -> str:
            target = match["page"] or page.name
            anchor = anchors.get(Path(target).name, {}).get(match["anchor"])
            return f"]({match['page']}#{anchor or match['anchor']})"

        return SECTION_LINK.sub(one, text)

    if folder.exists():
        shutil.rmtree(folder)
    report = []
    for page, (_, korean, catalog) in translated.items():
        out = folder / page.relative_to(BOOK)
        out.parent.mkdir(parents=True, exist_ok=True)
        korean = [relink(text, page) for text in korean]
        if page.suffix == ".md":
            out.write_text(korean[0])
        else:
            notebook = nbformat.read(page, as_version=4)
            texts = iter(korean)
            for cell in notebook.cells:
                if cell.cell_type == "markdown":
                    cell.source = next(texts)
                for output in cell.get("outputs", []):
                    scrap = output.get("metadata", {}).get("scrapbook", {})
                    if scrap.get("name") in catalog.glued:
                        key = f"{scrap.get('mime_prefix', '')}text/plain"
                        output["data"][key] = repr(catalog.glued[scrap["name"]])
            notebook.metadata["cnnbook_language"] = LANGUAGE
            nbformat.write(notebook, out)
        if catalog.missing:
            report.append(
                f"{page.name}: {len(catalog.missing)} messages still in English "
                f"(translate them in {catalog_path(page).relative_to(BOOK)})"
            )
    for name in SHARED:
        link = folder / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(BOOK / name)
    write_config(folder)
    return report


def write_config(folder: Path) -> None:
    """The Korean ``_config.yml`` and ``_toc.yml``: the English ones, in Korean."""
    config = yaml.safe_load((BOOK / "_config.yml").read_text())
    config["title"] = TITLE
    config["author"] = AUTHOR
    config["repository"]["path_to_book"] = LANGUAGE
    sphinx = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx["language"] = LANGUAGE
    sphinx["cnnbook_language"] = LANGUAGE
    sphinx["templates_path"] = ["_templates"]
    (folder / "_templates").mkdir(parents=True, exist_ok=True)
    (folder / "_templates" / "author.html").write_text(AUTHOR_TEMPLATE)
    (folder / "_config.yml").write_text(yaml.safe_dump(config, allow_unicode=True))
    toc = yaml.safe_load((BOOK / "_toc.yml").read_text())
    for part in toc.get("parts", []):
        part["caption"] = CAPTIONS.get(part["caption"], part["caption"])
    (folder / "_toc.yml").write_text(yaml.safe_dump(toc, allow_unicode=True))


LAB = BOOK / "_build" / "lab" / LANGUAGE / "chapters"
NOTEBOOKS = BOOK / LANGUAGE / "chapters"  # the Korean notebooks Colab and Binder open


def korean_notebooks(tree: Path) -> list[Path]:
    """The chapters of a written Korean tree, in book order."""
    return [tree / page.relative_to(BOOK) for page in chapter_notebooks()]


def write_reading_copies(folder: Path = LAB) -> list[str]:
    """Write the Korean tree, then JupyterLab's reading copies of its chapters."""
    from publish import reading_copies

    report = write_tree(SOURCE)
    return report + reading_copies.write_reading_copies(
        folder, korean_notebooks(SOURCE)
    )


def korean_notebook(tree_notebook: Path) -> nbformat.NotebookNode:
    """A Korean chapter as the repository keeps it: prose written out, no outputs.

    Colab and Binder open these (the Korean pages' launch buttons point here);
    a learner runs them to see the outputs.
    """
    from publish.normalise import normalise
    from publish.reading_copies import reading_copy

    notebook = reading_copy(tree_notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    notebook.metadata.pop(RECORD_KEY, None)  # no outputs, so no run to record
    return normalise(notebook)


def write_notebooks(folder: Path = NOTEBOOKS, tree: Path | None = None) -> list[Path]:
    """Write the Korean notebooks of the repository into folder; return them."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        source = tree or Path(scratch) / "source"
        if tree is None:
            write_tree(source)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for notebook in korean_notebooks(source):
            target = folder / notebook.name
            nbformat.write(korean_notebook(notebook), target)
            written.append(target)
    return written
