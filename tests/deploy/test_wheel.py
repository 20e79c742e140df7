"""The package as a new user gets it: build the wheel and sdist, install the wheel into a fresh
venv, and run ``convlens serve`` from an empty temporary folder.

The page, a static script, an i18n catalogue, plotly.js, ``/openapi.json`` and the offline
``/docs`` (with every asset it loads) must all come from the installed package.

The fresh venv gets the wheel only; its dependencies are already in the test venv, which the
fresh one sees through a ``.pth`` line (after its own site-packages, so ``app`` is the wheel's).
``pip install --no-index`` then resolves the wheel's declared dependencies against them without
any network. ``CONVLENS_PACKAGE_TEST_INDEX=1`` makes it a wholly separate venv that resolves its
dependencies from pip's configured index instead (``make package-test``).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import sysconfig
import tarfile
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ASSETS = (
    "templates/index.html", "static/js/main.js", "static/i18n/zh-CN.json", "static/favicon.svg",
)
# Hang guards, not performance targets.
BUILD_TIMEOUT_SECONDS = 300
START_TIMEOUT_SECONDS = 60


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECONDS, **kwargs
    )
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build`` (sdist, then the wheel from the sdist), without build isolation:
    setuptools comes from the test venv, so no network."""
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO)])
    return out


def only(folder: Path, pattern: str) -> Path:
    (path,) = folder.glob(pattern)
    return path


def test_wheel_and_sdist_carry_templates_static_and_catalogues(dist: Path) -> None:
    with zipfile.ZipFile(only(dist, "*.whl")) as archive:
        wheel = set(archive.namelist())
    with tarfile.open(only(dist, "*.tar.gz")) as archive:
        sdist = set(archive.getnames())
    for asset in ASSETS:
        assert f"app/{asset}" in wheel, asset
        assert any(name.endswith(f"/{asset}") for name in sdist), asset
    shipped = {name.removeprefix("app/") for name in wheel if name.startswith("app/static/")}
    on_disk = {
        str(path.relative_to(REPO))
        for path in (REPO / "static").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert on_disk <= shipped, sorted(on_disk - shipped)
    # One import package (see README, "Packaging"), nothing loose at site-packages' top level.
    top_level = {name.split("/")[0] for name in wheel}
    assert {name for name in top_level if not name.endswith(".dist-info")} == {"app"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        return response.status, response.headers.get("content-type", ""), response.read()


@pytest.fixture(scope="module")
def fresh_venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    wheel = str(only(dist, "*.whl"))
    if os.environ.get("CONVLENS_PACKAGE_TEST_INDEX") == "1":
        run([str(python), "-m", "pip", "install", "-q", wheel])
    else:
        site = run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
        Path(site.stdout.strip(), "_convlens_test_dependencies.pth").write_text(
            sysconfig.get_path("purelib") + "\n", "utf-8"
        )
        run([str(python), "-m", "pip", "install", "-q", "--no-index", wheel])
    return venv


def test_installed_wheel_serves_page_assets_plotly_openapi_and_docs(
    fresh_venv: Path, tmp_path: Path
) -> None:
    python = fresh_venv / "bin" / "python"
    where = run(
        [str(python), "-c", "import app.settings as s; print(s.PACKAGE_DIR); print(s.STATIC_DIR)"],
        cwd=tmp_path,
    ).stdout.split()
    assert all(line.startswith(str(fresh_venv)) for line in where), where

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVLENS_", "PYTHON"))}
    env["CONVLENS_PORT"] = str(port)
    server = subprocess.Popen(
        [str(fresh_venv / "bin" / "convlens"), "serve", "--log-level", "warning"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            try:
                fetch(base + "/api/v1/health")
                break
            except OSError:
                assert time.monotonic() < deadline, "convlens serve did not start"
                time.sleep(0.2)

        status, kind, page = fetch(base + "/")
        assert status == 200 and kind.startswith("text/html")
        html = page.decode()
        scripts = re.findall(r'<script[^>]+src="([^"]+)"', html)
        assert "/static/js/main.js" in scripts, scripts
        assert fetch(base + "/static/js/main.js")[0] == 200
        catalogue = fetch(base + "/static/i18n/zh-CN.json")
        assert catalogue[0] == 200 and b"{" in catalogue[2]
        status, kind, plotly = fetch(base + "/vendor/plotly.min.js")
        assert status == 200 and "javascript" in kind and len(plotly) > 1_000_000
        status, _, openapi = fetch(base + "/openapi.json")
        assert status == 200 and b'"/api/v1/trace"' in openapi
        status, _, docs = fetch(base + "/docs")
        assert status == 200
        loaded = re.findall(r'(?:src|href)="(/[^"]+)"', docs.decode())
        # Offline docs (app/web/docs.py) load Swagger UI from the app: so it must be installed.
        assert any(url.endswith(".js") for url in loaded) or "https://" in docs.decode(), loaded
        for url in loaded:
            assert fetch(base + url)[0] == 200, url
    finally:
        server.terminate()
        server.communicate(timeout=20)
