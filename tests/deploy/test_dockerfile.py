"""The Dockerfile: its required properties, and its steps run for real in a clean venv.

No Docker engine runs here, so the second test plays the image build: COPY copies
into a scratch root, RUN runs in a shell with a fresh virtual environment first on
PATH, ENV is the environment, and the CMD must start a server whose HEALTHCHECK
command passes.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from fnmatch import fnmatch
from pathlib import Path

import pytest

from app.settings import Settings
from tests.deploy import dockerfile

REPO = Path(__file__).resolve().parents[2]
INSTRUCTIONS = dockerfile.read(REPO / "Dockerfile")
SETTING_VARIABLES = {f"CONVLENS_{spec.name.upper()}" for spec in dataclasses.fields(Settings)}
# Hang guards, not performance targets.
INSTALL_TIMEOUT_SECONDS = 900
START_TIMEOUT_SECONDS = 90


def keywords() -> list[str]:
    return [instruction.keyword for instruction in INSTRUCTIONS]


def first(keyword: str) -> int:
    return keywords().index(keyword)


def all_of(keyword: str) -> list[dockerfile.Instruction]:
    return [instruction for instruction in INSTRUCTIONS if instruction.keyword == keyword]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in all_of("ENV"):
        env.update(dockerfile.env_pairs(instruction.args))
    return env


def ignore_patterns() -> list[str]:
    lines = (REPO / ".dockerignore").read_text("utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(relative: str, patterns: list[str]) -> bool:
    """Docker's rule, enough for our patterns: the last matching line wins, ``!`` re-includes."""
    verdict = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        bare = pattern.lstrip("!").removeprefix("**/")
        if fnmatch(relative, pattern.lstrip("!")) or any(
            fnmatch(part, bare) for part in Path(relative).parts
        ):
            verdict = not negate
    return verdict


# ------------------------------------------------------------------ static checks


def test_the_base_is_a_slim_python_image() -> None:
    base = INSTRUCTIONS[0]
    assert base.keyword == "FROM"
    assert base.args.startswith("python:") and base.args.endswith("-slim"), base.args


def test_dependencies_are_a_layer_of_their_own_before_the_code() -> None:
    copies = [(index, i.args) for index, i in enumerate(INSTRUCTIONS) if i.keyword == "COPY"]
    metadata_index, metadata = copies[0]
    assert "pyproject.toml" in metadata.split()
    assert not any(name in metadata.split() for name in ("app", ".", "./app"))
    code_index = next(index for index, args in copies if args.split()[0] == "app")
    installs = [index for index, i in enumerate(INSTRUCTIONS)
                if i.keyword == "RUN" and "pip install" in i.args]
    assert any(metadata_index < index < code_index for index in installs), (
        "no dependency install between COPY pyproject.toml and COPY app"
    )


def test_the_server_runs_as_a_non_root_user() -> None:
    users = all_of("USER")
    assert users, "no USER instruction: the server would run as root"
    user = users[-1].args.split(":")[0]
    assert user not in ("root", "0")
    # Nothing after USER runs as that user at build time except the server itself.
    assert "RUN" not in keywords()[first("USER"):]


def test_the_command_is_exec_form_and_takes_workers_from_the_environment() -> None:
    command = dockerfile.exec_form(all_of("CMD")[-1].args)
    assert command[:2] == ["convlens", "serve"]
    assert not any(arg.startswith("--workers") for arg in command), "workers must come from env"
    env = image_env()
    assert int(env["CONVLENS_WORKERS"]) >= 1
    assert env["CONVLENS_HOST"] == "0.0.0.0"  # reachable through the container's port
    assert env["CONVLENS_PORT"] in [port.split("/")[0] for port in all_of("EXPOSE")[0].args.split()]


def test_every_convlens_variable_of_the_image_is_a_setting() -> None:
    variables = {name for name in image_env() if name.startswith("CONVLENS_")}
    assert variables <= SETTING_VARIABLES, variables - SETTING_VARIABLES


def test_the_healthcheck_asks_the_health_endpoint() -> None:
    checks = all_of("HEALTHCHECK")
    assert len(checks) == 1
    command = dockerfile.healthcheck_command(checks[0].args)
    assert command == ["python", "-m", "app.healthcheck"]
    source = (REPO / "app" / "healthcheck.py").read_text("utf-8")
    assert "/api/v1/health" in source


def test_dockerignore_keeps_what_the_image_copies_and_drops_the_rest() -> None:
    patterns = ignore_patterns()
    for heavy in (".git", ".venv", "tests", "__pycache__/x.pyc", "app/__pycache__/m.pyc"):
        assert ignored(heavy, patterns), heavy
    for instruction in all_of("COPY"):
        for source in instruction.args.split()[:-1]:
            assert not ignored(source, patterns), f"{source} is copied but .dockerignore drops it"


# ------------------------------------------------------- the build, played for real


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def index_reachable(pip: Path, scratch: Path) -> bool:
    """Whether pip can fetch anything at all (the machine's wheels or an index)."""
    result = subprocess.run(
        [str(pip), "download", "--no-deps", "--dest", str(scratch), "setuptools"],
        capture_output=True, text=True, timeout=300,
    )
    return result.returncode == 0


def copy_into(source: Path, target: Path, patterns: list[str]) -> None:
    if source.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        return

    def skip(folder: str, names: list[str]) -> set[str]:
        relative = Path(folder).relative_to(REPO)
        return {name for name in names if ignored(str(relative / name), patterns)}

    shutil.copytree(source, target, ignore=skip, dirs_exist_ok=True)


def play_build(root: Path, venv: Path, env: dict[str, str]) -> Path:
    """Run the Dockerfile's steps under ``root``; returns the final WORKDIR."""
    patterns = ignore_patterns()
    workdir = root
    for instruction in INSTRUCTIONS:
        if instruction.keyword == "WORKDIR":
            workdir = root / instruction.args.lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif instruction.keyword == "COPY":
            *sources, target = instruction.args.split()
            for source in sources:
                destination = workdir / target
                if target.endswith("/"):
                    destination = destination / Path(source).name
                copy_into(REPO / source, destination, patterns)
        elif instruction.keyword == "RUN":
            if instruction.args.split()[0] in ("useradd", "adduser", "groupadd"):
                continue  # accounts of the image, not of this machine
            result = subprocess.run(
                ["bash", "-c", f"set -e; {instruction.args}"], cwd=workdir, env=env,
                capture_output=True, text=True, timeout=INSTALL_TIMEOUT_SECONDS,
            )
            if result.returncode != 0 and not index_reachable(venv / "bin" / "pip", root):
                pytest.skip("pip reaches no package index here")
            assert result.returncode == 0, f"RUN {instruction.args}\n{result.stderr[-4000:]}"
    return workdir


@pytest.mark.timeout(INSTALL_TIMEOUT_SECONDS + 2 * START_TIMEOUT_SECONDS)
def test_the_image_steps_install_and_start_the_server_in_a_clean_venv(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=120)
    env = {
        "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "VIRTUAL_ENV": str(venv),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        **{name: value for name, value in os.environ.items() if name.startswith(("PIP_", "LANG"))},
        **image_env(),
    }
    # The image disables pip's cache (smaller layers); here it makes reruns quick.
    env.pop("PIP_NO_CACHE_DIR", None)
    workdir = play_build(tmp_path / "root", venv, env)

    port = free_port()
    env.update({"CONVLENS_HOST": "127.0.0.1", "CONVLENS_PORT": str(port)})
    command = dockerfile.exec_form(all_of("CMD")[-1].args)
    health = dockerfile.healthcheck_command(all_of("HEALTHCHECK")[0].args)
    # From another folder: the package finds templates/ and static/ by itself.
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            check = subprocess.run(health, cwd=tmp_path, env=env, timeout=30)
            if check.returncode == 0:
                break
            assert server.poll() is None, log_path.read_text("utf-8", "replace")
            assert time.monotonic() < deadline, "the HEALTHCHECK never passed"
            time.sleep(0.5)
        base = f"http://127.0.0.1:{port}"
        for path in ("/", "/static/css/convlens.css", "/vendor/plotly.min.js", "/api/v1/presets"):
            with urllib.request.urlopen(base + path, timeout=30) as response:
                assert response.status == 200, path
        # The code ran from the build's folder, not from this repository.
        import_path = subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import app; print(app.__file__)"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=True,
        ).stdout.strip()
        assert Path(import_path).is_relative_to(workdir)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=START_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    # uvicorn shuts down cleanly, then re-raises the SIGTERM it caught.
    assert server.returncode in (0, -signal.SIGTERM)
    assert "Finished server process" in log_path.read_text("utf-8", "replace")
