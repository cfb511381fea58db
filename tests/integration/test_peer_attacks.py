"""Peers that answer what no gateway may (a14b attack items 1-3): node A is a real
``ipfs-kit serve`` process on a real PostgreSQL index, advertised through a hostile proxy
(tests/servers/hostile.py) that answers some requests itself: an HTML page with a 200, an
endless body of junk, a redirect to another host, a CAR header dripped a byte at a time.
A real server does not produce these on demand; the same path served honestly (the proxy
forwarding) is the first check of each test. Each fault is a typed error within seconds,
backs off that peer (so the next reads do not pay for it again), and a redirect is never
followed to the host it names."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.servers.hostile import (
    Exchange,
    HostileProxy,
    Reply,
    Witness,
    drip,
    endless,
    forward_all,
)
from tests.servers.nodes import kit_cli, node_env, run_script
from tests.servers.postgres import Postgres
from tests.servers.process import free_port

from ipfs_kit_py.backends.peer import PeerBackend
from ipfs_kit_py.content.cid import cid_key, parse_cid
from ipfs_kit_py.errors import BackendUnavailableError
from ipfs_kit_py.index import MetadataIndex, open_index

ADD = """
import random
from ipfs_kit_py.ipfs_kit import ipfs_kit
data = random.Random(7).randbytes(600_000)
with ipfs_kit() as kit:
    print(kit.add(data, to=["disk"]).cid)
"""


@dataclass
class PeerA:
    index_url: str
    proxy: HostileProxy
    file: str
    data: bytes


@pytest.fixture(scope="module")
def peer_a(postgres: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PeerA]:
    root = tmp_path_factory.mktemp("peer-attacks")
    url = postgres.new_database()
    env = node_env(root, "node-a", url)
    file = run_script(env, ADD).strip()
    port = free_port()
    with HostileProxy(f"http://127.0.0.1:{port}") as proxy:
        served = kit_cli(env, "serve", "--port", str(port), "--advertise", proxy.url)
        try:
            _wait_served(served, port, file)
            yield PeerA(url, proxy, file, random.Random(7).randbytes(600_000))
        finally:
            served.terminate()
            served.communicate(timeout=60)


def _wait_served(proc: subprocess.Popen[str], port: int, cid: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ipfs/{cid}?format=raw").status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"node A did not start serving: {proc.communicate()[1]}")


@pytest.fixture
def reader(peer_a: PeerA) -> Iterator[tuple[PeerBackend, MetadataIndex]]:
    """Node B's peer tier, with a fresh back-off state; the proxy honest again after."""
    with open_index(peer_a.index_url, node_id="node-b") as index:
        peer = PeerBackend(lambda: index)
        try:
            yield peer, index
        finally:
            peer.close()
            peer_a.proxy.rule = forward_all


def _read(peer: PeerBackend, cid: str) -> bytes:
    return b"".join(peer.get(parse_cid(cid)))


def _html(_: Exchange) -> Reply:
    return Reply(200, {"content-type": "text/html"}, b"<html><body>Service error</body></html>")


def _junk(_: Exchange) -> Reply:
    return Reply(200, {"content-type": "application/vnd.ipld.car"}, endless(b"\xff" * 65536, 30))


def _dripped_header(exchange: Exchange) -> Reply:
    honest = exchange.forward()
    return Reply(200, honest.headers, drip(honest.body[:40], every_s=1.0))


@pytest.mark.parametrize("rule", [_html, _junk, _dripped_header], ids=["html", "junk", "drip"])
def test_a_peer_answering_what_no_gateway_may_is_backed_off(
    peer_a: PeerA, reader: tuple[PeerBackend, MetadataIndex], rule: object
) -> None:
    peer, _ = reader
    assert _read(peer, peer_a.file) == peer_a.data  # honest: the real server's answer
    peer_a.proxy.rule = rule  # type: ignore[assignment]
    began = time.monotonic()
    with pytest.raises(BackendUnavailableError) as caught:
        _read(peer, peer_a.file)
    assert time.monotonic() - began < 30  # the stall window is 10 s
    assert "node-a" in str(caught.value)
    assert peer.health.backed_off(peer_a.proxy.url) is not None
    asked = len(peer_a.proxy.seen)
    with pytest.raises(BackendUnavailableError, match="backed off"):
        _read(peer, peer_a.file)  # the next read does not ask it again
    assert len(peer_a.proxy.seen) == asked


def test_a_peer_redirect_is_not_followed_and_backs_it_off(
    peer_a: PeerA, reader: tuple[PeerBackend, MetadataIndex]
) -> None:
    peer, _ = reader
    assert _read(peer, peer_a.file) == peer_a.data
    with Witness() as elsewhere:
        peer_a.proxy.rule = lambda ex: Reply(302, {"location": elsewhere.url + ex.path})
        with pytest.raises(BackendUnavailableError, match="redirect"):
            _read(peer, peer_a.file)
        with pytest.raises(BackendUnavailableError):
            peer.stat(parse_cid(peer_a.file))  # ?format=raw: not followed either
        assert elsewhere.received == []
    assert peer.health.backed_off(peer_a.proxy.url) is not None


ROTTEN = """
import random
from ipfs_kit_py.ipfs_kit import ipfs_kit
with ipfs_kit() as kit:
    print(kit.add(random.Random(8).randbytes(1_500_000), to=["disk"]).cid)
    print(kit.add(b"another object of the same node", to=["disk"]).cid)
"""


def test_one_rotten_copy_skips_that_copy_not_the_whole_peer(
    postgres: Postgres, tmp_path: Path
) -> None:
    """A's gateway finds its disk copy bad mid-way and breaks the answer off (as it must):
    B skipped A for every CID (a14b item 6); now only for that one."""
    url = postgres.new_database()
    env = node_env(tmp_path, "node-r", url)
    added = subprocess.run(
        [sys.executable, "-c", ROTTEN], env=env, capture_output=True, text=True, check=False
    )
    assert added.returncode == 0, added.stderr
    rotten, other = added.stdout.split()
    port, served = free_port(), None
    peer_url = f"http://127.0.0.1:{port}"
    with open_index(url, node_id="node-b") as index:
        peer = PeerBackend(lambda: index)
        try:
            served = kit_cli(env, "serve", "--port", str(port), "--advertise", peer_url)
            _wait_served(served, port, other)
            assert len(_read(peer, rotten)) == 1_500_000  # A keeps the layout it made
            (copy,) = [loc.locator for loc in index.locations(rotten, all_nodes=True)]
            before = Path(copy).stat()
            with open(copy, "r+b") as f:  # bit rot: the bytes change, the stamp does not
                f.seek(1_400_000)
                f.write(b"rot")
            os.utime(copy, ns=(before.st_atime_ns, before.st_mtime_ns))
            served.terminate()
            served.communicate(timeout=60)
            served = kit_cli(env, "serve", "--port", str(port), "--advertise", peer_url)
            _wait_served(served, port, other)
            with pytest.raises(BackendUnavailableError, match="node-r"):
                _read(peer, rotten)
            assert peer.health.backed_off(peer_url, cid_key(parse_cid(rotten))) is not None
            assert peer.health.backed_off(peer_url) is None
            assert _read(peer, other) == b"another object of the same node"
        finally:
            peer.close()
            if served is not None:
                served.terminate()
                served.communicate(timeout=60)
