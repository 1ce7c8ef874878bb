"""Unit tests of helpers.models and helpers.machine (tiny data, no network)."""

import keras
import numpy as np
from test_data import local_copy  # noqa: F401  (the tiny CNNBOOK_DATA fixture)

from helpers import (
    build_fashion_convnet,
    describe_machine,
    load_or_train_fashion_convnet,
    multiply_adds_per_image,
)


def test_fashion_convnet_has_chapter_2_layers():
    model = build_fashion_convnet()
    assert model.count_params() == 333_526
    assert [layer.count_params() for layer in model.layers] == [
        320,
        0,
        18_496,
        0,
        0,
        313_700,
        0,
        1_010,
    ]
    assert model.outputs[0].shape == (None, 10)


def test_existing_checkpoint_is_loaded(tmp_path):
    saved = build_fashion_convnet()
    saved.save(tmp_path / "best.keras")
    model, origin = load_or_train_fashion_convnet(
        tmp_path / "best.keras", tmp_path / "unused.keras"
    )
    assert "loaded" in origin and not (tmp_path / "unused.keras").exists()
    np.testing.assert_array_equal(
        model.layers[0].get_weights()[0], saved.layers[0].get_weights()[0]
    )


def test_missing_checkpoint_means_training_and_saving(tmp_path, local_copy):  # noqa: F811
    model, origin = load_or_train_fashion_convnet(
        tmp_path / "absent.keras", tmp_path / "trained.keras", epochs=1
    )
    assert (
        origin.startswith("no checkpoint at")
        and "trained the model here on 1 images" in origin
    )
    assert (tmp_path / "trained.keras").is_file()
    reloaded = keras.models.load_model(tmp_path / "trained.keras")
    assert reloaded.count_params() == model.count_params() == 333_526


def test_machine_description_counts_cores():
    text = describe_machine()
    assert text.split()[0].isdigit() and "CPU cores" in text


def test_multiply_adds_are_counted_by_hand_through_a_nested_model():
    from keras import layers

    inner_input = keras.Input(shape=(6, 6, 4))
    x = layers.DepthwiseConv2D(3, padding="same")(
        inner_input
    )  # 36 positions x 3 x 3 x 4 = 1,296
    inner = keras.Model(
        inner_input, layers.SeparableConv2D(5, 3, padding="same")(x)
    )  # 1,296 + 36 x 4 x 5 = 2,016
    inputs = keras.Input(shape=(8, 8, 3))
    x = layers.Conv2D(4, 3)(inputs)  # 6 x 6 positions x (3 x 3 x 3 x 4) = 3,888
    x = layers.MaxPooling2D(1)(inner(x))  # no multiply-adds
    outputs = layers.Dense(2)(layers.Flatten()(x))  # 180 x 2 = 360
    model = keras.Model(inputs, outputs)
    assert multiply_adds_per_image(model) == 3_888 + 1_296 + 2_016 + 360


def layer_configs(model) -> list:
    """Each layer's class and configuration, without its name (Keras numbers names)."""
    return [
        (
            type(layer).__name__,
            {k: v for k, v in layer.get_config().items() if k != "name"},
        )
        for layer in model.layers
    ]


def chapter_cell(notebook: str, start: str) -> str:
    import nbformat

    from publish.provenance import CHAPTERS

    cells = nbformat.read(CHAPTERS / notebook, as_version=4).cells
    return next(
        c.source for c in cells if c.cell_type == "code" and c.source.startswith(start)
    )


def test_chapter_2_convnet_and_its_copy_in_helpers_have_the_same_layers(capsys):
    """Chapter 3 rebuilds chapter 2's convnet from helpers.models: both must agree."""
    namespace = {"keras": keras}
    exec(
        chapter_cell(
            "02_fashion_mnist_dense_to_convnet.ipynb", "model = keras.Sequential("
        ),
        namespace,
    )
    assert layer_configs(build_fashion_convnet()) == layer_configs(namespace["model"])


def test_chapter_5_convnet_and_its_copy_in_helpers_have_the_same_layers(capsys):
    """The speed appendix times helpers.speed's copy of chapter 5's convnet."""
    from keras import layers

    from helpers.speed import dogs_vs_cats_convnet

    namespace = {"keras": keras, "layers": layers, "IMAGE_SIZE": (180, 180)}
    exec(
        chapter_cell("05_dogs_vs_cats_from_scratch.ipynb", "def dogs_vs_cats_convnet("),
        namespace,
    )
    assert layer_configs(dogs_vs_cats_convnet()) == layer_configs(namespace["model"])
