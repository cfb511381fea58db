"""The peer tier with several serving peers, each its own ``ipfs-kit serve`` process
(own config, cache dir and port) behind a counting relay (tests/servers/relay.py), on one
real PostgreSQL index: a dead or lying peer is backed off by itself while a live one goes
on serving, a lie surfaces as the integrity failure it is, a miss backs nothing off, and
a serving node answers from its own and the shared tiers only (never forwarding)."""

from __future__ import annotations

import logging
import random
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.servers.nodes import add_objects, kit_cli, node_env, run_script
from tests.servers.postgres import Postgres
from tests.servers.process import free_port
from tests.servers.relay import Relay, running_relay

from ipfs_kit_py.errors import ContentMismatchError, ContentNotFoundError
from ipfs_kit_py.index import open_index
from ipfs_kit_py.index_postgres import url_secrets
from ipfs_kit_py.ipfs_kit import ipfs_kit

BIG_SCRIPT = """
import random, sys
from ipfs_kit_py.ipfs_kit import ipfs_kit
data = random.Random(int(sys.argv[1])).randbytes(int(sys.argv[2]))
with ipfs_kit() as kit:
    print(kit.add(data, to=["disk"]).cid)
"""


@dataclass
class Node:
    """A serving node: its environment, its process, and the relay it advertises."""

    name: str
    env: dict[str, str]
    relay: Relay
    port: int = 0
    proc: subprocess.Popen[str] | None = None

    def serve(self, index_url: str) -> None:
        self.port = self.port or free_port()
        self.relay.upstream = f"http://127.0.0.1:{self.port}"
        args = ("serve", "--port", str(self.port), "--advertise", self.relay.url)
        self.proc = kit_cli(self.env, *args, "--advertise-ttl", "60")
        _wait_served(self, index_url)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.communicate()


def _wait_served(node: Node, index_url: str) -> None:
    """Return once ``node`` answers HTTP on its port and its URL is in the index."""
    assert node.proc is not None
    deadline = time.monotonic() + 120
    with open_index(index_url, node_id="observer") as index:
        while time.monotonic() < deadline:
            assert node.proc.poll() is None, node.proc.communicate()[1]
            try:
                httpx.get(f"http://127.0.0.1:{node.port}/ipfs/bafkqaaa", timeout=5)
                up = True
            except httpx.HTTPError:
                up = False
            if up and node.name in index.peers():
                return
            time.sleep(0.2)
    node.kill()
    raise AssertionError(f"{node.name} did not start serving")


@pytest.fixture
def nodes(postgres: Postgres, tmp_path: Path) -> Iterator[tuple[str, dict[str, Node]]]:
    """The shared index's URL and three nodes A, B, C (not serving yet)."""
    url = postgres.new_database()
    with ExitStack() as stack:
        made = {
            name: Node(f"node-{name}", node_env(tmp_path, f"node-{name}", url), relay)
            for name in "abc"
            for relay in [stack.enter_context(running_relay())]
        }
        try:
            yield url, made
        finally:
            for node in made.values():
                node.kill()


def _add_big(env: dict[str, str], seed: int, size: int) -> tuple[str, bytes]:
    """Add the same ``size`` pseudo-random bytes (by ``seed``) to a node's disk."""
    cid = run_script(env, BIG_SCRIPT, str(seed), str(size)).strip()
    return cid, random.Random(seed).randbytes(size)


def _reader(tmp_path: Path, url: str, name: str) -> ipfs_kit:
    """A reading node in this process: its own cache dir (fresh peer health each)."""
    return ipfs_kit({}, cache_dir=tmp_path / name, index_url=url, node_id="node-r")


def _cached_files(tmp_path: Path, name: str) -> list[Path]:
    root = tmp_path / name
    return [p for p in root.rglob("*") if p.is_file() and "tmp" not in p.parts]


@dataclass
class Pair:
    """A and C serving the same copies (and A a few of its own)."""

    a: Node
    c: Node
    both: dict[str, bytes]  # on A and C
    a_only: dict[str, bytes]
    big: tuple[str, bytes]  # 5 blocks, on A and C


@pytest.fixture
def pair(nodes: tuple[str, dict[str, Node]]) -> Pair:
    url, by_name = nodes
    a, c = by_name["a"], by_name["c"]
    both = add_objects(a.env, "disk", 0, 3)
    assert add_objects(c.env, "disk", 0, 3) == both  # the same copies on A and C
    a_only = add_objects(a.env, "disk", 10, 2)
    big = _add_big(a.env, 7, (1 << 20) + 12345)
    assert _add_big(c.env, 7, (1 << 20) + 12345) == big
    a.serve(url)
    c.serve(url)
    return Pair(a, c, both, a_only, big)


def test_a_lying_peer_is_refused_and_skipped_while_the_next_holder_serves(
    nodes: tuple[str, dict[str, Node]],
    pair: Pair,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = nodes[0]
    a, c = pair.a, pair.c
    (s0, d0), (s1, d1), _ = pair.both.items()
    (a0, da0), (a1, _) = pair.a_only.items()
    big, big_data = pair.big
    # A answered fast once, so it is asked first; then it lies: refused, logged, backed
    # off, and C serves the same read; later reads skip A without asking it
    with _reader(tmp_path, url, "r1") as kit, caplog.at_level(logging.WARNING):
        assert kit.cat(a0) == da0
        a.relay.lying = True
        asked_c = c.relay.requests
        assert kit.cat(big) == big_data  # A's stream broke at its last block: C went on
        assert kit.cat(s0) == d0
        assert c.relay.requests > asked_c
        assert "node-a" in caplog.text and "do not match" in caplog.text
        asked_a = a.relay.requests
        assert kit.cat(s1) == d1 and a.relay.requests == asked_a
        with pytest.raises(ContentNotFoundError, match="backed off"):
            kit.cat(a1)  # only A holds it, and A is skipped for now
        assert a.relay.requests == asked_a

    # the liar alone holds it: the read ends in the integrity failure, naming A, no secret
    with _reader(tmp_path, url, "r2") as kit:
        with pytest.raises(ContentMismatchError) as caught:
            kit.cat(a1)
        message = str(caught.value)
        assert f"node node-a at {a.relay.url}" in message
        assert url not in message and not any(s in message for s in url_secrets(url))
        assert not _cached_files(tmp_path, "r2")


def test_a_dead_peer_is_backed_off_alone_while_a_live_one_serves(
    nodes: tuple[str, dict[str, Node]], pair: Pair, tmp_path: Path
) -> None:
    url = nodes[0]
    a = pair.a
    _, _, (s2, d2) = pair.both.items()
    ((a0, _), _) = pair.a_only.items()
    a.kill()  # its advertisement still fresh
    with _reader(tmp_path, url, "r") as kit:
        with pytest.raises(ContentNotFoundError, match="peer: BackendUnavailableError"):
            kit.cat(a0)  # only A holds it
        asked_a = a.relay.requests
        assert kit.cat(s2) == d2  # C serves; A is not asked again for now
        assert a.relay.requests == asked_a


def test_a_miss_does_not_back_off_the_peer_that_answered_it(
    nodes: tuple[str, dict[str, Node]], tmp_path: Path
) -> None:
    url, by_name = nodes
    c = by_name["c"]
    ((s0, d0),) = add_objects(c.env, "disk", 0, 1).items()
    ((gone, _),) = add_objects(by_name["b"].env, "disk", 20, 1).items()
    with open_index(url, node_id="node-c") as index:
        index.record(gone, "disk", "/nowhere")  # the index says C holds it: it does not
    c.serve(url)
    with _reader(tmp_path, url, "r") as kit:
        with pytest.raises(ContentNotFoundError, match="peer: not found"):
            kit.cat(gone)
        asked = c.relay.requests
        assert kit.cat(s0) == d0  # C is asked at once
        assert c.relay.requests > asked


def test_a_serving_node_never_forwards_a_request_to_another_node(
    nodes: tuple[str, dict[str, Node]], tmp_path: Path
) -> None:
    """C holds a file; the index claims A and B hold it too (stale rows). Asked for it, A
    and B answer from their own tiers (404), never by asking each other or C."""
    url, by_name = nodes
    a, b, c = by_name["a"], by_name["b"], by_name["c"]
    ((cid, data),) = add_objects(c.env, "disk", 0, 1).items()
    for node in (a, b):
        with open_index(url, node_id=node.name) as index:
            index.record(cid, "disk", "/nowhere")
    for node in (a, b, c):
        node.serve(url)
    asked = {n.name: n.relay.requests for n in (a, b, c)}
    for node in (a, b):
        for fmt in ("car", "raw"):
            answer = httpx.get(f"{node.relay.url}/ipfs/{cid}?format={fmt}", timeout=60)
            assert answer.status_code == 404, answer.text
    # only the four requests above reached a node: none was passed on to another
    assert a.relay.requests - asked[a.name] == 2
    assert b.relay.requests - asked[b.name] == 2
    assert c.relay.requests == asked[c.name]
    assert httpx.get(f"{c.relay.url}/ipfs/{cid}", timeout=60).content == data  # C holds it
    with _reader(tmp_path, url, "r") as kit:  # a reader (with a peer tier) finds it at C
        assert kit.cat(cid) == data
