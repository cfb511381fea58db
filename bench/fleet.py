"""Fleet benchmark: CIDs/s repaired by 1, 2 and 4 policy workers sharing one index.

N small CIDs are added to S3 (SeaweedFS) only, recorded in a PostgreSQL index; the policy
asks for two copies. Each run starts from a copy of that database (``CREATE DATABASE ...
TEMPLATE``) and k worker processes, each a node of its own (own node id, own disk cache),
run one pass of ``PolicyWorker.run_once`` together: every CID gets one disk copy on one
node. The figure is N / (last worker done - first worker started), workers timed from
inside (interpreter start-up excluded); ratios are against one worker.

Run: .venv/bin/python -m bench.fleet [--cids 10000] [--workers 1,2,4]
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from tests.servers.postgres import Postgres, start_postgres
from tests.servers.process import running
from tests.servers.seaweedfs import SeaweedS3, start_seaweedfs

from bench.common import BenchRun, Measurement


def _kit(url: str, node: str, cache: str, s3: dict[str, Any]) -> Any:
    from ipfs_kit_py.ipfs_kit import ipfs_kit

    return ipfs_kit(
        {},
        cache_dir=cache,
        index_url=url,
        node_id=node,
        s3=s3,
        replication={"min_copies": 2},
    )


def seed(url: str, cache: str, s3: dict[str, Any], first: int, count: int) -> int:
    """Add ``count`` small objects to S3 only; return how many."""
    with _kit(url, "seeder", cache, s3) as kit:
        for n in range(first, first + count):
            kit.add(f"fleet object {n} ".encode() * (n % 7 + 1), to=["s3"])
    return count


def work(url: str, node: str, cache: str, s3: dict[str, Any]) -> tuple[float, float, int, int]:
    """One worker's pass: (started, ended, repaired, failed)."""
    from ipfs_kit_py.policy_worker import PolicyWorker

    with _kit(url, node, cache, s3) as kit:
        worker = PolicyWorker(kit.tiers, kit.policies, lease_s=60, batch=8)
        started = time.time()
        report = worker.run_once()
        return started, time.time(), report.repaired, len(report.failed)


def _database_from(server: Postgres, template: str, name: str) -> str:
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    return server.database_url(name)


def run_fleet(
    run: BenchRun, server: Postgres, s3: SeaweedS3, base: Path, cids: int, counts: list[int]
) -> None:
    s3_args = s3.s3_args(key_prefix="fleet-bench/")
    seed_url = server.new_database()
    template = seed_url.rsplit("/", 1)[1]
    ctx = multiprocessing.get_context("spawn")
    parts = 4
    started = time.perf_counter()
    with ctx.Pool(parts) as pool:
        jobs = [
            (seed_url, str(base / f"seed-{p}"), s3_args, p * cids // parts, cids // parts)
            for p in range(parts)
        ]
        added = sum(pool.starmap(seed, jobs))
    seconds = time.perf_counter() - started
    case = f"seed: add to S3 ({added} small CIDs)"
    run.add(Measurement(case, f"{parts} processes, kit.add", [seconds], ops=added))
    case = f"policy min_copies=2 ({added} CIDs, S3 -> node disks)"
    for k in counts:
        url = _database_from(server, template, f"fleet_{k}")
        with ctx.Pool(k) as pool:
            jobs = [(url, f"node-{k}-{w}", str(base / f"run-{k}-{w}"), s3_args) for w in range(k)]
            results = pool.starmap(work, jobs)
        span = max(r[1] for r in results) - min(r[0] for r in results)
        repaired, failed = sum(r[2] for r in results), sum(r[3] for r in results)
        notes = f"repaired {repaired}, failed {failed}"
        run.add(
            Measurement(
                case, f"{k} worker{'s' if k > 1 else ''}", [span], ops=repaired, notes=notes
            )
        )
        print(f"{k} workers: {repaired} repaired in {span:.1f}s ({repaired / span:.0f} CIDs/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cids", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    run = BenchRun("fleet")
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        base = Path(tmp)
        with running(start_seaweedfs(base / "seaweedfs")) as s3:
            server = start_postgres()
            try:
                run_fleet(run, server, s3, base, args.cids, counts)
            finally:
                server.stop()
    case = next(m.case for m in run.measurements if m.case.startswith("policy"))
    run.report({case: "1 worker"} if 1 in counts else {})


if __name__ == "__main__":
    main()
