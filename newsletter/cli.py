"""The ``newsletter`` command: migrate, run the service's processes, administer.

Every command validates the settings first, so a bad configuration stops the process at
start-up with the operator-readable message from ``newsletter.config``.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time

import click

from newsletter import clock
from newsletter.config import Settings, SettingsError, get_settings

log = logging.getLogger("newsletter")


def _settings() -> Settings:
    try:
        settings = get_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    clock.configure(settings)
    return settings


def _serving(host: str | None, port: int | None) -> Settings:
    """Settings of a command that serves HTTP: ``--host``/``--port`` override HOST/PORT.

    They are written back to the environment (which child processes and uvicorn's factory
    read), so an unset BASE_URL follows the address actually served.
    """
    if host is not None:
        os.environ["HOST"] = host
    if port is not None:
        os.environ["PORT"] = str(port)
    get_settings.cache_clear()
    return _settings()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
def cli(verbose: bool) -> None:
    """Mailing lists and newsletters for civil-society coalitions."""
    from newsletter.observability.logs import configure_logging

    try:
        settings = get_settings()
        log_format, level = settings.log_format, settings.log_level
    except SettingsError:  # each command reports it; log in the default format meanwhile
        log_format, level = "json", "INFO"
    configure_logging(log_format, "DEBUG" if verbose else level)


@cli.group()
def db() -> None:
    """Database schema management (Alembic migrations)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (creates the SQLite file when needed)."""
    settings = _settings()
    from newsletter.migrations import upgrade

    upgrade(settings.database_url, revision)
    click.echo(f"database at {revision}")


@cli.command()
@click.option("--host", default=None, help="Default: $HOST or 127.0.0.1.")
@click.option("--port", type=int, default=None, help="Default: $PORT or 8000.")
@click.option("--workers", "web_workers", type=int, default=1, show_default=True)
def web(host: str | None, port: int | None, web_workers: int) -> None:
    """Serve the web application (public pages, admin, API, webhooks)."""
    settings = _serving(host, port)
    import uvicorn

    uvicorn.run(
        "newsletter.web.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=web_workers,
        proxy_headers=True,
        log_config=None,  # keep the JSON logging set up above
        access_log=False,  # paths carry tokens; the app logs route templates instead
    )


def _celery_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "workers.celery_app", *args]


@cli.command()
@click.option(
    "--concurrency", "-c", type=int, default=None, help="Worker processes (default: cores)."
)
@click.option("--queues", "-Q", default="default,send", show_default=True)
@click.option("--pool", default="prefork", show_default=True)
def worker(concurrency: int | None, queues: str, pool: str) -> None:
    """Run a Celery worker (many may run, on many machines)."""
    _settings()
    argv = ["worker", "--loglevel=INFO", f"--queues={queues}", f"--pool={pool}"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    os.execv(sys.executable, _celery_argv(*argv))  # noqa: S606 - fixed argv, no shell


@cli.command()
def beat() -> None:
    """Run the scheduler (exactly one per installation): the once-a-minute tick."""
    settings = _settings()
    schedule = str(settings.data_dir / "celerybeat-schedule")
    os.execv(  # noqa: S606 - fixed argv, no shell
        sys.executable, _celery_argv("beat", "--loglevel=INFO", f"--schedule={schedule}")
    )


@cli.command()
@click.option("--host", default=None, help="Default: $HOST or 127.0.0.1.")
@click.option("--port", type=int, default=None, help="Default: $PORT or 8000.")
@click.option(
    "--inbound/--no-inbound",
    default=True,
    show_default=True,
    help="Also receive bounces and mailto unsubscribes on INBOUND_LISTEN_HOST:INBOUND_LISTEN_PORT.",
)
def run(host: str | None, port: int | None, inbound: bool) -> None:
    """One box: migrate, then web + worker + beat + inbound receiver (embedded defaults)."""
    settings = _serving(host, port)
    from newsletter.migrations import upgrade

    upgrade(settings.database_url, "head")
    schedule = str(settings.data_dir / "celerybeat-schedule")
    worker_argv = _celery_argv(
        "worker",
        "--beat",
        f"--schedule={schedule}",
        "--loglevel=INFO",
        "--concurrency=2",
        "--queues=default,send",
    )
    web_argv = [sys.executable, "-m", "newsletter", "web"]
    commands = [worker_argv, web_argv]
    if inbound:
        commands.append(
            [sys.executable, "-m", "newsletter", "inbound", "--host",
             settings.inbound_listen_host, "--port", str(settings.inbound_listen_port)]
        )  # fmt: skip
    children = [subprocess.Popen(argv) for argv in commands]  # noqa: S603
    click.echo(f"newsletter service running at {settings.base_url}/ (Ctrl-C to stop)")
    if inbound:
        click.echo(
            f"inbound mail for @{settings.bounce_domain} on "
            f"{settings.inbound_listen_host}:{settings.inbound_listen_port}"
        )
    _supervise(children)


def _supervise(children: list[subprocess.Popen[bytes]]) -> None:
    """Wait until a child exits or we are told to stop, then stop the others cleanly."""
    stopping = False

    def _stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while not stopping and all(child.poll() is None for child in children):
        time.sleep(0.5)
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
    codes = [child.returncode for child in children]
    if not stopping and any(codes):
        raise click.ClickException(f"a service process exited with {codes}")


@cli.command("create-staff")
@click.option("--email", prompt=True, help="The staff member's sign-in address.")
@click.option("--name", default="", help="Display name.")
@click.option(
    "--role", type=click.Choice(["admin", "editor", "viewer"]), default="admin", show_default=True
)
@click.password_option(envvar="NEWSLETTER_STAFF_PASSWORD", help="Or set NEWSLETTER_STAFF_PASSWORD.")
def create_staff(email: str, name: str, role: str, password: str) -> None:
    """Create a staff account (admins manage everything; editors write and send)."""
    settings = _settings()
    from newsletter.db import make_engine, make_session_factory, unit_of_work
    from newsletter.staff.models import StaffRole
    from newsletter.staff.service import StaffError, create_staff_user
    from newsletter.subscribers.addresses import InvalidAddress

    factory = make_session_factory(make_engine(settings.database_url))
    try:
        with unit_of_work(factory) as session:
            user = create_staff_user(
                session, email=email, name=name, password=password, role=StaffRole(role)
            )
    except (StaffError, InvalidAddress) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"staff account {user.id} created with role {role}")


@cli.command("send-test")
@click.argument("address")
@click.option("--language", default=None, help="Language of the test message (e.g. fr).")
def send_test(address: str, language: str | None) -> None:
    """Send a test message to ADDRESS through the configured transport (SMTP or outbox)."""
    settings = _settings()
    from newsletter.delivery.outcomes import Outcome
    from newsletter.delivery.test_send import send_test_message
    from newsletter.subscribers.addresses import InvalidAddress

    try:
        result = send_test_message(settings, address, language)
    except InvalidAddress as exc:
        raise click.ClickException(f"not a valid address: {exc}") from None
    where = settings.outbox_dir if settings.mail_transport == "outbox" else "the SMTP relay"
    if result.outcome != Outcome.SENT:
        raise click.ClickException(f"not sent ({result.outcome}): {result.code} {result.text}")
    click.echo(f"test message accepted by {where} ({result.code})")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="0.0.0.0 to face the MX.")
@click.option("--port", type=int, default=2525, show_default=True)
@click.option("--lmtp", is_flag=True, help="Speak LMTP (behind a local MTA) instead of SMTP.")
def inbound(host: str, port: int, lmtp: bool) -> None:
    """Receive bounces, complaints and mailto unsubscribes for BOUNCE_DOMAIN."""
    settings = _settings()
    from newsletter.bounces.receiver import make_controller
    from newsletter.db import make_engine, make_session_factory
    from workers.celery_app import app

    def enqueue(inbound_id: int) -> None:
        app.send_task("newsletter.process_inbound", args=[inbound_id])

    factory = make_session_factory(make_engine(settings.database_url))
    controller = make_controller(settings, factory, enqueue, host=host, port=port, lmtp=lmtp)
    controller.start()
    protocol = "LMTP" if lmtp else "SMTP"
    click.echo(f"inbound {protocol} for @{settings.bounce_domain} on {host}:{port} (Ctrl-C stops)")
    stopping = False

    def _stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    from newsletter.db import unit_of_work
    from newsletter.observability import heartbeats

    next_beat = 0.0
    try:
        while not stopping:
            if time.monotonic() >= next_beat:  # the System page's "inbound receiver" status
                detail = {"port": port, "protocol": protocol}
                try:
                    with unit_of_work(factory) as session:
                        heartbeats.beat(session, heartbeats.INBOUND, detail)
                except Exception:
                    log.warning("inbound: cannot record the heartbeat", exc_info=True)
                next_beat = time.monotonic() + 60
            time.sleep(0.5)
    finally:
        controller.stop()


@cli.command()
@click.option("--no-network", is_flag=True, help="DNS only: skip the HTTP and SMTP probes.")
def doctor(no_network: bool) -> None:
    """Check the sender setup (SPF, DKIM, DMARC, MX, https unsubscribe, relay TLS)."""
    settings = _settings()
    from newsletter.deliverability.checks import run_checks

    findings = run_checks(settings, network=not no_network)
    marks = {"ok": "ok     ", "warning": "warning", "problem": "PROBLEM"}
    for finding in findings:
        click.echo(f"{marks[finding.verdict]}  {finding.check}: {finding.summary}")
        if finding.fix and finding.verdict != "ok":
            click.echo(f"         fix: {finding.fix}")
    problems = sum(finding.verdict == "problem" for finding in findings)
    click.echo(f"{problems} problem(s), {len(findings)} check(s)")
    if problems:
        sys.exit(1)


# ---- Content: newsletter post ..., digest ..., feeds poll -------------------------
from newsletter.cli_content import digest, feeds, post  # noqa: E402

cli.add_command(post)
cli.add_command(digest)
cli.add_command(feeds)


def main() -> None:
    cli(prog_name="newsletter")


if __name__ == "__main__":
    main()
