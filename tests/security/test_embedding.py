"""Embedding the page in a learning platform, in real Chromium: refused by default,
allowed for the origins in CONVLENS_FRAME_ANCESTORS."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from app.main import create_app
from app.settings import Settings
from tests.chromium import in_chromium
from tests.servers import running_server

pytestmark = pytest.mark.e2e
TIMEOUT_MS = 20_000


def platform_page(target: list[str]) -> Starlette:
    """A stand-in learning platform whose page frames ``target[0]``."""

    async def page(request: object) -> HTMLResponse:
        return HTMLResponse(f'<!doctype html><title>LMS</title>'
                            f'<iframe id="lesson" src="{target[0]}" width="900" height="600">'
                            "</iframe>")

    return Starlette(routes=[Route("/", page)])


def framed_page_is_ready(platform_url: str) -> bool:
    """Whether the platform's iframe shows ConvLens's page (which marks body[data-ready])."""

    def check(browser: object) -> bool:
        from playwright.sync_api import TimeoutError as NeverReady

        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(platform_url)
            page.wait_for_load_state("load")
            frame = page.frame_locator("#lesson")
            try:
                frame.locator("body[data-ready]").wait_for(timeout=5_000)
            except NeverReady:  # a refused frame shows the browser's error page
                return False
            return True
        finally:
            context.close()

    return in_chromium(check)


@pytest.mark.parametrize("allowed", [False, True], ids=["default", "configured"])
def test_only_the_configured_platform_may_frame_the_page(allowed: bool) -> None:
    target: list[str] = [""]
    with running_server(platform_page(target)) as platform:
        # Another origin than the app's 127.0.0.1: the same port, as "localhost".
        platform_origin = platform.url.replace("127.0.0.1", "localhost")
        settings = Settings(frame_ancestors=f"'self' {platform_origin}") if allowed else Settings()
        with running_server(create_app(settings)) as convlens:
            target[0] = convlens.url + "/"
            assert framed_page_is_ready(platform_origin + "/") is allowed
