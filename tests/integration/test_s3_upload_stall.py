"""The S3 upload stall guard against real SeaweedFS behind the fault proxy (bench/faults).

A server that stops reading mid-upload, with bytes left unacknowledged, fails the upload
with ``BackendTimeoutError`` naming ``upload_stall_timeout`` (not ``upload_timeout``); an
upload that is slow but moving is never cut. (A multipart upload whose abort meets the same frozen
server is the upload ledger's to sweep: ``test_s3_multipart_debris.py``.)
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from bench.faults.proxy import FaultProxy
from tests.servers.seaweedfs import SeaweedS3

from ipfs_kit_py.backends.s3.client import S3Client
from ipfs_kit_py.backends.s3.config import S3Config
from ipfs_kit_py.backends.s3.relay import UploadRelay
from ipfs_kit_py.errors import BackendTimeoutError, ConfigurationError


@pytest.fixture
def proxy(seaweedfs: SeaweedS3) -> Iterator[FaultProxy]:
    with FaultProxy(seaweedfs.endpoint_url) as p:
        yield p


def _client(seaweedfs: SeaweedS3, proxy: FaultProxy, **overrides: object) -> S3Client:
    args = seaweedfs.s3_args(endpoint_url=proxy.url, upload_timeout=600, **overrides)
    return S3Client(S3Config.from_sources(args))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("size", [8 << 20, 24 << 20])  # one PUT; a multipart upload
def test_a_server_that_stops_reading_mid_upload_fails_by_the_stall_guard(
    seaweedfs: SeaweedS3, proxy: FaultProxy, size: int
) -> None:
    key = f"stall/{size}-{os.urandom(4).hex()}"
    with _client(seaweedfs, proxy, upload_stall_timeout=2) as client:
        client.put(seaweedfs.bucket, f"{key}-warm", b"warm")  # connections made, bucket known
        proxy.set("freeze", direction="up", after=600_000)  # each connection, past 600 kB
        with pytest.raises(BackendTimeoutError, match="upload_stall_timeout") as caught:
            client.put(seaweedfs.bucket, key, os.urandom(size))
        assert caught.value.backend == "s3" and key in caught.value.locator
        proxy.set()
        proxy.drop_connections()
        assert not client.exists(seaweedfs.bucket, key)  # no object claims to be there


class SlowLink:
    """A forwarder with a small receive buffer that reads ``rate`` bytes/s: a slow link
    (the server's TCP stack acknowledges bytes only as fast as they get through)."""

    def __init__(self, upstream: str, rate: int) -> None:
        host, port = upstream.removeprefix("http://").rstrip("/").split(":")
        self.target = (host, int(port))
        self.rate = rate
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self.listener.accept()
                upstream = socket.create_connection(self.target)
                threading.Thread(target=self._up, args=(client, upstream), daemon=True).start()
                threading.Thread(target=self._down, args=(upstream, client), daemon=True).start()

    def _up(self, client: socket.socket, upstream: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := client.recv(8192):
                time.sleep(len(data) / self.rate)
                upstream.sendall(data)

    @staticmethod
    def _down(upstream: socket.socket, client: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := upstream.recv(65536):
                client.sendall(data)

    def close(self) -> None:
        self.listener.close()


@pytest.mark.timeout(120)
def test_a_slow_but_moving_upload_is_not_cut(seaweedfs: SeaweedS3) -> None:
    data = os.urandom(3 << 20)  # about 4 s at 768 KB/s: four times the stall timeout
    key = f"slow/{os.urandom(4).hex()}"
    link = SlowLink(seaweedfs.endpoint_url, 768 * 1024)
    try:
        args = seaweedfs.s3_args(endpoint_url=link.url, upload_stall_timeout=1)
        with S3Client(S3Config.from_sources(args)) as client:
            info = client.put(seaweedfs.bucket, key, data)
            assert info.size == len(data)
            assert client._relay is not None and not client._relay.stalls
    finally:
        link.close()
    with S3Client(S3Config.from_sources(seaweedfs.s3_args())) as client:
        assert b"".join(client.iter_bytes(seaweedfs.bucket, key)) == data


def relay_credential(relay: UploadRelay) -> bytes:
    userinfo = urlsplit(relay.proxy_url)
    pair = f"{userinfo.username}:{userinfo.password}".encode()
    return b"Proxy-Authorization: Basic " + base64.b64encode(pair) + b"\r\n"


def test_the_relay_forwards_only_to_the_endpoint() -> None:
    relay = UploadRelay("http://127.0.0.1:9", 1.0)
    auth = relay_credential(relay)
    try:
        host, port = relay.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(
                b"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n" + auth + b"\r\n"
            )
            assert s.recv(100).startswith(b"HTTP/1.1 403")
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(b"GET http://10.0.0.1/x HTTP/1.1\r\nHost: 10.0.0.1\r\n" + auth + b"\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 403")
    finally:
        relay.close()


@pytest.mark.parametrize("auth", [b"", b"Proxy-Authorization: Basic aXBmcy1raXQ6eA==\r\n"])
def test_another_local_user_cannot_use_the_relay(auth: bytes) -> None:
    """Without the relay's credential (or with a wrong one): 407, and no connection made
    to the endpoint; with it, the request goes on without the credential."""
    with socket.create_server(("127.0.0.1", 0)) as endpoint:
        url = f"http://127.0.0.1:{endpoint.getsockname()[1]}"
        relay = UploadRelay(url, 1.0)
        request = f"PUT {url}/bucket/key HTTP/1.1\r\nHost: {url[7:]}\r\nContent-Length: 0\r\n"
        try:
            host, port = relay.url.removeprefix("http://").split(":")
            with socket.create_connection((host, int(port)), timeout=5) as s:
                s.sendall(request.encode() + auth + b"\r\n")
                assert s.recv(200).startswith(b"HTTP/1.1 407 Proxy Authentication Required")
            endpoint.settimeout(0.5)
            with pytest.raises(TimeoutError):
                endpoint.accept()
            with socket.create_connection((host, int(port)), timeout=5) as s:  # the engine's
                s.sendall(request.encode() + relay_credential(relay) + b"\r\n")
                endpoint.settimeout(5)
                server, _ = endpoint.accept()
                with server:
                    got = server.recv(4096)
            assert got.startswith(b"PUT ") and b"proxy-authorization" not in got.lower()
            assert relay._token not in repr(relay) and relay._token not in relay.url
        finally:
            relay.close()


def test_the_stall_timeout_is_checked_and_zero_turns_the_relay_off(seaweedfs: SeaweedS3) -> None:
    with pytest.raises(ConfigurationError, match="upload_stall_timeout"):
        S3Config.from_sources(seaweedfs.s3_args(upload_stall_timeout=-1))
    config = S3Config.from_sources(seaweedfs.s3_args(upload_stall_timeout=0))
    with S3Client(config) as client:
        client.put(seaweedfs.bucket, f"norelay/{os.urandom(4).hex()}", b"x")
        assert client._relay is None
