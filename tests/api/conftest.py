"""API fixtures: TestClients over apps with default or deliberately small limits."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings


@pytest.fixture
def client() -> TestClient:
    """The app with default settings, in-process."""
    return TestClient(create_app(Settings()))


@pytest.fixture
def client_with() -> Callable[..., TestClient]:
    """``client_with(max_elements=10, ...)``: a TestClient whose settings override these."""

    def make(**limits: object) -> TestClient:
        return TestClient(create_app(Settings(**limits)))  # type: ignore[arg-type]

    return make
