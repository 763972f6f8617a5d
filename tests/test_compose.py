"""The Docker deployment (docker-compose.yml, Dockerfile, .env.example), checked without Docker.

No container engine runs where the tests run, and the ``docker`` command is never called even
when installed: the files are read and cross-checked against the code they configure. The
compose environment must be a valid ``newsletter.config`` configuration, the commands real
``newsletter`` CLI commands, the images pinned, and the start order safe (migrate first, then
the processes, only once PostgreSQL and Redis answer their health checks).
"""

from __future__ import annotations

import re
import shlex
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import pytest
import yaml

from newsletter.config import PLACEHOLDER_SECRETS, PROJECT_ROOT, Settings, load_settings
from tests import dockerfile

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
DOCKERIGNORE = PROJECT_ROOT / ".dockerignore"
ENV_EXAMPLE = PROJECT_ROOT / ".env.example"
PYPROJECT = PROJECT_ROOT / "pyproject.toml"

APP_SERVICES = ("migrate", "web", "worker", "beat")
PROCESS_SERVICES = ("web", "worker", "beat")
THIRD_PARTY_IMAGES = {"postgres": "postgres", "redis": "redis", "mailpit": "axllent/mailpit"}
EXPECTED_COMMANDS = {
    "migrate": ("db", "upgrade"),
    "web": ("web",),
    "worker": ("worker",),
    "beat": ("beat",),
}
SETTING_NAMES = frozenset(name.upper() for name in Settings.model_fields)
TEST_SECRET = "compose-test-secret-" + "s" * 40
APP_DATA_MOUNT = "/app/var"

# ---- Compose's variable interpolation, the subset this project uses ---------------------------

_REFERENCE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)
_BRACED = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|-|:\?|\?)(?P<arg>.*))?", re.S)


class MissingVariable(LookupError):
    """A ``${VAR:?message}`` whose variable is unset or empty: compose refuses to start."""


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """Substitute ``$$``, ``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``,
    ``${VAR:?message}`` and ``${VAR?message}`` as ``docker compose`` does."""

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        if match["bare"]:
            return variables.get(match["bare"], "")
        braced = _BRACED.fullmatch(match["braced"])
        if braced is None or "$" in (braced["arg"] or ""):
            raise ValueError(f"interpolation not understood by this test: ${{{match['braced']}}}")
        name, op, arg = braced["name"], braced["op"], braced["arg"]
        value = variables.get(name)
        if op == ":-":
            return value if value else arg
        if op == "-":
            return arg if value is None else value
        if (op == ":?" and not value) or (op == "?" and value is None):
            raise MissingVariable(f"{name}: {arg}")
        return value or ""

    return _REFERENCE.sub(substitute, text)


def resolve(node: Any, variables: Mapping[str, str]) -> Any:
    """The parsed compose document with every string interpolated."""
    if isinstance(node, str):
        return interpolate(node, variables)
    if isinstance(node, dict):
        return {key: resolve(value, variables) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(item, variables) for item in node]
    return node


def referenced_variables(node: Any) -> set[str]:
    """Names of the variables the compose file reads from .env or the shell."""
    if isinstance(node, str):
        names = set()
        for match in _REFERENCE.finditer(node):
            if match["bare"]:
                names.add(match["bare"])
            elif match["braced"] is not None:
                braced = _BRACED.fullmatch(match["braced"])
                if braced is not None:
                    names.add(braced["name"])
        return names
    if isinstance(node, dict):
        return set().union(*(referenced_variables(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(referenced_variables(item) for item in node))
    return set()


# ---- Reading the files ------------------------------------------------------------------------


def raw_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def compose_with(**variables: str) -> dict[str, Any]:
    """The compose document as `docker compose config` would see it with this .env."""
    return resolve(raw_compose(), {"SECRET_KEY": TEST_SECRET, **variables})


def service(name: str, **variables: str) -> dict[str, Any]:
    return compose_with(**variables)["services"][name]


def environment_of(definition: Mapping[str, Any]) -> dict[str, str]:
    environment = definition.get("environment") or {}
    if isinstance(environment, list):
        pairs = (item.split("=", 1) if "=" in item else (item, "") for item in environment)
        return {name: value for name, value in pairs}
    return {name: "" if value is None else str(value) for name, value in environment.items()}


def command_words(definition: Mapping[str, Any]) -> list[str]:
    command = definition["command"]
    return shlex.split(command) if isinstance(command, str) else [str(word) for word in command]


def healthcheck_text(definition: Mapping[str, Any]) -> str:
    test = definition["healthcheck"]["test"]
    return test if isinstance(test, str) else " ".join(str(word) for word in test)


def named_volume_mounts(definition: Mapping[str, Any]) -> dict[str, str]:
    """Named volume -> mount point (bind mounts, starting with . / or ~, are left out)."""
    mounts = {}
    for volume in definition.get("volumes", []):
        if isinstance(volume, dict):
            if volume.get("type", "volume") == "volume":
                mounts[volume["source"]] = volume["target"]
            continue
        source, target = volume.split(":")[:2]
        if not source.startswith((".", "/", "~")):
            mounts[source] = target
    return mounts


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    instructions, current = [], ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        keyword, _, arguments = (current + line).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        current = ""
    return instructions


def env_example_lines() -> dict[str, tuple[bool, str]]:
    """Variable -> (active, value) for every `NAME=value` line, active or commented out."""
    entries: dict[str, tuple[bool, str]] = {}
    for raw in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"(?P<off>#\s*)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)", raw.strip())
        if match:
            value = match["value"].strip().strip("'\"")
            active = match["off"] is None
            if active or match["name"] not in entries:
                entries[match["name"]] = (active, value)
    return entries


def clear_settings_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)


def settings_from_environment(
    monkeypatch: pytest.MonkeyPatch, environment: Mapping[str, str]
) -> Settings:
    """Load the settings the way a container does: from its environment variables only."""
    clear_settings_environment(monkeypatch)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return load_settings(_env_file=None)


def resolve_cli_command(words: list[str]) -> tuple[click.Command, tuple[str, ...], list[str]]:
    """Walk the click groups of `newsletter` along `words`: (command, its path, its arguments)."""
    from newsletter.cli import cli

    assert isinstance(cli, click.Group)
    command: click.Command = cli
    context = click.Context(cli, info_name="newsletter")
    path: list[str] = []
    rest = list(words)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        subcommand = command.get_command(context, rest[0])
        assert subcommand is not None, f"`newsletter {' '.join([*path, rest[0]])}` does not exist"
        context = click.Context(subcommand, info_name=rest[0], parent=context)
        command = subcommand
        path.append(rest.pop(0))
    return command, tuple(path), rest


# ---- Services and images ----------------------------------------------------------------------


def test_compose_defines_database_broker_mail_catcher_migration_and_app_processes() -> None:
    services = raw_compose()["services"]
    expected = {"postgres", "redis", "mailpit", "migrate", "web", "worker", "beat"}
    assert expected <= set(services), f"missing services: {expected - set(services)}"


def test_every_third_party_image_is_pinned_to_an_exact_version() -> None:
    services = raw_compose()["services"]
    third_party = {name: spec for name, spec in services.items() if "build" not in spec}
    assert set(THIRD_PARTY_IMAGES) <= set(third_party)
    for name, spec in third_party.items():
        image = spec["image"]
        match = re.fullmatch(r"(?P<repo>[^:@$]+):(?P<tag>[^@$]+)(@sha256:[0-9a-f]{64})?", image)
        assert match, f"{name}: image {image!r} has no fixed tag"
        assert match["tag"] != "latest", f"{name}: image {image!r} floats on latest"
        assert re.search(r"\d+\.\d+", match["tag"]), f"{name}: tag of {image!r} is not exact"
        if name in THIRD_PARTY_IMAGES:
            assert match["repo"] == THIRD_PARTY_IMAGES[name]


def test_postgres_is_16_alpine_and_redis_is_7_alpine() -> None:
    services = raw_compose()["services"]
    assert re.fullmatch(r"postgres:16\.\d+-alpine[\d.]*", services["postgres"]["image"])
    assert re.fullmatch(r"redis:7\.\d+\.\d+-alpine[\d.]*", services["redis"]["image"])


def test_app_services_share_one_locally_built_image_tagged_with_the_package_version() -> None:
    version = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["version"]
    services = raw_compose()["services"]
    for name in APP_SERVICES:
        build = services[name]["build"]
        context = build if isinstance(build, str) else build.get("context", ".")
        assert context in {".", "./"}, f"{name} does not build the repository's Dockerfile"
        assert services[name]["image"] == f"newsletter:{version}", name


def test_dockerfile_base_image_is_python_3_11_slim_pinned_to_a_patch_release() -> None:
    bases = [arguments for keyword, arguments in dockerfile_instructions() if keyword == "FROM"]
    assert bases, "the Dockerfile has no FROM"
    for base in bases:
        image = base.split()[0]
        assert re.fullmatch(r"python:3\.11\.\d+-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?", image), (
            f"base image {image!r} is not python:3.11.<patch>-slim"
        )


def test_dockerfile_image_installs_the_wheel_of_its_build_stage_and_no_source() -> None:
    """The final stage takes the build stage's wheel and, from the checkout, only the
    dependency list: the service runs from site-packages with the runtime files the wheel
    carries (tests/test_wheel_install.py builds that wheel from the build stage's own COPYs)."""
    build, image = dockerfile.stages()[-2:]
    assert build.name == "build"
    _, wheel_dir = dockerfile.wheel_build(build)
    from_build = [c for c in dockerfile.copies(image) if c.from_stage == build.name]
    assert [c.sources for c in from_build] == [(wheel_dir.rstrip("/") + "/",)]
    from_context = [s for c in dockerfile.copies(image) if c.from_stage is None for s in c.sources]
    assert from_context == ["pyproject.toml"], "the image copies source files beside the wheel"
    installs = " ".join(image.arguments("RUN"))
    assert re.search(rf"pip install {re.escape(from_build[0].destination)}\S*\.whl", installs)
    assert not [env for env in image.arguments("ENV") if "PYTHONPATH" in env]


def test_dockerfile_runs_the_service_as_a_non_root_user() -> None:
    users = [arguments for keyword, arguments in dockerfile_instructions() if keyword == "USER"]
    assert users, "the Dockerfile never leaves root"
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_dockerignore_keeps_local_state_secrets_and_caches_out_of_the_image() -> None:
    patterns = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for needed in (".venv", "var", ".git", "__pycache__", ".env"):
        assert needed in patterns, f".dockerignore does not exclude {needed}"


# ---- Commands, settings and start order -------------------------------------------------------


def test_app_service_environment_names_are_all_settings_fields() -> None:
    for name in APP_SERVICES:
        names = set(environment_of(service(name)))
        assert names, f"{name} has no environment"
        unknown = names - SETTING_NAMES
        assert not unknown, f"{name} sets variables newsletter.config ignores: {sorted(unknown)}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_command_is_a_real_newsletter_cli_command_with_valid_options(
    name: str,
) -> None:
    words = command_words(service(name))
    assert words[0] == "newsletter", f"{name} does not run the newsletter command"
    command, path, arguments = resolve_cli_command(words[1:])
    assert not isinstance(command, click.Group), f"`newsletter {' '.join(path)}` is a group"
    assert path == EXPECTED_COMMANDS[name]
    # Parse the arguments as click would (unknown options and bad values raise), without running.
    command.make_context(path[-1], list(arguments))


def test_web_serves_on_all_interfaces_port_8000_and_publishes_that_port() -> None:
    web = service("web")
    command, path, arguments = resolve_cli_command(command_words(web)[1:])
    params = command.make_context(path[-1], list(arguments)).params
    assert (params["host"], params["port"]) == ("0.0.0.0", 8000)  # noqa: S104 - in a container
    assert any(str(port).split(":")[-1] == "8000" for port in web["ports"])


def test_compose_environment_is_a_valid_development_configuration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compose = compose_with()
    settings = settings_from_environment(monkeypatch, environment_of(compose["services"]["web"]))
    services = compose["services"]
    assert settings.app_env == "development"
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert urlsplit(settings.database_url).hostname == "postgres"
    for url in (settings.broker_url, settings.redis_url, settings.result_backend_url):
        assert url is not None and urlsplit(url).hostname == "redis"
    assert settings.mail_transport == "smtp"
    target = settings.smtp_target
    assert target is not None and target.host in services
    assert str(settings.data_dir) == APP_DATA_MOUNT


def test_compose_environment_is_a_valid_production_configuration_with_https_and_long_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    production = {
        "APP_ENV": "production",
        "BASE_URL": "https://news.example.org",
        "SECRET_KEY": "p" * 48,
        "SMTP_URL": "smtp+starttls://news:pw@smtp.example.org:587",
        "LANGUAGES": "en,fr,pt",
        "ORG_TIMEZONE": "Africa/Harare",
    }
    environment = environment_of(service("web", **production))
    settings = settings_from_environment(monkeypatch, environment)
    assert settings.app_env == "production"
    assert settings.base_url == "https://news.example.org"
    assert settings.languages == ["en", "fr", "pt"]
    assert settings.smtp_target is not None and settings.smtp_target.host == "smtp.example.org"


def test_compose_refuses_to_start_without_a_secret_key() -> None:
    with pytest.raises(MissingVariable, match="SECRET_KEY"):
        resolve(raw_compose(), {})
    with pytest.raises(MissingVariable, match="SECRET_KEY"):
        resolve(raw_compose(), {"SECRET_KEY": ""})


def test_all_app_services_get_the_same_settings() -> None:
    environments = [environment_of(service(name)) for name in APP_SERVICES]
    assert all(environment == environments[0] for environment in environments)


def test_database_url_credentials_match_the_postgres_container() -> None:
    for variables in ({}, {"POSTGRES_PASSWORD": "s3cret-from-env"}):
        compose = compose_with(**variables)
        postgres = environment_of(compose["services"]["postgres"])
        url = urlsplit(environment_of(compose["services"]["migrate"])["DATABASE_URL"])
        assert url.username == postgres["POSTGRES_USER"]
        assert url.password == postgres["POSTGRES_PASSWORD"]
        assert url.path.lstrip("/") == postgres["POSTGRES_DB"]
        assert url.port == 5432


def test_smtp_defaults_to_the_mail_catcher_smtp_port() -> None:
    compose = compose_with()
    target = urlsplit(environment_of(compose["services"]["worker"])["SMTP_URL"])
    assert target.hostname == "mailpit"
    published = {str(port).split(":")[-1] for port in compose["services"]["mailpit"]["ports"]}
    assert {str(target.port), "8025"} <= published


def test_postgres_redis_and_web_have_health_checks() -> None:
    services = compose_with()["services"]
    assert "pg_isready" in healthcheck_text(services["postgres"])
    redis_check = healthcheck_text(services["redis"])
    assert "redis-cli" in redis_check and "ping" in redis_check
    web_check = services["web"]["healthcheck"]["test"]
    assert web_check[:3] == ["CMD", "python", "-c"], "the slim image has no curl or wget"
    code = web_check[3]
    assert "urllib" in code and "/healthz" in code and ":8000/" in code
    compile(code, "<web healthcheck>", "exec")


def test_redis_keeps_the_broker_queue_in_an_append_only_file_on_a_volume() -> None:
    redis = compose_with()["services"]["redis"]
    command = " ".join(command_words(redis))
    assert "--appendonly yes" in command
    assert "/data" in named_volume_mounts(redis).values()


def test_processes_wait_for_migration_and_a_healthy_database_and_broker() -> None:
    services = compose_with()["services"]
    for name in PROCESS_SERVICES:
        depends_on = services[name]["depends_on"]
        assert depends_on["migrate"]["condition"] == "service_completed_successfully", name
        assert depends_on["postgres"]["condition"] == "service_healthy", name
        assert depends_on["redis"]["condition"] == "service_healthy", name
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"].get("restart", "no") == "no", "a one-shot must not restart"


def test_every_dependency_has_a_condition_the_target_can_meet() -> None:
    services = compose_with()["services"]
    for name, spec in services.items():
        depends_on = spec.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on without conditions"
        for target, rule in depends_on.items():
            condition = rule["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits on {target}'s health"
            else:
                assert condition in {"service_started", "service_completed_successfully"}


def test_named_volumes_are_declared_and_mounted_where_the_data_lives() -> None:
    compose = compose_with()
    declared = set(compose.get("volumes") or {})
    used = {volume for spec in compose["services"].values() for volume in named_volume_mounts(spec)}
    assert used == declared, f"undeclared: {used - declared}, unused: {declared - used}"
    services = compose["services"]
    assert "/var/lib/postgresql/data" in named_volume_mounts(services["postgres"]).values()
    for name in APP_SERVICES:
        assert APP_DATA_MOUNT in named_volume_mounts(services[name]).values(), name
        assert environment_of(services[name])["DATA_DIR"] == APP_DATA_MOUNT


# ---- .env.example -----------------------------------------------------------------------------


def test_env_example_documents_every_setting() -> None:
    documented = set(env_example_lines())
    missing = SETTING_NAMES - documented
    assert not missing, f".env.example does not mention {sorted(missing)}"


def test_env_example_documents_every_variable_compose_reads() -> None:
    missing = referenced_variables(raw_compose()) - set(env_example_lines())
    assert not missing, f".env.example does not mention {sorted(missing)}"


def test_env_example_sets_only_known_variables_and_no_real_secret() -> None:
    entries = env_example_lines()
    known = SETTING_NAMES | referenced_variables(raw_compose())
    unknown = {name for name in entries if name not in known}
    assert not unknown, f".env.example has variables nothing reads: {sorted(unknown)}"
    active, secret = entries["SECRET_KEY"]
    assert not active or secret == "" or secret.lower() in PLACEHOLDER_SECRETS


def test_env_example_copied_to_env_is_a_valid_configuration(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clear_settings_environment(monkeypatch)
    monkeypatch.chdir(tmp_path)
    settings = load_settings(_env_file=ENV_EXAMPLE)
    assert settings.app_env == "development"
    assert settings.default_language in settings.languages
