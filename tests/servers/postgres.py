"""A real PostgreSQL server (Debian's package) in a temp dir on a free loopback port.

PostgreSQL refuses to run as root: as root (CI) the data dir is given to the ``postgres``
user and the programs run through ``runuser``. The server is stopped by its PID file
(``pg_ctl stop``) and its directory removed. Each test gets a database of its own.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ipfs_kit_py.index import MetadataIndex, open_index
from tests.servers.process import ServerStartError, free_port

_COUNTER = itertools.count()


def pg_bin(name: str) -> str:
    """The path of PostgreSQL program ``name`` (Debian keeps them off PATH)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        raise ServerStartError(f"{name} not found: install Debian's postgresql package")
    return found[-1]


def _as_owner(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@dataclass
class Postgres:
    """A running PostgreSQL server: its data dir and port."""

    data_dir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def database_url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def new_database(self) -> str:
        """Create a fresh database and return its URL."""
        name = f"t{os.getpid()}_{next(_COUNTER)}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.database_url(name)

    def restart(self, timeout: float = 60.0) -> None:
        """Restart the server (``pg_ctl restart -m fast``): every client connection breaks."""
        options = f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        ctl = [pg_bin("pg_ctl"), "-D", str(self.data_dir), "-o", options, "-m", "fast"]
        ctl += ["-l", str(self.data_dir / "log"), "-w", "-t", str(int(timeout)), "restart"]
        done = subprocess.run(
            _as_owner(ctl),
            capture_output=True,
            timeout=timeout + 10,
            check=False,
        )
        if done.returncode != 0:
            raise ServerStartError(f"postgres did not restart: {done.stderr.decode()}")

    def stop(self) -> None:
        """Stop the server by its PID file, then remove its directory."""
        if (self.data_dir / "postmaster.pid").exists():
            subprocess.run(
                _as_owner([pg_bin("pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "stop"]),
                capture_output=True,
                timeout=60,
                check=False,
            )
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def start_postgres(timeout: float = 60.0) -> Postgres:
    """initdb a temp dir and start a server on a free 127.0.0.1 port; fail loudly."""
    base = Path(tempfile.mkdtemp(prefix="ipfs-kit-pg-"))
    base.chmod(0o755)
    data = base / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    init = subprocess.run(
        _as_owner([pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]),
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if init.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        raise ServerStartError(f"initdb failed: {init.stderr.decode(errors='replace')}")
    port = free_port()
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
    ctl = [pg_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(data / "log")]
    start = subprocess.run(
        _as_owner([*ctl, "-w", "-t", str(int(timeout)), "start"]),
        capture_output=True,
        timeout=timeout + 10,
        check=False,
    )
    server = Postgres(data, port)
    if start.returncode != 0:
        log = (data / "log").read_text(errors="replace") if (data / "log").exists() else ""
        server.stop()
        raise ServerStartError(f"postgres did not start: {start.stderr.decode()}\n{log[-2000:]}")
    return server


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One PostgreSQL server shared by the whole session."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres: Postgres) -> str:
    """The URL of a fresh, empty database for one test."""
    return postgres.new_database()


IndexFactory = Callable[..., MetadataIndex]


@pytest.fixture(params=["sqlite", "postgresql"])
def index_engine(request: pytest.FixtureRequest) -> str:
    """Each engine of the metadata index in turn."""
    return str(request.param)


@pytest.fixture
def make_index(
    index_engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[IndexFactory]:
    """Open the test's one index (a SQLite file, or a fresh PostgreSQL database) as often
    as asked; every index opened is closed at the end."""
    where = (
        str(tmp_path / "index.sqlite3")
        if index_engine == "sqlite"
        else request.getfixturevalue("postgres").new_database()
    )
    opened: list[MetadataIndex] = []

    def factory(**kwargs: Any) -> MetadataIndex:
        index = open_index(where, **kwargs)
        opened.append(index)
        return index

    factory.where = where  # type: ignore[attr-defined]
    yield factory
    for index in opened:
        index.close()
