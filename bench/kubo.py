"""kubo RPC throughput: our KuboBackend vs the kubo CLI, against the same daemon.

Cases: ``add`` of one file (``ipfs add FILE`` vs ``KuboBackend.add_path``; the repo is
garbage-collected, untimed, before every run so each add writes every block), ``cat``
of it (``ipfs cat > /dev/null`` vs draining ``KuboBackend.get``), and ``add -r`` of a
directory of small files (per-entry overhead of the multipart upload).

Run: .venv/bin/python -m bench.kubo [--size-mb 256] [--repeat 3] [--tree-files 5000] [--profile]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.random_files import write_random_file
from tests.servers.kubo import KuboNode, start_kubo
from tests.servers.process import running

from bench.common import BenchRun, Measurement
from ipfs_kit_py.backends.kubo.backend import KuboBackend
from ipfs_kit_py.content.cid import parse_cid


def timed(func: Callable[[], object]) -> tuple[float, float]:
    """Wall seconds and client CPU seconds (this process + child processes) of ``func``."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu, start = time.process_time(), time.perf_counter()
    func()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    child_cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    return wall, time.process_time() - cpu + child_cpu


def measure(
    run: BenchRun,
    case: str,
    contenders: dict[str, Callable[[], object]],
    repeat: int,
    nbytes: int,
    before: Callable[[], object] = lambda: None,
) -> None:
    """Interleave the contenders ``repeat`` times (``before`` each run, untimed); note
    each one's best client CPU time."""
    walls: dict[str, list[float]] = {name: [] for name in contenders}
    cpus: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, func in contenders.items():
            before()
            wall, cpu = timed(func)
            walls[name].append(wall)
            cpus[name].append(cpu)
    for name in contenders:
        notes = f"client CPU {min(cpus[name]):.2f} s"
        run.add(Measurement(case, name, walls[name], nbytes=nbytes, notes=notes))


def drain(backend: KuboBackend, cid: str) -> int:
    return sum(len(chunk) for chunk in backend.get(parse_cid(cid)))


def cli_cat(node: KuboNode, cid: str) -> None:
    with open(os.devnull, "wb") as null:
        subprocess.run(
            [node.binary, "cat", cid],
            stdout=null,
            check=True,
            env={**os.environ, "IPFS_PATH": str(node.repo)},
        )


def make_tree(path: Path, files: int) -> int:
    """A directory of ``files`` small files; returns their total size."""
    path.mkdir()
    for i in range(files):
        (path / f"file-{i:06d}.txt").write_bytes(os.urandom(100 + i % 900))
    return sum(p.stat().st_size for p in path.iterdir())


def bench_add(
    run: BenchRun,
    node: KuboNode,
    backend: KuboBackend,
    path: Path,
    repeat: int,
    *,
    case: str = "add",
    nbytes: int = 0,
) -> str:
    """Add ``path`` with both; the repo is garbage-collected (untimed) before every run."""
    flags = ["-r"] if path.is_dir() else []
    cids: set[str] = set()

    def cli() -> None:
        cids.add(node.cli_text("add", "-Q", *flags, str(path)))

    def ours() -> None:
        cids.add(str(backend.add_path(path)))

    def gc() -> None:
        node.cli("repo", "gc")

    contenders = {"kubo CLI": cli, "ipfs_kit": ours}
    measure(run, case, contenders, repeat, nbytes or path.stat().st_size, before=gc)
    assert len(cids) == 1, cids
    return cids.pop()


def bench_cat(
    run: BenchRun, node: KuboNode, backend: KuboBackend, cid: str, size: int, repeat: int
) -> None:
    assert drain(backend, cid) == size
    contenders = {"kubo CLI": lambda: cli_cat(node, cid), "ipfs_kit": lambda: drain(backend, cid)}
    measure(run, "cat", contenders, repeat, size)


def profile_ours(backend: KuboBackend, path: Path, cid: str) -> None:
    """Print pyinstrument profiles of our add and cat."""
    from pyinstrument import Profiler

    for label, func in (
        ("add", lambda: backend.add_path(path)),
        ("cat", lambda: drain(backend, cid)),
    ):
        profiler = Profiler()
        profiler.start()
        func()
        profiler.stop()
        print(f"--- profile: {label}")
        print(profiler.output_text(unicode=False, color=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tree-files", type=int, default=5000)
    parser.add_argument("--profile", action="store_true", help="profile our side (pyinstrument)")
    args = parser.parse_args()
    size = args.size_mb * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="bench-kubo-") as tmp:
        base = Path(tmp)
        path = base / "data.bin"
        write_random_file(path, size)  # no repeated chunks: kubo deduplicates nothing
        with (
            running(start_kubo(base / "kubo", name="bench-kubo")) as node,
            node.backend() as backend,
        ):
            run = BenchRun("kubo")
            cid = bench_add(run, node, backend, path, args.repeat)
            bench_cat(run, node, backend, cid, size, args.repeat)
            tree = base / "tree"
            tree_bytes = make_tree(tree, args.tree_files)
            case = f"add tree of {args.tree_files} files"
            bench_add(run, node, backend, tree, args.repeat, case=case, nbytes=tree_bytes)
            if args.profile:
                profile_ours(backend, path, cid)
            run.report({m.case: "kubo CLI" for m in run.measurements})


if __name__ == "__main__":
    main()
