"""The ledger against real S3 (SeaweedFS): lost copies stay visible until forgotten."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.servers.seaweedfs import SeaweedS3, boto_client

from ipfs_kit_py.cli.main import main
from ipfs_kit_py.content.cid import cid_key
from ipfs_kit_py.content.unixfs import STORACHA, FileImporter, ImportProfile
from ipfs_kit_py.errors import ContentNotFoundError
from ipfs_kit_py.ipfs_kit import ipfs_kit


@pytest.fixture
def env(seaweedfs: SeaweedS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Configure ``ipfs_kit()`` (and so the CLI) through the environment only."""
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("IPFS_KIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("IPFS_KIT_INDEX", str(tmp_path / "index.sqlite3"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweedfs.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweedfs.secret_key)
    monkeypatch.setenv("AWS_REGION", seaweedfs.region)
    monkeypatch.setenv("S3_ENDPOINT_URL", seaweedfs.endpoint_url)
    monkeypatch.setenv("IPFS_KIT_S3_BUCKET", seaweedfs.bucket)
    monkeypatch.setenv("IPFS_KIT_S3_KEY_PREFIX", f"ledger-{uuid.uuid4().hex[:10]}/ipfs/")
    return tmp_path


@pytest.fixture
def kit(env: Path) -> Iterator[ipfs_kit]:
    with ipfs_kit() as k:
        yield k


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main([*argv, "--json"])
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1])


def _delete_object(seaweedfs: SeaweedS3, kit: ipfs_kit, cid: Any) -> None:
    s3 = kit.tiers.tier("s3")
    boto_client(seaweedfs).delete_object(Bucket=seaweedfs.bucket, Key=s3.key_for(cid))  # type: ignore[attr-defined]


def test_a_deleted_object_stays_in_the_ledger_as_missing(
    kit: ipfs_kit, seaweedfs: SeaweedS3, capsys: pytest.CaptureFixture[str]
) -> None:
    data = os.urandom(300_000)
    added = kit.add(data, to=["s3"], pin=True)
    _delete_object(seaweedfs, kit, added.cid)
    with pytest.raises(ContentNotFoundError):
        kit.cat(added.cid)
    [loc] = kit.index.locations(added.cid, include_bad=True)
    assert (loc.backend, loc.state, loc.pinned) == ("s3", "missing", True)
    assert loc.marked_at is not None and "gone" in (loc.reason or "")
    kit.close()

    code, r = cli(capsys, "whereis", str(added.cid))
    assert code == 1 and r["backends"] == [] and r["lost"] == ["s3"]
    assert r["locations"][0]["state"] == "missing" and r["locations"][0]["reason"]
    code, r = cli(capsys, "verify", str(added.cid))
    assert code == 1 and r["checks"][0]["missing"] == ["s3"]
    code, r = cli(capsys, "verify", "--all")
    assert code == 1 and [c["cid"] for c in r["checks"]] == [cid_key(added.cid)]
    code, r = cli(capsys, "ls")
    assert r["count"] == 1  # still listed: the ledger keeps the loss
    code, r = cli(capsys, "repair", str(added.cid))
    assert code == 1 and r["error_type"] == "ContentNotFoundError"  # no good copy left
    code, r = cli(capsys, "forget", str(added.cid), "--from", "s3")
    assert code == 0 and r["forgotten"] == ["s3"]
    code, r = cli(capsys, "verify", "--all")
    assert code == 1 and r["checks"][0]["good"] == []  # a record with no copy at all
    code, r = cli(capsys, "forget", str(added.cid))
    assert code == 0
    code, r = cli(capsys, "verify", "--all")
    assert code == 0 and r["checks"] == []


def test_repair_restores_a_missing_s3_copy(
    kit: ipfs_kit, seaweedfs: SeaweedS3, capsys: pytest.CaptureFixture[str]
) -> None:
    data = os.urandom(200_000)
    added = kit.add(data, to=["disk", "s3"])
    _delete_object(seaweedfs, kit, added.cid)
    assert kit.verify(added.cid).missing == ("s3",)
    assert kit.whereis(added.cid) == ["disk"]
    code, r = cli(capsys, "repair", str(added.cid))
    assert code == 0 and r["report"]["copied"] == ["s3"]
    check = kit.verify(added.cid)
    assert check.ok and check.good == ("disk", "s3")


def test_intact_bytes_of_a_non_default_profile_pass_without_object_metadata(
    kit: ipfs_kit, seaweedfs: SeaweedS3
) -> None:
    data = os.urandom(2_500_000)  # several chunks in every profile
    profile = ImportProfile(chunk_size=65536, raw_leaves=True, cid_version=1, max_links=174)
    added = kit.add(data, to=["s3"], profile=profile)
    key = kit.tiers.tier("s3").key_for(added.cid)  # type: ignore[attr-defined]
    client = boto_client(seaweedfs)
    client.put_object(Bucket=seaweedfs.bucket, Key=key, Body=data)  # same bytes, no metadata
    assert "import-profile" not in client.head_object(Bucket=seaweedfs.bucket, Key=key)["Metadata"]
    check = kit.verify(added.cid)
    assert check.good == ("s3",), check
    assert kit.cat(added.cid) == data  # through the parallel download, with the index's profile
    kit.remove(added.cid, from_=["disk", "memory"])  # whichever of them holds it
    assert b"".join(kit.get(added.cid)) == data


@pytest.mark.parametrize("size", [50_000, 9 << 20])  # one PUT; a multipart upload
def test_put_content_refuses_data_that_is_not_its_cid(kit: ipfs_kit, size: int) -> None:
    data = os.urandom(size)
    importer = FileImporter(STORACHA)
    importer.update(data)
    cid = importer.finish().cid
    wrong = bytearray(data)
    wrong[-1] ^= 1
    r = kit.s3_kit.put_content(cid, bytes(wrong), profile=STORACHA.key())
    assert not r["success"] and r["error_type"] == "ContentMismatchError"
    assert kit.s3_kit.has_content(cid)["exists"] is False
    r = kit.s3_kit.put_content(cid, data, profile=STORACHA.key())
    assert r["success"], r
    assert kit.s3_kit.has_content(cid)["exists"] is True
