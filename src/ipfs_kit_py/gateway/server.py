"""The HTTP front of ``ipfs-kit serve``: uvicorn with a deadline on each request head.

uvicorn closes a keep-alive connection that stays idle after a response, but it sets
no limit on how long a client may take to send a request head: a client that connects
and sends nothing, or sends its headers a byte at a time (slowloris), holds a
connection and a socket for as long as it likes, and with httptools the head may grow
without bound. :func:`hardened_protocol` subclasses uvicorn's own HTTP protocol
(httptools or h11) with these limits, :class:`ConnectionLimits`:

- ``header_timeout_s``: a connection waiting for a request (from its opening, or from
  the end of the previous response) must deliver the whole head within this time,
  however it trickles: a timer started then, never pushed back by the bytes that
  arrive. Past it the connection is closed (after a ``408`` if any byte came).
- ``max_connections``: open connections at most; one more is closed at once, before
  the process runs out of file descriptors (which the index and the tiers need too).
- ``max_header_bytes``: the request line and headers together; beyond, a ``431`` and
  the connection closed (with h11, its own limit is set to the same: uvicorn answers
  ``400`` and closes).

Bodies and responses are the application's: :class:`~ipfs_kit_py.gateway.app.GatewayApp`
bounds an upload's pace and a client that stops reading. Idle keep-alive is uvicorn's
``timeout_keep_alive`` (``keep_alive_s``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from ipfs_kit_py.errors import InvalidInputError

if TYPE_CHECKING:
    import uvicorn

__all__ = ["ConnectionLimits", "HttpKind", "hardened_protocol", "uvicorn_config"]

HttpKind = Literal["auto", "httptools", "h11"]


def _plain(status: bytes, text: bytes) -> bytes:
    """A whole ``connection: close`` response, written outside uvicorn's parser."""
    return (
        b"HTTP/1.1 %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (status, len(text), text)
    )


_TIMEOUT = _plain(b"408 Request Timeout", b"request head not received in time\n")
_TOO_LARGE = _plain(b"431 Request Header Fields Too Large", b"request head too large\n")


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """Per-connection limits of the HTTP front (see the module)."""

    header_timeout_s: float = 10.0
    max_header_bytes: int = 64 << 10
    keep_alive_s: int = 5
    max_connections: int = 1000

    def __post_init__(self) -> None:
        limits = (self.header_timeout_s, self.max_header_bytes, self.keep_alive_s)
        if min(*limits, self.max_connections) <= 0:
            raise InvalidInputError("connection limits must be positive")


class _HeadDeadline:
    """Mixed in before a uvicorn HTTP protocol class: the deadline on each head."""

    limits: ClassVar[ConnectionLimits]
    # set by the uvicorn protocol this is mixed into
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    cycle: Any

    connections: set[Any]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._head_timer: asyncio.TimerHandle | None = None
        self._heard = False  # a byte came since the connection started waiting
        super().connection_made(transport)  # type: ignore[misc]
        if len(self.connections) > self.limits.max_connections:
            self.transport.close()  # before file descriptors run out for the tiers
            return
        self._track()

    def data_received(self, data: bytes) -> None:
        if self._waiting():
            self._heard = True
        super().data_received(data)  # type: ignore[misc]
        self._track()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        self._track()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)  # type: ignore[misc]

    def _waiting(self) -> bool:
        """No request in hand: the head of the next one is awaited."""
        return self.cycle is None or bool(self.cycle.response_complete)

    def _track(self) -> None:
        if not self._waiting():
            self._cancel()
            self._heard = False
        elif self._head_timer is None and not self.transport.is_closing():
            self._head_timer = self.loop.call_later(self.limits.header_timeout_s, self._late)

    def _cancel(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _late(self) -> None:
        self._head_timer = None
        if self._waiting() and not self.transport.is_closing():
            if self._heard:
                self.transport.write(_TIMEOUT)
            self.transport.close()


class _CountedHead:
    """For httptools, which has no size limit of its own (it keeps a header's bytes
    until the header ends): count the bytes that arrive outside a request body, and
    close the connection once a head passes ``max_header_bytes`` (a ``431`` first
    when no response is under way). Memory stays within the limit plus one read."""

    limits: ClassVar[ConnectionLimits]
    transport: asyncio.Transport
    cycle: Any
    _in_body = False
    _head_bytes = 0

    def data_received(self, data: bytes) -> None:
        if not self._in_body:
            self._head_bytes += len(data)
        super().data_received(data)  # type: ignore[misc]
        over = self._head_bytes > self.limits.max_header_bytes
        if not self._in_body and over and not self.transport.is_closing():
            idle = self.cycle is None or self.cycle.response_complete
            self.transport.write(_TOO_LARGE if idle else b"")
            self.transport.close()

    def on_headers_complete(self) -> None:
        self._in_body, self._head_bytes = True, 0
        super().on_headers_complete()  # type: ignore[misc]

    def on_message_complete(self) -> None:
        self._in_body = False
        super().on_message_complete()  # type: ignore[misc]


def hardened_protocol(limits: ConnectionLimits, kind: HttpKind = "auto") -> type[asyncio.Protocol]:
    """uvicorn's ``kind`` HTTP protocol (``auto``: httptools when installed, as uvicorn
    picks) with the head deadline and size limit of ``limits``."""
    if kind == "auto":
        try:
            import httptools  # noqa: F401
        except ImportError:
            kind = "h11"
        else:
            kind = "httptools"
    mixins: tuple[type, ...]
    if kind == "httptools":
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as base

        mixins = (_HeadDeadline, _CountedHead)
    else:
        from uvicorn.protocols.http.h11_impl import H11Protocol as base  # type: ignore[assignment]

        mixins = (_HeadDeadline,)
    name = f"Hardened{base.__name__}"
    cls: type[asyncio.Protocol] = type(name, (*mixins, base), {"limits": limits})
    return cls


def uvicorn_config(
    app: Any,
    *,
    host: str,
    port: int,
    limits: ConnectionLimits | None = None,
    http: HttpKind = "auto",
    **options: Any,
) -> uvicorn.Config:
    """A uvicorn ``Config`` serving ``app`` with :func:`hardened_protocol` and no
    WebSocket upgrades (``options`` go to uvicorn as they are)."""
    import uvicorn

    limits = limits or ConnectionLimits()
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=hardened_protocol(limits, http),
        timeout_keep_alive=limits.keep_alive_s,
        h11_max_incomplete_event_size=limits.max_header_bytes,
        ws="none",  # no upgrades: a head deadline must not close a WebSocket
        **options,
    )
