"""A real DNS server on loopback (dnslib, UDP and TCP) serving a zone the test can swap."""

from __future__ import annotations

import socket
from types import TracebackType
from typing import Self

from dnslib.server import BaseResolver, DNSLogger, DNSServer
from dnslib.zoneresolver import ZoneResolver


class SwappableZone(BaseResolver):
    def __init__(self, zone: str) -> None:
        self.inner = ZoneResolver(zone)

    def resolve(self, request, handler):  # type: ignore[no-untyped-def]
        return self.inner.resolve(request, handler)


def _free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket() as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


class LoopbackDns:
    def __init__(self, zone: str) -> None:
        self.resolver = SwappableZone(zone)
        self.port = _free_port()
        quiet = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data")
        self.servers = [
            DNSServer(self.resolver, "127.0.0.1", self.port, tcp=tcp, logger=quiet)
            for tcp in (False, True)
        ]

    @property
    def nameserver(self) -> str:
        return f"127.0.0.1:{self.port}"

    def serve(self, zone: str) -> None:
        self.resolver.inner = ZoneResolver(zone)

    def __enter__(self) -> Self:
        for server in self.servers:
            server.start_thread()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        for server in self.servers:
            server.stop()
            server.server.server_close()
