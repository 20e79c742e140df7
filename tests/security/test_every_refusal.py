"""Every 4xx in the envelope with the security headers, even those the app's routes
never see (a CORS preflight refused), and HEAD where GET is served."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings


def assert_envelope_with_headers(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["code"] == code
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in response.headers["content-security-policy"]


@pytest.mark.parametrize(("origin", "method", "header"), [
    ("https://evil.example", "POST", "content-type"),
    ("https://lms.example.edu", "DELETE", "content-type"),
    ("https://lms.example.edu", "POST", "x-custom"),
])
def test_a_refused_cors_preflight_answers_in_the_envelope(origin, method, header) -> None:
    client = TestClient(create_app(Settings(allowed_origins=("https://lms.example.edu",))))
    response = client.options("/api/v1/tf/depthwise_conv2d", headers={
        "origin": origin, "access-control-request-method": method,
        "access-control-request-headers": header})
    assert_envelope_with_headers(response, 400, "cors_refused")
    assert "Disallowed CORS" in response.json()["error"]["message"]


def test_an_allowed_preflight_is_still_allowed() -> None:
    client = TestClient(create_app(Settings(allowed_origins=("https://lms.example.edu",))))
    response = client.options("/api/v1/tf/depthwise_conv2d", headers={
        "origin": "https://lms.example.edu", "access-control-request-method": "POST",
        "access-control-request-headers": "content-type"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://lms.example.edu"


@pytest.mark.parametrize("path", ["/", "/api/v1/health"])
def test_head_answers_like_get_without_a_body(serve, path) -> None:
    live = serve(create_app(Settings()))
    get = httpx.get(live.url + path)
    head = httpx.head(live.url + path)
    assert head.status_code == 200 == get.status_code
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["content-security-policy"] == get.headers["content-security-policy"]


def test_head_on_a_post_route_is_still_a_405() -> None:
    response = TestClient(create_app(Settings())).head("/api/v1/tf/depthwise_conv2d")
    assert response.status_code == 405
