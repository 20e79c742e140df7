"""The lab's datasets: the bundled digits split, and the MNIST loaders on files written here."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from app.lab import DatasetError, load_digits, load_mnist
from app.lab.datasets import IDX_NAMES

pytest.importorskip("sklearn", reason="the digits dataset needs scikit-learn (the lab extra)")


def test_digits_is_a_fixed_disjoint_split_of_the_1797_images() -> None:
    digits = load_digits()
    assert digits.train_images.shape == (1438, 8, 8, 1)
    assert digits.test_images.shape == (359, 8, 8, 1)
    assert digits.train_images.dtype == np.float32
    assert 0.0 == digits.train_images.min() and digits.train_images.max() == 1.0
    assert set(np.unique(digits.test_labels)) == set(range(10))
    from sklearn.datasets import load_digits as sklearn_digits

    every = sklearn_digits().images.reshape(1797, 64) / 16.0
    rows = {row.tobytes() for row in every.astype(np.float32)}
    train_rows = [row.tobytes() for row in digits.train_images.reshape(-1, 64)]
    test_rows = [row.tobytes() for row in digits.test_images.reshape(-1, 64)]
    assert set(train_rows) | set(test_rows) <= rows
    # The split is the same in another process: it depends on SPLIT_SEED only.
    np.testing.assert_array_equal(digits.test_labels[:12], [2, 6, 1, 8, 1, 0, 5, 5, 1, 5, 1, 8])


def write_idx(path: Path, array: np.ndarray, compress: bool) -> None:
    header = b"\x00\x00\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)


def small_mnist(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "train_images": rng.integers(0, 256, (6, 28, 28)),
        "train_labels": rng.integers(0, 10, 6),
        "test_images": rng.integers(0, 256, (4, 28, 28)),
        "test_labels": rng.integers(0, 10, 4),
    }


@pytest.mark.parametrize("compress", [True, False])
def test_mnist_from_idx_files(tmp_path: Path, compress: bool) -> None:
    arrays = small_mnist(np.random.default_rng(1))
    for key, stem in IDX_NAMES.items():
        write_idx(tmp_path / stem, arrays[key], compress)
    mnist = load_mnist(tmp_path)
    assert mnist.name == "mnist" and mnist.image_shape == (28, 28, 1)
    np.testing.assert_array_equal(mnist.train_labels, arrays["train_labels"])
    np.testing.assert_allclose(mnist.test_images[..., 0] * 255, arrays["test_images"], atol=1e-4)


def test_mnist_from_a_keras_npz(tmp_path: Path) -> None:
    arrays = small_mnist(np.random.default_rng(2))
    path = tmp_path / "mnist.npz"
    np.savez(
        path, x_train=arrays["train_images"].astype(np.uint8), y_train=arrays["train_labels"],
        x_test=arrays["test_images"].astype(np.uint8), y_test=arrays["test_labels"],
    )
    mnist = load_mnist(path)
    assert mnist.describe()["train_examples"] == 6 and mnist.describe()["test_examples"] == 4
    np.testing.assert_array_equal(mnist.test_labels, arrays["test_labels"])
    np.testing.assert_allclose(mnist.train_images[..., 0] * 255, arrays["train_images"], atol=1e-4)


def test_bad_mnist_files_are_named(tmp_path: Path) -> None:
    arrays = small_mnist(np.random.default_rng(3))
    for key, stem in IDX_NAMES.items():
        if key != "test_labels":
            write_idx(tmp_path / stem, arrays[key], True)
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte.gz .* is missing"):
        load_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01" + struct.pack(">I", 9))
    with pytest.raises(DatasetError, match="holds 0 bytes after its header, not 9"):
        load_mnist(tmp_path)
    # A header claiming more examples than allowed is refused before anything is read.
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(
        b"\x00\x00\x08\x01" + struct.pack(">I", 10**9)
    )
    with pytest.raises(DatasetError, match="more than lab_max_examples=70000"):
        load_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(DatasetError, match="not an IDX file"):
        load_mnist(tmp_path)
    with pytest.raises(DatasetError, match="neither a directory"):
        load_mnist(tmp_path / "nowhere")


def test_a_npz_with_pickles_or_missing_arrays_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DatasetError, match="has no array 'y_train'"):
        load_mnist(path)
    np.savez(
        path, x_train=np.array([None, 1], dtype=object), y_train=np.zeros(2),
        x_test=np.zeros((1, 28, 28)), y_test=np.zeros(1),
    )
    with pytest.raises(DatasetError, match="x_train must be a 3-D numeric array"):
        load_mnist(path)
    path.write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match="not a .npz archive"):
        load_mnist(path)
