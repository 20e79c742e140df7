"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# TensorFlow (a test-only reference) logs from C++ on import; keep the output readable.
# Set before any test imports it, so the snippet subprocesses inherit it too.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from tests.servers import LiveServer, running_server


@pytest.fixture(scope="session")
def live_server() -> Iterator[str]:
    """Base URL of a real uvicorn serving ``create_app()`` with default settings."""
    from app.main import create_app

    with running_server(create_app()) as server:
        yield server.url


@pytest.fixture
def serve() -> Iterator[object]:
    """``serve(app) -> LiveServer``: a real uvicorn for this test only, any app or settings."""
    from contextlib import ExitStack

    with ExitStack() as stack:

        def start(app: object) -> LiveServer:
            return stack.enter_context(running_server(app))

        yield start
