"""A real Dovecot IMAP server on loopback (Debian's package), started per test.

Non-daemon (``dovecot -F``) with a configuration generated in a private directory: a
passwd-file user, a self-signed certificate (IMAPS only) and a Maildir. When the tests run
as root, Dovecot refuses root for its login and mail processes, so the mail user is the
package's ``dovecot`` account and the directory is made traversable for ``dovenull``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures_smtp import make_self_signed_certificate

DOVECOT = Path("/usr/sbin/dovecot")
USER, PASSWORD = "bounces", "mailbox-test-password"


@dataclass
class Dovecot:
    port: int
    ca_file: Path
    directory: Path

    def url(self, folder: str = "INBOX") -> str:
        return f"imaps://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{folder}"

    def log(self) -> str:
        path = self.directory / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _config(directory: Path, port: int, uid: int, gid: int) -> str:
    root = os.geteuid() == 0
    internal = "dovecot" if root else pwd.getpwuid(uid).pw_name
    login = "dovenull" if root else internal
    return f"""
base_dir = {directory}/run
state_dir = {directory}/state
log_path = {directory}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{directory}/cert.pem
ssl_key = <{directory}/key.pem
auth_mechanisms = plain
first_valid_uid = 1
default_internal_user = {internal}
default_login_user = {login}
mail_location = maildir:{directory}/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {directory}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {directory}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


def _wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("dovecot exited at start-up")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise TimeoutError("dovecot did not listen in time")


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    if not DOVECOT.exists():
        pytest.skip("Dovecot is not installed (Debian: apt-get install dovecot-imapd)")
    # Not under pytest's tmp_path: its parents are private, and Dovecot's login processes
    # run as another user that must reach the base directory.
    directory = Path(tempfile.mkdtemp(prefix="newsletter-dovecot-"))
    directory.chmod(0o755)
    if os.geteuid() == 0:
        account = pwd.getpwnam("dovecot")
        uid, gid = account.pw_uid, account.pw_gid
    else:
        uid, gid = os.getuid(), os.getgid()
    for name in ("Maildir/cur", "Maildir/new", "Maildir/tmp", "home", "run", "state"):
        (directory / name).mkdir(parents=True)
    for name in ("Maildir", "Maildir/cur", "Maildir/new", "Maildir/tmp", "home"):
        os.chown(directory / name, uid, gid)
    make_self_signed_certificate(directory)
    (directory / "passwd").write_text(
        f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{directory}/home::\n"
    )
    port = _free_port()
    (directory / "dovecot.conf").write_text(_config(directory, port, uid, gid))
    process = subprocess.Popen(
        [str(DOVECOT), "-F", "-c", str(directory / "dovecot.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_listening(port, process)
        yield Dovecot(port=port, ca_file=directory / "cert.pem", directory=directory)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)
