"""The ledger never lies: lost copies stay visible, interrupted adds settle, bad files are named.

The state machine deletes and corrupts copies behind the kit's back (two real disk tiers,
``disk`` and ``vault``), reads, verifies, repairs, removes and forgets, and checks that
every copy once known is either recorded (good, bad or missing) or explicitly dropped.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from ipfs_kit_py.backends.disk import DiskBackend
from ipfs_kit_py.backends.memory import MemoryBackend
from ipfs_kit_py.content.cid import CID, cid_key
from ipfs_kit_py.debris import process_start_time
from ipfs_kit_py.errors import ContentNotFoundError, IndexCorruptError, InvalidInputError
from ipfs_kit_py.index import MetadataIndex, open_index
from ipfs_kit_py.replication import repair, verify
from ipfs_kit_py.tiers.manager import TieredCacheManager, TierPolicy
from tests.servers.postgres import IndexFactory
from tests.servers.process import exited_pid

TIERS = ("disk", "vault")


def _replace(path: Path, data: bytes) -> None:
    """Rewrite a stored file behind the kit's back (a new file, as an editor would)."""
    tmp = path.with_suffix(".tamper")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class LedgerMachine(RuleBasedStateMachine):
    """Index + two disk tiers; the model is the set of copies the ledger must account for.

    ``where`` is the index of each run: None for a new SQLite file, or a PostgreSQL URL
    (emptied first).
    """

    where: str | None = None

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="ledger-"))
        self.index = open_index(self.where or str(self.dir / "index.sqlite3"))
        if self.where:
            with self.index.transaction() as db:
                db.execute("TRUNCATE content, locations, tags")
        self.backends = {
            "disk": DiskBackend(self.dir / "disk", name="disk"),
            "vault": DiskBackend(self.dir / "vault", name="vault"),
        }
        self.tiers = TieredCacheManager(
            [MemoryBackend(1 << 20), *self.backends.values()],
            self.index,
            TierPolicy(put_to=("disk",), promote_after=1_000_000),
        )
        self.content: dict[str, tuple[CID, bytes]] = {}
        self.known: set[tuple[str, str]] = set()  # (cid key, tier) the ledger must keep

    def teardown(self) -> None:
        self.index.close()
        subprocess.run(["rm", "-rf", str(self.dir)], check=False)

    def _truth(self, key: str, tier: str) -> str:
        cid, data = self.content[key]
        path = self.backends[tier].path_for(cid)
        if not path.is_file():
            return "missing"
        return "good" if path.read_bytes() == data else "bad"

    def _learn(self, key: str) -> None:
        """Copies the kit itself made (warming, repair) join the set it must account for."""
        for loc in self.index.locations(key, include_bad=True):
            self.known.add((key, loc.backend))

    @rule(
        data=st.binary(min_size=0, max_size=3000),
        to=st.sampled_from([("disk",), ("vault",), ("disk", "vault")]),
    )
    def add(self, data: bytes, to: tuple[str, ...]) -> None:
        result = self.tiers.add([data], to=list(to))
        key = cid_key(result.cid)
        self.content[key] = (result.cid, data)
        self.known.update((key, t) for t in to)

    @precondition(lambda self: self.content)
    @rule(pick=st.data(), tier=st.sampled_from(TIERS))
    def delete_behind_the_back(self, pick: st.DataObject, tier: str) -> None:
        key = pick.draw(st.sampled_from(sorted(self.content)))
        self.backends[tier].delete(self.content[key][0])

    @precondition(lambda self: self.content)
    @rule(pick=st.data(), tier=st.sampled_from(TIERS))
    def corrupt_behind_the_back(self, pick: st.DataObject, tier: str) -> None:
        key = pick.draw(st.sampled_from(sorted(self.content)))
        path = self.backends[tier].path_for(self.content[key][0])
        if path.is_file():
            _replace(path, path.read_bytes() + b"!")

    @precondition(lambda self: self.content)
    @rule(pick=st.data())
    def read(self, pick: st.DataObject) -> None:
        key = pick.draw(st.sampled_from(sorted(self.content)))
        cid, data = self.content[key]
        if self.tiers.memory is not None:
            self.tiers.memory.delete(cid)
        holders = [t for t in TIERS if self._truth(key, t) == "good"]
        if holders:
            assert self.tiers.get_bytes(cid) == data
        else:
            try:
                self.tiers.get_bytes(cid)
            except ContentNotFoundError:
                pass
            else:
                raise AssertionError("a read served bytes no tier holds intact")
        self._learn(key)

    @precondition(lambda self: self.content)
    @rule(pick=st.data())
    def verify(self, pick: st.DataObject) -> None:
        key = pick.draw(st.sampled_from(sorted(self.content)))
        check = verify(self.tiers, key)
        for loc in self.index.locations(key, include_bad=True):
            assert loc.state == self._truth(key, loc.backend), (loc, check)
            if loc.state != "good":
                assert loc.marked_at is not None and loc.reason

    @precondition(lambda self: self.content)
    @rule(pick=st.data())
    def repair(self, pick: st.DataObject) -> None:
        key = pick.draw(st.sampled_from(sorted(self.content)))
        try:
            repair(self.tiers, key)
        except ContentNotFoundError:
            ledger = {loc.backend for loc in self.index.locations(key, include_bad=True)}
            assert not any(self._truth(key, t) == "good" for t in ledger)  # none known intact
            return
        for loc in self.index.locations(key, include_bad=True):
            assert loc.state == "good" and self._truth(key, loc.backend) == "good"
        self._learn(key)

    @precondition(lambda self: self.known)
    @rule(pick=st.data())
    def remove(self, pick: st.DataObject) -> None:
        key, tier = pick.draw(st.sampled_from(sorted(self.known)))
        self.tiers.remove(key, [tier])
        self.known.discard((key, tier))
        assert self._truth(key, tier) == "missing"

    @precondition(lambda self: self.known)
    @rule(pick=st.data())
    def forget(self, pick: st.DataObject) -> None:
        key, tier = pick.draw(st.sampled_from(sorted(self.known)))
        assert self.tiers.forget(key, [tier]) == [tier]
        self.known.discard((key, tier))

    @invariant()
    def every_known_copy_is_in_the_ledger(self) -> None:
        for key, tier in self.known:
            states = {loc.backend: loc.state for loc in self.index.locations(key, include_bad=True)}
            assert tier in states, (key, tier, states)

    @invariant()
    def whereis_lists_only_good_copies(self) -> None:
        for key in self.content:
            good = {loc.backend for loc in self.index.locations(key)}
            assert set(self.tiers.whereis(key)) - {"memory"} == good


LedgerMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_ledger_machine = LedgerMachine.TestCase


# -- interrupted adds -----------------------------------------------------------------


def test_an_add_killed_after_the_spool_is_rolled_back_on_open(make_index: IndexFactory) -> None:
    where = make_index.where  # type: ignore[attr-defined]
    cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
    script = (
        "import os, signal, sys\n"
        "from ipfs_kit_py.index import open_index\n"
        "index = open_index(sys.argv[1])\n"
        "index.begin_add(sys.argv[2], size=5)\n"
        "index.tag(sys.argv[2], 'x')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, where, cid], check=False)
    assert proc.returncode == -9
    index = make_index(recover=False)
    assert index.count() == 1  # what a killed add leaves
    index.close()
    index = make_index()
    assert index.count() == 0 and index.content(cid) is None


def test_an_add_on_another_node_is_left_to_that_node(make_index: IndexFactory) -> None:
    cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
    index = make_index(node_id="a")
    index.begin_add(cid, size=5)
    with index.transaction() as db:  # its pid means nothing on node b
        db.execute("UPDATE content SET pending_pid = ?", (exited_pid(),))
    other = make_index(node_id="b")
    assert other.recover_pending() == (0, 0)
    assert index.recover_pending() == (0, 1)


def test_an_add_records_its_process_by_pid_and_start_time(make_index: IndexFactory) -> None:
    cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
    index = make_index()
    index.begin_add(cid, size=5)
    me = os.getpid()
    assert index._read("SELECT pending_pid, pending_started FROM content") == [
        (me, process_start_time(me))
    ]
    index.finish_add(cid)
    assert index._read("SELECT pending_pid, pending_started FROM content") == [(None, None)]


@pytest.mark.parametrize(("started", "settled"), [("1", (0, 1)), (None, (0, 0))])
def test_a_pending_add_of_a_live_pid_is_judged_by_its_start_time_if_recorded(
    make_index: IndexFactory, started: str | None, settled: tuple[int, int]
) -> None:
    """Another start time: a dead writer whose pid this live process was given (rolled
    back); none, as in rows from before schema 7: the pid alone, which runs (kept)."""
    cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
    index = make_index()
    index.begin_add(cid, size=5)
    with index.transaction() as db:
        db.execute("UPDATE content SET pending_started = ?", (started,))
    assert make_index(recover=False).recover_pending() == settled
    assert (index.content(cid) is None) == (settled == (0, 1))


def test_an_interrupted_add_with_a_recorded_copy_is_completed(make_index: IndexFactory) -> None:
    cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
    index = make_index()
    index.begin_add(cid, size=5)
    index.record(cid, "disk", "/x")
    with index.transaction() as db:
        db.execute("UPDATE content SET pending_pid = ?", (exited_pid(),))
    index.close()
    index = make_index()
    assert index.content(cid) is not None
    assert index._read("SELECT pending_pid FROM content") == [(None,)]


def test_an_add_of_a_live_process_is_left_alone(make_index: IndexFactory) -> None:
    cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
    index = make_index()
    index.begin_add(cid, size=5)
    other = make_index()  # another open while the add runs
    assert other.content(cid) is not None
    index.finish_add(cid)


def test_a_failed_store_rolls_its_content_row_back(
    tmp_path: Path, make_index: IndexFactory
) -> None:
    with make_index() as index:
        tiers = TieredCacheManager([DiskBackend(tmp_path / "disk")], index)
        with pytest.raises(InvalidInputError):
            tiers.add([b"hello"], to=["disk", "nowhere"])
        assert index.count() == 0


# -- the index file itself --------------------------------------------------------------


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(b"this is not a database at all" * 100),
        lambda p: p.write_bytes(p.read_bytes()[:100] + b"\xff" * 4096 + p.read_bytes()[4196:]),
    ],
)
def test_a_damaged_index_file_raises_a_typed_error_naming_it(
    tmp_path: Path, damage: object
) -> None:
    path = tmp_path / "index.sqlite3"
    with MetadataIndex(path) as index:
        for n in range(300):
            index.upsert_content(_key(n), metadata={"pad": "x" * 200})
        index._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    damage(path)  # type: ignore[operator]
    with pytest.raises(IndexCorruptError) as info, MetadataIndex(path) as index:
        index.query()
        assert index.check() == []
    assert str(path) in str(info.value) and info.value.path == str(path)


def _key(n: int) -> str:
    from ipfs_kit_py.content.cid import sha256_cid

    return cid_key(sha256_cid(0x55, n.to_bytes(4, "big")))


def test_a_sound_index_checks_clean(tmp_path: Path) -> None:
    with MetadataIndex(tmp_path / "index.sqlite3") as index:
        assert index.check() == []
    assert (
        sqlite3.connect(tmp_path / "index.sqlite3").execute("PRAGMA user_version").fetchone()[0]
        >= 4
    )


# -- what a disk read verifies ------------------------------------------------------------


def _rot_in_place(path: Path) -> None:
    """Flip one byte and restore the mtime: bit rot, not a rewrite (same inode and size)."""
    st = path.stat()
    os.chmod(path, 0o644)
    with path.open("r+b") as f:
        first = f.read(1)
        f.seek(0)
        f.write(bytes([first[0] ^ 0xFF]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.mark.parametrize("verify_disk_reads", [None, False, True])
def test_disk_reads_are_rehashed_unless_opted_out_and_verify_always_scrubs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, verify_disk_reads: bool | None
) -> None:
    from ipfs_kit_py.ipfs_kit import ipfs_kit

    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    data = os.urandom(100_000)
    with ipfs_kit(
        cache_dir=tmp_path / "cache",
        index_path=tmp_path / "index.sqlite3",
        verify_disk_reads=verify_disk_reads,
        put_to=["disk"],
    ) as kit:
        cid = kit.add(data).cid
        assert kit.cat(cid) == data  # stamps the verified file
        _rot_in_place(kit.tiers.disk.path_for(cid))  # type: ignore[union-attr]
        if verify_disk_reads is not False:  # the default re-hashes every disk hit
            with pytest.raises(ContentNotFoundError):
                kit.cat(cid)  # re-hashed, refused, and no other tier has it
            assert not kit.tiers.disk.path_for(cid).exists()  # type: ignore[union-attr]
        else:
            assert kit.cat(cid) != data  # the documented trade: an unchanged stamp is trusted
            check = kit.verify(cid)  # the scrub re-hashes every copy
            assert check.bad == ("disk",)
        [loc] = kit.index.locations(cid, include_bad=True)
        assert loc.state != "good" and loc.reason


# -- policies and explicit removal ---------------------------------------------------------


def test_verify_counts_copies_a_policy_still_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from ipfs_kit_py.cli.main import main
    from ipfs_kit_py.ipfs_kit import ipfs_kit

    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("IPFS_KIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("IPFS_KIT_INDEX", str(tmp_path / "index.sqlite3"))
    with ipfs_kit() as kit:
        plain = kit.add(b"plain content", to=["disk"]).cid
        kept = kit.add(b"kept content", to=["disk"]).cid
        assert kit.verify(plain).ok and kit.verify(plain).short == 0
        kit.keep(kept, min_copies=2)
        check = kit.verify(kept)
        assert check.good == ("disk",) and check.short == 1 and not check.ok
    assert main(["verify", "--all", "--json"]) == 1
    checks = json.loads(capsys.readouterr().out)["checks"]
    assert {c["cid"]: c["short"] for c in checks} == {cid_key(plain): 0, cid_key(kept): 1}


def test_removing_the_last_copy_drops_the_record(tmp_path: Path, make_index: IndexFactory) -> None:
    with make_index() as index:
        tiers = TieredCacheManager([MemoryBackend(1 << 20), DiskBackend(tmp_path / "disk")], index)
        cid = tiers.add([b"short lived"], to=["memory", "disk"]).cid
        tiers.remove(cid, ["disk"])
        assert index.content(cid) is not None  # memory (this process) still holds it
        tiers.remove(cid, ["memory"])
        assert index.content(cid) is None and index.count() == 0


def test_a_verified_read_survives_an_index_it_cannot_write(tmp_path: Path) -> None:
    """Another process holds the index's write lock: the read still returns its bytes."""
    with MetadataIndex(tmp_path / "index.sqlite3", busy_timeout_ms=200) as index:
        disk = DiskBackend(tmp_path / "disk")
        vault = DiskBackend(tmp_path / "vault", name="vault")
        tiers = TieredCacheManager([disk, vault], index)
        data = os.urandom(50_000)
        cid = tiers.add([data], to=[]).cid  # the CID only; no copy anywhere
        vault.put(cid, [data])  # a copy the index does not know
        other = sqlite3.connect(tmp_path / "index.sqlite3", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # the write lock, held elsewhere
        try:
            assert tiers.get_bytes(cid) == data  # verified; recording it failed, logged
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert not disk.has(cid)  # the disk was not warmed without its record
        assert tiers.whereis(cid) == []
        assert list(disk.tmp_dir.iterdir()) == []  # no debris
        assert tiers.get_bytes(cid) == data  # next time it is recorded
        assert set(tiers.whereis(cid)) == {"disk", "vault"}


def test_an_evicted_cache_copy_takes_its_record_along_unless_kept(
    tmp_path: Path, make_index: IndexFactory
) -> None:
    with make_index() as index:
        disk = DiskBackend(tmp_path / "disk", capacity_bytes=100_000)
        tiers = TieredCacheManager([disk], index, TierPolicy(put_to=("disk",)))
        kept = tiers.add([os.urandom(30_000)], pinned=True).cid
        loose = tiers.add([os.urandom(30_000)]).cid
        tiers.add([os.urandom(60_000)])  # over capacity: the unpinned one goes
        assert not disk.has(loose) and index.content(loose) is None
        assert disk.has(kept) and index.content(kept) is not None


def test_an_add_stored_nowhere_leaves_no_record(tmp_path: Path) -> None:
    """``to=[]`` computes the CID only: nothing for ``ls`` to list and ``whereis`` to deny."""
    with MetadataIndex(tmp_path / "index.sqlite3") as index:
        tiers = TieredCacheManager([DiskBackend(tmp_path / "disk")], index)
        cid = tiers.add([b"only the CID"], to=[]).cid
        assert index.content(cid) is None and not index.locations(cid)
        tiers.add([b"only the CID"], to=["disk"])  # stored: recorded
        tiers.add([b"only the CID"], to=[])  # the CID again: the copy stays recorded
        assert [loc.backend for loc in index.locations(cid)] == ["disk"]
