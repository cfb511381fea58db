"""Throttling and 5xx answers, from a real HTTP proxy in front of SeaweedFS.

SeaweedFS does not throttle on demand, so a small proxy answers ``503 SlowDown`` to the
first requests it sees and forwards the rest unchanged (the Host header too, so the
SigV4 signature still matches).
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from tests.servers.seaweedfs import SeaweedS3

from ipfs_kit_py.s3_kit import S3Kit

SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)


class ThrottlingProxy(ThreadingHTTPServer):
    """Answers 503 to the first ``fail_first`` requests, then forwards to ``upstream``."""

    daemon_threads = True

    def __init__(self, upstream: str, fail_first: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = urlsplit(upstream)
        self.fail_first = fail_first
        self.seen = 0
        self.throttled = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def should_throttle(self) -> bool:
        with self.lock:
            self.seen += 1
            if self.seen <= self.fail_first:
                self.throttled += 1
                return True
            return False


class _Handler(BaseHTTPRequestHandler):
    server: ThrottlingProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _relay(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.server.should_throttle():
            self.send_response(503)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(SLOW_DOWN)))
            self.end_headers()
            self.wfile.write(SLOW_DOWN)
            return
        upstream = self.server.upstream
        conn = http.client.HTTPConnection(upstream.hostname or "", upstream.port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        conn.request(self.command, self.path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _relay


@pytest.fixture
def start_proxy(seaweedfs: SeaweedS3) -> Iterator[Callable[[int], ThrottlingProxy]]:
    started: list[ThrottlingProxy] = []

    def start(fail_first: int) -> ThrottlingProxy:
        proxy = ThrottlingProxy(seaweedfs.endpoint_url, fail_first)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.shutdown()
        proxy.server_close()


def test_throttled_requests_are_retried(
    seaweedfs: SeaweedS3, start_proxy: Callable[[int], ThrottlingProxy]
) -> None:
    proxy = start_proxy(2)
    kit = S3Kit.from_sources(seaweedfs.s3_args(endpoint_url=proxy.url))
    r = kit.upload_bytes(b"after two 503s", key="retry/ok")
    assert r["success"], r
    assert proxy.throttled == 2
    assert kit.download_bytes(key="retry/ok")["data"] == b"after two 503s"
    kit.close()


def test_persistent_throttling_gives_up_as_unavailable(
    seaweedfs: SeaweedS3, start_proxy: Callable[[int], ThrottlingProxy]
) -> None:
    proxy = start_proxy(10**9)
    kit = S3Kit.from_sources(
        seaweedfs.s3_args(endpoint_url=proxy.url, max_retries=2, retry_timeout=5)
    )
    r = kit.upload_bytes(b"never", key="retry/never")
    assert r["success"] is False
    assert r["error_type"] == "BackendUnavailableError", r
    assert "SlowDown" in r["error"]
    assert proxy.throttled == 3  # the first try and two retries
    kit.close()
