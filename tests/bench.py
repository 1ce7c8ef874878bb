"""Images per second: the plain way next to the book's way, on this machine (`make bench`).

Three workloads, each on the book's real data and measured twice in one run:

* chapter 1: training steps of the Fashion-MNIST convnet;
* chapter 4: one training epoch of the dogs-vs-cats convnet read from the JPEG
  folders (the epoch after the first, so that a cache has been filled);
* chapter 5: VGG16 feature extraction (random weights: the speed is the same).

"plain" is how reference code writes it (a directory dataset with no cache or
prefetch, float32, Keras's default batch of 32, a `predict` call per batch);
"book" is how the chapter runs it. Candidate levers the book does not use
(XLA, mixed precision) are measured too, so the table shows why. The table is
printed and saved as JSON under _output/bench/. Sizes are small so the whole
benchmark takes a few minutes; images per second do not depend on them.

    python tests/bench.py            # or: make bench
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

BOOK = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BOOK))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from helpers import (  # noqa: E402
    DOGS_VS_CATS_CLASS_NAMES,
    build_fashion_convnet,
    describe_machine,
    find_dogs_vs_cats_images,
    load_dogs_vs_cats_arrays,
    load_dogs_vs_cats_datasets,
    load_fashion_mnist,
    load_vgg16_conv_base,
    make_dogs_vs_cats_subset,
    use_fastest_precision,
)

OUTPUT = BOOK / "_output" / "bench"
FASHION_IMAGES = 9_600  # 300 batches of 32
DOGS_SPLITS = {"train": (0, 160), "validation": (1000, 1016), "test": (1500, 1516)}  # 320 training images
VGG16_IMAGES = 96


def images_per_second(run, images: int, repeats: int = 1) -> float:
    """Call run() once to warm up (tracing, caches), then time ``repeats`` calls."""
    run()
    started = time.perf_counter()
    for _ in range(repeats):
        run()
    return images * repeats / (time.perf_counter() - started)


def fashion_training(jit_compile=False, policy="float32") -> float:
    """Chapter 1's convnet, one epoch of fit on NumPy arrays, batch 32."""
    keras.mixed_precision.set_global_policy(policy)
    (x, y), _ = load_fashion_mnist()
    x = (x[:FASHION_IMAGES] / 255.0).astype("float32")[..., None]
    y = y[:FASHION_IMAGES]
    model = build_fashion_convnet()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=jit_compile)
    result = images_per_second(lambda: model.fit(x, y, batch_size=32, epochs=1, verbose=0), len(x))
    keras.mixed_precision.set_global_policy("float32")
    return result


def dogs_convnet() -> keras.Model:
    """Chapter 4's 991,041-parameter convnet (the last layer stays float32)."""
    from keras import layers

    inputs = keras.Input(shape=(180, 180, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    for filters in (32, 64, 128, 256):
        x = layers.Conv2D(filters, 3, activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(256, 3, activation="relu")(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(1, activation="sigmoid", dtype="float32")(x)
    model = keras.Model(inputs, outputs)
    assert model.count_params() == 991_041, model.count_params()
    return model


def dogs_epoch(subset: Path, way: str, policy="float32") -> float:
    """One epoch of chapter 4's training, from the JPEG folders."""
    keras.mixed_precision.set_global_policy(policy)
    if way == "plain":
        train = keras.utils.image_dataset_from_directory(
            subset / "train", image_size=(180, 180), batch_size=32, verbose=False,
            class_names=list(DOGS_VS_CATS_CLASS_NAMES))
    else:
        train = load_dogs_vs_cats_datasets(subset, (180, 180), 32)["train"]
    model = dogs_convnet()
    model.compile(optimizer="rmsprop", loss="binary_crossentropy")
    images = sum(len(y) for _, y in train)
    result = images_per_second(lambda: model.fit(train, epochs=1, verbose=0), images)
    keras.mixed_precision.set_global_policy("float32")
    return result


def vgg16_extraction(subset: Path, way: str) -> float:
    """VGG16's convolutional base over the first VGG16_IMAGES training images."""
    base = load_vgg16_conv_base(None)
    preprocess = keras.applications.vgg16.preprocess_input
    if way == "plain":  # the reference code's loop: one predict call per batch of 32
        dataset = keras.utils.image_dataset_from_directory(
            subset / "train", image_size=(180, 180), batch_size=32, shuffle=False, verbose=False,
            class_names=list(DOGS_VS_CATS_CLASS_NAMES)).take(VGG16_IMAGES // 32)

        def run():
            return np.concatenate([base.predict(preprocess(x), verbose=0) for x, _ in dataset])
    else:  # the book: load the split as one array, one predict call with batches of 128
        def run():
            images, _ = load_dogs_vs_cats_arrays(subset, "train")
            return base.predict(preprocess(images[:VGG16_IMAGES].copy()), batch_size=128, verbose=0)
    return images_per_second(run, VGG16_IMAGES)


def main() -> int:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    subset = OUTPUT / "cats_vs_dogs_bench"
    make_dogs_vs_cats_subset(find_dogs_vs_cats_images(), subset, DOGS_SPLITS)
    rows = [
        ("chapter 1: convnet training", "plain (arrays, batch 32, float32)", fashion_training),
        ("chapter 1: convnet training", "with XLA (jit_compile=True)", lambda: fashion_training(jit_compile=True)),
        ("chapter 1: convnet training", "with mixed_bfloat16", lambda: fashion_training(policy="mixed_bfloat16")),
        ("chapter 4: training epoch from JPEGs", "plain (no cache, no prefetch)", lambda: dogs_epoch(subset, "plain")),
        ("chapter 4: training epoch from JPEGs", "book (cache + prefetch)", lambda: dogs_epoch(subset, "book")),
        ("chapter 4: training epoch from JPEGs", "book + mixed_bfloat16",
         lambda: dogs_epoch(subset, "book", policy="mixed_bfloat16")),
        ("chapter 5: VGG16 feature extraction", "plain (predict per batch of 32)", lambda: vgg16_extraction(subset, "plain")),
        ("chapter 5: VGG16 feature extraction", "book (one predict, batch 128)", lambda: vgg16_extraction(subset, "book")),
    ]
    results = []
    print(f"{'workload':<38} {'way':<36} {'images/s':>9} {'x plain':>8}", flush=True)
    for workload, way, measure in rows:
        speed = measure()
        plain = next((r["images_per_second"] for r in results if r["workload"] == workload), speed)
        results.append({"workload": workload, "way": way, "images_per_second": round(speed, 1),
                        "ratio_to_plain": round(speed / plain, 2)})
        print(f"{workload:<38} {way:<36} {speed:>9.1f} {speed / plain:>7.2f}x", flush=True)
    advice = use_fastest_precision()
    keras.mixed_precision.set_global_policy("float32")
    print(f"use_fastest_precision() on this machine: {advice}")
    report = {"machine": describe_machine(), "use_fastest_precision": advice, "tensorflow": tf.__version__, "keras": keras.__version__,
              "results": results}
    (OUTPUT / "bench.json").write_text(json.dumps(report, indent=2))
    print(f"saved {OUTPUT / 'bench.json'} ({report['machine']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
