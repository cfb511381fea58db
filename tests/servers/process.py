"""Start a server process on free loopback ports, wait until it answers, stop it by PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar


def exited_pid() -> int:
    """The pid of a process that has exited (a child that printed its pid and ended)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stoppable(Protocol):
    def stop(self) -> None: ...


S = TypeVar("S", bound=Stoppable)


@contextmanager
def running(server: S) -> Iterator[S]:
    """Yield a started ``server`` and stop it by PID afterwards, whatever happens."""
    try:
        yield server
    finally:
        server.stop()


class ServerStartError(RuntimeError):
    """A test server did not become ready; tests that need it must fail, not skip."""


@dataclass
class ServerProcess:
    """A started server: its Popen, its log file, and how to stop it."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process group we started, by PID: SIGTERM, then SIGKILL."""
        if self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout)

    def kill(self) -> None:
        """Kill the server at once (for fault tests)."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)


def start_server(
    name: str,
    argv: Sequence[str],
    *,
    ready: Callable[[], bool],
    log_dir: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60.0,
) -> ServerProcess:
    """Start ``argv`` in its own process group and poll ``ready`` until it returns True.

    Raises :class:`ServerStartError` with the log tail if the process exits or
    ``timeout`` passes first.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    log = log_path.open("wb")
    popen = subprocess.Popen(
        list(argv),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        start_new_session=True,
    )
    log.close()
    server = ServerProcess(name, popen, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise ServerStartError(
                f"{name} exited with {popen.returncode} before it was ready:\n{server.log_tail()}"
            )
        try:
            if ready():
                return server
        except Exception:
            pass
        time.sleep(0.1)
    server.stop()
    raise ServerStartError(f"{name} not ready after {timeout:.0f}s:\n{server.log_tail()}")
