"""Chapter 8's tools: model copies, occlusion maps and rank correlation.

Grad-CAM itself is written out in the chapter. What is here is the
bookkeeping around it: a copy of a model under another dtype policy (or with
fresh random weights, for the sanity check), the occlusion map, a Grad-CAM
map averaged onto the occlusion grid, and the rank correlation that compares
two maps.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _with_policy(config, policy: str, compute_dtype: str):
    """Return ``config`` with every dtype policy set to ``policy``.

    Float dtypes are set to the policy's compute dtype.
    """
    if isinstance(config, list):
        return [_with_policy(item, policy, compute_dtype) for item in config]
    if not isinstance(config, dict):
        return config
    changed = {}
    for key, value in config.items():
        if (
            key == "dtype"
            and isinstance(value, dict)
            and value.get("class_name") == "DTypePolicy"
        ):
            value = {**value, "config": {**value["config"], "name": policy}}
        elif key == "dtype" and value in ("float16", "bfloat16", "float32"):
            value = compute_dtype  # an InputLayer's or a symbolic tensor's dtype
        else:
            value = _with_policy(value, policy, compute_dtype)
        changed[key] = value
    return changed


def copy_model(model, policy: str = "float32", weights: bool = True):
    """Return a copy of a Keras model in which every layer uses ``policy``.

    The layers of nested models use it too. With ``weights=True`` the copy gets
    the model's weights (stored in float32 under any policy, so nothing is
    lost); with ``weights=False`` it keeps the fresh weights its initialisers
    drew, as an untrained model would have. A model trained under
    ``mixed_bfloat16`` computes in bfloat16; its float32 copy computes the same
    function with 24 significant bits instead of 8. Used by chapter 8.
    """
    import keras

    compute_dtype = keras.DTypePolicy(policy).compute_dtype
    config = _with_policy(
        keras.saving.serialize_keras_object(model), policy, compute_dtype
    )
    copy = keras.saving.deserialize_keras_object(config)
    if weights:
        copy.set_weights(model.get_weights())
    return copy


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Return Spearman's rank correlation between two maps of the same shape.

    Both maps are flattened; ties get their average rank. A constant map has
    no ranking to agree with, so its correlation with anything is 0 (scipy
    would return nan). Used by chapter 8.
    """
    from scipy.stats import spearmanr

    a, b = (
        np.asarray(a, dtype="float64").ravel(),
        np.asarray(b, dtype="float64").ravel(),
    )
    if a.shape != b.shape:
        raise ValueError(f"maps of {a.size} and {b.size} values cannot be compared")
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(spearmanr(a, b).statistic)


def patch_positions(size: int, patch: int, stride: int) -> np.ndarray:
    """Return the first pixel of each patch along one side.

    They are 0, stride, ... up to size - patch.
    """
    if not 0 < patch <= size or stride < 1:
        raise ValueError(
            f"a patch of {patch} pixels with stride {stride} does not fit {size} pixels"
        )
    return np.arange(0, size - patch + 1, stride)


def occlusion_map(
    probability: Callable[[np.ndarray], np.ndarray],
    image: np.ndarray,
    patch: int,
    stride: int | None = None,
    fill: float = 128.0,
    batch_size: int = 64,
) -> np.ndarray:
    """Return how much hiding each patch of ``image`` lowers a probability.

    This is the occlusion map of Zeiler and Fergus (2014). ``probability`` maps
    a batch of images (N, height, width, channels) to N probabilities of one
    class. Each square patch of ``patch`` pixels, every ``stride`` pixels
    (default: the patch size), is set to ``fill`` (mid-grey for 0-255 images) in
    its own copy of the image. The result has one value per patch position,
    (rows, columns): the probability of the intact image minus that of the
    occluded copy, so positive values mark the regions the class depends on.
    Used by chapter 8.
    """
    image = np.asarray(image, dtype="float32")
    stride = stride or patch
    rows = patch_positions(image.shape[0], patch, stride)
    cols = patch_positions(image.shape[1], patch, stride)
    copies = np.repeat(image[np.newaxis], len(rows) * len(cols), axis=0)
    for i, (top, left) in enumerate((r, c) for r in rows for c in cols):
        copies[i, top : top + patch, left : left + patch] = fill
    intact = float(np.asarray(probability(image[np.newaxis])).ravel()[0])
    occluded = np.concatenate(
        [
            np.asarray(probability(copies[i : i + batch_size])).ravel()
            for i in range(0, len(copies), batch_size)
        ]
    )
    return (intact - occluded).reshape(len(rows), len(cols))


def patch_means(
    heatmap: np.ndarray,
    image_size: tuple[int, int],
    patch: int,
    stride: int | None = None,
) -> np.ndarray:
    """Return the mean of a coarse heatmap under each occlusion patch.

    The means lie on the occlusion map's grid. ``heatmap`` (h, w) covers the
    whole image; each of its cells stands for a block of about
    ``image_size / (h, w)`` pixels (a 7 x 7 map of a 224 x 224 image: 32 x 32
    pixels each). Spread over the pixels that way, then averaged over the
    patches of :func:`occlusion_map`, it can be compared with that map value by
    value. Used by chapter 8.
    """
    heatmap = np.asarray(heatmap, dtype="float64")
    height, width = image_size
    stride = stride or patch
    pixels = heatmap[
        np.ix_(
            np.arange(height) * heatmap.shape[0] // height,
            np.arange(width) * heatmap.shape[1] // width,
        )
    ]
    rows = patch_positions(height, patch, stride)
    cols = patch_positions(width, patch, stride)
    return np.array(
        [[pixels[r : r + patch, c : c + patch].mean() for c in cols] for r in rows]
    )


def edge_map(image: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """Return the image's edge strength, averaged onto a coarse grid.

    A baseline that needs no model and no learning: the Sobel gradient
    magnitude of the image's brightness (the mean of its channels), averaged
    over the pixels under each cell of a ``grid`` (rows, columns) that covers
    the whole image, as a Grad-CAM map of that shape does. A heatmap that
    correlates with it as well as with anything else says little more than
    where the photograph has edges. Used by chapter 8.
    """
    from scipy import ndimage

    image = np.asarray(image, dtype="float64")
    brightness = image.mean(axis=-1) if image.ndim == 3 else image
    magnitude = np.hypot(
        ndimage.sobel(brightness, axis=0), ndimage.sobel(brightness, axis=1)
    )
    height, width = magnitude.shape
    rows, cols = grid
    if not (0 < rows <= height and 0 < cols <= width):
        raise ValueError(f"a {rows} x {cols} grid does not fit {height} x {width}")
    row_of = np.arange(height) * rows // height
    col_of = np.arange(width) * cols // width
    sums = np.zeros(grid)
    np.add.at(sums, (row_of[:, None], col_of[None, :]), magnitude)
    counts = np.zeros(grid)
    np.add.at(counts, (row_of[:, None], col_of[None, :]), 1.0)
    return sums / counts
