"""The Kaggle dogs-vs-cats images: find them, make the book's subset, load it.

Used by chapters 5 to 8. The source is the ``train`` folder of Kaggle's
"Dogs vs. Cats" competition (``cat.0.jpg`` ... ``dog.12499.jpg``); the subset
is the split of *Deep Learning with Python*: images 0-999 of each class for
training, 1000-1499 for validation and 1500-2499 for testing.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from helpers.data import DATA_ENV, DataError, local_data_dir, sha256_of

DOGS_VS_CATS_CLASS_NAMES = ("cat", "dog")  # label 0 and label 1: folders sort this way
DOGS_VS_CATS_SPLITS = {
    "train": (0, 1000),
    "validation": (1000, 1500),
    "test": (1500, 2500),
}

KAGGLE_STEPS = (
    "accept the rules at https://www.kaggle.com/c/dogs-vs-cats/rules, run "
    "`kaggle competitions download -c dogs-vs-cats`, unzip it and the train.zip inside "
    "into ~/.keras/datasets/dogs-vs-cats/ (so that .../train/cat.0.jpg exists), "
    f"or set {DATA_ENV} to a folder holding dogs-vs-cats/train/"
)
IMAGE_NAME = re.compile(r"^(cat|dog)\.(\d+)\.jpg$")


def find_dogs_vs_cats_images(source_dir: str | os.PathLike | None = None) -> Path:
    """Return the folder of Kaggle's cat.N.jpg / dog.N.jpg training images.

    Looks in ``source_dir`` when given, else in ``$CNNBOOK_DATA/dogs-vs-cats/train``,
    else in ``~/.keras/datasets/dogs-vs-cats/train`` (where the README's Kaggle
    steps put it). Raises a one-sentence DataError when it is not there.
    """
    if source_dir is not None:
        folder = Path(source_dir).expanduser()
    elif (local := local_data_dir()) is not None:
        folder = local / "dogs-vs-cats" / "train"
    else:
        keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
        folder = keras_home / "datasets" / "dogs-vs-cats" / "train"
    if not (folder / "cat.0.jpg").is_file():
        raise DataError(
            f"The Kaggle dogs-vs-cats images are not in {folder} (no cat.0.jpg there): "
            f"{KAGGLE_STEPS}."
        )
    return folder


@dataclass
class SubsetReport:
    """What :func:`make_dogs_vs_cats_subset` did.

    It holds the image counts and the files it left out.
    """

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file name, why)
    ignored: list[str] = field(default_factory=list)  # not named cat.N.jpg / dog.N.jpg
    copied: int = 0

    def __str__(self) -> str:
        lines = [
            f"{split:<11}"
            + "  ".join(f"{name}: {n:>4}" for name, n in per_class.items())
            for split, per_class in self.counts.items()
        ]
        lines.append(f"copied {self.copied} files (the others were already there)")
        lines += [f"skipped {name}: {why}" for name, why in self.skipped]
        if self.ignored:
            lines.append(
                f"ignored {len(self.ignored)} files not named cat.N.jpg or dog.N.jpg: "
                + ", ".join(self.ignored[:10])
                + (" ..." if len(self.ignored) > 10 else "")
            )
        return "\n".join(lines)


def decoding_problem(path: Path) -> str | None:
    """Return why TensorFlow cannot decode ``path`` as an image, or None when it can."""
    import tensorflow as tf

    try:
        tf.io.decode_image(
            tf.io.read_file(str(path)), channels=3, expand_animations=False
        )
    except tf.errors.OpError as error:
        reason = (
            str(error.message).strip().splitlines()[0]
            if error.message
            else type(error).__name__
        )
        if isinstance(error, tf.errors.InvalidArgumentError):
            return f"not a decodable image ({reason})"
        return f"unreadable ({reason})"
    return None


def read_sha256sums(folder: Path) -> dict[str, str]:
    """Return {file name: sha256} from a SHA256SUMS file beside ``folder``, or {}."""
    sums = folder.parent / "SHA256SUMS"
    if not sums.is_file():
        return {}
    pairs = (line.split() for line in sums.read_text().splitlines() if line.strip())
    return {name.lstrip("*"): digest for digest, name in pairs}


def copy_whole(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` so that ``target`` is never left half-written."""
    partial = target.with_name(target.name + ".partial")
    try:
        shutil.copyfile(source, partial)
        partial.replace(target)
    except BaseException as error:  # an interrupt too: no .partial is left
        partial.unlink(missing_ok=True)
        if not isinstance(error, OSError):
            raise
        raise DataError(
            f"Copying {source} to {target} failed ({error.strerror or error}): "
            f"free some space or fix the folder's permissions, then run again."
        ) from None


def make_dogs_vs_cats_subset(
    source_dir: str | os.PathLike,
    subset_dir: str | os.PathLike,
    splits: dict[str, tuple[int, int]] = DOGS_VS_CATS_SPLITS,
) -> SubsetReport:
    """Copy the book's split of ``source_dir`` into ``subset_dir/<split>/<class>/``.

    ``splits`` maps a split name to a half-open range of image numbers, taken
    for each class. Files that cannot be read or decoded (or whose sha256
    differs from a SHA256SUMS list beside the source) are named in the report
    and left out;
    files with other names are ignored and named. Safe to run twice: files
    already in place are kept. Used by chapters 5 to 8.
    """
    source, subset = Path(source_dir), Path(subset_dir)
    report = SubsetReport()
    wanted = {}
    for split, (start, stop) in splits.items():
        for number in range(start, stop):
            if number in wanted:
                raise ValueError(
                    f"Image {number} is in both {wanted[number]!r} and {split!r}: "
                    f"the ranges in splits must not overlap."
                )
            wanted[number] = split
    known_sha256 = read_sha256sums(source)
    present = set()
    for path in sorted(source.iterdir()):
        match = IMAGE_NAME.match(path.name)
        if not match:
            report.ignored.append(path.name)
            continue
        present.add((match[1], int(match[2])))
    for split in splits:
        for name in DOGS_VS_CATS_CLASS_NAMES:
            (subset / split / name).mkdir(parents=True, exist_ok=True)
    expected = {split: dict.fromkeys(DOGS_VS_CATS_CLASS_NAMES, 0) for split in splits}
    for name, (number, split) in (
        (n, item) for n in DOGS_VS_CATS_CLASS_NAMES for item in sorted(wanted.items())
    ):
        file_name = f"{name}.{number}.jpg"
        if (name, number) not in present:
            report.skipped.append((file_name, "missing from the source folder"))
            continue
        path = source / file_name
        try:
            if file_name in known_sha256 and sha256_of(path) != known_sha256[file_name]:
                problem = "damaged: its sha256 differs from SHA256SUMS"
            else:
                problem = decoding_problem(path)
        except OSError as error:  # a folder, a broken link, no permission
            problem = f"unreadable ({error.strerror or type(error).__name__})"
        if problem:
            report.skipped.append((file_name, problem))
            continue
        target = subset / split / name / file_name
        if not target.is_file() or target.stat().st_size != path.stat().st_size:
            copy_whole(path, target)
            report.copied += 1
        expected[split][name] += 1
    for split, per_class in expected.items():
        report.counts[split] = {}
        for name, count in per_class.items():
            folder = subset / split / name
            for leftover in folder.glob("*.jpg.partial"):  # a copy cut off by a kill
                leftover.unlink()
            found = sum(1 for p in folder.iterdir() if p.is_file())
            if found != count:
                raise DataError(
                    f"{folder} holds {found} files instead of {count}: it has "
                    f"files this step did not put there; delete {subset} and run "
                    "the step again."
                )
            report.counts[split][name] = found
    return report


def load_dogs_vs_cats_datasets(
    subset_dir: str | os.PathLike,
    image_size: tuple[int, int] = (180, 180),
    batch_size: int = 32,
    seed: int = 42,
) -> dict:
    """Return {"train", "validation", "test"}: batched tf.data datasets.

    Each dataset yields batches of (images, labels). Images are float32 RGB at
    ``image_size`` (values 0-255), labels 0 (cat) or 1 (dog). Decoded images are
    cached in memory after the first pass and the next batch is prepared while
    the model trains (``prefetch``). The training set is cached image by image
    and reshuffled after the cache, so every epoch sees new batches. Used by
    chapters 5 to 8.

    tf.data's autotuner is switched off for these datasets. With it on,
    TensorFlow 2.21 ends every pass (each epoch's training and validation) by
    waiting for the autotuner's thread to wake from its sleep, which grows to
    the length of an epoch: on 2 CPU cores some epochs took twice as long,
    idle. The fixed defaults it leaves (decoding on every core, a prefetch
    buffer that grows when the model waits) are what this pipeline needs.
    """
    import keras
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    datasets = {}
    for split in ("train", "validation", "test"):
        images = keras.utils.image_dataset_from_directory(
            Path(subset_dir) / split,
            image_size=image_size,
            batch_size=None,
            shuffle=False,
            class_names=list(DOGS_VS_CATS_CLASS_NAMES),
            verbose=False,
        )
        if split == "train":
            count = int(images.cardinality())
            images = images.cache().shuffle(count, seed=seed).batch(batch_size)
        else:
            images = images.batch(batch_size).cache()
        datasets[split] = images.prefetch(tf.data.AUTOTUNE).with_options(options)
    return datasets


def load_dogs_vs_cats_arrays(
    subset_dir: str | os.PathLike, split: str, image_size: tuple[int, int] = (180, 180)
) -> tuple:
    """Return every image of one split and its labels as NumPy arrays, in file order.

    Images are float32, (N, height, width, 3), values 0-255; labels are 0
    (cat) or 1 (dog). Chapter 7 passes them through a pretrained base in one
    ``predict`` call.
    """
    import keras
    import numpy as np

    dataset = keras.utils.image_dataset_from_directory(
        Path(subset_dir) / split,
        image_size=image_size,
        batch_size=256,
        shuffle=False,
        class_names=list(DOGS_VS_CATS_CLASS_NAMES),
        verbose=False,
    )
    batches = list(dataset.as_numpy_iterator())
    return np.concatenate([x for x, _ in batches]), np.concatenate(
        [y for _, y in batches]
    )


def data_augmentation():
    """Return a new block of random flips, rotations and zooms (chapters 5, 6, 7).

    Each call makes new layers, so two models draw their transformations
    independently. The layers take no seed of their own: layers given one seed
    would draw the same numbers, and their flips, rotations and zooms would
    move together; ``keras.utils.set_random_seed`` makes runs repeatable.
    They act only in training (``fit``); ``evaluate`` and ``predict`` pass
    images through unchanged.
    """
    import keras
    from keras import layers

    return keras.Sequential(
        [
            layers.RandomFlip("horizontal"),  # mirror left-right, half the time
            layers.RandomRotation(0.1),  # up to 10% of a turn (36 degrees) either way
            layers.RandomZoom(0.2),  # zoom in or out by up to 20%
        ],
        name="data_augmentation",
    )
