"""The tree members table: the trees that list a sub-directory, found by one indexed
lookup (``MetadataIndex.trees_containing``), kept in step with the directory rows, and
filled by migration 10 from the rows an older index holds. SQLite here;
tests/integration/test_tree_members_pg.py runs them on a real PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ipfs_kit_py.content.cid import DAG_PB, cid_key, sha256_cid
from ipfs_kit_py.errors import InvalidInputError
from ipfs_kit_py.index import MetadataIndex, open_index
from ipfs_kit_py.index_schema import apply_migrations
from tests.servers.postgres import IndexFactory
from tests.servers.process import exited_pid

MEMBERS_V10 = 10  # the migration that made the table


def dir_of(n: int) -> str:
    return cid_key(sha256_cid(DAG_PB, f"directory {n}".encode()))


def members_of(index: MetadataIndex, tree: str) -> list[str]:
    sql = "SELECT member FROM tree_members WHERE tree = ? ORDER BY member"
    return [str(r[0]) for r in index.fetch(sql, (tree,))]


def dangling(index: MetadataIndex) -> int:
    """Member rows naming a tree the index does not hold (must be none)."""
    sql = (
        "SELECT count(*) FROM tree_members m "
        "WHERE NOT EXISTS (SELECT 1 FROM content c WHERE c.cid = m.tree)"
    )
    return int(index.fetch(sql)[0][0])


@pytest.fixture
def index(make_index: IndexFactory) -> MetadataIndex:
    return make_index()


def test_rewritten_metadata_replaces_the_members(index: MetadataIndex) -> None:
    root, sub, other = dir_of(1), dir_of(2), dir_of(3)
    index.upsert_content(root, kind="dir", metadata={"subdirs": {"a": sub, "b/c": sub}})
    assert members_of(index, root) == [sub] and index.trees_containing(sub) == [root]
    index.upsert_content(root, kind="dir", metadata={"subdirs": {"z": other}})
    assert index.trees_containing(sub) == [] and index.trees_containing(other) == [root]
    index.upsert_content(root, kind="dir", size=10)  # no metadata given: kept
    assert index.trees_containing(other) == [root]
    index.upsert_content(root, kind="file")  # not a directory now: not a tree
    assert index.trees_containing(other) == []
    index.upsert_content(root, kind="dir")  # a directory again, its metadata kept
    assert index.trees_containing(other) == [root]
    index.upsert_content(root, kind="dir", metadata={"files": {}})
    assert members_of(index, root) == [] and index.trees_containing(other) == []


def test_members_are_the_text_values_of_subdirs(index: MetadataIndex) -> None:
    """Values no CID key can be (not text, a NUL PostgreSQL cannot store) list nothing,
    on both engines alike."""
    root, sub = dir_of(1), dir_of(2)
    subdirs = {"a": sub, "b": 3, "c": None, "d": ["x"], "e": "x\x00y", "f": sub}
    index.upsert_content(root, kind="dir", metadata={"subdirs": subdirs})
    assert members_of(index, root) == [sub] and index.trees_containing(sub) == [root]


def test_of_two_rows_for_one_tree_the_last_metadata_wins(index: MetadataIndex) -> None:
    root, sub, other = dir_of(1), dir_of(2), dir_of(3)
    index.upsert_many(
        [
            (root, None, "dir", None, {"subdirs": {"a": sub}}),
            (root, None, "dir", None, {"subdirs": {"b": other}}),
            (root, 5, "dir", None, None),
        ]
    )
    assert members_of(index, root) == [other]
    assert index.trees_containing(sub) == [] and index.trees_containing(other) == [root]


def test_a_member_row_the_tree_no_longer_lists_is_not_a_tree(index: MetadataIndex) -> None:
    """The exact check: a member row is a hint, the tree's own row decides."""
    sub = dir_of(0)
    listing = [dir_of(n) for n in range(1, 31)]
    for tree in listing:
        index.upsert_content(tree, kind="dir", metadata={"subdirs": {"s": sub}})
    stale = [dir_of(n) for n in range(100, 112)]  # newest: the first page of rows
    for tree in stale:
        index.upsert_content(tree, kind="dir", metadata={"subdirs": {"s": dir_of(999)}})
    with index.transaction() as db:
        db.executemany(
            "INSERT INTO tree_members (member, tree) VALUES (?, ?)",
            [(sub, tree) for tree in [*stale, dir_of(500)]],  # dir_of(500): no row at all
        )
    found = index.trees_containing(sub, limit=25)
    assert len(found) == 25 and set(found) <= set(listing)
    assert sorted(index.trees_containing(sub, limit=100)) == sorted(listing)
    assert index.trees_containing(dir_of(999), limit=100) == stale[::-1]


def test_a_damaged_tree_row_is_reported_not_skipped(index: MetadataIndex) -> None:
    from ipfs_kit_py.errors import IndexCorruptError

    root, sub = dir_of(1), dir_of(2)
    index.upsert_content(root, kind="dir", metadata={"subdirs": {"a": sub}})
    with index.transaction() as db:
        db.execute("UPDATE content SET metadata = ? WHERE cid = ?", ('{"subdirs": ', root))
    with pytest.raises(IndexCorruptError):
        index.trees_containing(sub)


@pytest.mark.parametrize("limit", [0, -1, True, 2.5, "8"])
def test_a_bad_limit_is_refused(index: MetadataIndex, limit: Any) -> None:
    with pytest.raises(InvalidInputError, match="limit"):
        index.trees_containing(dir_of(1), limit=limit)


def test_dropping_a_tree_forgets_its_members(index: MetadataIndex) -> None:
    root, keep, sub = dir_of(1), dir_of(2), dir_of(3)
    index.upsert_content(root, kind="dir", metadata={"subdirs": {"a": sub}})
    index.upsert_content(keep, kind="dir", metadata={"subdirs": {"a": sub}})
    index.drop(root)
    assert members_of(index, root) == [] and dangling(index) == 0
    assert index.trees_containing(sub) == [keep]
    index.drop(sub)  # a member's own row is not its trees'
    assert index.trees_containing(sub) == [keep]


def test_a_rolled_back_add_of_a_tree_leaves_no_members(index: MetadataIndex) -> None:
    root, sub = dir_of(1), dir_of(2)
    index.begin_add(root, size=None, kind="dir")
    index.upsert_content(root, kind="dir", metadata={"subdirs": {"a": sub}})
    index.rollback_add(root)
    assert index.content(root) is None and dangling(index) == 0
    assert index.trees_containing(sub) == []


def test_a_tree_with_a_copy_keeps_its_members_through_a_rollback(index: MetadataIndex) -> None:
    root, sub = dir_of(1), dir_of(2)
    index.begin_add(root, size=None, kind="dir")
    index.upsert_content(root, kind="dir", metadata={"subdirs": {"a": sub}})
    index.record(root, "s3", "k")  # a copy recorded meanwhile: the row stays
    index.rollback_add(root)
    assert index.trees_containing(sub) == [root]


def test_a_dead_add_of_a_tree_leaves_no_members(make_index: IndexFactory) -> None:
    root, done, sub = dir_of(1), dir_of(2), dir_of(3)
    first = make_index()
    for tree in (root, done):
        first.upsert_content(tree, kind="dir", metadata={"subdirs": {"a": sub}})
    first.record(done, "s3", "k")
    with first.transaction() as db:
        db.execute(
            "UPDATE content SET pending_pid = ?, pending_node = ?",
            (exited_pid(), first.node_id),
        )
    first.close()
    again = make_index()  # settles the dead adds: the one without a copy is rolled back
    assert again.content(root) is None and again.content(done) is not None
    assert dangling(again) == 0 and again.trees_containing(sub) == [done]


# -- migration 10 -----------------------------------------------------------------------


def old_rows() -> tuple[list[tuple[str, str, str]], dict[str, set[str]]]:
    """Content rows of an index before migration 10 (1,200 trees: pages of 500 crossed),
    and the trees each member must be found in after it."""
    rows, expect = [], {}
    for n in range(1200):
        tree, sub = dir_of(10_000 + n), dir_of(n % 300)
        rows.append((tree, "dir", json.dumps({"subdirs": {"a": sub, "b": dir_of(7777)}})))
        expect.setdefault(sub, set()).add(tree)
        expect.setdefault(dir_of(7777), set()).add(tree)
    rows += [
        (dir_of(20_001), "dir", '{"subdirs": '),  # damaged: lists none, reported when read
        (dir_of(20_002), "dir", json.dumps({"subdirs": f'"{dir_of(1)}"'})),  # not a map
        (dir_of(20_003), "file", json.dumps({"subdirs": {"x": dir_of(1)}})),  # not a tree
        (dir_of(20_004), "dir", json.dumps({"files": {"x": dir_of(1)}})),  # a file
        (dir_of(20_005), "dir", "{}"),
    ]
    return rows, expect


def check_backfilled(index: MetadataIndex, expect: dict[str, set[str]]) -> None:
    assert index.schema_version >= MEMBERS_V10 and index.check() == []
    for member, trees in expect.items():
        assert set(index.trees_containing(member, limit=2000)) == trees
    assert members_of(index, dir_of(20_003)) == [dir_of(1)]  # kept, found once a dir
    assert dangling(index) == 0


def test_migration_10_backfills_the_members_of_existing_trees(tmp_path: Path) -> None:
    path = tmp_path / "v9.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    apply_migrations(db, 0, MEMBERS_V10 - 1)
    rows, expect = old_rows()
    db.executemany("INSERT INTO content (cid, kind, metadata, created) VALUES (?, ?, ?, 1)", rows)
    db.close()
    with MetadataIndex(path) as index:
        check_backfilled(index, expect)


# -- the model: members found == members recorded ----------------------------------------

TREES = [dir_of(n) for n in range(6)]
SUBS = [dir_of(n) for n in range(100, 106)]


class TreeMembersMachine(RuleBasedStateMachine):
    """Directory rows written, rewritten and forgotten; the model is each row's kind and
    the sub-directories its metadata lists. ``where``: None for a new SQLite file, or a
    PostgreSQL URL (emptied first)."""

    where: str | None = None

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory(prefix="members-")
        self.index = open_index(self.where or str(Path(self.dir.name) / "index.sqlite3"))
        if self.where:
            with self.index.transaction() as db:
                db.execute("TRUNCATE content, locations, tags, tree_members")
        self.rows: dict[str, tuple[str, set[str]]] = {}  # tree -> (kind, members)

    def teardown(self) -> None:
        self.index.close()
        self.dir.cleanup()

    @rule(
        trees=st.lists(
            st.tuples(
                st.sampled_from(TREES),
                st.sampled_from(["dir", "file"]),
                st.dictionaries(st.text("ab/", min_size=1, max_size=3), st.sampled_from(SUBS)),
            ),
            min_size=1,
            max_size=3,
        )
    )
    def write(self, trees: list[tuple[str, str, dict[str, str]]]) -> None:
        self.index.upsert_many([(t, None, k, None, {"subdirs": s}) for t, k, s in trees])
        for tree, kind, subdirs in trees:
            self.rows[tree] = (kind, set(subdirs.values()))

    @rule(tree=st.sampled_from(TREES), kind=st.sampled_from(["dir", "file"]))
    def change_kind(self, tree: str, kind: str) -> None:
        self.index.upsert_content(tree, kind=kind)  # the metadata kept
        self.rows[tree] = (kind, self.rows.get(tree, ("", set()))[1])

    @rule(tree=st.sampled_from(TREES))
    def drop(self, tree: str) -> None:
        self.index.drop(tree)
        self.rows.pop(tree, None)

    @invariant()
    def members_found_are_members_recorded(self) -> None:
        for sub in SUBS:
            want = {t for t, (kind, subs) in self.rows.items() if kind == "dir" and sub in subs}
            assert set(self.index.trees_containing(sub, limit=len(TREES))) == want
        assert dangling(self.index) == 0


TreeMembersMachine.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_tree_members_machine = TreeMembersMachine.TestCase


def test_a_damaged_tree_row_does_not_hide_the_sound_trees_listing_a_member(
    make_index: IndexFactory,
) -> None:
    """One tree row with damaged metadata made its members unservable by their own CID
    (the gateway answered 502 IndexCorruptError) though a sound tree listed them too
    (a14b item 7): the damaged row is skipped, the sound one found."""
    from ipfs_kit_py.errors import IndexCorruptError

    index = make_index()
    sub, older, newer = dir_of(1), dir_of(2), dir_of(3)
    for tree in (older, newer):
        index.upsert_content(tree, kind="dir", metadata={"subdirs": {"s": sub}})
    assert index.trees_containing(sub) == [newer, older]
    with index.transaction() as db:  # the newest row, tried first, damaged
        db.execute("UPDATE content SET metadata = ? WHERE cid = ?", ("[1, 2]", newer))
    assert index.trees_containing(sub) == [older]
    with index.transaction() as db:
        db.execute("UPDATE content SET metadata = ? WHERE cid = ?", ("{not json", older))
    with pytest.raises(IndexCorruptError):  # only damaged rows: reported, not a miss
        index.trees_containing(sub)
