"""Tier benchmarks, each side by side with the plain tool it competes with.

- memory-tier hit: ``TieredCacheManager.get_bytes`` and ``MemoryBackend.lookup`` vs a dict
- disk-tier hit of a 64 MB and a 1 MB object vs a raw file read (and read + sha256):
  re-hashed against the CID (the default), the single-thread re-hash it replaced
  (before), and trusting the file's stamp (``verify_disk_reads = false``)
- index: bulk insert rate vs bare sqlite3 executemany; point lookup p50/p99 at 1M CIDs
- S3 fallback get of 256 MB (verified, warming disk) vs a plain boto3 download

Run: .venv/bin/python -m bench.tiers [--disk-mb 64] [--index-cids 1000000] [--s3-mb 256]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import BenchRun, Measurement, make_file
from ipfs_kit_py.backends.disk import DiskBackend
from ipfs_kit_py.backends.memory import MemoryBackend
from ipfs_kit_py.content.cid import CID, RAW, cid_key, make_cid
from ipfs_kit_py.content.unixfs import KUBO_DEFAULT
from ipfs_kit_py.content.verify import ContentVerifier
from ipfs_kit_py.index import MetadataIndex
from ipfs_kit_py.tiers.manager import TieredCacheManager, TierPolicy

MB = 1_000_000


def interleaved(
    run: BenchRun, case: str, contenders: dict[str, Callable[[], object]], rounds: int, nbytes: int
) -> None:
    """Time contenders in alternation, so load from other processes hits all alike."""
    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, func in contenders.items():
            start = time.perf_counter()
            func()
            seconds[name].append(time.perf_counter() - start)
    for name, times in seconds.items():
        run.add(Measurement(case, name, times, nbytes=nbytes, notes=f"{rounds} rounds"))


def bench_memory(run: BenchRun, base: Path, ops: int) -> None:
    with MetadataIndex(base / "mem-index.sqlite3") as index:
        memory = MemoryBackend(64 << 20)
        tiers = TieredCacheManager([memory], index, TierPolicy(put_to=("memory",)))
        cid = tiers.add([os.urandom(4096)]).cid
        key = cid_key(cid)
        plain = {key: b"x" * 4096}
        case = "memory hit (4 KiB)"
        run.time(case, "dict[key]", lambda: [plain[key] for _ in range(ops)], ops=ops)
        run.time(
            case, "MemoryBackend.lookup", lambda: [memory.lookup(key) for _ in range(ops)], ops=ops
        )
        by_key = "tiers.get_bytes(key str)"
        run.time(case, by_key, lambda: [tiers.get_bytes(key) for _ in range(ops)], ops=ops)
        by_cid = "tiers.get_bytes(CID object)"
        run.time(case, by_cid, lambda: [tiers.get_bytes(cid) for _ in range(ops)], ops=ops)
        tiers.close()


def _single_thread_rehash(path: Path, cid: CID) -> bytes:
    """The disk hit before the parallel hasher: read, then one-thread ContentVerifier."""
    data = path.read_bytes()
    verifier = ContentVerifier(cid, KUBO_DEFAULT)
    view = memoryview(data)
    for start in range(0, len(data), 1 << 20):
        verifier.update(view[start : start + (1 << 20)])
    verifier.finish()
    return data


def bench_disk(run: BenchRun, base: Path, size: int) -> None:
    """A disk hit: re-hashed against the CID (default), before, and stamp-trusted."""
    source = base / f"disk-object-{size}.bin"
    make_file(source, size)
    with MetadataIndex(base / f"disk-index-{size}.sqlite3") as index:
        disk = DiskBackend(base / f"cache-{size}", 4 * size)
        tiers = TieredCacheManager([disk], index, TierPolicy(put_to=("disk",)))
        trusting = TieredCacheManager(
            [disk], index, TierPolicy(put_to=("disk",), trust_disk_stamps=True)
        )
        with source.open("rb") as f:
            cid = tiers.add(iter(lambda: f.read(1 << 20), b"")).cid
        path = disk.path_for(cid)
        contenders = {
            "raw file read": path.read_bytes,
            "read + sha256": lambda: hashlib.sha256(path.read_bytes()).digest(),
            "tiers.get_bytes (verified, default)": lambda: tiers.get_bytes(cid),
            "single-thread re-hash (before)": lambda: _single_thread_rehash(path, cid),
            "tiers.get_bytes (stamp trusted, opt-out)": lambda: trusting.get_bytes(cid),
        }
        rounds = 7 if size >= 16 * MB else 50
        interleaved(run, f"disk hit ({size / MB:g} MB)", contenders, rounds=rounds, nbytes=size)
        tiers.close()
        trusting.close()


def fake_keys(n: int) -> list[str]:
    return [
        cid_key(make_cid(RAW, hashlib.sha256(i.to_bytes(8, "little")).digest())) for i in range(n)
    ]


def bench_index(run: BenchRun, base: Path, n: int) -> None:
    keys = fake_keys(n)
    rows = [(k, "disk", f"/cache/{k}") for k in keys]
    case = f"index bulk insert ({n} CIDs)"
    bare = sqlite3.connect(base / "bare.sqlite3", isolation_level=None)
    bare.execute("PRAGMA journal_mode = WAL")
    bare.execute(
        "CREATE TABLE locations (cid TEXT, backend TEXT, locator TEXT, stored_at REAL,"
        " PRIMARY KEY (cid, backend)) WITHOUT ROWID"
    )

    def bare_insert() -> None:
        bare.execute("BEGIN")
        bare.executemany(
            "INSERT OR REPLACE INTO locations VALUES (?, ?, ?, ?)", [(*r, 0.0) for r in rows]
        )
        bare.execute("COMMIT")

    run.time(case, "sqlite3 executemany", bare_insert, repeat=1, ops=n)
    index = MetadataIndex(base / "index.sqlite3")
    run.time(case, "MetadataIndex.record_many", lambda: index.record_many(rows), repeat=1, ops=n)
    lookups = random.Random(1).sample(keys, min(n, 20_000))
    seconds = []
    for key in lookups:
        start = time.perf_counter()
        index.locations(key)
        seconds.append(time.perf_counter() - start)
    seconds.sort()
    p50, p99 = seconds[len(seconds) // 2], seconds[int(len(seconds) * 0.99)]
    case = f"index point lookup ({n} CIDs)"
    run.add(Measurement(case, "MetadataIndex.locations p50", [p50], ops=1))
    run.add(Measurement(case, "MetadataIndex.locations p99", [p99], ops=1, notes="goal < 100 us"))
    index.close()
    bare.close()


def bench_s3(run: BenchRun, base: Path, size: int) -> None:
    from tests.servers.process import running
    from tests.servers.seaweedfs import boto_client, start_seaweedfs

    from ipfs_kit_py.backends.s3.backend import S3Backend
    from ipfs_kit_py.backends.s3.config import S3Config

    with running(start_seaweedfs(base / "seaweedfs")) as server:
        source = base / "s3-object.bin"
        make_file(source, size)
        s3 = S3Backend(S3Config.from_sources(server.s3_args()))
        index = MetadataIndex(base / "s3-index.sqlite3")
        disk = DiskBackend(base / "s3-cache", 4 * size)
        tiers = TieredCacheManager([disk, s3], index)
        with source.open("rb") as f:
            cid = tiers.add(iter(lambda: f.read(1 << 20), b""), to=["s3"]).cid
        boto = boto_client(server)
        target = base / "boto-download.bin"

        def fallback_get() -> None:
            disk.delete(cid)
            index.forget(cid, "disk")
            tiers.open(cid).close()

        contenders = {
            "boto3 download_file": lambda: boto.download_file(
                server.bucket, s3.key_for(cid), str(target)
            ),
            "tiers.open (verified, warms disk)": fallback_get,
        }
        interleaved(run, f"S3 fallback get ({size // MB} MB)", contenders, rounds=5, nbytes=size)
        s3.close()
        index.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--memory-ops", type=int, default=200_000)
    parser.add_argument("--disk-mb", type=int, default=64)
    parser.add_argument("--index-cids", type=int, default=1_000_000)
    parser.add_argument("--s3-mb", type=int, default=256, help="0 skips the S3 case")
    args = parser.parse_args()
    run = BenchRun("tiers")
    with tempfile.TemporaryDirectory(prefix="bench-tiers-") as tmp:
        base = Path(tmp)
        bench_memory(run, base, args.memory_ops)
        bench_disk(run, base, args.disk_mb * MB)
        bench_disk(run, base, MB)
        bench_index(run, base, args.index_cids)
        if args.s3_mb:
            bench_s3(run, base, args.s3_mb * MB)
    baselines = {
        "memory hit (4 KiB)": "dict[key]",
        f"disk hit ({args.disk_mb:g} MB)": "raw file read",
        "disk hit (1 MB)": "raw file read",
        f"index bulk insert ({args.index_cids} CIDs)": "sqlite3 executemany",
        f"S3 fallback get ({args.s3_mb} MB)": "boto3 download_file",
    }
    run.report(baselines)
    for m in run.measurements:
        per_op = m.best / m.ops * 1e6 if m.ops else None
        if per_op is not None:
            print(f"{m.case} / {m.contender}: {per_op:.2f} us per op")


if __name__ == "__main__":
    main()
