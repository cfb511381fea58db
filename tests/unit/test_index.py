"""MetadataIndex: schema and migrations, locations, queries, bulk operations."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.content.cid import RAW, cid_key, sha256_cid
from ipfs_kit_py.errors import (
    ConfigurationError,
    InvalidCIDError,
    InvalidInputError,
    MetadataIndexError,
)
from ipfs_kit_py.index import MIGRATIONS, MetadataIndex
from ipfs_kit_py.index_postgres import PostgresIndex
from ipfs_kit_py.index_schema import apply_migrations
from tests.servers.postgres import IndexFactory
from tests.servers.process import exited_pid


def cid_of(n: int) -> str:
    return cid_key(sha256_cid(RAW, f"object {n}".encode()))


@pytest.fixture
def index(make_index: IndexFactory) -> MetadataIndex:
    """The index (SQLite here; tests/integration/test_index_pg.py: PostgreSQL)."""
    return make_index()


def test_new_index_is_at_latest_schema(index: MetadataIndex) -> None:
    assert index.schema_version == len(MIGRATIONS)
    assert index.check() == []


def test_new_sqlite_index_uses_wal(tmp_path: Path) -> None:
    with MetadataIndex(tmp_path / "index.sqlite3") as index:
        mode = sqlite3.connect(index.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_reopening_keeps_data_and_schema(make_index: IndexFactory) -> None:
    first = make_index()
    first.record(cid_of(1), "s3", "b/k", pinned=True)
    first.close()
    again = make_index()
    assert again.schema_version == len(MIGRATIONS)
    assert [(loc.backend, loc.pinned) for loc in again.locations(cid_of(1))] == [("s3", True)]


def test_migration_from_v1_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    db.execute(
        "INSERT INTO locations (cid, backend, locator, stored_at) VALUES (?, 'disk', '/x', 1)",
        (cid_of(1),),
    )
    db.close()
    with MetadataIndex(path) as idx:
        assert idx.schema_version == len(MIGRATIONS)
        [loc] = idx.locations(cid_of(1))
        assert (loc.backend, loc.locator, loc.bad) == ("disk", "/x", False)
        idx.tag(cid_of(1), "kept")
        assert idx.query(tag="kept") == []  # no content row in v1 data: tags need one
        idx.upsert_content(cid_of(1), size=3)
        assert [r.cid for r in idx.query(tag="kept")] == [cid_of(1)]


def test_migration_from_v6_keeps_pending_adds_judged_by_pid(tmp_path: Path) -> None:
    path = tmp_path / "v6.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    apply_migrations(db, 0, 6)
    for n, pid in ((1, os.getpid()), (2, exited_pid())):
        db.execute(
            "INSERT INTO content (cid, created, pending_pid) VALUES (?, 1, ?)", (cid_of(n), pid)
        )
    db.close()
    with MetadataIndex(path) as idx:  # migrates, then settles the dead add
        assert idx.schema_version == len(MIGRATIONS)
        rows = idx._read("SELECT cid, pending_pid, pending_started FROM content")
        assert rows == [(cid_of(1), os.getpid(), None)]


def test_index_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(ConfigurationError, match="newer"):
        MetadataIndex(path)


def test_an_unreachable_postgres_index_fails_fast_without_its_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.servers.process import free_port

    url = f"postgresql://kit:hunter2@127.0.0.1:{free_port()}/nothing"
    with caplog.at_level(logging.DEBUG), pytest.raises(MetadataIndexError) as info:
        PostgresIndex(url, connect_timeout_s=2)
    assert "hunter2" not in str(info.value) and "127.0.0.1" in str(info.value)
    assert "hunter2" not in caplog.text


def test_record_locations_and_forget(index: MetadataIndex) -> None:
    cid = sha256_cid(RAW, b"abc")
    index.record(cid, "disk", "/cache/x")
    index.record(str(cid), "s3", "bucket/key", pinned=True)
    assert {(loc.backend, loc.pinned) for loc in index.locations(cid)} == {
        ("disk", False),
        ("s3", True),
    }
    assert index.forget(cid, "disk") is True
    assert index.forget(cid, "disk") is False
    assert [loc.backend for loc in index.locations(cid_key(cid))] == ["s3"]


def test_v0_and_v1_forms_share_one_entry(index: MetadataIndex) -> None:
    from ipfs_kit_py.content.cid import make_cid

    digest = bytes(range(32))
    index.record(make_cid(0x70, digest, version=0), "disk", "/a")
    assert len(index.locations(make_cid(0x70, digest, version=1))) == 1


def test_invalid_cid_is_rejected(index: MetadataIndex) -> None:
    with pytest.raises(InvalidCIDError):
        index.record("not-a-cid", "disk", "/a")


def test_last_kept_copy(index: MetadataIndex) -> None:
    cid = cid_of(2)
    index.record(cid, "disk", "/a")
    assert not index.is_last_kept_copy(cid, "disk")  # not pinned
    index.set_pinned(cid, True)
    assert index.is_last_kept_copy(cid, "disk")
    index.record(cid, "s3", "b/k")
    assert not index.is_last_kept_copy(cid, "disk")
    index.mark_verified(cid, "s3", ok=False)
    assert index.is_last_kept_copy(cid, "disk")  # a bad copy is not a copy
    assert [loc.backend for loc in index.locations(cid, include_bad=True)] == ["disk", "s3"]


def test_mark_verified_stamps_time(index: MetadataIndex) -> None:
    cid = cid_of(3)
    index.record(cid, "disk", "/a")
    before = time.time()
    index.mark_verified(cid, "disk", ok=True)
    [loc] = index.locations(cid)
    assert loc.last_verified_at is not None and loc.last_verified_at >= before


def test_queries_filter_by_backend_tag_size_access(index: MetadataIndex) -> None:
    index.upsert_many([(cid_of(n), n * 100, "file", None, {"n": n}) for n in range(10)])
    index.record_many([(cid_of(n), "disk", f"/d/{n}") for n in range(0, 10, 2)])
    index.tag(cid_of(3), "photos")
    index.record_access({cid_of(5): (4, time.time())})
    assert {r.cid for r in index.query(backend="disk")} == {cid_of(n) for n in range(0, 10, 2)}
    assert [r.cid for r in index.query(tag="photos")] == [cid_of(3)]
    assert {r.size for r in index.query(min_size=300, max_size=500)} == {300, 400, 500}
    [hot] = index.query(min_access_count=2)
    assert (hot.cid, hot.access_count, hot.metadata) == (cid_of(5), 4, {"n": 5})
    assert len(index.query(accessed_before=time.time() + 1)) == 10
    assert len(index.query(limit=3)) == 3
    with pytest.raises(InvalidInputError):
        index.query(min_size=-1)


def test_upsert_keeps_fields_not_given(index: MetadataIndex) -> None:
    cid = cid_of(4)
    index.upsert_content(cid, size=10, profile="p", metadata={"a": 1})
    index.upsert_content(cid, kind="dir")
    record = index.content(cid)
    assert record is not None
    assert (record.size, record.kind, record.profile, record.metadata) == (10, "dir", "p", {"a": 1})


def test_bulk_record_with_one_bad_row_writes_nothing(index: MetadataIndex) -> None:
    rows = [(cid_of(n), "disk", f"/d/{n}") for n in range(500)]
    with pytest.raises(InvalidCIDError):
        index.record_many([*rows, ("garbage", "disk", "/x")])
    assert index.count() == 0  # nothing half-written
    index.record_many(rows)
    assert len(index.cids_in("disk")) == 500


def test_transaction_rolls_back_on_error(index: MetadataIndex) -> None:
    with pytest.raises(RuntimeError), index.transaction():
        index.record(cid_of(1), "disk", "/a")
        raise RuntimeError("boom")
    assert index.locations(cid_of(1)) == []


def test_drop_and_close_idempotent(index: MetadataIndex) -> None:
    index.record(cid_of(1), "disk", "/a")
    index.tag(cid_of(1), "t")
    index.drop(cid_of(1))
    assert index.content(cid_of(1)) is None and index.locations(cid_of(1)) == []
    index.close()
    index.close()


def test_key_fast_path_matches_cid_key() -> None:
    import os

    from ipfs_kit_py.content.cid import CAR_CODEC, DAG_CBOR, make_cid, parse_cid
    from ipfs_kit_py.content.unixfs import STORACHA, import_file
    from ipfs_kit_py.index import _canonical_key, _key

    cids = [
        sha256_cid(RAW, b"x"),
        sha256_cid(DAG_CBOR, b"y"),
        make_cid(CAR_CODEC, bytes(32)),
        import_file([b"v0 file"]).cid,
        import_file([os.urandom(300_000)], STORACHA).cid,
    ]
    for cid in cids:
        key = cid_key(cid)
        assert _canonical_key(key) == key
        assert _key(str(cid)) == key == _key(cid)
    key = cid_key(cids[0])
    for wrong in (key.upper(), key[:-1], key + "a", "Qm" + key[2:], key.replace("b", "c", 1)):
        assert _canonical_key(wrong) is None
    for n in range(50):
        k = cid_key(sha256_cid(RAW, n.to_bytes(4, "little")))
        for last in "abcdefghijklmnopqrstuvwxyz234567":
            mutated = k[:-1] + last
            if _canonical_key(mutated) is not None:
                assert cid_key(parse_cid(mutated)) == mutated


@settings(max_examples=300, deadline=None)
@given(
    digest=st.binary(min_size=1, max_size=64),
    codec=st.sampled_from([RAW, 0x70]),
    at=st.integers(0, 58),
    char=st.sampled_from("abcdefghijklmnopqrstuvwxyz234567ABQ0=1"),
)
def test_the_common_key_pattern_accepts_only_normal_keys(
    digest: bytes, codec: int, at: int, char: str
) -> None:
    from ipfs_kit_py.content.cid import parse_cid
    from ipfs_kit_py.index import _COMMON_KEY, _key

    key = cid_key(sha256_cid(codec, digest))
    assert _COMMON_KEY.fullmatch(key) and _key(key) == key
    mutated = key[:at] + char + key[at + 1 :]
    if _COMMON_KEY.fullmatch(mutated):  # a match is the one normal encoding of a CID
        assert cid_key(parse_cid(mutated)) == mutated


def test_profile_lookup(index: MetadataIndex) -> None:
    index.upsert_content(cid_of(7), profile="size-262144,pb,v0,w174")
    assert index.profile(cid_of(7)) == "size-262144,pb,v0,w174"
    assert index.profile(cid_of(8)) is None


def test_a_large_bulk_record_of_new_cids_means_what_one_row_at_a_time_means(
    index: MetadataIndex,
) -> None:
    """A first import past the COPY threshold (PostgreSQL copies it straight into the
    tables): one content row per CID even with several backends, pins and stamps kept,
    and a second batch over the same CIDs (the merge) still wins row by row."""
    rows = [(cid_of(n), "s3", f"k/{n}", f"st{n}") for n in range(2500)]
    rows += [(cid_of(n), "disk", f"/d/{n}") for n in range(0, 2500, 5)]
    index.record_many(rows, pinned=True)
    assert index.count() == 2500 and len(index.cids_in("s3")) == 2500
    assert len(index.cids_in("disk")) == 500
    [s3] = [loc for loc in index.locations(cid_of(10)) if loc.backend == "s3"]
    assert (s3.locator, s3.pinned, s3.stamp, s3.bad) == ("k/10", True, "st10", False)
    index.mark_verified(cid_of(10), "s3", ok=False)
    index.record_many([(cid_of(n), "s3", f"k2/{n}") for n in range(2500)])
    [again] = [loc for loc in index.locations(cid_of(10)) if loc.backend == "s3"]
    assert (again.locator, again.pinned, again.bad) == ("k2/10", True, False)
    assert index.count() == 2500


def test_a_large_bulk_record_keeps_the_one_row_semantics(index: MetadataIndex) -> None:
    """Past the COPY threshold (PostgreSQL) a batch means what one row at a time means."""
    index.record(cid_of(0), "s3", "old", pinned=True)
    index.mark_verified(cid_of(0), "s3", ok=False)
    rows = [(cid_of(n), "s3", f"k/{n}") for n in range(3000)]
    rows.append((cid_of(5), "s3", "k/5-again"))  # the last one given wins
    index.record_many([*rows, (cid_of(7), "disk", "/d/7", "stamp")])
    assert index.count() == 3000 and len(index.cids_in("s3")) == 3000
    [first] = index.locations(cid_of(0))
    assert (first.locator, first.pinned, first.bad) == ("k/0", True, False)  # pin kept
    assert index.locations(cid_of(5))[0].locator == "k/5-again"
    assert [loc.stamp for loc in index.locations(cid_of(7)) if loc.backend == "disk"] == ["stamp"]
    with pytest.raises(InvalidCIDError):
        index.record_many([*rows[:2500], ("garbage", "s3", "x")], pinned=False)
    assert index.locations(cid_of(0))[0].pinned  # nothing written


def test_trees_containing_finds_the_trees_that_list_a_sub_directory(
    index: MetadataIndex,
) -> None:
    sub, other, root_a, root_b, plain = (cid_of(n) for n in range(900, 905))
    index.upsert_content(root_a, kind="dir", metadata={"subdirs": {"a": sub}, "files": {}})
    index.upsert_content(root_b, kind="dir", metadata={"subdirs": {"x/y": sub, "z": other}})
    index.upsert_content(plain, metadata={"note": sub})  # a file naming it: not a tree
    index.upsert_content(cid_of(906), kind="dir", metadata={"files": {"f": sub}})  # a file
    index.upsert_content(cid_of(907), kind="dir", metadata={"subdirs": f'"{sub}"'})  # damaged
    assert sorted(index.trees_containing(sub)) == sorted([root_a, root_b])
    assert index.trees_containing(other) == [root_b]
    assert index.trees_containing(cid_of(999)) == []
    assert len(index.trees_containing(sub, limit=1)) == 1
