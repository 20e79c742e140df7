"""No request makes a 5xx: schemathesis generates requests from the OpenAPI schema.

Bounded for CI: a fixed number of examples per operation, derandomised so a run
is reproducible. Small limits make the 413 paths reachable by generated data.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings

from app.main import create_app
from app.settings import Settings

MAX_EXAMPLES = 25

app = create_app(Settings(max_elements=4096, max_body_bytes=256 * 1024, max_frames=2000,
                          max_macs=200_000, max_stream_bytes=512 * 1024))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_request_makes_a_server_error(case) -> None:
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) == {"code", "message", "field", "status"}
        assert error["status"] == response.status_code
