"""The metadata index's tables, as numbered migrations, and the records read from them.

The schema version is SQLite's ``PRAGMA user_version``: migration ``n`` (counting from
one) brings a database from version ``n - 1`` to ``n``. Add a migration; never edit one.
A migration whose rows derive from the data already there (parsing JSON, one text for
both engines) has a Python step in :data:`BACKFILLS`, run right after its statements.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "LOCATION_COLUMNS",
    "MIGRATIONS",
    "ContentRecord",
    "Location",
    "apply_migrations",
    "backfill",
    "location_from_row",
    "migration_statements",
    "tree_members",
]

MIGRATIONS: tuple[str, ...] = (
    # 1: content and where it lives
    """
    CREATE TABLE content (
        cid TEXT PRIMARY KEY,
        size INTEGER,
        kind TEXT NOT NULL DEFAULT 'file',
        profile TEXT,
        created REAL NOT NULL,
        last_access REAL,
        access_count INTEGER NOT NULL DEFAULT 0,
        metadata TEXT NOT NULL DEFAULT '{}'
    ) WITHOUT ROWID;
    CREATE TABLE locations (
        cid TEXT NOT NULL,
        backend TEXT NOT NULL,
        locator TEXT NOT NULL,
        stored_at REAL NOT NULL,
        last_verified_at REAL,
        pinned INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (cid, backend)
    ) WITHOUT ROWID;
    CREATE INDEX locations_backend ON locations (backend, cid);
    """,
    # 2: user tags, and copies found bad by verification
    """
    CREATE TABLE tags (
        cid TEXT NOT NULL,
        tag TEXT NOT NULL,
        PRIMARY KEY (cid, tag)
    ) WITHOUT ROWID;
    CREATE INDEX tags_tag ON tags (tag, cid);
    ALTER TABLE locations ADD COLUMN bad INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX content_size ON content (size);
    CREATE INDEX content_last_access ON content (last_access);
    """,
    # 3: identity of a verified local file (inode:size:mtime_ns), to skip re-hashing it
    """
    ALTER TABLE locations ADD COLUMN stamp TEXT;
    """,
    # 4: a copy that vanished is marked missing (when, why), never silently dropped; an
    # add in progress marks its content row pending (the adding process's id)
    """
    ALTER TABLE locations ADD COLUMN missing INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE locations ADD COLUMN marked_at REAL;
    ALTER TABLE locations ADD COLUMN reason TEXT;
    ALTER TABLE content ADD COLUMN pending_pid INTEGER;
    CREATE INDEX content_pending ON content (pending_pid) WHERE pending_pid IS NOT NULL;
    """,
    # 5: S3 multipart uploads in flight (endpoint, bucket, key, when, which process), so
    # one whose abort failed (server down, process killed) is found and aborted later
    """
    CREATE TABLE s3_uploads (
        endpoint TEXT NOT NULL,
        bucket TEXT NOT NULL,
        key TEXT NOT NULL,
        started REAL NOT NULL,
        owner TEXT NOT NULL,
        PRIMARY KEY (endpoint, bucket, key, started, owner)
    ) WITHOUT ROWID;
    """,
    # 6: node-aware locations: a copy in a node-local tier (memory, disk) belongs to the
    # node that holds it (``node``; '' for shared tiers and single-machine indexes), an add
    # in progress names its node, and the policy workers share a repair queue with leases
    """
    CREATE TABLE locations_v6 (
        cid TEXT NOT NULL,
        backend TEXT NOT NULL,
        node TEXT NOT NULL DEFAULT '',
        locator TEXT NOT NULL,
        stored_at REAL NOT NULL,
        last_verified_at REAL,
        pinned INTEGER NOT NULL DEFAULT 0,
        bad INTEGER NOT NULL DEFAULT 0,
        stamp TEXT,
        missing INTEGER NOT NULL DEFAULT 0,
        marked_at REAL,
        reason TEXT,
        PRIMARY KEY (cid, backend, node)
    ) WITHOUT ROWID;
    INSERT INTO locations_v6 (cid, backend, locator, stored_at, last_verified_at, pinned, bad,
        stamp, missing, marked_at, reason)
        SELECT cid, backend, locator, stored_at, last_verified_at, pinned, bad, stamp, missing,
        marked_at, reason FROM locations;
    DROP TABLE locations;
    ALTER TABLE locations_v6 RENAME TO locations;
    CREATE INDEX locations_backend ON locations (backend, cid);
    ALTER TABLE content ADD COLUMN pending_node TEXT;
    CREATE TABLE repair_queue (
        cid TEXT PRIMARY KEY,
        queued_at REAL NOT NULL,
        lease_owner TEXT,
        lease_expires REAL NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
    ) WITHOUT ROWID;
    CREATE INDEX repair_queue_due ON repair_queue (lease_expires, queued_at);
    """,
    # 7: a pending add names its process by pid and start time, so a later process given
    # the same pid does not keep a dead add pending (NULL in older rows: the pid alone)
    """
    ALTER TABLE content ADD COLUMN pending_started TEXT;
    """,
    # 8: Storacha uploads in progress (one source, space and shard size each) and the
    # shards the service accepted, so a run after an interruption sends only the rest
    """
    CREATE TABLE storacha_uploads (
        id TEXT PRIMARY KEY,
        space TEXT NOT NULL,
        source TEXT NOT NULL,
        options TEXT NOT NULL,
        stamp TEXT NOT NULL,
        started REAL NOT NULL,
        owner TEXT NOT NULL,
        index_cid TEXT
    ) WITHOUT ROWID;
    CREATE TABLE storacha_shards (
        upload TEXT NOT NULL,
        position INTEGER NOT NULL,
        cid TEXT NOT NULL,
        size INTEGER NOT NULL,
        piece TEXT,
        PRIMARY KEY (upload, position)
    ) WITHOUT ROWID;
    """,
    # 9: nodes that serve their own copies (``ipfs-kit serve``): the URL each advertises,
    # its last heartbeat, and when the advertisement goes stale if it is not renewed;
    # the index's own settings (which node last opened a SQLite file); and the size and
    # last-access indexes hold only rows that have one (a copy recorded in bulk has
    # neither, and a filter on either implies it is not NULL)
    """
    CREATE TABLE nodes (
        node TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        heartbeat REAL NOT NULL,
        expires REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    DROP INDEX content_size;
    CREATE INDEX content_size ON content (size) WHERE size IS NOT NULL;
    DROP INDEX content_last_access;
    CREATE INDEX content_last_access ON content (last_access) WHERE last_access IS NOT NULL;
    """,
    # 10: the sub-directories each directory row lists (``metadata["subdirs"]``), so the
    # trees holding a CID are one indexed lookup, not a scan of every row (a gateway asks
    # for any CID it is sent); filled from the rows already there (see BACKFILLS)
    """
    CREATE TABLE tree_members (
        member TEXT NOT NULL,
        tree TEXT NOT NULL,
        PRIMARY KEY (member, tree)
    ) WITHOUT ROWID;
    CREATE INDEX tree_members_tree ON tree_members (tree, member);
    """,
)


class Executes(Protocol):
    """A connection running the index's SQL (``?`` parameters): SQLite's, or the
    PostgreSQL index's wrapper."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...

    def executemany(self, sql: str, params: Iterable[Sequence[Any]], /) -> Any: ...


def tree_members(metadata: Mapping[str, Any] | None) -> list[str]:
    """The sub-directory CIDs (keys) a content row's metadata lists: the values of its
    ``subdirs`` (path -> CID), each once, sorted. Recorded whatever the row's kind (a
    later change of kind keeps the metadata); only directories are looked up by them."""
    subdirs = metadata.get("subdirs") if metadata is not None else None
    if not isinstance(subdirs, dict):
        return []
    # text only, and no NUL (PostgreSQL stores none; no CID key holds one)
    return sorted({v for v in subdirs.values() if isinstance(v, str) and "\x00" not in v})


def _backfill_tree_members(db: Executes) -> None:
    """Migration 10's rows: the members every row already recorded lists, read a page at a
    time in key order (a row whose metadata is damaged lists none)."""
    after = ""
    while True:
        rows = db.execute(
            "SELECT cid, metadata FROM content WHERE cid > ? AND metadata LIKE '%\"subdirs\"%' "
            "ORDER BY cid LIMIT 500",
            (after,),
        ).fetchall()
        if not rows:
            return
        pairs = [(m, str(tree)) for tree, meta in rows for m in tree_members(_json(meta))]
        if pairs:
            db.executemany(
                "INSERT INTO tree_members (member, tree) VALUES (?, ?) ON CONFLICT DO NOTHING",
                pairs,
            )
        after = str(rows[-1][0])


def _json(text: Any) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


# migration number (counting from one) -> rows it derives from the data already there,
# in Python (both engines, one text), run right after its statements
BACKFILLS: dict[int, Callable[[Executes], None]] = {10: _backfill_tree_members}


def backfill(version: int, db: Executes) -> None:
    """Run migration ``version + 1``'s backfill, if it has one (after its statements)."""
    step = BACKFILLS.get(version + 1)
    if step is not None:
        step(db)


def apply_migrations(db: sqlite3.Connection, current: int, target: int) -> None:
    """Run migrations ``current + 1`` .. ``target`` on ``db`` (inside the caller's transaction)."""
    for version in range(current, target):
        for statement in migration_statements(version):
            db.execute(statement)
        backfill(version, db)
        db.execute(f"PRAGMA user_version = {version + 1}")


def migration_statements(version: int, *, postgres: bool = False) -> list[str]:
    """The statements of migration ``version + 1``, in SQLite's or PostgreSQL's words.

    One text serves both engines: PostgreSQL reads ``REAL`` as ``DOUBLE PRECISION`` and
    ``INTEGER`` as ``BIGINT`` (sizes past 2 GiB), and has no ``WITHOUT ROWID`` tables.
    """
    statements = [s for s in MIGRATIONS[version].split(";") if s.strip()]
    if not postgres:
        return statements
    out = []
    for statement in statements:
        statement = statement.replace("WITHOUT ROWID", "")
        statement = re.sub(r"\bREAL\b", "DOUBLE PRECISION", statement)
        out.append(re.sub(r"\bINTEGER\b", "BIGINT", statement))
    return out


@dataclass(frozen=True, slots=True)
class Location:
    """One copy of a CID in one backend."""

    cid: str
    backend: str
    locator: str
    stored_at: float
    last_verified_at: float | None = None
    pinned: bool = False
    bad: bool = False
    stamp: str | None = None
    missing: bool = False
    marked_at: float | None = None  # when it was found bad or missing
    reason: str | None = None  # why
    node: str = ""  # the node holding a copy in a node-local tier; '' for shared tiers

    @property
    def state(self) -> str:
        """``good``, ``bad`` (does not match its CID) or ``missing`` (the tier lacks it)."""
        return "missing" if self.missing else "bad" if self.bad else "good"


@dataclass(frozen=True, slots=True)
class ContentRecord:
    """What the index knows about one CID."""

    cid: str
    size: int | None
    kind: str
    profile: str | None
    created: float
    last_access: float | None
    access_count: int
    metadata: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()


LOCATION_COLUMNS = (
    "cid, backend, locator, stored_at, last_verified_at, pinned, bad, stamp, missing, "
    "marked_at, reason, node"
)


def location_from_row(row: tuple[Any, ...]) -> Location:
    """A :class:`Location` from a row of :data:`LOCATION_COLUMNS`."""
    cid, backend, locator, stored, verified, pinned, bad, stamp, missing, at, why, node = row
    return Location(
        cid,
        backend,
        locator,
        stored,
        verified,
        bool(pinned),
        bool(bad),
        stamp,
        bool(missing),
        at,
        why,
        str(node),
    )
