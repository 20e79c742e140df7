"""All runtime settings in one object, read from ``CONVLENS_*`` environment variables.

Tests build their own ``Settings`` and pass it to ``create_app``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent


def _asset_dir(name: str) -> Path:
    """``templates/`` or ``static/``: inside the installed package (the wheel maps them to
    ``app/<name>``), else beside the package in a source checkout. Never the working directory."""
    installed = PACKAGE_DIR / name
    return installed if installed.is_dir() else PROJECT_DIR / name


TEMPLATES_DIR = _asset_dir("templates")
STATIC_DIR = _asset_dir("static")


@dataclass(frozen=True)
class Settings:
    """Limits and server options. Every field maps to ``CONVLENS_<FIELD>`` in upper case."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    log_level: str = "info"
    # The workers' event loop: "auto" (uvloop where installed, else asyncio), "uvloop" or
    # "asyncio". uvloop's servers accept a whole burst of connections per turn (app.web.loop).
    event_loop: str = "auto"
    # Largest array (input, filter, output or intermediate), in elements.
    max_elements: int = 1_000_000
    max_kernel_size: int = 15
    max_channels: int = 512
    max_batch: int = 64
    # Multiply-adds of one request (also bounds the engine's window copies).
    max_macs: int = 20_000_000
    # Trace frames (teaching steps) and encoded bytes per stream.
    max_frames: int = 200_000
    max_stream_bytes: int = 64 * 1024 * 1024
    max_stream_seconds: float = 60.0
    max_body_bytes: int = 16 * 1024 * 1024
    # ONNX models (/api/v1/models): file bytes, weight elements (all initializers), and the
    # elements of every activation up to the chosen layer (from shape inference, before a run).
    max_model_bytes: int = 32 * 1024 * 1024
    max_model_weights: int = 8_000_000
    max_model_activations: int = 16_000_000
    # The training lab (/api/v1/lab/train): epochs, training images and seconds of one run;
    # runs training at once (the others queue, at most lab_max_queue of them); finished
    # runs kept for replay; MNIST (a directory of IDX files or a Keras mnist.npz), if any.
    lab_max_epochs: int = 30
    lab_max_examples: int = 70_000
    lab_max_seconds: float = 300.0
    lab_max_steps: int = 20_000
    lab_max_jobs: int = 1
    lab_max_queue: int = 32
    lab_cache_runs: int = 256
    lab_mnist_path: str = ""
    # MNIST uploads (POST /api/v1/lab/datasets): bytes of one upload, uploads kept per process.
    lab_max_upload_bytes: int = 64 * 1024 * 1024
    lab_max_uploads: int = 4
    # The whole request body must arrive within this (a client trickling bytes is cut off, 408).
    body_timeout_seconds: float = 30.0
    # On SIGTERM, open responses get this long to finish before they are cancelled.
    graceful_shutdown_seconds: float = 5.0
    # Idle keep-alive connections are closed after this; behind a load balancer, set it
    # above the balancer's idle timeout, or it reuses a connection the app is closing.
    keep_alive_seconds: int = 5
    # The request line and headers of one request, in bytes: past it, 431 and the
    # connection closed (app.web.server's protocol; uvicorn alone has no such limit).
    max_header_bytes: int = 64 * 1024
    # glibc malloc arenas the worker threads share (0: glibc's default of 8 per core);
    # free memory goes back to the system whenever no request is in flight (app.web.memory).
    malloc_arenas: int = 2
    # Give free heap pages back (malloc_trim) whenever the last request in flight ends.
    trim_idle_memory: bool = True
    allowed_origins: tuple[str, ...] = field(default_factory=tuple)
    frame_ancestors: str = "'self'"
    # Identical trace requests: computed once while in flight, and kept (gzipped) in an answer
    # cache of at most answer_cache_bytes per worker, each answer at most largest_answer_bytes.
    # With redis_url (redis://host:6379/0) both are shared by every worker and replica.
    answer_cache_bytes: int = 64 * 1024 * 1024
    largest_answer_bytes: int = 4 * 1024 * 1024
    redis_url: str = ""

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        environ = dict(os.environ) if environ is None else environ
        values: dict[str, object] = {}
        for spec in fields(cls):
            raw = environ.get(f"CONVLENS_{spec.name.upper()}")
            if raw is None:
                continue
            default = getattr(cls(), spec.name)
            if isinstance(default, bool):
                values[spec.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            elif isinstance(default, int):
                values[spec.name] = int(raw)
            elif isinstance(default, float):
                values[spec.name] = float(raw)
            elif isinstance(default, tuple):
                values[spec.name] = tuple(item.strip() for item in raw.split(",") if item.strip())
            else:
                values[spec.name] = raw
        return cls(**values)  # type: ignore[arg-type]
