"""Security headers on every kind of answer, the CSP's directives, CORS off and on."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.web.security import EMPTY_STYLE_HASH

SEED_TRACE = {
    "op": "depthwise_conv2d",
    "input": [[[[1.0, 1.0], [2.0, 1.0], [3.0, 1.0]], [[1.0, 1.0], [2.0, 1.0], [3.0, 1.0]],
               [[1.0, 1.0], [2.0, 1.0], [3.0, 1.0]]]],
    "filter": [[[[1.0]] * 2] * 3] * 3,
    "strides": [1, 1, 1, 1],
    "padding": "VALID",
}


def directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *values = part.split()
        assert name not in parsed, f"{name} twice"
        parsed[name] = values
    return parsed


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(Settings()))


ANSWERS = [
    ("GET", "/", None),
    ("GET", "/api/v1/health", None),
    ("GET", "/static/css/convlens.css", None),
    ("GET", "/vendor/plotly.min.js", None),
    ("GET", "/openapi.json", None),
    ("GET", "/no/such/page", None),
    ("POST", "/api/v1/depthwise_conv2d", b"{not json"),
    ("POST", "/api/v1/trace", SEED_TRACE),
]


@pytest.mark.parametrize(("method", "path", "body"), ANSWERS, ids=[a[1] for a in ANSWERS])
def test_every_answer_carries_the_security_headers(client: TestClient, method: str, path: str,
                                                   body: object) -> None:
    kwargs = {"json": body} if isinstance(body, dict) else {"content": body}
    response = client.request(method, path, **kwargs)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert "content-security-policy" in response.headers


def test_even_a_server_error_carries_the_headers() -> None:
    application = create_app(Settings())

    @application.get("/api/v1/test-only-boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("a bug")

    response = TestClient(application, raise_server_exceptions=False).get(
        "/api/v1/test-only-boom")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in response.headers


def test_the_policy_admits_only_the_apps_own_origin_and_no_inline_script(
        client: TestClient) -> None:
    policy = directives(client.get("/").headers["content-security-policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'self'"]
    # Styles: the origin, plus only the empty stylesheet plotly.js fills through CSSOM.
    assert policy["style-src"] == ["'self'", EMPTY_STYLE_HASH]
    empty = "'sha256-" + base64.b64encode(hashlib.sha256(b"").digest()).decode() + "'"
    assert EMPTY_STYLE_HASH == empty
    for name, values in policy.items():
        for value in values:
            assert "unsafe" not in value, (name, value)
            assert not re.match(r"(https?:|\*)", value), (name, value)


def test_the_page_has_no_inline_script_or_inline_style(client: TestClient) -> None:
    page = client.get("/").text
    for tag in re.findall(r"<script\b[^>]*>", page):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"\son\w+\s*=", page), "inline event handler"
    assert not re.search(r"<style\b", page)
    assert not re.search(r"\sstyle\s*=", page), "style attribute (blocked by style-src)"


def test_frame_ancestors_and_the_legacy_header_follow_the_setting() -> None:
    lms = "https://lms.example.edu https://*.moodle.example"
    response = TestClient(create_app(Settings(frame_ancestors=lms))).get("/")
    policy = directives(response.headers["content-security-policy"])
    assert policy["frame-ancestors"] == lms.split()
    assert "x-frame-options" not in response.headers  # it cannot name other origins
    deny = TestClient(create_app(Settings(frame_ancestors="'none'"))).get("/")
    assert directives(deny.headers["content-security-policy"])["frame-ancestors"] == ["'none'"]
    assert deny.headers["x-frame-options"] == "DENY"


def test_settings_from_the_environment_reach_the_headers() -> None:
    settings = Settings.from_env({
        "CONVLENS_FRAME_ANCESTORS": "https://lms.example.edu",
        "CONVLENS_ALLOWED_ORIGINS": "https://course.example.edu",
    })
    client = TestClient(create_app(settings))
    response = client.get("/api/v1/health", headers={"Origin": "https://course.example.edu"})
    assert response.headers["access-control-allow-origin"] == "https://course.example.edu"
    policy = directives(response.headers["content-security-policy"])
    assert policy["frame-ancestors"] == ["https://lms.example.edu"]


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_docs_pages_allow_exactly_their_inline_script_and_nothing_remote(
        client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    policy = directives(response.headers["content-security-policy"])
    # Every asset from the app itself (app/web/docs.py): no CDN, no remote font or image.
    for name, values in policy.items():
        assert not [value for value in values if "//" in value or value == "https:"], name
    assert "https://" not in response.text and "http://" not in response.text
    inline = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    assert inline or path == "/redoc"
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy["script-src"]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert policy["frame-ancestors"] == ["'self'"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_cors_is_off_by_default(client: TestClient) -> None:
    origin = {"Origin": "https://elsewhere.example"}
    response = client.get("/api/v1/health", headers=origin)
    assert "access-control-allow-origin" not in response.headers
    preflight = client.options("/api/v1/trace", headers={
        **origin, "Access-Control-Request-Method": "POST",
    })
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_when_configured_serves_the_api_only_without_credentials() -> None:
    client = TestClient(create_app(Settings(allowed_origins=("https://course.example.edu",))))
    allowed = {"Origin": "https://course.example.edu"}
    response = client.post("/api/v1/trace", json=SEED_TRACE, headers=allowed)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://course.example.edu"
    assert "access-control-allow-credentials" not in response.headers
    preflight = client.options("/api/v1/trace", headers={
        **allowed, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    })
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://course.example.edu"
    assert "access-control-allow-credentials" not in preflight.headers
    assert "content-security-policy" in preflight.headers
    # Another origin, and the page itself, get no CORS grant.
    other = client.get("/api/v1/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    page = client.get("/", headers=allowed)
    assert "access-control-allow-origin" not in page.headers
