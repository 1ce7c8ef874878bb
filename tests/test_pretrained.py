"""Unit tests of helpers.pretrained: finding ImageNet weights offline (no network, no real files)."""

import hashlib

import pytest

import helpers.pretrained as pretrained
from helpers import DataError


@pytest.fixture
def places(tmp_path, monkeypatch):
    """An empty Keras home and a CNNBOOK_DATA folder; a tiny fake weight file registered by hash."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("CNNBOOK_DATA", str(tmp_path / "data"))
    (tmp_path / "data" / "keras-weights").mkdir(parents=True)
    content = b"not really HDF5, only bytes with a known hash"
    monkeypatch.setitem(pretrained.WEIGHT_FILES, "tiny.h5",
                        ("sha256", hashlib.sha256(content).hexdigest(), len(content)))
    return tmp_path, content


def test_local_copy_is_checked_and_placed_in_the_keras_cache(places):
    root, content = places
    (root / "data" / "keras-weights" / "tiny.h5").write_bytes(content)
    cached = pretrained.stage_local_weights("tiny.h5")
    assert cached == root / "keras" / "models" / "tiny.h5"
    assert cached.read_bytes() == content
    assert not list(cached.parent.glob("*.partial"))


def test_a_file_already_in_the_cache_is_never_overwritten(places):
    root, content = places
    mine = root / "keras" / "models" / "tiny.h5"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"the user's own file")
    (root / "data" / "keras-weights" / "tiny.h5").write_bytes(content)
    assert pretrained.stage_local_weights("tiny.h5") == mine
    assert mine.read_bytes() == b"the user's own file"


def test_a_damaged_local_copy_is_refused_in_one_sentence(places):
    root, content = places
    (root / "data" / "keras-weights" / "tiny.h5").write_bytes(content[:-1])
    with pytest.raises(DataError) as error:
        pretrained.stage_local_weights("tiny.h5")
    assert "\n" not in str(error.value) and "tiny.h5 is damaged" in str(error.value)
    assert not (root / "keras" / "models" / "tiny.h5").exists()


def test_no_copy_anywhere_returns_none(places):
    assert pretrained.stage_local_weights("tiny.h5") is None


def test_failed_download_becomes_one_sentence_naming_the_file_and_the_way_out(places):
    def application(weights, include_top, **kwargs):
        raise Exception("URL fetch failure on https://example.invalid/tiny.h5: None -- [Errno -2]")

    application.__name__ = "TinyNet"
    with pytest.raises(DataError) as error:
        pretrained.load_imagenet_base(application, "tiny.h5", "imagenet")
    message = str(error.value)
    assert "\n" not in message and "TinyNet" in message and "tiny.h5" in message
    assert "$CNNBOOK_DATA/keras-weights/" in message and "WEIGHTS = None" in message


def test_other_errors_are_not_disguised(places):
    def application(weights, include_top, **kwargs):
        raise ValueError("input_shape must be at least 32 x 32")

    with pytest.raises(ValueError, match="at least 32"):
        pretrained.load_imagenet_base(application, "tiny.h5", "imagenet")


def test_vgg16_preprocessing_layer_matches_preprocess_input_and_reloads(tmp_path):
    import keras
    import numpy as np

    images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    expected = keras.applications.vgg16.preprocess_input(images.copy())
    inputs = keras.Input(shape=(8, 8, 3))
    model = keras.Model(inputs, pretrained.VGG16Preprocessing()(inputs))
    np.testing.assert_allclose(model.predict(images, verbose=0), expected, rtol=1e-6)
    model.save(tmp_path / "m.keras")
    reloaded = keras.models.load_model(tmp_path / "m.keras")  # safe mode: no Lambda needed
    np.testing.assert_allclose(reloaded.predict(images, verbose=0), expected, rtol=1e-6)
