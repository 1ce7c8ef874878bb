"""Images per second: the reference code's way next to the book's.

Used by the speed page (`chapters/appendix_speed_on_a_cpu.ipynb`) and by `make bench`
(`publish/bench.py`). Three workloads, each measured on the book's real data:

* training steps of the Fashion-MNIST convnet on NumPy arrays;
* epochs of the dogs-vs-cats convnet read from the JPEG folders,
  training and validation as the chapter runs them (after a first, untimed
  epoch, which also fills any cache);
* VGG16 feature extraction, as in transfer learning (random weights: the speed
  is the same).

"plain" is the way reference code writes it: float32, Keras's default batch
of 32, one step per call, a directory dataset as Keras makes it (decoded
again every epoch, in parallel and prefetched, tuned by tf.data's autotuner,
but not cached), one `predict` call per batch. The other ways add the book's
levers one at a time. The ways of one workload are timed in turns (see
`time_in_turns`).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path


def time_in_turns(runs: dict, images: int, repeats: int = 3) -> dict:
    """Time several ways of doing the same work, side by side.

    Return each way's images per second. ``runs`` maps a way's name to a
    function that does the work on ``images`` images. Each is called once
    untimed (tracing, caches), then ``repeats`` rounds call each in turn, so
    that a slow spell of the machine falls on every way alike rather than on one
    of them. A way's speed is the mean over its timed calls (all their images
    over all their seconds): a pause that comes with a way, such as the wait for
    tf.data's autotuner at the end of a pass (see
    ``load_dogs_vs_cats_datasets``), counts as often as it happens, as it does
    in a chapter's run.
    """
    for run in runs.values():
        run()
    seconds = {name: 0.0 for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            seconds[name] += time.perf_counter() - started
    return {name: images * repeats / total for name, total in seconds.items()}


@contextmanager
def dtype_policy(name: str):
    """``with dtype_policy("mixed_bfloat16"):`` builds models under that policy.

    On leaving, it restores the old policy.
    """
    import keras

    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def fashion_training_run(
    x,
    y,
    steps_per_execution: int = 1,
    policy: str = "float32",
    jit_compile: bool = False,
):
    """Chapter 2's convnet, compiled as given.

    Return a function that trains it one epoch on ``x``, ``y`` (batch 32).
    """
    from helpers.models import build_fashion_convnet

    with dtype_policy(policy):
        model = build_fashion_convnet()
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
        jit_compile=jit_compile,
    )
    return lambda: model.fit(x, y, batch_size=32, epochs=1, verbose=0)


def dogs_epoch_run(subset: Path, cached: bool, policy: str = "float32"):
    """Chapter 5's training; return a function that runs one epoch.

    One epoch is a pass over ``subset/train``, then over ``validation``. Cached:
    the book's ``load_dogs_vs_cats_datasets``. Plain:
    ``image_dataset_from_directory`` as the reference code calls it.
    """
    import keras

    from helpers.dogs_vs_cats import (
        DOGS_VS_CATS_CLASS_NAMES,
        load_dogs_vs_cats_datasets,
    )
    from helpers.models import dogs_vs_cats_convnet

    if cached:
        datasets = load_dogs_vs_cats_datasets(subset, (180, 180), 32)
    else:
        datasets = {
            split: keras.utils.image_dataset_from_directory(
                Path(subset) / split,
                image_size=(180, 180),
                batch_size=32,
                verbose=False,
                class_names=list(DOGS_VS_CATS_CLASS_NAMES),
            )
            for split in ("train", "validation")
        }
    with dtype_policy(policy):
        model = dogs_vs_cats_convnet()
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    # The datasets shuffle themselves; shuffle=False only spares Keras's warning
    # that it ignores its own shuffle.
    return lambda: model.fit(
        datasets["train"],
        validation_data=datasets["validation"],
        epochs=1,
        verbose=0,
        shuffle=False,
    )


def vgg16_extraction_run(
    subset: Path,
    images: int,
    one_pass: bool,
    policy: str = "float32",
    batch_size: int = 128,
):
    """Transfer learning: return a function that runs VGG16's base over training images.

    It runs over the first ``images`` training images (a multiple of 32). The
    plain way loops over a directory dataset and calls ``predict`` per batch of
    32; the one-pass way loads the images as one array (as the transfer-learning
    chapter does) and calls ``predict`` once with ``batch_size``.
    """
    import keras
    import numpy as np

    from helpers.dogs_vs_cats import DOGS_VS_CATS_CLASS_NAMES, load_dogs_vs_cats_arrays
    from helpers.pretrained import load_vgg16_conv_base

    with dtype_policy(policy):
        base = load_vgg16_conv_base(None)
    preprocess = keras.applications.vgg16.preprocess_input
    if one_pass:

        def run():
            arrays, _ = load_dogs_vs_cats_arrays(subset, "train")
            return base.predict(
                preprocess(arrays[:images].copy()), batch_size=batch_size, verbose=0
            ).astype("float32")
    else:
        dataset = keras.utils.image_dataset_from_directory(
            Path(subset) / "train",
            image_size=(180, 180),
            batch_size=32,
            shuffle=False,
            verbose=False,
            class_names=list(DOGS_VS_CATS_CLASS_NAMES),
        ).take(images // 32)

        def run():
            return np.concatenate(
                [base.predict(preprocess(x), verbose=0) for x, _ in dataset]
            )

    return run


def count_jpegs(folder: Path) -> int:
    """Return how many ``.jpg`` files the class folders of ``folder`` hold."""
    return len(list(Path(folder).glob("*/*.jpg")))


def compare_speeds(
    subset: Path,
    fashion_images: int = 9_600,
    vgg16_images: int = 96,
    repeats: int = 5,
    progress=print,
) -> list[dict]:
    """Measure every workload the plain way, with each lever, and the book's way.

    Return one dict per row. ``subset`` is a dogs-vs-cats subset folder (train/
    and validation/, each with cat/ and dog/) with at least ``vgg16_images``
    training images. Each row has the workload, the way, whether it is how the
    book runs (``book``), images per second and the ratio to the plain way. The
    book's dtype policy is what ``use_fastest_precision`` picks here.
    """
    import keras

    from helpers.data import load_fashion_mnist
    from helpers.machine import use_fastest_precision

    with dtype_policy("float32"):
        use_fastest_precision()
        fastest = keras.mixed_precision.global_policy().name
    (x, y), _ = load_fashion_mnist()
    x, y = (x[:fashion_images] / 255.0).astype("float32")[..., None], y[:fashion_images]
    workloads = {
        "Fashion-MNIST: convnet training": (
            len(x),
            {
                "plain: float32, 1 step per call": fashion_training_run(x, y),
                "32 steps per call": fashion_training_run(x, y, 32),
                "XLA (jit_compile=True), 32 steps per call": fashion_training_run(
                    x, y, 32, jit_compile=True
                ),
                f"book: 32 steps per call, {fastest}": fashion_training_run(
                    x, y, 32, fastest
                ),
            },
        ),
        "dogs vs cats: epoch from JPEGs": (
            count_jpegs(Path(subset) / "train")
            + count_jpegs(Path(subset) / "validation"),
            {
                "plain: decoded again every epoch, float32": dogs_epoch_run(
                    subset, cached=False
                ),
                "cached, no autotuner, float32": dogs_epoch_run(subset, cached=True),
                f"book: cached, no autotuner, {fastest}": dogs_epoch_run(
                    subset, cached=True, policy=fastest
                ),
            },
        ),
        "VGG16 feature extraction": (
            vgg16_images,
            {
                "plain: predict per batch of 32, float32": vgg16_extraction_run(
                    subset, vgg16_images, one_pass=False
                ),
                "one predict, batch 128, float32": vgg16_extraction_run(
                    subset, vgg16_images, one_pass=True
                ),
                f"book: one predict, batch 128, {fastest}": vgg16_extraction_run(
                    subset, vgg16_images, one_pass=True, policy=fastest
                ),
            },
        ),
    }
    rows: list[dict] = []
    for workload, (images, runs) in workloads.items():
        progress(workload)
        speeds = time_in_turns(runs, images, repeats)
        plain = next(iter(speeds.values()))
        for way, speed in speeds.items():
            rows.append(
                {
                    "workload": workload,
                    "way": way,
                    "book": way.startswith("book"),
                    "images_per_second": speed,
                    "ratio_to_plain": speed / plain,
                }
            )
            progress(f"  {way:<45} {speed:7.1f} images/s {speed / plain:5.2f}x")
    return rows
