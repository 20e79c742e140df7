"""SGD with momentum and Adam, with PyTorch's update rules (so the benchmark compares alike).

- SGD: ``v = momentum * v + g``, ``p -= learning_rate * v`` (``torch.optim.SGD``).
- Adam: ``m = b1*m + (1-b1)*g``, ``v = b2*v + (1-b2)*g²``,
  ``p -= learning_rate * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)``, b1 = 0.9,
  b2 = 0.999, eps = 1e-8 (``torch.optim.Adam``).
"""

from __future__ import annotations

import numpy as np

OPTIMIZERS = ("adam", "sgd")


class Optimizer:
    """Updates ``params`` in place from ``grads`` for the names in ``trainable``."""

    def __init__(
        self, name: str, params: dict[str, np.ndarray], trainable: tuple[str, ...],
        learning_rate: float, momentum: float = 0.9,
    ) -> None:
        self.name, self.learning_rate, self.momentum = name, learning_rate, momentum
        self.trainable = trainable
        self.first = {key: np.zeros_like(params[key]) for key in trainable}
        self.second = (
            {key: np.zeros_like(params[key]) for key in trainable} if name == "adam" else {}
        )
        self.steps = 0

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.steps += 1
        if self.name == "sgd":
            for key in self.trainable:
                velocity = self.first[key]
                velocity *= self.momentum
                velocity += grads[key]
                params[key] -= self.learning_rate * velocity
            return
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        correction1 = 1 - beta1**self.steps
        correction2 = 1 - beta2**self.steps
        for key in self.trainable:
            grad, mean, square = grads[key], self.first[key], self.second[key]
            mean *= beta1
            mean += (1 - beta1) * grad
            square *= beta2
            square += (1 - beta2) * grad * grad
            denominator = np.sqrt(square / correction2) + eps
            params[key] -= (self.learning_rate / correction1) * mean / denominator
