"""The real image: the Dockerfile built with buildah on a Debian base, the server started inside
it, and the image's own HEALTHCHECK command passing.

No Docker engine or base-image registry here, so ``scripts/image-base.sh`` makes the base from
Debian's packages (``debootstrap --variant=minbase bookworm`` with Python, imported with
``buildah from scratch`` + copy + commit) into a store outside the repository
(``CONVLENS_IMAGE_CACHE``, default /var/cache/convlens). ``buildah bud --isolation chroot``
builds the Dockerfile on it (``--build-arg BASE=...``) and ``buildah run --isolation chroot``
runs commands in the result (chroot isolation shares the host's network: the server listens
on a loopback port of this machine).

Cold (no base yet) this costs minutes (README, "Docker image"), so in a plain ``pytest`` run
the test needs a warm cache and otherwise skips, naming ``make docker-test``, which makes the
base and runs it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("CONVLENS_IMAGE_CACHE", "/var/cache/convlens"))
BASE_IMAGE = "localhost/convlens-base:bookworm"
IMAGE = "localhost/convlens:test"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# Hang guards, not performance targets.
BUILD_TIMEOUT_SECONDS = 1200
START_TIMEOUT_SECONDS = 90

pytestmark = [pytest.mark.image, pytest.mark.timeout(2 * BUILD_TIMEOUT_SECONDS)]


def buildah(*args: str, timeout: float = BUILD_TIMEOUT_SECONDS) -> subprocess.CompletedProcess[str]:
    command = ["buildah", "--root", str(CACHE / "storage"), "--runroot", str(CACHE / "run"),
               "--storage-driver", "vfs", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def checked(result: subprocess.CompletedProcess[str]) -> str:
    output = f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    assert result.returncode == 0, f"{result.args}\n{output}"
    return result.stdout


@pytest.fixture(scope="module")
def base() -> str:
    for tool in ("buildah", "debootstrap"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (apt-get install {tool}; `make docker-test`)")
    if os.geteuid() != 0:
        pytest.skip("buildah --isolation chroot and debootstrap need root here")
    warm = buildah("inspect", "--type", "image", BASE_IMAGE, timeout=60).returncode == 0
    if not warm and os.environ.get("CONVLENS_IMAGE_TEST") != "1":
        pytest.skip(f"no cached base image in {CACHE} (cold build takes minutes): "
                    "run `make docker-test` once, then `make test` includes this test")
    result = subprocess.run(
        [str(REPO / "scripts" / "image-base.sh")], capture_output=True, text=True,
        timeout=BUILD_TIMEOUT_SECONDS, env={**os.environ, "CONVLENS_IMAGE_CACHE": str(CACHE)},
    )
    if result.returncode == 3:
        pytest.skip(result.stderr.strip())
    return checked(result).strip().splitlines()[-1]


@pytest.fixture(scope="module")
def image(base: str) -> str:
    build = ["bud", "--isolation", "chroot", "--layers", "--format", "docker",
             "--build-arg", f"BASE={base}", "-t", IMAGE, "-f", str(REPO / "Dockerfile")]
    if CA_BUNDLE.is_file():
        # This machine's CA bundle, for pip behind a TLS-inspecting proxy; build time only.
        build += ["--build-arg", "PIP_CERT=/etc/pip-build-ca.pem",
                  "--volume", f"{CA_BUNDLE}:/etc/pip-build-ca.pem:ro"]
    checked(buildah(*build, str(REPO)))
    buildah("rmi", "--prune", timeout=300)  # earlier builds' layers; this one's stay as cache
    return IMAGE


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fetch(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        return response.status, response.read()


def post_file(url: str, field: str, content: bytes) -> bytes:
    """A multipart POST of one file field."""
    boundary = "convlens-image-test"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
            f"filename=\"model.onnx\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            ).encode() + content + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
        return response.read()


def test_the_image_serves_and_passes_its_healthcheck(image: str) -> None:
    config = json.loads(checked(buildah("inspect", "--type", "image", image, timeout=60)))
    docker_config = config["Docker"]["config"]
    health = docker_config["Healthcheck"]["Test"]
    assert health[0] == "CMD", health
    assert docker_config["User"].split(":")[0] not in ("", "root", "0")
    assert docker_config["Cmd"] == ["convlens", "serve"]

    container = checked(buildah("from", image, timeout=300)).strip()
    port = free_port()
    env = ["--env", f"CONVLENS_PORT={port}", "--env", "CONVLENS_HOST=127.0.0.1"]
    server = subprocess.Popen(
        ["buildah", "--root", str(CACHE / "storage"), "--runroot", str(CACHE / "run"),
         "--storage-driver", "vfs", "run", "--isolation", "chroot", *env, container,
         "--", *docker_config["Cmd"]],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            check = buildah("run", "--isolation", "chroot", *env, container, "--", *health[1:],
                            timeout=60)
            if check.returncode == 0:
                break
            assert server.poll() is None, server.communicate()[0]
            assert time.monotonic() < deadline, "the HEALTHCHECK never passed"
            time.sleep(1)
        base_url = f"http://127.0.0.1:{port}"
        status, page = fetch(base_url + "/")
        assert status == 200 and b"/static/js/main.js" in page
        assert fetch(base_url + "/static/js/main.js")[0] == 200
        assert len(fetch(base_url + "/vendor/plotly.min.js")[1]) > 1_000_000
        assert b'"/api/v1/trace"' in fetch(base_url + "/openapi.json")[1]
        # The image's extras (EXTRAS in the Dockerfile): the models API reads the shipped
        # network, and the lab's dataset and Redis's client are importable.
        status, shipped = fetch(base_url + "/static/models/digits_separable.onnx")
        assert status == 200 and fetch(base_url + "/lab")[0] == 200
        inspected = json.loads(post_file(base_url + "/api/v1/models/inspect", "model", shipped))
        assert {layer["kind"] for layer in inspected["layers"]} >= {"depthwise", "pointwise"}
        checked(buildah("run", "--isolation", "chroot", container, "--", "python", "-c",
                        "from sklearn.datasets import load_digits; import redis; "
                        "assert load_digits().images.shape == (1797, 8, 8)", timeout=120))
        # The app runs from the installed wheel, no source tree in the image.
        where = checked(buildah("run", "--isolation", "chroot", container, "--", "python", "-c",
                                "import app.settings as s; print(s.STATIC_DIR)", timeout=60))
        assert "/site-packages/app/static" in where, where
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.communicate()
        buildah("rm", container, timeout=120)
