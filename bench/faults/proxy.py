"""A fault-injecting TCP proxy on 127.0.0.1 (asyncio, in a thread of its own).

It forwards to one upstream server and misbehaves on demand, per connection, in either
direction (``up``: request bytes to the server, ``down``: answer bytes to the client):

- ``pass``: forward faithfully;
- ``black_hole``: accept, read and discard, never answer (and never reach the server);
- ``freeze``: forward ``after`` bytes, then stop forwarding, holding the connection open
  (a server stopped with SIGSTOP);
- ``cut``: forward ``after`` bytes, then close both sides (a server killed mid-body);
- ``drip``: forward ``after`` bytes, then one byte every ``interval`` seconds;
- ``storm503``: answer every request ``503 Service Unavailable`` at once;
- ``delay``: hold each chunk ``interval`` seconds before forwarding it;
- ``down``: accept and at once reset every new connection (a killed server).

:meth:`FaultProxy.trigger` switches a fault on when a number of bytes has passed in one
direction, so a fault lands mid-transfer; ``drop=True`` also resets open connections.

The mode is read for every chunk, so a fault switched on mid-transfer takes effect at
once on connections already open.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["Fault", "FaultProxy"]

CHUNK = 64 * 1024
_503 = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 11\r\nConnection: close\r\nRetry-After: 0\r\n\r\nunavailable"
)


@dataclass(frozen=True, slots=True)
class Fault:
    """What the proxy does now: a mode, the direction it acts on and its parameters."""

    mode: str = "pass"
    direction: str = "down"
    after: int = 0
    interval: float = 1.0


PASS = Fault()


class FaultProxy:
    """Forward ``127.0.0.1:<port>`` to ``upstream`` (an http URL), with a switchable fault."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.fault = PASS
        self.connections = 0
        self.moved = {"up": 0, "down": 0}
        self._trigger: tuple[str, int, Fault, bool] | None = None
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._run, daemon=True, name="fault-proxy")
        self._thread.start()
        self._ready.wait(10)
        assert self._server is not None
        self.port: int = self._server.sockets[0].getsockname()[1]
        self.url: str = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def set(self, mode: str = "pass", **params: object) -> None:
        """Switch the fault (see the module docstring); ``set()`` heals."""
        self.fault = Fault(mode, **params)  # type: ignore[arg-type]

    def trigger(self, direction: str, nbytes: int, fault: Fault, *, drop: bool = False) -> None:
        """Switch to ``fault`` once ``nbytes`` more have moved ``direction``."""
        self._trigger = (direction, self.moved[direction] + nbytes, fault, drop)

    def drop_connections(self) -> None:
        """Close every open connection (a server restart, as the client sees it)."""
        self._loop.call_soon_threadsafe(self._close_all)

    def close(self) -> None:
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop)
            self._thread.join(10)

    # -- the event loop ------------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.set_exception_handler(lambda loop, context: None)  # aborted pipes: expected
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0)
        )
        self._ready.set()
        self._loop.run_forever()
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    def _stop(self) -> None:
        self._close_all()
        if self._server is not None:
            self._server.close()
        self._loop.stop()

    def _close_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        try:
            if self.fault.mode == "down":
                return
            if self.fault.mode == "black_hole":
                await _swallow(reader)
            elif self.fault.mode == "storm503":
                await _answer_503(reader, writer)
            else:
                await self._forward(reader, writer)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        self._writers.add(up_writer)
        try:
            await asyncio.gather(
                self._pipe(reader, up_writer, "up"),
                self._pipe(up_reader, writer, "down"),
            )
        finally:
            self._writers.discard(up_writer)
            up_writer.transport.abort()

    async def _pipe(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, direction: str
    ) -> None:
        sent = 0
        while True:
            data = await source.read(CHUNK)
            if not data:
                sink.transport.abort()
                return
            fault = self.fault if self.fault.direction == direction else PASS
            if fault.mode in ("freeze", "cut", "drip") and sent + len(data) > fault.after:
                keep = max(0, fault.after - sent)
                sink.write(data[:keep])
                await sink.drain()
                sent += keep
                data = data[keep:]
                if fault.mode == "cut":
                    sink.transport.abort()
                    raise ConnectionResetError("cut by the fault proxy")
                if fault.mode == "freeze":
                    await asyncio.Event().wait()  # forever, until the connection is aborted
                for i in range(len(data)):
                    await asyncio.sleep(fault.interval)
                    sink.write(data[i : i + 1])
                    await sink.drain()
                sent += len(data)
                continue
            if fault.mode == "delay":
                await asyncio.sleep(fault.interval)
            sink.write(data)
            await sink.drain()
            sent += len(data)
            self._count(direction, len(data))

    def _count(self, direction: str, nbytes: int) -> None:
        self.moved[direction] += nbytes
        trigger = self._trigger
        if trigger is not None and trigger[0] == direction and self.moved[direction] >= trigger[1]:
            self._trigger = None
            self.fault = trigger[2]
            if trigger[3]:
                self._close_all()


async def _swallow(reader: asyncio.StreamReader) -> None:
    while await reader.read(CHUNK):
        pass
    await asyncio.Event().wait()


async def _answer_503(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        await reader.readuntil(b"\r\n\r\n")
    writer.write(_503)
    await writer.drain()
