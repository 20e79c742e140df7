"""``python -m app.web.healthcheck``: exit 0 when the local server answers ``/api/v1/health``.

The container's HEALTHCHECK. Standard library only (the slim image has no curl);
the port comes from ``CONVLENS_PORT`` like the server's.
"""

from __future__ import annotations

import json
import sys
import urllib.request

from app.settings import Settings

TIMEOUT_SECONDS = 3.0


def check(port: int, timeout: float = TIMEOUT_SECONDS) -> bool:
    """True when ``GET /api/v1/health`` on loopback answers 200 with ``status: ok``."""
    url = f"http://127.0.0.1:{port}/api/v1/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            return response.status == 200 and json.load(response).get("status") == "ok"
    except (OSError, ValueError):
        return False


def main() -> None:
    sys.exit(0 if check(Settings.from_env().port) else 1)


if __name__ == "__main__":
    main()
