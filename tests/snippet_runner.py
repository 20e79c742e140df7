"""Run generated code snippets, each in its own process, without paying an import per snippet.

A snippet must run as printed with only its library and NumPy installed, and must not lean
on the test's imports. Starting a fresh interpreter per snippet would cost TensorFlow's
import (several seconds) hundreds of times, so each library gets one *fork server*:
``python -I`` (isolated: no PYTHON* variables, no user site, no working directory or
``tests/`` on the path, so neither ``app`` nor ``tests`` can be imported) that imports
NumPy and that one library, then forks a child per snippet. The child runs the snippet
with ``exec`` in an empty namespace — it sees only the names the snippet itself imports
and defines — saves what it left in ``output`` (and ``layer.count_params()`` when it built
a Keras layer), and exits. ``run_fresh`` runs a snippet file in a brand-new interpreter
instead, for the tests that prove the fork server changes nothing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import select
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# Hang guards, not performance targets (a loaded 2-core machine imports TF in ~10 s).
START_TIMEOUT_SECONDS = 240
SNIPPET_TIMEOUT_SECONDS = 120

_SERVER = r"""
import json, os, sys, traceback
library = sys.argv[1]
import numpy as np
if library in ("tf", "keras"):
    import tensorflow as tf
    # One thread each: the children share a 2-core machine (set before the runtime starts).
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    if library == "keras":
        import keras
        keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D
elif library == "torch":
    import torch
    torch.set_num_threads(1)
    import torch.nn.functional
sys.stdout.write("ready\n")
sys.stdout.flush()
for line in sys.stdin:
    job = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(log, 1)
            os.dup2(log, 2)
            namespace = {"__name__": "__main__"}
            exec(compile(job["source"], "<snippet>", "exec"), namespace)
            np.save(job["result"], np.asarray(namespace["output"]))
            layer = namespace.get("layer")
            extra = {}
            if getattr(layer, "built", False):
                extra["count_params"] = int(layer.count_params())
            with open(job["result"] + ".json", "w") as handle:
                json.dump(extra, handle)
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(json.dumps({"status": status}) + "\n")
    sys.stdout.flush()
"""


@dataclass
class SnippetResult:
    ok: bool
    log: str  # what the snippet printed, and the traceback if it failed
    output: np.ndarray | None
    count_params: int | None


def snippet_environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    return env


def _read_line(stream: Any, timeout: float, what: str) -> str:
    ready, _, _ = select.select([stream], [], [], timeout)
    if not ready:
        raise TimeoutError(f"{what} gave no answer within {timeout:.0f} s")
    line = stream.readline()
    if not line:
        raise RuntimeError(f"{what} exited")
    return line


class SnippetServer:
    """One fork server for one library: ``"tf"``, ``"keras"`` or ``"torch"``."""

    def __init__(self, library: str) -> None:
        self.library = library
        self.folder = Path(tempfile.mkdtemp(prefix=f"convlens-snippets-{library}-"))
        self.count = 0
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-c", _SERVER, library],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, cwd=self.folder, env=snippet_environment(),
        )
        self._pending: dict[str, str] | None = None

    def wait_ready(self) -> None:
        line = _read_line(self.process.stdout, START_TIMEOUT_SECONDS,
                          f"the {self.library} snippet server")
        assert line.strip() == "ready", line

    def submit(self, source: str) -> None:
        """Start one snippet (one at a time per server)."""
        assert self._pending is None
        self.count += 1
        stem = str(self.folder / f"snippet{self.count}")
        job = {"source": source, "log": stem + ".log", "result": stem + ".npy"}
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()
        self._pending = job

    def result(self) -> SnippetResult:
        job, self._pending = self._pending, None
        assert job is not None
        try:
            line = _read_line(self.process.stdout, SNIPPET_TIMEOUT_SECONDS,
                              f"a {self.library} snippet")
        except TimeoutError:
            self.close()  # a hung child: nothing more can run on this server
            raise
        status = json.loads(line)["status"]
        log = Path(job["log"]).read_text(errors="replace") if Path(job["log"]).exists() else ""
        if status != 0:
            return SnippetResult(False, log, None, None)
        extra = json.loads(Path(job["result"] + ".json").read_text())
        output = np.load(job["result"])
        for path in (job["log"], job["result"], job["result"] + ".json"):
            Path(path).unlink(missing_ok=True)
        return SnippetResult(True, log, output, extra.get("count_params"))

    def run(self, source: str) -> SnippetResult:
        self.submit(source)
        return self.result()

    def close(self) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        if not self.process.stdin.closed:
            self.process.stdin.close()  # the server's loop ends at end of input
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        for path in self.folder.iterdir():
            path.unlink()
        self.folder.rmdir()


_FRESH = (
    "import runpy, sys\n"
    "import numpy as np\n"
    "namespace = runpy.run_path(sys.argv[1], run_name='__main__')\n"
    "np.save(sys.argv[2], np.asarray(namespace['output']))\n"
)


def run_fresh(source: str, folder: Path) -> SnippetResult:
    """The snippet as a file, run by a brand-new isolated interpreter."""
    script, result = folder / "snippet.py", folder / "output.npy"
    script.write_text(source)
    completed = subprocess.run(
        [sys.executable, "-I", "-c", _FRESH, str(script), str(result)],
        capture_output=True, text=True, cwd=folder, env=snippet_environment(),
        timeout=START_TIMEOUT_SECONDS,
    )
    log = completed.stdout + completed.stderr
    if completed.returncode != 0:
        return SnippetResult(False, log, None, None)
    return SnippetResult(True, log, np.load(result), None)


def importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def snippet_servers(libraries: dict[str, str], skip_reason: str
                    ) -> Iterator[dict[str, SnippetServer]]:
    """A module fixture's body: one fork server per language (``language -> library``), ready,
    closed afterwards. TF and Keras are the point (skipped with ``skip_reason`` without them);
    without torch its languages are left out (those snippets skip with a warning line)."""
    import pytest

    for module in ("tensorflow", "keras"):
        if not importable(module):
            pytest.skip(skip_reason)
    started = {language: SnippetServer(library) for language, library in libraries.items()
               if library != "torch" or importable("torch")}
    try:
        for server in started.values():
            server.wait_ready()
        yield started
    finally:
        for server in started.values():
            server.close()
