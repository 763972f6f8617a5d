"""A tiny feed server on loopback for the ingestion tests: normal, conditional, slow, broken."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FeedServer:
    """Serves ``self.body`` at /feed.xml with an ETag; /slow.xml stalls; /broken.xml is 500."""

    def __init__(self, body: bytes, slow_seconds: float = 3.0) -> None:
        self.body = body
        self.slow_seconds = slow_seconds
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet test output
                pass

            def do_GET(self) -> None:
                etag = f'"{hash(server.body) & 0xFFFFFF:x}"'
                server.requests.append((self.path, self.headers.get("If-None-Match")))
                if self.path == "/broken.xml":
                    self.send_response(500)
                    self.end_headers()
                    return
                if self.path == "/garbage.xml":
                    self._send(b"<html><body>not a feed <<<", "text/html")
                    return
                if self.path == "/slow.xml":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.end_headers()
                    self.wfile.write(server.body[:20])
                    self.wfile.flush()
                    time.sleep(server.slow_seconds)
                    self.wfile.write(server.body[20:])
                    return
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self._send(server.body, "application/rss+xml", etag)

            def _send(self, body: bytes, content_type: str, etag: str | None = None) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                if etag:
                    self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str = "/feed.xml") -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
