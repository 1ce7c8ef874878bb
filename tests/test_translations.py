"""The Korean edition's catalogs (publish/translations.py) against the English pages.

Every message of every page is translated, not fuzzy and not obsolete; each
translation keeps its message's markup (roles and their targets, glue keys,
math, code, links, directive fences, labels) and shows each glossary term it
links in the glossary's Korean form. A changed English sentence fails here,
naming its page, until it is translated again. The Korean notebooks that
Colab opens (ko/chapters) are those the catalogs make.
"""

import json
import re

import nbformat
import pytest

from publish import translations
from publish.korean_edition import NOTEBOOKS, write_notebooks
from publish.provenance import chapter_notebooks
from publish.translations import (
    blocks,
    markup_problems,
    page_problems,
    term_problems,
    toc_pages,
)

PAGES = toc_pages()
ROLE_LEFT = re.compile(r"\{(glue|cite|term|run-time|literalinclude)[^}]*\}")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_page_is_translated_in_its_catalog(page):
    problems = page_problems(page)
    assert not problems, (
        f"{page.name}: {len(problems)} Korean messages to fix "
        "(run `make translations`, then translate them in "
        f"locales/ko/LC_MESSAGES/{page.stem}.po):\n" + "\n".join(problems[:20])
    )


def test_a_changed_english_sentence_is_named_with_its_page(monkeypatch):
    page = next(p for p in PAGES if p.suffix == ".ipynb")
    before = set(page_problems(page))
    real = translations.markdown_sources

    def changed(path):
        sources = real(path)
        return [sources[0].replace("\n\n", "\n\nIn short, ", 1)] + sources[1:]

    monkeypatch.setattr(translations, "markdown_sources", changed)
    new = set(page_problems(page)) - before
    assert new and all("not translated (new or changed English)" in p for p in new)


def test_blocks_join_back_into_every_page():
    for page in PAGES:
        for source in translations.markdown_sources(page):
            assert "\n".join(text for text, _ in blocks(source)) == source


def test_a_fenced_code_block_is_one_block_and_no_message():
    source = "Some words.\n\n```python\nx = 1\n\ny = 2\n```\n\n```{note}\nA note.\n```"
    found = [(text, message) for text, message in blocks(source) if text.strip()]
    assert found == [
        ("Some words.", True),
        ("```python\nx = 1\n\ny = 2\n```", False),
        ("```{note}\nA note.\n```", True),
    ]


def test_the_markup_check_names_what_a_translation_lost():
    english = "See {term}`padding` and {glue:text}`acc:.3f` in `fit` [here](a.md#b)."
    good = "{term}`패딩 <padding>`과 `fit`의 {glue:text}`acc:.3f`를 [여기](a.md#b)에서."
    assert markup_problems(english, good) == []
    bad = "{term}`padding`과 fit의 정확도를 [여기](a.md)에서 봅니다."
    lost = " ".join(markup_problems(english, bad))
    assert "acc:.3f" in lost and "`fit`" in lost and "a.md#b" in lost
    terms = translations.glossary_terms()
    assert term_problems(english, good, terms) == []
    assert term_problems(english, bad, terms) == [
        "the term 'padding' is not shown as '패딩'"
    ]


def test_the_korean_notebooks_are_those_the_catalogs_make(tmp_path):
    written = write_notebooks(tmp_path / "chapters")
    assert [p.name for p in written] == [p.name for p in chapter_notebooks()]
    for path in written:
        committed = NOTEBOOKS / path.name
        assert committed.is_file(), (
            f"ko/chapters lacks {path.name}: run `make translations`"
        )
        fresh = nbformat.read(path, as_version=4)
        assert json.dumps(fresh, sort_keys=True) == json.dumps(
            nbformat.read(committed, as_version=4), sort_keys=True
        ), f"ko/chapters/{path.name} is out of date: run `make translations`"
        assert not any(c.get("outputs") for c in fresh.cells if c.cell_type == "code")


@pytest.mark.parametrize("notebook", chapter_notebooks(), ids=lambda p: p.stem)
def test_a_korean_notebook_reads_as_written_out_prose_with_the_same_code(notebook):
    """The Korean notebooks (ko/chapters, and so `make lab EDITION=ko`'s copies,
    made the same way) show no role, glue key or citation key, and run the
    English chapter's code."""
    korean = nbformat.read(NOTEBOOKS / notebook.name, as_version=4)
    english = nbformat.read(notebook, as_version=4)
    assert len(korean.cells) == len(english.cells)
    for number, (ours, theirs) in enumerate(
        zip(korean.cells, english.cells, strict=True)
    ):
        if ours.cell_type == "markdown":
            left = ROLE_LEFT.findall(ours.source)
            assert not left, f"ko/chapters/{notebook.name}, cell {number}: {left}"
        else:
            assert ours.source == theirs.source, f"cell {number}'s code differs"
