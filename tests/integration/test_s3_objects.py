"""The typed S3 service (``kit.s3.objects``) reached through the facade, on SeaweedFS."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from ipfs_kit_py.content.cid import RAW, sha256_cid
from ipfs_kit_py.content.unixfs import KUBO_CID_V1, import_file
from ipfs_kit_py.errors import ContentMismatchError, ContentNotFoundError, NotConfiguredError
from ipfs_kit_py.ipfs_kit import ipfs_kit


@pytest.fixture
def kit(seaweedfs_kit: ipfs_kit) -> ipfs_kit:
    return seaweedfs_kit


def test_the_facade_builds_one_typed_s3_backend(kit: ipfs_kit) -> None:
    assert kit.tiers.tier("s3") is kit.s3
    assert kit.s3_kit.backend is kit.s3 and kit.s3_kit.objects is kit.s3.objects


def test_upload_records_the_cid_and_downloads_verify_it(kit: ipfs_kit, tmp_path: Path) -> None:
    data = b"typed S3 calls" * 1000
    cid = import_file([data], KUBO_CID_V1).cid
    key = f"objects/{uuid.uuid4().hex}"
    up = kit.s3.objects.upload(None, key, data, cid=cid, profile=KUBO_CID_V1)
    assert up.fields() == {
        "bucket": up.info.bucket,
        "key": key,
        "size": len(data),
        "etag": up.info.etag,
        "cid": str(cid),
    }
    assert kit.s3.objects.describe(kit.s3.objects.head(None, key))["cid"] == str(cid)
    down = kit.s3.objects.download_file(None, key, tmp_path / "out")
    assert down.verified and down.cid == cid
    assert (tmp_path / "out").read_bytes() == data
    info, found, chunks = kit.s3.objects.open_verified(None, key)
    assert (found, b"".join(chunks), info.size) == (cid, data, len(data))
    assert [i.key for i in kit.s3.objects.list_objects(None, "objects/")] == [key]


def test_a_wrong_cid_leaves_no_file(kit: ipfs_kit, tmp_path: Path) -> None:
    key = f"objects/{uuid.uuid4().hex}"
    kit.s3.objects.upload(None, key, b"the real bytes")
    wrong = sha256_cid(RAW, b"other bytes")
    with pytest.raises(ContentMismatchError):
        kit.s3.objects.download_file(None, key, tmp_path / "out", cid=wrong)
    assert [p.name for p in tmp_path.iterdir() if "out" in p.name] == []  # no file, no .part
    with pytest.raises(ContentMismatchError):
        b"".join(kit.s3.objects.open_verified(None, key, wrong)[2])
    kit.s3.objects.delete(None, key)
    assert not kit.s3.objects.exists(None, key)
    with pytest.raises(ContentNotFoundError):
        kit.s3.objects.head(None, key)


def test_without_credentials_the_typed_calls_say_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "none.toml"))
    with ipfs_kit(cache_dir=tmp_path / "c", index_path=tmp_path / "i") as kit:
        with pytest.raises(NotConfiguredError, match="S3 not configured: set AWS_ACCESS_KEY_ID"):
            kit.s3.objects.upload("bucket", "key", b"x")
        assert "s3" not in [t.name for t in kit.tiers.tiers]
        status = {s.name: s for s in kit.backends()}["s3"]
        assert not status.configured and status.reason.startswith("S3 not configured")
