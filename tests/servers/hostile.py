"""A hostile HTTP proxy on 127.0.0.1 in front of a real server, and a witness server.

``HostileProxy(upstream)`` forwards every request to ``upstream`` (the real local
Storacha service) unless its ``rule`` answers instead: a rule sees the request and a
``forward()`` to the real server, and returns the answer to send, rewritten, forged,
replayed, redirected, bloated or dripped. ``Witness`` is "another host": it records
whatever reaches it, so a test can show that no credentials went there. Both are plain
``http.server`` threads; the tests and ``bench/storacha_attacks.py`` share them.
"""

from __future__ import annotations

import http.server
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.servers.process import free_port

__all__ = ["Exchange", "HostileProxy", "Reply", "Witness", "drip", "endless", "zeros"]


@dataclass
class Reply:
    """An answer to send: a body of bytes (with content-length) or chunks (close-delimited)."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Iterable[bytes] = b""


@dataclass
class Exchange:
    """One request the proxy received; ``forward()`` asks the real server the same."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    upstream: str
    _client: httpx.Client = field(repr=False)

    def forward(self, path: str | None = None, upstream: str | None = None) -> Reply:
        """Send this request to the real server; return its whole answer."""
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
        response = self._client.request(
            self.method,
            (upstream or self.upstream) + (path or self.path),
            content=self.body or None,
            headers=headers,
        )
        kept = {k: v for k, v in response.headers.items() if k.lower() not in _HOP_HEADERS}
        return Reply(response.status_code, kept, response.content)


Rule = Callable[[Exchange], Reply]
_HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "content-encoding"}


def forward_all(exchange: Exchange) -> Reply:
    return exchange.forward()


class _QuietServer(http.server.ThreadingHTTPServer):
    """Clients that hang up (what the attacks provoke) are not worth a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Server:
    """A threading HTTP server calling ``self._serve`` for every request."""

    def __init__(self) -> None:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                owner._serve(self, body)

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _any

            def log_message(self, *args: object) -> None:
                pass

        self._server = _QuietServer(("127.0.0.1", free_port()), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _serve(self, handler: http.server.BaseHTTPRequestHandler, body: bytes) -> None:
        raise NotImplementedError

    def __enter__(self) -> Any:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()


def _send(handler: http.server.BaseHTTPRequestHandler, reply: Reply) -> None:
    try:
        handler.send_response(reply.status)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        if isinstance(reply.body, bytes | bytearray):
            handler.send_header("content-length", str(len(reply.body)))
            handler.end_headers()
            handler.wfile.write(reply.body)
            return
        handler.send_header("connection", "close")  # the body ends when we close
        handler.end_headers()
        handler.close_connection = True
        for chunk in reply.body:
            handler.wfile.write(chunk)
            handler.wfile.flush()
    except (BrokenPipeError, ConnectionResetError):
        handler.close_connection = True  # the client gave up: that is what we test


class HostileProxy(_Server):
    """Forwards to ``upstream``; ``rule`` (settable at any time) may answer instead."""

    def __init__(self, upstream: str, rule: Rule = forward_all) -> None:
        super().__init__()
        self.upstream = upstream
        self.rule = rule
        self.seen: list[Exchange] = []
        self._client = httpx.Client(timeout=60.0, follow_redirects=False)

    def _serve(self, handler: http.server.BaseHTTPRequestHandler, body: bytes) -> None:
        exchange = Exchange(
            handler.command,
            handler.path,
            dict(handler.headers.items()),
            body,
            self.upstream,
            self._client,
        )
        self.seen.append(exchange)
        _send(handler, self.rule(exchange))

    def close(self) -> None:
        super().close()
        self._client.close()


class Witness(_Server):
    """Another host: answers 200 to everything and records what reached it."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[tuple[str, str, bytes]] = []

    def _serve(self, handler: http.server.BaseHTTPRequestHandler, body: bytes) -> None:
        self.received.append((handler.command, handler.path, body))
        _send(handler, Reply(200, {"content-type": "text/plain"}, b"ok\n"))


# -- answer bodies ------------------------------------------------------------------------


def zeros(total: int, chunk: int = 1 << 20) -> Iterator[bytes]:
    """``total`` zero bytes in chunks."""
    block = bytes(chunk)
    sent = 0
    while sent < total:
        piece = block[: min(chunk, total - sent)]
        sent += len(piece)
        yield piece


def endless(chunk: bytes = b"\0" * 65536, stop_after_s: float = 120.0) -> Iterator[bytes]:
    """The same chunk again and again (bounded only so a failed test cannot run forever)."""
    end = time.monotonic() + stop_after_s
    while time.monotonic() < end:
        yield chunk


def drip(data: bytes, every_s: float = 1.0) -> Iterator[bytes]:
    """``data`` one byte at a time, ``every_s`` seconds apart."""
    for i in range(len(data)):
        yield data[i : i + 1]
        time.sleep(every_s)
