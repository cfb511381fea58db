"""Regressions from the hostile-client attack on ``ipfs-kit serve`` (a15), against a real
uvicorn server on 127.0.0.1: clients that stall or leave mid-body, workers stuck in a
tier, DAGs whose declared sizes lie, malformed HAMT shards, and ``Accept`` q-values."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest
from tests.gateway.blocks import MemoryBlocks, add_file, add_tree, gateway, serving
from tests.servers.kubo import KuboNode

from ipfs_kit_py.config import Secret
from ipfs_kit_py.content.cid import CID, DAG_PB, RAW, cid_bytes_key, sha256_cid
from ipfs_kit_py.content.dagpb import PBLink, UnixFSType, encode_node, encode_unixfs
from ipfs_kit_py.content.random_access import VerifiedBlocks
from ipfs_kit_py.content.unixfs import Block, ImportProfile, import_file
from ipfs_kit_py.gateway import GatewayApp, GatewayConfig
from ipfs_kit_py.gateway.kit_source import WholeFileBlocks
from ipfs_kit_py.ipfs_kit import ipfs_kit

BIG = os.urandom(24 << 20)  # 24 MiB: 96 distinct 256 KiB leaves (cid v1, raw)
PROFILE = ImportProfile(raw_leaves=True, cid_version=1)


class Counting(MemoryBlocks):
    """A block map that counts the blocks asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = 0

    def get_block(self, cid: CID) -> bytes:
        self.asked += 1
        return super().get_block(cid)


def settled(source: Counting) -> Callable[[], bool]:
    """A check that is true once ``source`` was asked nothing new for five polls."""
    seen: list[int] = []

    def check() -> bool:
        seen.append(source.asked)
        return len(seen) >= 5 and len(set(seen[-5:])) == 1

    return check


def put(blocks: MemoryBlocks, codec: int, data: bytes) -> CID:
    cid = sha256_cid(codec, data)
    blocks.put(Block(cid, data))
    return cid


def file_node(blocks: MemoryBlocks, filesize: int | None, links: list[tuple[CID, int]]) -> CID:
    unixfs = encode_unixfs(UnixFSType.FILE, filesize=filesize, blocksizes=[s for _, s in links])
    return put(blocks, DAG_PB, encode_node(unixfs, [PBLink(c, "", s) for c, s in links]))


def stalled(url: str, path: str) -> socket.socket:
    """A client that asks for ``path``, reads a little, then stops reading."""
    host, port = url.removeprefix("http://").split(":")
    s = socket.create_connection((host, int(port)), timeout=20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert s.recv(1000).startswith(b"HTTP/1.1 200")
    return s


def eventually(check: Callable[[], bool], seconds: float = 30) -> bool:
    """Whether ``check()`` turns true within ``seconds`` (a deadline, not a timing test)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_clients_that_stop_reading_give_their_slots_back() -> None:
    own = MemoryBlocks()
    cid = add_file(own, BIG, PROFILE)
    with serving(gateway(own, max_concurrent=2, chunk_timeout_s=1)) as url:
        readers = [stalled(url, f"/ipfs/{cid}") for _ in range(2)]
        try:
            assert httpx.get(f"{url}/ipfs/{cid}", timeout=10).status_code == 429
            assert eventually(
                lambda: httpx.get(f"{url}/ipfs/{cid}?format=raw", timeout=10).status_code == 200
            ), "stalled readers kept every slot"
        finally:
            for s in readers:
                s.close()


def test_a_client_that_leaves_ends_the_read_of_the_tiers() -> None:
    own = Counting()
    cid = add_file(own, BIG, PROFILE)
    total = len(own.blocks)
    with serving(gateway(own)) as url:
        for path in (f"/ipfs/{cid}", f"/ipfs/{cid}?format=car"):
            own.asked = 0
            s = stalled(url, path)
            s.close()
            assert eventually(settled(own))
            assert own.asked < total // 2, f"{own.asked} of {total} blocks read for nobody"


def test_a_stuck_tier_keeps_its_slot_instead_of_queueing() -> None:
    own = MemoryBlocks()
    cid = add_file(own, b"hello\n")
    gate = threading.Event()

    class Stuck(MemoryBlocks):
        def get_block(self, wanted: CID) -> bytes:
            gate.wait(30)
            return own.get_block(wanted)

    with serving(gateway(Stuck(), max_concurrent=1, request_timeout_s=0.5)) as url:
        try:
            assert httpx.get(f"{url}/ipfs/{cid}", timeout=20).status_code == 504
            r = httpx.get(f"{url}/ipfs/{cid}", timeout=20)  # the thread is still stuck
            assert r.status_code == 429
        finally:
            gate.set()
        assert eventually(lambda: httpx.get(f"{url}/ipfs/{cid}", timeout=10).status_code == 200)


def test_a_root_whose_filesize_lies_is_never_served_as_complete() -> None:
    own = MemoryBlocks()
    leaf = put(own, RAW, b"x" * 10)
    claims_more = file_node(own, 1000, [(leaf, 10)])
    claims_less = file_node(own, 5, [(leaf, 10)])
    honest = file_node(own, 10, [(leaf, 10)])
    with serving(gateway(own)) as url:
        for cid in (claims_more, claims_less):
            for method, headers in (("GET", {}), ("HEAD", {}), ("GET", {"range": "bytes=2-"})):
                r = httpx.request(method, f"{url}/ipfs/{cid}", headers=headers, timeout=10)
                assert r.status_code == 404, (cid, method, headers)
                assert "bytes" in r.text or method == "HEAD"
        r = httpx.get(f"{url}/ipfs/{honest}", timeout=10)
        assert r.status_code == 200 and r.content == b"x" * 10


def test_a_hamt_shard_without_a_fanout_is_a_clear_error_not_500() -> None:
    own = MemoryBlocks()
    leaf = put(own, RAW, b"x" * 10)
    unixfs = encode_unixfs(UnixFSType.HAMT_SHARD, data=b"\x01", hash_type=0x22)
    shard = put(own, DAG_PB, encode_node(unixfs, [PBLink(leaf, "00a", 10)]))
    with serving(gateway(own)) as url:
        for path in (f"/ipfs/{shard}/a", f"/ipfs/{shard}/"):  # a CAR is trustless: 200
            r = httpx.get(f"{url}{path}", timeout=10)
            assert r.status_code == 404 and "fanout" in r.text, path


def test_accept_q_zero_is_refused_and_q_orders_the_choice() -> None:
    own = MemoryBlocks()
    cid = add_file(own, b"hello\n")
    with serving(gateway(own)) as url:
        raw_refused = "application/vnd.ipld.raw;q=0, text/html"
        r = httpx.get(f"{url}/ipfs/{cid}", headers={"accept": raw_refused}, timeout=10)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        car_first = "application/vnd.ipld.raw;q=0.5, application/vnd.ipld.car;q=0.9"
        r = httpx.get(f"{url}/ipfs/{cid}", headers={"accept": car_first}, timeout=10)
        assert r.headers["content-type"].startswith("application/vnd.ipld.car")


def test_a_redirect_stays_under_the_mount_root_path(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "f").write_text("x")
    own = MemoryBlocks()
    root = add_tree(own, tmp_path)
    with serving(gateway(own), root_path="/gw") as url:  # a proxy strips /gw
        r = httpx.get(f"{url}/ipfs/{root}/sub", timeout=10)
        assert r.status_code == 301 and r.headers["location"] == f"/gw/ipfs/{root}/sub/"
        assert httpx.get(f"{url}/ipfs/{root}/sub/f", timeout=10).text == "x"


def test_an_upload_that_outlives_its_request_still_reads_the_whole_body() -> None:
    own = MemoryBlocks()
    gate, done = threading.Event(), threading.Event()
    added: list[CID] = []
    body = os.urandom(3 << 20)

    def slow_writer(data: BinaryIO) -> CID:  # a tier slower than the request timeout
        gate.wait(30)
        cid = import_file(data, on_block=own.put).cid
        added.append(cid)
        done.set()
        return cid

    token = "t" * 20
    config = GatewayConfig(write_token=Secret(token), request_timeout_s=0.5)
    app = GatewayApp(VerifiedBlocks([own], cache_bytes=0), config, writer=slow_writer)
    with serving(app) as url:
        auth = {"authorization": f"Bearer {token}"}
        try:
            r = httpx.post(f"{url}/ipfs", content=body, headers=auth, timeout=20)
            assert r.status_code == 504
        finally:
            gate.set()
        assert done.wait(30)
        assert httpx.get(f"{url}/ipfs/{added[0]}", timeout=20).content == body


def test_files_laid_out_for_the_gateway_stay_within_a_byte_budget(
    kubo: KuboNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    files = [os.urandom(600_000) for _ in range(3)]
    with ipfs_kit(
        cache_dir=tmp_path / "cache",
        index_path=tmp_path / "index.sqlite3",
        kubo={"api_url": kubo.api_url},
    ) as kit:
        cids = [kit.add(data, to=["disk"]).cid for data in files]
        whole = WholeFileBlocks(kit.tiers, max_files=1)
        app = GatewayApp(VerifiedBlocks([whole], cache_bytes=0))
        try:
            with serving(app) as url:
                for cid, data in zip(cids, files, strict=True):
                    assert httpx.get(f"{url}/ipfs/{cid}", timeout=30).content == data
                    assert list(whole._laid) == [cid_bytes_key(cid)]  # the older one dropped
                assert httpx.get(f"{url}/ipfs/{cids[0]}", timeout=30).content == files[0]
        finally:
            whole.close()
