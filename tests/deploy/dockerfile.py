"""A small Dockerfile reader, enough for ConvLens's own Dockerfile.

``parse(text)`` gives the instructions in order, continuation lines joined and
comments dropped. ``exec_form(args)`` reads a JSON-array argument (CMD, the
HEALTHCHECK's CMD). ``env_pairs(args)`` reads ``ENV a=1 b=2``.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY, ...
    args: str


def parse(text: str) -> list[Instruction]:
    instructions: list[Instruction] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are dropped
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        whole = pending + stripped
        pending = ""
        keyword, _, args = whole.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip()))
    return instructions


def read(path: Path) -> list[Instruction]:
    return parse(path.read_text("utf-8"))


def exec_form(args: str) -> list[str]:
    """The JSON array of an exec-form instruction; ValueError for the shell form."""
    try:
        value = json.loads(args)
    except json.JSONDecodeError as error:
        raise ValueError(f"not exec form: {args!r}") from error
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"not exec form: {args!r}")
    return value


def env_pairs(args: str) -> dict[str, str]:
    """``ENV a=1 b="two words"`` (the key=value form) as a dict."""
    pairs: dict[str, str] = {}
    for item in shlex.split(args):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"ENV without '=': {args!r}")
        pairs[key] = value
    return pairs


def healthcheck_command(args: str) -> list[str]:
    """The command of ``HEALTHCHECK [--option=value ...] CMD [...]``."""
    options, sep, command = args.partition("CMD ")
    if not sep or any(not option.startswith("--") for option in options.split()):
        raise ValueError(f"unexpected HEALTHCHECK: {args!r}")
    return exec_form(command.strip())
