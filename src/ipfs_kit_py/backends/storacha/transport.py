"""Bounded HTTP to the Storacha service: a total deadline, capped answers, no redirects.

Every exchange with the service (an agent message POST, a receipt GET, the key
resolution) must end within ``timeout`` seconds however the server paces its bytes, and
reads at most ``max_bytes`` of answer. The deadline is enforced below httpx, on each
socket read and write (:class:`DeadlineNetwork`), so a server that drips its headers or
its body one byte a second fails at the deadline, not after the idle timeout of every
byte. Redirects are never followed for POST and PUT (the agent message carries our
proofs); a GET may follow a few (the receipts endpoint answers 302 to a bucket).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from ipfs_kit_py.backends.engine_errors import transport_error
from ipfs_kit_py.errors import BackendTimeoutError, ProtocolError
from ipfs_kit_py.resource import Closeable

__all__ = ["MAX_MESSAGE_BYTES", "Answer", "DeadlineNetwork", "ServiceHTTP", "deadline"]

MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # agent messages and receipts are kilobytes
MAX_REDIRECTS = 3
_local = threading.local()


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Bound every socket operation of this thread inside the block to ``seconds`` in all."""
    outer = getattr(_local, "end", None)
    end = None if seconds is None else time.monotonic() + seconds
    if outer is not None and (end is None or outer < end):
        end = outer
    _local.end = end
    try:
        yield
    finally:
        _local.end = outer


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    end: float | None = getattr(_local, "end", None)
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise error("the deadline of this exchange has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineNetwork(httpcore.NetworkBackend):
    """httpcore's sync network, each operation cut to the thread's :func:`deadline`."""

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, left, local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, left, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def deadline_transport() -> httpx.HTTPTransport:
    """An httpx transport whose sockets honour :func:`deadline`."""
    transport = httpx.HTTPTransport()
    pool = transport._pool  # httpx builds the pool; only its network layer is swapped
    pool._network_backend = DeadlineNetwork(pool._network_backend)
    return transport


@dataclass(frozen=True)
class Answer:
    """A whole (bounded) answer: status, headers, body, and the URL that gave it."""

    status: int
    headers: httpx.Headers
    body: bytes
    url: str

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class ServiceHTTP(Closeable):
    """An HTTP client for one service: bounded exchanges; a context manager."""

    def __init__(self, timeout: float, *, headers: Mapping[str, str] | None = None) -> None:
        self.timeout = timeout
        self.client = httpx.Client(
            transport=deadline_transport(),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=False,
            headers={**dict(headers or {}), "accept-encoding": "identity"},
        )

    def close(self) -> None:
        """Close the connections; idempotent."""
        self.client.close()

    def exchange(
        self,
        method: str,
        url: str,
        *,
        max_bytes: int = MAX_MESSAGE_BYTES,
        redirects: int = 0,
        total: bool = True,
        **kwargs: Any,
    ) -> Answer:
        """One request and its whole answer, within the deadline (``total``) and ``max_bytes``.

        Only a GET follows redirects (at most ``redirects``); any other 3xx is returned.
        Raises :class:`BackendTimeoutError` (too slow), :class:`BackendUnavailableError`
        (unreachable) or :class:`ProtocolError` (answer too large, too many redirects).
        """
        with deadline(self.timeout if total else None):
            for _ in range(redirects + 1 if method == "GET" else 1):
                answer = self._once(method, url, max_bytes, **kwargs)
                target = answer.headers.get("location")
                if method != "GET" or not 300 <= answer.status < 400 or not target:
                    return answer
                url = str(httpx.URL(url).join(target))
                if httpx.URL(url).scheme not in ("http", "https"):
                    where = _where(answer.url)
                    raise _protocol_error(f"redirect to a non-HTTP URL from {where}", where)
        raise _protocol_error(f"more than {redirects} redirects, the last to {_where(url)}", url)

    def _once(self, method: str, url: str, max_bytes: int, **kwargs: Any) -> Answer:
        where = _where(url)
        try:
            with self.client.stream(method, url, follow_redirects=False, **kwargs) as response:
                body = _read_capped(response, max_bytes, where)
                return Answer(response.status_code, response.headers, body, url)
        except httpx.TimeoutException as exc:
            raise BackendTimeoutError(
                f"{where} did not answer {method} within {self.timeout:g}s ({type(exc).__name__})",
                backend="storacha",
                locator=where,
            ) from exc
        except httpx.TransportError as exc:
            raise transport_error(exc, backend="storacha", locator=where, action=method) from exc


def _read_capped(response: httpx.Response, max_bytes: int, where: str) -> bytes:
    # Raw bytes only: a compressed answer could inflate far past the cap in one chunk.
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        message = f"{where} sent a {encoding!r}-encoded answer; we asked for identity"
        raise _protocol_error(message, where)
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        message = f"{where} announced {declared} bytes; the limit is {max_bytes}"
        raise _protocol_error(message, where)
    body = bytearray()
    for chunk in response.iter_raw():
        body += chunk
        if len(body) > max_bytes:
            raise _protocol_error(f"{where} sent more than {max_bytes} bytes", where)
    return bytes(body)


def _where(url: str) -> str:
    """``url`` fit for a message: without its query (a presigned URL's is a credential)."""
    return url.split("?", 1)[0]


def _protocol_error(message: str, where: str) -> ProtocolError:
    return ProtocolError(message, backend="storacha", locator=_where(where))
