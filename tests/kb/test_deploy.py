"""Production settings pass Django's deploy checks; the compose file is valid; config fails fast."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_service

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "p" * 20 + "-a-long-random-production-secret-0123456789",
    "ALLOWED_HOSTS": "kb.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://kb.example.com",
    "DJANGO_SETTINGS_MODULE": "kb.settings",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if key not in PRODUCTION and key != "KB_HTTPS"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION, "KB_DATA_DIR": str(tmp_path)}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_missing_secret_fails_fast_with_a_clear_message(tmp_path):
    result = manage("check", env={"DEBUG": "0", "KB_DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_bad_boolean_is_named(tmp_path):
    result = manage("check", env={"DEBUG": "maybe", "KB_DATA_DIR": str(tmp_path)})
    assert result.returncode != 0 and "DEBUG='maybe' is not a boolean" in result.stderr


def test_docker_compose_file_is_valid():
    tool = shutil.which("docker-compose")
    if tool is None:
        require_service(
            "docker-compose", "validates docker-compose.yml offline (apt-get install docker-compose)"
        )
    result = subprocess.run(
        [tool, "-f", "docker-compose.yml", "config", "--quiet"],
        cwd=ROOT,
        env={**os.environ, "SECRET_KEY": "x"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    missing = subprocess.run(
        [tool, "-f", "docker-compose.yml", "config", "--quiet"],
        cwd=ROOT,
        env={key: value for key, value in os.environ.items() if key != "SECRET_KEY"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode != 0 and "set SECRET_KEY" in missing.stderr


@pytest.mark.parametrize("url", ["postgresql://u:p@db:5432/kb", "sqlite:////tmp/x.sqlite3"])
def test_database_url_selects_the_engine(url, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])",
        ],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "kb.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("postgresql" if url.startswith("postgresql") else "sqlite3")
