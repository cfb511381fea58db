"""debris.process_alive: a pid, and when known its start time, names one live process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.backends.storacha.debris import sweep_stale
from ipfs_kit_py.debris import owner_alive, process_alive, process_owner, process_start_time
from tests.servers.process import exited_pid


def test_this_process_is_alive_by_pid_and_by_its_start_time() -> None:
    me = os.getpid()
    started = process_start_time(me)
    assert started.isdigit()  # Linux: clock ticks since boot
    assert process_alive(me) and process_alive(me, started) and process_alive(me, None)
    assert owner_alive(process_owner())


def test_a_start_time_that_differs_is_another_process_given_the_same_pid() -> None:
    me = os.getpid()
    other = str(int(process_start_time(me)) + 1)
    assert not process_alive(me, other)
    assert not owner_alive(f"{me}-{other}")


def test_a_live_child_is_alive_until_it_exits() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        started = process_start_time(child.pid)
        assert process_alive(child.pid) and process_alive(child.pid, started)
    finally:
        child.kill()
        child.wait()
    assert not process_alive(child.pid) and not process_alive(child.pid, started)


def test_an_exited_process_is_dead_with_or_without_a_start_time() -> None:
    pid = exited_pid()
    assert not process_alive(pid) and not process_alive(pid, "12345")


def test_pids_no_process_can_have_are_dead_not_errors() -> None:
    for pid in (0, -1, -os.getpid(), 2**31, 2**63, 2**64 + 1, 10**30):
        assert process_alive(pid) is False, pid
    assert not owner_alive("-1-5") and not owner_alive("x-1") and not owner_alive("")


@settings(max_examples=200, deadline=None)
@given(st.integers(), st.one_of(st.none(), st.text(max_size=12)))
def test_any_pid_and_start_time_give_an_answer(pid: int, started: str | None) -> None:
    assert process_alive(pid, started) in (True, False)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=40))
def test_any_owner_text_gives_an_answer(owner: str) -> None:
    assert owner_alive(owner) in (True, False)


def test_storacha_upload_dirs_of_dead_or_impossible_pids_are_swept(tmp_path: Path) -> None:
    mine = tmp_path / f"storacha-shards-{os.getpid()}-abc"
    dead = tmp_path / f"storacha-shards-{exited_pid()}-abc"
    huge = tmp_path / f"storacha-put-{10**30}-abc"
    for path in (mine, dead, huge):
        path.mkdir()
    assert sweep_stale(tmp_path) == 2
    assert [p.name for p in tmp_path.iterdir()] == [mine.name]
