"""MetadataIndex: which backend holds which CID, and what we know about each CID.

One SQLite file (WAL, ``busy_timeout``) shared by every process of one user, under
``$XDG_DATA_HOME/ipfs-kit/index.sqlite3`` by default; or a PostgreSQL database shared by
many machines (:mod:`ipfs_kit_py.index_postgres`, chosen by :func:`open_index`). Keys are
always :func:`~ipfs_kit_py.content.cid.cid_key` strings. Schema changes are numbered
migrations (SQLite's ``PRAGMA user_version``). The SQL here is written once for both
engines: ``?`` parameters, ``ON CONFLICT`` upserts, single-statement updates.

Copies in node-local tiers (memory, disk) carry the node that holds them; a node reads
only its own and the shared tiers' copies, but counts every node's towards a policy.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import operator
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ipfs_kit_py.advertise import peer_url
from ipfs_kit_py.config import xdg_dir
from ipfs_kit_py.content.cid import cid_key, parse_cid
from ipfs_kit_py.errors import (
    ConfigurationError,
    IndexCorruptError,
    InvalidInputError,
    MetadataIndexError,
)
from ipfs_kit_py.index_schema import (
    LOCATION_COLUMNS,
    MIGRATIONS,
    ContentRecord,
    Executes,
    Location,
    apply_migrations,
    location_from_row,
    tree_members,
)
from ipfs_kit_py.resource import Closeable

__all__ = [
    "LOCAL_TIERS",
    "MIGRATIONS",
    "ContentRecord",
    "Location",
    "MetadataIndex",
    "default_index_path",
    "open_index",
    "valid_node_id",
]

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID

T = TypeVar("T")

LOCAL_TIERS = ("memory", "disk")  # tiers whose copies live on one node only


def valid_node_id(node_id: object) -> bool:
    """True for a usable node id: printable text up to 200 characters, no space at either
    end (``"a "`` and ``"a"`` would name two nodes no one can tell apart); '' is none."""
    return (
        isinstance(node_id, str)
        and len(node_id) <= 200
        and node_id.isprintable()
        and node_id == node_id.strip()
    )


def default_index_path(env: Mapping[str, str] | None = None) -> Path:
    """Return ``$XDG_DATA_HOME/ipfs-kit/index.sqlite3``."""
    return xdg_dir("DATA", env) / "index.sqlite3"


def open_index(
    where: Path | str | None = None,
    *,
    node_id: str = "",
    local_tiers: Iterable[str] = LOCAL_TIERS,
    recover: bool = True,
) -> MetadataIndex:
    """Open the index at ``where``: a ``postgresql://`` URL, or a SQLite file path."""
    if isinstance(where, str) and where.startswith(("postgresql://", "postgres://")):
        from ipfs_kit_py.index_postgres import PostgresIndex  # psycopg only when asked

        return PostgresIndex(where, node_id=node_id, local_tiers=local_tiers, recover=recover)
    return MetadataIndex(where, node_id=node_id, local_tiers=local_tiers, recover=recover)


_B32 = "abcdefghijklmnopqrstuvwxyz234567"
_B32_SET = frozenset(_B32)
_TO_B32HEX = str.maketrans(_B32, "0123456789abcdefghijklmnopqrstuv")  # int(..., 32)'s digits


# The normal key of a CIDv1 raw or dag-pb sha2-256 CID (almost every key): the prefix
# holds the version, codec and multihash header (its last two bits are the 0s of the
# character after it), then 32 digest bytes, whose last character has 2 padding bits, 0.
_COMMON_KEY = re.compile(r"b(?:afkrei|afybei)[a-h][a-z2-7]{50}[aeimquy4]")
_first = operator.itemgetter(0)


def _key(cid: CID | str) -> str:
    """The normal key of ``cid``; strings take a cached, mostly parse-free path."""
    if isinstance(cid, str):
        return cid if _COMMON_KEY.fullmatch(cid) else _key_from_str(cid)
    return cid_key(cid)


@functools.lru_cache(maxsize=65536)
def _key_from_str(text: str) -> str:
    fast = _canonical_key(text)
    return fast if fast is not None else cid_key(parse_cid(text))


def _canonical_key(text: str) -> str | None:
    """``text`` itself if it already is a normal key of a sha2-256 CID, else None.

    Parsing a CID string with multiformats costs ~0.5 ms; the index is mostly asked
    with keys it handed out, so those are checked structurally instead: lowercase
    base32, CIDv1, a varint codec, a sha2-256 multihash, the exact length, and zero
    padding bits (so the string is the one canonical encoding of its bytes).
    """
    n = len(text)
    if n < 17 or n > 120 or text[0] != "b" or not _B32_SET.issuperset(text[1:]):
        return None
    head = int(text[1:17].translate(_TO_B32HEX), 32).to_bytes(10, "big")
    pos = 1
    while pos < 8 and head[pos] & 0x80:
        pos += 1
    pos += 1
    if head[0] != 1 or head[pos : pos + 2] != b"\x12\x20":
        return None
    bits = (pos + 34) * 8
    if n - 1 != -(-bits // 5):
        return None
    spare = -bits % 5
    return None if _B32.index(text[-1]) & ((1 << spare) - 1) else text


def _connect(path: Path, busy_timeout_ms: int) -> sqlite3.Connection:
    db = sqlite3.connect(
        str(path), timeout=busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False
    )
    try:
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA cache_size = -65536")  # 64 MiB: 1M-CID indexes stay hot
    except BaseException:
        db.close()
        raise
    return db


def _sqlite_errors(method: Callable[..., T]) -> Callable[..., T]:
    """Raise :class:`MetadataIndexError` for any SQLite (or file) error under ``method``
    (a generator method's too, while it is read)."""
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def generator(self: MetadataIndex, *args: Any, **kwargs: Any) -> Any:
            with _mapped_errors(self, method.__name__):
                yield from method(self, *args, **kwargs)

        return generator

    @functools.wraps(method)
    def wrapper(self: MetadataIndex, *args: Any, **kwargs: Any) -> T:
        with _mapped_errors(self, method.__name__):
            return method(self, *args, **kwargs)

    return wrapper


@contextmanager
def _mapped_errors(index: MetadataIndex, name: str) -> Iterator[None]:
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        if getattr(index, "_opening", False) and name != "__init__":
            raise  # __init__ tells a damaged file (IndexCorruptError) from the rest
        raise MetadataIndexError(f"index {index.location}: {_reason(exc)}") from exc
    except (OverflowError, UnicodeEncodeError) as exc:  # a value SQLite cannot bind
        raise InvalidInputError(f"cannot look that up in the index: {exc}") from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc):
        return "the file is not an ipfs-kit index (corrupt?); move it away to start a new one"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


class MetadataIndex(Closeable):
    """The SQLite index of content and locations; safe across threads and processes.

    A damaged file surfaces as :class:`IndexCorruptError`; every other SQLite or file
    error as :class:`MetadataIndexError`.
    """

    @_sqlite_errors
    def __init__(
        self,
        path: Path | str | None = None,
        *,
        busy_timeout_ms: int = 30_000,
        recover: bool = True,
        node_id: str = "",
        local_tiers: Iterable[str] = LOCAL_TIERS,
    ) -> None:
        """Open (creating and migrating) the index; ``recover`` finishes interrupted adds.

        ``node_id`` names this machine's copies in ``local_tiers`` ('' on a single machine).

        Raises :class:`IndexCorruptError` naming the file if it is not a sound SQLite
        database (``ipfs-kit index rebuild`` makes a new one from the tiers), and
        :class:`MetadataIndexError` (a ConfigurationError) if ``path`` cannot hold one.
        """
        self._opening = True
        self._set_node(node_id, local_tiers)
        self.path = Path(path) if path is not None else default_index_path()
        self._lock = threading.RLock()
        self._depth = 0
        self._busy_ms = busy_timeout_ms
        try:
            if str(self.path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._errors(opening=True):
                self._db = _connect(self.path, busy_timeout_ms)
        except (OSError, sqlite3.DatabaseError) as exc:  # by type: not a database, unwritable
            reason = _reason(exc)
            raise MetadataIndexError(f"cannot open the index {self.path}: {reason}") from exc
        try:
            with self._errors(opening=True):
                self.migrate()
                self._check_schema()
                self._adopt_unowned()
                if recover:
                    self.recover_pending()
            self._opening = False
        except BaseException as exc:
            self._db.close()
            if isinstance(exc, sqlite3.DatabaseError):
                reason = _reason(exc)
                raise MetadataIndexError(f"cannot open the index {self.path}: {reason}") from exc
            raise

    dialect = "sqlite"
    # "now" in Unix seconds by the database's clock, for advertisements: SQLite's file is
    # one machine's, whose clock every process on it shares
    db_now = "((julianday('now') - 2440587.5) * 86400.0)"

    def _set_node(self, node_id: str, local_tiers: Iterable[str]) -> None:
        if not valid_node_id(node_id):
            shown = repr(node_id)[:80]
            raise InvalidInputError(
                f"a node id is printable text (<= 200 chars, no space at either end): {shown}"
            )
        self.node_id = node_id
        self.local_tiers = frozenset(local_tiers)

    def _adopt_unowned(self) -> None:
        """Give this node the local copies (and adds in progress) recorded without one.

        A SQLite file is one machine's: copies written before a node id was set (node
        ``''``) are this node's. The file remembers the last node id that opened it, so
        the scan runs only when that changes (a node-less open resets it, so rows it
        writes are adopted by the next node that opens the file).
        """
        rows = self._read("SELECT value FROM settings WHERE key = 'node'")
        if (rows[0][0] if rows else "") == self.node_id:
            return
        with self.transaction() as db:
            if self.node_id:
                _adopt_rows(db, self.node_id, sorted(self.local_tiers))
            db.execute(
                "INSERT INTO settings (key, value) VALUES ('node', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (self.node_id,),
            )

    def _node(self, backend: str) -> str:
        """The ``node`` column of a copy in ``backend``: this node's id for local tiers."""
        return self.node_id if backend in self.local_tiers else ""

    @property
    def location(self) -> str:
        """Where the index lives: its file, or its database URL without a password."""
        return str(self.path)

    @contextmanager
    def _errors(self, *, opening: bool = False) -> Iterator[None]:
        """Turn SQLite's corruption errors into :class:`IndexCorruptError` naming the file.

        While ``opening``, any error but the environment's (busy, locked, I/O, full,
        read-only, permissions) means the file is not a usable index.
        """
        try:
            yield
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            name = getattr(exc, "sqlite_errorname", "")
            undecodable = isinstance(exc, UnicodeDecodeError) or str(exc).startswith(_UNDECODABLE)
            corrupt = undecodable or name in _CORRUPT  # damaged text, or a damaged page
            if opening and not corrupt:
                corrupt = not name.startswith(_ENVIRONMENT)
            if not corrupt:
                raise
            raise IndexCorruptError(
                f"the index {self.path} is damaged ({exc}); `ipfs-kit index rebuild` "
                "moves it aside and rebuilds it from what the tiers hold",
                path=str(self.path),
            ) from exc

    def _check_schema(self) -> None:
        """Every table and column the migrations make is there (a damaged schema is not)."""
        for table, columns in _expected_schema().items():
            rows = self._db.execute(f"PRAGMA table_info({table})").fetchall()
            if not columns <= {str(r[1]) for r in rows}:
                raise IndexCorruptError(
                    f"the index {self.path} lacks columns of table {table}: its schema is "
                    "damaged; `ipfs-kit index rebuild` rebuilds it from what the tiers hold",
                    path=str(self.path),
                )

    def _metadata(self, text: Any) -> dict[str, Any]:
        """A record's JSON metadata; damaged metadata is :class:`IndexCorruptError`."""
        try:
            value = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise IndexCorruptError(
                f"the index {self.location} holds damaged metadata ({exc}); "
                "`ipfs-kit index rebuild` rebuilds it from what the tiers hold",
                path=str(self.location),
            ) from exc
        if not isinstance(value, dict):
            raise IndexCorruptError(
                f"the index {self.location} holds damaged metadata (not an object)",
                path=str(self.location),
            )
        return value

    def __repr__(self) -> str:
        return f"MetadataIndex({str(self.path)!r})"

    def close(self) -> None:
        """Close the connection; idempotent."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None  # type: ignore[assignment]

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self, target: int | None = None) -> None:
        """Apply the numbered migrations up to ``target`` (default: all), each atomically."""
        target = len(MIGRATIONS) if target is None else target
        with self.transaction():
            current = self.schema_version
            if current > len(MIGRATIONS):
                raise ConfigurationError(
                    f"index {self.location} has schema {current}, newer than this version "
                    f"of ipfs_kit_py understands ({len(MIGRATIONS)})"
                )
            apply_migrations(self._db, current, target)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Hold the write lock (``BEGIN IMMEDIATE``) across processes; nested calls join it.

        The tier manager commits files and records them inside one transaction, so the
        index and the disk never disagree for another process.
        """
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._db
                finally:
                    self._depth -= 1
                return
            self._execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                with self._errors():
                    yield self._db
            except BaseException:
                if self._db.in_transaction:
                    self._execute("ROLLBACK")
                raise
            else:
                self._execute("COMMIT")
            finally:
                self._depth = 0

    def lock_cid(self, cid: CID | str, *, wait: bool = True) -> bool:
        """Hold ``cid`` against other writers until the caller's transaction ends.

        Inside :meth:`transaction` only. A check of its copies followed by a change (is
        this the last copy? then keep it) is exact while held. SQLite's write lock holds
        every CID already; PostgreSQL takes an advisory lock on the CID, waiting for it,
        or (``wait=False``) returning False at once if another transaction holds it.
        """
        _key(cid)  # a bad CID is InvalidInputError, as for every other call
        if not self._depth:
            raise InvalidInputError("lock_cid holds a CID for a transaction: call it in one")
        return True

    def _execute(self, sql: str) -> None:
        try:
            with self._errors():  # damage: IndexCorruptError
                self._db.execute(sql)
        except sqlite3.Error as exc:
            if self._opening:
                raise  # __init__ tells a damaged file from the rest
            raise MetadataIndexError(f"index {self.path}: {_reason(exc)}") from exc

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock, self._errors():
            return self._db.execute(sql, params).fetchall()

    def check(self) -> list[str]:
        """SQLite's integrity check of the file: an empty list when it is sound."""
        with self._lock, self._errors():
            rows = self._db.execute("PRAGMA integrity_check").fetchall()
        problems = [str(r[0]) for r in rows]
        return [] if problems == ["ok"] else problems

    # -- content ----------------------------------------------------------------------

    def upsert_content(
        self,
        cid: CID | str,
        *,
        size: int | None = None,
        kind: str = "file",
        profile: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Create or update the record of ``cid``; given fields overwrite stored ones."""
        self.upsert_many([(cid, size, kind, profile, metadata)])

    def upsert_many(
        self,
        rows: Iterable[tuple[CID | str, int | None, str, str | None, Mapping[str, Any] | None]],
    ) -> None:
        """Bulk :meth:`upsert_content` in one transaction: (cid, size, kind, profile, meta).

        Given metadata replaces the stored one, and with it the row's tree members (the
        sub-directories a directory lists, :meth:`trees_containing`).
        """
        now = time.time()
        rows = list(rows)
        params = [
            (_key(c), s, _text(k), _text(p), json.dumps(dict(m or {})), now, m is not None)
            for c, s, k, p, m in rows
        ]
        members = {  # of two rows for one CID, the last with metadata wins (as below)
            param[0]: tree_members(m)
            for param, (_, _, _, _, m) in zip(params, rows, strict=True)
            if m is not None
        }
        with self.transaction() as db:
            db.executemany(
                """INSERT INTO content (cid, size, kind, profile, metadata, created)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (cid) DO UPDATE SET
                     size = coalesce(excluded.size, content.size), kind = excluded.kind,
                     profile = coalesce(excluded.profile, content.profile),
                     metadata = CASE WHEN ? THEN excluded.metadata ELSE content.metadata END""",
                params,
            )
            # after the rows: a concurrent writer of one tree waits for its row first
            _set_members(db, list(members.items()))

    def begin_add(
        self, cid: CID | str, *, size: int | None, kind: str = "file", profile: str | None = None
    ) -> None:
        """Create or update the record of ``cid`` as being added by this process.

        Until :meth:`finish_add`, the row carries this process's id; if the process dies
        first, the next open completes the row (a copy was recorded) or rolls it back.
        """
        from ipfs_kit_py.debris import process_start_time  # only writers need it

        with self.transaction() as db:  # one write: the row and its mark together
            self.upsert_content(cid, size=size, kind=kind, profile=profile)
            pid = os.getpid()
            db.execute(
                "UPDATE content SET pending_pid = ?, pending_started = ?, pending_node = ? "
                "WHERE cid = ?",
                (pid, process_start_time(pid) or None, self.node_id, _key(cid)),
            )

    def finish_add(self, cid: CID | str) -> None:
        """The add of ``cid`` by this process is over (stored, or failed and rolled back)."""
        with self.transaction() as db:
            db.execute(
                "UPDATE content SET pending_pid = NULL, pending_started = NULL, "
                "pending_node = NULL "
                "WHERE cid = ? AND pending_pid = ? AND coalesce(pending_node, '') = ?",
                (_key(cid), os.getpid(), self.node_id),
            )

    def rollback_add(self, cid: CID | str) -> None:
        """Undo :meth:`begin_add` of a failed add: drop the row if no copy was recorded."""
        key = _key(cid)
        with self.transaction() as db:  # one statement each: a copy recorded meanwhile wins
            db.execute(
                "DELETE FROM tags WHERE cid = ? AND NOT EXISTS "
                "(SELECT 1 FROM locations WHERE cid = ?)",
                (key, key),
            )
            db.execute(
                "DELETE FROM content WHERE cid = ? AND pending_pid = ? "
                "AND coalesce(pending_node, '') = ? "
                "AND NOT EXISTS (SELECT 1 FROM locations WHERE cid = ?)",
                (key, os.getpid(), self.node_id, key),
            )
            _drop_orphan_members(db, key)
        self.finish_add(cid)

    def recover_pending(self) -> tuple[int, int]:
        """Settle rows of adds whose process died: (completed, rolled back).

        A row with a recorded copy is complete; a row without one is dropped, so ``ls``
        never lists content that ``whereis`` denies.
        """
        rows = self._read(
            "SELECT cid, pending_pid, pending_started FROM content "
            "WHERE pending_pid IS NOT NULL "
            "AND coalesce(pending_node, '') = ?",  # only this node can tell its pids' fate
            (self.node_id,),
        )
        completed = rolled_back = 0
        if not rows:
            return completed, rolled_back  # the usual case
        from ipfs_kit_py.debris import process_alive  # a read-only start does not load it

        dead = [(key, pid) for key, pid, started in rows if not process_alive(int(pid), started)]
        if not dead:
            return completed, rolled_back  # every writer still runs: no write lock taken
        with self.transaction() as db:
            for key, pid in dead:
                if db.execute(
                    "UPDATE content SET pending_pid = NULL, pending_started = NULL, "
                    "pending_node = NULL WHERE cid = ? AND pending_pid = ? AND EXISTS "
                    "(SELECT 1 FROM locations WHERE cid = ?)",
                    (key, pid, key),
                ).rowcount:
                    completed += 1
                    continue
                db.execute(
                    "DELETE FROM tags WHERE cid = ? AND NOT EXISTS "
                    "(SELECT 1 FROM locations WHERE cid = ?)",
                    (key, key),
                )
                rolled_back += db.execute(
                    "DELETE FROM content WHERE cid = ? AND pending_pid = ? AND NOT EXISTS "
                    "(SELECT 1 FROM locations WHERE cid = ?)",
                    (key, pid, key),
                ).rowcount
                _drop_orphan_members(db, key)
        if dead:
            logger.info("interrupted adds: %d completed, %d rolled back", completed, rolled_back)
        return completed, rolled_back

    def content(self, cid: CID | str) -> ContentRecord | None:
        """Return the record of ``cid``, or None if the index never saw it."""
        key = _key(cid)
        rows = self._read(
            "SELECT cid, size, kind, profile, created, last_access, access_count, metadata "
            "FROM content WHERE cid = ?",
            (key,),
        )
        if not rows:
            return None
        tags = tuple(r[0] for r in self._read("SELECT tag FROM tags WHERE cid = ?", (key,)))
        c, size, kind, profile, created, last, count, meta = rows[0]
        return ContentRecord(
            c, size, kind, profile, created, last, count, self._metadata(meta), tags
        )

    def trees_containing(self, cid: CID | str, *, limit: int = 8) -> list[str]:
        """The directories (newest first, at most ``limit``) that record ``cid`` as one of
        their sub-directories (``metadata["subdirs"]``): one indexed lookup of the tree
        members table, each tree then checked to list ``cid`` still. A tree row whose
        metadata is damaged is skipped (logged) so it cannot hide the sound ones; if it
        hid the only ones, :class:`IndexCorruptError` reports it."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidInputError(f"trees_containing needs a limit >= 1, got {limit!r}")
        key, found, offset, page = _key(cid), [], 0, max(limit, 8)
        damage: IndexCorruptError | None = None
        while True:
            rows = self._read(
                "SELECT c.cid, c.metadata FROM tree_members m JOIN content c ON c.cid = m.tree "
                "WHERE m.member = ? AND c.kind = 'dir' ORDER BY c.created DESC, c.cid "
                f"LIMIT {page} OFFSET {offset}",
                (key,),
            )
            for tree, meta in rows:  # the exact check: the row lists it now
                try:
                    listed = key in tree_members(self._metadata(meta))
                except IndexCorruptError as exc:
                    logger.warning("skipping tree %s: %s", tree, exc)
                    damage = damage or exc
                    continue
                if listed:
                    found.append(str(tree))
                    if len(found) == limit:
                        return found
            if len(rows) < page:
                if not found and damage is not None:
                    raise damage
                return found
            offset += page

    def profile(self, cid: CID | str) -> str | None:
        """The import profile key recorded for ``cid`` (one indexed lookup)."""
        rows = self._read("SELECT profile FROM content WHERE cid = ?", (_key(cid),))
        return rows[0][0] if rows else None

    def record_access(self, accesses: Mapping[str, tuple[int, float]]) -> None:
        """Add access counts and last-access times: ``{cid_key: (count, when)}``, in bulk."""
        if not accesses:
            return
        params = [(n, when, key) for key, (n, when) in accesses.items()]
        with self.transaction() as db:
            db.executemany(
                "UPDATE content SET access_count = access_count + ?, "
                "last_access = CASE WHEN coalesce(last_access, 0) > ? THEN last_access "
                "ELSE ? END WHERE cid = ?",
                [(n, when, when, key) for n, when, key in params],
            )

    def tag(self, cid: CID | str, *tags: str) -> None:
        """Attach user tags to ``cid``."""
        key = _key(cid)
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO tags (cid, tag) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(key, _text(t)) for t in tags],
            )

    def untag(self, cid: CID | str, *tags: str) -> None:
        """Remove user tags from ``cid``."""
        key = _key(cid)
        with self.transaction() as db:
            db.executemany(
                "DELETE FROM tags WHERE cid = ? AND tag = ?", [(key, _text(t)) for t in tags]
            )

    # -- locations --------------------------------------------------------------------

    def record(
        self,
        cid: CID | str,
        backend: str,
        locator: str,
        *,
        pinned: bool | None = None,
        stamp: str | None = None,
    ) -> None:
        """Record that ``backend`` durably holds ``cid`` at ``locator``."""
        self.record_many([(cid, backend, locator, stamp)], pinned=pinned)

    def record_many(
        self,
        rows: Iterable[tuple[CID | str, str, str] | tuple[CID | str, str, str, str | None]],
        *,
        pinned: bool | None = None,
    ) -> None:
        """Bulk :meth:`record` in one transaction: ``(cid, backend, locator[, stamp])``.

        A new record clears the bad and missing marks; ``pinned=None`` keeps the pin state.
        """
        now = time.time()
        keep_pin, pin = pinned is not None, int(bool(pinned))
        local, me = self.local_tiers, self.node_id
        params = [
            (
                _key(r[0]),
                _text(r[1]),
                me if r[1] in local else "",
                _text(r[2]),
                now,
                pin,
                _text(r[3]) if len(r) > 3 else None,
                keep_pin,
            )
            for r in rows
        ]
        # in key order, the B-trees are written page after page instead of all over (a
        # stable sort: of two rows for one copy, the last still wins)
        params.sort(key=_first)
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO content (cid, created) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(p[0], now) for p in params],
            )
            db.executemany(
                """INSERT INTO locations (cid, backend, node, locator, stored_at, pinned, stamp)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (cid, backend, node) DO UPDATE SET
                     locator = excluded.locator, stored_at = excluded.stored_at, bad = 0,
                     missing = 0, marked_at = NULL, reason = NULL, stamp = excluded.stamp,
                     pinned = CASE WHEN ? THEN excluded.pinned ELSE locations.pinned END""",
                params,
            )

    def set_stamp(self, cid: CID | str, backend: str, stamp: str | None) -> None:
        """Remember the file identity of a copy just verified (None forgets it)."""
        with self.transaction() as db:
            db.execute(
                "UPDATE locations SET stamp = ? WHERE cid = ? AND backend = ? AND node = ?",
                (stamp, _key(cid), backend, self._node(backend)),
            )

    def forget(self, cid: CID | str, backend: str) -> bool:
        """Forget the copy of ``cid`` in ``backend``; return True if there was one.

        Only for copies deliberately removed (``remove``, eviction, ``forget``): a copy
        found gone is :meth:`mark_missing` instead, so the ledger keeps the loss.
        """
        with self.transaction() as db:
            cur = db.execute(
                "DELETE FROM locations WHERE cid = ? AND backend = ? AND node = ?",
                (_key(cid), backend, self._node(backend)),
            )
            return cur.rowcount > 0

    def forget_many(self, rows: Iterable[tuple[CID | str, str]]) -> None:
        """Bulk :meth:`forget` in one transaction."""
        with self.transaction() as db:
            db.executemany(
                "DELETE FROM locations WHERE cid = ? AND backend = ? AND node = ?",
                [(_key(c), b, self._node(b)) for c, b in rows],
            )

    def drop(self, cid: CID | str) -> None:
        """Forget ``cid`` entirely: record, tags, locations and the tree members it lists."""
        key = _key(cid)
        with self.transaction() as db:
            for table in ("locations", "tags", "content"):
                db.execute(f"DELETE FROM {table} WHERE cid = ?", (key,))
            db.execute("DELETE FROM tree_members WHERE tree = ?", (key,))

    def locations(
        self, cid: CID | str, *, include_bad: bool = False, all_nodes: bool = False
    ) -> list[Location]:
        """Return the copies of ``cid``: good ones, or with ``include_bad`` also bad and missing.

        Only copies this node can read (shared tiers, its own local tiers), unless
        ``all_nodes`` also asks for other nodes' local copies (for ``whereis``, policies).
        """
        sql = f"SELECT {LOCATION_COLUMNS} FROM locations WHERE cid = ?"
        params: list[Any] = [_key(cid)]
        if not include_bad:
            sql += " AND bad = 0 AND missing = 0"
        if not all_nodes:
            sql += " AND node IN ('', ?)"
            params.append(self.node_id)
        return [location_from_row(r) for r in self._read(sql + " ORDER BY backend, node", params)]

    def set_pinned(self, cid: CID | str, pinned: bool, backend: str | None = None) -> None:
        """Pin (keep) or unpin the copies of ``cid``, or only its copy in ``backend``."""
        sql = "UPDATE locations SET pinned = ? WHERE cid = ?"
        params: list[Any] = [int(pinned), _key(cid)]
        if backend is not None:
            sql += " AND backend = ? AND node = ?"
            params += [backend, self._node(backend)]
        with self.transaction() as db:
            db.execute(sql, params)

    def mark_verified(
        self, cid: CID | str, backend: str, *, ok: bool, reason: str = "does not match its CID"
    ) -> None:
        """Stamp the copy in ``backend`` as verified now, or mark it bad (when, ``reason``)."""
        with self.transaction() as db:
            if ok:
                db.execute(
                    "UPDATE locations SET last_verified_at = ?, bad = 0, missing = 0, "
                    "marked_at = NULL, reason = NULL WHERE cid = ? AND backend = ? AND node = ?",
                    (time.time(), _key(cid), backend, self._node(backend)),
                )
            else:
                db.execute(
                    "UPDATE locations SET bad = 1, missing = 0, reason = ?, "
                    "marked_at = CASE WHEN bad = 1 THEN marked_at ELSE ? END "
                    "WHERE cid = ? AND backend = ? AND node = ?",
                    (_shown(reason), time.time(), _key(cid), backend, self._node(backend)),
                )

    def mark_missing(self, cid: CID | str, backend: str, reason: str) -> bool:
        """Mark the copy in ``backend`` missing (it was recorded, the tier lacks it now).

        The first time it is found missing is kept as ``marked_at``. Returns True if the
        index had a copy there to mark.
        """
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE locations SET missing = 1, bad = 0, reason = ?, "
                "marked_at = CASE WHEN missing = 1 THEN marked_at ELSE ? END "
                "WHERE cid = ? AND backend = ? AND node = ?",
                (_shown(reason), time.time(), _key(cid), backend, self._node(backend)),
            )
            return cur.rowcount > 0

    def is_last_kept_copy(
        self, cid: CID | str, backend: str, *, non_durable: Iterable[str] = ()
    ) -> bool:
        """True if ``cid`` is pinned and ``backend`` holds its only good durable copy.

        Copies in ``non_durable`` tiers (read-only gateways) protect nothing; other nodes'
        local copies do.
        """
        rows = self._read(
            "SELECT backend, node, pinned, bad, missing FROM locations WHERE cid = ?",
            (_key(cid),),
        )
        kept = any(pinned for _, _, pinned, _, _ in rows)
        skip = set(non_durable)
        others = {
            (b, n) for b, n, _, bad, missing in rows if not (bad or missing) and b not in skip
        } - {(backend, self._node(backend))}
        return kept and not others

    # -- queries ----------------------------------------------------------------------

    def query(
        self,
        *,
        backend: str | None = None,
        tag: str | None = None,
        min_size: int | None = None,
        max_size: int | None = None,
        older_than: float | None = None,
        accessed_before: float | None = None,
        min_access_count: int | None = None,
        limit: int | None = None,
    ) -> list[ContentRecord]:
        """Return content records matching every given filter, newest first.

        ``older_than`` / ``accessed_before`` are Unix times.
        """
        sql, params = self._query_sql(
            backend, tag, min_size, max_size, older_than, accessed_before, min_access_count
        )
        if limit is not None and not (isinstance(limit, int) and limit >= 0):
            raise InvalidInputError(f"limit is an int >= 0, got {limit!r}")  # SQLite: -1 is all
        sql += f" LIMIT {int(limit)}" if limit is not None else ""
        return self._records(self._read(sql, params))

    def query_pages(
        self,
        *,
        backend: str | None = None,
        tag: str | None = None,
        min_size: int | None = None,
        max_size: int | None = None,
        older_than: float | None = None,
        accessed_before: float | None = None,
        min_access_count: int | None = None,
        page_size: int = 1000,
    ) -> Iterator[list[ContentRecord]]:
        """:meth:`query` (no limit) a page of records at a time, from one query read as
        it goes: a listing of millions of CIDs never holds them all."""
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
            raise InvalidInputError(f"page_size is an int >= 1, got {page_size!r}")
        sql, params = self._query_sql(
            backend, tag, min_size, max_size, older_than, accessed_before, min_access_count
        )
        for rows in self._stream(sql, params, page_size):
            yield self._records(rows)

    def _query_sql(
        self,
        backend: str | None,
        tag: str | None,
        min_size: int | None,
        max_size: int | None,
        older_than: float | None,
        accessed_before: float | None,
        min_access_count: int | None,
    ) -> tuple[str, list[Any]]:
        where, params = _filters(
            backend, tag, min_size, max_size, older_than, accessed_before, min_access_count
        )
        if backend is not None:  # the copies this node can read
            where.append("c.cid IN (SELECT cid FROM locations WHERE backend = ? AND node = ?)")
            params += [backend, self._node(backend)]
        sql = (
            "SELECT c.cid, c.size, c.kind, c.profile, c.created, c.last_access, "
            "c.access_count, c.metadata FROM content c"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY c.created DESC"
        )
        return sql, params

    def _records(self, rows: Sequence[tuple[Any, ...]]) -> list[ContentRecord]:
        tags = self._tags_for([r[0] for r in rows])
        return [
            ContentRecord(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                self._metadata(r[7]),
                tuple(tags.get(r[0], ())),
            )
            for r in rows
        ]

    def _stream(
        self, sql: str, params: Sequence[Any], size: int
    ) -> Iterator[list[tuple[Any, ...]]]:
        """The rows of one read query, ``size`` at a time, read as it goes on a connection
        of its own: a read left open on the shared one would keep its snapshot, and this
        index's next write would fail (SQLite does not move a reader's snapshot on)."""
        if str(self.path) == ":memory:":  # no second connection: small by nature
            rows = self._read(sql, params)
            yield from (rows[at : at + size] for at in range(0, len(rows), size))
            return
        with self._errors():  # other errors: _sqlite_errors, as query_pages is read
            db = _connect(self.path, self._busy_ms)
        try:
            cursor = db.execute(sql, params)
            while rows := cursor.fetchmany(size):
                yield rows
        finally:
            db.close()

    def cids_in(self, backend: str) -> list[str]:
        """Return every CID key the index places in ``backend`` (not the missing copies)."""
        sql = "SELECT cid FROM locations WHERE backend = ? AND node = ? AND missing = 0"
        return [r[0] for r in self._read(sql, (backend, self._node(backend)))]

    def stats(self) -> dict[str, int]:
        """Counts for a health report: records, copies (good, bad, missing, pinned), pending."""
        copies = self._read(
            "SELECT count(*), coalesce(sum(missing), 0), "
            "coalesce(sum(CASE WHEN bad = 1 AND missing = 0 THEN 1 ELSE 0 END), 0), "
            "coalesce(sum(pinned), 0) FROM locations"
        )[0]
        records, pending, bare = self._read(
            "SELECT count(*), count(pending_pid), "
            "coalesce(sum(CASE WHEN kind != 'dir' AND NOT EXISTS (SELECT 1 FROM locations l "
            "WHERE l.cid = content.cid) THEN 1 ELSE 0 END), 0) FROM content"
        )[0]
        total, missing, bad, pinned = (int(n) for n in copies)
        return {
            "records": int(records),
            "records_without_copies": int(bare),
            "pending_adds": int(pending),
            "copies": total,
            "good": total - missing - bad,
            "bad": bad,
            "missing": missing,
            "pinned": pinned,
        }

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read-only query in the index's SQL (``?`` parameters), for modules
        keeping tables of their own in the index (the repair queue); either engine."""
        return self._read(sql, params)

    def file_cids(self, after: str = "", limit: int = 500) -> list[str]:
        """Up to ``limit`` file (not directory) CID keys after ``after``, in key order:
        one page of a keyset walk over the whole index."""
        if not isinstance(after, str) or isinstance(limit, bool) or not isinstance(limit, int):
            raise InvalidInputError("file_cids takes a key (text) and a limit (int)")
        if limit < 1:
            raise InvalidInputError(f"file_cids needs a limit >= 1, got {limit}")
        sql = f"SELECT cid FROM content WHERE cid > ? AND kind != 'dir' ORDER BY cid LIMIT {limit}"
        return [str(r[0]) for r in self._read(sql, (after,))]

    # -- nodes ------------------------------------------------------------------------

    def advertise(self, url: str, ttl_s: float) -> None:
        """Advertise that this node serves its copies at ``url`` for the next ``ttl_s``
        seconds (call again before then: a heartbeat)."""
        if not self.node_id:
            raise ConfigurationError("only a node with a node id can advertise a URL")
        url = peer_url(url)
        if isinstance(ttl_s, bool) or not isinstance(ttl_s, int | float) or not ttl_s > 0:
            raise InvalidInputError(f"an advertisement lasts > 0 seconds, got {ttl_s!r}")
        with self.transaction() as db:  # the database's clock: this machine's may be off
            db.execute(
                f"INSERT INTO nodes (node, url, heartbeat, expires) "
                f"VALUES (?, ?, {self.db_now}, {self.db_now} + ?) "
                "ON CONFLICT (node) DO UPDATE SET url = excluded.url, "
                "heartbeat = excluded.heartbeat, expires = excluded.expires",
                (self.node_id, url, float(ttl_s)),
            )

    def withdraw(self, url: str | None = None) -> None:
        """Stop advertising this node (only ``url``'s advertisement, if given)."""
        sql, params = "DELETE FROM nodes WHERE node = ?", [self.node_id]
        if url is not None:
            sql += " AND url = ?"
            params.append(peer_url(url))  # as advertise() stored it
        with self.transaction() as db:
            db.execute(sql, params)

    def peers(self) -> dict[str, str]:
        """The other nodes advertising a URL now: node id -> URL (stale ones left out,
        judged by the database's clock, never by this machine's)."""
        rows = self._read(
            f"SELECT node, url FROM nodes WHERE expires > {self.db_now} AND node != ? "
            "ORDER BY node",
            (self.node_id,),
        )
        return {str(node): str(url) for node, url in rows}

    def count(self) -> int:
        """Return the number of CIDs in the index."""
        return int(self._read("SELECT count(*) FROM content")[0][0])

    def page(self, keys: Sequence[str]) -> dict[str, tuple[ContentRecord | None, list[Location]]]:
        """The record and every copy (every node's; bad and missing too) of each key, in
        three queries per 500 keys: what a policy scan of many CIDs reads."""
        out: dict[str, tuple[ContentRecord | None, list[Location]]] = {}
        for start in range(0, len(keys), 500):
            chunk = [_key(k) for k in keys[start : start + 500]]
            marks = ",".join("?" * len(chunk))
            records = self._read(
                "SELECT cid, size, kind, profile, created, last_access, access_count, metadata "
                f"FROM content WHERE cid IN ({marks})",
                chunk,
            )
            tags = self._tags_for(chunk)
            copies: dict[str, list[Location]] = {}
            sql = f"SELECT {LOCATION_COLUMNS} FROM locations WHERE cid IN ({marks})"
            for row in self._read(sql + " ORDER BY cid, backend, node", chunk):
                copies.setdefault(row[0], []).append(location_from_row(row))
            found = {
                c: ContentRecord(
                    c, size, kind, how, at, last, n, self._metadata(meta), tuple(tags.get(c, ()))
                )
                for c, size, kind, how, at, last, n, meta in records
            }
            for key in chunk:
                out[key] = (found.get(key), copies.get(key, []))
        return out

    def _tags_for(self, keys: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for cid, tag in self._read(f"SELECT cid, tag FROM tags WHERE cid IN ({marks})", chunk):
                out.setdefault(cid, []).append(tag)
        return out


def _set_members(db: Executes, members: Sequence[tuple[str, list[str]]]) -> None:
    """Replace the tree members of each ``(tree, members)`` (500 trees a statement)."""
    for start in range(0, len(members), 500):
        chunk = [tree for tree, _ in members[start : start + 500]]
        marks = ",".join("?" * len(chunk))
        db.execute(f"DELETE FROM tree_members WHERE tree IN ({marks})", chunk)
    pairs = {(member, tree) for tree, listed in members for member in listed}
    if pairs:
        db.executemany(
            "INSERT INTO tree_members (member, tree) VALUES (?, ?) ON CONFLICT DO NOTHING",
            sorted(pairs),
        )


def _drop_orphan_members(db: Executes, key: str) -> None:
    """Forget the tree members of ``key`` if its content row is gone (never a member row
    naming a tree the index does not hold)."""
    db.execute(
        "DELETE FROM tree_members WHERE tree = ? AND NOT EXISTS "
        "(SELECT 1 FROM content WHERE cid = ?)",
        (key, key),
    )


def _adopt_rows(db: sqlite3.Connection, node: str, tiers: Sequence[str]) -> None:
    """Move node-less copies in ``tiers`` to ``node`` (its own row, if any, wins)."""
    marks = ",".join("?" * len(tiers))
    db.execute(
        f"DELETE FROM locations WHERE node = '' AND backend IN ({marks}) AND EXISTS "
        "(SELECT 1 FROM locations mine WHERE mine.cid = locations.cid "
        "AND mine.backend = locations.backend AND mine.node = ?)",
        (*tiers, node),
    )
    moved = db.execute(
        f"UPDATE locations SET node = ? WHERE node = '' AND backend IN ({marks})", (node, *tiers)
    ).rowcount
    db.execute(
        "UPDATE content SET pending_node = ? WHERE pending_pid IS NOT NULL "
        "AND coalesce(pending_node, '') = ''",
        (node,),
    )
    if moved:
        logger.info("adopted %d copies recorded before node id %r was set", moved, node)


@functools.cache
def _expected_schema() -> dict[str, frozenset[str]]:
    """Table -> columns, as the migrations make them (built once, in memory)."""
    db = sqlite3.connect(":memory:")
    try:
        apply_migrations(db, 0, len(MIGRATIONS))
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {
            t: frozenset(str(r[1]) for r in db.execute(f"PRAGMA table_info({t})")) for t in tables
        }
    finally:
        db.close()


_UNDECODABLE = "Could not decode to UTF-8"  # sqlite3's error for damaged text values
_CORRUPT = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_FORMAT"})
_ENVIRONMENT = (
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_IOERR",
    "SQLITE_FULL",
    "SQLITE_READONLY",
    "SQLITE_PERM",
    "SQLITE_CANTOPEN",
    "SQLITE_NOMEM",
    "SQLITE_INTERRUPT",
)


def _text(value: T) -> T:
    """``value``, if it is no text holding a NUL character: PostgreSQL stores none, so
    both engines refuse one in a name (tag, tier, locator) alike."""
    if isinstance(value, str) and "\x00" in value:
        raise InvalidInputError(f"text in the index holds no NUL character: {value[:80]!r}")
    return value


def _shown(reason: str) -> str:
    """A reason (an error's text) as both engines store it: a NUL written as ``\\x00``."""
    return reason.replace("\x00", "\\x00") if isinstance(reason, str) else reason


def _filters(
    backend: str | None,
    tag: str | None,
    min_size: int | None,
    max_size: int | None,
    older_than: float | None,
    accessed_before: float | None,
    min_access_count: int | None,
) -> tuple[list[str], list[Any]]:
    if backend is not None and not isinstance(backend, str):
        raise InvalidInputError(f"a backend name is text: {backend!r}")
    for text in (backend, tag):
        _text(text)
    checks: list[tuple[Any, str]] = [
        (tag, "c.cid IN (SELECT cid FROM tags WHERE tag = ?)"),
        (min_size, "c.size >= ?"),
        (max_size, "c.size <= ?"),
        (older_than, "c.created < ?"),
        (accessed_before, "coalesce(c.last_access, 0) < ?"),
        (min_access_count, "c.access_count >= ?"),
    ]
    for value, _ in checks:
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            raise InvalidInputError(f"query filter must not be negative: {value}")
        if value != value:  # nan: SQLite matched nothing with it, PostgreSQL everything
            raise InvalidInputError("a query filter is a number, not nan")
    present = [(v, sql) for v, sql in checks if v is not None]
    return [sql for _, sql in present], [v for v, _ in present]


for _name, _method in list(vars(MetadataIndex).items()):
    # every public query and update (transaction() maps its own BEGIN/COMMIT errors)
    if callable(_method) and not _name.startswith("_") and _name not in ("transaction", "close"):
        setattr(MetadataIndex, _name, _sqlite_errors(_method))
