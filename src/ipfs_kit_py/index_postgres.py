"""The metadata index on PostgreSQL: one ledger shared by many machines.

The same :class:`~ipfs_kit_py.index.MetadataIndex` interface and SQL over a psycopg 3
connection pool. Each thread's transaction holds one pooled connection (nested calls join
it); reads outside a transaction run on any free connection. A write transaction takes its
node's advisory lock, so the processes of one node keep their disk and their rows in step
as under SQLite's write lock, while nodes write in parallel. The migrations are the
SQLite ones in PostgreSQL's words (:func:`~ipfs_kit_py.index_schema.migration_statements`),
applied under an advisory lock so many processes can open a new database at once; the
version lives in the table ``ipfs_kit_schema``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import operator
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from ipfs_kit_py.errors import (
    ConfigurationError,
    IndexCorruptError,
    InvalidInputError,
    MetadataIndexError,
)
from ipfs_kit_py.index import LOCAL_TIERS, MetadataIndex, _expected_schema, _key, _text
from ipfs_kit_py.index_schema import MIGRATIONS, backfill, migration_statements

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

    from ipfs_kit_py.content.cid import CID

__all__ = ["PostgresIndex", "is_postgres_url", "masked_url"]

logger = logging.getLogger(__name__)

_SCHEMA_LOCK = 0x1F5_C1D  # advisory lock key: one migrating process at a time
_BULK = 2000  # rows from which record_many stages them with COPY
_first = operator.itemgetter(0)
_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS staged_locations (cid TEXT, backend TEXT, node TEXT, "
    "locator TEXT, stamp TEXT)"
)
_COPY_STAGED = "COPY staged_locations (cid, backend, node, locator, stamp) FROM STDIN"
_COPY_NEW_LOCATIONS = (
    "COPY locations (cid, backend, node, locator, stored_at, pinned, stamp) FROM STDIN"
)
_MERGE_STAGED = """
    INSERT INTO locations (cid, backend, node, locator, stored_at, pinned, stamp)
    SELECT cid, backend, node, locator, ?, ?, stamp FROM staged_locations
    ON CONFLICT (cid, backend, node) DO UPDATE SET
      locator = excluded.locator, stored_at = excluded.stored_at, bad = 0,
      missing = 0, marked_at = NULL, reason = NULL, stamp = excluded.stamp,
      pinned = CASE WHEN ? THEN excluded.pinned ELSE locations.pinned END
"""


_Staged = tuple[tuple[str, str, str], tuple[str, str | None]]


def _copied_as_new(
    raw: psycopg.Connection[Any], ordered: list[_Staged], now: float, pin: int
) -> bool:
    """``COPY`` the rows straight into ``content`` and ``locations`` when none of their
    CIDs is in the index yet (a first import: the schema's own floor, ~2x the staged
    merge). Any CID already there is a unique violation: the attempt is rolled back to
    its savepoint, nothing of it stays, and False sends the caller to the merge."""
    import psycopg

    try:
        with raw.transaction(), raw.cursor() as cur:  # nested: a savepoint
            with cur.copy("COPY content (cid, created) FROM STDIN") as copy:
                previous = None
                for (key, _, _), _ in ordered:  # in key order: one row per CID
                    if key != previous:
                        copy.write_row((key, now))
                        previous = key
            with cur.copy(_COPY_NEW_LOCATIONS) as copy:
                for (key, backend, node), (locator, stamp) in ordered:
                    copy.write_row((key, backend, node, locator, now, pin, stamp))
    except psycopg.errors.UniqueViolation:
        return False
    return True


def is_postgres_url(text: object) -> bool:
    """True if ``text`` names a PostgreSQL database (``postgresql://`` or ``postgres://``)."""
    return isinstance(text, str) and text.startswith(("postgresql://", "postgres://"))


_QUERY_PASSWORD = re.compile(r"(?:^|[?&])(?:ssl)?password=([^&]*)", re.IGNORECASE)
# what follows the user info: a host (no @ / ?), then maybe /db (no ? @), then maybe a
# query; first tried with a query of key=value pairs only (libpq takes no other), so
# "p@ss/w?rd@host/db" is the password "p@ss/w?rd" ("?rd@host/db" is no query), not the
# password "p" and the host "ss"; then with any query
_AFTER_USERINFO = (
    re.compile(r"(?=.)[^@/?]*(?:/[^?@]*)?(?:\?(?:[^&=]+=[^&]*(?:&[^&=]+=[^&]*)*)?)?", re.DOTALL),
    re.compile(r"[^@/?]*(?:/[^?@]*)?(?:\?.*)?", re.DOTALL),
)


def _split_userinfo(rest: str) -> tuple[str | None, str]:
    """``user[:password]`` and the rest of a URL after its ``scheme://``.

    The user info ends at the first ``@`` after which a host, a database and a query can
    follow: a password may hold an unencoded ``?``, ``/`` or ``@``, a query value an ``@``.
    """
    for after_userinfo in _AFTER_USERINFO:
        at = rest.find("@")
        while at >= 0:
            if after_userinfo.fullmatch(rest, at + 1):
                return rest[:at], rest[at + 1 :]
            at = rest.find("@", at + 1)
    return None, rest


def masked_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (and no query string)."""
    scheme, _, rest = url.partition("://")
    userinfo, after = _split_userinfo(rest)
    host = after.partition("?")[0]
    if userinfo is None:
        return f"{scheme}://{host}"
    user = re.split(r"[:/?#]", userinfo, maxsplit=1)[0]
    hidden = ":***" if len(user) < len(userinfo) else ""
    return f"{scheme}://{user}{hidden}@{host}"


def url_secrets(url: str) -> list[str]:
    """The passwords in ``url`` (its userinfo, ``password=`` in its query), as written,
    decoded and in the pieces libpq may repeat: never in a message or a log line."""
    userinfo, after = _split_userinfo(url.partition("://")[2])
    found = []
    if userinfo is not None:
        user = re.split(r"[:/?#]", userinfo, maxsplit=1)[0]
        found += [userinfo[len(user) + 1 :]] if len(user) < len(userinfo) else []
    found += _QUERY_PASSWORD.findall(after)
    pieces = [p for f in found for p in re.split(r"[?/#@&]", f) if len(p) >= 4]
    return sorted({v for f in [*found, *pieces] for v in (f, urllib.parse.unquote(f)) if v})


def hide_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of any of ``secrets`` replaced by ``***`` (where two
    overlap, their union is hidden: one hidden first must not leave the other's tail)."""
    spans = []
    for secret in secrets:
        at = text.find(secret) if secret else -1
        while at >= 0:
            spans.append((at, at + len(secret)))
            at = text.find(secret, at + 1)
    out, shown = [], 0
    for start, stop in sorted(spans):
        if stop <= shown:
            continue
        if start >= shown:
            out.append(text[shown:start] + "***")
        shown = stop
    return "".join(out) + text[shown:]


class _HideSecrets(logging.Filter):
    """Hide the passwords of every index URL opened here in psycopg's log lines (libpq
    repeats a malformed URL, or a piece of it, in its errors; the pool logs them)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def add(self, url: str) -> None:
        self.secrets.update(url_secrets(url))

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        hidden = hide_secrets(message, sorted(self.secrets, key=len, reverse=True))
        if hidden != message:
            record.msg, record.args = hidden, None
        return True


_HIDE = _HideSecrets()
# a logger's filters see only its own records: every logger psycopg and its pool log on
PSYCOPG_LOGGERS = (
    "psycopg",
    "psycopg.pool",
    "psycopg.pq",
    "psycopg.debug",
    "psycopg.transaction",
    "psycopg.waiting",
    "psycopg_pool.sched",
    "psycopg_pool.sched_async",
)
for _name in PSYCOPG_LOGGERS:
    logging.getLogger(_name).addFilter(_HIDE)


@functools.lru_cache(maxsize=512)
def pg_sql(sql: str) -> str:
    """The index's SQL (``?`` parameters) in psycopg's words (``%s``)."""
    return re.sub(r"\?", "%s", sql.replace("%", "%%"))


class _Result:
    """A cursor whose ``rowcount`` waits for its statement's result in pipeline mode."""

    def __init__(self, cursor: psycopg.Cursor[Any], pipeline: psycopg.Pipeline | None) -> None:
        self.cursor, self.pipeline = cursor, pipeline

    @property
    def rowcount(self) -> int:
        if self.pipeline is not None:
            self.pipeline.sync()
        return self.cursor.rowcount

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.cursor.fetchone()

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.cursor.fetchall()


class _Connection:
    """A pooled connection speaking the index's SQL, as ``transaction()`` yields it."""

    def __init__(
        self, conn: psycopg.Connection[Any], pipeline: psycopg.Pipeline | None = None
    ) -> None:
        self.raw, self.pipeline = conn, pipeline

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Result:
        return _Result(self.raw.execute(pg_sql(sql), params or None), self.pipeline)

    def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> _Result:
        cursor = self.raw.cursor()
        cursor.executemany(pg_sql(sql), list(params))
        return _Result(cursor, self.pipeline)


class PostgresIndex(MetadataIndex):
    """The index in a PostgreSQL database (``postgresql://user@host:port/db``)."""

    dialect = "postgresql"
    db_now = "CAST(extract(epoch FROM statement_timestamp()) AS DOUBLE PRECISION)"  # server

    def __init__(  # the base __init__ opens SQLite; this one opens the pool instead
        self,
        url: str,
        *,
        recover: bool = True,
        node_id: str = "",
        local_tiers: Iterable[str] = LOCAL_TIERS,
        pool_size: int = 8,
        connect_timeout_s: float = 10.0,
        lock_timeout_s: float = 30.0,
    ) -> None:
        """Connect (pool), create or migrate the schema; ``recover`` settles dead adds.

        ``node_id`` defaults to the host name: a shared index always knows whose disk
        a copy is on. Raises :class:`MetadataIndexError` (naming the URL without its
        password) if the database cannot be reached within ``connect_timeout_s``. A
        statement waiting longer than ``lock_timeout_s`` for a lock (another transaction
        of this node, a CID held elsewhere, a migration) fails with MetadataIndexError,
        as SQLite's busy timeout does, unless the URL sets ``lock_timeout`` itself.
        """
        if isinstance(lock_timeout_s, bool) or not (
            isinstance(lock_timeout_s, int | float) and 0 < lock_timeout_s <= 86400
        ):
            raise InvalidInputError(f"lock_timeout_s is 0 to 86400 seconds: {lock_timeout_s!r}")
        self._opening = False
        node_id = node_id or socket.gethostname()
        self._set_node(node_id, local_tiers)
        if not is_postgres_url(url):
            raise ConfigurationError(f"not a PostgreSQL URL: {masked_url(str(url))}")
        self._url = url  # with its password: never shown (see location)
        _HIDE.add(url)
        digest = hashlib.sha256(f"ipfs-kit node {node_id}".encode()).digest()
        self._node_lock = int.from_bytes(digest[:8], "big", signed=True)
        self._local = threading.local()
        _probe(url, connect_timeout_s, self.location)
        self._pool = _open_pool(
            url, pool_size, connect_timeout_s, self.location, lock_timeout_ms=lock_timeout_s * 1000
        )
        try:
            self.migrate()
            self._check_schema()
            if recover:
                self.recover_pending()
        except BaseException:
            self._pool.close()
            raise

    @property
    def location(self) -> str:
        return masked_url(self._url)

    def __repr__(self) -> str:
        return f"PostgresIndex({self.location!r})"

    def close(self) -> None:
        """Close every pooled connection; idempotent."""
        self._pool.close()

    @contextmanager
    def _pg_errors(self) -> Iterator[None]:
        """psycopg's errors as the index's: bad values are input errors, the rest the index's."""
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            yield
        except psycopg.DataError as exc:
            raise InvalidInputError(f"cannot look that up in the index: {exc}") from None
        except psycopg.errors.LockNotAvailable as exc:
            raise MetadataIndexError(
                f"index {self.location}: another transaction held a lock too long ({exc}); "
                "is a process of this node stopped or hung inside one?"
            ) from exc
        except PoolTimeout as exc:
            raise MetadataIndexError(f"index {self.location}: {exc}{self._why_not()}") from exc
        except psycopg.Error as exc:
            raise MetadataIndexError(f"index {self.location}: {exc}") from exc

    def _why_not(self) -> str:
        """Why no pooled connection came (the pool's timeout names none): libpq's reason
        from one quick connection attempt, without the password; '' if it connects."""
        import psycopg

        try:
            psycopg.connect(self._url, autocommit=True, connect_timeout=2).close()
        except psycopg.Error as exc:
            return f": {hide_secrets(str(exc).strip(), url_secrets(self._url))}"
        return ""

    @contextmanager
    def transaction(self) -> Iterator[_Connection]:  # type: ignore[override]
        """One transaction on one pooled connection; nested calls (same thread) join it."""
        with self._transaction(pipelined=True) as conn:
            yield conn

    @contextmanager
    def _transaction(self, *, pipelined: bool) -> Iterator[_Connection]:
        joined = getattr(self._local, "conn", None)
        if joined is not None:
            yield joined
            return
        with self._pg_errors(), self._begun(pipelined) as (raw, pipeline):
            self._local.conn = _Connection(raw, pipeline)
            try:
                yield self._local.conn
            finally:
                self._local.conn = None

    @contextmanager
    def _begun(
        self, pipelined: bool
    ) -> Iterator[tuple[psycopg.Connection[Any], psycopg.Pipeline | None]]:
        """A pooled connection in a transaction holding this node's lock.

        A pooled connection a server restart (or failover) broke fails on its first
        statement, before the caller did anything: it is dropped and the next one tried,
        so a restart costs no request.
        """
        import psycopg

        for attempt in range(self._pool.max_size + 1):
            stack = ExitStack()
            raw = None
            try:
                raw = stack.enter_context(self._pool.connection())
                # pipeline mode: BEGIN and the lock go out together, then the writes whose
                # results nobody reads with the COMMIT: a short transaction costs two trips
                pipeline = stack.enter_context(raw.pipeline()) if pipelined else None
                stack.enter_context(raw.transaction())
                # the writers of one node take turns, as SQLite's write lock has them do: a
                # node's disk and its rows change together (other nodes go on in parallel)
                raw.execute("SELECT pg_advisory_xact_lock(%s)", (self._node_lock,))
                if pipeline is not None:
                    pipeline.sync()  # hold the lock before the caller touches the disk
            except psycopg.OperationalError:
                _close_quietly(stack)
                if raw is None or not raw.broken or attempt == self._pool.max_size:
                    raise
                logger.info("index %s: a pooled connection was lost; another", self.location)
                continue
            except BaseException:
                _close_quietly(stack)
                raise
            with stack:
                yield raw, pipeline
            return

    def lock_cid(self, cid: CID | str, *, wait: bool = True) -> bool:
        """Hold ``cid`` against every node's writers until the transaction ends (see base)."""
        joined = getattr(self._local, "conn", None)
        if joined is None:
            raise InvalidInputError("lock_cid holds a CID for a transaction: call it in one")
        digest = hashlib.sha256(f"ipfs-kit cid {_key(cid)}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        with self._pg_errors():
            if wait:
                joined.execute("SELECT pg_advisory_xact_lock(?)", (key,)).fetchone()
                return True
            row = joined.execute("SELECT pg_try_advisory_xact_lock(?)", (key,)).fetchone()
            return bool(row and row[0])

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        joined = getattr(self._local, "conn", None)
        if joined is not None:  # inside a transaction: see its own writes
            with self._pg_errors():
                return list(joined.execute(sql, params).fetchall())
        import psycopg

        with self._pg_errors():
            for attempt in range(self._pool.max_size + 1):
                with self._pool.connection() as raw:
                    try:
                        return list(_Connection(raw).execute(sql, params).fetchall())
                    except psycopg.OperationalError:
                        if not raw.broken or attempt == self._pool.max_size:
                            raise  # a read is safe to repeat on a connection that works
        raise AssertionError("unreachable")

    def _stream(
        self, sql: str, params: Sequence[Any], size: int
    ) -> Iterator[list[tuple[Any, ...]]]:
        """The rows of one read query, ``size`` at a time: a server-side cursor in a
        read transaction on a pooled connection of its own (held until the end)."""
        with (
            self._pg_errors(),
            self._pool.connection() as raw,
            raw.transaction(),
            raw.cursor(name=f"ipfs_kit_rows_{threading.get_ident()}") as cursor,
        ):
            cursor.itersize = size
            cursor.execute(pg_sql(sql), list(params) or None)
            while rows := cursor.fetchmany(size):
                yield rows

    def record_many(
        self,
        rows: Iterable[tuple[CID | str, str, str] | tuple[CID | str, str, str, str | None]],
        *,
        pinned: bool | None = None,
    ) -> None:
        """Bulk :meth:`record`: large batches go through ``COPY`` into a staging table."""
        rows = list(rows)
        joined = getattr(self._local, "conn", None)
        if len(rows) < _BULK or (joined is not None and joined.pipeline is not None):
            super().record_many(rows, pinned=pinned)
            return
        last: dict[tuple[str, str, str], tuple[str, str | None]] = {}
        local, me = self.local_tiers, self.node_id
        for r in rows:  # every key parsed before anything is written; the last one wins
            backend = r[1]
            node = me if backend in local else ""
            stamp = _text(r[3]) if len(r) > 3 else None
            last[(_key(r[0]), _text(backend), node)] = (_text(r[2]), stamp)
        now = time.time()
        # in key order: the B-trees are written page after page, not all over (at 1M
        # rows: 1.7x faster here)
        ordered = sorted(last.items(), key=_first)
        with self._transaction(pipelined=False) as db:  # COPY cannot run in a pipeline
            if _copied_as_new(db.raw, ordered, now, int(bool(pinned))):
                return
            db.raw.execute(_STAGING)
            with db.raw.cursor() as cur, cur.copy(_COPY_STAGED) as copy:
                for (key, backend, node), (locator, stamp) in ordered:
                    copy.write_row((key, backend, node, locator, stamp))
            db.execute(
                "INSERT INTO content (cid, created) SELECT cid, ? "
                "FROM staged_locations ON CONFLICT DO NOTHING",
                (now,),
            )
            db.execute(_MERGE_STAGED, (now, int(bool(pinned)), pinned is not None))
            db.raw.execute("TRUNCATE staged_locations")

    @property
    def schema_version(self) -> int:
        rows = self._read("SELECT to_regclass('ipfs_kit_schema') IS NOT NULL")
        if not rows[0][0]:
            return 0
        found = self._read("SELECT max(version) FROM ipfs_kit_schema")
        return int(found[0][0] or 0)

    def migrate(self, target: int | None = None) -> None:
        """Apply the numbered migrations up to ``target`` (default: all) in one transaction."""
        target = len(MIGRATIONS) if target is None else target
        if self._schema_at_least(target):
            return  # the usual open: no lock, no DDL (a read-only role opens it too)
        with self.transaction() as db:
            db.execute("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK,))
            db.execute("CREATE TABLE IF NOT EXISTS ipfs_kit_schema (version BIGINT NOT NULL)")
            current = self.schema_version
            if current > len(MIGRATIONS):
                raise ConfigurationError(
                    f"index {self.location} has schema {current}, newer than this version "
                    f"of ipfs_kit_py understands ({len(MIGRATIONS)})"
                )
            for version in range(current, target):
                for statement in migration_statements(version, postgres=True):
                    db.execute(statement)
                backfill(version, db)
            if target > current:
                db.execute("DELETE FROM ipfs_kit_schema")
                db.execute("INSERT INTO ipfs_kit_schema (version) VALUES (?)", (target,))

    def _schema_at_least(self, target: int) -> bool:
        """True if the schema is at ``target`` or past it, with nothing newer than this
        version understands (that case goes on to the locked check, which refuses it)."""
        current = self.schema_version
        return target <= current <= len(MIGRATIONS)

    def _columns(self) -> dict[str, set[str]]:
        rows = self._read(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema()"
        )
        out: dict[str, set[str]] = {}
        for table, column in rows:
            out.setdefault(str(table), set()).add(str(column))
        return out

    def check(self) -> list[str]:
        """Every table and column of the schema is there: an empty list when sound."""
        have = self._columns()
        return [
            f"table {table} lacks {', '.join(sorted(columns - have.get(table, set())))}"
            for table, columns in _expected_schema().items()
            if not columns <= have.get(table, set())
        ]

    def _check_schema(self) -> None:
        problems = self.check()
        if problems:
            raise IndexCorruptError(
                f"the index {self.location} has a damaged schema: {'; '.join(problems)}",
                path=self.location,
            )


def _close_quietly(stack: ExitStack) -> None:
    """Unwind a half-begun transaction on a connection that may be broken."""
    import psycopg

    try:
        stack.close()
    except psycopg.Error as exc:
        logger.debug("closing a broken index connection: %s", exc)


def _probe(url: str, timeout_s: float, shown: str) -> None:
    """Parse ``url`` and connect once: a bad URL, a refused login or an unreachable server
    fails here, at once (or in ``timeout_s``), with libpq's reason and no password."""
    try:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict
    except ImportError as exc:
        raise ConfigurationError(
            "a PostgreSQL index needs psycopg 3: pip install 'ipfs_kit_py[postgres]'"
        ) from exc
    secrets = url_secrets(url)
    try:
        conninfo_to_dict(url)
    except psycopg.Error as exc:
        reason = hide_secrets(str(exc), secrets)
        if secrets:  # libpq quotes the part it could not parse: of a password, maybe
            reason = re.sub(r'(:\s*)"[^"]*"', r'\1"***"', reason)
        raise ConfigurationError(f"the index URL {shown} is not valid: {reason}") from None
    try:
        psycopg.connect(url, autocommit=True, connect_timeout=max(1, int(timeout_s))).close()
    except psycopg.Error as exc:
        reason = hide_secrets(str(exc).strip(), secrets)
        raise MetadataIndexError(f"cannot reach the index {shown}: {reason}") from None


def _bound_lock_waits(conn: psycopg.Connection[Any], *, ms: int) -> None:
    """Set ``lock_timeout`` on a new pooled connection, unless the URL's options did."""
    conn.execute(
        "SELECT set_config('lock_timeout', %s, false) "
        "WHERE current_setting('lock_timeout') IN ('0', '')",
        (f"{ms}ms",),
    )


def _open_pool(
    url: str, size: int, timeout_s: float, shown: str, *, lock_timeout_ms: float
) -> ConnectionPool:
    """A started pool with at least one live connection, or MetadataIndexError.

    Each connection waits at most ``lock_timeout_ms`` for a lock (unless the URL set a
    ``lock_timeout`` of its own): a transaction left open by a stopped or hung process
    makes the others fail in seconds, never hang.
    """
    try:
        from psycopg_pool import ConnectionPool, PoolTimeout
    except ImportError as exc:
        raise ConfigurationError(
            "a PostgreSQL index needs psycopg 3: pip install 'ipfs_kit_py[postgres]'"
        ) from exc
    pool = ConnectionPool(
        url,
        min_size=1,
        max_size=max(1, size),
        kwargs={"autocommit": True, "connect_timeout": max(1, int(timeout_s))},
        timeout=timeout_s,
        open=True,
        name="ipfs-kit-index",
        configure=functools.partial(_bound_lock_waits, ms=max(1, int(lock_timeout_ms))),
    )
    try:
        pool.wait(timeout=timeout_s)
    except PoolTimeout as exc:
        pool.close()
        raise MetadataIndexError(f"cannot reach the index {shown} in {timeout_s:g}s") from exc
    return pool
