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


def test_the_shared_models_have_the_books_parameter_counts():
    """Chapters 2, 5 and 7 build these from helpers.models (and show their code)."""
    from helpers.dogs_vs_cats import data_augmentation
    from helpers.models import dogs_vs_cats_convnet, features_classifier

    assert build_fashion_convnet().count_params() == 333_526
    plain = dogs_vs_cats_convnet()
    augmented = dogs_vs_cats_convnet(data_augmentation(), dropout=0.5, name="aug")
    assert plain.count_params() == augmented.count_params() == 991_041
    kinds = [type(layer).__name__ for layer in augmented.layers]
    assert kinds[1] == "Sequential" and kinds[-2] == "Dropout"
    assert kinds.count("Conv2D") == 5 and kinds.count("MaxPooling2D") == 4
    assert augmented.layers[-1].dtype_policy.name == "float32"
    # MobileNet 0.25's 7 x 7 x 256 features; VGG16's 5 x 5 x 512 with the dense head
    assert features_classifier((7, 7, 256), pooled=True).count_params() == 257
    assert features_classifier((5, 5, 512), pooled=False).count_params() == (
        5 * 5 * 512 * 256 + 256 + 257
    )


def test_data_augmentation_makes_a_new_block_that_acts_only_in_training():
    import numpy as np

    from helpers.dogs_vs_cats import data_augmentation

    first, second = data_augmentation(), data_augmentation()
    assert first is not second and first.name == "data_augmentation"
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.testing.assert_array_equal(first(images, training=False), images)
    keras.utils.set_random_seed(1)
    assert not np.allclose(first(images, training=True), images)
