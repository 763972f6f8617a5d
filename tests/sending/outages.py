"""Infrastructure that goes away and comes back, for the crash-safety tests.

The machine's PostgreSQL and Redis are shared with other test runs, so they are never stopped.
Instead each test gets its own:

- `PrivateRedis`: a ``redis-server`` process on a spare loopback port, without persistence, that
  the test kills with SIGKILL and restarts empty on the same port (what a crashed Redis without
  AOF looks like to workers: every queued task is gone).
- `DroppingProxy`: a TCP proxy between the workers and PostgreSQL that can drop every connection
  and refuse new ones for a while, then let them through again. That is what a PostgreSQL
  restart looks like to a client: in-flight transactions end with "server closed the connection
  unexpectedly", and connecting fails until the server is back.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateRedis:
    """A redis-server of this test only; `crash` kills it with SIGKILL, `start` brings it back."""

    def __init__(self, directory: Path) -> None:
        self.binary = shutil.which("redis-server")
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self, timeout: float = 10.0) -> PrivateRedis:
        assert self.binary, "redis-server is not installed"
        argv = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--daemonize", "no",
                "--dir", str(self.directory)]  # fmt: skip
        with (self.directory / "redis.log").open("ab") as log:  # the child keeps its copy
            self.process = subprocess.Popen(argv, stdout=log, stderr=log)
        client = redis.Redis(port=self.port, socket_timeout=1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError):
                if client.ping():
                    client.close()
                    return self
            time.sleep(0.05)
        raise TimeoutError("the private redis-server did not start")

    def crash(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.crash()


class DroppingProxy:
    """Forwards loopback TCP connections to ``upstream``; `outage` cuts them all for a while."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.lock = threading.Lock()
        self.sockets: set[socket.socket] = set()
        self.down = threading.Event()
        self.closed = False
        self.dropped = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down.is_set():  # "the database system is starting up": refused
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self.lock:
                self.sockets |= {client, server}
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                self._close(sock)

    def _close(self, sock: socket.socket) -> None:
        with self.lock:
            self.sockets.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def cut(self) -> int:
        """Drop every open connection and refuse new ones until `restore`."""
        self.down.set()
        with self.lock:
            open_sockets = list(self.sockets)
        for sock in open_sockets:
            self._close(sock)
        self.dropped += len(open_sockets) // 2
        return len(open_sockets) // 2

    def restore(self) -> None:
        self.down.clear()

    def outage(self, seconds: float) -> int:
        """A restart: drop everything, refuse for ``seconds``, then accept again."""
        dropped = self.cut()
        time.sleep(seconds)
        self.restore()
        return dropped

    def close(self) -> None:
        self.closed = True
        self.cut()
        self.listener.close()
