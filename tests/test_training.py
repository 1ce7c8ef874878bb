"""Unit tests of helpers.training and helpers.models.receptive_field (no data)."""

import keras
import nbformat
import numpy as np
import pytest
from keras import layers
from nbformat.v4 import new_code_cell, new_notebook, new_output

from helpers.models import receptive_field
from helpers.training import CompactLog, read_fit_history
from publish.provenance import CHAPTERS


def tiny_fit(epochs, every, capsys):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).normal(size=(32, 2)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    history = model.fit(
        x, y, epochs=epochs, validation_split=0.25, verbose=0,
        callbacks=[CompactLog(every=every)],
    )  # fmt: skip
    return history.history, capsys.readouterr().out.splitlines()


def test_compact_log_prints_first_every_nth_last_and_best_epoch(capsys):
    history, lines = tiny_fit(epochs=23, every=10, capsys=capsys)
    epochs = [line.split()[1] for line in lines if line.startswith("epoch")]
    assert epochs == ["1/23", "10/23", "20/23", "23/23"]
    best = int(np.argmin(history["val_loss"])) + 1
    assert lines[-1].startswith(f"lowest val_loss at epoch {best}:")
    assert f"val_loss {min(history['val_loss']):.4f}" in lines[-1]
    assert all(len(line) <= 88 for line in lines), lines


def keras_log_notebook(path, source, text):
    cell = new_code_cell(
        source, outputs=[new_output("stream", name="stdout", text=text)]
    )
    nbformat.write(new_notebook(cells=[cell]), path)


def test_history_is_read_back_from_a_keras_log(tmp_path):
    text = (
        "Epoch 1/2\n\n63/63 - 28s - 440ms/step - accuracy: 0.5200 - loss: 0.6954"
        " - val_accuracy: 0.5060 - val_loss: 0.6913\n\nEpoch 2/2\n\n63/63 - 21s -"
        " 334ms/step - accuracy: 0.5585 - loss: 0.6915 - val_accuracy: 0.5340"
        " - val_loss: 0.6846\n"
    )
    path = tmp_path / "chapter.ipynb"
    keras_log_notebook(path, "history = model.fit(data, epochs=2, verbose=2)", text)
    assert read_fit_history(path, "history") == {
        "accuracy": [0.52, 0.5585],
        "loss": [0.6954, 0.6915],
        "val_accuracy": [0.506, 0.534],
        "val_loss": [0.6913, 0.6846],
    }
    with pytest.raises(ValueError, match="no glued value and no Keras log for 'other'"):
        read_fit_history(path, "other")


def test_a_glued_history_wins_and_a_missing_notebook_gives_none(tmp_path):
    glued = new_output(
        "display_data",
        data={"application/papermill.record/text/plain": "{'val_loss': [0.5, 0.4]}"},
        metadata={
            "scrapbook": {
                "name": "history",
                "mime_prefix": "application/papermill.record/",
            }
        },
    )
    path = tmp_path / "chapter.ipynb"
    nbformat.write(
        new_notebook(cells=[new_code_cell("glue(...)", outputs=[glued])]), path
    )
    assert read_fit_history(path, "history") == {"val_loss": [0.5, 0.4]}
    assert read_fit_history(tmp_path / "absent.ipynb", "history") is None


def test_chapter_5_history_is_read_from_its_committed_notebook():
    history = read_fit_history(
        CHAPTERS / "05_dogs_vs_cats_from_scratch.ipynb", "augmented_history"
    )
    assert sorted(history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert {len(values) for values in history.values()} == {100}


def stacks():
    conv = layers.Conv2D
    return [
        ([conv(1, 3), conv(1, 3)], 5),
        (
            [
                conv(1, 3),
                layers.MaxPooling2D(2),
                conv(1, 3),
                layers.MaxPooling2D(2),
                conv(1, 3),
            ],
            18,
        ),  # fmt: skip
        ([conv(1, 3), conv(1, 3, strides=2), conv(1, 3, strides=2)], 9),
        (
            [conv(1, 5, strides=2), layers.AveragePooling2D(3), conv(1, 3)],
            21,
        ),  # 5, 9, 21
    ]


def test_receptive_field_counts_what_chapter_1_measures():
    """Chapter 1 shows helpers' receptive_field and checks it with gradients."""
    for stack, expected in stacks():
        model = keras.Sequential([keras.Input((40, 40, 1)), *stack])
        assert receptive_field(model) == expected
