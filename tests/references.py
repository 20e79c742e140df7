"""TensorFlow and Keras, the test-only references: imported once per test session.

Every TF test module calls ``tensorflow()`` / ``keras()`` at import time: Python's module
cache makes the (seconds long) import happen once per session, and where TF is not
importable the whole module is skipped with the reason printed by ``-ra``.
``TF_CPP_MIN_LOG_LEVEL`` is set in ``tests/conftest.py`` before any of this runs.
"""

from __future__ import annotations

from types import ModuleType

import pytest

REASON = (
    "tensorflow is not importable here (`make install-test` installs tensorflow-cpu when a "
    "wheel exists for this platform): the comparisons with real TF/Keras are skipped"
)


def tensorflow() -> ModuleType:
    """``import tensorflow``, or skip the calling module."""
    return pytest.importorskip("tensorflow", reason=REASON, exc_type=ImportError)


def keras() -> ModuleType:
    """Keras 3 (TF's ``tf.keras``), or skip the calling module."""
    tensorflow()
    return pytest.importorskip("keras", minversion="3", reason=REASON, exc_type=ImportError)
