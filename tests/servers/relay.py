"""A small HTTP relay in front of a node's gateway: counts the requests it forwards and,
while ``lying``, flips the last byte of each answer (a lying peer is a fault a real server
does not produce on demand); 502 when the node behind it is down."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


class Relay(ThreadingHTTPServer):
    """Forwards GETs to ``upstream``; while ``lying``, flips the last byte of each body."""

    daemon_threads = True

    def __init__(self, upstream: str = "") -> None:
        super().__init__(("127.0.0.1", 0), _RelayHandler)
        self.upstream = upstream
        self.lying = False
        self.requests = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _RelayHandler(BaseHTTPRequestHandler):
    server: Relay

    def do_GET(self) -> None:
        self.server.requests += 1
        headers = {"accept": self.headers.get("accept", "*/*")}
        try:
            answer = httpx.get(self.server.upstream + self.path, headers=headers, timeout=30)
        except httpx.HTTPError:
            self.send_error(502)
            return
        body = answer.content
        if self.server.lying and answer.status_code == 200 and body:
            body = body[:-1] + bytes([body[-1] ^ 0xFF])
        self.send_response(answer.status_code)
        self.send_header("content-type", answer.headers.get("content-type", "text/plain"))
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def running_relay(upstream: str = "") -> Iterator[Relay]:
    """A relay serving in a thread until the block ends."""
    server = Relay(upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
