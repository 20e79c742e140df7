"""Refresh the README's screenshots (docs/*.png) from the page, in Debian's Chromium.

    .venv/bin/python scripts/docs_screenshots.py

Serves the app on a free loopback port, opens each scene (a state hash, a window
size, a language) and writes docs/<name>.png. The notebook's screenshot comes from
its own test (tests/notebook).
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

SEPARABLE = ("op=separable&source=ramp&height=5&width=5&channels=3&multiplier=1&out=4"
             "&kernels=identity,edge_x,laplacian&pointwise=random&padding=SAME")
# name: (width, height, path and hash, what must be on screen before the picture)
SCENES = {
    "screenshot-depthwise": (1440, 900, "/#step=5", "#arithmetic [data-role]"),
    "screenshot-pointwise": (1440, 900, f"/#{SEPARABLE}&step=88", "#arithmetic [data-role]"),
    # Lessons are opened from their menu (which applies their settings), then Next.
    "screenshot-lesson-separable": (1366, 768, "/#lesson:2:2", "#lesson-widget > *"),
    "screenshot-lesson-groups-zh": (
        1366, 768, "/?lang=zh-CN#lesson:6:1", "#lesson-widget > *"),
    "screenshot-presenter-focus": (
        1920, 1080,
        "/#op=depthwise&source=digit&height=32&width=32&channels=8&multiplier=4&kh=5&kw=5&dh=2&dw=2"
        "&kernels=1,-1,2,1&step=30&present=1", ".focus-view canvas[data-font]"),
    "screenshot-presenter-grouped-dark": (
        1280, 720,
        "/#op=grouped&source=checker&height=6&width=6&channels=8&groups=4&out=4&padding=SAME"
        "&kernels=identity,edge_x,edge_y,laplacian&step=3&present=1&theme=dark",
        ".focus-view canvas[data-font]"),
}


def serve() -> tuple[str, object]:
    import uvicorn

    from app.main import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server


def main() -> None:
    from playwright.sync_api import sync_playwright

    base, server = serve()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            for name, (width, height, path, ready) in SCENES.items():
                page = browser.new_page(viewport={"width": width, "height": height})
                lesson = path.split("#lesson:")[1].split(":") if "#lesson:" in path else None
                page.goto(base + (path.split("#lesson:")[0] if lesson else path))
                page.wait_for_selector("body[data-ready]")
                if lesson:
                    page.select_option("#lesson-select", lesson[0])
                    for _ in range(int(lesson[1])):
                        page.click("#lesson-next")
                page.wait_for_selector(ready, state="attached", timeout=20_000)
                page.wait_for_timeout(800)  # the stage settles after a resize, the charts draw
                target = ROOT / "docs" / f"{name}.png"
                page.screenshot(path=str(target))
                print(target.relative_to(ROOT))
                page.close()
            browser.close()
    finally:
        server.should_exit = True


if __name__ == "__main__":
    main()
