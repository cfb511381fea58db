"""A range of a large disk file right after ``ipfs-kit serve`` starts: first start vs a
restart over the same cache (the disk layout kept by the first process), with kubo's
gateway serving the same CID from the same machine beside them.

The file (``--size-mb``, default 256) is in the kit's disk tier (``ipfs-kit add --to
disk``) and in kubo (``ipfs add``, same CID). Each server is started fresh and asked
once for ``--range-mb`` (default 1) at the middle of the file: on its first start ours
lays the file out (one hashing pass over all of it) before the first byte; restarted,
it loads the kept layout (verified) and reads only the leaves under the range. Every
byte sent is verified against its CID either way. Ratios: against our first start;
notes: the MB the server process read to answer (``/proc/<pid>/io`` ``rchar``), the
proof that a restarted server makes no pass over the file.

Run: .venv/bin/python -m bench.gateway_restart [--size-mb 256] [--range-mb 1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx
from tests.servers.kubo import KuboNode, start_kubo
from tests.servers.process import free_port, running, start_server

from bench.common import BenchRun, Measurement, make_file
from bench.gateway import serve_env

FIRST, RESTARTED, KUBO = "ipfs-kit serve, first start", "ipfs-kit serve, restarted", "kubo"


def one_range(url: str, cid: str, start: int, size: int) -> float:
    """Seconds to get ``size`` bytes from ``start``, checked for length and status."""
    began = time.perf_counter()
    r = httpx.get(
        f"{url}/ipfs/{cid}", headers={"Range": f"bytes={start}-{start + size - 1}"}, timeout=900
    )
    seconds = time.perf_counter() - began
    if r.status_code != 206 or len(r.content) != size:
        raise RuntimeError(f"{url} answered {r.status_code} with {len(r.content)} bytes")
    return seconds


def read_mb(pid: int) -> float:
    """MB the process ``pid`` has read so far (``rchar``: files, sockets, pipes)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1]) / 1e6
    return 0.0


def serve_once(
    work: Path, env: dict[str, str], cid: str, start: int, size: int
) -> tuple[float, float]:
    """Seconds for the range from a new server, and the MB it read to answer it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "ipfs_kit_py.cli.main", "serve", "--port", str(port)]
    server = start_server(
        "ipfs-kit-serve",
        argv,
        ready=lambda: httpx.get(f"{url}/ipfs/bafkqaaa?format=raw").status_code == 200,
        log_dir=work / "log",
        env=env,
    )
    with running(server) as ours:
        before = read_mb(ours.popen.pid)
        seconds = one_range(url, cid, start, size)
        return seconds, read_mb(ours.popen.pid) - before


def kubo_once(cid: str, start: int, size: int, kubo: KuboNode) -> float:
    kubo.restart()  # a fresh process, as ours
    return one_range(kubo.gateway_url, cid, start, size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--range-mb", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    size, span = args.size_mb << 20, args.range_mb << 20
    start = size // 2
    run = BenchRun("gateway-restart")
    case = f"{args.range_mb} MB range of a {args.size_mb} MB disk file, new server"
    times: dict[str, list[float]] = {FIRST: [], RESTARTED: [], KUBO: []}
    reads: dict[str, list[float]] = {FIRST: [], RESTARTED: []}
    with tempfile.TemporaryDirectory(prefix="bench-gw-restart-") as tmp:
        work = Path(tmp)
        make_file(work / "big.bin", size)
        with running(start_kubo(work / "kubo")) as kubo:
            cid = kubo.cli_text("add", "-Q", str(work / "big.bin"))
            for i in range(args.repeat):
                env = serve_env(work / f"kit{i}", None, {"big": cid}, work, ["big.bin"])
                for name in (FIRST, RESTARTED):
                    seconds, read = serve_once(work, env, cid, start, span)
                    times[name].append(seconds)
                    reads[name].append(read)
                times[KUBO].append(kubo_once(cid, start, span, kubo))
                shutil.rmtree(work / f"kit{i}", ignore_errors=True)
    for name, seconds in times.items():
        read = f"server read {max(reads[name]):.1f} MB" if name in reads else ""
        run.add(Measurement(case, name, seconds, nbytes=span, notes=read))
    run.report({case: FIRST})


if __name__ == "__main__":
    main()
