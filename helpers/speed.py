"""Images per second: the reference code's way next to the book's.

Used by the speed page (`chapters/speed_on_a_cpu.ipynb`) and by `make bench`
(`tests/bench.py`). Three workloads, each measured on the book's real data:

* chapter 1: training steps of the Fashion-MNIST convnet on NumPy arrays;
* chapter 4: training epochs of the dogs-vs-cats convnet read from the JPEG
  folders (after a first, untimed epoch, which also fills any cache);
* chapter 5: VGG16 feature extraction (random weights: the speed is the same).

"plain" is the way reference code writes it: float32, Keras's default batch
of 32, one step per call, a directory dataset with no cache or prefetch, one
`predict` call per batch. The other ways add the book's levers one at a time.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path


def best_images_per_second(run, images: int, repeats: int = 3) -> float:
    """Call ``run()`` once untimed (tracing, caches), then ``repeats`` times; return the fastest call's images/s.

    The fastest call is the one least disturbed by whatever else the machine did.
    """
    run()
    fastest = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        fastest = min(fastest, time.perf_counter() - started)
    return images / fastest


@contextmanager
def dtype_policy(name: str):
    """``with dtype_policy("mixed_bfloat16"):`` builds models under that policy, then restores the old one."""
    import keras

    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def fashion_training_speed(images: int, steps_per_execution: int = 1, policy: str = "float32",
                           jit_compile: bool = False, repeats: int = 3) -> float:
    """Chapter 1's convnet: images per second of one epoch of ``fit`` on the first ``images`` training images."""
    from helpers.data import load_fashion_mnist
    from helpers.models import build_fashion_convnet

    (x, y), _ = load_fashion_mnist()
    x = (x[:images] / 255.0).astype("float32")[..., None]
    with dtype_policy(policy):
        model = build_fashion_convnet()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  steps_per_execution=steps_per_execution, jit_compile=jit_compile)
    return best_images_per_second(lambda: model.fit(x, y[:images], batch_size=32, epochs=1, verbose=0),
                                  len(x), repeats)


def dogs_vs_cats_convnet():
    """Chapter 4's 991,041-parameter convnet (its last layer computes in float32)."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(180, 180, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    for filters in (32, 64, 128, 256):
        x = layers.Conv2D(filters, 3, activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(256, 3, activation="relu")(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32")(x)
    return keras.Model(inputs, outputs)


def dogs_epoch_speed(subset: Path, cached: bool, policy: str = "float32", repeats: int = 3) -> float:
    """Chapter 4's training: images per second of one epoch read from ``subset/train``."""
    import keras

    from helpers.dogs_vs_cats import DOGS_VS_CATS_CLASS_NAMES, load_dogs_vs_cats_datasets

    if cached:
        train = load_dogs_vs_cats_datasets(subset, (180, 180), 32)["train"]
    else:
        train = keras.utils.image_dataset_from_directory(
            Path(subset) / "train", image_size=(180, 180), batch_size=32, verbose=False,
            class_names=list(DOGS_VS_CATS_CLASS_NAMES))
    with dtype_policy(policy):
        model = dogs_vs_cats_convnet()
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    images = sum(len(labels) for _, labels in train)
    return best_images_per_second(lambda: model.fit(train, epochs=1, verbose=0), images, repeats)


def vgg16_extraction_speed(subset: Path, images: int, one_pass: bool, policy: str = "float32",
                           batch_size: int = 128, repeats: int = 3) -> float:
    """Chapter 5: images per second of VGG16's base over the first ``images`` training images (a multiple of 32).

    The plain way loops over a directory dataset and calls ``predict`` per batch
    of 32; the one-pass way loads the images as one array (as chapter 5 does)
    and calls ``predict`` once with ``batch_size``.
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
            return base.predict(preprocess(arrays[:images].copy()), batch_size=batch_size, verbose=0).astype("float32")
    else:
        dataset = keras.utils.image_dataset_from_directory(
            Path(subset) / "train", image_size=(180, 180), batch_size=32, shuffle=False, verbose=False,
            class_names=list(DOGS_VS_CATS_CLASS_NAMES)).take(images // 32)

        def run():
            return np.concatenate([base.predict(preprocess(x), verbose=0) for x, _ in dataset])
    return best_images_per_second(run, images, repeats)


def compare_speeds(subset: Path, fashion_images: int = 9_600, vgg16_images: int = 96,
                   repeats: int = 3, progress=print) -> list[dict]:
    """Measure every workload the plain way, with each lever, and the book's way; return one dict per row.

    ``subset`` is a dogs-vs-cats subset folder (train/cat, train/dog) with at
    least ``vgg16_images`` training images. Each row has the workload, the way,
    whether it is how the book runs (``book``), images per second and the
    ratio to the plain way. The book's dtype policy is what
    ``use_fastest_precision`` picks here.
    """
    import keras

    from helpers.machine import use_fastest_precision

    with dtype_policy("float32"):
        use_fastest_precision()
        fastest = keras.mixed_precision.global_policy().name
    ways = [
        ("chapter 1: convnet training", "plain: float32, 1 step per call", False,
         lambda: fashion_training_speed(fashion_images, repeats=repeats)),
        ("chapter 1: convnet training", "32 steps per call", False,
         lambda: fashion_training_speed(fashion_images, 32, repeats=repeats)),
        ("chapter 1: convnet training", "XLA (jit_compile=True), 32 steps per call", False,
         lambda: fashion_training_speed(fashion_images, 32, jit_compile=True, repeats=repeats)),
        ("chapter 1: convnet training", f"book: 32 steps per call, {fastest}", True,
         lambda: fashion_training_speed(fashion_images, 32, fastest, repeats=repeats)),
        ("chapter 4: training epoch from JPEGs", "plain: no cache or prefetch, float32", False,
         lambda: dogs_epoch_speed(subset, cached=False, repeats=repeats)),
        ("chapter 4: training epoch from JPEGs", "cache + prefetch, float32", False,
         lambda: dogs_epoch_speed(subset, cached=True, repeats=repeats)),
        ("chapter 4: training epoch from JPEGs", f"book: cache + prefetch, {fastest}", True,
         lambda: dogs_epoch_speed(subset, cached=True, policy=fastest, repeats=repeats)),
        ("chapter 5: VGG16 feature extraction", "plain: predict per batch of 32, float32", False,
         lambda: vgg16_extraction_speed(subset, vgg16_images, one_pass=False, repeats=repeats)),
        ("chapter 5: VGG16 feature extraction", "one predict, batch 128, float32", False,
         lambda: vgg16_extraction_speed(subset, vgg16_images, one_pass=True, repeats=repeats)),
        ("chapter 5: VGG16 feature extraction", f"book: one predict, batch 128, {fastest}", True,
         lambda: vgg16_extraction_speed(subset, vgg16_images, one_pass=True, policy=fastest, repeats=repeats)),
    ]
    rows: list[dict] = []
    for workload, way, book, measure in ways:
        speed = measure()
        plain = next((r["images_per_second"] for r in rows if r["workload"] == workload), speed)
        rows.append({"workload": workload, "way": way, "book": book,
                     "images_per_second": speed, "ratio_to_plain": speed / plain})
        progress(f"{workload:<37} {way:<47} {speed:8.1f} images/s {speed / plain:5.2f}x")
    return rows
