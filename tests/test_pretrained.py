"""Unit tests of helpers.pretrained: finding ImageNet weights offline.

They use no network and no real files.
"""

import hashlib

import pytest

import helpers.pretrained as pretrained
from helpers import DataError


@pytest.fixture
def places(tmp_path, monkeypatch):
    """An empty Keras home and a CNNBOOK_DATA folder.

    A tiny fake weight file is registered by hash.
    """
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("CNNBOOK_DATA", str(tmp_path / "data"))
    (tmp_path / "data" / "keras-weights").mkdir(parents=True)
    content = b"not really HDF5, only bytes with a known hash"
    monkeypatch.setitem(
        pretrained.WEIGHT_FILES,
        "tiny.h5",
        ("sha256", hashlib.sha256(content).hexdigest(), len(content)),
    )
    return tmp_path, content


def test_local_copy_is_checked_and_placed_in_the_keras_cache(places):
    root, content = places
    (root / "data" / "keras-weights" / "tiny.h5").write_bytes(content)
    cached = pretrained.stage_local_weights("tiny.h5")
    assert cached == root / "keras" / "models" / "tiny.h5"
    assert cached.read_bytes() == content
    assert not list(cached.parent.glob("*.partial"))


def test_a_good_file_already_in_the_cache_is_used_as_it_is(places):
    root, content = places
    mine = root / "keras" / "models" / "tiny.h5"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(content)
    before = mine.stat().st_mtime_ns
    assert pretrained.stage_local_weights("tiny.h5") == mine
    assert mine.read_bytes() == content and mine.stat().st_mtime_ns == before


def test_a_damaged_cached_file_is_kept_aside_for_a_good_local_copy(places):
    root, content = places
    mine = root / "keras" / "models" / "tiny.h5"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(content[:10])  # a download cut short
    (root / "data" / "keras-weights" / "tiny.h5").write_bytes(content)
    assert pretrained.stage_local_weights("tiny.h5") == mine
    assert mine.read_bytes() == content
    assert (mine.parent / "tiny.h5.damaged").read_bytes() == content[:10]


def test_a_damaged_cached_file_without_a_local_copy_is_set_aside_for_keras(
    places, monkeypatch
):
    """Keras then downloads a fresh copy; nothing of the user's is deleted."""
    root, content = places
    monkeypatch.delenv("CNNBOOK_DATA")
    mine = root / "keras" / "models" / "tiny.h5"
    mine.parent.mkdir(parents=True)
    (mine.parent / "tiny.h5.damaged").write_bytes(b"an earlier one")
    mine.write_bytes(content[:10])
    assert pretrained.stage_local_weights("tiny.h5") is None
    assert not mine.exists()
    assert (mine.parent / "tiny.h5.damaged").read_bytes() == b"an earlier one"
    assert (mine.parent / "tiny.h5.damaged-2").read_bytes() == content[:10]


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
    root, _ = places

    def application(weights, include_top, **kwargs):
        raise Exception(
            "URL fetch failure on https://example.invalid/tiny.h5: None -- [Errno -2]"
        )

    application.__name__ = "TinyNet"
    with pytest.raises(DataError) as error:
        pretrained.load_imagenet_base(application, "tiny.h5", "imagenet")
    message = str(error.value)
    assert "\n" not in message and "TinyNet" in message and "tiny.h5" in message
    # CNNBOOK_DATA is set (to a folder without the file): the message names it.
    assert f"{root / 'data' / 'keras-weights'}/ (the CNNBOOK_DATA folder)" in message
    assert message.endswith("/.")


def test_without_cnnbook_data_the_message_names_the_variable(places, monkeypatch):
    monkeypatch.delenv("CNNBOOK_DATA")

    def application(weights, include_top, **kwargs):
        print("Downloading data from https://example.invalid/tiny.h5")
        raise Exception("URL fetch failure on https://example.invalid/tiny.h5")

    application.__name__ = "TinyNet"
    with pytest.raises(DataError, match=r"\$CNNBOOK_DATA/keras-weights/ or "):
        pretrained.load_imagenet_base(application, "tiny.h5", "imagenet")


def test_a_failed_download_leaves_no_downloading_line(places, capsys):
    def application(weights, include_top, **kwargs):
        print("Downloading data from https://example.invalid/tiny.h5")
        raise Exception("URL fetch failure on https://example.invalid/tiny.h5")

    with pytest.raises(DataError):
        pretrained.load_imagenet_base(application, "tiny.h5", "imagenet")
    assert "Downloading" not in capsys.readouterr().out


def test_other_errors_are_not_disguised(places):
    def application(weights, include_top, **kwargs):
        raise ValueError("input_shape must be at least 32 x 32")

    with pytest.raises(ValueError, match="at least 32"):
        pretrained.load_imagenet_base(application, "tiny.h5", "imagenet")


def fake_loaders(monkeypatch, vgg16_error=None):
    """Replace the two ImageNet loaders by fakes.

    The fakes return their name (or raise for VGG16).
    """

    def vgg16(weights, input_shape):
        if vgg16_error:
            raise DataError(vgg16_error)
        return ("vgg16 model", weights, input_shape)

    monkeypatch.setattr(pretrained, "load_vgg16_conv_base", vgg16)
    monkeypatch.setattr(
        pretrained,
        "load_mobilenet_base",
        lambda weights, input_shape: ("mobilenet model", weights, input_shape),
    )


OFFLINE = (
    "The ImageNet weights of VGG16 (...) are not on this machine "
    "and could not be downloaded: ..."
)


def test_auto_takes_vgg16_when_its_weights_can_be_had(monkeypatch):
    fake_loaders(monkeypatch)
    name, model, why = pretrained.load_transfer_base("auto")
    assert (name, model) == ("vgg16", ("vgg16 model", "imagenet", (180, 180, 3)))
    assert "published experiment" in why and "\n" not in why


def test_auto_falls_back_to_mobilenet_offline_and_says_so(monkeypatch):
    fake_loaders(monkeypatch, vgg16_error=OFFLINE)
    name, model, why = pretrained.load_transfer_base("auto")
    assert (name, model) == (
        "mobilenet",
        ("mobilenet model", "imagenet", (224, 224, 3)),
    )
    assert "VGG16" in why and "MobileNet v1 at width 0.25" in why and "\n" not in why


def test_auto_does_not_hide_a_damaged_vgg16_file(monkeypatch):
    fake_loaders(
        monkeypatch,
        vgg16_error="/data/keras-weights/vgg16.h5 is damaged or not the Keras file",
    )
    with pytest.raises(DataError, match="damaged"):
        pretrained.load_transfer_base("auto")


def test_an_explicit_base_that_cannot_be_had_names_the_way_out(monkeypatch):
    fake_loaders(monkeypatch, vgg16_error=OFFLINE)
    with pytest.raises(DataError) as error:
        pretrained.load_transfer_base("vgg16")
    message = str(error.value)
    assert (
        "\n" not in message
        and "VGG16" in message
        and "BASE = \"auto\" or 'mobilenet'" in message
    )


def test_an_unknown_base_is_one_sentence():
    with pytest.raises(ValueError, match='use "vgg16", "mobilenet" or "auto"'):
        pretrained.load_transfer_base("resnet")
