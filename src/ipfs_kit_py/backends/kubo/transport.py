"""An httpx transport over the standard library's ``http.client``, for kubo's streams.

kubo streams ``cat``/``get``/``dag export`` in 4 KiB HTTP chunks. httpx's default
transport (httpcore + h11) turns each chunk into Python event objects and on loopback
reaches about half the speed of kubo's own CLI; ``http.client`` decodes the chunks
straight into large reads and keeps up with it. httpx stays the API (requests, timeouts,
exceptions); only the wire work moves here. Connections are kept alive and pooled.

Every wait on the socket is bounded by httpx's read/write timeout (the idle timeout) and,
when the request carries them in its extensions, by the call's :class:`~ipfs_kit_py.net.Deadline`
(``"ipfs_kit.deadline"``) and a :class:`~ipfs_kit_py.net.StallGuard` (``"ipfs_kit.stall"``),
so a server that accepts and never answers, or trickles, fails in bounded time.
"""

from __future__ import annotations

import contextlib
import http.client
import select
import socket
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any

import httpx

from ipfs_kit_py.net import Deadline, StallGuard

__all__ = ["HTTPClientTransport", "StreamError"]

READ_SIZE = 1 << 20
SEND_SIZE = 256 * 1024
_Key = tuple[str, str, int]


def _timeouts(request: httpx.Request) -> tuple[float | None, float | None]:
    """(connect, read-or-write) seconds from httpx's per-request timeout extension."""
    timeout: dict[str, Any] = request.extensions.get("timeout") or {}
    read, write = timeout.get("read"), timeout.get("write")
    io_timeout = None if read is None or write is None else max(read, write)
    return timeout.get("connect"), io_timeout


class _Pacer:
    """Bounds each socket wait of one exchange (idle timeout, deadline); feeds the stall guard."""

    def __init__(self, conn: http.client.HTTPConnection, request: httpx.Request) -> None:
        self._conn = conn
        self._idle = _timeouts(request)[1]
        self._deadline: Deadline | None = request.extensions.get("ipfs_kit.deadline")
        self._stall: StallGuard | None = request.extensions.get("ipfs_kit.stall")
        self._headers: float | None = request.extensions.get("ipfs_kit.headers_timeout")

    def limit(self) -> None:
        """Set the socket timeout for the next wait; raise TimeoutError past the deadline."""
        wait = self._idle if self._deadline is None else self._deadline.wait_limit(self._idle)
        if self._conn.sock is not None:
            self._conn.sock.settimeout(wait)

    @contextlib.contextmanager
    def watchdog(self) -> Iterator[None]:
        """Cut the connection at the deadline while inside (``http.client`` reads the
        headers in many waits, each of which :meth:`limit` can only bound alone)."""
        left = None if self._deadline is None else self._deadline.remaining()
        if self._headers is not None:  # a bulk download: its headers, not its body
            left = self._headers if left is None else min(left, self._headers)
        sock = self._conn.sock
        if left is None or sock is None:
            yield
            return
        fired = threading.Event()

        def cut() -> None:
            fired.set()
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

        timer = threading.Timer(left, cut)
        timer.daemon = True
        timer.start()
        try:
            yield
        except Exception as exc:
            if fired.is_set():
                raise TimeoutError("the deadline passed while the answer's headers came") from exc
            raise
        finally:
            timer.cancel()
        if fired.is_set():
            raise TimeoutError("the deadline passed while the answer's headers came")

    def count(self, nbytes: int) -> None:
        if self._stall is not None:
            self._stall.update(nbytes)

    def read1(self, fp: Any, size: int) -> bytes:
        self.limit()
        data: bytes = fp.read1(size)
        self.count(len(data))
        return data


class StreamError(Exception):
    """kubo failed after it began a response: it says so in the ``X-Stream-Error`` trailer."""


class _ResponseStream(httpx.SyncByteStream):
    """The response body, read in large pieces; the connection returns to the pool at EOF."""

    def __init__(
        self,
        response: http.client.HTTPResponse,
        conn: http.client.HTTPConnection,
        transport: HTTPClientTransport,
        key: _Key,
        pacer: _Pacer,
    ) -> None:
        self._response = response
        self._pacer = pacer
        self._conn = conn
        self._transport = transport
        self._key = key
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        with _mapped_errors(read=True):
            if self._response.chunked and self._response.fp is not None:
                trailers = yield from _decode_chunked(self._response.fp, pacer=self._pacer)
                self._done = True
                if trailers.get("x-stream-error"):
                    raise StreamError(trailers["x-stream-error"])
            else:
                while True:
                    self._pacer.limit()
                    data = self._response.read1(READ_SIZE)
                    if not data:
                        break
                    self._pacer.count(len(data))
                    yield data
                self._done = True

    def close(self) -> None:
        if self._done and not self._response.will_close:
            # The body was decoded here, so http.client must not try to read it again.
            self._response.fp = None  # type: ignore[assignment]
            self._response.chunked = False
            self._transport.release(self._key, self._conn)
        else:
            self._conn.close()
        self._response.close()


def _decode_chunked(
    fp: Any, read_size: int = READ_SIZE, *, pacer: _Pacer | None = None
) -> Generator[bytes, None, dict[str, str]]:
    """Decode an HTTP/1.1 chunked body from ``fp`` in ``read_size`` pieces; return trailers.

    kubo writes 4 KiB chunks; scanning a large buffer costs about a microsecond per
    chunk, where a per-chunk readline costs ten.
    """
    read1 = fp.read1 if pacer is None else (lambda n: pacer.read1(fp, n))
    buf = bytearray()
    pos = 0
    out: list[bytearray] = []
    pending = 0
    while True:
        end = buf.find(b"\r\n", pos)
        while end < 0:
            buf, pos = _fill(read1, buf, pos, read_size)
            end = buf.find(b"\r\n", pos)
        size = _chunk_size(buf[pos:end])
        pos = end + 2
        if size == 0:
            break
        while len(buf) - pos < size + 2:
            buf, pos = _fill(read1, buf, pos, read_size)
        if buf[pos + size : pos + size + 2] != b"\r\n":
            raise http.client.IncompleteRead(b"", None)
        out.append(buf[pos : pos + size])
        pending += size
        pos += size + 2
        if pending >= read_size:
            yield b"".join(out)
            out, pending = [], 0
    if out:
        yield b"".join(out)
    return _trailers(read1, buf[pos:], read_size)


def _fill(
    read1: Callable[[int], bytes], buf: bytearray, pos: int, read_size: int
) -> tuple[bytearray, int]:
    """Drop the consumed prefix of ``buf`` and append the next read; EOF is a truncation."""
    data = read1(read_size)
    if not data:
        raise http.client.IncompleteRead(b"", None)
    del buf[:pos]
    buf += data
    return buf, 0


def _chunk_size(line: bytes | bytearray) -> int:
    try:
        return int(bytes(line).split(b";", 1)[0], 16)
    except ValueError as exc:
        raise http.client.IncompleteRead(b"", None) from exc


def _trailers(read1: Callable[[int], bytes], rest: bytearray, read_size: int) -> dict[str, str]:
    """Read the trailer section (``Name: value`` lines up to an empty line)."""
    while b"\r\n\r\n" not in b"\r\n" + rest:
        data = read1(read_size)
        if not data:
            raise http.client.IncompleteRead(b"", None)
        rest += data
    block = bytes(b"\r\n" + rest).split(b"\r\n\r\n", 1)[0]
    trailers = {}
    for line in block.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if sep:
            trailers[name.strip().lower().decode("latin-1")] = value.strip().decode(
                "utf-8", "replace"
            )
    return trailers


@contextlib.contextmanager
def _mapped_errors(*, connect: bool = False, read: bool = False) -> Iterator[None]:
    """Re-raise socket and http.client failures as the httpx exceptions callers handle."""
    try:
        yield
    except TimeoutError as exc:
        if connect:
            raise httpx.ConnectTimeout(str(exc) or "timed out") from exc
        kind = httpx.ReadTimeout if read else httpx.WriteTimeout
        raise kind(str(exc) or "timed out") from exc
    except http.client.HTTPException as exc:  # IncompleteRead, RemoteDisconnected, ...
        raise httpx.RemoteProtocolError(f"{type(exc).__name__}: {exc}") from exc
    except OSError as exc:
        message = f"{type(exc).__name__}: {exc}"
        if connect:
            raise httpx.ConnectError(message) from exc
        raise (httpx.ReadError if read else httpx.WriteError)(message) from exc


class HTTPClientTransport(httpx.BaseTransport):
    """Send httpx requests with ``http.client``; stream bodies both ways."""

    def __init__(self, max_idle: int = 4) -> None:
        self._idle: dict[_Key, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._max_idle = max_idle

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        key = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        connect_timeout, _ = _timeouts(request)
        deadline: Deadline | None = request.extensions.get("ipfs_kit.deadline")
        conn = self._acquire(key, connect_timeout)
        pacer = _Pacer(conn, request)
        try:
            with _mapped_errors(connect=conn.sock is None):
                if conn.sock is None:
                    if deadline is not None:
                        conn.timeout = deadline.wait_limit(connect_timeout)
                    conn.connect()
            response = self._exchange(conn, request, pacer)
        except BaseException:
            conn.close()
            raise
        return httpx.Response(
            response.status,
            headers=response.getheaders(),
            stream=_ResponseStream(response, conn, self, key, pacer),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": response.reason.encode()},
        )

    def _exchange(
        self, conn: http.client.HTTPConnection, request: httpx.Request, pacer: _Pacer
    ) -> http.client.HTTPResponse:
        try:
            with _mapped_errors():
                self._send(conn, request, pacer)
        except httpx.WriteError:
            # The server may answer before reading the whole body (e.g. 403): read that.
            with _mapped_errors(read=True), pacer.watchdog():
                pacer.limit()
                return conn.getresponse()
        with _mapped_errors(read=True), pacer.watchdog():
            pacer.limit()
            return conn.getresponse()

    def _send(
        self, conn: http.client.HTTPConnection, request: httpx.Request, pacer: _Pacer
    ) -> None:
        target = request.url.raw_path.decode("ascii")
        conn.putrequest(request.method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in request.headers.multi_items():
            conn.putheader(name, value)
        pacer.limit()
        conn.endheaders()
        chunked = request.headers.get("transfer-encoding", "").lower() == "chunked"
        assert isinstance(request.stream, httpx.SyncByteStream)
        for chunk in _coalesce(request.stream):
            pacer.limit()
            conn.send(b"%X\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
        if chunked:
            conn.send(b"0\r\n\r\n")

    def _acquire(self, key: _Key, connect_timeout: float | None) -> http.client.HTTPConnection:
        while True:
            with self._lock:
                pool = self._idle.get(key)
                conn = pool.pop() if pool else None
            if conn is None:
                break
            if _is_alive(conn):
                return conn
            conn.close()
        scheme, host, port = key
        cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        return cls(host, port, timeout=connect_timeout)

    def release(self, key: _Key, conn: http.client.HTTPConnection) -> None:
        """Keep a connection whose response was read to the end, for the next request."""
        with self._lock:
            pool = self._idle.setdefault(key, [])
            if len(pool) < self._max_idle:
                pool.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            pools, self._idle = self._idle, {}
        for pool in pools.values():
            for conn in pool:
                conn.close()


def _coalesce(pieces: Iterable[bytes], min_size: int = SEND_SIZE) -> Iterator[bytes]:
    """Join small pieces (multipart headers, small files) so each send moves enough bytes."""
    pending = bytearray()
    for piece in pieces:
        if len(piece) >= min_size:
            if pending:
                yield bytes(pending)
                pending.clear()
            yield piece
            continue
        pending += piece
        if len(pending) >= min_size:
            yield bytes(pending)
            pending.clear()
    if pending:
        yield bytes(pending)


def _is_alive(conn: http.client.HTTPConnection) -> bool:
    """An idle keep-alive connection is usable if the server has not closed it (nothing to
    read: a closed or misbehaving peer makes the socket readable)."""
    if conn.sock is None:
        return False
    try:
        readable, _, _ = select.select([conn.sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable
