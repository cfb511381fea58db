"""``index rebuild`` from real tiers: S3 objects under the prefix and kubo's pins."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from tests.servers.kubo import KuboNode
from tests.servers.seaweedfs import SeaweedS3
from tests.servers.storacha import StorachaService, StorachaTestCredentials

from ipfs_kit_py.content.unixfs import STORACHA
from ipfs_kit_py.errors import IndexCorruptError
from ipfs_kit_py.ipfs_kit import ipfs_kit


def test_rebuild_finds_s3_objects_and_kubo_pins_after_the_index_is_lost(
    seaweedfs: SeaweedS3, kubo: KuboNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    index = tmp_path / "index.sqlite3"
    config = {
        "cache_dir": tmp_path / "cache",
        "index_path": index,
        "s3": seaweedfs.s3_args(key_prefix=f"rebuild-{uuid.uuid4().hex[:10]}/ipfs/"),
        "kubo": {"api_url": kubo.api_url},
    }
    data_s3, data_ipfs = os.urandom(90_000), os.urandom(80_000)
    with ipfs_kit(**config) as kit:
        on_s3 = kit.add(data_s3, to=["s3"]).cid
        on_ipfs = kit.add(data_ipfs, to=["ipfs"], pin=True).cid
    index.write_bytes(os.urandom(8192))  # the ledger is gone, the tiers are not
    for leftover in ("-wal", "-shm"):
        Path(f"{index}{leftover}").unlink(missing_ok=True)
    with ipfs_kit(**config) as kit:
        with pytest.raises(IndexCorruptError, match=str(index)):
            kit.whereis(on_s3)
        report = kit.rebuild_index()
        assert report.found["s3"] == 1 and report.found["ipfs"] >= 1
        assert report.unreachable == {}
        assert kit.whereis(on_s3) == ["s3"]
        assert "ipfs" in kit.whereis(on_ipfs)
        assert kit.cat(on_s3) == data_s3 and kit.cat(on_ipfs) == data_ipfs
        assert kit.verify(on_s3).ok
        assert "ipfs" in kit.verify(on_ipfs).good  # the pin itself was found, and holds


def test_rebuild_finds_storacha_uploads_and_keeps_what_the_old_file_knew(
    storacha_service: StorachaService,
    storacha_credentials: StorachaTestCredentials,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    storacha = {
        "key": storacha_credentials.key,
        "proof": storacha_credentials.proof,
        "space": storacha_credentials.space_did,
        "service_url": storacha_service.url,
        "service_did": storacha_service.did,
        "service_key": storacha_service.did_key,
        "receipts_url": storacha_service.receipts_url,
        "gateway_url": storacha_service.gateway_url,
    }
    config = {"cache_dir": tmp_path / "cache", "index_path": tmp_path / "i.sqlite3"}
    data = os.urandom(300_000)
    with ipfs_kit(**config, storacha=storacha) as kit:
        added = kit.add(data, profile=STORACHA, to=["storacha"], pin=True, tags=["keep"])
        report = kit.rebuild_index()  # a sound old file: pins and tags come back
        assert report.found["storacha"] >= 1 and report.unreachable == {}
        [loc] = kit.index.locations(added.cid)
        assert loc.backend == "storacha" and loc.pinned
        assert kit.index.content(added.cid).tags == ("keep",)  # type: ignore[union-attr]
        assert kit.verify(added.cid).good == ("storacha",)
        kit.tiers.tier("storacha").delete(added.cid)  # upload/remove behind the ledger
        assert kit.verify(added.cid).missing == ("storacha",)
        assert kit.rebuild_index().missing >= 1  # still known, still missing
        [loc] = kit.index.locations(added.cid, include_bad=True)
        assert loc.state == "missing" and loc.pinned
