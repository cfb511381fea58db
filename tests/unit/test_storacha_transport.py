"""Bounded exchanges with the service, against raw sockets on 127.0.0.1 that misbehave.

A server that drips its *headers*, one that accepts and never answers, compressed and
redirecting answers; and property tests: any bytes as an agent message or a receipt give
only :class:`ProtocolError`.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ipfs_kit_py.backends.storacha import _cbor
from ipfs_kit_py.backends.storacha.message import AgentMessage, Receipt
from ipfs_kit_py.backends.storacha.transport import ServiceHTTP, deadline
from ipfs_kit_py.content.car import encode_car_block, encode_car_header
from ipfs_kit_py.content.cid import DAG_CBOR, sha256_cid
from ipfs_kit_py.errors import BackendUnavailableError, ProtocolError

Serve = Callable[[socket.socket], None]


@contextmanager
def raw_server(serve: Serve) -> Iterator[str]:
    """A loopback TCP server running ``serve(conn)`` for each connection; yields its URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def loop() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=_guarded, args=(serve, conn), daemon=True).start()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        listener.close()


def _guarded(serve: Serve, conn: socket.socket) -> None:
    with conn:
        try:
            conn.recv(65536)
            serve(conn)
        except OSError:
            pass


class HeaderDrip:
    """Sends a status line and headers one byte every ``every_s``; counts what got out."""

    def __init__(self, every_s: float) -> None:
        self.every_s, self.sent = every_s, 0

    def __call__(self, conn: socket.socket) -> None:
        head = b"HTTP/1.1 200 OK\r\n" + b"x-padding: " + b"a" * 200 + b"\r\n\r\n"
        for i in range(len(head)):
            conn.sendall(head[i : i + 1])
            self.sent += 1
            time.sleep(self.every_s)


def test_dripped_headers_end_at_the_deadline() -> None:
    drip = HeaderDrip(every_s=0.25)
    with (
        raw_server(drip) as url,
        ServiceHTTP(2.0) as http,
        pytest.raises(BackendUnavailableError, match="within 2s"),
    ):
        http.exchange("GET", url + "/receipt/x")
    assert drip.sent < 40  # of 230 header bytes: cut by the deadline, not by their end


def test_a_black_hole_ends_at_the_deadline() -> None:
    def never(conn: socket.socket) -> None:
        time.sleep(30)

    with (
        raw_server(never) as url,
        ServiceHTTP(1.0) as http,
        pytest.raises(BackendUnavailableError, match="did not answer"),
    ):
        http.exchange("POST", url + "/", content=b"x")


def answer(head: bytes, body: bytes = b"") -> Serve:
    """One answer per connection, then close (said, so the client does not reuse it)."""

    def serve(conn: socket.socket) -> None:
        length = b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body)
        conn.sendall(head + length + body)

    return serve


def test_a_compressed_answer_is_refused_unread() -> None:
    head = b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\n"
    with (
        raw_server(answer(head, b"\x1f\x8b" + bytes(100))) as url,
        ServiceHTTP(5.0) as http,
        pytest.raises(ProtocolError, match="encoded"),
    ):
        http.exchange("GET", url + "/")


def test_an_announced_oversize_is_refused_unread() -> None:
    head = b"HTTP/1.1 200 OK\r\ncontent-length: 999999999999\r\n\r\n"
    with (
        raw_server(lambda c: c.sendall(head)) as url,
        ServiceHTTP(5.0) as http,
        pytest.raises(ProtocolError, match="announced"),
    ):
        http.exchange("GET", url + "/", max_bytes=1000)


def test_redirect_loops_and_non_http_targets_stop() -> None:
    loop = answer(b"HTTP/1.1 302 Found\r\nlocation: /again\r\n")
    with raw_server(loop) as url, ServiceHTTP(5.0) as http:
        with pytest.raises(ProtocolError, match="more than 3 redirects"):
            http.exchange("GET", url + "/", redirects=3)
        assert http.exchange("POST", url + "/").status == 302  # a POST never follows
    away = answer(b"HTTP/1.1 302 Found\r\nlocation: file:///etc/passwd\r\n")
    with (
        raw_server(away) as url,
        ServiceHTTP(5.0) as http,
        pytest.raises(ProtocolError, match="non-HTTP"),
    ):
        http.exchange("GET", url + "/", redirects=3)


def test_nested_deadlines_keep_the_earlier_end() -> None:
    with (
        raw_server(lambda c: time.sleep(5)) as url,
        ServiceHTTP(60.0) as http,
        deadline(0.5),
        deadline(60.0),
        pytest.raises(BackendUnavailableError),
    ):
        http.exchange("GET", url + "/", total=False)


# -- any bytes from the wire give a ProtocolError -------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=512))
def test_any_bytes_as_an_agent_message(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        AgentMessage.decode(data)


ipld = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.text(max_size=8)
    | st.binary(max_size=8),
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["ran", "out", "fx", "iss", "meta", "x"]), ipld), ipld)
@example(ocm={"out": [], "ran": None}, sig=25_276_512_776)  # bytes(int): a 25 GB allocation
def test_any_ipld_as_a_receipt(ocm: dict[str, object], sig: object) -> None:
    block = _cbor.encode({"ocm": ocm, "sig": sig})
    cid = sha256_cid(DAG_CBOR, block)
    try:
        receipt = Receipt.decode(cid, block)
    except ProtocolError:
        return
    assert receipt.issuer is None or isinstance(receipt.issuer, str)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["execute", "report", "x"]), ipld))
def test_any_ipld_as_a_message_root(root: dict[str, object]) -> None:
    data = _cbor.encode({"ucanto/message@7.0.0": root})
    cid = sha256_cid(DAG_CBOR, data)
    with contextlib.suppress(ProtocolError):
        AgentMessage.decode(encode_car_header([cid]) + encode_car_block(cid, data))


def test_an_integer_signature_in_a_ucan_is_malformed_not_an_allocation() -> None:
    from ipfs_kit_py.backends.storacha.did import encode_did
    from ipfs_kit_py.backends.storacha.ucan import UCAN

    did = encode_did("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK")
    raw = {"v": "0.9.1", "iss": did, "aud": did, "att": [], "s": 30_000_000_000}
    with pytest.raises(ProtocolError, match="s must be a byte string"):
        UCAN.from_ipld(raw)
