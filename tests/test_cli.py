"""The ``newsletter`` command, run as a real process on the embedded defaults."""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click import Group

from newsletter.cli import cli
from newsletter.config import PROJECT_ROOT, Settings

COMMANDS = [
    ["db", "upgrade"],
    ["run"],
    ["web"],
    ["worker"],
    ["beat"],
    ["create-staff"],
    ["send-test"],
]


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env.update({"DATA_DIR": str(tmp_path), "FROM_ADDRESS": "news@coalition.example.org"}, **extra)
    return env


def newsletter(tmp_path: Path, *args: str, stdin: str | None = None, **env: str):
    return subprocess.run(
        [sys.executable, "-m", "newsletter", *args],
        cwd=tmp_path,
        env=clean_env(tmp_path, **env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_every_documented_command_exists_and_has_help() -> None:
    for path in COMMANDS:
        command = cli
        for word in path:
            assert isinstance(command, Group), path
            command = command.commands[word]
        assert command.help, path


@pytest.mark.parametrize("path", [[], *COMMANDS], ids=lambda p: " ".join(p) or "top")
def test_help_runs(tmp_path: Path, path: list[str]) -> None:
    result = newsletter(tmp_path, *path, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage: newsletter" in result.stdout


def test_db_upgrade_creates_the_sqlite_file_under_var(tmp_path: Path) -> None:
    result = newsletter(tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "newsletter.sqlite3").stat().st_size > 0


def test_send_test_leaves_a_message_in_the_outbox(tmp_path: Path) -> None:
    result = newsletter(tmp_path, "send-test", "someone@example.org", "--language", "fr")
    assert result.returncode == 0, result.stderr
    files = list((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 1
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert message["To"] == "someone@example.org"
    assert "message de test" in message["Subject"]
    html = message.get_body(("html",)).get_content()
    assert 'style="' in html  # premailer inlined the layout's CSS


def test_send_test_refuses_an_invalid_address_clearly(tmp_path: Path) -> None:
    result = newsletter(tmp_path, "send-test", "not an address")
    assert result.returncode != 0
    assert "not a valid address" in result.stderr
    assert not (tmp_path / "outbox").exists() or not list((tmp_path / "outbox").iterdir())


def test_bad_configuration_stops_the_command_with_the_reason(tmp_path: Path) -> None:
    result = newsletter(tmp_path, "db", "upgrade", DATABASE_URL="mysql://x/y")
    assert result.returncode != 0
    assert "DATABASE_URL: must start with postgresql://" in result.stderr
    assert "Traceback" not in result.stderr


def test_create_staff_without_a_terminal(tmp_path: Path) -> None:
    assert newsletter(tmp_path, "db", "upgrade").returncode == 0
    args = ("create-staff", "--email", "admin@coalition.example.org", "--role", "admin")
    created = newsletter(tmp_path, *args, NEWSLETTER_STAFF_PASSWORD="a long passphrase here")
    assert created.returncode == 0, created.stderr
    again = newsletter(tmp_path, *args, NEWSLETTER_STAFF_PASSWORD="a long passphrase here")
    assert again.returncode != 0
    assert "already exists" in again.stderr


def test_project_root_is_the_checkout() -> None:
    assert (PROJECT_ROOT / "alembic.ini").exists()
