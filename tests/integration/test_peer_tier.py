"""The peer tier across processes: node A (its own process, cache dir and config) serves its
disk copies and advertises its URL in a shared index on a real PostgreSQL; node B (another
cache dir) reads A's copies through it, every block verified. A's advertised URL is a small
relay in front of A's real server that can be told to flip a byte (a lying peer is a fault
a real server does not produce on demand: tests/servers/relay.py); A down leaves B a clear
error. tests/integration/test_peer_health.py runs two serving peers and three."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.servers.nodes import add_objects, finish, kit_cli, node_env
from tests.servers.postgres import Postgres
from tests.servers.process import free_port
from tests.servers.relay import Relay, running_relay

from ipfs_kit_py.errors import ContentMismatchError, ContentNotFoundError
from ipfs_kit_py.index import open_index
from ipfs_kit_py.ipfs_kit import ipfs_kit


def _serve(env: dict[str, str], port: int, advertise: str) -> subprocess.Popen[str]:
    args = ("serve", "--port", str(port), "--advertise", advertise, "--advertise-ttl", "30")
    return kit_cli(env, *args)


def _wait_served(proc: subprocess.Popen[str], url: str, port: int, cid: str) -> None:
    """Return once A answers on its port and its URL is in the index."""
    deadline = time.monotonic() + 90
    with open_index(url, node_id="observer") as index:
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                up = httpx.get(f"http://127.0.0.1:{port}/ipfs/{cid}?format=raw").status_code
            except httpx.HTTPError:
                up = 0
            if up == 200 and "node-a" in index.peers():
                return
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"node A did not start serving: {proc.communicate()[1]}")


@pytest.fixture
def relay() -> Iterator[Relay]:
    with running_relay() as server:
        yield server


def _kit_b(tmp_path: Path, url: str) -> ipfs_kit:
    """Node B in this process: its own cache dir, the shared index, no remote tier."""
    return ipfs_kit({}, cache_dir=tmp_path / "b-cache", index_url=url, node_id="node-b")


def _b_disk_files(tmp_path: Path) -> list[Path]:
    root = tmp_path / "b-cache"
    return [p for p in root.rglob("*") if p.is_file() and "tmp" not in p.parts]


def test_a_node_reads_another_nodes_disk_through_its_gateway(
    postgres: Postgres, tmp_path: Path, relay: Relay
) -> None:
    url = postgres.new_database()
    a = node_env(tmp_path, "node-a", url)
    b = node_env(tmp_path, "node-b-cli", url)
    objects = add_objects(a, "disk", 0, 3)  # on A's disk only
    (cid1, data1), (cid2, _), (cid3, _) = objects.items()
    port = free_port()
    relay.upstream = f"http://127.0.0.1:{port}"
    served = _serve(a, port, relay.url)
    try:
        _wait_served(served, url, port, cid1)

        # B's whereis shows A's disk copy and the route to it; B reads it, verified
        code, out, err = finish(kit_cli(b, "whereis", "--json", cid1))
        assert code == 0, err
        where = json.loads(out)
        assert where["backends"] == [] and where["node"] == "node-b-cli"
        assert where["peer_routes"] == [
            {"tier": "peer", "node": "node-a", "backend": "disk", "url": relay.url}
        ]
        assert where["other_nodes"][0]["peer_url"] == relay.url
        code, out, err = finish(kit_cli(b, "cat", cid1))
        assert code == 0 and out.encode() == data1, err

        # A lies: B refuses the bytes (an integrity failure naming A), caches nothing,
        # records nothing
        relay.lying = True
        with _kit_b(tmp_path, url) as kit:
            with pytest.raises(ContentMismatchError, match="peer: mismatch") as lie:
                kit.cat(cid2)
            assert f"node node-a at {relay.url}" in str(lie.value)
            assert not _b_disk_files(tmp_path)
            assert [loc.node for loc in kit.index.locations(cid2, all_nodes=True)] == ["node-a"]
        assert relay.requests > 0
        relay.lying = False

        # a clean stop withdraws A's advertisement
        served.send_signal(signal.SIGTERM)
        served.communicate(timeout=60)
        with open_index(url, node_id="observer") as index:
            assert "node-a" not in index.peers()
    finally:
        if served.poll() is None:
            served.kill()
            served.communicate()

    # A killed (its advertisement still fresh) and unreachable: B fails at once, clearly
    served = _serve(a, port, relay.url)
    try:
        _wait_served(served, url, port, cid1)
    finally:
        served.kill()
        served.communicate()
    relay.shutdown()
    relay.server_close()
    with _kit_b(tmp_path, url) as kit:
        assert "node-a" in kit.index.peers()
        with pytest.raises(ContentNotFoundError) as caught:
            kit.cat(cid3)
        message = str(caught.value)
        assert "peer: BackendUnavailableError" in message and "node-a" in message
        assert relay.url.removeprefix("http://") in message
        assert not _b_disk_files(tmp_path)


def test_a_shared_index_without_a_node_id_still_has_a_peer_tier(
    postgres: Postgres, tmp_path: Path
) -> None:
    url = postgres.new_database()
    with ipfs_kit({}, cache_dir=tmp_path / "c", index_url=url) as kit:
        assert kit.index.node_id  # made once, kept in the cache dir
        assert [t.name for t in kit.tiers.tiers][-1] == "peer"
