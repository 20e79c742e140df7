"""A lab run's settings, each with a stated default, checked against limits before a run.

``LabConfig`` is what a student chooses; ``LabLimits`` is what the server allows (from
``Settings``). ``check`` raises ``ValueError`` naming the field and the rule.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from app.lab.network import DEPTHWISE_FAN_INS, FIRST_LAYERS, SECOND_LAYERS
from app.lab.optimizers import OPTIMIZERS
from app.settings import Settings

DATASETS = ("digits", "mnist")


@dataclass(frozen=True)
class LabConfig:
    """One training run. Defaults: digits, a standard 3x3 first layer with 8 filters, no
    second layer, Adam at learning rate 0.01, batch 32, 8 epochs, seed 0, every training
    image; the depthwise fan-in k*k."""

    dataset: str = "digits"
    first_layer: str = "standard"
    channel_multiplier: int = 1
    filters: int = 8
    kernel_size: int = 3
    optimizer: str = "adam"
    learning_rate: float = 0.01
    momentum: float = 0.9  # SGD only
    batch_size: int = 32
    epochs: int = 8
    seed: int = 0
    depthwise_fan_in: str = "kh_kw"
    second_layer: str = "none"  # "separable": a depthwise-separable layer over the F channels
    train_size: int | None = None  # None: the whole training set
    upload: str | None = None  # an uploaded MNIST's id (POST /api/v1/lab/datasets), or None

    def key(self) -> str:
        """A canonical string: two runs with the same key give the same numbers."""
        return json.dumps(asdict(self), sort_keys=True)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class LabLimits:
    """Server bounds on a run: the ``lab_max_*`` settings (by default, their defaults), and
    the largest network a run may ask for."""

    max_epochs: int = Settings.lab_max_epochs
    max_examples: int = Settings.lab_max_examples
    max_seconds: float = Settings.lab_max_seconds
    max_filters: int = 64
    max_channel_multiplier: int = 8
    max_kernel_size: int = 7
    max_batch_size: int = 1024

    @classmethod
    def from_settings(cls, settings: Settings) -> LabLimits:
        """The ``lab_max_*`` fields of the server's settings."""
        return cls(
            max_epochs=settings.lab_max_epochs,
            max_examples=settings.lab_max_examples,
            max_seconds=settings.lab_max_seconds,
        )


def _int_in(value: object, name: str, low: int, high: int, why: str = "") -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}{why}, got {value}")


def check(config: LabConfig, limits: LabLimits) -> None:
    """Every field against its rule and the server's limits, before any array exists."""
    for name, allowed in (
        ("dataset", DATASETS), ("first_layer", FIRST_LAYERS), ("optimizer", OPTIMIZERS),
        ("depthwise_fan_in", DEPTHWISE_FAN_INS), ("second_layer", SECOND_LAYERS),
    ):
        if getattr(config, name) not in allowed:
            raise ValueError(
                f"{name} must be one of {', '.join(repr(a) for a in allowed)}, "
                f"got {getattr(config, name)!r}"
            )
    if config.upload is not None and config.dataset != "mnist":
        raise ValueError("upload: an uploaded dataset is MNIST; set dataset to 'mnist'")
    _int_in(config.epochs, "epochs", 1, limits.max_epochs, " (lab_max_epochs)")
    _int_in(config.filters, "filters", 1, limits.max_filters, " (lab_max_filters)")
    _int_in(
        config.channel_multiplier, "channel_multiplier", 1, limits.max_channel_multiplier,
        " (lab_max_channel_multiplier)",
    )
    _int_in(config.kernel_size, "kernel_size", 1, limits.max_kernel_size)
    _int_in(config.batch_size, "batch_size", 1, limits.max_batch_size)
    _int_in(config.seed, "seed", 0, 2**32 - 1)
    if config.train_size is not None:
        _int_in(config.train_size, "train_size", 10, limits.max_examples, " (lab_max_examples)")
    for name, low, high in (("learning_rate", 0.0, 10.0), ("momentum", 0.0, 0.999)):
        value = getattr(config, name)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ValueError(f"{name} must be a number, got {value!r}")
        if not (low < value <= high if name == "learning_rate" else low <= value <= high):
            raise ValueError(f"{name} must be in {'(' if name == 'learning_rate' else '['}"
                             f"{low}, {high}], got {value}")
