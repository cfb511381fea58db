"""Bounded HTTP to the Storacha service: a total deadline, capped answers, no redirects.

Every exchange with the service (an agent message POST, a receipt GET, the key
resolution) must end within ``timeout`` seconds however the server paces its bytes, and
reads at most ``max_bytes`` of answer. The deadline is enforced below httpx, on each
socket read and write (:class:`DeadlineNetwork`), so a server that drips its headers or
its body one byte a second fails at the deadline, not after the idle timeout of every
byte. An upload (``total=False``) has no deadline while it sends its body, but the
answer after it must come within ``timeout`` too. Redirects are never followed for POST
and PUT (the agent message carries our proofs); a GET may follow a few, within the same
origin (scheme, host and port).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ipfs_kit_py.backends.engine_errors import transport_error
from ipfs_kit_py.errors import BackendTimeoutError, ConfigurationError, ProtocolError
from ipfs_kit_py.net import DeadlineNetwork, deadline, deadline_transport, headers_deadline
from ipfs_kit_py.resource import Closeable
from ipfs_kit_py.tls import ssl_context

__all__ = ["MAX_MESSAGE_BYTES", "Answer", "DeadlineNetwork", "ServiceHTTP", "deadline"]

MAX_MESSAGE_BYTES = 16 * 1024 * 1024  # agent messages and receipts are kilobytes
MAX_REDIRECTS = 3


@dataclass(frozen=True)
class Answer:
    """A whole (bounded) answer: status, headers, body, and the URL that gave it."""

    status: int
    headers: httpx.Headers
    body: bytes
    url: str

    def __repr__(self) -> str:  # a presigned URL's query is a credential
        return f"Answer(status={self.status}, url={_where(self.url)!r}, {len(self.body)} bytes)"

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class ServiceHTTP(Closeable):
    """An HTTP client for one service: bounded exchanges; a context manager."""

    def __init__(
        self,
        timeout: float,
        *,
        headers: Mapping[str, str] | None = None,
        ca_bundle: str | None = None,
    ) -> None:
        self.timeout = timeout
        self.client = httpx.Client(
            transport=deadline_transport(verify=ssl_context(ca_bundle, "storacha ca_bundle")),
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

        Only a GET follows redirects (at most ``redirects``, same origin only); any other
        3xx is returned.
        Raises :class:`BackendTimeoutError` (too slow), :class:`BackendUnavailableError`
        (unreachable) or :class:`ProtocolError` (answer too large, too many redirects).
        """
        if self.client.is_closed:  # httpx would raise a bare RuntimeError
            raise ConfigurationError("this Storacha client is closed")
        if not total:  # a large body may take long to send; the answer may not
            kwargs["extensions"] = headers_deadline(self.timeout)
        with deadline(self.timeout if total else None):
            for _ in range(redirects + 1 if method == "GET" else 1):
                answer = self._once(method, url, max_bytes, **kwargs)
                target = answer.headers.get("location")
                if method != "GET" or not 300 <= answer.status < 400 or not target:
                    return answer
                url = _same_origin(answer.url, target)
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


def _same_origin(base: str, target: str) -> str:
    """``target`` resolved against ``base``; ProtocolError unless it keeps the same origin.

    A redirect may move within the service (a path), never to another scheme, host or
    port, and never carry ``user:password@``.
    """
    where = _where(base)
    try:
        origin, url = httpx.URL(base), httpx.URL(base).join(target)
    except (httpx.InvalidURL, ValueError) as exc:
        raise _protocol_error(f"unusable redirect from {where}", where) from exc
    if url.scheme not in ("http", "https"):
        raise _protocol_error(f"redirect to a non-HTTP URL from {where}", where)
    same = (url.scheme, url.host, url.port) == (origin.scheme, origin.host, origin.port)
    if not same or url.userinfo:
        raise _protocol_error(f"redirect to another origin from {where}: not followed", where)
    return str(url)


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
