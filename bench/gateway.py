"""HTTP gateway throughput: ``ipfs-kit serve`` vs kubo's own gateway, same content, same
machine, same load generator (``hey``, installed by scripts/install/10-debian.sh).

Content: one large file (``--size-mb``, default 256), one 4 KiB file, and a directory of
``--tree-files`` (default 10,000) small files. Kubo holds all of it (``ipfs add``); the
kit holds the files in its disk tier (``ipfs-kit add``, same CIDs) and reads the
directory's nodes from the same kubo (block/get): the default tiers plus kubo, as
``ipfs-kit serve`` runs them. Every block we send is verified against its CID.

Cases: the large file (MB/s, ``hey -c 1``), the 4 KiB file with 32 concurrent clients
(requests/s and p99 latency), a CAR export of the directory (``?format=car``). One
warm-up request per case and server first, timed on its own for the single-client cases
("first request": ours lays a disk file out with one hashing pass, and streams a
directory's CAR from kubo's ``dag export``; later requests find verified blocks cached).
Peak RSS of both servers (VmHWM) at the end.

Run: .venv/bin/python -m bench.gateway [--size-mb 256] [--tree-files 10000] [--requests 5000]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from tests.servers.kubo import KuboNode, start_kubo
from tests.servers.process import ServerProcess, free_port, running, start_server

from bench.common import BenchRun, Measurement, make_file


def hey(url: str, requests: int, clients: int) -> dict[str, float]:
    """Run ``hey`` and return its total seconds, requests/s and p99 latency (s)."""
    out = subprocess.run(
        ["hey", "-n", str(requests), "-c", str(clients), "-disable-compression", url],
        capture_output=True,
        check=True,
        timeout=1800,
    ).stdout.decode()
    codes = re.findall(r"\[(\d+)\]\s+(\d+) responses", out)
    if [c for c, _ in codes] != ["200"]:
        raise RuntimeError(f"hey saw other statuses than 200 from {url}: {codes}\n{out}")
    p99 = re.search(r"99%+ in ([\d.]+) secs", out)
    return {
        "total": float(re.search(r"Total:\s+([\d.]+) secs", out).group(1)),  # type: ignore[union-attr]
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p99": float(p99.group(1)) if p99 else 0.0,
    }


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def setup(work: Path, kubo: KuboNode, size_mb: int, tree_files: int) -> dict[str, str]:
    big, small, tree = work / "big.bin", work / "small.bin", work / "tree"
    make_file(big, size_mb << 20)
    make_file(work / "ranged.bin", size_mb << 20)  # first asked for by a range
    small.write_bytes(os.urandom(4096))
    tree.mkdir()
    for i in range(tree_files):
        (tree / f"f{i:05}.txt").write_text(f"file {i}\n")
    cids = {}
    for name, path in (
        ("big", big),
        ("ranged", work / "ranged.bin"),
        ("small", small),
        ("tree", tree),
    ):
        cids[name] = kubo.cli_text("add", "-Q", "-r", str(path))
    return cids


def serve_env(
    home: Path, kubo: KuboNode | None, cids: dict[str, str], work: Path, names: list[str]
) -> dict[str, str]:
    """The environment of an ``ipfs-kit`` whose state lives in ``home``, with the files
    ``names`` (in ``work``) added to its disk tier (checked against ``cids``)."""
    env = {
        "IPFS_KIT_CONFIG": str(home / "absent.toml"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
    }
    if kubo is not None:
        env["IPFS_API_URL"] = kubo.api_url
    for name in names:
        added = (
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "ipfs_kit_py.cli.main",
                    "add",
                    "-q",
                    "--to",
                    "disk",
                    str(work / name),
                ],
                env={**os.environ, **env},
                capture_output=True,
                check=True,
                timeout=600,
            )
            .stdout.decode()
            .split()[-1]
        )
        assert added == cids[name.split(".")[0]], (added, cids)
    return env


def serve_ours(work: Path, kubo: KuboNode, cids: dict[str, str]) -> tuple[ServerProcess, str]:
    env = serve_env(work, kubo, cids, work, ["big.bin", "ranged.bin", "small.bin"])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(
        "ipfs-kit-serve",
        [
            sys.executable,
            "-m",
            "ipfs_kit_py.cli.main",
            "serve",
            "--port",
            str(port),
            "--max-concurrent",
            "128",
        ],
        ready=lambda: httpx.get(f"{url}/ipfs/bafkqaaa?format=raw").status_code == 200,
        log_dir=work / "log",
        env=env,
    )
    return server, url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--tree-files", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("hey") is None:
        raise SystemExit("hey is missing: run scripts/install/10-debian.sh")
    run = BenchRun("gateway")
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        work = Path(tmp)
        with running(start_kubo(work / "kubo")) as kubo:
            cids = setup(work, kubo, args.size_mb, args.tree_files)
            server, url = serve_ours(work, kubo, cids)
            with running(server) as ours:
                servers = {"kubo gateway": kubo.gateway_url, "ipfs-kit serve": url}
                measure(run, servers, cids, args)
                rss = {
                    "ipfs-kit serve": peak_rss_mb(ours.popen.pid),
                    "kubo gateway": peak_rss_mb(kubo.process.popen.pid),
                }
    for m in run.measurements:
        m.notes = (m.notes + f"; server peak RSS {rss[m.contender]:.0f} MB").lstrip("; ")
    run.report({m.case: "kubo gateway" for m in run.measurements})


def measure(
    run: BenchRun, servers: dict[str, str], cids: dict[str, str], args: argparse.Namespace
) -> None:
    size = args.size_mb << 20
    cases = [
        (f"{args.size_mb} MB file", f"/ipfs/{cids['big']}", 1, args.repeat, size),
        ("4 KiB file, 32 clients", f"/ipfs/{cids['small']}", 32, args.requests, 4096),
        (f"CAR of {args.tree_files} files", f"/ipfs/{cids['tree']}?format=car", 1, 1, 0),
    ]
    first_range(run, servers, cids, args.size_mb)
    for case, path, clients, requests, nbytes in cases:
        for name, base in servers.items():
            start = time.perf_counter()
            warm = httpx.get(base + path, timeout=600)  # and a check of the answer
            first = time.perf_counter() - start
            warm.raise_for_status()
            if clients == 1:  # ours lays a disk file out (one hashing pass) / exports a DAG
                run.add(Measurement(f"{case}, first request", name, [first], nbytes=nbytes))
            if nbytes == size:
                assert len(warm.content) == size
            result = hey(base + path, requests, clients)
            seconds = [result["total"] / requests] * 1
            note = f"{result['rps']:.0f} req/s, p99 {result['p99'] * 1000:.1f} ms"
            if clients == 1 and nbytes:
                note = ""
            if not nbytes:
                note = f"{len(warm.content) / 1e6:.1f} MB CAR"
            run.add(Measurement(case, name, seconds, nbytes=nbytes, ops=1, notes=note))
            time.sleep(1)


def first_range(run: BenchRun, servers: dict[str, str], cids: dict[str, str], size_mb: int) -> None:
    """The first request for a large file is a 100-byte range: ours lays the disk file
    out (one hashing pass, nothing chunked) and reads one leaf."""
    case = f"{size_mb} MB file, first request a 100-byte range"
    start = (size_mb << 20) // 2
    for name, base in servers.items():
        began = time.perf_counter()
        r = httpx.get(
            f"{base}/ipfs/{cids['ranged']}?filename=r.bin",
            headers={"Range": f"bytes={start}-{start + 99}"},
            timeout=600,
        )
        seconds = time.perf_counter() - began
        if r.status_code != 206 or len(r.content) != 100:
            raise RuntimeError(f"{name} answered {r.status_code} to a range")
        run.add(Measurement(case, name, [seconds], nbytes=100))


if __name__ == "__main__":
    main()
