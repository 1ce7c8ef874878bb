"""Dataset loaders shared by the chapters.

Each loader takes the data the official way (the Keras dataset loaders, which
download on first use) unless the environment variable ``CNNBOOK_DATA`` names
a folder with a local copy. Local files are checked against their known
sha256 before use. Every failure is a :class:`DataError` with one sentence
that says what is missing or wrong and how to fix it.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import numpy as np

DATA_ENV = "CNNBOOK_DATA"
HOW_TO_GET_DATA = "see 'Get the data' in the README"

FASHION_MNIST_CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

# sha256 of the official files (fashion-mnist/) and of the book's MNIST copy
# (mnist/mnist.npz); see the datasets' MANIFEST.md.
KNOWN_SHA256 = {
    "fashion-mnist/train-images-idx3-ubyte.gz": (
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"
    ),
    "fashion-mnist/train-labels-idx1-ubyte.gz": (
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"
    ),
    "fashion-mnist/t10k-images-idx3-ubyte.gz": (
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"
    ),
    "fashion-mnist/t10k-labels-idx1-ubyte.gz": (
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"
    ),
    "mnist/mnist.npz": (
        "88eaf78b3cf8a302b5c253212171853934f34bb083759fe893a3554a84c56f0a"
    ),
}

Split = tuple[np.ndarray, np.ndarray]


class DataError(RuntimeError):
    """A dataset is missing or damaged; the message says how to fix it."""


def local_data_dir() -> Path | None:
    """Return the folder named by ``CNNBOOK_DATA``, or None when it is unset."""
    value = os.environ.get(DATA_ENV, "").strip()
    if not value:
        return None
    folder = Path(value).expanduser()
    if not folder.is_dir():
        raise DataError(
            f"{DATA_ENV} is set to {value!r}, which is not a folder: point it at "
            f"the folder that holds fashion-mnist/, mnist/ and dogs-vs-cats/, "
            f"or unset it to download the data ({HOW_TO_GET_DATA})."
        )
    return folder


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified_local_file(folder: Path, name: str) -> Path:
    """Return ``folder/name`` after checking that it exists and has its known sha256."""
    path = folder / name
    if not path.is_file():
        raise DataError(
            f"The local data folder {folder} has no {name}: copy that file there "
            f"or unset {DATA_ENV} to download it ({HOW_TO_GET_DATA})."
        )
    actual = sha256_of(path)
    if actual != KNOWN_SHA256[name]:
        raise DataError(
            f"{path} is damaged or not the expected file (sha256 {actual[:12]}... "
            f"instead of {KNOWN_SHA256[name][:12]}...): replace it with a fresh "
            f"copy ({HOW_TO_GET_DATA})."
        )
    return path


def read_idx_gz(path: Path) -> np.ndarray:
    """Read a gzipped IDX file (the MNIST file format) into a uint8 array."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(
            f"{path} is not an unsigned-byte IDX file: replace it ({HOW_TO_GET_DATA})."
        )
    ndim = raw[3]
    shape = tuple(
        int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


# Where keras.datasets keeps each download, under $KERAS_HOME/datasets/.
KERAS_CACHE_NAMES = {"Fashion-MNIST": "fashion-mnist", "MNIST": "mnist.npz"}


def download_with_keras(loader, dataset: str) -> tuple[Split, Split]:
    """Call a ``keras.datasets`` loader, turning a failed download into a DataError."""
    import errno
    import zipfile

    cached = KERAS_CACHE_NAMES.get(dataset, "")
    try:
        return loader()
    except (ConnectionError, TimeoutError) as error:  # cut off mid-download
        raise DataError(
            f"{dataset} could not be downloaded ({type(error).__name__}): check the "
            f"internet connection and run again, or set {DATA_ENV} to a folder with "
            f"a local copy ({HOW_TO_GET_DATA})."
        ) from None
    except (EOFError, OSError, ValueError, zipfile.BadZipFile) as error:
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            raise DataError(
                f"The disk is full: {dataset} could not be saved in the Keras cache; "
                "free some space and run again."
            ) from None
        # Reading a file Keras had cached failed: it is cut short or not the file.
        home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
        detail = (str(error).strip().splitlines() or [""])[0][:80]
        raise DataError(
            f"{dataset}'s copy in the Keras cache ({home / 'datasets' / cached}) is "
            f"damaged ({type(error).__name__}: {detail}): delete it and run again to "
            f"download it afresh, or set {DATA_ENV} to a folder with a local copy "
            f"({HOW_TO_GET_DATA})."
        ) from None
    except Exception as error:  # Keras raises a bare Exception when a download fails
        reason = (
            str(error).strip().splitlines()[-1]
            if str(error).strip()
            else type(error).__name__
        )
        raise DataError(
            f"{dataset} is not on this machine and could not be downloaded ({reason}): "
            f"connect to the internet, or set {DATA_ENV} to a folder with a local copy "
            f"({HOW_TO_GET_DATA})."
        ) from None


def load_fashion_mnist() -> tuple[Split, Split]:
    """Return Fashion-MNIST as ``(x_train, y_train), (x_test, y_test)``, all uint8.

    Images are (60000, 28, 28) and (10000, 28, 28); labels are 0-9, named by
    ``FASHION_MNIST_CLASS_NAMES``. Used by chapters 2 and 3 and the speed appendix.
    """
    folder = local_data_dir()
    if folder is None:
        import keras

        return download_with_keras(
            keras.datasets.fashion_mnist.load_data, "Fashion-MNIST"
        )
    arrays = [
        read_idx_gz(verified_local_file(folder, f"fashion-mnist/{name}-ubyte.gz"))
        for name in (
            "train-images-idx3",
            "train-labels-idx1",
            "t10k-images-idx3",
            "t10k-labels-idx1",
        )
    ]
    return (arrays[0], arrays[1]), (arrays[2], arrays[3])


def load_mnist() -> tuple[Split, Split]:
    """Return MNIST digits as ``(x_train, y_train), (x_test, y_test)``, all uint8.

    Images are (60000, 28, 28) and (10000, 28, 28); labels are the digits 0-9.
    Used by chapter 4.
    """
    folder = local_data_dir()
    if folder is None:
        import keras

        return download_with_keras(keras.datasets.mnist.load_data, "MNIST")
    path = verified_local_file(folder, "mnist/mnist.npz")
    with np.load(path) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
