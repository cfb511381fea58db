"""Misbehaving servers on 127.0.0.1 for timeout tests: a black hole and a trickle.

Both are real TCP listeners (no mocks): the black hole accepts every connection, reads
and discards what arrives, and never answers; the trickle answers any HTTP request
with a fixed response, one byte every ``interval`` seconds.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

__all__ = ["black_hole", "trickle"]


def _listener() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.settimeout(0.2)
    return sock


def _serve(sock: socket.socket, stop: threading.Event, handle: object) -> None:
    while not stop.is_set():
        try:
            conn, _ = sock.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        threading.Thread(target=handle, args=(conn, stop), daemon=True).start()  # type: ignore[arg-type]


@contextlib.contextmanager
def _running(handle: object) -> Iterator[str]:
    sock = _listener()
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(sock, stop, handle), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        sock.close()


def _swallow(conn: socket.socket, stop: threading.Event, read: bool = True) -> None:
    conn.settimeout(0.2)
    with conn:
        while not stop.is_set():
            if not read:
                time.sleep(0.2)
                continue
            try:
                if not conn.recv(1 << 16):
                    return
            except TimeoutError:
                continue
            except OSError:
                return


@contextlib.contextmanager
def black_hole(*, read: bool = True) -> Iterator[str]:
    """A listener that accepts and never answers; ``read=False`` never reads either."""
    with _running(lambda conn, stop: _swallow(conn, stop, read)) as url:
        yield url


def _read_request(conn: socket.socket) -> None:
    """Read the request head (and whatever body came with it in the first moments)."""
    data = b""
    conn.settimeout(2)
    with contextlib.suppress(OSError):
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk


@contextlib.contextmanager
def trickle(
    body: bytes, *, interval: float = 2.0, content_type: str = "application/octet-stream"
) -> Iterator[str]:
    """An HTTP server answering 200 with ``body``, sent one byte every ``interval`` s."""
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nX-Content-Length: {len(body)}\r\n\r\n"
    ).encode()

    def handle(conn: socket.socket, stop: threading.Event) -> None:
        with conn:
            _read_request(conn)
            try:
                conn.sendall(head)
                for i in range(len(body)):
                    if stop.wait(interval):
                        return
                    conn.sendall(body[i : i + 1])
            except OSError:
                return

    with _running(handle) as url:
        yield url
