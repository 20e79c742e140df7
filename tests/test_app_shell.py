"""The application shell: settings from the environment, create_app, the CLI entry points."""

from __future__ import annotations

import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import STATIC_DIR, TEMPLATES_DIR, Settings


def test_settings_read_every_kind_of_field_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "CONVLENS_PORT": "9001",
            "CONVLENS_MAX_STREAM_SECONDS": "2.5",
            "CONVLENS_ALLOWED_ORIGINS": "https://a.example, https://b.example",
            "CONVLENS_LOG_LEVEL": "debug",
            "UNRELATED": "ignored",
        }
    )
    assert settings.port == 9001
    assert settings.max_stream_seconds == 2.5
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    assert settings.log_level == "debug"
    assert settings.max_frames == Settings().max_frames


def test_settings_reject_a_malformed_number() -> None:
    with pytest.raises(ValueError):
        Settings.from_env({"CONVLENS_PORT": "eighty"})


def test_templates_and_static_resolve_from_the_package_not_the_working_directory() -> None:
    assert (TEMPLATES_DIR / "index.html").is_file()
    assert STATIC_DIR.is_dir()


def test_create_app_keeps_the_settings_it_was_given() -> None:
    settings = Settings(max_frames=7)
    application = create_app(settings)
    assert application.state.settings is settings
    page = TestClient(application).get("/")
    assert page.status_code == 200
    assert "ConvLens" in page.text


@pytest.mark.parametrize("command", [["-m", "app", "--help"], ["-m", "app.cli", "serve", "--help"]])
def test_command_line_entry_points_start_from_any_folder(command: list[str], tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, *command], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "--port" in result.stdout
