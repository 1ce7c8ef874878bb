"""The website builds without warnings and shows every chapter with its figures."""

import re
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from myst_nb.core.variables import format_plain_text

from publish.provenance import BOOK, chapter_notebooks
from publish.reading_copies import glued_texts

pytestmark = pytest.mark.book


def page(site: Path, notebook: Path) -> BeautifulSoup:
    html = site / notebook.relative_to(BOOK).with_suffix(".html")
    assert html.is_file(), f"{html.name} was not built"
    return BeautifulSoup(html.read_text(), "html.parser")


def test_index_leads_to_the_intro(site):
    assert (site / "index.html").is_file()
    intro = BeautifulSoup((site / "chapters" / "intro.html").read_text(), "html.parser")
    assert (
        intro.find("h1")
        .get_text()
        .startswith("Image classification with convolutional networks")
    )
    assert "{glue" not in intro.get_text(), (
        "a chapter time on the intro page was not filled in"
    )
    for notebook in chapter_notebooks():
        assert intro.find("a", href=notebook.with_suffix(".html").name), (
            f"intro does not link {notebook.stem}"
        )


@pytest.mark.parametrize("notebook", chapter_notebooks(), ids=lambda p: p.stem)
def test_chapter_page_has_all_its_figures(site, notebook):
    soup = page(site, notebook)
    images = [img["src"] for img in soup.select("main img")]
    figures = sum(
        any(mime in output.get("data", {}) for mime in ("image/png", "image/jpeg"))
        for cell in nbformat.read(notebook, as_version=4).cells
        if "remove-cell" not in cell.metadata.get("tags", [])
        and "remove-output" not in cell.metadata.get("tags", [])
        for output in cell.get("outputs", [])
    )
    # the appendices show tables and logs only
    if notebook.name not in {
        "appendix_speed_on_a_cpu.ipynb",
        "appendix_training_past_one_machine.ipynb",
    }:
        assert figures, f"{notebook.stem} has no figure outputs: was it run?"
    assert len(images) >= figures, f"{len(images)} <img> for {figures} figures"
    html_dir = site / notebook.relative_to(BOOK).parent
    for src in images:
        if not src.startswith("data:"):
            assert (html_dir / src).resolve().is_file(), (
                f"{notebook.stem}: missing image {src}"
            )


GLUE_ROLE = re.compile(r"\{glue:text\}`([^`]+)`")


@pytest.mark.parametrize("notebook", chapter_notebooks(), ids=lambda p: p.stem)
def test_glued_numbers_appear_in_the_page(site, notebook):
    """Every {glue:text} role of the chapter shows its run's value.

    The value is formatted as the role asks.
    """
    text = " ".join(page(site, notebook).get_text().split())
    assert "{glue" not in text, "a glue role was not replaced by its value"
    roles = [
        role
        for cell in nbformat.read(notebook, as_version=4).cells
        if cell.cell_type == "markdown"
        for role in GLUE_ROLE.findall(cell.source)
    ]
    if notebook.name == "01_convolution_and_pooling_by_hand.ipynb":
        assert not roles  # it trains nothing: its only run-dependent text is its time
    else:
        assert roles, f"{notebook.name} quotes no glued value"
    for role in roles:
        source = notebook
        if "::" in role:  # a value glued by another chapter: path::key
            other, role = role.split("::", 1)
            source = notebook.parent / other
        glued = glued_texts(source)
        key, _, spec = role.partition(":")
        assert key in glued, (
            f"{notebook.name} quotes {key!r}, "
            f"which the run of {source.name} did not glue"
        )
        shown = format_plain_text(glued[key], spec)  # as myst-nb formats it
        # Sphinx prints apostrophes as typographic ones
        assert shown.replace("'", "\u2019") in text.replace("'", "\u2019"), (
            f"{key} should appear as {shown!r}"
        )


def test_chapter_2_shows_the_model_diagram(site):
    notebook = BOOK / "chapters" / "02_fashion_mnist_dense_to_convnet.ipynb"
    section = page(site, notebook).find("section", id="draw-the-model")
    assert section is not None, "no 'Draw the model' section"
    img = section.find("img")
    assert img is not None, "the plot_model diagram is missing (is Graphviz installed?)"
    diagram = (site / "chapters" / img["src"]).resolve()
    assert diagram.stat().st_size > 10_000


TABLE_ROW = re.compile(r"^\|(.+)\|$")
CROSS_GLUE = re.compile(r"\{glue:text\}`([^`:]+\.ipynb)::([^`:]+):([^`]*)`")


def expected_cell_text(markdown_cell: str) -> str:
    """The text a results-table cell must show: each cross-document glue role
    replaced by that notebook's glued value, formatted as myst-nb does."""

    def value(match):
        notebook, key, spec = match.groups()
        glued = glued_texts(BOOK / "chapters" / notebook)
        assert key in glued, f"{notebook} glued no {key!r}"
        return format_plain_text(glued[key], spec)

    text = CROSS_GLUE.sub(value, markdown_cell)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # [label](link) -> label
    return " ".join(text.replace("*", "").replace("'", "\u2019").split())


def test_results_page_numbers_equal_the_glued_values(site):
    """Row by row, the results table shows exactly the values the notebooks glued.

    The notebooks are the committed ones.
    """
    source = (BOOK / "chapters" / "results.md").read_text()
    rows = [
        TABLE_ROW.match(line.strip())[1]
        for line in source.splitlines()
        if TABLE_ROW.match(line.strip())
    ]
    rows = [
        row for row in rows[1:] if not set(row) <= set("|-: ")
    ]  # drop header and rule
    assert rows and all(CROSS_GLUE.search(row) for row in rows), (
        "every result row must be glued"
    )
    soup = BeautifulSoup(
        (site / "chapters" / "results.html").read_text(), "html.parser"
    )
    table = soup.select_one("section#headline-numbers table")
    shown = [
        [" ".join(td.get_text().split()) for td in tr.find_all("td")]
        for tr in table.select("tbody tr")
    ]
    assert len(shown) == len(rows)
    for row, cells in zip(rows, shown, strict=True):
        expected = [expected_cell_text(cell) for cell in row.split("|")]
        assert cells == expected


def test_results_page_lists_every_chapter_run_record(site):
    soup = BeautifulSoup(
        (site / "chapters" / "results.html").read_text(), "html.parser"
    )
    table = soup.select_one("table.run-records")
    assert table is not None, "the run-records table is missing"
    rows = table.select("tbody tr")
    assert len(rows) == len(chapter_notebooks())
    for notebook, row in zip(chapter_notebooks(), rows, strict=True):
        record = nbformat.read(notebook, as_version=4).metadata["cnnbook"]
        text = " ".join(row.get_text().split())
        assert row.find("a")["href"].endswith(notebook.with_suffix(".html").name)
        assert (
            record["started_utc"][:10] in text and record["versions"]["keras"] in text
        )
        assert (
            f"{record['run_seconds'] / 60:.1f}" in text and record["git_commit"] in text
        )


@pytest.mark.parametrize("notebook", chapter_notebooks(), ids=lambda p: p.stem)
def test_intro_and_chapter_page_give_the_run_time_of_the_record(site, notebook):
    # One source for a run's time: the provenance record, as on the results page.
    record = nbformat.read(notebook, as_version=4).metadata["cnnbook"]
    minutes = f"{record['run_seconds'] / 60:.1f} minutes on"
    intro = (site / "chapters" / "intro.html").read_text()
    times = BeautifulSoup(intro, "html.parser").select("span.run-time")
    row = [t for t in times if t.find_parent("tr").find("a", href=re.compile(
        re.escape(notebook.with_suffix(".html").name)))]  # fmt: skip
    assert row and row[0].get_text().startswith(minutes), (
        f"the intro's time for {notebook.name} is not its record's ({minutes})"
    )
    shown = page(site, notebook).select_one("span.run-time")
    assert shown is not None and shown.get_text().startswith(minutes), (
        f"{notebook.name}'s 'Time to run' is not its record's ({minutes})"
    )


def test_no_page_links_to_a_bare_hash_or_a_made_up_address(site):
    # "tf.data" once became a link to http://tf.data; the theme's links to the
    # current page were a bare "#"; citations had a deprecated ARIA role.
    for html in site.rglob("*.html"):
        soup = BeautifulSoup(html.read_text(), "html.parser")
        bad = [a["href"] for a in soup.find_all("a", href=True)
               if a["href"] == "#" or a["href"].startswith("http://tf.")]  # fmt: skip
        assert not bad, f"{html.relative_to(site)} links to {bad}"
        assert not soup.find(attrs={"role": "doc-biblioentry"}), html.name


def test_references_page_labels_are_readable(site):
    text = (site / "chapters" / "references.html").read_text()
    labels = re.findall(r'class="fn-bracket">\[</span>([^<]*)<', text)
    assert labels, "no citation labels on the references page"
    for label in labels:
        assert re.fullmatch(r"[A-Za-z+]+(\d{2}[a-z]?)?", label), label
        assert "Dollar" not in label and "kadry" not in label, label
