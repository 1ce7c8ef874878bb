"""The Korean edition of the website (publish/korean_edition.py, publish/site.py).

The site fixture builds both editions with -W. Here: a Korean page for every
English page, declared ``lang="ko"``, each with a switch to the same page in
the other language; Korean prose (every paragraph outside code and outputs has
Hangul), the theme's own words in Korean, the same glued numbers as the English
page, links to sections that land on the Korean headings, and a web font with
every Hangul character the site shows. The browser test
(test_website_in_browser.py) opens the Korean pages too.
"""

import re
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from myst_nb.core.variables import format_plain_text

from publish import korean_font
from publish.korean_edition import Catalog
from publish.provenance import BOOK, chapter_notebooks
from publish.reading_copies import glued_texts
from publish.translations import toc_pages

pytestmark = pytest.mark.book
PAGES = [page.relative_to(BOOK).with_suffix(".html") for page in toc_pages()]
HANGUL = re.compile("[\uac00-\ud7a3]")
GLUE_ROLE = re.compile(r"\{glue:text\}`([^`]+)`")
# Not prose: code, outputs, the bibliography's entries, generated tables.
NOT_PROSE = (
    "pre, .cell_output, .highlight, .citation, .bibliography, "
    "table.run-records, .language-switch, .footer, .bd-footer-article"
)


def soup(path: Path) -> BeautifulSoup:
    assert path.is_file(), f"{path} was not built"
    return BeautifulSoup(path.read_text(), "html.parser")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_each_page_has_its_korean_page_and_switches_to_it(site, page):
    english, korean = site / page, site / "ko" / page
    ko = soup(korean)
    assert ko.html["lang"] == "ko"
    assert soup(english).html["lang"] == "en"
    for here, there, language in ((english, korean, "ko"), (korean, english, "en")):
        link = soup(here).select_one(f"p.language-switch a[hreflang={language}]")
        assert link, f"{here.relative_to(site)} has no switch to {language}"
        target = (here.parent / link["href"]).resolve()
        assert target == there.resolve(), (
            f"{here.relative_to(site)} switches to {target}, not {there}"
        )


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_korean_prose_is_korean(site, page):
    """Every paragraph, list item, heading and definition with English words has
    Hangul too; in a table, every row does (a cell may hold a number, a name or
    the English term beside its Korean one)."""
    article = soup(site / "ko" / page).select_one("article")
    for skipped in article.select(NOT_PROSE):
        skipped.decompose()

    def words(node) -> bool:
        text = node.get_text()
        return bool(re.search(r"[A-Za-z]{3,}", text)) and not HANGUL.search(text)

    english = [
        node
        for node in article.select("p, li, h1, h2, h3, dd, caption")
        if not node.find(["p", "li"])  # the innermost block only
        and not node.find_parent("table")
        and words(node)
    ]
    english += [row for row in article.select("table tbody tr") if words(row)]
    shown = [" ".join(node.get_text().split())[:80] for node in english]
    assert not shown, f"ko/{page}: English without Hangul: {shown[:8]}"


def test_the_themes_words_are_korean(site):
    page = (
        site / "ko" / "chapters" / "02_fashion_mnist_dense_to_convnet.html"
    ).read_text()
    assert "검색" in page, "the search box is not in Korean"
    assert "이전" in page and "다음" in page, "the page's navigation is not in Korean"


@pytest.mark.parametrize("notebook", chapter_notebooks(), ids=lambda p: p.stem)
def test_the_korean_page_shows_the_same_glued_values(site, notebook):
    """Every {glue:text} role shows the English page's number, or the Korean
    phrase of the catalog where the English page shows a phrase."""
    html = site / "ko" / notebook.relative_to(BOOK).with_suffix(".html")
    text = " ".join(soup(html).get_text().split()).replace("'", "\u2019")
    assert "{glue" not in text
    roles = {
        role
        for cell in nbformat.read(notebook, as_version=4).cells
        if cell.cell_type == "markdown"
        for role in GLUE_ROLE.findall(cell.source)
    }
    for role in roles:
        source = notebook
        if "::" in role:
            other, role = role.split("::", 1)
            source = notebook.parent / other
        key, _, spec = role.partition(":")
        korean = Catalog(source).glued
        if key in korean:
            shown = korean[key]
        else:
            shown = format_plain_text(glued_texts(source)[key], spec)
        assert shown.replace("'", "\u2019") in text, (
            f"ko/{notebook.stem}: {key} should appear as {shown!r}"
        )


def test_links_to_sections_land_on_korean_headings(site):
    missing = []
    for page in PAGES:
        html = site / "ko" / page
        for link in soup(html).select("article a[href*='#']"):
            href = link["href"]
            if href.startswith(("http", "#", "mailto")):
                continue
            file, anchor = href.split("#", 1)
            target = (html.parent / file).resolve() if file else html
            if target.suffix == ".html" and target.is_file():
                if not soup(target).find(id=anchor):
                    missing.append(f"{page}: {href}")
    assert not missing, f"links to sections that do not exist: {missing[:10]}"


def test_the_web_font_covers_every_hangul_character_of_the_site(site):
    shown = korean_font.hangul_in_site(site)
    assert len(shown) > 500, "the Korean edition shows little Hangul"
    for name in korean_font.FACES:
        missing = shown - korean_font.glyphs_in(korean_font.FONTS / name)
        assert not missing, (
            f"{name} lacks {''.join(sorted(missing))[:200]}: run `make font`."
        )
