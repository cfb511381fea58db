"""The ASGI application: methods, limits, error mapping and streaming around the
:class:`GatewayHandler`. Mount it in any ASGI app or serve it with ``ipfs-kit serve``.

Limits: at most ``max_concurrent`` requests at once (more get 429 with ``Retry-After``
at once, never a queue; a worker thread still stuck after a timeout keeps its slot),
``request_timeout_s`` until the headers are ready (504), and ``chunk_timeout_s``
between two body chunks and for the client to take each one (the stream is cut; a
client that disconnects ends it too, so no tier is read for nobody). A body that cannot be
finished (a block missing or failing verification after the headers were sent, a
timeout, the CAR size limit) is cut: the connection closes without the end of the body,
so no client takes it for complete. An upload body must keep pace (``chunk_timeout_s``
per part, ``min_upload_rate`` on average: 408). Errors are one line of text, never a
traceback, and never a tier's own error text (it may name hosts: it goes to the log).
The HTTP front's own limits (request heads, connections) are in
:mod:`ipfs_kit_py.gateway.server`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import tempfile
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol
from urllib.parse import parse_qsl

from ipfs_kit_py.config import Secret
from ipfs_kit_py.content.cid import CID
from ipfs_kit_py.content.random_access import VerifiedBlocks
from ipfs_kit_py.errors import (
    BackendError,
    BackendUnavailableError,
    ContentMismatchError,
    ContentNotFoundError,
    InvalidInputError,
    IpfsKitError,
    ResourceLimitError,
)
from ipfs_kit_py.gateway.handler import GatewayHandler, Request, Response
from ipfs_kit_py.gateway.params import HTTPError
from ipfs_kit_py.log_redact import redact

__all__ = ["ContentWriter", "GatewayApp", "GatewayConfig"]

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_READ_METHODS = "GET, HEAD, OPTIONS"
_CORS = {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "GET, HEAD, OPTIONS",
    "access-control-allow-headers": "Content-Type, Range, User-Agent, X-Requested-With",
    "access-control-expose-headers": (
        "Content-Length, Content-Range, X-Ipfs-Path, X-Ipfs-Roots, X-Content-Type-Options"
    ),
}
_UPLOAD_CHUNK = 1 << 20


class ContentWriter(Protocol):
    """Adds the bytes of a file and returns their CID (the writable ``POST /ipfs``)."""

    def __call__(self, data: BinaryIO) -> CID: ...


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """Limits and the opt-in write endpoint (off unless ``write_token`` is set)."""

    max_concurrent: int = 64
    request_timeout_s: float = 60.0
    chunk_timeout_s: float = 60.0
    max_car_bytes: int = 16 << 30
    write_token: Secret | None = None
    max_upload_bytes: int = 1 << 30
    min_upload_rate: int = 16 << 10

    def __post_init__(self) -> None:
        limits = (
            self.max_concurrent,
            self.request_timeout_s,
            self.chunk_timeout_s,
            self.max_car_bytes,
            self.max_upload_bytes,
            self.min_upload_rate,
        )
        if min(limits) <= 0:
            raise InvalidInputError("gateway limits must be positive")
        if self.write_token is not None and len(self.write_token.value) < 16:
            raise InvalidInputError("a gateway write token needs at least 16 characters")


class GatewayApp:
    """An ASGI 3 application serving ``/ipfs/`` from ``blocks``; ``writer`` (with a
    ``write_token`` in ``config``) enables ``POST /ipfs``."""

    def __init__(
        self,
        blocks: VerifiedBlocks,
        config: GatewayConfig | None = None,
        *,
        writer: ContentWriter | None = None,
    ) -> None:
        self.config = config or GatewayConfig()
        self.handler = GatewayHandler(blocks, max_car_bytes=self.config.max_car_bytes)
        self.writer = writer if self.config.write_token is not None else None
        self._active = 0
        self._pool = ThreadPoolExecutor(self.config.max_concurrent, "ipfs-kit-gateway")

    def close(self) -> None:
        """Stop the worker threads (idempotent)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.handler.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send, self.close)
            return
        if scope["type"] != "http":
            return
        if self._active >= self.config.max_concurrent:
            await _send(send, _text(429, "too many requests", {"retry-after": "1"}), "GET")
            return
        self._active += 1
        try:
            await self._serve(scope, receive, send)
        finally:
            self._active -= 1

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = _request(scope)
        try:
            response = await self._respond(request, receive)
        except Exception as exc:
            response = error_response(exc)
        response.headers.update(_CORS)
        _under_root(response, scope.get("root_path", ""))
        await self._send_streaming(send, receive, response, request.method)

    async def _respond(self, request: Request, receive: Receive) -> Response:
        method = request.method
        if method == "OPTIONS":
            return Response(200, {"allow": self._allowed(), "content-length": "0"})
        if (
            method == "POST"
            and self.writer is not None
            and request.raw_path in (b"/ipfs", b"/ipfs/")
        ):
            return await self._post(request, receive)
        if method not in ("GET", "HEAD"):
            raise HTTPError(405, f"{method[:20]} is not allowed", {"allow": self._allowed()})
        response: Response = await self._in_thread(self.handler.handle, request)
        return response

    def _allowed(self) -> str:
        return _READ_METHODS + (", POST" if self.writer is not None else "")

    async def _in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return await self._run(self.config.request_timeout_s, fn, *args)
        except TimeoutError:
            raise HTTPError(504, "the tiers did not answer in time", {"retry-after": "5"}) from None

    async def _run(self, timeout: float, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` on a worker thread within ``timeout``; a call still running
        then keeps one slot of ``max_concurrent`` until it ends (a thread cannot be
        stopped), so stuck tiers turn new requests away with 429 instead of queueing."""
        future = asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            self._active += 1
            future.add_done_callback(self._release)
            raise

    def _release(self, future: asyncio.Future[Any]) -> None:
        self._active -= 1
        if not future.cancelled():
            future.exception()  # retrieved: no "never retrieved" warning

    async def _post(self, request: Request, receive: Receive) -> Response:
        assert self.writer is not None and self.config.write_token is not None
        given = request.headers.get("authorization", "")
        expected = "Bearer " + self.config.write_token.value
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise HTTPError(
                401,
                "a valid bearer token is required",
                {"www-authenticate": 'Bearer realm="ipfs-kit"'},
            )
        spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 (closed by the writer)
        try:
            await _read_body(receive, spool, self.config)
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        # the writer closes the spool when it is done, even after a 504: a write that
        # outlives its request still reads the whole body, never a closed file
        cid = await self._in_thread(_write_then_close, self.writer, spool)
        return _text(201, f"{cid}\n", {"location": f"/ipfs/{cid}", "ipfs-hash": str(cid)})

    async def _send_streaming(
        self, send: Send, receive: Receive, response: Response, method: str
    ) -> None:
        if isinstance(response.body, bytes):
            try:
                await asyncio.wait_for(_send(send, response, method), self.config.chunk_timeout_s)
            except TimeoutError:  # the client stopped reading: give the slot back
                logger.info("client stopped reading a %d answer", response.status)
            return
        gone = asyncio.Event()
        watcher = asyncio.ensure_future(_watch_disconnect(receive, gone))
        try:
            await self._stream_body(send, response, gone)
        finally:
            watcher.cancel()

    async def _stream_body(self, send: Send, response: Response, gone: asyncio.Event) -> None:
        """Send the chunks; a client that goes away or stops reading for
        ``chunk_timeout_s`` ends the read of the tiers and frees the request's slot."""
        timeout = self.config.chunk_timeout_s
        await asyncio.wait_for(send(_start(response)), timeout)
        loop = asyncio.get_running_loop()
        chunks = response.body
        assert not isinstance(chunks, bytes)
        try:
            while not gone.is_set():
                chunk = await self._run(timeout, next, chunks, None)
                if chunk is None:
                    break
                message = {"type": "http.response.body", "body": chunk, "more_body": True}
                await asyncio.wait_for(send(message), timeout)
        except Exception as exc:  # the body can no longer be finished: cut it
            logger.warning("response cut after its headers: %s: %s", type(exc).__name__, exc)
            await loop.run_in_executor(self._pool, _close, chunks)
            return  # no final body message: the server closes the connection
        if gone.is_set():
            logger.info("client went away during the response")
            await loop.run_in_executor(self._pool, _close, chunks)
            return
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def error_response(exc: BaseException) -> Response:
    """The one-line answer for an exception raised before any byte was sent."""
    if isinstance(exc, HTTPError):
        return _text(exc.status, exc.message, exc.headers)
    if isinstance(exc, ContentNotFoundError):
        return _text(404, f"not found: {exc}")
    if isinstance(exc, ContentMismatchError):
        return _text(404, f"no verified copy: {exc}")
    if isinstance(exc, InvalidInputError | ResourceLimitError):
        return _text(400, str(exc))
    if isinstance(exc, BackendUnavailableError):  # its text may name hosts: log it only
        logger.warning("a tier is unavailable: %s", redact(str(exc)))
        return _text(503, "a tier is unavailable", {"retry-after": "5"})
    if isinstance(exc, BackendError | IpfsKitError):
        return _text(502, f"a tier failed: {type(exc).__name__}")
    logger.error("gateway request failed", exc_info=exc)
    return _text(500, "internal error")


def _text(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    body = (message.rstrip("\n") + "\n").encode("utf-8", "replace")
    base = {"content-type": "text/plain; charset=utf-8", "content-length": str(len(body))}
    return Response(status, {**base, **(headers or {})}, body)


def _request(scope: Scope) -> Request:
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    root = scope.get("root_path", "").encode()
    if root and raw_path.startswith(root):
        raw_path = raw_path[len(root) :]
    raw_path = raw_path.split(b"?", 1)[0]
    query_string = scope.get("query_string", b"").decode("latin-1")
    query = dict(parse_qsl(query_string, keep_blank_values=True))
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    return Request(scope["method"].upper(), raw_path, query, headers, query_string)


def _under_root(response: Response, root: str) -> None:
    """Put a mount's ``root_path`` in front of a ``Location`` the handler made from the
    path it saw (the prefix was stripped from it), so redirects stay under the mount."""
    location = response.headers.get("location", "")
    if root and location.startswith("/"):
        response.headers["location"] = root.rstrip("/") + location


def _start(response: Response) -> Message:
    return {
        "type": "http.response.start",
        "status": response.status,
        "headers": [
            (k.encode(), v.encode("latin-1", "replace")) for k, v in response.headers.items()
        ],
    }


async def _send(send: Send, response: Response, method: str) -> None:
    await send(_start(response))
    body = response.body if isinstance(response.body, bytes) and method != "HEAD" else b""
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _read_body(receive: Receive, out: Any, config: GatewayConfig) -> None:
    """Spool the request body into ``out``: at most ``max_upload_bytes``, each part
    within ``chunk_timeout_s``, and all of it by ``chunk_timeout_s`` plus one second per
    ``min_upload_rate`` bytes received (as Apache's ``mod_reqtimeout``): a body
    trickled in to hold the request open gets a 408."""
    loop = asyncio.get_running_loop()
    start, size, limit = loop.time(), 0, config.max_upload_bytes
    while True:
        deadline = start + config.chunk_timeout_s + size / config.min_upload_rate
        wait = min(config.chunk_timeout_s, deadline - loop.time())
        try:
            message = await asyncio.wait_for(receive(), max(wait, 0))
        except TimeoutError:
            raise HTTPError(408, "the upload was too slow", {"connection": "close"}) from None
        if message["type"] == "http.disconnect":
            raise HTTPError(400, "the client went away during the upload")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise HTTPError(413, f"uploads are limited to {limit} bytes", {"connection": "close"})
        out.write(chunk)
        if not message.get("more_body", False):
            return


def _write_then_close(writer: ContentWriter, spool: BinaryIO) -> CID:
    try:
        return writer(spool)
    finally:
        spool.close()


async def _watch_disconnect(receive: Receive, gone: asyncio.Event) -> None:
    """Set ``gone`` when the client disconnects (the request body is already read)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return


def _close(chunks: Iterator[bytes]) -> None:
    close = getattr(chunks, "close", None)
    if close is not None:
        with contextlib.suppress(ValueError):  # still running in a timed-out thread
            close()


async def _lifespan(receive: Receive, send: Send, on_shutdown: Callable[[], None]) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            on_shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return
