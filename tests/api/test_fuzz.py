"""The published schema is what the server accepts: schemathesis generates requests from
the OpenAPI document, valid ones and invalid ones, and runs every one of its checks.

- No 5xx, every documented status, content type, header and response schema.
- Invalid data (negative mode) is refused.
- Valid data (positive mode) is accepted, or refused only for a rule JSON Schema cannot
  state: arrays that are not rectangular or whose base64 length does not match their
  shape, shapes that do not fit together (``invalid_configuration``), values whose result
  overflows, and the size limits (413). A refusal for a type, a range, an enum, a missing
  or unknown field (``invalid_value``, ``missing_field``, ``unknown_field``,
  ``malformed_json``, ``unsupported_media_type``) means the schema and the server
  disagree, and fails.

Bounded for CI: a fixed number of examples per operation, derandomised so a run is
reproducible (the README gives its time). Small limits make the 413 paths reachable.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from app.main import create_app
from app.settings import Settings

MAX_EXAMPLES = 10

# Refusals of schema-valid data for rules a JSON Schema cannot express.
SEMANTIC_CODES = {
    "invalid_array", "invalid_configuration", "non_finite", "too_many_elements",
    "kernel_too_large", "too_many_channels", "batch_too_large", "too_much_work",
    "too_many_frames", "stream_too_large", "body_too_large", "not_found",
    # The models room: bytes that are not an ONNX model, or one it cannot run or hold.
    "invalid_model", "external_data", "unsupported_model", "unknown_layer", "model_too_large",
    "too_many_weights", "too_many_activations", "malformed_form",
    # The lab: a run over a lab_* setting; an uploaded file that is not a dataset; a
    # dataset this server does not have (no MNIST configured, an upload id it lacks).
    "lab_limit", "invalid_dataset", "lab_unavailable",
}

app = create_app(Settings(max_elements=4096, max_body_bytes=256 * 1024, max_frames=2000,
                          max_macs=200_000, max_stream_bytes=512 * 1024))
config = SchemathesisConfig.from_dict({"checks": {
    # 413 and 422 are the semantic refusals above (assert_semantic says which codes); 404 a
    # resource that does not exist (a photo name), as schemathesis has it by default.
    "positive_data_acceptance": {"expected-statuses": ["2xx", "404", "413", "422"]},
    # Invalid data is refused: with a 4xx schemathesis knows, or with 413 when it is also too
    # large, since sizes are checked from the shapes before any value is read (configs.py:
    # shapes -> limits -> plan -> values), so a huge array with a bad value is refused for
    # its size.
    "negative_data_rejection": {"expected-statuses": [
        "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]},
}})
schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


def assert_semantic(case, response) -> None:
    """A schema-valid request refused only for a rule the schema cannot state."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code < 400:
        return
    error = response.json()["error"]
    assert error["code"] in SEMANTIC_CODES, (
        f"schema-valid data refused: {case.method} {case.path} -> {response.status_code} "
        f"{error}\nbody: {str(case.body)[:500]}")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_the_schema_is_what_the_server_accepts(case) -> None:
    response = case.call_and_validate()
    if response.status_code >= 400:
        error = response.json()["error"]
        assert set(error) == {"code", "message", "field", "status"}
        assert error["status"] == response.status_code
    assert_semantic(case, response)
