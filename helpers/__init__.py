"""Small shared code for the book's notebooks: data loaders and figures.

Import what a chapter needs by name, e.g. ``from helpers import load_fashion_mnist``.
"""

from helpers.data import (
    FASHION_MNIST_CLASS_NAMES,
    DataError,
    load_fashion_mnist,
    load_mnist,
)
from helpers.dogs_vs_cats import (
    DOGS_VS_CATS_CLASS_NAMES,
    find_dogs_vs_cats_images,
    load_dogs_vs_cats_arrays,
    load_dogs_vs_cats_datasets,
    make_dogs_vs_cats_subset,
)
from helpers.machine import describe_machine, use_fastest_precision, use_precision
from helpers.models import (
    build_fashion_convnet,
    load_or_train_fashion_convnet,
    multiply_adds_per_image,
    train_fashion_convnet,
)
from helpers.plots import (
    plot_class_probabilities,
    plot_confusion_matrix,
    plot_feature_maps,
    plot_history,
    plot_kernels,
    show_images,
)

__all__ = [
    "DOGS_VS_CATS_CLASS_NAMES",
    "FASHION_MNIST_CLASS_NAMES",
    "DataError",
    "TRANSFER_BASES",
    "WEIGHT_FILES",
    "build_fashion_convnet",
    "describe_machine",
    "find_dogs_vs_cats_images",
    "load_dogs_vs_cats_arrays",
    "load_dogs_vs_cats_datasets",
    "make_dogs_vs_cats_subset",
    "multiply_adds_per_image",
    "load_or_train_fashion_convnet",
    "load_fashion_mnist",
    "load_mnist",
    "load_mobilenet_base",
    "load_transfer_base",
    "load_vgg16_conv_base",
    "plot_class_probabilities",
    "plot_confusion_matrix",
    "plot_feature_maps",
    "plot_history",
    "plot_kernels",
    "show_images",
    "train_fashion_convnet",
    "use_fastest_precision",
    "use_precision",
]

# Chapter 7's and 8's names import Keras, which takes seconds: load them on first use.
PRETRAINED_NAMES = {
    "TRANSFER_BASES",
    "WEIGHT_FILES",
    "load_mobilenet_base",
    "load_transfer_base",
    "load_vgg16_conv_base",
}


def __getattr__(name):
    if name in PRETRAINED_NAMES:
        from helpers import pretrained

        return getattr(pretrained, name)
    raise AttributeError(f"module 'helpers' has no attribute {name!r}")


def _show_data_errors_as_one_line() -> None:
    """In a notebook, print a DataError as its one sentence instead of a traceback."""
    try:
        ip = get_ipython()  # type: ignore[name-defined]  # noqa: F821
    except NameError:
        return

    def handler(shell, etype, value, tb, tb_offset=None):
        # Still an error for the kernel (papermill and nbval see the cell fail),
        # shown as one line.
        shell._showtraceback(
            etype, value, shell.InteractiveTB.get_exception_only(etype, value)
        )

    ip.set_custom_exc((DataError,), handler)


_show_data_errors_as_one_line()
