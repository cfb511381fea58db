"""A stall guard for S3 uploads: a local forwarding proxy that watches acknowledgements.

The S3 engine sends a part as one request and has no write timeout: a server that
stops reading mid-part is noticed only when the wait for its answer (``upload_timeout``)
ends. Uploads therefore go through this relay (the engine's ``proxy_url``), which
forwards bytes both ways and cuts a connection whose bytes wait unacknowledged with
**no byte acknowledged for** ``stall_timeout`` seconds (the socket's send queue,
``SIOCOUTQ`` on Linux, is not empty and does not shrink). A slow link keeps being
acknowledged and is never cut; once every byte is acknowledged, the wait for the answer
(the server storing a part) is bounded by ``upload_timeout`` as before.

The relay listens on 127.0.0.1 and forwards only to the configured endpoint (plain
HTTP: absolute-form requests; HTTPS: ``CONNECT`` tunnels, TLS stays end to end) or,
with no endpoint, to AWS hosts on port 443: it is no open proxy. Nor is it another local
user's: every request must carry the relay's random credential (``Proxy-Authorization:
Basic``, which the engine sends from :attr:`UploadRelay.proxy_url`), else it is answered
``407`` before any connection is made; the credential is removed before a request goes on.
A proxy the environment names for the endpoint (``http_proxy``, ``https_proxy``, ``all_proxy``,
minus ``no_proxy``, as the engine reads them for every other request) is used by the
relay too, so uploads take the same way out as downloads; the stall guard then watches
the proxy's acknowledgements.

A relayed connection never outlives its use: once the engine closes its side, the
server's answer has no reader, and the connection is cut after ``stall_timeout`` even
if the server never answers or closes (a server that took a whole request and froze);
a client that sends no request head within ``stall_timeout`` is cut too.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hmac
import logging
import secrets
import socket
import struct
import termios
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from ipfs_kit_py.backends.s3.relay_proxy import env_proxy, proxy_authorization, without_auth

__all__ = ["UploadRelay"]

logger = logging.getLogger(__name__)

_HEAD_LIMIT = 64 * 1024
_BUFFER = 64 * 1024  # per direction and connection: memory stays bounded by parts
_TICK_S = 0.25
_Allowed = Callable[[str, int], bool]
_USER = "ipfs-kit"
_DENIED = (
    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
    b'Proxy-Authenticate: Basic realm="ipfs-kit S3 upload relay"\r\nContent-Length: 0\r\n\r\n'
)


class _Link:
    """One relayed connection: what was sent up, what the server acknowledged, when."""

    def __init__(self, client: socket.socket) -> None:
        self.client = client
        self.upstream: socket.socket | None = None
        self.sent = 0
        self.acked = 0
        self.waiting = False  # bytes sent up wait for the server's acknowledgement
        self.progress_at = self.opened_at = time.monotonic()
        self.client_done_at: float | None = None  # the engine closed its side

    def idle_past(self, now: float, limit: float) -> bool:
        """True if this link is of no further use: no request head within ``limit``,
        or the engine's side closed more than ``limit`` ago."""
        if self.upstream is None:
            return now - self.opened_at > limit
        return self.client_done_at is not None and now - self.client_done_at > limit

    def sent_up(self, n: int) -> None:
        self.sent += n

    def check_acks(self) -> None:
        """Note whether bytes wait unacknowledged, and when the last ones were acknowledged."""
        if self.upstream is None:
            return
        unacked = _unacked(self.upstream, self.sent)
        acked = self.sent - unacked
        if acked > self.acked or not self.waiting:
            self.progress_at = time.monotonic()
        self.acked = acked
        self.waiting = unacked > 0

    def close(self) -> None:
        for sock in (self.client, self.upstream):
            if sock is not None:
                _close(sock)


class UploadRelay:
    """Forwards S3 upload connections; records and cuts those that stall."""

    def __init__(self, endpoint_url: str | None, stall_timeout: float) -> None:
        self.stall_timeout = stall_timeout
        self._allowed = _allowed_target(endpoint_url)
        self._proxies = env_proxy
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"  # no credential
        self._token = secrets.token_urlsafe(24)
        self._expected = b"Basic " + base64.b64encode(f"{_USER}:{self._token}".encode())
        self._links: set[_Link] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self.stalls: list[float] = []  # monotonic times of connections cut for a stall
        threading.Thread(target=self._accept_loop, name="s3-relay", daemon=True).start()
        threading.Thread(target=self._watch, name="s3-relay-watch", daemon=True).start()

    def __repr__(self) -> str:
        return f"UploadRelay({self.url}, stall_timeout={self.stall_timeout:g})"

    @property
    def proxy_url(self) -> str:
        """The proxy URL for the engine: :attr:`url` with the relay's credential (a
        secret: never log it)."""
        return f"http://{_USER}:{self._token}@{self.url.removeprefix('http://')}"

    def _authorized(self, head: bytes) -> bool:
        given = proxy_authorization(head) or b""
        return hmac.compare_digest(given, self._expected)

    def stalled_since(self, start: float) -> bool:
        """True if a connection was cut for a stall at or after ``start`` (monotonic)."""
        return any(at >= start for at in self.stalls)

    def close(self) -> None:
        """Stop listening and cut every relayed connection; idempotent."""
        with self._lock:
            self._closed.set()
            links, self._links = set(self._links), set()
        with contextlib.suppress(OSError):
            self._listener.close()
        for link in links:
            link.close()

    # -- the watch --------------------------------------------------------------------

    def _watch(self) -> None:
        while not self._closed.wait(_TICK_S):
            with self._lock:
                links = list(self._links)
            now = time.monotonic()
            for link in links:
                with contextlib.suppress(OSError):
                    link.check_acks()
                if link.waiting and now - link.progress_at > self.stall_timeout:
                    self._cut(link)
                elif link.idle_past(now, self.stall_timeout):
                    self._forget(link)  # nobody reads the answer: no thread or fd is kept

    def _cut(self, link: _Link) -> None:
        self.stalls.append(time.monotonic())
        logger.warning(
            "S3 upload stalled: the server acknowledged no byte for %gs; cutting it",
            self.stall_timeout,
        )
        self._forget(link)

    # -- connections ------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            link = _Link(client)
            with self._lock:
                if self._closed.is_set():
                    link.close()
                    return
                self._links.add(link)
            threading.Thread(target=self._serve, args=(link,), daemon=True).start()

    def _serve(self, link: _Link) -> None:
        client = link.client
        try:
            head = _read_head(client)
            if not self._authorized(head):
                client.sendall(_DENIED)
                return
            head = without_auth(head)  # the next hop never sees the relay's credential
            target, connect = _target(head)
            if target is None or not self._allowed(*target):
                client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            via = self._proxies(target, connect)
            upstream = socket.create_connection(
                via.address if via else target, timeout=self.stall_timeout
            )
            upstream.settimeout(None)  # the watch cuts a stuck connection
            link.upstream = upstream
            if self._closed.is_set():
                return
            if via is not None:  # the proxy answers a CONNECT itself
                head = via.rewrite(head)
            elif connect:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if via is not None or not connect:
                upstream.sendall(head)
                link.sent_up(len(head))
            back = threading.Thread(target=_pump_back, args=(link,), daemon=True)
            back.start()
            _pump_up(link)
            back.join()
        except OSError as exc:
            logger.debug("S3 upload relay connection ended: %s", exc)
        finally:
            self._forget(link)

    def _forget(self, link: _Link) -> None:
        with self._lock:
            self._links.discard(link)
        link.close()


def _pump_up(link: _Link) -> None:
    """Client to server, counting what was handed to the server's connection."""
    assert link.upstream is not None
    buf = bytearray(_BUFFER)
    view = memoryview(buf)
    try:
        while n := link.client.recv_into(buf):
            link.upstream.sendall(view[:n])
            link.sent_up(n)
    finally:
        link.client_done_at = time.monotonic()
        with contextlib.suppress(OSError):
            link.upstream.shutdown(socket.SHUT_WR)


def _pump_back(link: _Link) -> None:
    """Server to client: the engine's own read timeout governs the answer."""
    assert link.upstream is not None
    buf = bytearray(_BUFFER)
    view = memoryview(buf)
    try:
        while n := link.upstream.recv_into(buf):
            link.client.sendall(view[:n])
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            link.client.shutdown(socket.SHUT_WR)


def _unacked(sock: socket.socket, sent: int) -> int:
    """Bytes handed to ``sock`` that its peer has not acknowledged (Linux ``SIOCOUTQ``);
    where that cannot be asked, 0 (handed over counts as acknowledged)."""
    try:
        raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    except (OSError, ValueError):
        return 0
    return min(sent, int(struct.unpack("i", raw)[0]))


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


def _read_head(client: socket.socket) -> bytes:
    """The first request head (through the blank line) and any bytes read after it."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = client.recv(4096)
        if not chunk or len(head) > _HEAD_LIMIT:
            raise ConnectionError("no complete request head")
        head += chunk
    return head


def _target(head: bytes) -> tuple[tuple[str, int] | None, bool]:
    """((host, port), is_connect) from a proxy request line, or (None, False)."""
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    if len(parts) != 3:
        return None, False
    method, uri, _ = parts
    if method == "CONNECT":
        host, _, port = uri.rpartition(":")
        return ((host.strip("[]"), int(port)) if port.isdigit() else None), True
    url = urlsplit(uri)
    if url.scheme != "http" or not url.hostname:
        return None, False
    return (url.hostname, url.port or 80), False


def _allowed_target(endpoint_url: str | None) -> _Allowed:
    if endpoint_url:
        url = urlsplit(endpoint_url)
        default = 443 if url.scheme == "https" else 80
        wanted = ((url.hostname or "").lower(), url.port or default)
        return lambda host, port: (host.lower(), port) == wanted
    return lambda host, port: port == 443 and host.lower().endswith(".amazonaws.com")
