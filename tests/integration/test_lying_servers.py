"""Servers are input too: a lying HTTP server placed before a real tier holding the content.

The liar is a real server on 127.0.0.1 (a tier can only meet what comes over the wire);
each mode sends an answer kubo or a trustless gateway would never send. ``kit.cat`` must
return the right bytes from the next tier, the liar's fault typed and bounded: no
untyped exception, no unbounded buffering, no endless read.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from tests.servers.kubo import KuboNode
from tests.servers.seaweedfs import SeaweedS3

from ipfs_kit_py.content.car import encode_car_block, encode_car_header
from ipfs_kit_py.content.cid import CID, RAW, sha256_cid
from ipfs_kit_py.content.unixfs import Block, import_file
from ipfs_kit_py.errors import IpfsKitError
from ipfs_kit_py.ipfs_kit import ipfs_kit

DATA = os.urandom(600_000)  # three 256 KiB chunks: a root with links
BLOCKS: list[Block] = []
ROOT = import_file([DATA], on_block=BLOCKS.append).cid
ENDLESS = object()


def car(*blocks: tuple[CID, bytes]) -> bytes:
    return encode_car_header([ROOT]) + b"".join(encode_car_block(c, d) for c, d in blocks)


def sha1_block() -> tuple[CID, bytes]:
    data = b"sha1 block"
    cid = CID.decode(b"\x01\x55\x11\x14" + hashlib.sha1(data).digest())
    return cid, data


def root_block() -> tuple[CID, bytes]:
    return next((b.cid, b.data) for b in BLOCKS if b.cid == ROOT)


def junk_blocks() -> Iterator[bytes]:
    yield encode_car_header([ROOT])
    n = 0
    while True:
        n += 1
        data = n.to_bytes(8, "big") * 8192
        yield encode_car_block(sha256_cid(RAW, data), data)  # valid blocks, none needed


def repeated_root() -> Iterator[bytes]:
    yield encode_car_header([ROOT])
    cid, data = root_block()
    while True:
        yield encode_car_block(cid, data)


# mode -> (status, headers, body: bytes or an iterator for an endless stream)
GATEWAY_LIES: dict[str, tuple[int, dict[str, str], Any]] = {
    "html page": (200, {"content-type": "text/html"}, b"<html><body>Welcome!</body></html>"),
    "truncated car": (200, {}, car(root_block())[:-100]),
    "gzip garbage": (200, {"content-encoding": "gzip"}, b"\x1f\x8b" + os.urandom(4000)),
    "gzip bomb": (200, {"content-encoding": "gzip"}, gzip.compress(bytes(64 << 20))),
    "sha1 block": (200, {}, car(sha1_block(), root_block())),
    "endless junk car": (200, {}, ENDLESS),
    "car repeating its root": (200, {}, ENDLESS),
    "redirect loop": (302, {"location": "/ipfs/loop"}, b""),
    "500 with an endless body": (500, {}, ENDLESS),
}
PROTOCOL = {"ProtocolError"}
EXPECTED = {
    "html page": {"ProtocolError", "ContentNotFoundError"},
    "truncated car": {"ProtocolError", "ContentNotFoundError"},  # cut before the root: absent
    "gzip garbage": {"ProtocolError", "ContentNotFoundError"},
    "gzip bomb": PROTOCOL,
    "sha1 block": PROTOCOL,
    "endless junk car": PROTOCOL,
    "car repeating its root": PROTOCOL,
    "redirect loop": PROTOCOL,
    "500 with an endless body": {"BackendUnavailableError"},
}
ENDLESS_BODIES = {
    "endless junk car": junk_blocks,
    "car repeating its root": repeated_root,
    "500 with an endless body": lambda: iter(lambda: b"x" * 65536, None),
    "endless bytes": lambda: iter(lambda: b"y" * 65536, None),
}
KUBO_LIES: dict[str, tuple[int, dict[str, str], Any]] = {
    "x-content-length abc": (200, {"x-content-length": "abc"}, DATA),
    "json for bytes": (200, {"content-type": "application/json"}, b'{"Size": "many"}'),
    "endless bytes": (200, {}, ENDLESS),
    "html error page": (500, {"content-type": "text/html"}, b"<html>oops</html>"),
}


class Liar(ThreadingHTTPServer):
    daemon_threads = True
    mode: tuple[int, dict[str, str], Any]
    endless: Any = None
    requests = 0


class LyingHandler(BaseHTTPRequestHandler):
    server: Liar
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        return

    def do_GET(self) -> None:
        self.answer()

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        self.answer()

    def answer(self) -> None:
        self.server.requests += 1
        status, headers, body = self.server.mode
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if body is ENDLESS:
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            try:
                for piece in self.server.endless():
                    self.wfile.write(b"%X\r\n%b\r\n" % (len(piece), piece))
            except (BrokenPipeError, ConnectionResetError):
                return
            return
        if "/api/v0/pin/ls" in self.path or "/api/v0/files/stat" in self.path:
            body = b'{"Keys": not json'  # has()/stat() meet garbage too
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)


@pytest.fixture
def liar() -> Iterator[Liar]:
    server = Liar(("127.0.0.1", 0), LyingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def liar_url(server: Liar) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def lie(server: Liar, table: dict[str, tuple[int, dict[str, str], Any]], mode: str) -> None:
    server.mode = table[mode]
    server.endless = ENDLESS_BODIES.get(mode)


@pytest.mark.parametrize("mode", list(GATEWAY_LIES))
def test_a_lying_gateway_is_skipped_and_the_real_one_serves(
    mode: str, liar: Liar, kubo: KuboNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    lie(liar, GATEWAY_LIES, mode)
    source = tmp_path / "data"
    source.write_bytes(DATA)
    assert kubo.cli_text("add", "-Q", str(source)) == str(ROOT)
    with ipfs_kit(
        cache_dir=tmp_path / "cache",
        index_path=tmp_path / "index.sqlite3",
        gateway={"urls": [liar_url(liar), kubo.gateway_url]},
    ) as kit:
        assert kit.cat(ROOT) == DATA  # from gateway2, verified
        assert liar.requests >= 1
        # a gateway is a read-only source, never a copy (issue 10): neither is recorded
        assert not {"gateway", "gateway2"} & set(kit.whereis(ROOT))
        with pytest.raises(IpfsKitError) as info:  # the liar's fault, typed
            b"".join(kit.tiers.tier("gateway").get(ROOT))
        assert type(info.value).__name__ in EXPECTED[mode], info.value
        statuses = {s.name: s for s in kit.backends()}  # has(): the root block, raw
        assert statuses["gateway2"].reachable
    assert not list((tmp_path / "cache").rglob("*.part"))


def test_an_endless_raw_block_is_refused_at_the_block_bound(liar: Liar) -> None:
    from ipfs_kit_py.backends.gateway import GatewayBackend

    liar.mode = (200, {}, ENDLESS)
    liar.endless = lambda: iter(lambda: b"r" * 65536, None)
    with GatewayBackend(liar_url(liar)) as gateway, pytest.raises(IpfsKitError):
        gateway.get_block(ROOT)  # refused at the block bound, not buffered without end


@pytest.mark.parametrize("mode", list(KUBO_LIES))
def test_a_lying_kubo_is_skipped_and_s3_serves(
    mode: str,
    liar: Liar,
    seaweedfs: SeaweedS3,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uuid

    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    lie(liar, KUBO_LIES, mode)
    with ipfs_kit(
        cache_dir=tmp_path / "cache",
        index_path=tmp_path / "index.sqlite3",
        kubo={"api_url": liar_url(liar), "timeout": 10},
        s3=seaweedfs.s3_args(key_prefix=f"liar-{uuid.uuid4().hex[:8]}/"),
    ) as kit:
        assert [t.name for t in kit.tiers.tiers] == ["memory", "disk", "ipfs", "s3"]
        added = kit.add(DATA, to=["s3"])
        kit.index.record(added.cid, "ipfs", "/ipfs/lie")  # the index even believes the liar
        assert kit.cat(added.cid) == DATA
        # a lying answer is a per-source fault: it never backs off the tier for others
        assert "ipfs" not in kit.tiers.breaker.reasons
        statuses = {s.name: s for s in kit.backends()}
        assert not statuses["ipfs"].reachable  # pin/ls garbage: typed, reported, no crash
        assert statuses["ipfs"].reason.startswith(("ProtocolError", "BackendError"))
    assert not list((tmp_path / "cache").rglob("*.part"))
