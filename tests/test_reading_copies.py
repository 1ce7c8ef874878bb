"""The chapters that `make lab` opens show numbers, citations and terms as the
website does, never a role or a key (publish/reading_copies.py writes them)."""

import re

import nbformat
import pytest

from publish import reading_copies
from publish.provenance import BOOK, chapter_notebooks

ROLE_LEFT = re.compile(r"\{(glue|cite|term|run-time|literalinclude)[^}]*\}")


@pytest.mark.parametrize("notebook", chapter_notebooks(), ids=lambda p: p.stem)
def test_a_reading_copy_has_no_role_left_and_the_same_code(notebook):
    source = nbformat.read(notebook, as_version=4)
    copy = reading_copies.reading_copy(notebook)
    assert len(copy.cells) == len(source.cells)
    for number, (ours, theirs) in enumerate(zip(copy.cells, source.cells, strict=True)):
        if ours.cell_type == "markdown":
            left = ROLE_LEFT.findall(ours.source)
            assert not left, f"{notebook.name}, cell {number}: {left} left"
        else:
            assert ours == theirs, f"{notebook.name}, cell {number} changed"


def test_glued_numbers_and_citations_read_as_on_the_website():
    chapter = BOOK / "chapters" / "02_fashion_mnist_dense_to_convnet.ipynb"
    first = reading_copies.reading_copy(chapter).cells[0].source
    accuracy = reading_copies.glued_texts(chapter)["fmnist_test_accuracy"]
    assert f"{float(accuracy):.3f} test accuracy" in first
    assert "Park (2020)" in first and "(Coding Apple, n.d.)" in first


def test_a_copy_the_learner_changed_is_kept(tmp_path):
    assert reading_copies.write_reading_copies(tmp_path) == []
    edited = tmp_path / chapter_notebooks()[0].name
    nb = nbformat.read(edited, as_version=4)
    nb.cells[0].source += "\n\nMy own note."
    nbformat.write(nb, edited)
    report = reading_copies.write_reading_copies(tmp_path)
    assert report == [f"kept {edited.name}: changed since it was written"]
    assert "My own note." in nbformat.read(edited, as_version=4).cells[0].source


def test_an_unknown_glue_key_is_named_in_one_sentence(tmp_path):
    chapter = tmp_path / "chapter.ipynb"
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("It scored {glue:text}`nowhere:.3f`.")]
    )
    nbformat.write(nb, chapter)
    with pytest.raises(reading_copies.ReadingCopyError) as error:
        reading_copies.reading_copy(chapter)
    assert str(error.value) == (
        "chapter.ipynb, Markdown cell 0: chapter.ipynb glues no value named nowhere"
    )
