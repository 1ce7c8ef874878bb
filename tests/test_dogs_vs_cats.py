"""Unit tests of helpers.dogs_vs_cats on a tiny generated image folder.

They use no real data.
"""

import io

import numpy as np
import pytest
from PIL import Image

from helpers import (
    DataError,
    find_dogs_vs_cats_images,
    load_dogs_vs_cats_datasets,
    make_dogs_vs_cats_subset,
)
from helpers.data import sha256_of

SPLITS = {"train": (0, 4), "validation": (4, 5), "test": (5, 7)}


def jpeg_bytes(seed: int, size=(24, 18)) -> bytes:
    pixels = np.random.default_rng(seed).integers(
        0, 256, (size[1], size[0], 3), dtype=np.uint8
    )
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture
def kaggle_folder(tmp_path):
    """cat.0-7.jpg and dog.0-7.jpg, of different sizes, like Kaggle's train folder."""
    folder = tmp_path / "dogs-vs-cats" / "train"
    folder.mkdir(parents=True)
    for number in range(8):
        for offset, name in enumerate(("cat", "dog")):
            size = (20 + number, 16 + 2 * offset)
            (folder / f"{name}.{number}.jpg").write_bytes(
                jpeg_bytes(10 * number + offset, size)
            )
    return folder


def test_subset_names_and_skips_a_corrupt_jpeg_and_a_text_file(kaggle_folder, tmp_path):
    good = (kaggle_folder / "cat.1.jpg").read_bytes()
    (kaggle_folder / "cat.1.jpg").write_bytes(
        good[: len(good) // 2]
    )  # a download cut short
    (kaggle_folder / "dog.5.jpg").write_text("this is not a picture\n")
    (kaggle_folder / "notes.txt").write_text("a file someone left here\n")
    subset = tmp_path / "subset"

    report = make_dogs_vs_cats_subset(kaggle_folder, subset, SPLITS)

    assert [name for name, _ in report.skipped] == ["cat.1.jpg", "dog.5.jpg"]
    assert all("not a decodable image" in why for _, why in report.skipped)
    assert report.ignored == ["notes.txt"]
    text = str(report)
    assert (
        "skipped cat.1.jpg" in text
        and "skipped dog.5.jpg" in text
        and "notes.txt" in text
    )
    assert report.counts == {
        "train": {"cat": 3, "dog": 4},
        "validation": {"cat": 1, "dog": 1},
        "test": {"cat": 2, "dog": 1},
    }
    assert not (subset / "train" / "cat" / "cat.1.jpg").exists()
    # The chapter goes on: every remaining image loads and batches.
    datasets = load_dogs_vs_cats_datasets(subset, image_size=(12, 12), batch_size=2)
    seen = {
        split: sum(len(labels) for _, labels in ds) for split, ds in datasets.items()
    }
    assert seen == {"train": 7, "validation": 2, "test": 3}


def test_subset_is_safe_to_run_twice_and_refuses_foreign_files(kaggle_folder, tmp_path):
    subset = tmp_path / "subset"
    first = make_dogs_vs_cats_subset(kaggle_folder, subset, SPLITS)
    assert first.copied == 14 and not first.skipped and not first.ignored
    before = {p: p.stat().st_mtime_ns for p in subset.rglob("*.jpg")}
    second = make_dogs_vs_cats_subset(kaggle_folder, subset, SPLITS)
    assert second.copied == 0 and second.counts == first.counts
    assert {p: p.stat().st_mtime_ns for p in subset.rglob("*.jpg")} == before

    stray = subset / "test" / "dog" / "holiday.jpg"
    stray.write_bytes(jpeg_bytes(99))
    with pytest.raises(DataError) as error:
        make_dogs_vs_cats_subset(kaggle_folder, subset, SPLITS)
    message = str(error.value)
    assert (
        "\n" not in message
        and str(subset / "test" / "dog") in message
        and "delete" in message
    )
    assert stray.exists()  # reported, never deleted


def test_subset_skips_a_file_whose_sha256_differs_from_the_list(
    kaggle_folder, tmp_path
):
    sums = {p.name: sha256_of(p) for p in kaggle_folder.iterdir()}
    sums["dog.2.jpg"] = "0" * 64
    (kaggle_folder.parent / "SHA256SUMS").write_text(
        "".join(f"{digest}  {name}\n" for name, digest in sorted(sums.items()))
    )
    report = make_dogs_vs_cats_subset(kaggle_folder, tmp_path / "subset", SPLITS)
    assert report.skipped == [
        ("dog.2.jpg", "damaged: its sha256 differs from SHA256SUMS")
    ]


def test_missing_images_give_one_sentence_with_the_kaggle_steps(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNBOOK_DATA", str(tmp_path))
    with pytest.raises(DataError) as error:
        find_dogs_vs_cats_images()
    message = str(error.value)
    assert "\n" not in message
    assert str(tmp_path / "dogs-vs-cats" / "train") in message
    assert "kaggle competitions download -c dogs-vs-cats" in message


def test_find_uses_the_local_copy_or_an_explicit_folder(kaggle_folder, monkeypatch):
    monkeypatch.setenv("CNNBOOK_DATA", str(kaggle_folder.parent.parent))
    assert find_dogs_vs_cats_images() == kaggle_folder
    monkeypatch.delenv("CNNBOOK_DATA")
    assert find_dogs_vs_cats_images(kaggle_folder) == kaggle_folder


def test_training_set_draws_new_batches_every_epoch(kaggle_folder, tmp_path):
    subset = tmp_path / "subset"
    make_dogs_vs_cats_subset(
        kaggle_folder, subset, {"train": (0, 6), "validation": (6, 7), "test": (7, 8)}
    )
    train = load_dogs_vs_cats_datasets(subset, image_size=(8, 8), batch_size=4, seed=1)[
        "train"
    ]
    epochs = [[tuple(labels.numpy()) for _, labels in train] for _ in range(4)]
    images, labels = next(iter(train))
    assert images.shape == (4, 8, 8, 3) and labels.shape == (4,)
    assert sorted(sum(epochs[0], ())) == [0] * 6 + [1] * 6
    assert len(set(map(tuple, epochs))) > 1, "the cache froze the batches"


def test_overlapping_splits_are_refused(kaggle_folder, tmp_path):
    with pytest.raises(ValueError, match="Image 3 is in both 'train' and 'test'"):
        make_dogs_vs_cats_subset(
            kaggle_folder, tmp_path / "subset", {"train": (0, 4), "test": (3, 5)}
        )


def test_book_datasets_run_without_the_autotuner(kaggle_folder, tmp_path):
    # With tf.data's autotuner on, TF 2.21 waits at the end of each pass for its
    # thread to wake (helpers docstring).
    subset = tmp_path / "subset"
    make_dogs_vs_cats_subset(
        kaggle_folder, subset, {"train": (0, 2), "validation": (2, 3), "test": (3, 4)}
    )
    datasets = load_dogs_vs_cats_datasets(subset, image_size=(8, 8), batch_size=2)
    assert {
        split: dataset.options().autotune.enabled for split, dataset in datasets.items()
    } == {"train": False, "validation": False, "test": False}


def test_subset_names_unreadable_files_and_copies_the_rest(kaggle_folder, tmp_path):
    """A folder with an image's name and a link to nothing cannot be read.

    (Both fail for root too, unlike a file without read permission.)
    """
    (kaggle_folder / "cat.2.jpg").unlink()
    (kaggle_folder / "cat.2.jpg").mkdir()
    (kaggle_folder / "dog.3.jpg").unlink()
    (kaggle_folder / "dog.3.jpg").symlink_to(tmp_path / "gone.jpg")
    subset = tmp_path / "subset"

    report = make_dogs_vs_cats_subset(kaggle_folder, subset, SPLITS)

    assert [name for name, _ in report.skipped] == ["cat.2.jpg", "dog.3.jpg"]
    assert all(why.startswith("unreadable (") for _, why in report.skipped), report
    assert report.counts["train"] == {"cat": 3, "dog": 3}
    assert not list(subset.rglob("*.partial"))
