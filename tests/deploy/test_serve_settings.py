"""``convlens serve`` takes every server option from ``CONVLENS_*`` (the image sets none on
its command line)."""

from __future__ import annotations

import pytest

from tests.servers import serve_options


def test_serve_passes_the_environments_server_settings_to_uvicorn(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(variable, "1")
    environment = {
        "CONVLENS_HOST": "0.0.0.0", "CONVLENS_PORT": "8123", "CONVLENS_WORKERS": "3",
        "CONVLENS_LOG_LEVEL": "warning", "CONVLENS_GRACEFUL_SHUTDOWN_SECONDS": "2.5",
        "CONVLENS_KEEP_ALIVE_SECONDS": "75",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    options = serve_options(monkeypatch)
    assert options["host"] == "0.0.0.0"
    assert options["port"] == 8123
    assert options["workers"] == 3
    assert options["log_level"] == "warning"
    assert options["timeout_graceful_shutdown"] == 2.5
    assert options["timeout_keep_alive"] == 75
