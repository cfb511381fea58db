"""Index benchmark: the metadata index on SQLite and on PostgreSQL, side by side.

- bulk insert of N locations: ``MetadataIndex.record_many`` vs bare ``sqlite3.executemany``
  into a table of the same shape (goal >= 0.7x; also shown: the bare insert with its rows
  in key order, as ``record_many`` writes them), and on PostgreSQL vs ``COPY`` into one
  table of the same shape (the issue's physical reference; goal >= 0.5x), vs ``COPY``
  straight into the index's own two tables with their keys and indexes (the floor for this
  schema), and vs bare psycopg ``executemany``;
- point lookups (``locations``) p50/p99 at N CIDs, each engine.

The PostgreSQL server is Debian's, started in a temp dir on a loopback port as the tests
start it (tests/servers/postgres.py), and stopped afterwards.

Run: .venv/bin/python -m bench.index [--cids 1000000] [--lookups 20000]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from tests.servers.postgres import start_postgres

from bench.common import BenchRun, Measurement
from bench.tiers import fake_keys
from ipfs_kit_py.index import MetadataIndex, open_index

LOCATIONS = (
    "CREATE TABLE locations (cid TEXT, backend TEXT, node TEXT, locator TEXT, "
    "stored_at {real}, PRIMARY KEY (cid, backend, node)){suffix}"
)
Row = tuple[str, str, str]


def _lookups(run: BenchRun, index: MetadataIndex, keys: list[str], n: int, label: str) -> None:
    seconds = []
    for key in random.Random(1).sample(keys, min(n, len(keys))):
        start = time.perf_counter()
        index.locations(key)
        seconds.append(time.perf_counter() - start)
    seconds.sort()
    p50, p99 = seconds[len(seconds) // 2], seconds[int(len(seconds) * 0.99)]
    case = f"point lookup ({len(keys)} CIDs)"
    run.add(Measurement(case, f"{label} p50", [p50], ops=1))
    run.add(Measurement(case, f"{label} p99", [p99], ops=1, notes="goal < 100 us (SQLite)"))


def _time_bare_sqlite(
    run: BenchRun,
    case: str,
    contender: str,
    path: Path,
    rows: Callable[[], list[tuple[object, ...]]],
    count: int,
) -> None:
    """Time one bare ``executemany`` of ``rows()`` (built inside the timed call) into a
    fresh table shaped like the index's."""
    bare = sqlite3.connect(path, isolation_level=None)
    bare.execute("PRAGMA journal_mode = WAL")
    bare.execute("PRAGMA synchronous = NORMAL")
    bare.execute(LOCATIONS.format(real="REAL", suffix=" WITHOUT ROWID"))

    def insert() -> None:
        bare.execute("BEGIN")
        bare.executemany("INSERT OR REPLACE INTO locations VALUES (?, ?, '', ?, ?)", rows())
        bare.execute("COMMIT")

    run.time(case, contender, insert, repeat=1, ops=count)
    bare.close()


def bench_sqlite(run: BenchRun, base: Path, keys: list[str], rows: list[Row], n: int) -> None:
    case = f"SQLite bulk insert ({len(rows)} CIDs)"

    # record_many writes in key order (B-tree locality): the bare insert both ways
    def as_given() -> list[tuple[object, ...]]:
        return [(*r, 0.0) for r in rows]

    n_rows = len(rows)
    _time_bare_sqlite(run, case, "sqlite3 executemany", base / "bare.sqlite3", as_given, n_rows)
    ordered = "sqlite3 executemany, rows in key order"
    _time_bare_sqlite(
        run, case, ordered, base / "ordered.sqlite3", lambda: sorted(as_given()), n_rows
    )
    with MetadataIndex(base / "index.sqlite3") as index:
        run.time(
            case,
            "MetadataIndex.record_many",
            lambda: index.record_many(rows),
            repeat=1,
            ops=len(rows),
        )
        _lookups(run, index, keys, n, "SQLite locations")


def bench_postgres(run: BenchRun, keys: list[str], rows: list[Row], n: int) -> None:
    case = f"PostgreSQL bulk insert ({len(rows)} CIDs)"
    server = start_postgres()
    try:
        bare_url, index_url = server.new_database(), server.new_database()
        with psycopg.connect(bare_url, autocommit=True) as conn:
            for name in ("copied", "inserted"):
                conn.execute(
                    LOCATIONS.format(real="DOUBLE PRECISION", suffix="").replace("locations", name)
                )

            def copy() -> None:
                with (
                    conn.transaction(),
                    conn.cursor() as cur,
                    cur.copy("COPY copied FROM STDIN") as out,
                ):
                    for r in rows:
                        out.write_row((r[0], r[1], "", r[2], 0.0))

            def executemany() -> None:
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO inserted VALUES (%s, %s, '', %s, %s) ON CONFLICT DO NOTHING",
                        [(*r, 0.0) for r in rows],
                    )

            run.time(case, "COPY", copy, repeat=1, ops=len(rows))
            run.time(case, "psycopg executemany", executemany, repeat=1, ops=len(rows))
        schema_url = server.new_database()
        with open_index(schema_url):
            pass  # the index's schema, created and migrated before the clock starts
        run.time(
            case,
            "COPY into the index's own tables",
            lambda: _copy_into_schema(schema_url, rows),
            repeat=1,
            ops=len(rows),
        )
        with open_index(index_url) as index:
            run.time(
                case,
                "MetadataIndex.record_many",
                lambda: index.record_many(rows),
                repeat=1,
                ops=len(rows),
            )
            _lookups(run, index, keys, n, "PostgreSQL locations")
    finally:
        server.stop()


def _copy_into_schema(url: str, rows: list[Row]) -> None:
    """``COPY`` of the rows straight into a migrated index's ``content`` and ``locations``
    tables, with their keys and indexes, in key order: the physical floor for this schema
    (no staging, no merge, no conflict handling)."""
    now = time.time()
    ordered = sorted(rows)
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction(), conn.cursor() as cur:
        with cur.copy("COPY content (cid, created) FROM STDIN") as out:
            for r in ordered:
                out.write_row((r[0], now))
        with cur.copy("COPY locations (cid, backend, node, locator, stored_at) FROM STDIN") as out:
            for r in ordered:
                out.write_row((r[0], r[1], "", r[2], now))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cids", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    args = parser.parse_args()
    keys = fake_keys(args.cids)
    rows = [(k, "s3", f"ipfs/{k}") for k in keys]
    run = BenchRun("index")
    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        bench_sqlite(run, Path(tmp), keys, rows, args.lookups)
    bench_postgres(run, keys, rows, args.lookups)
    run.report(
        {
            f"SQLite bulk insert ({args.cids} CIDs)": "sqlite3 executemany",
            f"PostgreSQL bulk insert ({args.cids} CIDs)": "COPY",
        }
    )
    for m in run.measurements:
        if m.ops:
            print(f"{m.case} / {m.contender}: {m.best / m.ops * 1e6:.2f} us per op")


if __name__ == "__main__":
    main()
