"""The training lab: small CNNs trained with the engine's own NumPy ops and gradients.

Public names: ``LabConfig`` (one run), ``LabLimits`` (the server's bounds), ``train`` (a run
as an iterator of events), the datasets (``load_digits``, ``load_mnist``, ``Dataset``,
``DatasetError``), ``RunError``. No PyTorch or TensorFlow at run time.
"""

from app.lab.config import DATASETS, LabConfig, LabLimits, check
from app.lab.datasets import Dataset, DatasetError, load_digits, load_mnist
from app.lab.network import FIRST_LAYERS
from app.lab.training import RunError, train

__all__ = [
    "DATASETS",
    "FIRST_LAYERS",
    "Dataset",
    "DatasetError",
    "LabConfig",
    "LabLimits",
    "RunError",
    "check",
    "load_digits",
    "load_mnist",
    "train",
]
