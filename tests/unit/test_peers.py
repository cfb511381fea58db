"""Nodes advertising their gateways in the index, the peer tier's routes, the index's public
reads for the repair code, and node-less copies adopted by a node (SQLite here;
tests/integration/test_peers_pg.py runs the index tests on PostgreSQL)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.advertise import MAX_TTL_S, Advertiser, check_ttl, peer_url, serving_url
from ipfs_kit_py.backends.peer import PeerBackend, peer_routes
from ipfs_kit_py.content.cid import RAW, cid_key, sha256_cid
from ipfs_kit_py.errors import (
    BackendError,
    BackendUnavailableError,
    ConfigurationError,
    ContentNotFoundError,
    InvalidInputError,
)
from ipfs_kit_py.index import MetadataIndex
from ipfs_kit_py.index_schema import LOCATION_COLUMNS, Location, location_from_row
from tests.servers.postgres import IndexFactory
from tests.servers.process import free_port


def cid_of(n: int) -> str:
    return cid_key(sha256_cid(RAW, f"peer object {n}".encode()))


def _expire(index: MetadataIndex, node: str) -> None:
    with index.transaction() as db:
        db.execute("UPDATE nodes SET expires = ? WHERE node = ?", (time.time() - 1, node))


def test_nodes_advertise_renew_and_withdraw(make_index: IndexFactory) -> None:
    a, b = make_index(node_id="a"), make_index(node_id="b")
    assert a.peers() == {} and b.peers() == {}
    a.advertise("http://10.0.0.1:8080", 60)
    assert b.peers() == {"a": "http://10.0.0.1:8080"} and a.peers() == {}  # not itself
    a.advertise("http://10.0.0.2:8080", 60)  # a heartbeat may move it
    assert b.peers() == {"a": "http://10.0.0.2:8080"}
    a.withdraw("http://10.0.0.9:1")  # someone else's URL: left alone
    assert "a" in b.peers()
    a.withdraw()
    assert b.peers() == {}


def test_an_advertisement_not_renewed_goes_stale(make_index: IndexFactory) -> None:
    a, b = make_index(node_id="a"), make_index(node_id="b")
    a.advertise("http://a:1", 60)
    _expire(a, "a")
    assert b.peers() == {}
    a.advertise("http://a:1", 60)  # back
    assert b.peers() == {"a": "http://a:1"}


def test_a_node_less_index_cannot_advertise(tmp_path: Path) -> None:
    with MetadataIndex(tmp_path / "i.sqlite3") as index, pytest.raises(ConfigurationError):
        index.advertise("http://x:1", 60)


@settings(max_examples=60, deadline=None)
@given(
    url=st.one_of(
        st.text(max_size=40),
        st.builds(
            "{}://{}:{}{}".format,
            st.sampled_from(["http", "https", "ftp"]),
            st.text(max_size=12),
            st.integers(-1, 70000),
            st.sampled_from(["", "/", "/gw/", "/?token=t", "/#f", "?", "/a?b#c"]),
        ),
    ),
    ttl=st.one_of(st.floats(allow_nan=True), st.integers(-5, 10**6), st.booleans()),
)
def test_advertise_takes_an_http_url_and_a_positive_lifetime(
    tmp_path_factory: pytest.TempPathFactory, url: str, ttl: float
) -> None:
    path = tmp_path_factory.mktemp("adv") / "i.sqlite3"
    with MetadataIndex(path, node_id="a") as index, MetadataIndex(path, node_id="b") as other:
        try:
            index.advertise(url, ttl)
        except InvalidInputError:
            assert other.peers() == {}
            return
        assert url.strip().lower().startswith(("http://", "https://")) and ttl > 0
        assert "@" not in url.partition("//")[2].partition("/")[0]  # no credentials
        assert not urlsplit(url.strip()).query and not urlsplit(url.strip()).fragment
        if ttl > 60:  # as given, less an empty query or fragment, the scheme lowercase
            assert other.peers() == {"a": peer_url(url)}
            assert peer_url(url).lower() == url.strip().rstrip("?#").lower()


def test_the_advertiser_renews_until_stopped(make_index: IndexFactory) -> None:
    a, b = make_index(node_id="a"), make_index(node_id="b")
    with Advertiser(a, "http://a:9", ttl_s=1.0):
        assert b.peers() == {"a": "http://a:9"}
        first = a.fetch("SELECT heartbeat FROM nodes WHERE node = 'a'")[0][0]
        deadline = time.monotonic() + 30
        while a.fetch("SELECT heartbeat FROM nodes WHERE node = 'a'")[0][0] == first:
            assert time.monotonic() < deadline, "no heartbeat"
            time.sleep(0.05)
    assert b.peers() == {}  # a clean stop withdraws it
    with pytest.raises(InvalidInputError):
        Advertiser(a, "http://a:9", ttl_s=0)


@settings(max_examples=80, deadline=None)
@given(
    host=st.one_of(
        st.ip_addresses().map(str),
        st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){0,2}", fullmatch=True),
        st.sampled_from(["0.0.0.0", "::"]),
    ),
    port=st.integers(1, 65535),
)
def test_a_serving_url_reaches_the_host_and_port(host: str, port: int) -> None:
    url = httpx.URL(serving_url(host, port))
    assert url.scheme == "http" and url.port in (port, None if port == 80 else port)
    if host not in ("0.0.0.0", "::"):
        assert url.host == host.lower()


def test_routes_lead_to_other_nodes_good_local_copies_that_are_served(
    make_index: IndexFactory,
) -> None:
    a, b, c = (make_index(node_id=n) for n in ("a", "b", "c"))
    cid = cid_of(1)
    a.record(cid, "disk", "/a/x")
    c.record(cid, "disk", "/c/x")
    b.record(cid, "s3", "k")  # a shared copy: not a peer's
    assert peer_routes(b, cid) == []  # nobody serves
    a.advertise("http://a:1", 60)
    c.advertise("http://c:1", 60)
    assert peer_routes(b, cid) == [("a", "disk", "http://a:1"), ("c", "disk", "http://c:1")]
    assert peer_routes(a, cid) == [("c", "disk", "http://c:1")]  # never itself
    c.mark_verified(cid, "disk", ok=False)
    _expire(a, "a")
    assert peer_routes(b, cid) == []  # c's copy is bad, a went stale


def test_the_peer_tier_without_a_route_or_with_its_peer_down(make_index: IndexFactory) -> None:
    a, b = make_index(node_id="a"), make_index(node_id="b")
    cid = sha256_cid(RAW, b"peer object")
    peer = PeerBackend(lambda: b)
    try:
        assert not peer.has(cid)
        with pytest.raises(ContentNotFoundError, match="no other node"):
            peer.get(cid)
        with pytest.raises(BackendError, match="read-only"):
            peer.put(cid, [b"x"])
        a.record(cid, "disk", "/a/x")
        down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
        a.advertise(down, 60)
        with pytest.raises(BackendUnavailableError, match=r"node a at http://127\.0\.0\.1"):
            b"".join(peer.get(cid))
        with pytest.raises(BackendUnavailableError):
            peer.stat(cid)
    finally:
        peer.close()


class _SkewedClock:
    """The ``time`` module as a node whose clock is ``offset`` seconds off sees it."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def time(self) -> float:
        return _REAL_TIME() + self.offset

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


_REAL_TIME = time.time


def _skew(monkeypatch: pytest.MonkeyPatch, offset: float) -> None:
    """This process's index modules now read a clock ``offset`` seconds off."""
    from ipfs_kit_py import index, index_postgres  # both read the clock

    for module in (index, index_postgres):
        monkeypatch.setattr(module, "time", _SkewedClock(offset))


@pytest.mark.parametrize("offset", [-7200.0, 7200.0])
def test_advertisements_live_and_expire_by_the_database_clock(
    make_index: IndexFactory, monkeypatch: pytest.MonkeyPatch, offset: float
) -> None:
    """Node a's clock is two hours off one way while it advertises, node b's the other
    way while it looks: neither clock moves the expiry, the database's alone does."""
    a, b = make_index(node_id="a"), make_index(node_id="b")
    _skew(monkeypatch, offset)
    a.advertise("http://a:1", 30)
    _skew(monkeypatch, -offset)
    assert b.peers() == {"a": "http://a:1"}  # fresh, whatever either clock says
    ((heartbeat, expires),) = b._read("SELECT heartbeat, expires FROM nodes")
    assert abs(heartbeat - _REAL_TIME()) < 600 and expires - heartbeat == pytest.approx(30)
    _skew(monkeypatch, offset)
    a.advertise("http://a:1", 1)
    _skew(monkeypatch, -offset)
    give_up = time.monotonic() + 60
    while "a" in b.peers():  # stale one second later by the database's clock
        assert time.monotonic() < give_up, "a's advertisement never went stale"
        time.sleep(0.1)


def test_file_cids_walks_the_files_in_pages(make_index: IndexFactory) -> None:
    index = make_index()
    keys = sorted(cid_of(n) for n in range(7))
    index.upsert_many([(k, 1, "file", None, None) for k in keys])
    index.upsert_content(cid_of(99), kind="dir")
    pages, after = [], ""
    while page := index.file_cids(after, 3):
        pages.append(page)
        after = page[-1]
    assert [len(p) for p in pages] == [3, 3, 1] and [k for p in pages for k in p] == keys
    for bad in (0, -1, True, "3"):
        with pytest.raises(InvalidInputError):
            index.file_cids("", bad)  # type: ignore[arg-type]
    assert index.fetch("SELECT count(*) FROM content WHERE kind = ?", ("dir",)) == [(1,)]


# -- copies recorded before a node id was set (SQLite: one machine's file) ----------------


def test_a_node_adopts_the_local_copies_recorded_without_one(tmp_path: Path) -> None:
    path = tmp_path / "i.sqlite3"
    with MetadataIndex(path) as plain:
        plain.record(cid_of(1), "disk", "/c/1")
        plain.record(cid_of(1), "s3", "k1")
        plain.record(cid_of(2), "disk", "/c/2")
    with MetadataIndex(path, node_id="n1") as node:
        node.record(cid_of(2), "disk", "/c/2-mine")  # its own row wins over the node-less one
    with MetadataIndex(path, node_id="n1") as node:
        rows = {(loc.cid, loc.backend, loc.node, loc.locator) for loc in _all(node)}
        assert rows == {
            (cid_of(1), "disk", "n1", "/c/1"),
            (cid_of(1), "s3", "", "k1"),
            (cid_of(2), "disk", "n1", "/c/2-mine"),
        }
        assert node.forget(cid_of(1), "disk")  # evicting it leaves no phantom copy
        assert [loc.backend for loc in node.locations(cid_of(1), all_nodes=True)] == ["s3"]
    with MetadataIndex(path) as plain:  # a node-less kit writes again ...
        plain.record(cid_of(3), "disk", "/c/3")
    with MetadataIndex(path, node_id="n1") as node:  # ... and the node adopts that too
        assert [loc.node for loc in node.locations(cid_of(3), all_nodes=True)] == ["n1"]


def test_an_add_in_progress_without_a_node_is_settled_by_the_node(tmp_path: Path) -> None:
    path = tmp_path / "i.sqlite3"
    with MetadataIndex(path) as plain:
        plain.begin_add(cid_of(4), size=3)
        with plain.transaction() as db:  # as if its process had died
            db.execute("UPDATE content SET pending_pid = ?", (2**22 + 12345,))
    with MetadataIndex(path, node_id="n1", recover=True) as node:
        assert node.content(cid_of(4)) is None  # rolled back: no copy was recorded


def _all(index: MetadataIndex) -> list[Location]:
    rows = index.fetch(f"SELECT {LOCATION_COLUMNS} FROM locations ORDER BY cid, backend")
    return [location_from_row(r) for r in rows]


@settings(max_examples=80, deadline=None)
@given(ttl=st.one_of(st.floats(allow_nan=True), st.integers(-5, 10**6), st.booleans(), st.text()))
def test_an_advertisement_lasts_one_second_to_a_day(ttl: object) -> None:
    try:
        assert check_ttl(ttl) == ttl
    except InvalidInputError:
        assert isinstance(ttl, bool | str) or not 1 <= ttl <= MAX_TTL_S  # type: ignore[operator]


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--advertise-ttl", "0"],
        ["serve", "--advertise-ttl", "nan"],
        ["serve", "--advertise", "ftp://x/"],
        ["serve", "--advertise", "http://kit:hunter2@10.0.0.1:8080"],
        ["serve", "--advertise", "http://10.0.0.1:8080/?token=hunter2"],  # a14b item 3
        ["serve", "--advertise", "http://10.0.0.1:8080/#hunter2"],
    ],
)
def test_serve_refuses_a_bad_advertisement_before_it_starts(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from ipfs_kit_py.cli.main import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "advertis" in err or "peer URL" in err
    assert "hunter2" not in err


def test_a_kit_with_a_node_id_has_a_peer_tier_last(tmp_path: Path) -> None:
    from ipfs_kit_py.ipfs_kit import ipfs_kit

    index = tmp_path / "i.sqlite3"
    with ipfs_kit({}, cache_dir=tmp_path / "c", index_path=index, node_id="n1") as kit:
        assert [t.name for t in kit.tiers.tiers][-1] == "peer"
        assert "peer" in kit.tiers.policy.read_only  # never recorded, never a target
    with ipfs_kit({}, cache_dir=tmp_path / "c", index_path=index) as kit:
        assert "peer" not in [t.name for t in kit.tiers.tiers]  # one machine: no peers


def test_a_kit_built_to_serve_has_no_peer_tier(tmp_path: Path) -> None:
    """``ipfs-kit serve``'s kit (peer_tier=False) never asks another node."""
    from ipfs_kit_py.ipfs_kit import ipfs_kit

    index = tmp_path / "i.sqlite3"
    with ipfs_kit(
        {}, cache_dir=tmp_path / "c", index_path=index, node_id="n1", peer_tier=False
    ) as kit:
        assert "peer" not in [t.name for t in kit.tiers.tiers]


@settings(max_examples=30, deadline=None)
@given(bad=st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=5)))
def test_peer_tier_is_true_or_false(bad: object) -> None:
    from ipfs_kit_py.ipfs_kit import ipfs_kit

    with pytest.raises(ConfigurationError, match="peer_tier"):
        ipfs_kit({}, peer_tier=bad)  # type: ignore[arg-type]


def test_the_peer_clients_kept_are_bounded_the_oldest_closed(
    make_index: IndexFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One HTTP client per URL ever advertised was kept open for the process's life
    (a14b item 5): now the least recently used beyond the bound are closed."""
    from ipfs_kit_py.backends import peer as peer_module

    monkeypatch.setattr(peer_module, "MAX_PEER_CLIENTS", 3)
    a, b = make_index(node_id="a"), make_index(node_id="b")
    cid = sha256_cid(RAW, b"peer object")
    a.record(cid, "disk", "/a/x")
    peer = PeerBackend(lambda: b)
    opened = []
    try:
        for _ in range(6):  # node a restarted on a new port each time
            a.advertise(f"http://127.0.0.1:{free_port()}", 60)
            with pytest.raises(BackendUnavailableError):
                peer.stat(cid)
            opened += [g for g in peer._gateways.values() if g not in opened]
            assert len(peer._gateways) <= 3
        assert len(opened) == 6
        assert [g._http.is_closed for g in opened] == [True] * 3 + [False] * 3
    finally:
        peer.close()
