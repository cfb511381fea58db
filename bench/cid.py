"""CID throughput: us vs hashlib.sha256 (one stream; two cores make 2x the limit) vs
Debian's ipfs_cid. Each row notes its CPU seconds and the cores that implies (CPU / wall),
and the table the load average: on a loaded machine two-core ratios are not measurable.

Run: .venv/bin/python -m bench.cid [--size-mb 256] [--rss-size-mb 1024] [--repeat 5]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import BenchRun, Measurement, make_file
from ipfs_kit_py.content.unixfs import KUBO_CID_V1, KUBO_DEFAULT, STORACHA, import_file

_RSS_PROBE = """
import sys
from ipfs_kit_py.content.unixfs import import_file, ImportProfile
def hwm():  # VmHWM is per address space; ru_maxrss would include the parent's peak
    line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    return int(line.split()[1])
before = hwm()
cid = import_file(sys.argv[1], ImportProfile.parse(sys.argv[2])).cid
print(before, hwm(), cid)
"""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


def ipfs_cid(path: Path) -> str:
    out = subprocess.run(["ipfs_cid", str(path)], capture_output=True, check=True, text=True)
    return str(json.loads(out.stdout)["CIDv0"])


def timed(
    run: BenchRun, case: str, contender: str, func: Callable[[], object], repeat: int, size: int
) -> None:
    """``run.time`` that also notes the least CPU time (all threads) of the runs."""
    cpu: list[float] = []

    def measured() -> None:
        start = time.process_time()
        func()
        cpu.append(time.process_time() - start)

    m = run.time(case, contender, measured, repeat=repeat, nbytes=size)
    m.notes = f"CPU {min(cpu):.3f} s = {min(cpu) / m.best:.2f} cores"


def rss_growth(path: Path, profile_key: str) -> tuple[int, str]:
    """Peak RSS growth (KiB) of importing ``path`` in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, str(path), profile_key],
        capture_output=True,
        check=True,
        text=True,
    ).stdout.split()
    return int(out[1]) - int(out[0]), out[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--rss-size-mb", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    size = args.size_mb * 1024 * 1024
    work = Path(tempfile.mkdtemp(prefix="bench-cid-"))
    try:
        path = work / "data.bin"
        make_file(path, size)
        sha256_file(path)  # warm the page cache
        load_before = f"{os.getloadavg()[0]:.2f}"
        run = BenchRun("cid")
        case = f"cid-{args.size_mb}MB"
        timed(run, case, "hashlib.sha256", lambda: sha256_file(path), args.repeat, size)
        ours = {}
        for label, profile in [("kubo", KUBO_DEFAULT), ("v1", KUBO_CID_V1), ("storacha", STORACHA)]:
            ours[label] = import_file(path, profile).cid
            job = lambda p=profile: import_file(path, p)  # type: ignore[misc]  # noqa: E731
            timed(run, case, f"ipfs_kit {label}", job, args.repeat, size)
        if shutil.which("ipfs_cid"):
            assert ipfs_cid(path) == str(ours["kubo"]), "ipfs_cid disagrees with us"
            run.time(case, "ipfs_cid", lambda: ipfs_cid(path), repeat=args.repeat, nbytes=size)
        rss_path = work / "rss.bin"
        make_file(rss_path, args.rss_size_mb * 1024 * 1024)
        for label, profile in [("kubo", KUBO_DEFAULT), ("v1", KUBO_CID_V1)]:
            growth_kib, _ = rss_growth(rss_path, profile.key())
            run.add(
                Measurement(
                    f"peak-rss-growth-{args.rss_size_mb}MB",
                    f"ipfs_kit {label}",
                    [0.0],
                    notes=f"peak RSS growth {growth_kib / 1024:.1f} MiB",
                )
            )
        run.report({case: "hashlib.sha256"})
        after = f"{os.getloadavg()[0]:.2f}"
        print(f"load average before / after: {load_before} / {after} on {os.cpu_count()} cores")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
