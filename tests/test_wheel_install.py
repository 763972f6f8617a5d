"""The wheel the Docker image installs serves the whole service from outside the checkout.

The wheel is built from exactly the files the Dockerfile's build stage copies
(tests/dockerfile.py replays its ``COPY`` instructions), installed into a fresh virtualenv in a
temporary folder, and run from an empty working directory: it migrates a SQLite database,
serves public and console pages with every stylesheet and script they link, the API docs, a
French page, and sends a mail through a real SMTP server on loopback. Nothing the installed
service loads may come from the checkout.

The new virtualenv borrows the dependencies of the test virtualenv (a ``.pth`` line) instead of
downloading them, so the test runs offline and in seconds; the package itself comes only from
the wheel.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from newsletter.config import PROJECT_ROOT
from tests import dockerfile
from tests.fixtures_browser import free_port
from tests.smtp_server import SmtpTestServer

pytestmark = pytest.mark.slow

CONSOLE_AND_PUBLIC_PAGES = ("/", "/subscribe", "/archive", "/admin/login", "/api/docs", "/redoc")


@dataclass(frozen=True)
class Installed:
    venv: Path
    wheel: Path
    workdir: Path

    @property
    def newsletter(self) -> str:
        return str(self.venv / "bin" / "newsletter")

    def env(self, **extra: str) -> dict[str, str]:
        """Only what a fresh shell has, plus the service's settings for this run."""
        data = self.workdir / "var"
        return {
            "PATH": f"{self.venv / 'bin'}:/usr/bin:/bin",
            "HOME": str(self.workdir),
            "LANG": "C.UTF-8",
            "APP_ENV": "development",
            "DATA_DIR": str(data),
            "DATABASE_URL": f"sqlite:///{data / 'newsletter.sqlite3'}",
            "BROKER_URL": "filesystem://",
            "SECRET_KEY": "wheel-test-secret-0123456789abcdef0123456789",
            "LOG_FORMAT": "text",
            **extra,
        }

    def run(self, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, cwd=self.workdir, env=self.env(**env), capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip


def _build_stage() -> dockerfile.Stage:
    build = [stage for stage in dockerfile.stages() if stage.name == "build"]
    assert build, "the Dockerfile has no stage named build"
    return build[0]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel-install")
    assert not root.is_relative_to(PROJECT_ROOT)
    stage = _build_stage()
    source = root / "build-stage"
    dockerfile.replay_build_context(stage, source)
    options, _folder = dockerfile.wheel_build(stage)
    wheels = root / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-index",
         *[option if option != "." else str(source) for option in options],
         "--wheel-dir", str(wheels)],
        cwd=source, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("newsletter-*.whl")

    venv = root / "venv"
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base_python, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(venv)}))
    # The dependencies, from the test virtualenv; its editable `newsletter` is a .pth of its
    # own, which Python does not read from a folder named in another .pth.
    (purelib / "borrowed-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
         "--no-deps", "--no-index", "--quiet", str(wheel)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    workdir = root / "empty-cwd"
    workdir.mkdir()
    return Installed(venv=venv, wheel=wheel, workdir=workdir)


@pytest.fixture(scope="module")
def served(installed: Installed) -> Iterator[str]:
    migrated = installed.run(installed.newsletter, "db", "upgrade")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    port = free_port()
    log_path = installed.workdir / "web.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [installed.newsletter, "web", "--port", str(port)],
            cwd=installed.workdir, env=installed.env(), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)


class _Assets(HTMLParser):
    """The stylesheets and scripts a page links."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "link" and values.get("rel") == "stylesheet" and values.get("href"):
            self.found.append(str(values["href"]))
        if tag == "script" and values.get("src"):
            self.found.append(str(values["src"]))


def _assets(html: str) -> list[str]:
    parser = _Assets()
    parser.feed(html)
    return parser.found


def test_the_wheel_carries_the_runtime_files_inside_the_package(installed: Installed) -> None:
    import zipfile

    names = zipfile.ZipFile(installed.wheel).namelist()
    for folder in ("templates/", "static/", "alembic/versions/", "locale/fr/"):
        assert any(name.startswith(f"newsletter/{folder}") for name in names), folder
    assert "newsletter/alembic/env.py" in names
    assert "newsletter/templates/web/base.html" in names
    assert not [name for name in names if "__pycache__" in name]


def test_nothing_the_installed_service_loads_comes_from_the_checkout(
    installed: Installed,
) -> None:
    probe = """
import json, sys
from newsletter.config import get_settings
from newsletter.migrations import alembic_config
from newsletter.web.app import create_app
from newsletter.i18n import LOCALE_DIR
app = create_app()
paths = [str(get_settings().templates_dir), alembic_config().get_main_option("script_location"),
         str(LOCALE_DIR)]
paths += [str(route.app.directory) for route in app.routes if hasattr(getattr(route, "app", None),
          "all_directories")]
paths += [str(loader) for loader in app.state.templates.env.loader.searchpath]
import workers.celery_app, newsletter.cli
paths += [m.__file__ for name, m in sys.modules.items()
          if name.split(".")[0] in {"newsletter", "workers"} and getattr(m, "__file__", None)]
print(json.dumps({"paths": paths, "site": sys.prefix}))
"""
    answer = installed.run(str(installed.venv / "bin" / "python"), "-c", probe)
    assert answer.returncode == 0, answer.stderr
    found = json.loads(answer.stdout.strip().splitlines()[-1])
    assert len(found["paths"]) > 50
    checkout = str(PROJECT_ROOT)
    assert not [path for path in found["paths"] if path.startswith(checkout)]
    assert all(path.startswith(str(installed.venv)) for path in found["paths"])


def test_the_installed_service_serves_pages_with_their_styles_and_scripts(served: str) -> None:
    checked = set()
    with httpx.Client(base_url=served, timeout=10) as client:
        for path in CONSOLE_AND_PUBLIC_PAGES:
            page = client.get(path)
            assert page.status_code == 200, (path, page.text[:300])
            assert "text/html" in page.headers["content-type"], path
            assets = _assets(page.text)
            assert assets, f"{path} links no stylesheet or script"
            for asset in assets:
                assert asset.startswith("/"), f"{path} loads {asset} from elsewhere"
                answer = client.get(asset)
                assert answer.status_code == 200, (path, asset)
                assert answer.content, asset
                checked.add(asset)
    assert {"/static/css/site.css", "/admin/static/admin.css"} <= checked


def test_the_installed_service_speaks_french_from_its_own_catalogue(served: str) -> None:
    page = httpx.get(f"{served}/subscribe", params={"lang": "fr"}, timeout=10)
    assert page.status_code == 200
    assert '<html lang="fr">' in page.text
    assert "S'abonner" in page.text or "S&#39;abonner" in page.text


def test_the_installed_service_sends_a_mail_rendered_from_its_templates(
    installed: Installed, served: str
) -> None:
    with SmtpTestServer() as relay:
        sent = installed.run(
            installed.newsletter, "send-test", "ines.moreau@coalition.example.org",
            "--language", "fr", SMTP_URL=relay.url,
        )  # fmt: skip
        assert sent.returncode == 0, sent.stdout + sent.stderr
        (received,) = relay.wait_for(1)
    message = received.message
    assert received.rcpt_tos == ("ines.moreau@coalition.example.org",)
    body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    french = (PROJECT_ROOT / "templates/email/test/body.fr.txt").read_text(encoding="utf-8")
    first_sentence = re.sub(r"{%.*?%}", "", french).strip().split(".")[0]
    assert len(first_sentence) > 10
    assert first_sentence in body
