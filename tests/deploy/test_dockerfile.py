"""The Dockerfile's required properties, read from its text.

The image itself is built and run for real with buildah in tests/deploy/test_image.py.
"""

from __future__ import annotations

import dataclasses
from fnmatch import fnmatch
from pathlib import Path

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


def test_the_base_is_an_argument_defaulting_to_slim_python() -> None:
    assert INSTRUCTIONS[0].keyword == "ARG"
    name, _, default = INSTRUCTIONS[0].args.partition("=")
    assert name == "BASE" and default.startswith("python:") and default.endswith("-slim")
    assert [i.args.split()[0] for i in all_of("FROM")] == ["${BASE}", "${BASE}"]


def final_stage() -> list[dockerfile.Instruction]:
    return INSTRUCTIONS[max(i for i, step in enumerate(INSTRUCTIONS) if step.keyword == "FROM"):]


def test_the_image_installs_the_built_wheel_after_a_dependency_layer() -> None:
    stage = final_stage()
    copies = [(index, i.args) for index, i in enumerate(stage) if i.keyword == "COPY"]
    (metadata_index, metadata), (wheel_index, wheel) = copies
    assert metadata.split()[0] == "pyproject.toml"
    assert wheel.startswith("--from=wheel ")
    installs = [index for index, i in enumerate(stage)
                if i.keyword == "RUN" and "pip install" in i.args]
    assert any(metadata_index < index < wheel_index for index in installs), "no dependency layer"
    assert any(index > wheel_index and ".whl" in stage[index].args for index in installs)
    # No source tree in the image, and the wheel stage builds the wheel from the sources.
    assert not any(args.split()[0] in ("app", "./app", ".") for _, args in copies)
    assert any("-m build" in i.args and "--wheel" in i.args for i in all_of("RUN"))


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
    assert command == ["python", "-m", "app.web.healthcheck"]
    source = (REPO / "app" / "web" / "healthcheck.py").read_text("utf-8")
    assert "/api/v1/health" in source


def test_dockerignore_keeps_what_the_image_copies_and_drops_the_rest() -> None:
    patterns = ignore_patterns()
    for heavy in (".git", ".venv", "tests", "__pycache__/x.pyc", "app/__pycache__/m.pyc"):
        assert ignored(heavy, patterns), heavy
    for instruction in all_of("COPY"):
        if instruction.args.startswith("--from="):
            continue
        for source in instruction.args.split()[:-1]:
            assert not ignored(source, patterns), f"{source} is copied but .dockerignore drops it"
