"""Verified random access to a large file in S3, side by side with boto3 (SeaweedFS).

Cases, on one file added to an S3-only kit (default 1 GB, kubo's default profile):

- ``1 MB at a random offset``: a fresh reader each read (no block or layout cached;
  connections up, as boto3's) opens the CID, seeks and reads 1 MiB, every leaf
  verified; peer: boto3 ``get_object`` with a ``Range`` (unverified). Reported: round
  trips (S3 requests) and bytes moved beyond the 1 MiB asked for (the layout and the
  leaf overshoot), per read.
- ``whole file``: ``S3Backend.download`` by CID (verified) vs boto3 ``download_file``
  with the default TransferConfig (unverified), interleaved round by round.
- ``layout build``: the one-time pass that writes a file's DAG layout beside it.

Run: .venv/bin/python -m bench.random_access [--size-mb 1024] [--reads 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.random_files import write_random_file
from tests.servers.process import running
from tests.servers.seaweedfs import start_seaweedfs

from bench.common import BenchRun, Measurement
from bench.s3 import BUCKET, MiB, boto, sha256_file
from ipfs_kit_py.backends.s3.backend import S3Backend
from ipfs_kit_py.content.cid import CID
from ipfs_kit_py.ipfs_kit import ipfs_kit
from ipfs_kit_py.kit_reads import KitReader

PREFIX = "bench-ra/ipfs/"


def open_kit(server: Any, tmp: Path, name: str) -> ipfs_kit:
    return ipfs_kit(
        cache_dir=tmp / name / "cache",
        index_path=tmp / name / "index.sqlite3",
        s3=server.s3_args(bucket=BUCKET, key_prefix=PREFIX),
        put_to=["s3"],
    )


class Requests:
    """Counts a kit's S3 range and layout requests and their bytes (real calls)."""

    def __init__(self, kit: ipfs_kit) -> None:
        backend = kit.tiers.tier("s3")
        assert isinstance(backend, S3Backend)
        self.count = 0
        self.bytes = 0
        read_range, get_layout = backend.read_range, backend.get_layout

        def counted_range(cid: CID, start: int, end: int) -> Iterator[bytes]:
            self.count += 1
            self.bytes += end - start
            return read_range(cid, start, end)

        def counted_layout(cid: CID, max_bytes: int) -> bytes | None:
            self.count += 1
            data = get_layout(cid, max_bytes)
            self.bytes += len(data or b"")
            return data

        backend.read_range = counted_range  # type: ignore[method-assign]
        backend.get_layout = counted_layout  # type: ignore[method-assign]


def random_reads(
    run: BenchRun, server: Any, tmp: Path, cid: CID, src: Path, size: int, reads: int
) -> dict[str, float]:
    """Fresh-kit 1 MiB reads at random offsets vs boto3 ranged GETs; the request figures."""
    rng = random.Random(15)
    offsets = [rng.randrange(0, size - MiB) for _ in range(reads)]
    client = boto(server)
    key = f"{PREFIX}{cid_key_of(cid)}"
    ours: list[float] = []
    theirs: list[float] = []
    trips: list[int] = []
    extra: list[int] = []
    with src.open("rb") as plain, open_kit(server, tmp, "reader") as kit:
        counted = Requests(kit)
        with KitReader(kit.tiers).open(cid) as f:  # connections up, as boto3's are
            f.read(1)
        for offset in offsets:
            plain.seek(offset)
            expected = plain.read(MiB)
            reader = KitReader(kit.tiers)  # nothing cached: no block, no layout
            counted.count = counted.bytes = 0
            start = time.perf_counter()
            with reader.open(cid) as f:
                f.seek(offset)
                got = f.read(MiB)
            ours.append(time.perf_counter() - start)
            if got != expected:
                raise SystemExit(f"wrong bytes at offset {offset}")
            trips.append(counted.count)
            extra.append(counted.bytes - MiB)
            start = time.perf_counter()
            body = client.get_object(
                Bucket=BUCKET, Key=key, Range=f"bytes={offset}-{offset + MiB - 1}"
            )["Body"].read()
            theirs.append(time.perf_counter() - start)
            if body != expected:
                raise SystemExit("boto3 read wrong bytes")
    case = "1 MiB at a random offset"
    worst_trips, worst_extra = max(trips), max(extra)
    run.add(
        Measurement(
            case,
            "us, nothing cached, verified",
            ours,
            MiB,
            notes=f"round trips max {worst_trips}, beyond the range max {worst_extra / 1e6:.2f} MB",
        )
    )
    run.add(Measurement(case, "boto3 get_object Range", theirs, MiB, notes="1 round trip, 0 MB"))
    return {"round_trips_max": worst_trips, "beyond_range_bytes_max": worst_extra}


def cid_key_of(cid: CID) -> str:
    from ipfs_kit_py.content.cid import cid_key

    return cid_key(cid)


def whole_file(
    run: BenchRun, server: Any, tmp: Path, cid: CID, size: int, digest: str, rounds: int
) -> None:
    client = boto(server)
    key = f"{PREFIX}{cid_key_of(cid)}"
    out = tmp / "out"
    out.mkdir()
    case = f"whole file {size // MiB} MiB"
    ours: list[float] = []
    theirs: list[float] = []
    with open_kit(server, tmp, "whole") as kit:
        backend = kit.tiers.tier("s3")
        assert isinstance(backend, S3Backend)
        for r in range(rounds):
            for name, samples in (("boto3", theirs), ("us", ours)):
                dest = out / f"{name}-{r}"
                start = time.perf_counter()
                if name == "us":
                    backend.download(cid, dest, profile=kit.tiers.profile_of(cid))
                else:
                    client.download_file(BUCKET, key, str(dest))
                samples.append(time.perf_counter() - start)
                if sha256_file(dest) != digest:
                    raise SystemExit(f"{name} downloaded wrong bytes")
                dest.unlink()
                print(f"  round {r + 1}/{rounds} {name}", flush=True)
    run.add(Measurement(case, "us by CID, verified", ours, size))
    run.add(Measurement(case, "boto3 download_file", theirs, size, notes="unverified"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--reads", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mb * MiB
    with tempfile.TemporaryDirectory(prefix="bench-ra-") as tmp_name:
        tmp = Path(tmp_name)
        seaweedfs = start_seaweedfs(tmp / "seaweedfs", buckets=(BUCKET,), name="bench-seaweedfs")
        with running(seaweedfs) as server:
            run = BenchRun("random_access")
            src = tmp / "src.bin"
            write_random_file(src, size)  # no repeated chunk: no leaf is deduplicated
            digest = sha256_file(src)
            with open_kit(server, tmp, "writer") as kit:
                cid = kit.add(src, to=["s3"]).cid
                start = time.perf_counter()
                with kit.open(cid) as f:  # the first range read builds and stores the layout
                    f.read(1)
                built = time.perf_counter() - start
            run.add(Measurement("layout build (once per file)", "us", [built], size))
            figures = random_reads(run, server, tmp, cid, src, size, args.reads)
            whole_file(run, server, tmp, cid, size, digest, args.rounds)
            case = f"whole file {size // MiB} MiB"
            baselines = {
                "1 MiB at a random offset": "boto3 get_object Range",
                case: "boto3 download_file",
                "layout build (once per file)": "us",
            }
            path = run.report(baselines)
            print(f"random 1 MiB reads: {figures}")
            print(f"results: {path}")


if __name__ == "__main__":
    main()
