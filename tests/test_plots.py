"""Unit tests of helpers.plots with tiny generated arrays."""

import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers import (  # noqa: E402
    FASHION_MNIST_CLASS_NAMES,
    plot_class_probabilities,
    plot_confusion_matrix,
    plot_feature_maps,
    plot_history,
    plot_kernels,
    show_images,
)
from helpers.plots import SMALLEST_FONT_PT  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    """After each test: no text in the figures it drew is below the book's least."""
    yield
    try:
        for number in plt.get_fignums():
            texts = plt.figure(number).findobj(matplotlib.text.Text)
            small = [
                (t.get_text(), t.get_fontsize())
                for t in texts
                if t.get_text() and t.get_fontsize() < SMALLEST_FONT_PT
            ]
            assert small == [], f"text below {SMALLEST_FONT_PT} pt: {small}"
    finally:
        plt.close("all")


def test_chapters_set_no_font_below_the_books_least():
    """Font sizes written in the chapters' code (the helpers' are drawn above)."""
    size = re.compile(r"\b(?:fontsize|labelsize|titlesize)\s*=\s*([^,)\s]+)")
    scalings = matplotlib.font_manager.font_scalings  # "small": 0.833, ...
    base = matplotlib.rcParams["font.size"]
    too_small, unread = [], []
    for path in sorted(Path(__file__).parents[1].glob("chapters/*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            for value in size.findall("".join(cell["source"])):
                name = value.strip("\"'")
                if name in scalings:
                    points = (scalings[name] or 1.0) * base
                else:
                    try:
                        points = float(name)
                    except ValueError:
                        unread.append((path.name, value))
                        continue
                if points < SMALLEST_FONT_PT:
                    too_small.append((path.name, value))
    assert too_small == [], f"font sizes below {SMALLEST_FONT_PT} pt: {too_small}"
    assert unread == [], f"give font sizes as numbers or names, not: {unread}"


def test_plot_history_draws_training_and_validation_per_metric():
    history = {
        "loss": [1.0, 0.5, 0.4],
        "val_loss": [1.1, 0.7, 0.8],
        "accuracy": [0.5, 0.8, 0.9],
    }
    fig = plot_history(history, metrics=("loss", "accuracy"))
    loss_ax, acc_ax = fig.axes
    assert [line.get_label() for line in loss_ax.get_lines()] == [
        "training loss",
        "validation loss",
    ]
    np.testing.assert_array_equal(loss_ax.get_lines()[1].get_ydata(), [1.1, 0.7, 0.8])
    np.testing.assert_array_equal(loss_ax.get_lines()[0].get_xdata(), [1, 2, 3])
    assert len(acc_ax.get_lines()) == 1  # no validation accuracy in this history


def test_plot_history_accepts_a_keras_history_object():
    class History:
        history = {"loss": [0.3, 0.2]}

    fig = plot_history(History())
    assert fig.axes[0].get_ylabel() == "loss"


def test_plot_history_names_a_missing_metric():
    with pytest.raises(KeyError, match="accuracy"):
        plot_history({"loss": [1.0]}, metrics=("accuracy",))


def test_show_images_grid_with_titles():
    images = np.random.default_rng(0).integers(0, 255, (7, 28, 28, 1), dtype=np.uint8)
    fig = show_images(images, [f"img {i}" for i in range(7)], ncols=4)
    assert len(fig.axes) == 8  # 2 rows of 4; the last one is blank
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 7 and shown[6].get_title() == "img 6"
    assert shown[0].images[0].get_array().shape == (28, 28)


def test_show_images_keeps_colour():
    fig = show_images(np.zeros((2, 5, 5, 3)))
    assert fig.axes[0].images[0].get_array().shape == (5, 5, 3)


def test_class_probabilities_highlight_the_prediction():
    probabilities = np.full(10, 0.02)
    probabilities[6] = 0.82
    fig = plot_class_probabilities(
        probabilities, FASHION_MNIST_CLASS_NAMES, true_class=0
    )
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(
        FASHION_MNIST_CLASS_NAMES
    )
    assert ax.get_title() == "predicted: Shirt (0.820); true: T-shirt/top"
    colours = {bar.get_facecolor() for bar in ax.patches}
    assert len(colours) == 2


def test_class_probabilities_reject_mismatched_names():
    with pytest.raises(ValueError, match="3 probabilities for 10 class names"):
        plot_class_probabilities([0.2, 0.3, 0.5], FASHION_MNIST_CLASS_NAMES)


def test_confusion_matrix_counts():
    y_true = [0, 0, 1, 2, 2, 2]
    y_pred = [0, 1, 1, 2, 2, 0]
    fig = plot_confusion_matrix(y_true, y_pred, ["a", "b", "c"])
    ax = fig.axes[0]
    cell_texts = [t.get_text() for t in ax.texts]
    assert cell_texts == ["1", "1", "0", "0", "1", "0", "1", "0", "2"]
    assert ax.get_ylabel() == "true class" and ax.get_xlabel() == "predicted class"


def test_plot_history_marks_an_epoch():
    fig = plot_history(
        {"loss": [1.0, 0.5, 0.6], "val_loss": [1.1, 0.7, 0.9]}, mark_epoch=2
    )
    marks = [line for line in fig.axes[0].get_lines() if line.get_label() == "epoch 2"]
    assert len(marks) == 1 and list(marks[0].get_xdata()) == [2, 2]


def test_class_probabilities_label_the_visible_bars():
    probabilities = np.zeros(10)
    probabilities[[1, 3]] = [0.25, 0.75]
    ax = plot_class_probabilities(probabilities, FASHION_MNIST_CLASS_NAMES).axes[0]
    labels = [t.get_text() for t in ax.texts]
    assert labels.count("") == 8 and "0.750" in labels and "0.250" in labels


def test_kernels_share_one_symmetric_colour_scale():
    kernels = np.random.default_rng(1).normal(size=(3, 3, 1, 32))
    fig = plot_kernels(kernels, limit=2.5, title="trained")
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 32
    assert {ax.images[0].get_clim() for ax in shown} == {(-2.5, 2.5)}
    assert shown[5].images[0].get_array().shape == (3, 3)
    np.testing.assert_array_equal(shown[5].images[0].get_array(), kernels[:, :, 0, 5])


def test_kernels_default_limit_is_the_largest_weight():
    kernels = np.zeros((3, 3, 1, 4))
    kernels[1, 1, 0, 2] = -0.7
    fig = plot_kernels(kernels, ncols=2)
    assert fig.axes[0].images[0].get_clim() == (-0.7, 0.7)


def test_kernels_of_a_multichannel_layer_are_refused():
    with pytest.raises(ValueError, match=r"\(3, 3, 32, 64\)"):
        plot_kernels(np.zeros((3, 3, 32, 64)))


def test_feature_maps_from_a_batch_of_one():
    maps = np.random.default_rng(2).random((1, 14, 14, 64))
    fig = plot_feature_maps(maps)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 64 and len(fig.axes) == 64  # 4 rows of 16
    assert shown[63].images[0].get_array().shape == (14, 14)
    assert {ax.images[0].get_clim()[1] for ax in shown} == {
        float(maps.astype("float32").max())
    }


def test_feature_maps_from_a_mixed_precision_model():
    import ml_dtypes

    maps = np.random.default_rng(0).random((1, 7, 7, 8)).astype(ml_dtypes.bfloat16)
    fig = plot_feature_maps(maps)
    assert len([ax for ax in fig.axes if ax.images]) == 8
    plt.close(fig)


def test_feature_maps_reject_a_batch_of_two():
    with pytest.raises(ValueError, match="expected"):
        plot_feature_maps(np.zeros((2, 7, 7, 8)))


def test_show_as_jpeg_displays_one_jpeg_and_closes_the_figure(monkeypatch):
    import io

    from PIL import Image

    from helpers.plots import show_as_jpeg

    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.imshow(np.random.default_rng(0).uniform(size=(20, 40, 3)))
    assert show_as_jpeg(fig, quality=80) is None  # a cell's last line shows it once
    (image,) = shown
    assert not plt.fignum_exists(fig.number)
    assert image.format == "jpeg"
    assert image._repr_mimebundle_()[0].keys() >= {"image/jpeg"}
    with Image.open(io.BytesIO(image.data)) as decoded:
        assert decoded.format == "JPEG"
        assert decoded.width > 50  # about 2 inches at the figure's dpi
    show_as_jpeg(plt.subplots(figsize=(2, 1))[0], quality=20)
    assert len(shown) == 2 and len(shown[1].data) > 0
    with pytest.raises(ValueError):
        show_as_jpeg(plt.figure(), quality=0)
