"""Serving setup: one BLAS thread per worker, and every API route documented with examples."""

from __future__ import annotations

import json
import subprocess
import sys

from app.api.errors import CODES
from app.web.blas import BLAS_THREAD_VARIABLES


def test_importing_the_asgi_app_limits_blas_to_one_thread_before_numpy_loads() -> None:
    probe = (
        "import os, sys; import app.main; "
        f"print(json.dumps({{v: os.environ.get(v) for v in {BLAS_THREAD_VARIABLES!r}}}))"
    )
    environment = {key: value for key, value in __import__("os").environ.items()
                   if key not in BLAS_THREAD_VARIABLES}
    result = subprocess.run(
        [sys.executable, "-c", "import json; " + probe], capture_output=True, text=True,
        env=environment, timeout=120, check=True,
    )
    assert json.loads(result.stdout.splitlines()[-1]) == dict.fromkeys(BLAS_THREAD_VARIABLES, "1")


def test_an_explicit_thread_setting_wins() -> None:
    import os

    environment = {**os.environ, "OPENBLAS_NUM_THREADS": "2"}
    result = subprocess.run(
        [sys.executable, "-c", "import os, app.main; print(os.environ['OPENBLAS_NUM_THREADS'])"],
        capture_output=True, text=True, env=environment, timeout=120, check=True,
    )
    assert result.stdout.strip().splitlines()[-1] == "2"


def test_every_api_operation_is_documented_with_an_example_and_the_envelope(client) -> None:
    schema = client.get("/openapi.json").json()
    operations = [
        (path, method, operation)
        for path, methods in schema["paths"].items() if path.startswith("/api/v1/")
        for method, operation in methods.items()
    ]
    assert len(operations) >= 10
    for path, method, operation in operations:
        assert operation.get("summary") and operation.get("description"), path
        if method == "post" and "multipart/form-data" in operation["requestBody"]["content"]:
            # Upload routes (the models API): a form whose fields are all described.
            form = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
            # Some forms take one of several files (lab/datasets: an npz or the four IDX files).
            assert isinstance(form.get("required", []), list) and all(
                field.get("description") or field.get("enum")
                for field in form["properties"].values()), path
            assert "ErrorEnvelope" in json.dumps(operation["responses"]["422"]), path
        elif method == "post":
            content = operation["requestBody"]["content"]["application/json"]
            assert content["examples"] and "$ref" in content["schema"], path
            assert "ErrorEnvelope" in json.dumps(operation["responses"]["422"]), path
        elif "image/png" in operation["responses"]["200"].get("content", {}):
            # A picture: its bytes are the example (tests/api/test_live.py fetches it).
            png = operation["responses"]["200"]["content"]["image/png"]
            assert png["schema"] == {"type": "string", "format": "binary"}, path
        else:
            assert "example" in json.dumps(operation["responses"]["200"]), path
    seed = schema["paths"]["/api/v1/tf/depthwise_conv2d"]["post"]["requestBody"]
    assert "seed_example" in seed["content"]["application/json"]["examples"]
    trace = schema["paths"]["/api/v1/trace"]["post"]["responses"]["200"]["content"]
    assert "application/x-ndjson" in trace
    assert "TraceHeaderEvent" in schema["components"]["schemas"]


def test_every_error_code_is_described() -> None:
    assert all(description for description in CODES.values())
    assert {"malformed_json", "invalid_configuration", "too_many_elements",
            "too_many_frames", "stream_too_large"} <= set(CODES)
