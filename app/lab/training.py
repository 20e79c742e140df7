"""A training run as an iterator of events (the same dicts the API streams as NDJSON).

    {"event": "header", "config", "dataset", "network", "costs", "trainable", "init"}
    {"event": "epoch", "epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy",
     "seconds", "forward_seconds", "backward_seconds", "filters", "filter_rank"}  per epoch
    {"event": "end", "epochs", "test_accuracy", "seconds"}
    or {"event": "error", "code", "message"}

``train_loss``/``train_accuracy`` are the means over the epoch's batches as they were
trained (Keras' running figures); ``test_*`` are measured on the whole test set after the
epoch. ``filters`` are the first layer's equivalent kernels ``[F][k][k]`` and ``filter_rank`` how
many different patterns they hold. Every number but
the ``seconds`` is a pure function of the config: the same config gives the same numbers,
bit for bit (one seeded generator for the initialisation, another for the batch order).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np

from app.lab import network
from app.lab.config import LabConfig, LabLimits, check
from app.lab.datasets import Dataset
from app.lab.optimizers import Optimizer

EVALUATION_BATCH = 256
_DIVERGED = "the loss stopped being a finite number at epoch {epoch}; lower the learning_rate"


class RunError(Exception):
    """A run that stopped: ``code`` is ``diverged``, ``time_limit`` or ``cancelled``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def filter_rank(filters: np.ndarray) -> int:
    """How many different spatial patterns the F output filters hold: the numerical rank of
    the (F, k*k) matrix (relative tolerance 1e-4). Separable with M = 1 gives 1."""
    matrix = filters.reshape(filters.shape[0], -1).astype(np.float64)
    singular = np.linalg.svd(matrix, compute_uv=False)
    if not singular.size or singular[0] == 0:
        return 0
    return int((singular > singular[0] * 1e-4).sum())


def architecture_of(config: LabConfig, dataset: Dataset) -> network.Architecture:
    return network.Architecture(
        config.first_layer, dataset.image_shape, config.kernel_size, config.filters,
        config.channel_multiplier, config.second_layer,
    )


def evaluate(
    config: LabConfig, params: dict[str, np.ndarray], images: np.ndarray, labels: np.ndarray
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over a whole set, in fixed batches."""
    loss_sum, correct = 0.0, 0
    for start in range(0, len(labels), EVALUATION_BATCH):
        batch_labels = labels[start : start + EVALUATION_BATCH]
        probabilities = network.forward(
            config.first_layer, params, images[start : start + EVALUATION_BATCH]
        ).probabilities
        loss, accuracy = network.loss_and_accuracy(probabilities, batch_labels)
        loss_sum += loss * len(batch_labels)
        correct += int(round(accuracy * len(batch_labels)))
    return loss_sum / len(labels), correct / len(labels)


def train(
    config: LabConfig,
    dataset: Dataset,
    limits: LabLimits | None = None,
    should_stop: Callable[[], bool] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Iterator[dict]:
    """Run ``config`` on ``dataset``, yielding the header, one event per epoch, then the end.

    A stop (``should_stop()`` true between batches), the time limit or a non-finite loss
    ends the run with an ``error`` event instead of ``end``.
    """
    limits = limits or LabLimits()
    check(config, limits)
    architecture = architecture_of(config, dataset)
    images, labels = dataset.train_images, dataset.train_labels
    if config.train_size is not None:
        images, labels = images[: config.train_size], labels[: config.train_size]
    params, notes = network.initialise(
        architecture, np.random.default_rng([config.seed, 0]), config.depthwise_fan_in
    )
    optimizer = Optimizer(
        config.optimizer, params, architecture.trainable(), config.learning_rate,
        config.momentum,
    )
    order_rng = np.random.default_rng([config.seed, 1])
    yield {
        "event": "header",
        "config": config.as_dict(),
        "dataset": {**dataset.describe(), "train_examples": int(len(labels))},
        "network": architecture.describe(),
        "costs": architecture.costs(),
        "trainable": list(architecture.trainable()),
        "init": notes,
    }
    started = clock()
    try:
        for epoch in range(1, config.epochs + 1):
            epoch_started = clock()
            forward_seconds = backward_seconds = 0.0
            loss_sum, correct = 0.0, 0
            order = order_rng.permutation(len(labels))
            for start in range(0, len(labels), config.batch_size):
                if should_stop is not None and should_stop():
                    raise RunError("cancelled", "the run was cancelled")
                if clock() - started > limits.max_seconds:
                    raise RunError(
                        "time_limit",
                        f"the run took longer than lab_max_seconds={limits.max_seconds:g}; "
                        "ask for fewer epochs or a smaller train_size",
                    )
                batch = order[start : start + config.batch_size]
                tick = clock()
                try:
                    with np.errstate(over="ignore", invalid="ignore"):
                        cache = network.forward(config.first_layer, params, images[batch])
                        loss, accuracy = network.loss_and_accuracy(
                            cache.probabilities, labels[batch]
                        )
                        tock = clock()
                        grads = network.backward(config.first_layer, params, cache, labels[batch])
                        optimizer.step(params, grads)
                except ValueError:  # the engine refuses to return an overflowed result
                    raise RunError("diverged", _DIVERGED.format(epoch=epoch)) from None
                backward_seconds += clock() - tock
                forward_seconds += tock - tick
                loss_sum += loss * len(batch)
                correct += int(round(accuracy * len(batch)))
            train_loss = loss_sum / len(labels)
            test_loss, test_accuracy = evaluate(
                config, params, dataset.test_images, dataset.test_labels
            )
            if not (np.isfinite(train_loss) and np.isfinite(test_loss)) or not all(
                np.isfinite(value).all() for value in params.values()
            ):
                raise RunError("diverged", _DIVERGED.format(epoch=epoch))
            filters = network.first_layer_filters(config.first_layer, params)
            yield {
                "event": "epoch",
                "epoch": epoch,
                "train_loss": float(train_loss),
                "train_accuracy": correct / len(labels),
                "test_loss": float(test_loss),
                "test_accuracy": float(test_accuracy),
                "seconds": clock() - epoch_started,
                "forward_seconds": forward_seconds,
                "backward_seconds": backward_seconds,
                "filters": filters.tolist(),
                "filter_rank": filter_rank(filters),
            }
    except RunError as error:
        yield {"event": "error", "code": error.code, "message": str(error)}
        return
    yield {
        "event": "end",
        "epochs": config.epochs,
        "test_accuracy": float(test_accuracy),
        "seconds": clock() - started,
    }
