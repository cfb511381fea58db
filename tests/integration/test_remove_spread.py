"""A remove waiting on a remote tier never holds up other requests of the process.

Real SeaweedFS behind the fault proxy (``bench/faults``) turned into a black hole after
the add: ``remove(from_=["s3"])`` waits for its deadline, while a read of a disk copy in
another thread must not wait for it (it used to: the S3 delete ran under the index's
lock, which every index read of the process takes).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from bench.faults.proxy import FaultProxy
from tests.servers.seaweedfs import SeaweedS3

from ipfs_kit_py.errors import BackendUnavailableError
from ipfs_kit_py.ipfs_kit import ipfs_kit


@pytest.mark.timeout(120)
def test_a_remove_stuck_on_s3_does_not_block_a_disk_read(
    seaweedfs: SeaweedS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    with FaultProxy(seaweedfs.endpoint_url) as proxy:
        s3 = seaweedfs.s3_args(
            endpoint_url=proxy.url, deadline=20, idle_timeout=20, key_prefix="spread/"
        )
        config = {"cache_dir": tmp_path / "c", "index_path": tmp_path / "i.sqlite3", "s3": s3}
        with ipfs_kit(**config) as kit:
            on_disk = kit.add(b"local " * 1000, to=["disk"]).cid
            on_s3 = kit.add(os.urandom(5000), to=["s3"]).cid
        proxy.set("black_hole")
        proxy.drop_connections()
        with ipfs_kit(**config) as kit:  # a new client: no pooled connection escapes the fault
            failed: list[BaseException] = []

            def remove() -> None:
                try:
                    kit.remove(on_s3, from_=["s3"])
                except Exception as exc:
                    failed.append(exc)

            remover = threading.Thread(target=remove)
            remover.start()
            remover.join(1.0)
            assert remover.is_alive()  # waiting on the black hole
            assert kit.cat(on_disk) == b"local " * 1000
            assert kit.whereis(on_disk) == ["disk"]
            assert remover.is_alive()  # the read did not wait for the remove
            remover.join(60)
            assert len(failed) == 1 and isinstance(failed[0], BackendUnavailableError), failed
            assert kit.whereis(on_s3) == ["s3"]  # not removed: still recorded
