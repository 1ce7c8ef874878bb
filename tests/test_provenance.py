"""The website never shows outputs that the current code did not produce."""

import ast
import shutil

import nbformat
import papermill
import pytest

import notebook_runs
from notebook_runs import BOOK, RECORD_KEY, chapter_notebooks, code_hash, provenance_problems


@pytest.mark.parametrize("notebook", chapter_notebooks(), ids=lambda p: p.stem)
def test_committed_outputs_come_from_a_full_run_of_this_code(notebook):
    problems = provenance_problems(notebook)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("notebook", chapter_notebooks(), ids=lambda p: p.stem)
def test_record_says_how_the_outputs_were_made(notebook):
    record = nbformat.read(notebook, as_version=4).metadata[RECORD_KEY]
    for key in ("parameters", "versions", "hardware", "started_utc", "run_seconds", "helpers_sha256"):
        assert record.get(key), f"{notebook.name}: provenance record lacks {key}"
    assert "keras" in record["versions"] and "cpu" in record["hardware"]


@pytest.fixture
def chapter_copy(tmp_path, monkeypatch):
    """A copy of chapter 1 inside a scratch book folder (the check reads paths relative to it)."""
    source = chapter_notebooks()[0]
    (tmp_path / "chapters").mkdir()
    copy = tmp_path / "chapters" / source.name
    shutil.copy(source, copy)
    monkeypatch.setattr(notebook_runs, "BOOK", tmp_path)
    return copy


def test_editing_a_code_cell_makes_the_notebook_stale(chapter_copy):
    nb = nbformat.read(chapter_copy, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", []))
    cell.source = cell.source.replace("EPOCHS = 20", "EPOCHS = 21")
    nbformat.write(nb, chapter_copy)
    problems = provenance_problems(chapter_copy)
    assert any(f"chapters/{chapter_copy.name} is stale: its code cells changed" in p for p in problems), problems
    assert all(f"make full NB=chapters/{chapter_copy.name}" in p for p in problems)


def test_changing_a_helper_it_uses_makes_the_notebook_stale(chapter_copy, monkeypatch):
    definitions = notebook_runs.helper_definitions()
    changed = dict(definitions, plot_history=definitions["plot_history"] + "\n# edited")
    monkeypatch.setattr(notebook_runs, "helper_definitions", lambda: changed)
    problems = provenance_problems(chapter_copy)
    assert any("helpers it uses changed" in p and "plot_history" in p for p in problems), problems


def test_changing_a_helper_it_does_not_use_keeps_it_fresh(chapter_copy, monkeypatch):
    definitions = notebook_runs.helper_definitions()
    changed = dict(definitions, load_mnist=definitions["load_mnist"] + "\n# edited")
    monkeypatch.setattr(notebook_runs, "helper_definitions", lambda: changed)
    assert provenance_problems(chapter_copy) == []


def test_helper_dependencies_are_followed():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("from helpers import load_mnist\nload_mnist()")])
    used = notebook_runs.helpers_used(nb)
    assert {"load_mnist", "local_data_dir", "verified_local_file", "sha256_of", "KNOWN_SHA256"} <= set(used)
    assert "plot_history" not in used


def test_injected_smoke_parameters_do_not_change_the_code_hash(tmp_path):
    source = chapter_notebooks()[0]
    prepared = tmp_path / "prepared.ipynb"
    papermill.execute_notebook(str(source), str(prepared), parameters={"EPOCHS": 1}, prepare_only=True)
    assert code_hash(nbformat.read(prepared, as_version=4)) == code_hash(nbformat.read(source, as_version=4))


def test_a_notebook_without_a_record_is_reported(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    path = tmp_path / "new.ipynb"
    nbformat.write(nb, path)
    assert "has no provenance record" in provenance_problems(path)[0]


def test_check_command_passes_on_the_committed_book():
    assert notebook_runs.main(["check"]) == 0
    assert BOOK.joinpath("_toc.yml").is_file()


@pytest.mark.parametrize("notebook", chapter_notebooks(), ids=lambda p: p.stem)
def test_first_code_cell_installs_helpers_from_the_configured_repository(notebook):
    """Opened in Colab or Binder, the first code cell makes `helpers` importable."""
    cells = [c for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"]
    assert cells[0].source == notebook_runs.launch_cell_source()
    assert f"git+{notebook_runs.repository_url()}" in cells[0].source


def test_only_the_exact_launch_cell_is_left_out_of_the_code_hash():
    nb = nbformat.read(chapter_notebooks()[0], as_version=4)
    launch = next(c for c in nb.cells if c.cell_type == "code")
    before = code_hash(nb)
    launch.source = launch.source.replace("import helpers", "import helpers; print('hi')", 1)
    assert code_hash(nb) != before, "a changed launch cell must count as changed code"


def test_full_run_settings_must_be_parameters_of_the_notebook():
    chapter = chapter_notebooks()[0]
    assert notebook_runs.parse_overrides(["EPOCHS=3", "TRAIN_SIZE = None"], chapter) == {"EPOCHS": 3, "TRAIN_SIZE": None}
    # papermill would inject a tuple as a string, so tuples become lists
    assert notebook_runs.parse_overrides(['EPOCHS=(1, 2)'], chapter) == {"EPOCHS": [1, 2]}
    with pytest.raises(SystemExit, match="NAME one of the parameters of .*EPOCHS"):
        notebook_runs.parse_overrides(["EPOCHZ=3"], chapter)
    with pytest.raises(SystemExit, match="must be a Python literal"):
        notebook_runs.parse_overrides(["EPOCHS=three"], chapter)


@pytest.mark.parametrize("notebook", chapter_notebooks(), ids=lambda p: p.stem)
def test_changed_settings_are_shown_on_the_page(notebook):
    """A full run that changed settings shows them in papermill's injected cell."""
    nb = nbformat.read(notebook, as_version=4)
    overrides = nb.metadata[RECORD_KEY].get("overrides", {})
    injected = [c.source for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == (1 if overrides else 0), f"{notebook.name}: injected cells {injected}"
    shown = {node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse(injected[0] if injected else "").body}
    assert shown == overrides, f"{notebook.name}: the page shows {shown}, the record says {overrides}"
    for name, value in overrides.items():
        assert nb.metadata[RECORD_KEY]["parameters"][name] == value


def test_a_notebooks_own_function_is_not_the_helper_of_the_same_name():
    # Chapter 4 defines dogs_vs_cats_convnet itself; helpers.speed has its own copy for timing.
    own = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "def dogs_vs_cats_convnet():\n    return None\n\nmodel = dogs_vs_cats_convnet()")])
    assert "dogs_vs_cats_convnet" not in notebook_runs.helpers_used(own)
    borrowed = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from helpers.speed import dogs_vs_cats_convnet\nmodel = dogs_vs_cats_convnet()")])
    assert "dogs_vs_cats_convnet" in notebook_runs.helpers_used(borrowed)
