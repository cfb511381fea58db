"""No debris: ``add``, ``get`` and ``car extract`` killed mid-way leave no temp path behind.

Each test runs the real CLI in a subprocess, waits until its temp path exists, and kills
it: SIGTERM and SIGINT must clean up on the way out (exit 130); after SIGKILL, the next
command that writes a temp file removes what the dead process left (a command that only
reads leaves the journal alone, so that it starts fast).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipfs_kit_py import debris

SIGNALS = [signal.SIGKILL, signal.SIGTERM, signal.SIGINT]
BIG = 768 << 20


def cli_env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "IPFS_KIT_CONFIG": str(home / "absent.toml"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
    }


def default_sigint() -> None:
    # a job started in the background of a script inherits SIGINT ignored, and Python
    # keeps it so (as every Unix program should): the command under test gets Ctrl-C
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cli(home: Path, *args: str, **kw: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "ipfs_kit_py.cli.main", *args],
        env=cli_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=default_sigint,
        **kw,  # type: ignore[call-overload]
    )


def run(home: Path, *args: str) -> str:
    proc = cli(home, *args)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()
    return out.decode()


def debris_in(*dirs: Path) -> list[Path]:
    found: list[Path] = []
    for d in dirs:
        if d.is_dir():
            found += [p for p in d.rglob("*") if p.name.endswith(".part") or "extract" in p.name]
    return found


def wait_for(proc: subprocess.Popen[bytes], appeared: Callable[[], bool]) -> bool:
    """Poll until ``appeared()``; False if the command finished first."""
    deadline = time.monotonic() + 120
    while not appeared():
        if proc.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the temp path never appeared"
        time.sleep(0.002)
    return True


def interrupt_midway(
    start: Callable[[], subprocess.Popen[bytes]],
    appeared: Callable[[], bool],
    sig: signal.Signals,
    undo: Callable[[], None] = lambda: None,
    attempts: int = 6,
) -> None:
    """Start the command and send ``sig`` once its temp path exists.

    A fast command may finish between the poll that saw its temp path and the signal
    (the machine is shared): that attempt proves nothing, so ``undo`` removes its result
    and the command runs again. An interrupted command exits 130 (SIGTERM and SIGINT
    unwind like Ctrl-C) or dies of SIGKILL; one attempt at least must be interrupted.
    """
    for _ in range(attempts):
        proc = start()
        if wait_for(proc, appeared):
            proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
        if proc.returncode == 0:
            undo()
            continue
        expected = -signal.SIGKILL if sig == signal.SIGKILL else 130
        assert proc.returncode == expected, (out + err).decode(errors="replace")
        return
    pytest.fail(f"the command finished before {sig.name} in each of {attempts} attempts")


def next_writer_sweeps(home: Path, *debris_dirs: Path) -> None:
    """After a SIGKILL: reading commands leave the debris, the next writing one removes it."""
    assert debris_in(*debris_dirs)  # the dead process could not clean up
    run(home, "ls")
    run(home, "--help")
    assert debris_in(*debris_dirs), "a command that writes nothing swept"
    small = home / "small-next.txt"
    small.write_bytes(b"the next add sweeps what the killed command left\n")
    run(home, "add", "-Q", str(small))
    assert debris_in(*debris_dirs) == []


def sparse(path: Path, size: int) -> Path:
    with path.open("wb") as f:
        f.truncate(size)
    return path


@pytest.mark.timeout(300)
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_killed_add_leaves_no_part_file(tmp_path: Path, sig: signal.Signals) -> None:
    tmp_dir = tmp_path / "cache" / "ipfs-kit" / "tmp"

    def start() -> subprocess.Popen[bytes]:  # blocked on stdin: it cannot finish early
        proc = cli(tmp_path, "add", "-", stdin=subprocess.PIPE)
        assert proc.stdin is not None
        proc.stdin.write(os.urandom(1 << 20))
        proc.stdin.flush()
        return proc

    interrupt_midway(start, lambda: bool(debris_in(tmp_dir)), sig)
    if sig == signal.SIGKILL:
        next_writer_sweeps(tmp_path, tmp_dir)
    assert debris_in(tmp_dir) == []
    assert not list((tmp_path / "cache" / "ipfs-kit" / "inflight").glob("*"))


@pytest.mark.timeout(300)
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_killed_get_leaves_no_part_file(tmp_path: Path, sig: signal.Signals) -> None:
    source = sparse(tmp_path / "big.bin", BIG)
    cid = run(tmp_path, "add", "-Q", str(source)).strip()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    interrupt_midway(
        lambda: cli(tmp_path, "get", cid, "-o", str(out_dir / "copy")),
        lambda: bool(debris_in(out_dir)),
        sig,
        undo=(out_dir / "copy").unlink,
    )
    if sig == signal.SIGKILL:
        next_writer_sweeps(tmp_path, out_dir)
    assert list(out_dir.iterdir()) == []


@pytest.mark.timeout(300)
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_killed_car_extract_leaves_no_staging_dir(tmp_path: Path, sig: signal.Signals) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    for n in range(3):
        sparse(tree / f"f{n}", BIG // 3)
    car = tmp_path / "tree.car"
    run(tmp_path, "car", "pack", str(tree), "-o", str(car))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    interrupt_midway(
        lambda: cli(tmp_path, "car", "extract", str(car), "-o", str(out_dir / "restored")),
        lambda: any(p.name.startswith(".ipfs-kit-extract-") for p in out_dir.iterdir()),
        sig,
        undo=lambda: shutil.rmtree(out_dir / "restored"),
    )
    if sig == signal.SIGKILL:
        next_writer_sweeps(tmp_path, out_dir)
    assert list(out_dir.iterdir()) == []


# -- the journal itself -------------------------------------------------------------------


def test_sweep_keeps_the_paths_of_live_processes(tmp_path: Path, monkeypatch: object) -> None:
    os.environ["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    try:
        fd, name = debris.mkstemp(tmp_path, ".x.")
        os.close(fd)
        assert debris.sweep() == 0 and Path(name).exists()  # we are alive
        debris.release(name)
        assert not list(debris.journal_dir().iterdir())
    finally:
        del os.environ["XDG_CACHE_HOME"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    names=st.lists(
        st.text(st.characters(codec="utf-8", exclude_characters="/\0"), min_size=1, max_size=40),
        max_size=5,
    ),
    dead=st.booleans(),
)
def test_sweep_removes_only_our_temp_paths_of_dead_owners(
    tmp_path_factory: pytest.TempPathFactory, names: list[str], dead: bool
) -> None:
    base = tmp_path_factory.mktemp("sweep")
    journal = base / "journal"
    journal.mkdir()
    owner = "999999999-1" if dead else f"{os.getpid()}-"
    paths = []
    for n, name in enumerate(names):
        path = base / f"{n}{name}"
        try:
            path.write_bytes(b"x")
        except OSError:
            continue
        paths.append(path)
        (journal / f"{owner}.{n}").write_bytes(os.fsencode(path))
    debris.sweep(journal)
    for path in paths:
        ours = path.name.endswith(".part")
        assert path.exists() == (not (dead and ours))
    assert bool(list(journal.iterdir())) == (not dead and bool(paths))
