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
    "tensorflow is not importable here (`make install-test` installs tensorflow-cpu==2.21.0 when a "
    "wheel exists for this platform): the comparisons with real TF/Keras are skipped"
)


def tensorflow() -> ModuleType:
    """``import tensorflow``, or skip the calling module. TF computes on one thread: the
    machine is shared, and these are correctness references, not benchmarks."""
    tf = pytest.importorskip("tensorflow", reason=REASON, exc_type=ImportError)
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # the runtime is already up (an earlier module): keep its threads
        pass
    return tf


def keras() -> ModuleType:
    """Keras 3 (TF's ``tf.keras``), or skip the calling module."""
    tensorflow()
    return pytest.importorskip("keras", minversion="3", reason=REASON, exc_type=ImportError)
