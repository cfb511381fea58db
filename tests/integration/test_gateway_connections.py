"""The HTTP front of ``ipfs-kit serve`` against hostile connections, on a real uvicorn
server on 127.0.0.1 (httptools and h11): request heads trickled a byte at a time
(slowloris), silent and idle connections, oversized heads, bodies trickled in, and a
tier's error text kept out of the answer."""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.gateway.blocks import MemoryBlocks, add_file, gateway, serving
from tests.servers.process import free_port, running, start_server

from ipfs_kit_py.config import Secret
from ipfs_kit_py.content.cid import CID
from ipfs_kit_py.content.random_access import VerifiedBlocks
from ipfs_kit_py.content.unixfs import import_file
from ipfs_kit_py.errors import BackendUnavailableError
from ipfs_kit_py.gateway import GatewayApp, GatewayConfig
from ipfs_kit_py.gateway.server import ConnectionLimits, HttpKind

LIMITS = ConnectionLimits(header_timeout_s=1.0, max_header_bytes=16 << 10, keep_alive_s=1)
KINDS: list[HttpKind] = ["httptools", "h11"]
SLOW_CLIENTS = 40


@pytest.fixture(scope="module")
def content() -> tuple[MemoryBlocks, CID]:
    own = MemoryBlocks()
    return own, add_file(own, b"hello\n")


@pytest.fixture(params=KINDS)
def served(request: pytest.FixtureRequest, content: tuple[MemoryBlocks, CID]) -> Iterator[str]:
    with serving(gateway(content[0]), LIMITS, request.param) as url:
        yield url


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def closed_by_server(s: socket.socket) -> bytes | None:
    """What the server sent before closing ``s`` (None: still open), without waiting."""
    received = b""
    try:
        while chunk := s.recv(65536, socket.MSG_DONTWAIT):
            received += chunk
    except BlockingIOError:
        return None
    except ConnectionResetError:
        pass
    return received


def read_until_closed(s: socket.socket, seconds: float = 20) -> bytes:
    """Everything the server sends until it closes ``s`` (a deadline, not a timing test)."""
    s.settimeout(seconds)
    received = b""
    try:
        while chunk := s.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def trickle(sockets: list[socket.socket], data: bytes, seconds: float) -> dict[int, bytes]:
    """Send ``data`` a byte at a time to every socket, one byte each per 0.1 s, until the
    server closes them all or ``seconds`` pass; what each got before its close."""
    for s in sockets:
        s.setblocking(False)  # a socket with a timeout would wait in recv
    done: dict[int, bytes] = {}
    deadline = time.monotonic() + seconds
    position = 0
    while len(done) < len(sockets) and time.monotonic() < deadline:
        for i, s in enumerate(sockets):
            if i in done:
                continue
            answer = closed_by_server(s)
            if answer is not None:
                done[i] = answer
                continue
            try:
                s.send(data[position % len(data) : position % len(data) + 1])
            except (BrokenPipeError, ConnectionResetError):
                done[i] = b""
        position += 1
        time.sleep(0.1)
    return done


TIMEOUT_408 = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 34\r\nconnection: close\r\n\r\nrequest head not received in time\n"
)
HEAD = b"GET /ipfs/bafkqaaa?format=raw HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 400


def test_slowloris_heads_are_closed_at_the_deadline_while_a_client_is_served(
    served: str, content: tuple[MemoryBlocks, CID]
) -> None:
    slow = [connect(served) for _ in range(SLOW_CLIENTS)]
    answers: dict[int, bytes] = {}
    worker = threading.Thread(target=lambda: answers.update(trickle(slow, HEAD, 30)))
    worker.start()
    try:
        time.sleep(0.3)  # the slow heads are under way
        r = httpx.get(f"{served}/ipfs/{content[1]}", timeout=10)
        assert r.status_code == 200 and r.content == b"hello\n"
        worker.join(40)
    finally:
        for s in slow:
            s.close()
    # one byte per 0.1 s never ends the head: only the deadline closes these
    assert len(answers) == SLOW_CLIENTS, f"{SLOW_CLIENTS - len(answers)} slow heads still open"
    # a 408 first, unless a byte sent after the close drew a reset that dropped it
    assert all(a in (b"", TIMEOUT_408) for a in answers.values())


def test_a_head_that_stops_half_way_gets_408(served: str) -> None:
    s = connect(served)
    try:
        s.sendall(b"GET /ipfs/bafkqaaa HTTP/1.1\r\nHost: x\r\nX-Half: ab")
        assert read_until_closed(s) == TIMEOUT_408
    finally:
        s.close()


def test_a_connection_that_sends_nothing_is_closed(served: str) -> None:
    s = connect(served)
    try:
        assert read_until_closed(s) == b""
    finally:
        s.close()


def test_an_idle_keep_alive_connection_is_closed(served: str) -> None:
    s = connect(served)
    try:
        s.sendall(b"GET /ipfs/bafkqaaa?format=raw HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = read_until_closed(s)
        assert answer.startswith(b"HTTP/1.1 200 ") and answer.count(b"HTTP/1.1") == 1
    finally:
        s.close()


def test_the_next_head_on_a_kept_connection_has_a_deadline_too(served: str) -> None:
    s = connect(served)
    try:
        s.sendall(b"GET /ipfs/bafkqaaa?format=raw HTTP/1.1\r\nHost: x\r\n\r\nGET /ipfs/")
        answers = trickle([s], b"bafkqaaa" * 100, 20)
        assert len(answers) == 1, "the second, trickled head kept the connection open"
    finally:
        s.close()


def test_a_body_trickled_after_the_answer_does_not_hold_the_connection(served: str) -> None:
    s = connect(served)
    try:
        s.sendall(
            b"GET /ipfs/bafkqaaa?format=raw HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
        )
        answers = trickle([s], b"b", 20)
        assert len(answers) == 1, "a body trickled in kept the connection open"
    finally:
        s.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_head_over_the_size_limit_is_refused(
    kind: HttpKind, content: tuple[MemoryBlocks, CID]
) -> None:
    with serving(gateway(content[0]), LIMITS, kind) as url:
        for head in (
            b"GET /ipfs/bafkqaaa HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * (40 << 10),
            b"GET /ipfs/bafkqaaa HTTP/1.1\r\nHost: x\r\n" + b"X-Many: a\r\n" * 5000,
        ):
            s = connect(url)
            try:
                sent = 0
                with pytest.raises(OSError):  # the server closes before 4 MiB are in
                    for _ in range(4096):
                        s.sendall(head[:1024] if sent >= len(head) else head[sent : sent + 1024])
                        sent += 1024
                        time.sleep(0.001)
                answer = read_until_closed(s)
                assert answer == b"" or answer.split(b" ")[1] in (b"431", b"400"), answer[:60]
            finally:
                s.close()
        r = httpx.get(f"{url}/ipfs/{content[1]}", headers={"x-fine": "a" * 4000}, timeout=10)
        assert r.status_code == 200


TOKEN = "connections-test-token-0123"


def writable(own: MemoryBlocks) -> GatewayApp:
    def add(data: object) -> CID:
        return import_file(data, on_block=own.put).cid  # type: ignore[arg-type]

    config = GatewayConfig(write_token=Secret(TOKEN), chunk_timeout_s=1.0, min_upload_rate=1024)
    return GatewayApp(VerifiedBlocks([own], cache_bytes=0), config, writer=add)


@pytest.mark.parametrize("kind", KINDS)
def test_an_upload_trickled_in_gets_408_and_others_are_served(
    kind: HttpKind, content: tuple[MemoryBlocks, CID]
) -> None:
    own = MemoryBlocks()
    with serving(writable(own), LIMITS, kind) as url:
        s = connect(url)
        try:
            s.sendall(
                b"POST /ipfs HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
                + f"Authorization: Bearer {TOKEN}\r\n\r\n".encode()
            )
            answers: dict[int, bytes] = {}
            worker = threading.Thread(target=lambda: answers.update(trickle([s], b"z", 30)))
            worker.start()
            auth = {"authorization": f"Bearer {TOKEN}"}
            posted = httpx.post(f"{url}/ipfs", content=b"quick", headers=auth, timeout=10)
            assert posted.status_code == 201
            worker.join(40)
            assert answers and answers[0].startswith(b"HTTP/1.1 408 "), answers
        finally:
            s.close()
        assert httpx.get(f"{url}/ipfs/{posted.headers['ipfs-hash']}").content == b"quick"


class Unavailable:
    """A tier that is down, whose error names its endpoint with credentials."""

    name = "down"

    def get_block(self, cid: CID) -> bytes:
        raise BackendUnavailableError(
            "cannot reach http://admin:s3cr3t-pass@10.0.0.9:9000/bucket?X-Amz-Signature=abcdef"
        )


def test_an_unavailable_tier_gets_a_generic_503_and_a_redacted_log(
    caplog: pytest.LogCaptureFixture, content: tuple[MemoryBlocks, CID]
) -> None:
    app = GatewayApp(VerifiedBlocks([Unavailable()], cache_bytes=0))
    with caplog.at_level(logging.WARNING), serving(app, LIMITS) as url:
        r = httpx.get(f"{url}/ipfs/{content[1]}", timeout=10)
    assert r.status_code == 503 and r.headers["retry-after"]
    assert r.text == "a tier is unavailable\n"
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    assert "10.0.0.9:9000/bucket" in logged  # the detail is in the log
    assert "s3cr3t" not in logged and "abcdef" not in logged


@pytest.fixture(scope="module")
def one_server(content: tuple[MemoryBlocks, CID]) -> Iterator[str]:
    with serving(gateway(content[0]), LIMITS) as url:
        yield url


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 200), min_size=1, max_size=12))
def test_a_head_split_anywhere_and_sent_in_time_is_served(
    one_server: str, content: tuple[MemoryBlocks, CID], cuts: list[int]
) -> None:
    head = (
        f"GET /ipfs/{content[1]} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        f"X-Pad: {'p' * 300}\r\n\r\n"
    ).encode()
    s = connect(one_server)
    try:
        at = 0
        for cut in [*cuts, len(head)]:
            s.sendall(head[at : at + cut])
            at += cut
            if at >= len(head):
                break
        s.sendall(head[at:])
        answer = read_until_closed(s)
        assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"hello\n")
    finally:
        s.close()


@pytest.mark.parametrize("kind", KINDS)
def test_connections_over_the_cap_are_closed_at_once_and_the_cap_frees(
    kind: HttpKind, content: tuple[MemoryBlocks, CID]
) -> None:
    limits = ConnectionLimits(header_timeout_s=1.0, keep_alive_s=1, max_connections=8)
    with serving(gateway(content[0]), limits, kind) as url:
        opened = [connect(url) for _ in range(12)]
        try:
            for s in opened:
                with contextlib.suppress(OSError):  # one closed at once may refuse it
                    s.sendall(b"GET /ipfs/bafkqaaa?format=raw HTTP/1.1\r\nHost: x\r\n\r\n")
            answers = [read_until_closed(s) for s in opened]
        finally:
            for s in opened:
                s.close()
        served = [a for a in answers if a.startswith(b"HTTP/1.1 200 ")]
        assert len(served) == 8 and answers.count(b"") == 4, [a[:20] for a in answers]
        r = httpx.get(f"{url}/ipfs/{content[1]}", timeout=10)  # the cap was freed
        assert r.status_code == 200 and r.content == b"hello\n"


def test_ipfs_kit_serve_applies_the_head_deadline(tmp_path: Path) -> None:
    home = {
        "IPFS_KIT_CONFIG": str(tmp_path / "absent.toml"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "ipfs_kit_py.cli.main", "serve", "--port", str(port)]
    server = start_server(
        "ipfs-kit-serve",
        [*argv, "--header-timeout", "1"],
        ready=lambda: httpx.get(f"{url}/ipfs/bafkqaaa?format=raw").status_code == 200,
        log_dir=tmp_path / "log",
        env=home,
    )
    with running(server):
        slow = connect(url)
        try:
            answers = trickle([slow], HEAD, 30)
            assert len(answers) == 1 and answers[0] in (b"", TIMEOUT_408)
        finally:
            slow.close()
        assert httpx.get(f"{url}/ipfs/bafkqaaa?format=raw").status_code == 200
