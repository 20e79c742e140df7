"""The repository's notebook in a real JupyterLab, driven by Chromium: run all cells from the
Run menu, read the seed example's 0 / 36 / 9 / 27 from the widget's numbers, step with the
widget's buttons; no console errors, and no request leaves the machine."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

pytest.importorskip("anywidget", reason="the notebook extra (anywidget) is not installed")
pytest.importorskip("jupyterlab", reason="JupyterLab is not installed (make test installs it)")
pytest.importorskip("ipykernel", reason="ipykernel is not installed (it comes with JupyterLab)")

from tests.chromium import in_chromium  # noqa: E402

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "convlens.ipynb"
ARTIFACTS = ROOT / "test-artifacts"
TOKEN = "convlens-test"
TIMEOUT_MS = 120_000
LOOPBACK = ("127.0.0.1", "localhost")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("jupyter")
    shutil.copy(NOTEBOOK, home / NOTEBOOK.name)
    port = free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / ".config"),
           "JUPYTER_RUNTIME_DIR": str(home / ".runtime"), "IPYTHONDIR": str(home / ".ipython")}
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
        f"--ServerApp.root_dir={home}", f"--IdentityProvider.token={TOKEN}",
        "--ServerApp.port_retries=0", "--allow-root", "--LabApp.news_url=",
        "--LabApp.extension_manager=readonly",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    log = (home / "jupyter.log").open("wb")
    server = subprocess.Popen(command, cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/api/status?token={TOKEN}", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log.close()
                pytest.fail("JupyterLab did not start:\n"
                            + (home / "jupyter.log").read_text(errors="replace")[-3000:])
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_notebook_runs_and_the_widget_steps(jupyterlab: str) -> None:
    errors: list[str] = []
    outside: list[str] = []

    def watch(request: Any) -> None:
        url = request.url
        if not url.startswith(("data:", "blob:")) and urlparse(url).hostname not in LOOPBACK:
            outside.append(url)

    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    def task(browser: Any) -> dict[str, Any]:
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", watch)
        page.on("websocket", lambda socket: watch(socket))
        page.goto(f"{jupyterlab}/lab/tree/{NOTEBOOK.name}?token={TOKEN}")
        page.locator(".jp-Notebook").first.wait_for()
        # A fresh JupyterLab may ask which kernel to start: a user answers with its default.
        select = page.locator(".jp-Dialog").get_by_role("button", name="Select", exact=True)
        try:
            select.click(timeout=15_000)
        except PlaywrightTimeout:
            pass
        page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for()
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        widgets = page.locator(".convlens-widget")
        try:
            page.wait_for_function(
                "document.querySelectorAll('.convlens-widget').length === 4", timeout=TIMEOUT_MS)
        finally:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "notebook-jupyterlab-run.png"))
        seed = widgets.first
        # The cell after the seed example set `seed.step` to the last step from Python.
        seed.locator(".nb-counter", has_text="Step 16 / 16").wait_for()
        tables = seed.locator(".nb-numbers table.map-table")
        tables.first.scroll_into_view_if_needed()
        # text_content: JupyterLab skips rendering parts of long outputs (content-visibility),
        # where inner_text reads "" although the numbers are on the page.
        firsts = [tables.nth(k).locator("tbody tr").first.locator("td").first.text_content()
                  for k in range(4)]
        seed.locator(".nb-player").scroll_into_view_if_needed()
        seed.get_by_role("button", name="First step").click()
        seed.locator(".nb-counter", has_text="Step 1 / 16").wait_for(timeout=10_000)
        first = seed.locator(".nb-counter").inner_text()
        seed.get_by_role("button", name="Step forward").click()
        seed.locator(".nb-counter", has_text="Step 2 / 16").wait_for(timeout=10_000)
        second = seed.locator(".nb-counter").inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "notebook-jupyterlab.png"))
        return {"firsts": firsts, "first": first, "second": second,
                "stages": widgets.count()}

    seen = in_chromium(task)
    assert seen["firsts"] == ["0", "36", "9", "27"]
    assert seen["first"] == "Step 1 / 16" and seen["second"] == "Step 2 / 16"
    assert outside == []
    assert errors == []
