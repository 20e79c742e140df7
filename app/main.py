"""The ASGI application: ``app.main:app``, built by ``create_app()``."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app import __version__
from app.settings import STATIC_DIR, Settings
from app.web.blas import limit_blas_threads
from app.web.memory import TrimWhenIdle, limit_arenas
from app.web.server import HeadAsGet

# Before anything imports NumPy (the API does, inside create_app).
limit_blas_threads()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application with ``settings`` (default: from the environment)."""
    settings = settings or Settings.from_env()
    application = FastAPI(
        title="ConvLens",
        # The docs pages are app.web.docs's: the same pages with their assets served offline.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        version=__version__,
        description=(
            "Depthwise and depthwise-separable convolution, step by step. The endpoints "
            "mirror `tf.nn.conv2d`, `tf.nn.depthwise_conv2d`, `tf.nn.separable_conv2d` "
            "and `torch.nn.functional.conv2d` argument for argument."
        ),
    )
    application.state.settings = settings
    limit_arenas(settings.malloc_arenas)  # before the worker threads allocate
    application.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    from app.api import include_api
    from app.web import docs, pages
    from app.web.security import protect

    include_api(application)
    if settings.trim_idle_memory:
        application.add_middleware(TrimWhenIdle)
    application.add_middleware(HeadAsGet)
    application.include_router(pages.router)
    application.include_router(docs.router)
    protect(application, settings)
    return application


app = create_app()
