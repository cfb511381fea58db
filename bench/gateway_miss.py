"""The cost of a CID nobody holds: ``trees_containing`` and a gateway 404, at N CIDs.

A gateway asked for a dag-pb CID no other source holds looks for a stored tree that
lists it as a sub-directory (``MetadataIndex.trees_containing``): any random CID from
the internet takes that path, so its cost must stay that of a point lookup, not grow with
the index. Per engine (SQLite, then PostgreSQL as the tests start it), the index holds N
CIDs (``--cids``, default 1,000,000) and ``--trees`` directory rows listing sub-directories;
timed (p50 and p99, one call at a time):

- ``locations(held CID)``: the point lookup every ratio refers to;
- ``trees_containing(random CID)`` and ``trees_containing(a recorded member)``;
- a gateway 404 for a random dag-pb CID (the tree lookup on the way), and for a random
  raw CID (no tree lookup: the HTTP floor), over one kept-alive connection.

The table's last column is each contender's p50 as a multiple of the point lookup's.

Run: .venv/bin/python -m bench.gateway_miss [--cids 1000000] [--trees 1000] [--samples 200]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from tests.gateway.blocks import serving
from tests.servers.postgres import start_postgres

from bench.common import BenchRun, Measurement
from bench.tiers import fake_keys
from ipfs_kit_py.content.cid import DAG_PB, RAW, cid_key, make_cid
from ipfs_kit_py.gateway import GatewayApp
from ipfs_kit_py.gateway.kit_source import kit_blocks
from ipfs_kit_py.index import MetadataIndex
from ipfs_kit_py.ipfs_kit import ipfs_kit

POINT = "locations(held CID)"


def random_cid(codec: int, rng: random.Random) -> str:
    return cid_key(make_cid(codec, hashlib.sha256(rng.randbytes(16)).digest()))


def fill(index: MetadataIndex, n: int, trees: int) -> list[str]:
    """N CIDs held in ``s3``, and ``trees`` directory rows of 4 sub-directories each;
    return the recorded members."""
    index.record_many([(k, "s3", f"ipfs/{k}") for k in fake_keys(n)])
    rng = random.Random(7)
    rows, members = [], []
    for t in range(trees):
        subdirs = {f"d{t}/s{i}": random_cid(DAG_PB, rng) for i in range(4)}
        members += subdirs.values()
        meta = {"files": {}, "dirs": list(subdirs), "subdirs": subdirs}
        rows.append((random_cid(DAG_PB, rng), None, "dir", "kubo", meta))
    index.upsert_many(rows)
    return members


def percentiles(seconds: list[float]) -> tuple[float, float]:
    seconds = sorted(seconds)
    return seconds[len(seconds) // 2], seconds[int(len(seconds) * 0.99)]


def sample(call: Callable[[str], object], args: list[str]) -> tuple[float, float]:
    call(args[0])  # warm-up
    seconds = []
    for arg in args:
        start = time.perf_counter()
        call(arg)
        seconds.append(time.perf_counter() - start)
    return percentiles(seconds)


def measure(run: BenchRun, kit: ipfs_kit, engine: str, args: argparse.Namespace) -> None:
    index = kit.index
    started = time.perf_counter()
    members = fill(index, args.cids, args.trees)
    print(f"{engine}: filled {index.count()} CIDs in {time.perf_counter() - started:.0f} s")
    rng = random.Random(3)
    held = rng.sample(fake_keys(min(args.cids, 20_000)), args.samples * 5)
    dag_pb = [random_cid(DAG_PB, rng) for _ in range(args.samples)]
    raw = [random_cid(RAW, rng) for _ in range(args.samples)]
    case = f"{engine}, {args.cids} CIDs, {args.trees} trees"
    timings = {
        POINT: sample(index.locations, held),
        "trees_containing(random CID)": sample(index.trees_containing, dag_pb),
        "trees_containing(recorded member)": sample(
            index.trees_containing, rng.sample(members, args.samples)
        ),
    }
    with serving(GatewayApp(kit_blocks(kit))) as url, httpx.Client(timeout=60) as http:

        def get_404(cid: str) -> None:
            status = http.get(f"{url}/ipfs/{cid}").status_code
            if status != 404:
                raise RuntimeError(f"the gateway answered {status} for a random CID")

        timings["gateway 404, random dag-pb CID"] = sample(get_404, dag_pb)
        timings["gateway 404, random raw CID (no tree lookup)"] = sample(get_404, raw)
    point = timings[POINT][0]
    for contender, (p50, p99) in timings.items():
        notes = f"p99 {p99 * 1e6:.0f} us; p50 = {p50 / point:.1f}x the point lookup"
        run.add(Measurement(case, contender, [p50], ops=1, notes=notes))


@contextmanager
def a_kit(home: Path, **where: str) -> Iterator[ipfs_kit]:
    with ipfs_kit(cache_dir=home / "cache", **where) as kit:  # type: ignore[arg-type]
        yield kit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cids", type=int, default=1_000_000)
    parser.add_argument("--trees", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    os.environ["IPFS_KIT_CONFIG"] = "/nonexistent/ipfs-kit-bench.toml"  # defaults only
    run = BenchRun("gateway_miss")
    with tempfile.TemporaryDirectory(prefix="bench-miss-") as tmp:
        home = Path(tmp)
        with a_kit(home / "sqlite", index_path=str(home / "index.sqlite3")) as kit:
            measure(run, kit, "SQLite", args)
        server = start_postgres()
        try:
            with a_kit(home / "pg", index_url=server.new_database()) as kit:
                measure(run, kit, "PostgreSQL", args)
        finally:
            server.stop()
    run.report({})  # the notes give each p50 as a multiple of the point lookup's


if __name__ == "__main__":
    main()
