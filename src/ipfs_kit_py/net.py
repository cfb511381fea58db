"""Bounded network waits for every remote backend: no failure takes more than seconds.

One :class:`Timeouts` per backend section (``[s3]``, ``[kubo]``, ``[gateway]``,
``[storacha]``) says how long a call may wait:

- ``connect_timeout``: to open a connection;
- ``idle_timeout``: for the next byte, while sending or receiving (resets on progress,
  so a slow large transfer is never cut while it moves);
- ``deadline``: the whole of one small call (metadata, JSON answers, single blocks),
  retries included; bulk transfers have no deadline but a stall guard;
- ``min_rate``: a bulk transfer that moves fewer bytes per second than this, judged over
  ``stall_window`` seconds, is stalled (a server trickling a byte every few seconds);
- ``retries``: further attempts of an idempotent call, after jittered back-off.

Each is set by keyword, in the backend's config-file section, or by the environment as
``IPFS_KIT_<BACKEND>_<KEY>`` (e.g. ``IPFS_KIT_KUBO_IDLE_TIMEOUT=10``).
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any, TypeVar

import httpcore
import httpx

from ipfs_kit_py import log_redact
from ipfs_kit_py.errors import BackendUnavailableError, ConfigurationError, ProtocolError

__all__ = [
    "Deadline",
    "DeadlineNetwork",
    "StallGuard",
    "Timeouts",
    "bounded_request",
    "deadline",
    "deadline_transport",
    "headers_deadline",
    "retrying",
    "send_within",
]

logger = logging.getLogger(__name__)
log_redact.install()  # every remote backend imports this module: no URL secret in logs

T = TypeVar("T")
BACKOFF_BASE_S = 0.1
BACKOFF_MAX_S = 2.0


@dataclass(frozen=True, slots=True)
class Timeouts:
    """How long one backend's calls may wait; every value in seconds except the counts."""

    connect_timeout: float = 3.0
    idle_timeout: float = 5.0
    deadline: float = 10.0
    retries: int = 2
    min_rate: float = 1024.0
    stall_window: float = 10.0

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "idle_timeout", "deadline", "stall_window"):
            if not getattr(self, name) > 0:
                raise ConfigurationError(f"{name} must be a positive number of seconds")
        if not 0 <= self.retries <= 20:
            raise ConfigurationError("retries must be between 0 and 20")
        if not self.min_rate >= 0:  # NaN too
            raise ConfigurationError("min_rate must be a non-negative number of bytes per second")

    @classmethod
    def from_sources(
        cls,
        backend: str,
        args: Mapping[str, Any] | None = None,
        section: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        **defaults: Any,
    ) -> Timeouts:
        """Resolve each field: ``args`` > config ``section`` > ``IPFS_KIT_<BACKEND>_<KEY>``."""
        args, section = args or {}, section or {}
        env = os.environ if env is None else env
        values: dict[str, Any] = dict(defaults)
        for field in fields(cls):
            env_name = f"IPFS_KIT_{backend.upper()}_{field.name.upper()}"
            for source in (
                env.get(env_name) or None,
                section.get(field.name),
                args.get(field.name),
            ):
                if source is not None:
                    values[field.name] = source
        converted: dict[str, Any] = {}
        for name, value in values.items():
            kind = int if name == "retries" else float
            try:
                converted[name] = kind(value)
            except (TypeError, ValueError):
                raise ConfigurationError(
                    f"[{backend}] {name} must be a number, got {value!r}"
                ) from None
        return cls(**converted)

    def httpx(self, deadline: Deadline | None = None) -> httpx.Timeout:
        """httpx timeouts: connect, and each read/write wait cut to what ``deadline`` leaves."""
        idle = self.idle_timeout if deadline is None else deadline.wait_limit(self.idle_timeout)
        connect = (
            self.connect_timeout if deadline is None else deadline.wait_limit(self.connect_timeout)
        )
        return httpx.Timeout(idle, connect=connect, pool=connect)

    def deadline_from_now(self) -> Deadline:
        return Deadline(self.deadline)

    def stall_guard(self, what: str) -> StallGuard:
        return StallGuard(self.min_rate, self.stall_window, what)


class Deadline:
    """A point in time a call must finish by (``None``: no limit)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.end = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float | None:
        """Seconds left (never negative), or None without a limit."""
        return None if self.end is None else max(0.0, self.end - time.monotonic())

    def wait_limit(self, idle: float | None) -> float | None:
        """The longest one wait may take: the idle timeout, cut to what is left."""
        left = self.remaining()
        if left is None:
            return idle
        if left <= 0:
            raise TimeoutError(f"deadline of {self.seconds:g}s passed")
        return left if idle is None else min(idle, left)

    def expired(self) -> bool:
        left = self.remaining()
        return left is not None and left <= 0


class StallGuard:
    """Raises ``TimeoutError`` when a stream moved under ``min_rate`` bytes/s over the last
    ``window`` seconds (a sliding window, counted in one-second buckets)."""

    def __init__(self, min_rate: float, window: float, what: str = "transfer") -> None:
        self.min_rate, self.window, self.what = min_rate, window, what
        self._start = time.monotonic()
        self._buckets: deque[list[float]] = deque()  # [second, bytes], oldest first
        self._recent = 0.0

    def update(self, nbytes: int) -> None:
        """Count ``nbytes`` just received or sent; raise if the last window was too slow."""
        now = time.monotonic()
        second = float(int(now))
        if self._buckets and self._buckets[-1][0] == second:
            self._buckets[-1][1] += nbytes
        else:
            self._buckets.append([second, float(nbytes)])
        self._recent += nbytes
        while self._buckets and self._buckets[0][0] <= now - self.window - 1:
            self._recent -= self._buckets.popleft()[1]
        if now - self._start < self.window:
            return
        if self._recent < self.min_rate * self.window:
            raise TimeoutError(
                f"{self.what} stalled: {int(self._recent)} bytes in the last "
                f"{self.window:g}s (below {self.min_rate:g} bytes/s)"
            )

    def wrap(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """Yield ``chunks``, raising :class:`BackendUnavailableError` once they stall."""
        for chunk in chunks:
            try:
                self.update(len(chunk))
            except TimeoutError as exc:
                raise BackendUnavailableError(str(exc)) from exc
            yield chunk


# -- a deadline below httpx: every socket read/write of this thread ---------------------

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


def check_deadline() -> None:
    """Raise ``TimeoutError`` if this thread's :func:`deadline` has passed (CPU-bound work)."""
    _left(None, TimeoutError)


def headers_deadline(seconds: float) -> dict[str, Any]:
    """Request extensions that start a ``seconds`` deadline once the request is sent.

    For uploads that have no total deadline (the body may be large): the wait for the
    answer's headers and body is still bounded, under an enclosing :func:`deadline`.
    """

    def trace(event: str, info: Mapping[str, Any]) -> None:
        if event.endswith("receive_response_headers.started"):
            end = time.monotonic() + seconds
            outer = getattr(_local, "end", None)
            _local.end = end if outer is None else min(outer, end)

    return {"trace": trace}


def deadline_transport(**kwargs: Any) -> httpx.HTTPTransport:
    """An httpx transport whose sockets honour :func:`deadline`."""
    transport = httpx.HTTPTransport(**kwargs)
    pool = transport._pool  # httpx builds the pool; only its network layer is swapped
    pool._network_backend = DeadlineNetwork(pool._network_backend)
    return transport


def backoff_delay(attempt: int, rng: random.Random | None = None) -> float:
    """Full-jitter exponential back-off before retry ``attempt`` (1-based)."""
    ceiling = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2**attempt)
    return (rng or random).uniform(0, ceiling)


def retrying(
    call: Callable[[], T],
    *,
    retries: int,
    what: str,
    deadline: Deadline | None = None,
    retry_on: tuple[type[BaseException], ...] = (BackendUnavailableError,),
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run an idempotent ``call``; on ``retry_on`` try again up to ``retries`` times.

    Waits a jittered, growing delay between attempts and gives up early when the
    ``deadline`` would pass during the wait.
    """
    attempt = 0
    while True:
        try:
            return call()
        except retry_on as exc:
            attempt += 1
            if attempt > retries:
                raise
            delay = backoff_delay(attempt)
            left = deadline.remaining() if deadline is not None else None
            if left is not None and left <= delay:
                raise
            logger.info("%s failed (%s); retry %d/%d in %.2fs", what, exc, attempt, retries, delay)
            sleep(delay)


def bounded_request(
    http: httpx.Client,
    method: str,
    url: str,
    timeouts: Timeouts,
    *,
    deadline: Deadline,
    max_bytes: int | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """Send one small request and read its whole answer before ``deadline``.

    Raises ``httpx.TimeoutException`` (``ReadTimeout``) once the deadline passes, even
    while the server keeps sending a byte now and then (its headers too, when ``http``
    is built on :func:`deadline_transport`), and ``ProtocolError`` once the answer grows
    past ``max_bytes``. The answer is returned read.
    """
    try:
        request = http.build_request(method, url, timeout=timeouts.httpx(deadline), **kwargs)
    except TimeoutError as exc:
        raise httpx.ReadTimeout(str(exc)) from None
    with _socket_deadline(deadline):
        response = http.send(request, stream=True)
        try:
            body = bytearray()
            for chunk in response.iter_raw():
                if deadline.expired():
                    raise httpx.ReadTimeout(f"no complete answer within {deadline.seconds:g}s")
                body += chunk
                if max_bytes is not None and len(body) > max_bytes:
                    raise ProtocolError(f"answer larger than {max_bytes} bytes", locator=url)
        finally:
            response.close()
    return httpx.Response(
        response.status_code,
        headers=response.headers,
        content=bytes(body),
        request=request,
        extensions=response.extensions,
    )


def send_within(http: httpx.Client, request: httpx.Request, limit: Deadline) -> httpx.Response:
    """``http.send(request, stream=True)``: its status and headers before ``limit``.

    The body is the caller's to read (with its own stall guard).
    """
    with _socket_deadline(limit):
        return http.send(request, stream=True)


def _socket_deadline(limit: Deadline) -> Any:
    return deadline(limit.remaining())
