"""Storacha upload states in the metadata index (SQLite and PostgreSQL): what a run after
an interruption may skip, and when a state must be dropped instead."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.backends.storacha.resume import (
    SavedShard,
    UploadSource,
    UploadState,
    directory_source,
    file_source,
    upload_id,
)
from ipfs_kit_py.errors import MetadataIndexError
from ipfs_kit_py.index import MetadataIndex
from ipfs_kit_py.storacha_ledger import StorachaUploadLedger
from tests.servers.postgres import IndexFactory

SPACE = "did:key:z6MkspaceAAAA"
SOURCE = UploadSource("file:/data/big.bin", "100:1:2:3", "shard_size=1024")


def test_a_state_lists_what_was_stored_until_finished(make_index: IndexFactory) -> None:
    ledger = StorachaUploadLedger(make_index())
    first = ledger.begin(SPACE, SOURCE)
    assert first is not None and first.shards == {} and first.index is None
    first.shard_stored(0, "bagbaieraa", 1000)
    first.shard_stored(1, "bagbaierab", 900)
    first.piece_offered(0, "bafkzcibpiece")
    first.indexed("bagbaieraindex")
    again = ledger.begin(SPACE, SOURCE)
    assert again is not None and again.index == "bagbaieraindex"
    assert again.shards == {
        0: SavedShard(0, "bagbaieraa", 1000, "bafkzcibpiece"),
        1: SavedShard(1, "bagbaierab", 900),
    }
    assert again.accepted(0, "bagbaieraa") is not None
    assert again.accepted(0, "bagbaieraOTHER") is None and again.accepted(5, "x") is None
    assert ledger.in_progress() == [(SPACE, SOURCE.source, 2)]
    again.finish()
    assert ledger.in_progress() == []
    fresh = ledger.begin(SPACE, SOURCE)
    assert fresh is not None and fresh.shards == {}


def test_a_changed_source_or_no_resume_starts_over(make_index: IndexFactory) -> None:
    ledger = StorachaUploadLedger(make_index())
    state = ledger.begin(SPACE, SOURCE)
    assert state is not None
    state.shard_stored(0, "bagbaieraa", 1000)
    changed = UploadSource(SOURCE.source, "100:999:2:3", SOURCE.options)
    restarted = ledger.begin(SPACE, changed)
    assert restarted is not None and restarted.shards == {}
    restarted.shard_stored(0, "bagbaierac", 1000)
    assert ledger.begin(SPACE, changed, resume=False).shards == {}  # type: ignore[union-attr]
    other_space = ledger.begin("did:key:z6MkotherBBBB", changed)
    other_options = ledger.begin(SPACE, UploadSource(SOURCE.source, SOURCE.stamp, "x"))
    assert other_space is not None and other_options is not None
    assert len(ledger.in_progress()) == 3


def test_an_upload_another_live_process_runs_is_not_taken_over(
    make_index: IndexFactory,
) -> None:
    index = make_index()
    ledger = StorachaUploadLedger(index)
    state = ledger.begin(SPACE, SOURCE)
    assert state is not None
    state.shard_stored(0, "bagbaieraa", 1000)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        owner = f"{sleeper.pid}-"  # alive; no start time given: any start counts
        with index.transaction() as db:
            db.execute("UPDATE storacha_uploads SET owner = ?", (owner,))
        assert ledger.begin(SPACE, SOURCE) is None
    finally:
        sleeper.kill()
        sleeper.wait()
    taken = ledger.begin(SPACE, SOURCE)  # its process is gone: resumable
    assert taken is not None and list(taken.shards) == [0]


def test_the_index_opens_only_when_an_upload_begins(tmp_path: Path) -> None:
    opened: list[MetadataIndex] = []

    def index() -> MetadataIndex:
        opened.append(MetadataIndex(tmp_path / "index.sqlite3"))
        return opened[-1]

    ledger = StorachaUploadLedger(index)
    assert opened == [] and "index" not in repr(ledger).lower()
    assert ledger.begin(SPACE, SOURCE) is not None and len(opened) == 1
    for idx in opened:
        idx.close()


def test_source_identities(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"one")
    first = file_source(path, 2048)
    assert first.source == f"file:{os.path.realpath(path)}" and first.options == "shard_size=2048"
    assert file_source(path, 2048) == first
    os.utime(path, ns=(1, 1))
    assert file_source(path, 2048).stamp != first.stamp
    assert upload_id(SPACE, first) != upload_id(SPACE, file_source(path, 4096))
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a").write_bytes(b"a")
    names = [str(tmp_path / "d" / "a")]
    tree = directory_source(tmp_path / "d", names, 2048, hidden=False)
    assert tree.source.startswith("dir:") and tree.options.endswith("hidden=0")
    (tmp_path / "d" / "a").write_bytes(b"ab")
    assert directory_source(tmp_path / "d", names, 2048, hidden=False).stamp != tree.stamp


ops = st.lists(
    st.one_of(
        st.tuples(st.just("store"), st.integers(0, 5), st.sampled_from(["c1", "c2"])),
        st.tuples(st.just("piece"), st.integers(0, 5), st.just("p")),
        st.tuples(st.just("reopen"), st.just(0), st.just("")),
        st.tuples(st.just("change"), st.just(0), st.just("")),
        st.tuples(st.just("finish"), st.just(0), st.just("")),
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None)
@given(ops)
def test_the_ledger_agrees_with_a_model(
    tmp_path_factory: pytest.TempPathFactory, run: list
) -> None:  # type: ignore[type-arg]
    """Any sequence of writes, reopenings, source changes and finishes: what ``begin``
    gives back is exactly what the model says was stored since the last restart."""
    with MetadataIndex(tmp_path_factory.mktemp("l") / "index.sqlite3") as index:
        ledger = StorachaUploadLedger(index)
        source = SOURCE
        state = ledger.begin(SPACE, source)
        model: dict[int, SavedShard] = {}
        for op, position, value in run:
            assert state is not None
            if op == "store":
                state.shard_stored(position, value, 10 + position)
                model[position] = SavedShard(position, value, 10 + position)
            elif op == "piece" and position in model:
                state.piece_offered(position, value)
                saved = model[position]
                model[position] = SavedShard(position, saved.cid, saved.size, value)
            elif op == "change":
                source = UploadSource(source.source, source.stamp + "+", source.options)
                state, model = ledger.begin(SPACE, source), {}
            elif op == "finish":
                state.finish()
                state, model = ledger.begin(SPACE, source), {}
            elif op == "reopen":
                state = ledger.begin(SPACE, source)
            assert state is not None
            assert ledger.begin(SPACE, source).shards == model  # type: ignore[union-attr]


class _FailingJournal:
    """A journal whose index went away after ``ok`` writes."""

    def __init__(self, ok: int) -> None:
        self.ok, self.calls = ok, 0

    def _call(self, *_: object) -> None:
        self.calls += 1
        if self.calls > self.ok:
            raise MetadataIndexError("index /x: disk I/O error")

    shard_stored = piece_offered = indexed = finish = _call


def test_a_failing_state_write_is_logged_and_ends_the_writing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    journal = _FailingJournal(ok=1)
    state = UploadState("u", journal)
    state.shard_stored(0, "c0", 10)
    state.shard_stored(1, "c1", 10)  # fails: logged, not raised
    state.piece_offered(1, "p")
    state.indexed("i")
    state.finish()
    assert journal.calls == 2 and "upload state not written" in caplog.text
    assert state.accepted(1, "c1") == SavedShard(1, "c1", 10, "p")  # this run still knows
