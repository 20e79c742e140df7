"""Handwritten digits for the lab: scikit-learn's bundled ``load_digits`` and real MNIST.

Every dataset is images ``(N, H, W, 1)`` float32 in ``[0, 1]`` and labels ``(N,)`` int64 in
``0..9``, already split into a train and a test set that never change:

- ``digits``: the 1797 8×8 images scikit-learn ships (no download), values 0..16 scaled by
  1/16; a fixed permutation (seed ``SPLIT_SEED``) puts 20 % (360 images) in the test set.
- ``mnist``: the 60000 + 10000 28×28 images of the standard files, from a directory with the
  four IDX files (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
  ``t10k-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``) or Keras' ``mnist.npz``
  (``x_train``, ``y_train``, ``x_test``, ``y_test``); MNIST's own split. Headers are read and
  bounded (``max_examples``) before any image array is allocated.
"""

from __future__ import annotations

import functools
import gzip
import io
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

SPLIT_SEED = 20240
DIGITS_TEST_FRACTION = 0.2
IDX_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
# Largest image side the loaders accept (MNIST is 28).
MAX_IMAGE_SIDE = 64


class DatasetError(ValueError):
    """A dataset that is missing or malformed; the message names the file and the rule."""


@dataclass(frozen=True)
class Dataset:
    """A fixed split. images : (N, H, W, 1) float32 in [0, 1]; labels : (N,) int64."""

    name: str
    source: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    classes: int = 10

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_images.shape[1:])  # type: ignore[return-value]

    def describe(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "train_examples": int(self.train_images.shape[0]),
            "test_examples": int(self.test_images.shape[0]),
            "image_shape": list(self.image_shape),
            "classes": self.classes,
        }


@functools.cache
def load_digits() -> Dataset:
    """scikit-learn's 8×8 digits with the fixed 80/20 split (cached: it never changes)."""
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError:
        raise DatasetError(
            "dataset: 'digits' needs scikit-learn (the lab extra): pip install 'convlens[lab]'"
        ) from None
    bunch = sklearn_digits()
    images = (bunch.images.astype(np.float32) / 16.0)[..., None]  # (1797, 8, 8, 1)
    labels = bunch.target.astype(np.int64)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
    test_count = int(round(len(labels) * DIGITS_TEST_FRACTION))
    test, train = order[:test_count], order[test_count:]
    return Dataset(
        "digits", "scikit-learn load_digits (1797 images, 8x8)",
        images[train], labels[train], images[test], labels[test],
    )


def _open_idx(directory: Path, stem: str) -> IO[bytes]:
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if candidate.is_file():
            if candidate.suffix == ".gz":
                return gzip.open(candidate, "rb")
            return open(candidate, "rb")
    raise DatasetError(f"mnist: {stem}.gz (or {stem}) is missing from {directory}")


def read_idx(stream: IO[bytes], name: str, max_examples: int) -> np.ndarray:
    """One IDX file of unsigned bytes: labels (N,) or images (N, H, W), header checked first."""
    header = stream.read(4)
    if len(header) != 4 or header[:3] != b"\x00\x00\x08" or header[3] not in (1, 3):
        raise DatasetError(f"mnist: {name} is not an IDX file of unsigned bytes (1-D or 3-D)")
    ndim = header[3]
    raw = stream.read(4 * ndim)
    if len(raw) != 4 * ndim:
        raise DatasetError(f"mnist: {name} ends inside its header")
    shape = struct.unpack(f">{ndim}I", raw)
    if shape[0] > max_examples:
        raise DatasetError(
            f"mnist: {name} has {shape[0]} examples, more than lab_max_examples={max_examples}"
        )
    if ndim == 3 and not (1 <= shape[1] <= MAX_IMAGE_SIDE and 1 <= shape[2] <= MAX_IMAGE_SIDE):
        raise DatasetError(f"mnist: {name} has {shape[1]}x{shape[2]} images (at most 64x64)")
    size = int(np.prod(shape))
    data = stream.read(size + 1)
    if len(data) != size:
        raise DatasetError(f"mnist: {name} holds {len(data)} bytes after its header, not {size}")
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


def _npz_arrays(path: Path | IO[bytes], max_examples: int, name: str = "") -> dict[str, np.ndarray]:
    """Keras' mnist.npz, each array's header checked before it is read (no pickles)."""
    arrays: dict[str, np.ndarray] = {}
    label = name or getattr(path, "name", "mnist.npz")
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile):
        raise DatasetError(f"mnist: {label} is not a .npz archive") from None
    with archive:
        for key in ("x_train", "y_train", "x_test", "y_test"):
            try:
                member = archive.open(f"{key}.npy")
            except KeyError:
                raise DatasetError(f"mnist: {label} has no array {key!r}") from None
            with member:
                stream = io.BufferedReader(member)  # type: ignore[arg-type]
                try:
                    version = np.lib.format.read_magic(stream)
                    read_header = (
                        np.lib.format.read_array_header_1_0 if version == (1, 0)
                        else np.lib.format.read_array_header_2_0
                    )
                    shape, _, dtype = read_header(stream)
                except ValueError as error:
                    raise DatasetError(f"mnist: {key} in {label}: {error}") from None
                expected = 3 if key.startswith("x") else 1
                if len(shape) != expected or dtype.hasobject:
                    raise DatasetError(f"mnist: {key} must be a {expected}-D numeric array")
                if shape[0] > max_examples:
                    raise DatasetError(
                        f"mnist: {key} has {shape[0]} examples, more than "
                        f"lab_max_examples={max_examples}"
                    )
                if expected == 3 and not (
                    1 <= shape[1] <= MAX_IMAGE_SIDE and 1 <= shape[2] <= MAX_IMAGE_SIDE
                ):
                    raise DatasetError(f"mnist: {key} has {shape[1]}x{shape[2]} images")
                arrays[key] = np.lib.format.read_array(
                    io.BufferedReader(archive.open(f"{key}.npy")), allow_pickle=False
                )  # type: ignore[arg-type]
    return arrays


def _as_dataset(source: str, arrays: dict[str, np.ndarray]) -> Dataset:
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if images.shape[0] != labels.shape[0]:
            raise DatasetError(
                f"mnist: {images.shape[0]} {split} images but {labels.shape[0]} labels"
            )
        if labels.size and (labels.min() < 0 or labels.max() > 9):
            raise DatasetError(f"mnist: {split} labels must be digits 0..9")
    if arrays["x_train"].shape[1:] != arrays["x_test"].shape[1:]:
        raise DatasetError("mnist: train and test images differ in size")

    def images(key: str) -> np.ndarray:
        return (arrays[key].astype(np.float32) / 255.0)[..., None]  # (N, H, W, 1)

    return Dataset(
        "mnist", source, images("x_train"), arrays["y_train"].astype(np.int64),
        images("x_test"), arrays["y_test"].astype(np.int64),
    )


def load_mnist(path: str | Path, max_examples: int = 70_000) -> Dataset:
    """MNIST from a directory of IDX files or a Keras ``mnist.npz``."""
    location = Path(path)
    if location.is_file():
        arrays = _npz_arrays(location, max_examples)
        return _as_dataset(f"Keras mnist.npz ({location.name})", arrays)
    if not location.is_dir():
        raise DatasetError(f"mnist: {location} is neither a directory of IDX files nor a .npz")
    files = {}
    for key, stem in IDX_NAMES.items():
        with _open_idx(location, stem) as stream:
            files[key] = read_idx(stream, stem, max_examples)
    return _as_dataset(
        f"MNIST IDX files ({location.name})",
        {"x_train": files["train_images"], "y_train": files["train_labels"],
         "x_test": files["test_images"], "y_test": files["test_labels"]},
    )


DatasetLoader = Callable[[], Dataset]


def mnist_from_upload(files: dict[str, bytes], max_examples: int = 70_000) -> Dataset:
    """MNIST from uploaded bytes: ``{"npz": ...}`` (Keras' mnist.npz) or the four IDX files
    ``{"train_images", "train_labels", "test_images", "test_labels"}``, each raw or gzipped."""
    if "npz" in files:
        arrays = _npz_arrays(io.BytesIO(files["npz"]), max_examples, "the uploaded mnist.npz")
        return _as_dataset("uploaded Keras mnist.npz", arrays)
    missing = [key for key in IDX_NAMES if key not in files]
    if missing:
        raise DatasetError(f"mnist: the upload lacks {', '.join(missing)} (or send npz)")
    read = {}
    for key, stem in IDX_NAMES.items():
        data = files[key]
        stream: IO[bytes] = io.BytesIO(data)
        if data[:2] == b"\x1f\x8b":  # gzip's magic
            stream = gzip.GzipFile(fileobj=stream)
        try:
            read[key] = read_idx(stream, stem, max_examples)
        except (OSError, EOFError):
            raise DatasetError(f"mnist: {key} is not a readable gzip file") from None
    return _as_dataset("uploaded MNIST IDX files", {
        "x_train": read["train_images"], "y_train": read["train_labels"],
        "x_test": read["test_images"], "y_test": read["test_labels"],
    })
