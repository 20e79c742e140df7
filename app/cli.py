"""Command line: ``convlens serve [--host H] [--port P] [--workers N] [--reload]``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from app.settings import Settings
from app.web.blas import limit_blas_threads


def main(argv: Sequence[str] | None = None) -> None:
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(prog="convlens", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the web app and API")
    serve.add_argument("--host", default=settings.host)
    serve.add_argument("--port", type=int, default=settings.port)
    serve.add_argument("--workers", type=int, default=settings.workers)
    serve.add_argument("--log-level", default=settings.log_level)
    serve.add_argument("--reload", action="store_true", help="restart on code changes")
    arguments = parser.parse_args(argv)

    if arguments.command == "serve":
        limit_blas_threads()  # before uvicorn imports the app (and NumPy) in any worker
        import uvicorn

        from app.web.server import server_options

        uvicorn.run(
            "app.main:app",
            host=arguments.host,
            port=arguments.port,
            workers=None if arguments.reload else arguments.workers,
            reload=arguments.reload,
            log_level=arguments.log_level,
            # Open streams get this long after SIGTERM, then they are cancelled.
            timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
            timeout_keep_alive=settings.keep_alive_seconds,
            **server_options(settings, arguments.log_level),
        )


if __name__ == "__main__":
    main()
