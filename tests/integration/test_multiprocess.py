"""4 processes x 1,000 mixed operations on one disk cache and one index.

Afterwards: no worker saw an unexpected error, every pinned object is still there,
the index lists exactly the files on disk, and every file verifies against its CID.
"""

from __future__ import annotations

import logging
import multiprocessing
import random
import traceback
from pathlib import Path

import pytest

from ipfs_kit_py.backends.disk import DiskBackend
from ipfs_kit_py.backends.memory import MemoryBackend
from ipfs_kit_py.content.cid import parse_cid
from ipfs_kit_py.content.unixfs import import_file
from ipfs_kit_py.content.verify import ContentVerifier
from ipfs_kit_py.errors import ContentNotFoundError
from ipfs_kit_py.index import open_index
from ipfs_kit_py.tiers.manager import TieredCacheManager, TierPolicy

WORKERS = 4
OPS = 1000
POOL = 40
CAPACITY = 512 * 1024


def shared_item(n: int) -> bytes:
    return (f"shared object {n}:".encode() * 800)[: 1500 + 150 * n]


def run_worker(root: str, where: str, seed: int) -> tuple[list[str], list[str]]:
    """Run OPS random operations; return (pinned CIDs added, unexpected errors)."""
    logging.disable(logging.WARNING)  # over-capacity warnings are expected here
    base = Path(root)
    rng = random.Random(seed)
    cids = [import_file([shared_item(n)]).cid for n in range(POOL)]
    pinned: list[str] = []
    errors: list[str] = []
    with open_index(where) as index:
        disk = DiskBackend(base / "cache", CAPACITY)
        tiers = TieredCacheManager(
            [MemoryBackend(64 * 1024), disk], index, TierPolicy(put_to=("memory", "disk"))
        )
        for op in range(OPS):
            n = rng.randrange(POOL)
            action = rng.random()
            try:
                if action < 0.35:
                    tiers.add([shared_item(n)])
                elif action < 0.70:
                    try:
                        data = tiers.get_bytes(cids[n])
                        assert data == shared_item(n), "wrong bytes served"
                    except ContentNotFoundError:
                        pass  # another process removed it: a miss, not an error
                elif action < 0.85:
                    tiers.remove(cids[n], ["disk"])
                elif action < 0.90:
                    own = f"worker {seed} op {op}".encode() * 60
                    pinned.append(str(tiers.add([own], to=["disk"], pinned=True).cid))
                else:
                    tiers.whereis(cids[n])
            except Exception:
                errors.append(traceback.format_exc())
        tiers.close()
    return pinned, errors


def test_four_processes_share_one_cache_and_index(
    tmp_path: Path, index_engine: str, request: pytest.FixtureRequest
) -> None:
    where = (
        str(tmp_path / "index.sqlite3")
        if index_engine == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(WORKERS) as pool:
        results = pool.starmap(
            run_worker, [(str(tmp_path), where, seed) for seed in range(WORKERS)]
        )
    errors = [e for _, errs in results for e in errs]
    assert errors == [], errors[0]

    with open_index(where) as index:
        disk = DiskBackend(tmp_path / "cache", CAPACITY)
        on_disk = {entry.key for entry in disk.entries()}
        assert set(index.cids_in("disk")) == on_disk  # index matches reality
        pinned = [parse_cid(c) for pins, _ in results for c in pins]
        assert len(pinned) > 100
        assert all(disk.has(cid) for cid in pinned)  # eviction kept every last copy
        assert len(on_disk) > len(pinned)  # shared objects live there too
        for key in on_disk:
            cid = parse_cid(key)
            verifier = ContentVerifier(cid)
            for chunk in disk.get(cid):
                verifier.update(chunk)
            verifier.finish()
        assert list((tmp_path / "cache" / "tmp").iterdir()) == []  # no temp file left
