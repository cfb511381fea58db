"""No failure takes more than seconds: black holes, trickles and frozen real servers.

Each test meets a real misbehaving peer on 127.0.0.1 (``tests/servers/faults.py``) or a
real server frozen with SIGSTOP, and must end with a typed error. ``pytest-timeout``
is the hang guard: before bounded waits, each of these calls blocked 40-120 s.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.servers.faults import black_hole, trickle
from tests.servers.kubo import KuboNode
from tests.servers.seaweedfs import SeaweedS3
from tests.servers.storacha import StorachaService, StorachaTestCredentials, config_for

from ipfs_kit_py.backends.gateway import GatewayBackend
from ipfs_kit_py.backends.kubo.backend import KuboBackend, KuboConfig
from ipfs_kit_py.backends.kubo.multipart import Part
from ipfs_kit_py.backends.s3.client import S3Client
from ipfs_kit_py.backends.s3.config import S3Config
from ipfs_kit_py.backends.storacha.backend import StorachaBackend
from ipfs_kit_py.content.cid import RAW, sha256_cid
from ipfs_kit_py.errors import BackendUnavailableError
from ipfs_kit_py.net import Timeouts
from ipfs_kit_py.s3_kit import S3Kit

CID = sha256_cid(RAW, b"x" * 20)
QUICK = Timeouts(connect_timeout=0.5, idle_timeout=0.5, deadline=1.0, retries=1, stall_window=1.0)


def s3_config(url: str, **overrides: Any) -> S3Config:
    args = {"endpoint_url": url, "access_key_id": "k", "secret_access_key": "s"}
    return S3Config.from_sources({**args, "bucket": "bucket1", **overrides})


@contextmanager
def frozen(pid: int) -> Iterator[None]:
    """SIGSTOP a real server for the duration; always SIGCONT it again."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


# -- kubo -------------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_kubo_black_hole_with_default_timeouts() -> None:
    with (
        black_hole() as url,
        KuboBackend.from_config(KuboConfig(api_url=url)) as kubo,
        pytest.raises(BackendUnavailableError, match="did not answer pin/ls in time"),
    ):
        kubo.has(CID)


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "call",
    [
        lambda k: k.client.id(),
        lambda k: list(k.get(CID)),
        lambda k: k.stat(CID),
        lambda k: b"".join(k.export_car(CID)),
        lambda k: k.client.block_get(CID),
    ],
)
def test_kubo_black_hole_every_call(call: Callable[[KuboBackend], object]) -> None:
    with (
        black_hole() as url,
        KuboBackend.from_config(KuboConfig(api_url=url, timeouts=QUICK)) as k,
        pytest.raises(BackendUnavailableError, match=url),
    ):
        call(k)


@pytest.mark.timeout(30)
def test_kubo_trickle_is_cut_by_the_stall_guard_and_the_deadline() -> None:
    with (
        trickle(b"y" * 20, interval=0.3) as url,
        KuboBackend.from_config(KuboConfig(api_url=url, timeouts=QUICK)) as k,
    ):
        with pytest.raises(BackendUnavailableError, match="stalled"):
            b"".join(k.client.cat(CID))
        with pytest.raises(BackendUnavailableError, match="did not answer id in time"):
            k.client.id()


@pytest.mark.timeout(60)
def test_kubo_frozen_mid_transfer(kubo_private: KuboNode) -> None:
    # Larger than the loopback socket buffers together (a few MiB each way), so the freeze
    # stalls the stream however far kubo got before it.
    data = os.urandom(32 << 20)
    with kubo_private.backend(idle_timeout=1, deadline=2, stall_window=2) as k:
        cid = k.client.add([Part("big", body=[data])])[-1].cid
        stream = k.get(cid)
        next(iter(stream))
        with frozen(kubo_private.process.pid):
            with pytest.raises(BackendUnavailableError):
                b"".join(stream)
            with pytest.raises(BackendUnavailableError):
                k.has(cid)
        assert b"".join(k.get(cid)) == data  # thawed, the node answers again


# -- gateways ---------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_gateway_black_hole_with_default_timeouts() -> None:
    with (
        black_hole() as url,
        GatewayBackend(url) as gateway,
        pytest.raises(BackendUnavailableError, match="did not answer"),
    ):
        gateway.get_block(CID)


@pytest.mark.timeout(30)
def test_gateway_black_hole_and_trickle() -> None:
    with (
        black_hole() as url,
        GatewayBackend(url, timeouts=QUICK) as gateway,
        pytest.raises(BackendUnavailableError),
    ):
        b"".join(gateway.get(CID))
    with trickle(b"z" * 40, interval=0.3) as url, GatewayBackend(url, timeouts=QUICK) as gateway:
        with pytest.raises(BackendUnavailableError, match="did not answer"):
            gateway.get_block(CID)
        with pytest.raises(BackendUnavailableError, match="stalled"):
            b"".join(gateway.get(CID))


# -- S3 ---------------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_s3_black_hole_with_default_timeouts(tmp_path: Path) -> None:
    with black_hole() as url:
        kit = S3Kit(s3_config(url))
        result = kit.download_file("bucket1", "some/key", tmp_path / "out")
        assert result["success"] is False
        assert result["error_type"] == "BackendTimeoutError"
        assert list(tmp_path.iterdir()) == []
        kit.close()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("read", [True, False])
def test_s3_black_hole_every_call(read: bool, tmp_path: Path) -> None:
    quick = {"idle_timeout": 0.5, "deadline": 1, "connect_timeout": 0.5, "retry_timeout": 0.5}
    with black_hole(read=read) as url, S3Client(s3_config(url, **quick)) as client:
        for call in (
            lambda: client.head("bucket1", "k"),
            lambda: b"".join(client.iter_bytes("bucket1", "k")),
            lambda: client.put("bucket1", "k", b"small"),
            lambda: client.put("bucket1", "k", os.urandom(12 << 20)),
            lambda: client.download("bucket1", "k", tmp_path / "out"),
            lambda: list(client.list("bucket1", "ipfs/")),
        ):
            with pytest.raises(BackendUnavailableError, match=r"unreachable|in time"):
                call()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.timeout(60)
def test_s3_frozen_mid_download(seaweedfs_private: SeaweedS3, tmp_path: Path) -> None:
    server = seaweedfs_private
    config = S3Config.from_sources(server.s3_args(idle_timeout=1, deadline=2, retry_timeout=1))
    data = os.urandom(24 << 20)
    out = tmp_path / "out"
    out.mkdir()
    with S3Client(S3Config.from_sources(server.s3_args())) as uploader:
        uploader.put(server.bucket, "big", data)
    with S3Client(config) as client:
        stream = client.iter_bytes(server.bucket, "big")
        next(stream)
        with frozen(server.process.pid):
            with pytest.raises(BackendUnavailableError):
                b"".join(stream)
            with pytest.raises(BackendUnavailableError):
                client.download(server.bucket, "big", out / "file")
        assert list(out.iterdir()) == []  # no partial file left
        assert b"".join(client.iter_bytes(server.bucket, "big")) == data


@pytest.mark.timeout(60)
def test_cli_backends_against_a_black_hole_ends_with_exit_4(tmp_path: Path) -> None:
    with black_hole() as url:
        env = {
            **os.environ,
            "IPFS_KIT_CONFIG": str(tmp_path / "none.toml"),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "S3_ENDPOINT_URL": url,
            "AWS_ACCESS_KEY_ID": "k",
            "AWS_SECRET_ACCESS_KEY": "s",
            "IPFS_KIT_S3_BUCKET": "bucket1",
            "IPFS_API_URL": url,
        }
        done = subprocess.run(
            [sys.executable, "-m", "ipfs_kit_py.cli.main", "s3", "head", "some/key"],
            env=env,
            capture_output=True,
            text=True,
            timeout=45,
        )
        assert done.returncode == 4, done.stderr
        done = subprocess.run(
            [sys.executable, "-m", "ipfs_kit_py.cli.main", "backends", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=45,
        )
        tiers = {t["name"]: t for t in json.loads(done.stdout)["backends"]}
        for name in ("s3", "ipfs"):  # configured, and found unreachable in bounded time
            assert tiers[name]["configured"] and not tiers[name]["reachable"], tiers[name]


# -- Storacha ---------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_storacha_service_black_hole_and_trickle(
    storacha_credentials: StorachaTestCredentials,
) -> None:
    for server in (black_hole(), trickle(b"never a whole CAR", interval=0.3)):
        with server as url:
            config = config_for(
                StorachaService(url, "did:web:down.example", "", (), None),  # type: ignore[arg-type]
                storacha_credentials,
                service_key="did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
                timeouts=QUICK,
            )
            with StorachaBackend(config) as backend, pytest.raises(BackendUnavailableError):
                backend.list_uploads()


# -- S3 through the fault proxy (bench/faults): a trickle, a freeze mid-upload ------------


@pytest.mark.timeout(60)
def test_s3_trickle_and_upload_freeze_through_the_fault_proxy(
    seaweedfs: SeaweedS3, tmp_path: Path
) -> None:
    from bench.faults.proxy import Fault, FaultProxy

    data = os.urandom(3 << 20)
    with FaultProxy(seaweedfs.endpoint_url) as proxy:
        args = seaweedfs.s3_args(endpoint_url=proxy.url, stall_window=1, upload_timeout=2)
        with S3Client(S3Config.from_sources(args)) as client:
            client.put(seaweedfs.bucket, "drip/object", data)
            proxy.drop_connections()
            proxy.set("drip", direction="down", after=100_000, interval=0.3)
            with pytest.raises(BackendUnavailableError, match="stalled"):
                client.download(seaweedfs.bucket, "drip/object", tmp_path / "out")
            assert not list(tmp_path.iterdir())
            proxy.set()
            proxy.drop_connections()
            proxy.trigger("up", 1 << 20, Fault("freeze", "up"))
            with pytest.raises(BackendUnavailableError):
                client.put(seaweedfs.bucket, "frozen/object", os.urandom(12 << 20))
