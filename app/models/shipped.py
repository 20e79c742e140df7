"""The trained network that ships with ConvLens (``scripts/train_digits_model.py`` makes it).

A small separable CNN on scikit-learn's 8x8 digits, as ONNX; its test accuracy and
training settings are in the JSON beside it. The model view opens on it by default.
"""

from __future__ import annotations

from app.settings import STATIC_DIR

SHIPPED_MODEL = STATIC_DIR / "models" / "digits_separable.onnx"
SHIPPED_MODEL_INFO = STATIC_DIR / "models" / "digits_separable.json"
