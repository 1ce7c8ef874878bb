"""Figures shared by the chapters. Each function draws one figure and returns it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

# The smallest text in the book's figures, in points (the image grids' titles).
# The tests hold every figure to it, and the website test checks that the page
# shows it at least 9 pixels high.
SMALLEST_FONT_PT = 8


def plot_history(
    history, metrics: Sequence[str] = ("loss",), mark_epoch: int | None = None
) -> Figure:
    """Return training and validation curves, one panel per metric.

    ``history`` is what ``model.fit`` returns (or its ``.history`` dict);
    ``mark_epoch`` (counted from 1), when given, is drawn as a dashed line,
    e.g. the epoch a checkpoint kept. Used by chapters 2, 4, 5, 6 and 7.
    """
    curves: Mapping[str, Sequence[float]] = getattr(history, "history", history)
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(5 * len(metrics), 3.5), squeeze=False
    )
    for ax, metric in zip(axes[0], metrics, strict=True):
        if metric not in curves:
            raise KeyError(f"history has no {metric!r}; it has {sorted(curves)}")
        epochs = np.arange(1, len(curves[metric]) + 1)
        ax.plot(epochs, curves[metric], "o-", label=f"training {metric}")
        if f"val_{metric}" in curves:
            ax.plot(epochs, curves[f"val_{metric}"], "s-", label=f"validation {metric}")
        if mark_epoch is not None:
            ax.axvline(
                mark_epoch, color="gray", linestyle="--", label=f"epoch {mark_epoch}"
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_xticks(epochs if len(epochs) <= 20 else epochs[:: len(epochs) // 10 + 1])
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def show_images(
    images: np.ndarray,
    titles: Sequence[str] | None = None,
    ncols: int = 10,
    size: float = 1.4,
) -> Figure:
    """Return a grid of grayscale or RGB images, each with an optional title.

    Images may be (N, H, W), (N, H, W, 1) or (N, H, W, 3). Used by chapters 2 and 5.
    """
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, size * nrows * 1.15), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(images[i], cmap="gray_r" if images[i].ndim == 2 else None)
        if titles is not None:
            ax.set_title(titles[i], fontsize=SMALLEST_FONT_PT)
    fig.tight_layout()
    return fig


def plot_class_probabilities(
    probabilities: Sequence[float],
    class_names: Sequence[str],
    true_class: int | None = None,
) -> Figure:
    """Return a horizontal bar chart of one prediction's class probabilities.

    The predicted class is drawn in a strong colour and the true class, when
    given, is named in the title. Used by chapter 2.
    """
    probabilities = np.asarray(probabilities, dtype=float)
    if len(probabilities) != len(class_names):
        raise ValueError(
            f"{len(probabilities)} probabilities for {len(class_names)} class names"
        )
    predicted = int(np.argmax(probabilities))
    colours = [
        "tab:blue" if i == predicted else "lightgray" for i in range(len(class_names))
    ]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    bars = ax.barh(np.arange(len(class_names)), probabilities, color=colours)
    ax.bar_label(
        bars,
        labels=[f"{p:.3f}" if p >= 0.001 else "" for p in probabilities],
        padding=3,
    )
    ax.set_yticks(np.arange(len(class_names)), labels=class_names)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.15)  # room for the labels
    ax.set_xticks(np.linspace(0, 1, 6))
    ax.set_xlabel("predicted probability")
    title = f"predicted: {class_names[predicted]} ({probabilities[predicted]:.3f})"
    if true_class is not None:
        title += f"; true: {class_names[true_class]}"
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(
    y_true: Sequence[int],
    y_pred: Sequence[int],
    class_names: Sequence[str],
) -> Figure:
    """Return the confusion matrix (rows: true class, columns: predicted class).

    Drawn with scikit-learn's ``ConfusionMatrixDisplay``. Used by chapter 2.
    """
    from sklearn.metrics import ConfusionMatrixDisplay

    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    ConfusionMatrixDisplay.from_predictions(
        y_true,
        y_pred,
        labels=list(range(len(class_names))),
        display_labels=class_names,
        ax=ax,
        colorbar=False,
        xticks_rotation=45,
    )
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    fig.tight_layout()
    return fig


def plot_kernels(
    kernels: np.ndarray, ncols: int = 16, limit: float | None = None, title: str = ""
) -> Figure:
    """Return a grid of a conv layer's 2-D kernels, on one shared colour scale.

    ``kernels`` has Keras's shape (height, width, 1, filters), e.g. (3, 3, 1, 32).
    Colours run from -limit (blue) through 0 (white) to +limit (red); by
    default limit is the largest absolute weight, and passing the same limit
    for two layers makes them comparable. Used by chapter 3.
    """
    kernels = np.asarray(kernels)
    if kernels.ndim != 4 or kernels.shape[2] != 1:
        raise ValueError(
            "expected kernels of shape (height, width, 1, filters), "
            f"got {kernels.shape}"
        )
    n = kernels.shape[-1]
    limit = float(np.abs(kernels).max()) if limit is None else limit
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(0.8 * ncols, 0.8 * nrows + 0.5), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            image = ax.imshow(
                kernels[:, :, 0, i], cmap="RdBu_r", vmin=-limit, vmax=limit
            )
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, pad=0.01)
    if title:
        fig.suptitle(title)
    return fig


def plot_feature_maps(maps: np.ndarray, ncols: int = 16, title: str = "") -> Figure:
    """Return a grid of one image's feature maps, one panel per channel.

    ``maps`` is (height, width, channels) or a batch of one, (1, height,
    width, channels). All panels share one colour scale (0 to the largest
    activation), so weak or silent channels look dark. Maps computed under
    mixed precision (bfloat16, float16) are drawn as float32. Used by chapter 3.
    """
    maps = np.asarray(maps, dtype="float32")
    if maps.ndim == 4 and maps.shape[0] == 1:
        maps = maps[0]
    if maps.ndim != 3:
        raise ValueError(
            "expected (height, width, channels) or (1, height, width, channels), "
            f"got {maps.shape}"
        )
    n = maps.shape[-1]
    top = max(float(maps.max()), 1e-12)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(0.8 * ncols, 0.8 * nrows + 0.5), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(
                maps[:, :, i],
                cmap="viridis",
                vmin=min(0.0, float(maps.min())),
                vmax=top,
            )
    if title:
        fig.suptitle(title)
    return fig


def plot_heatmap_overlays(
    images: np.ndarray,
    heatmaps: Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    ncols: int = 4,
    size: float = 2.6,
    smooth: bool = True,
    alpha: float = 0.5,
    title: str = "",
) -> Figure:
    """Return a grid of RGB images, each with its heatmap laid over it.

    ``images`` are (N, height, width, 3) with values 0-255 (or 0-1);
    ``heatmaps`` are N coarse maps (h, w), each stretched over the whole of
    its image and drawn from 0 (transparent blue) to its own maximum (red).
    Negative values are drawn as 0. ``smooth=False`` shows the map's cells as
    the blocks they are instead of blending them; ``title`` goes above the
    grid. Used by chapter 8.
    """
    images = np.asarray(images, dtype="float32")
    if len(images) != len(heatmaps):
        raise ValueError(f"{len(images)} images for {len(heatmaps)} heatmaps")
    if images.max() > 1.0:
        images = images / 255.0
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, size * nrows * 1.2), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        height, width = images[i].shape[:2]
        heatmap = np.asarray(heatmaps[i], dtype="float32")
        ax.imshow(np.clip(images[i], 0, 1))
        ax.imshow(
            heatmap,
            cmap="jet",
            alpha=alpha,
            vmin=0,
            vmax=max(float(heatmap.max()), 1e-12),
            extent=(0, width, height, 0),
            interpolation="bilinear" if smooth else "nearest",
        )
        if titles is not None:
            ax.set_title(titles[i], fontsize=11)  # legible at the page's column width
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_as_jpeg(fig: Figure, quality: int = 85, dpi: float | None = None) -> None:
    """Display ``fig`` as one JPEG image output, and close it.

    For figures that are mostly photographs (or photograph-like pictures), a
    JPEG is several times smaller than a PNG and looks the same on the page.
    Plots with thin lines and text stay PNGs (Jupyter's default). ``dpi``
    defaults to Matplotlib's ``savefig.dpi``, as for the PNGs the notebook
    would show. Closing the figure keeps the inline backend from showing it a
    second time, as a PNG. Used by chapter 8.
    """
    import io

    from IPython.display import Image, display

    if not 1 <= quality <= 95:
        raise ValueError(f"JPEG quality must be 1 to 95, not {quality!r}")
    buffer = io.BytesIO()
    fig.savefig(
        buffer,
        format="jpeg",
        dpi=dpi if dpi is not None else "figure",
        bbox_inches="tight",
        facecolor="white",
        pil_kwargs={"quality": quality},
    )
    plt.close(fig)
    display(Image(data=buffer.getvalue(), format="jpeg"))
