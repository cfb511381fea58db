"""Faults a real server produces: SeaweedFS killed in the middle of a transfer.

Each test kills a server of its own (``seaweedfs_private``), never the session one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.servers.seaweedfs import SeaweedS3, make_file

from ipfs_kit_py.backends.s3.backend import S3Backend
from ipfs_kit_py.backends.s3.config import S3Config
from ipfs_kit_py.content.cid import RAW, sha256_cid
from ipfs_kit_py.content.unixfs import import_file
from ipfs_kit_py.errors import BackendError, BackendUnavailableError
from ipfs_kit_py.progress import BaseSubscriber
from ipfs_kit_py.s3_kit import S3Kit

MiB = 1024 * 1024


def fast_failing(server: SeaweedS3, **overrides: object) -> S3Config:
    args = server.s3_args(max_retries=2, retry_timeout=5, connect_timeout=2, **overrides)
    return S3Config.from_sources(args)


def test_server_killed_mid_upload(seaweedfs_private: SeaweedS3) -> None:
    server = seaweedfs_private
    backend = S3Backend(fast_failing(server))
    cid = sha256_cid(RAW, b"an upload that never completes")

    def source() -> Iterator[bytes]:
        for i in range(64):
            if i == 40:
                server.kill()
            yield os.urandom(MiB)

    with pytest.raises(BackendUnavailableError) as caught:
        backend.put(cid, source())
    assert "s3://" in str(caught.value)

    server.restart()
    assert not backend.has(cid)
    backend.close()


class KillAfter(BaseSubscriber):
    def __init__(self, server: SeaweedS3, limit: int) -> None:
        self.server = server
        self.limit = limit
        self.seen = 0

    def on_progress(self, key: str, nbytes: int, **kwargs: Any) -> None:
        self.seen += nbytes
        if self.seen >= self.limit:
            self.server.kill()


def test_server_killed_mid_download(seaweedfs_private: SeaweedS3, tmp_path: Path) -> None:
    server = seaweedfs_private
    src = make_file(tmp_path / "src.bin", 64 * MiB)
    cid = import_file(src).cid
    out = tmp_path / "out"
    out.mkdir()
    # two 8 MiB ranges in flight: most of the object is still on the server at the kill
    with S3Backend(fast_failing(server, max_concurrency=2)) as backend:
        backend.put(cid, src)
        with pytest.raises(BackendError):
            backend.download(cid, out / "dest.bin", subscribers=[KillAfter(server, 8 * MiB)])
    assert list(out.iterdir()) == []


def test_face_reports_a_dead_server(seaweedfs_private: SeaweedS3, tmp_path: Path) -> None:
    server = seaweedfs_private
    kit = S3Kit(fast_failing(server))
    src = make_file(tmp_path / "f.bin", 1000)
    assert kit.upload_file(local_path=src, key="dead/x")["success"]
    server.kill()
    r = kit.download_file(key="dead/x", local_path=tmp_path / "o.bin")
    assert r["success"] is False
    assert r["error_type"] == "BackendUnavailableError", r
    assert not (tmp_path / "o.bin").exists()
    kit.close()
