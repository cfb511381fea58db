"""CLI start-up: whole-process wall time of ``ipfs-kit`` vs the kubo CLI, side by side.

Cases: ``add -n -Q`` of a small file, ``cat`` of a small CID already in the local store
(our disk tier; kubo's repo, no daemon) and ``--help``. Each run is a fresh process;
the contenders alternate, and the table shows best and median seconds and the ratio
of medians (kubo / ours: above 1 means we start faster), in wall time and, as the
``(cpu)`` rows, in the CPU time of the process (steadier on a shared, loaded machine).

Our package's bytecode is compiled first and the runs may write it (a
``PYTHONDONTWRITEBYTECODE`` in the caller's environment is dropped), as for an installed
wheel: otherwise every run would compile every module again. One untimed run of each
contender warms each case. The notes give the machine's load average (1 min) at the end
of the case: on a shared machine, compare runs made under a similar load.

Run: .venv/bin/python -m bench.cli [--repeat 15] [--size 4096]
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tests.servers.kubo import kubo_binary

import ipfs_kit_py
from bench.common import BenchRun, Measurement


def ours() -> list[str]:
    """The installed ``ipfs-kit`` script beside this interpreter (as a user runs it)."""
    script = Path(sys.executable).parent / "ipfs-kit"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ipfs_kit_py.cli.main"]


def run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one process running ``argv`` to completion (output discarded)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
    guard = threading.Timer(120, proc.kill)  # a hung run is killed, and fails below
    guard.start()
    try:
        # a blocking wait4: Popen.wait(timeout=...) polls in steps of up to 50 ms, which
        # rounded every wall time up to the next step
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        guard.cancel()
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, argv)
    return wall, usage.ru_utime + usage.ru_stime


def setup(home: Path, size: int) -> tuple[dict[str, str], dict[str, str], Path, str]:
    """Our and kubo's environments (fresh stores), a small file, and its CID stored in both."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STORACHA_"))}
    for name in ("IPFS_API_URL", "IPFS_PATH", "IPFS_KIT_CONFIG", "IPFS_KIT_GATEWAYS"):
        env.pop(name, None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    compileall.compile_dir(Path(ipfs_kit_py.__file__).parent, quiet=1)
    our_env = {**env, **{f"XDG_{k}_HOME": str(home / k.lower()) for k in ("CACHE", "DATA")}}
    our_env["XDG_CONFIG_HOME"] = str(home / "config")
    kubo_env = {**env, "IPFS_PATH": str(home / "kubo-repo")}
    small = home / "small.bin"
    small.write_bytes(os.urandom(size))
    subprocess.run([kubo_binary(), "init", "-e"], env=kubo_env, check=True, capture_output=True)
    kubo_cid = (
        subprocess.run(
            [kubo_binary(), "add", "-Q", str(small)], env=kubo_env, check=True, capture_output=True
        )
        .stdout.decode()
        .strip()
    )
    our_cid = (
        subprocess.run(
            [*ours(), "add", "-Q", str(small)], env=our_env, check=True, capture_output=True
        )
        .stdout.decode()
        .strip()
    )
    if our_cid != kubo_cid:
        raise SystemExit(f"CIDs differ: ours {our_cid}, kubo {kubo_cid}")
    return our_env, kubo_env, small, our_cid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs per contender and case")
    parser.add_argument("--size", type=int, default=4096, help="bytes in the small file")
    options = parser.parse_args()
    result = BenchRun("cli")
    with tempfile.TemporaryDirectory() as tmp:
        our_env, kubo_env, small, cid = setup(Path(tmp), options.size)
        cases = {
            "add -n -Q": ["add", "-n", "-Q", str(small)],
            "cat (cached)": ["cat", cid],
            "--help": ["--help"],
        }
        for case, args in cases.items():
            contenders = {
                "kubo CLI": ([kubo_binary(), *args], kubo_env),
                "ipfs-kit": ([*ours(), *args], our_env),
            }
            walls: dict[str, list[float]] = {name: [] for name in contenders}
            cpus: dict[str, list[float]] = {name: [] for name in contenders}
            for argv, env in contenders.values():
                run(argv, env)  # warm-up, untimed
            for _ in range(options.repeat):
                for name, (argv, env) in contenders.items():
                    wall, cpu = run(argv, env)
                    walls[name].append(wall)
                    cpus[name].append(cpu)
            add_case(result, case, walls)
            add_case(result, f"{case} (cpu)", cpus)
    result.report({m.case: "kubo CLI" for m in result.measurements})


def add_case(result: BenchRun, case: str, seconds: dict[str, list[float]]) -> None:
    """Record one case; the note gives the ratio of medians (kubo / ours)."""
    ratio = statistics.median(seconds["kubo CLI"]) / statistics.median(seconds["ipfs-kit"])
    load = f"load {os.getloadavg()[0]:.1f}"
    for name, values in seconds.items():
        note = f"median ratio {ratio:.2f}x, {load}" if name == "ipfs-kit" else f"baseline, {load}"
        result.add(Measurement(case, name, values, ops=1, notes=note))


if __name__ == "__main__":
    main()
