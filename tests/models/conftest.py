"""The models tests reuse the API fixtures (a TestClient over the default app)."""

from tests.api.conftest import client, client_with  # noqa: F401
