"""Unit tests of helpers.data on tiny generated files (no network, no real data)."""

import gzip
import os
import subprocess
import sys
import textwrap

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

import helpers.data as data
from helpers import DataError, load_fashion_mnist, load_mnist

FASHION_FILES = {
    "train-images-idx3": np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28),
    "train-labels-idx1": np.array([9, 0], dtype=np.uint8),
    "t10k-images-idx3": np.full((1, 28, 28), 7, dtype=np.uint8),
    "t10k-labels-idx1": np.array([3], dtype=np.uint8),
}


def write_idx_gz(path, array):
    """Write an array in the IDX format, gzipped.

    The format has the magic 0x0000 08 ndim, then big-endian sizes.
    """
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        n.to_bytes(4, "big") for n in array.shape
    )
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


@pytest.fixture
def local_copy(tmp_path, monkeypatch):
    """A CNNBOOK_DATA folder with tiny Fashion-MNIST and MNIST files.

    Their hashes are registered.
    """
    (tmp_path / "fashion-mnist").mkdir()
    for name, array in FASHION_FILES.items():
        write_idx_gz(tmp_path / f"fashion-mnist/{name}-ubyte.gz", array)
    (tmp_path / "mnist").mkdir()
    np.savez_compressed(
        tmp_path / "mnist/mnist.npz",
        x_train=np.ones((3, 28, 28), np.uint8),
        y_train=np.array([1, 2, 3], np.uint8),
        x_test=np.zeros((1, 28, 28), np.uint8),
        y_test=np.array([4], np.uint8),
    )
    hashes = {
        str(p.relative_to(tmp_path)): data.sha256_of(p)
        for p in tmp_path.glob("*/*")
        if p.is_file()
    }
    monkeypatch.setattr(data, "KNOWN_SHA256", hashes)
    monkeypatch.setenv("CNNBOOK_DATA", str(tmp_path))
    return tmp_path


def test_local_fashion_mnist_is_read_exactly(local_copy):
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    np.testing.assert_array_equal(x_train, FASHION_FILES["train-images-idx3"])
    np.testing.assert_array_equal(y_train, [9, 0])
    assert x_test.shape == (1, 28, 28) and x_test.dtype == np.uint8
    np.testing.assert_array_equal(y_test, [3])


def test_local_mnist_is_read(local_copy):
    (x_train, y_train), (x_test, y_test) = load_mnist()
    assert x_train.shape == (3, 28, 28)
    np.testing.assert_array_equal(y_train, [1, 2, 3])
    np.testing.assert_array_equal(y_test, [4])


def test_damaged_file_is_refused_with_its_path(local_copy):
    path = local_copy / "fashion-mnist/t10k-labels-idx1-ubyte.gz"
    write_idx_gz(path, np.array([4], dtype=np.uint8))  # different bytes, old hash
    with pytest.raises(DataError) as caught:
        load_fashion_mnist()
    message = str(caught.value)
    assert str(path) in message and "sha256" in message
    assert "\n" not in message


def test_missing_file_is_named(local_copy):
    (local_copy / "mnist/mnist.npz").unlink()
    with pytest.raises(DataError, match=r"has no mnist/mnist\.npz.*CNNBOOK_DATA"):
        load_mnist()


def test_data_folder_that_does_not_exist_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNBOOK_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="not a folder"):
        load_fashion_mnist()


def test_idx_file_with_wrong_magic_is_refused(tmp_path):
    path = tmp_path / "bad.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"\x00\x00\x0d\x01" + (1).to_bytes(4, "big") + b"\x00" * 4)  # float IDX
    with pytest.raises(DataError, match="not an unsigned-byte IDX"):
        data.read_idx_gz(path)


def load_in_subprocess(loader: str, env: dict):
    """Call ``helpers.<loader>()`` in a fresh Python with ``env``.

    Return the finished process and its non-empty stdout lines: "loaded", or
    "DataError: <message>".
    """
    script = textwrap.dedent(f"""
        import helpers
        try:
            helpers.{loader}()
        except helpers.DataError as error:
            print("DataError:", error)
        else:
            print("loaded")
    """)
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result, [line for line in result.stdout.splitlines() if line.strip()]


@pytest.mark.parametrize(
    "loader, dataset",
    [("load_fashion_mnist", "Fashion-MNIST"), ("load_mnist", "MNIST")],
)
def test_offline_without_local_copy_says_what_to_do(tmp_path, loader, dataset):
    """The real Keras download, with an empty cache.

    Every proxy points at a closed port.
    """
    env = {k: v for k, v in os.environ.items() if k != "CNNBOOK_DATA"}
    dead = "http://127.0.0.1:9"
    env.update(
        KERAS_HOME=str(tmp_path / "keras"),
        HTTP_PROXY=dead,
        HTTPS_PROXY=dead,
        http_proxy=dead,
        https_proxy=dead,
        NO_PROXY="",
        no_proxy="",
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    result, lines = load_in_subprocess(loader, env)
    # Keras announces each download it tries; after that comes our one sentence.
    assert lines and all(
        line.startswith("Downloading data from ") for line in lines[:-1]
    ), result.stdout
    assert lines[-1].startswith(
        f"DataError: {dataset} is not on this machine and could not be downloaded"
    )
    assert "CNNBOOK_DATA" in lines[-1] and "README" in lines[-1]


def test_data_error_in_a_notebook_is_one_line(tmp_path):
    """In a kernel, a DataError shows as its sentence alone.

    The cell still fails.
    """
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "import os\nos.environ['CNNBOOK_DATA'] = os.getcwd()"
            ),
            nbformat.v4.new_code_cell(
                "from helpers import load_fashion_mnist\nload_fashion_mnist()"
            ),
        ]
    )
    client = NotebookClient(
        nb,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
        allow_errors=True,
        timeout=300,
    )
    client.execute()
    errors = [o for o in nb.cells[1].outputs if o.output_type == "error"]
    assert len(errors) == 1 and errors[0].ename == "DataError"
    shown = "\n".join(errors[0].traceback)
    assert len(shown.strip().splitlines()) == 1, shown
    assert "fashion-mnist/train-images-idx3-ubyte.gz" in shown


def test_damaged_file_in_the_keras_cache_is_named_as_damaged(tmp_path):
    """A download cut short in the Keras cache: the real loader reads it.

    The message must say the cached copy is damaged, not that the data is missing.
    """
    import gzip

    cache = tmp_path / "keras" / "datasets" / "fashion-mnist"
    cache.mkdir(parents=True)
    for name in ("train-labels-idx1", "t10k-labels-idx1", "t10k-images-idx3"):
        with gzip.open(cache / f"{name}-ubyte.gz", "wb") as f:
            f.write(bytes(16))
    whole = gzip.compress(bytes(16 + 28 * 28 * 10))
    (cache / "train-images-idx3-ubyte.gz").write_bytes(whole[: len(whole) // 2])
    env = {k: v for k, v in os.environ.items() if k != "CNNBOOK_DATA"}
    env.update(KERAS_HOME=str(tmp_path / "keras"), TF_CPP_MIN_LOG_LEVEL="3")
    result, lines = load_in_subprocess("load_fashion_mnist", env)
    (line,) = lines
    assert line.startswith(
        f"DataError: Fashion-MNIST's copy in the Keras cache ({tmp_path / 'keras'}"
    ), result.stdout
    assert "fashion-mnist) is damaged (EOFError" in line and "delete it and" in line
