"""A real kubo daemon (offline, isolated repo, free loopback ports), stopped by PID.

The binary is the one ``scripts/install/30-kubo.sh`` builds:
``~/.cache/ipfs-kit-build/kubo-<version>/ipfs`` (``IPFS_KIT_BUILD_CACHE`` moves the cache,
``IPFS_KIT_KUBO_BIN`` names a binary directly).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from ipfs_kit_py.backends.kubo.backend import KuboBackend, KuboConfig
from ipfs_kit_py.backends.kubo.rpc import authorization_header
from ipfs_kit_py.config import Secret
from tests.servers.process import (
    ServerProcess,
    ServerStartError,
    free_port,
    running,
    start_server,
)

if TYPE_CHECKING:
    from ipfs_kit_py.ipfs_kit import ipfs_kit

KUBO_VERSION = "v0.43.1"
AUTH_SECRET = "basic:ipfs-kit:test-password-0123"


def kubo_binary() -> str:
    """The kubo binary the install script built; ServerStartError if it is missing."""
    explicit = os.environ.get("IPFS_KIT_KUBO_BIN")
    cache = os.environ.get("IPFS_KIT_BUILD_CACHE") or str(Path.home() / ".cache/ipfs-kit-build")
    path = Path(explicit) if explicit else Path(cache) / f"kubo-{KUBO_VERSION}" / "ipfs"
    if not os.access(path, os.X_OK):
        raise ServerStartError(f"kubo binary {path} missing: run scripts/install/30-kubo.sh")
    return str(path)


@dataclass
class KuboNode:
    """A running kubo daemon, its repo, and how to reach it by RPC and by its CLI."""

    process: ServerProcess
    binary: str
    repo: Path
    api_url: str
    gateway_url: str
    auth: str | None = None

    def cli(
        self, *args: str, input: bytes | None = None, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``ipfs ARGS`` against this node (the CLI finds the daemon by the repo)."""
        argv = [self.binary, *args]
        if self.auth:
            argv.insert(1, f"--api-auth={self.auth}")
        return subprocess.run(
            argv,
            input=input,
            capture_output=True,
            check=check,
            timeout=timeout,
            env={**os.environ, "IPFS_PATH": str(self.repo)},
        )

    def cli_text(self, *args: str) -> str:
        """Run ``ipfs ARGS`` and return its stripped stdout."""
        return self.cli(*args).stdout.decode().strip()

    def config(self, **overrides: Any) -> KuboConfig:
        """A KuboConfig for this node (no config file, no environment)."""
        args: dict[str, Any] = {"api_url": self.api_url, "auth": self.auth}
        args.update(overrides)
        return KuboConfig.from_sources(args, section={}, env={})

    def backend(self, **overrides: Any) -> KuboBackend:
        return KuboBackend.from_config(self.config(**overrides))

    def stop(self) -> None:
        self.process.stop()

    def kill(self) -> None:
        self.process.kill()

    def restart(self) -> None:
        """Start the stopped or killed daemon again on the same repo and ports."""
        self.process.stop()
        self.process = start_server(
            self.process.name,
            list(self.process.popen.args),  # type: ignore[arg-type]
            ready=lambda: _ready(self.api_url, self.auth),
            log_dir=self.process.log_path.parent,
            env={"IPFS_PATH": str(self.repo)},
            timeout=60,
        )


def _configure(repo: Path, api_port: int, gateway_port: int, auth: str | None) -> None:
    path = repo / "config"
    config = json.loads(path.read_text())
    config["Addresses"]["API"] = f"/ip4/127.0.0.1/tcp/{api_port}"
    config["Addresses"]["Gateway"] = f"/ip4/127.0.0.1/tcp/{gateway_port}"
    config["Addresses"]["Swarm"] = [f"/ip4/127.0.0.1/tcp/{free_port()}"]
    config["Bootstrap"] = []
    config["Routing"]["Type"] = "none"
    config.setdefault("AutoConf", {})["Enabled"] = False
    if auth:
        config["API"]["Authorizations"] = {
            "tests": {"AuthSecret": auth, "AllowedPaths": ["/api/v0"]}
        }
    path.write_text(json.dumps(config, indent=2))


def _ready(api_url: str, auth: str | None) -> bool:
    headers = {"Authorization": authorization_header(Secret(auth))} if auth else {}
    response = httpx.post(f"{api_url}/api/v0/id", headers=headers, timeout=2, trust_env=False)
    return response.status_code == 200


def start_kubo(
    base_dir: Path,
    *,
    name: str = "kubo",
    auth: str | None = None,
    online: bool = False,
    timeout: float = 60,
) -> KuboNode:
    """Init a repo under ``base_dir`` (test profile) and start ``ipfs daemon --offline``.

    ``online=True`` starts it without ``--offline`` (still no bootstrap peers, no routing):
    a CID it lacks is then searched for until kubo's ``timeout``.
    """
    binary = kubo_binary()
    base_dir.mkdir(parents=True, exist_ok=True)
    repo = base_dir / "repo"
    env = {"IPFS_PATH": str(repo)}
    init = subprocess.run(
        [binary, "init", "--profile=test"],
        capture_output=True,
        env={**os.environ, **env},
        timeout=60,
    )
    if init.returncode != 0:
        raise ServerStartError(f"ipfs init failed: {init.stderr.decode(errors='replace')}")
    api_port, gateway_port = free_port(), free_port()
    _configure(repo, api_port, gateway_port, auth)
    api_url = f"http://127.0.0.1:{api_port}"
    process = start_server(
        name,
        [binary, "daemon", *([] if online else ["--offline"])],
        ready=lambda: _ready(api_url, auth),
        log_dir=base_dir,
        env=env,
        timeout=timeout,
    )
    return KuboNode(process, binary, repo, api_url, f"http://127.0.0.1:{gateway_port}", auth)


@pytest.fixture(scope="session")
def kubo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KuboNode]:
    """One kubo daemon shared by the whole session."""
    with running(start_kubo(tmp_path_factory.mktemp("kubo"))) as node:
        yield node


@pytest.fixture(scope="session")
def kubo_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KuboNode]:
    """A kubo daemon whose RPC API requires ``API.Authorizations`` (basic auth)."""
    with running(
        start_kubo(tmp_path_factory.mktemp("kubo-auth"), name="kubo-auth", auth=AUTH_SECRET)
    ) as node:
        yield node


@pytest.fixture(scope="session")
def kubo_online(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KuboNode]:
    """A kubo daemon in online mode with no peers: lookups of absent CIDs would hang."""
    with running(
        start_kubo(tmp_path_factory.mktemp("kubo-online"), name="kubo-online", online=True)
    ) as node:
        yield node


@pytest.fixture
def kubo_private(tmp_path: Path) -> Iterator[KuboNode]:
    """A kubo daemon of its own, for tests that kill it."""
    with running(start_kubo(tmp_path / "kubo", name="kubo-private")) as node:
        yield node


@pytest.fixture
def kubo_kit(kubo: KuboNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ipfs_kit]:
    """A kit of the test's own (memory, disk under ``tmp_path``, the session's kubo as
    ``ipfs``), with no config file read."""
    from ipfs_kit_py.ipfs_kit import ipfs_kit

    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    with ipfs_kit(
        cache_dir=tmp_path / "cache",
        index_path=tmp_path / "index.sqlite3",
        kubo={"api_url": kubo.api_url},
    ) as kit:
        yield kit
