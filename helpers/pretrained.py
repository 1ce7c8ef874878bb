"""ImageNet-pretrained convolutional bases for chapters 7 and 8, found offline too.

Keras downloads pretrained weights into its cache (``~/.keras/models/``, or
``$KERAS_HOME/models/``) on first use. Without internet, a copy in
``$CNNBOOK_DATA/keras-weights/`` is checked and placed in that cache, so that
``keras.applications`` finds it exactly as if it had downloaded it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
from pathlib import Path

import keras

from helpers.data import DATA_ENV, DataError, local_data_dir

VGG16_NO_TOP = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
MOBILENET_NO_TOP = (
    "mobilenet_2_5_224_tf_no_top.h5"  # MobileNet v1, alpha 0.25, 224 x 224
)
# (hash algorithm, digest, bytes): Keras's own md5 for VGG16, the file's sha256
# for MobileNet.
WEIGHT_FILES = {
    VGG16_NO_TOP: ("md5", "6d6bbae143d832006294945121d1f1fc", 58_889_256),
    MOBILENET_NO_TOP: (
        "sha256",
        "dbdb03ee2a22fd895301636cd328b234bb3a9952358f436d82f46b81e0d5b0bf",
        2_108_140,
    ),
}


def keras_cache_dir() -> Path:
    """Return the folder where keras.applications keeps downloaded weights."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "models"


def stage_local_weights(file_name: str) -> Path | None:
    """Return the weight file's place in the Keras cache, copying it there from
    ``$CNNBOOK_DATA/keras-weights/`` if needed; None when neither has it.

    A good file already in the cache is used as it is. A damaged one (a
    download cut short) is never deleted: it is renamed ``*.damaged`` (or
    ``*.damaged-2``, ...) so that a good local copy, or else a fresh download
    by Keras, takes its place. A local copy with the wrong hash is refused
    with a one-sentence DataError.
    """
    algorithm, digest, _ = WEIGHT_FILES[file_name]
    cached = keras_cache_dir() / file_name
    folder = local_data_dir()
    source = folder / "keras-weights" / file_name if folder else None
    has_source = source is not None and source.is_file()
    if has_source:
        actual = hashlib.new(algorithm, source.read_bytes()).hexdigest()
        if actual != digest:
            raise DataError(
                f"{source} is damaged or not the Keras file ({algorithm} "
                f"{actual[:12]}... instead of {digest[:12]}...): replace it with a "
                "fresh copy."
            )
    if cached.is_file():
        if hashlib.new(algorithm, cached.read_bytes()).hexdigest() == digest:
            return cached
        aside = cached.with_name(cached.name + ".damaged")
        number = 1
        while aside.exists():
            number += 1
            aside = cached.with_name(f"{cached.name}.damaged-{number}")
        cached.rename(aside)
    if not has_source:
        return None
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".partial")
    shutil.copyfile(source, partial)
    partial.replace(cached)
    return cached


def load_imagenet_base(application, file_name: str, weights, **kwargs) -> keras.Model:
    """Build ``application(weights=weights, include_top=False, **kwargs)``.

    With ``weights="imagenet"`` the weights come from the Keras cache, a local
    copy (see :func:`stage_local_weights`) or a download; when none works, one
    DataError sentence says what is missing and how to provide it.
    """
    if weights != "imagenet":
        return application(weights=weights, include_top=False, **kwargs)
    stage_local_weights(file_name)
    said = io.StringIO()  # Keras's "Downloading data from ..." line
    try:
        with contextlib.redirect_stdout(said):
            model = application(weights="imagenet", include_top=False, **kwargs)
    except Exception as error:  # Keras raises a bare Exception when the download fails
        if "fetch failure" not in str(error):
            raise
        size = WEIGHT_FILES[file_name][2]
        raise DataError(
            f"The ImageNet weights of {application.__name__} ({file_name}, "
            f"{size:,} bytes) are not on this machine and could not be downloaded: "
            f"connect to the internet, or put the file in {where_weights_go()}."
        ) from None
    print(said.getvalue(), end="")  # a download that worked is worth a line
    return model


def where_weights_go() -> str:
    """Name the folders where a weight file can be put, for the messages."""
    folder = local_data_dir()
    local = (
        f"{folder / 'keras-weights'}/ (the {DATA_ENV} folder)"
        if folder
        else f"${DATA_ENV}/keras-weights/"
    )
    return f"{local} or {keras_cache_dir()}/"


def load_vgg16_conv_base(weights="imagenet", input_shape=(180, 180, 3)) -> keras.Model:
    """Return VGG16's convolutional base (14,714,688 parameters). Used by chapter 7."""
    return load_imagenet_base(
        keras.applications.VGG16, VGG16_NO_TOP, weights, input_shape=input_shape
    )


def load_mobilenet_base(weights="imagenet", input_shape=(224, 224, 3)) -> keras.Model:
    """Return MobileNet v1's convolutional base at alpha 0.25 (218,544 parameters).

    Used by chapters 7 and 8.
    """
    return load_imagenet_base(
        keras.applications.MobileNet,
        MOBILENET_NO_TOP,
        weights,
        input_shape=input_shape,
        alpha=0.25,
    )


# The bases chapter 7 can teach with: their names in words and the image size
# each expects.
TRANSFER_BASES = {
    "vgg16": ("VGG16", (180, 180)),  # the published experiment's size
    "mobilenet": (
        "MobileNet v1 at width 0.25",
        (224, 224),
    ),  # the size its ImageNet file was trained at
}


def load_transfer_base(base: str = "auto") -> tuple[str, keras.Model, str]:
    """Return ``(name, base, why)``: a convolutional base with ImageNet weights.

    ``why`` is one sentence saying which base this is and why.

    ``base`` is "vgg16", "mobilenet" or "auto": VGG16 when its ImageNet weights
    can be had (Keras cache, ``$CNNBOOK_DATA`` or a download), MobileNet v1
    (alpha 0.25) otherwise. Used by chapter 7.
    """
    if base not in {"auto", *TRANSFER_BASES}:
        raise ValueError(
            f"BASE = {base!r} is not a base this chapter knows: "
            'use "vgg16", "mobilenet" or "auto".'
        )
    loaders = {"vgg16": load_vgg16_conv_base, "mobilenet": load_mobilenet_base}
    chosen = "vgg16" if base == "auto" else base
    words, size = TRANSFER_BASES[chosen]
    try:
        model = loaders[chosen]("imagenet", (*size, 3))
    except DataError as error:
        if "could not be downloaded" not in str(error):
            raise  # a damaged file: its own sentence says which and what to do
        if base == "auto":
            words, size = TRANSFER_BASES["mobilenet"]
            return (
                "mobilenet",
                load_mobilenet_base("imagenet", (*size, 3)),
                (
                    "VGG16's ImageNet weights are not on this machine and could not "
                    f"be downloaded, so this run uses {words}, whose ImageNet weights "
                    "are here (BASE = 'auto')."
                ),
            )
        other = "mobilenet" if base == "vgg16" else "vgg16"
        raise DataError(
            f"The ImageNet weights of {words} are not on this machine and could not "
            f"be downloaded: connect to the internet, put the file in "
            f"{where_weights_go()}, or set "
            f'BASE = "auto" or {other!r}.'
        ) from None
    if base == "auto":
        return (
            "vgg16",
            model,
            "VGG16's ImageNet weights are here, so this run repeats the published "
            "experiment (BASE = 'auto').",
        )
    return (
        base,
        model,
        f"This run uses {words} with its ImageNet weights (BASE = {base!r}).",
    )
