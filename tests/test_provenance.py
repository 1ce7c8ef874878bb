"""The website never shows outputs that the current code did not produce, and the
publishing tool (publish/) refuses bad settings before it touches anything."""

import ast
import copy
import json
import os
import shutil
import subprocess
import sys
import textwrap

import nbformat
import papermill
import pytest

from helpers.glued import glued_value
from publish import __main__ as cli
from publish import provenance, runs
from publish.normalise import normalise
from publish.provenance import (
    BOOK,
    RECORD_KEY,
    chapter_notebooks,
    code_hash,
    provenance_problems,
)

# The chapter the tests below copy, edit and re-run: its parameters (EPOCHS,
# TRAIN_SIZE), glued values (fmnist_test_accuracy) and helpers (plot_history)
# are the ones they name.
FASHION_MNIST_CHAPTER = BOOK / "chapters" / "02_fashion_mnist_dense_to_convnet.ipynb"


@pytest.mark.parametrize("notebook", chapter_notebooks(), ids=lambda p: p.stem)
def test_committed_outputs_come_from_a_full_run_of_this_code(notebook):
    problems = provenance_problems(notebook)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("notebook", chapter_notebooks(), ids=lambda p: p.stem)
def test_record_says_how_the_outputs_were_made(notebook):
    record = nbformat.read(notebook, as_version=4).metadata[RECORD_KEY]
    for key in (
        "parameters",
        "versions",
        "hardware",
        "started_utc",
        "run_seconds",
        "helpers_sha256",
        "outputs_sha256",
        "pretrained_weights",
    ):
        assert record.get(key), f"{notebook.name}: provenance record lacks {key}"
    assert "keras" in record["versions"] and "cpu" in record["hardware"]


@pytest.mark.parametrize("notebook", chapter_notebooks(), ids=lambda p: p.stem)
def test_committed_notebook_holds_no_path_of_the_machine_that_ran_it(notebook):
    text = notebook.read_text()
    for marker in (
        '"input_path"',
        '"output_path"',
        str(BOOK),
        "/site-packages/",
        "/home/",
        "/root/",
    ):
        assert marker not in text, f"{notebook.name} contains {marker!r}"


@pytest.fixture
def chapter_copy(tmp_path, monkeypatch):
    """A copy of chapter 2 (Fashion-MNIST) inside a scratch book folder.

    The check reads paths relative to that folder.
    """
    source = FASHION_MNIST_CHAPTER
    (tmp_path / "chapters").mkdir()
    copy = tmp_path / "chapters" / source.name
    shutil.copy(source, copy)
    monkeypatch.setattr(provenance, "BOOK", tmp_path)
    return copy


def test_editing_a_code_cell_makes_the_notebook_stale(chapter_copy):
    nb = nbformat.read(chapter_copy, as_version=4)
    cell = next(
        c
        for c in nb.cells
        if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])
    )
    cell.source = cell.source.replace("EPOCHS = 20", "EPOCHS = 21")
    nbformat.write(nb, chapter_copy)
    problems = provenance_problems(chapter_copy)
    assert any(
        f"chapters/{chapter_copy.name} is stale: its code cells changed" in p
        for p in problems
    ), problems
    assert all(f"make full NB=chapters/{chapter_copy.name}" in p for p in problems)


def test_editing_one_digit_of_an_output_makes_the_notebook_stale(chapter_copy):
    nb = nbformat.read(chapter_copy, as_version=4)
    glued = next(
        o
        for c in nb.cells
        for o in c.get("outputs", [])
        if o.get("metadata", {}).get("scrapbook", {}).get("name")
        == "fmnist_test_accuracy"
    )
    key = "application/papermill.record/text/plain"
    value = glued["data"][key]
    glued["data"][key] = (
        value[:3] + str((int(value[3]) + 1) % 10) + value[4:]
    )  # 0.9131 -> 0.9231
    nbformat.write(nb, chapter_copy)
    problems = provenance_problems(chapter_copy)
    assert any(
        "has outputs that its full run" in p and chapter_copy.name in p
        for p in problems
    ), problems


def helpers_folder_copy(tmp_path, monkeypatch):
    folder = tmp_path / "helpers"
    shutil.copytree(
        BOOK / "helpers", folder, ignore=shutil.ignore_patterns("__pycache__")
    )
    monkeypatch.setattr(provenance, "HELPERS", folder)
    return folder


def edit(path, old, new):
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_changing_what_a_used_helper_does_makes_the_notebook_stale(
    chapter_copy, tmp_path, monkeypatch
):
    plots = helpers_folder_copy(tmp_path, monkeypatch) / "plots.py"
    edit(plots, "ax.grid(alpha=0.3)", "ax.grid(alpha=0.4)")
    problems = provenance_problems(chapter_copy)
    assert any(
        "helpers it uses changed" in p and "plot_history" in p for p in problems
    ), problems


def test_a_decorator_module_code_or_getattr_counts_too(
    chapter_copy, tmp_path, monkeypatch
):
    folder = helpers_folder_copy(tmp_path, monkeypatch)
    edit(folder / "plots.py", "def plot_history(", "@staticmethod\ndef plot_history(")
    assert any("plot_history" in p for p in provenance_problems(chapter_copy))
    shutil.rmtree(folder)
    folder = helpers_folder_copy(tmp_path, monkeypatch)
    (folder / "plots.py").write_text(
        (folder / "plots.py").read_text() + "\nplt.rcParams['font.size'] = 6\n"
    )
    assert any("plots.py (module code)" in p for p in provenance_problems(chapter_copy))
    shutil.rmtree(folder)
    folder = helpers_folder_copy(tmp_path, monkeypatch)
    edit(
        folder / "__init__.py",
        "def __getattr__(name):",
        "def __getattr__(name):\n    print(name)",
    )
    assert any(
        "__init__.py (module code)" in p for p in provenance_problems(chapter_copy)
    )


def test_comments_docstrings_and_layout_of_helpers_do_not_count(
    chapter_copy, tmp_path, monkeypatch
):
    plots = helpers_folder_copy(tmp_path, monkeypatch) / "plots.py"
    edit(
        plots,
        '    """Return training and validation curves, one panel per metric.',
        '    """Return the training and validation curves: one panel per metric.',
    )
    edit(
        plots,
        "ax.grid(alpha=0.3)",
        "ax.grid(\n            alpha=0.3,  # light\n        )",
    )
    assert provenance_problems(chapter_copy) == []


def test_changing_a_helper_it_does_not_use_keeps_it_fresh(
    chapter_copy, tmp_path, monkeypatch
):
    data = helpers_folder_copy(tmp_path, monkeypatch) / "data.py"
    edit(
        data,
        'path = verified_local_file(folder, "mnist/mnist.npz")',
        'path = verified_local_file(folder, "mnist/mnist.npz")\n    print(path)',
    )
    assert provenance_problems(chapter_copy) == []


def test_helper_dependencies_are_followed():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("from helpers import load_mnist\nload_mnist()")
        ]
    )
    used = provenance.helpers_used(nb)
    assert {
        "load_mnist",
        "local_data_dir",
        "verified_local_file",
        "sha256_of",
        "KNOWN_SHA256",
    } <= set(used)
    assert {"data.py (module code)", "__init__.py (module code)"} <= set(used)
    assert "plot_history" not in used


def test_injected_smoke_parameters_do_not_change_the_code_hash(tmp_path):
    source = FASHION_MNIST_CHAPTER
    prepared = tmp_path / "prepared.ipynb"
    papermill.execute_notebook(
        str(source), str(prepared), parameters={"EPOCHS": 1}, prepare_only=True
    )
    assert code_hash(nbformat.read(prepared, as_version=4)) == code_hash(
        nbformat.read(source, as_version=4)
    )


def test_a_notebook_without_a_record_is_reported(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    path = tmp_path / "new.ipynb"
    nbformat.write(nb, path)
    assert "has no provenance record" in provenance_problems(path)[0]


def test_check_command_passes_on_the_committed_book(capsys):
    assert cli.main(["check"]) == 0


@pytest.mark.parametrize("notebook", chapter_notebooks(), ids=lambda p: p.stem)
def test_first_code_cell_installs_helpers_from_the_configured_repository(notebook):
    """Opened in Colab or Binder, the first code cell makes `helpers` importable."""
    cells = [
        c for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"
    ]
    assert cells[0].source == provenance.launch_cell_source()
    assert f"git+{provenance.repository_url()}" in cells[0].source


def test_only_the_exact_launch_cell_is_left_out_of_the_code_hash():
    nb = nbformat.read(chapter_notebooks()[0], as_version=4)
    launch = next(c for c in nb.cells if c.cell_type == "code")
    before = code_hash(nb)
    launch.source += "\nprint('hi')"
    assert code_hash(nb) != before, "a changed launch cell must count as changed code"


def test_full_run_settings_must_be_parameters_of_the_notebook():
    chapter = FASHION_MNIST_CHAPTER
    assert runs.parse_overrides(["EPOCHS=3", "TRAIN_SIZE = None"], chapter) == {
        "EPOCHS": 3,
        "TRAIN_SIZE": None,
    }
    # papermill would inject a tuple as a string, so tuples become lists
    assert runs.parse_overrides(["EPOCHS=(1, 2)"], chapter) == {"EPOCHS": [1, 2]}
    with pytest.raises(runs.RunError, match="NAME one of the parameters of .*EPOCHS"):
        runs.parse_overrides(["EPOCHZ=3"], chapter)
    with pytest.raises(runs.RunError, match="must be a Python literal"):
        runs.parse_overrides(["EPOCHS=three"], chapter)


def test_a_setting_one_notebook_lacks_stops_a_run_of_all_before_anything_runs(
    monkeypatch, capsys
):
    started = []
    monkeypatch.setattr(runs, "run_full", lambda path, overrides: started.append(path))
    monkeypatch.setattr(cli, "run_full", lambda path, overrides: started.append(path))
    assert cli.main(["full", "all", "--set", "DENSE_EPOCHS=1"]) == 1
    assert started == []
    message = capsys.readouterr().err.strip()
    assert "\n" not in message and "DENSE_EPOCHS" in message


def test_set_without_a_value_is_an_error(capsys):
    assert (
        cli.main(["full", "chapters/02_fashion_mnist_dense_to_convnet.ipynb", "--set"])
        == 1
    )
    assert "--set needs NAME=VALUE" in capsys.readouterr().err


def test_settings_keep_their_spaces_and_quotes():
    assert runs.split_settings(['A=1 B="x y" C=\'{"k": [1, 2]}\'']) == [
        "A=1",
        "B=x y",
        'C={"k": [1, 2]}',
    ]
    assert runs.split_settings([""]) == []
    with pytest.raises(runs.RunError, match="check the quotes"):
        runs.split_settings(['A="unclosed'])


def test_make_full_passes_settings_with_spaces_and_quotes_intact(tmp_path):
    """`make full SET=...` reaches the tool as one string.

    Make does not split it on spaces.
    """
    makefile = tmp_path / "Makefile"
    makefile.write_text(
        textwrap.dedent("""\
        export SET
        show:
        \t@python3 -c 'import sys; print(sys.argv[1:])' --set="$$SET"
        """)
    )
    result = subprocess.run(
        ["make", "-s", "-f", str(makefile), "show", 'SET=A=1 B="x y"'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert ast.literal_eval(result.stdout.strip()) == ['--set=A=1 B="x y"']
    assert (
        "export SET" in (BOOK / "Makefile").read_text()
        and '--set="$$SET"' in (BOOK / "Makefile").read_text()
    )


def test_a_second_run_into_the_same_output_folder_is_refused(tmp_path):
    with runs.lock(tmp_path):
        holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            (tmp_path / ".run-lock").write_text(
                str(holder.pid)
            )  # as if another live run held it
            with pytest.raises(runs.RunError, match="Another run .* is writing into"):
                with runs.lock(tmp_path):
                    pass
        finally:
            holder.kill()
            holder.wait()
    with runs.lock(tmp_path):  # the holder is gone: its lock is stale and taken over
        assert (tmp_path / ".run-lock").read_text() == str(os.getpid())
    assert not (tmp_path / ".run-lock").exists()


def test_an_interrupted_full_run_leaves_the_committed_notebook_unchanged(
    chapter_copy, monkeypatch
):
    before = chapter_copy.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runs, "BOOK", chapter_copy.parents[1])
    monkeypatch.setattr(runs, "execute", interrupted)
    with pytest.raises(
        runs.RunError, match="was interrupted; the committed notebook is unchanged"
    ):
        runs.run_full(
            chapter_copy, {"OUTPUT_DIR": str(chapter_copy.parents[1] / "out")}
        )
    assert chapter_copy.read_bytes() == before
    assert not (chapter_copy.parents[1] / "out" / ".run-lock").exists()


@pytest.mark.parametrize("notebook", chapter_notebooks(), ids=lambda p: p.stem)
def test_changed_settings_are_shown_on_the_page(notebook):
    """A full run that changed settings shows them in papermill's injected cell."""
    nb = nbformat.read(notebook, as_version=4)
    overrides = nb.metadata[RECORD_KEY].get("overrides", {})
    injected = [
        c.source
        for c in nb.cells
        if "injected-parameters" in c.metadata.get("tags", [])
    ]
    assert len(injected) == (1 if overrides else 0), (
        f"{notebook.name}: injected cells {injected}"
    )
    shown = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in ast.parse(injected[0] if injected else "").body
    }
    assert shown == overrides, (
        f"{notebook.name}: the page shows {shown}, the record says {overrides}"
    )
    for name, value in overrides.items():
        assert nb.metadata[RECORD_KEY]["parameters"][name] == value


def test_a_notebooks_own_function_is_not_the_helper_of_the_same_name():
    # A notebook may define a function named like a helper; only an import
    # makes it the helper.
    own = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "def dogs_vs_cats_convnet():\n    return None\n\n"
                "model = dogs_vs_cats_convnet()"
            )
        ]
    )
    assert "dogs_vs_cats_convnet" not in provenance.helpers_used(own)
    borrowed = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "from helpers.models import dogs_vs_cats_convnet\n"
                "model = dogs_vs_cats_convnet()"
            )
        ]
    )
    assert "dogs_vs_cats_convnet" in provenance.helpers_used(borrowed)


def test_record_names_the_pretrained_weights_the_notebook_glued():
    """run_full copies a notebook's glued `pretrained_weights` into its record.

    The results page shows it.
    """
    glued = nbformat.v4.new_code_cell("glue('pretrained_weights', ...)")
    glued.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={"application/papermill.record/text/plain": "'ImageNet (MobileNet)'"},
            metadata={
                "scrapbook": {
                    "name": "pretrained_weights",
                    "mime_prefix": "application/papermill.record/",
                }
            },
        )
    ]
    assert (
        glued_value(nbformat.v4.new_notebook(cells=[glued]), "pretrained_weights")
        == "ImageNet (MobileNet)"
    )
    assert glued_value(nbformat.v4.new_notebook(cells=[]), "pretrained_weights") is None


def test_run_metadata_with_machine_paths_is_dropped():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "1",
                metadata={
                    "papermill": {"duration": 1.0},
                    "execution": {"iopub.status.busy": "now"},
                    "tags": ["keep"],
                },
            )
        ]
    )
    nb.metadata["papermill"] = {"input_path": "/home/someone/book/chapters/x.ipynb"}
    cleaned = normalise(nb)
    assert "papermill" not in cleaned.metadata
    assert cleaned.cells[0].metadata == {"tags": ["keep"]}
    assert json.dumps(cleaned).count("/home/") == 0


def used_by_every_chapter():
    return {
        nb.name: provenance.helpers_used(nbformat.read(nb, as_version=4))
        for nb in chapter_notebooks()
    }


def test_reordering_imports_of_helpers_init_changes_no_hash(tmp_path, monkeypatch):
    before = used_by_every_chapter()
    init = helpers_folder_copy(tmp_path, monkeypatch) / "__init__.py"
    first = (
        "from helpers.machine import "
        "describe_machine, use_fastest_precision, use_precision\n"
    )
    edit(init, first, "")
    edit(init, "from helpers.data import (", first + "from helpers.data import (")
    edit(init, "def __getattr__(name):", "# A comment.\ndef __getattr__(name):")
    assert used_by_every_chapter() == before


def test_changing_a_function_that_import_helpers_runs_marks_every_notebook(
    tmp_path, monkeypatch
):
    before = used_by_every_chapter()
    # _show_data_errors_as_one_line is called by helpers/__init__.py's module code.
    init = helpers_folder_copy(tmp_path, monkeypatch) / "__init__.py"
    edit(init, "        return\n", "        return None\n    print('hello')\n")
    after = used_by_every_chapter()
    for name, hashes in after.items():
        changed = {k for k in hashes if hashes[k] != before[name].get(k)}
        assert changed == {"_show_data_errors_as_one_line"}, (name, changed)


def test_only_names_imported_from_helpers_or_its_modules_count():
    index = provenance.helper_index()
    code = (
        "from helpers import load_mnist\n"
        "import helpers\n"
        "load_mnist()\n"
        "helpers.training.read_fit_history('x', 'y')\n"
        "model.evaluate(x)\n"  # a Keras method: not a helper, whatever its name
        "show_images(x)\n"  # not imported: the notebook's own (or an error)
    )
    bindings = {"load_mnist": "helpers.load_mnist", "helpers": "helpers"}
    found = set(index.references(code, bindings))
    assert ("data.py", "load_mnist") in found  # through __init__.py's re-export
    assert ("training.py", "read_fit_history") in found
    assert not {name for _, name in found} & {"evaluate", "show_images"}


def test_a_new_helper_named_like_a_keras_method_changes_no_chapter(
    tmp_path, monkeypatch
):
    before = used_by_every_chapter()
    folder = helpers_folder_copy(tmp_path, monkeypatch)
    (folder / "newcomer.py").write_text("def evaluate():\n    return 1\n")
    assert used_by_every_chapter() == before


def test_chapter_inputs_list_every_chapter_once_after_what_they_use():
    order = list(provenance.chapter_inputs())
    assert sorted(order) == sorted(p.name for p in chapter_notebooks())
    for consumer, entry in provenance.chapter_inputs().items():
        for use in entry.get("uses", []):
            producer = use["from"]
            assert order.index(producer) < order.index(consumer), (consumer, use)
            if "file" in use:
                saves = provenance.chapter_inputs()[producer].get("saves", [])
                assert use["file"] in saves, (consumer, use)
                # the consumer's parameter points at the producer's saved file
                path = provenance.CHAPTERS / consumer
                where = runs.default_parameters(path)[use["parameter"]]
                folder = runs.default_parameters(provenance.CHAPTERS / producer)
                assert (provenance.CHAPTERS / where).resolve() == (
                    provenance.CHAPTERS / folder["OUTPUT_DIR"] / use["file"]
                ).resolve(), (consumer, use)


def test_full_runs_of_all_follow_the_chapter_inputs_order():
    order = [p.name for p in runs.resolve_notebooks("all")]
    assert order == list(provenance.chapter_inputs())


def consumer_and_producer(tmp_path, consumer, producer):
    for name in (consumer, producer):
        shutil.copy(provenance.CHAPTERS / name, tmp_path / name)
    return tmp_path / consumer, tmp_path / producer


def test_a_changed_glued_input_makes_the_chapter_that_read_it_stale(tmp_path):
    consumer, producer = consumer_and_producer(
        tmp_path,
        "06_modern_convnet_from_scratch.ipynb",
        "05_dogs_vs_cats_from_scratch.ipynb",
    )
    assert not [p for p in provenance_problems(consumer) if "its input" in p]
    nb = nbformat.read(producer, as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            scrap = output.get("metadata", {}).get("scrapbook", {})
            if scrap.get("name") == "augmented_history":
                key = next(k for k in output["data"] if k.endswith("text/plain"))
                output["data"][key] = output["data"][key].replace("0.", "0.9", 1)
    nbformat.write(nb, producer)
    problems = provenance_problems(consumer)
    assert any(
        "its input changed" in p and "augmented_history" in p for p in problems
    ), problems


def test_a_rerun_of_the_chapter_that_saved_a_model_makes_its_users_stale(tmp_path):
    consumer, producer = consumer_and_producer(
        tmp_path,
        "03_what_the_convnet_learned.ipynb",
        "02_fashion_mnist_dense_to_convnet.ipynb",
    )
    assert not [p for p in provenance_problems(consumer) if "its input" in p]
    nb = nbformat.read(producer, as_version=4)
    nb.metadata[RECORD_KEY]["saved_sha256"]["best_convnet.keras"] = "0" * 64
    nbformat.write(nb, producer)
    problems = provenance_problems(consumer)
    assert any("best_convnet.keras" in p and "stale" in p for p in problems), problems


def test_every_chapter_that_uses_an_earlier_one_records_its_inputs():
    for consumer, entry in provenance.chapter_inputs().items():
        record = nbformat.read(provenance.CHAPTERS / consumer, as_version=4).metadata[
            RECORD_KEY
        ]
        for use in entry.get("uses", []):
            inputs = record.get("inputs_sha256", {})
            assert inputs.get(provenance.input_key(use)), (consumer, use)


def test_parameters_are_read_from_the_cells_code():
    values = runs.parameters_in_cell(
        "A = 1  # one\n"
        "B, C = 0.7, None\n"
        "D = {'x': (0.9,) * 3}\n"
        "E = A * 2\n"
        "SIZE: tuple = (180, 180)\n"
    )
    assert values == {
        "A": 1,
        "B": 0.7,
        "C": None,
        "D": {"x": (0.9, 0.9, 0.9)},
        "E": 2,
        "SIZE": (180, 180),
    }
    with pytest.raises(runs.RunError, match="not an assignment"):
        runs.parameters_in_cell("print('hi')")
    with pytest.raises(runs.RunError, match="not a value the record can store"):
        runs.parameters_in_cell("X = open('/etc/passwd')")
    with pytest.raises(runs.RunError, match="not a value the record can store"):
        runs.parameters_in_cell("CLASSES = {'cat', 'dog'}")  # a set: not JSON
    with pytest.raises(runs.RunError, match="line 1 is not Python"):
        runs.parameters_in_cell("%load_ext autoreload\nA = 1")


def test_a_tuple_assigned_parameter_is_recorded_and_settable():
    path = provenance.CHAPTERS / "05_dogs_vs_cats_from_scratch.ipynb"
    known = runs.default_parameters(path)
    assert known["EXPECTED_MIN_AUGMENTED_TEST_ACCURACY"] == 0.80
    assert runs.parse_overrides(["EXPECTED_MIN_TEST_ACCURACY=None"], path) == {
        "EXPECTED_MIN_TEST_ACCURACY": None
    }


def test_runs_with_different_output_folders_keep_separate_executed_copies(tmp_path):
    # The executed copy lives in the run's own output folder (held by its lock).
    path = provenance.CHAPTERS / "01_convolution_and_pooling_by_hand.ipynb"
    a = runs.output_folder(path, {"OUTPUT_DIR": str(tmp_path / "a")})
    b = runs.output_folder(path, {"OUTPUT_DIR": str(tmp_path / "b")})
    assert runs.executed_copy(path, a) != runs.executed_copy(path, b)
    assert runs.executed_copy(path, a).is_relative_to(a)


def test_committed_notebooks_are_normalised_and_hold_no_stderr():
    from publish.normalise import hygiene_problems

    problems = [p for nb in chapter_notebooks() for p in hygiene_problems(nb)]
    assert not problems, "\n".join(problems)


def test_the_normaliser_drops_idle_tags_and_machine_metadata():
    cell = nbformat.v4.new_code_cell(
        "1", metadata={"tags": ["remove-stderr"], "scrolled": True}
    )
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    empty = nbformat.v4.new_markdown_cell("x", metadata={"tags": []})
    nb = nbformat.v4.new_notebook(cells=[cell, empty])
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.7"}
    cleaned = normalise(nb)
    assert cleaned.cells[0].metadata == {} and cleaned.cells[1].metadata == {}
    assert cleaned.metadata["language_info"] == {"name": "python"}
    assert cleaned.cells[0].outputs[0]["text"] == "1\n"


def test_a_changed_comment_in_shown_helper_code_makes_the_page_stale(
    tmp_path, monkeypatch
):
    # Chapter 1 shows receptive_field's code on its page (inspect.getsource).
    chapter = provenance.CHAPTERS / "01_convolution_and_pooling_by_hand.ipynb"
    assert provenance_problems(chapter) == []
    models = helpers_folder_copy(tmp_path, monkeypatch) / "models.py"
    edit(
        models,
        "    field, jump, last_conv = 1, 1, 1",
        "    # a new comment\n    field, jump, last_conv = 1, 1, 1",
    )
    problems = provenance_problems(chapter)
    assert any("shows the code of receptive_field" in p for p in problems), problems


def test_editing_all_or_sorting_imports_inside_a_function_changes_no_hash(
    tmp_path, monkeypatch
):
    before = used_by_every_chapter()
    folder = helpers_folder_copy(tmp_path, monkeypatch)
    edit(folder / "__init__.py", "__all__ = [\n", '__all__ = [\n    "a_new_name",\n')
    edit(
        folder / "speed.py",
        "    from helpers.models import dogs_vs_cats_convnet\n",
        "",
    )
    edit(
        folder / "speed.py",
        "    from helpers.dogs_vs_cats import (",
        "    from helpers.models import dogs_vs_cats_convnet\n"
        "    from helpers.dogs_vs_cats import (",
    )
    assert used_by_every_chapter() == before


def test_a_module_imported_under_another_name_inside_a_function_is_followed(
    tmp_path, monkeypatch
):
    folder = helpers_folder_copy(tmp_path, monkeypatch)
    (folder / "extra.py").write_text(
        "def caller():\n    import helpers.plots as p\n    return p.plot_history\n"
    )
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("from helpers.extra import caller\ncaller()")]
    )
    assert "plot_history" in provenance.helpers_used(nb)


def test_cells_with_magics_are_read_as_ipython_runs_them():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("%%bash\necho hi"),
            nbformat.v4.new_code_cell("files = !ls\nsum?"),
            nbformat.v4.new_code_cell("if True:\n    %pip install foo"),
            nbformat.v4.new_code_cell("from helpers import load_mnist\nload_mnist()"),
        ]
    )
    assert "load_mnist" in provenance.helpers_used(nb)


def _ran(nb):
    """A copy of ``nb`` as papermill leaves it: outputs, and an injected cell."""
    executed = copy.deepcopy(nb)
    for cell in executed.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", text="ran\n")]
    injected = nbformat.v4.new_code_cell("EPOCHS = 1")
    injected.metadata["tags"] = ["injected-parameters"]
    executed.cells.insert(2, injected)
    return executed


def _small_notebook():
    return nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Title"),
            nbformat.v4.new_code_cell("EPOCHS = 5"),
            nbformat.v4.new_markdown_cell("It trains for five epochs."),
            nbformat.v4.new_code_cell("print(EPOCHS)"),
        ]
    )


def test_text_edited_during_a_full_run_is_kept(tmp_path):
    then = _small_notebook()
    edited = copy.deepcopy(then)
    edited.cells[2].source = "It trains for a few epochs."
    path = tmp_path / "chapter.ipynb"
    nbformat.write(edited, path)
    merged = runs.with_text_edited_during_run(_ran(then), then, path, tmp_path / "x")
    assert merged.cells[3].source == "It trains for a few epochs."
    assert merged.cells[4].outputs[0].text == "ran\n"


def test_code_edited_during_a_full_run_keeps_the_edit_and_refuses(tmp_path):
    then = _small_notebook()
    edited = copy.deepcopy(then)
    edited.cells[3].source = "print(EPOCHS * 2)"
    path = tmp_path / "chapter.ipynb"
    nbformat.write(edited, path)
    with pytest.raises(runs.RunError, match="changed while it ran"):
        runs.with_text_edited_during_run(_ran(then), then, path, tmp_path / "x")
    assert nbformat.read(path, as_version=4).cells[3].source == "print(EPOCHS * 2)"
