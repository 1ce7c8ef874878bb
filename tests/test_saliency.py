"""Unit tests of helpers.saliency and plot_heatmap_overlays.

They run on tiny arrays and models.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from helpers.plots import plot_heatmap_overlays  # noqa: E402
from helpers.saliency import (  # noqa: E402
    copy_model,
    edge_map,
    occlusion_map,
    patch_means,
    patch_positions,
    rank_correlation,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_rank_correlation_by_hand():
    assert rank_correlation([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert rank_correlation([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ranks (1, 2, 3) and (1, 3, 2): d = (0, 1, 1), rho = 1 - 6 * 2 / (3 * 8) = 0.5
    assert rank_correlation([1, 2, 3], [5, 9, 7]) == pytest.approx(0.5)
    # only the order counts: a monotone change of one map leaves rho at 1
    a = np.random.default_rng(0).random((7, 7))
    assert rank_correlation(a, np.exp(5 * a)) == pytest.approx(1.0)


def test_rank_correlation_matches_scipy_with_ties():
    rng = np.random.default_rng(1)
    a = np.maximum(rng.normal(size=(7, 7)), 0)  # many zeros, as after a ReLU
    b = np.maximum(a + rng.normal(scale=0.5, size=(7, 7)), 0)
    assert rank_correlation(a, b) == pytest.approx(
        spearmanr(a.ravel(), b.ravel()).statistic
    )
    assert 0 < rank_correlation(a, b) < 1


def test_rank_correlation_of_a_constant_map_is_zero():
    assert rank_correlation(np.zeros((7, 7)), np.arange(49).reshape(7, 7)) == 0.0


def test_rank_correlation_refuses_maps_of_different_sizes():
    with pytest.raises(ValueError, match="49 and 16"):
        rank_correlation(np.zeros((7, 7)), np.zeros((4, 4)))


def test_patch_positions():
    assert patch_positions(224, 32, 16).tolist() == list(range(0, 193, 16))
    assert patch_positions(8, 4, 4).tolist() == [0, 4]
    with pytest.raises(ValueError, match="does not fit"):
        patch_positions(8, 9, 1)


def bright_top_left(images):
    """A 'model': the mean of the top-left 2 x 2 pixels of channel 0, divided by 100."""
    return np.asarray(images)[:, :2, :2, 0].mean(axis=(1, 2)) / 100


def test_occlusion_map_by_hand():
    image = np.full((4, 4, 3), 100.0)
    drops = occlusion_map(bright_top_left, image, patch=2, fill=0.0)
    # hiding the top-left patch takes the whole score (1.0); the others change nothing
    np.testing.assert_allclose(drops, [[1.0, 0.0], [0.0, 0.0]])


def test_occlusion_map_with_overlapping_patches_and_small_batches():
    image = np.full((4, 4, 1), 100.0)
    drops = occlusion_map(
        bright_top_left, image, patch=2, stride=1, fill=0.0, batch_size=2
    )
    assert drops.shape == (3, 3)
    # the patch at (r, c) covers (2 - r) x (2 - c) of the 4 top-left pixels,
    # where r, c < 2
    expected = np.array([[4, 2, 0], [2, 1, 0], [0, 0, 0]]) / 4
    np.testing.assert_allclose(drops, expected)


def test_patch_means_on_the_heatmaps_own_grid_is_the_heatmap():
    heatmap = np.arange(49, dtype=float).reshape(7, 7)
    np.testing.assert_allclose(patch_means(heatmap, (224, 224), 32), heatmap)


def test_patch_means_with_overlapping_patches():
    heatmap = np.array([[0.0, 1.0], [2.0, 3.0]])
    means = patch_means(heatmap, (4, 4), patch=2, stride=1)
    # the middle patch covers one pixel of each cell; the corners cover one cell each
    np.testing.assert_allclose(
        means, [[0.0, 0.5, 1.0], [1.0, 1.5, 2.0], [2.0, 2.5, 3.0]]
    )


def test_patch_means_when_cells_do_not_divide_the_image():
    heatmap = np.array([[1.0, 0.0], [0.0, 0.0]])
    means = patch_means(
        heatmap, (5, 5), patch=5
    )  # pixels 0-2 belong to the first cell (2 * 3 // 5 = 1)
    np.testing.assert_allclose(means, [[9 / 25]])


def tiny_nested_model():
    """Input -> x / 2 -> nested conv model -> nested head.

    It is like chapter 7's model in small.
    """
    import keras

    conv_in = keras.Input((8, 8, 3))
    conv = keras.Model(
        conv_in, keras.layers.Conv2D(4, 3, activation="relu")(conv_in), name="base"
    )
    head_in = keras.Input((6, 6, 4))
    pooled = keras.layers.GlobalAveragePooling2D()(head_in)
    head = keras.Model(
        head_in,
        keras.layers.Dense(1, activation="sigmoid", dtype="float32")(pooled),
        name="classifier",
    )
    inputs = keras.Input((8, 8, 3))
    return keras.Model(inputs, head(conv(inputs / 2.0)))


def layer_policies(model):
    import keras

    found = set()
    for layer in model.layers:
        found.update(
            layer_policies(layer)
            if isinstance(layer, keras.Model)
            else [layer.dtype_policy.name]
        )
    return found


def test_copy_model_to_float32_keeps_the_weights_and_changes_every_policy():
    import keras

    keras.utils.set_random_seed(0)
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = tiny_nested_model()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert "mixed_bfloat16" in layer_policies(model)
    copy = copy_model(model, "float32")
    assert layer_policies(copy) == {"float32"}
    assert [layer.name for layer in copy.layers] == [
        layer.name for layer in model.layers
    ]
    for a, b in zip(model.get_weights(), copy.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(0).uniform(0, 255, (5, 8, 8, 3)).astype("float32")
    bf16, f32 = np.asarray(model(x), dtype="float32"), np.asarray(copy(x))
    assert np.abs(bf16 - f32).max() < 0.05  # the same function, up to bfloat16 rounding
    inner = copy.get_layer("base").layers[-1]
    assert inner.compute_dtype == "float32" and inner.output.dtype == "float32"


def test_copy_model_without_weights_draws_fresh_ones():
    import keras

    keras.utils.set_random_seed(0)
    model = tiny_nested_model()
    model.get_layer("base").set_weights(
        [w + 1.0 for w in model.get_layer("base").get_weights()]
    )
    fresh = copy_model(model, "float32", weights=False)
    kernel, bias = fresh.get_layer("base").get_weights()
    assert kernel.shape == (3, 3, 3, 4) and not bias.any()  # as Conv2D initialises them
    assert not np.allclose(kernel, model.get_layer("base").get_weights()[0])


def test_heatmap_overlays_stretch_each_map_over_its_image():
    images = np.random.default_rng(0).uniform(0, 255, (3, 20, 30, 3))
    heatmaps = [np.arange(6.0).reshape(2, 3) * (i + 1) for i in range(3)]
    fig = plot_heatmap_overlays(
        images, heatmaps, ["a", "b", "c"], ncols=2, title="maps"
    )
    shown = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 4 and len(shown) == 3
    photo, overlay = shown[2].images
    assert photo.get_array().shape == (20, 30, 3) and photo.get_array().max() <= 1.0
    assert overlay.get_extent() == [0, 30, 20, 0]
    assert overlay.get_clim() == (0, 15.0)  # each map on its own scale, from 0
    assert overlay.get_interpolation() == "bilinear"
    assert shown[2].get_title() == "c" and fig._suptitle.get_text() == "maps"


def test_heatmap_overlays_as_blocks_and_mismatched_counts():
    fig = plot_heatmap_overlays(np.zeros((1, 8, 8, 3)), [np.ones((2, 2))], smooth=False)
    assert fig.axes[0].images[1].get_interpolation() == "nearest"
    with pytest.raises(ValueError, match="2 images for 1 heatmaps"):
        plot_heatmap_overlays(np.zeros((2, 8, 8, 3)), [np.ones((2, 2))])


def test_edge_map_is_high_where_the_image_has_edges():
    image = np.zeros((28, 28, 3))
    image[:, 14:] = 255.0  # one vertical edge between columns 13 and 14
    edges = edge_map(image, (7, 7))
    assert edges.shape == (7, 7)
    # the edge lies in grid column 3 (pixels 12-15), nowhere else:
    assert np.all(edges[:, 3] > 0)
    assert np.allclose(np.delete(edges, 3, axis=1), 0)
    assert np.allclose(edges[:, 3], edges[0, 3])  # the same down the edge


def test_edge_map_averages_cells_of_unequal_size_and_grey_images():
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (30, 20))
    edges = edge_map(image, (7, 3))
    assert edges.shape == (7, 3) and np.all(edges > 0)
    assert np.allclose(edge_map(np.repeat(image[..., None], 3, axis=-1), (7, 3)), edges)
    with pytest.raises(ValueError):
        edge_map(image, (31, 2))
