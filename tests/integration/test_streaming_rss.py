"""Peak RSS of add, get (cat's stream), get_to_path and replicate stays bounded at any size.

Each case runs in a fresh subprocess that measures its own peak RSS (``VmHWM`` of
``/proc/self/status``: ``ru_maxrss`` keeps the forking pytest's peak across exec)
around the operations on a ~200 MB
file, for the tier combinations memory+disk, disk+S3 (SeaweedFS) and disk+kubo.
The file is random at its start and end and sparse between, so it is cheap to make
and still exercises every chunk of the import and the verified reads.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
from tests.servers.kubo import KuboNode
from tests.servers.seaweedfs import SeaweedS3

SIZE = 200 << 20
LIMIT_MB = 100

SCRIPT = textwrap.dedent(
    """
    import json, os, resource, sys
    from ipfs_kit_py.ipfs_kit import ipfs_kit

    options, source, to, replicate_to, out = json.loads(sys.argv[1])
    def peak_mb():
        # VmHWM: this process image's own peak; ru_maxrss would carry the forking
        # pytest's peak across fork+exec
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    baseline = peak_mb()
    with ipfs_kit(**options) as kit:
        added = kit.add(source, to=to)  # a remote target only: the first read comes from it
        streamed = sum(len(chunk) for chunk in kit.get(added.cid))
        written = kit.get_to_path(added.cid, out).stat().st_size
        report = kit.replicate(added.cid, replicate_to)
    print(json.dumps({
        "baseline_mb": baseline, "peak_mb": peak_mb(), "size": added.size,
        "streamed": streamed, "written": written, "copied": list(report.copied),
    }))
    """
)


def sparse_file(path: Path) -> Path:
    with path.open("wb") as f:
        f.write(uuid.uuid4().bytes * 4096)
        f.seek(SIZE - 65536)
        f.write(uuid.uuid4().bytes * 4096)
    return path


def measure(tmp_path: Path, options: dict[str, Any], to: list[str], rep: list[str]) -> Any:
    source = sparse_file(tmp_path / "big.bin")
    options = {
        "cache_dir": str(tmp_path / "cache"),
        "index_path": str(tmp_path / "index.sqlite3"),
        **options,
    }
    args = json.dumps([options, str(source), to, rep, str(tmp_path / "out.bin")])
    env = {"IPFS_KIT_CONFIG": str(tmp_path / "absent.toml"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, args],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["size"] == result["streamed"] == result["written"] == SIZE
    return result


def test_memory_and_disk_stay_under_the_bound(tmp_path: Path) -> None:
    # the default tiers: memory (too small for this file) + disk; replicate has no target
    result = measure(tmp_path, {}, ["memory", "disk"], [])
    assert result["peak_mb"] < LIMIT_MB, result


def test_disk_and_s3_stay_under_the_bound(tmp_path: Path, seaweedfs: SeaweedS3) -> None:
    # default settings: an upload or in-order read holds max_buffer_bytes of parts (32 MiB);
    # before that bound, 8 parts x 8 MiB in flight peaked at 126 MB here
    s3 = seaweedfs.s3_args(key_prefix=f"rss-{uuid.uuid4().hex[:8]}/")
    result = measure(tmp_path, {"s3": s3}, ["s3"], ["disk"])
    assert result["peak_mb"] < LIMIT_MB, result


def test_disk_and_kubo_stay_under_the_bound(tmp_path: Path, kubo: KuboNode) -> None:
    result = measure(tmp_path, {"kubo": {"api_url": kubo.api_url}}, ["ipfs"], ["disk"])
    assert result["peak_mb"] < LIMIT_MB, result


@pytest.fixture(autouse=True)
def _enough_disk(tmp_path: Path) -> None:
    import shutil

    free = shutil.disk_usage(tmp_path).free
    assert free > 4 * SIZE, f"needs {4 * SIZE >> 20} MiB free in {tmp_path}, has {free >> 20}"
