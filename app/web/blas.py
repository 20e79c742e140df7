"""One BLAS thread per worker process, for concurrent serving.

Measured on the 2-core target: two-thread BLAS collapses when the other core is
busy, so a server keeps one thread per worker and gets its parallelism from
workers and concurrent requests. The variables are read when NumPy loads its
BLAS, so ``app.main`` calls ``limit_blas_threads`` before anything imports
NumPy (``uvicorn app.main:app`` and ``convlens serve`` both do). Explicit
settings in the environment win. Importing ``app.engine`` alone (a notebook, the
tests) leaves BLAS threading alone.
"""

from __future__ import annotations

import os
import sys

BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def limit_blas_threads() -> bool:
    """Default every BLAS thread variable to 1; False if NumPy was already loaded
    (then the variables come too late for this process)."""
    for variable in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(variable, "1")
    return "numpy" not in sys.modules
