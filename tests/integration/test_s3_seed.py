"""The seed's s3_kit example, verbatim, through the ipfs_kit facade and AWS_* env."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.servers.seaweedfs import SEED_BUCKET, SeaweedS3, make_file

from ipfs_kit_py.content.unixfs import import_file

AWS_VARS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "S3_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "IPFS_KIT_S3_BUCKET",
)


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory and an environment with no S3 or user config leaking in."""
    for name in AWS_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent-config.toml"))
    for kind in ("CONFIG", "CACHE", "DATA"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(tmp_path / kind.lower()))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def test_seed_example_verbatim(
    seaweedfs: SeaweedS3, clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweedfs.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweedfs.secret_key)
    monkeypatch.setenv("AWS_REGION", seaweedfs.region)
    monkeypatch.setenv("S3_ENDPOINT_URL", seaweedfs.endpoint_url)
    make_file(clean_env / "my_local_file.dat", 300_000)
    cid = import_file(clean_env / "my_local_file.dat").cid
    assert SEED_BUCKET == "my-ipfs-bucket"

    from ipfs_kit_py.ipfs_kit import ipfs_kit

    kit = ipfs_kit()
    r = kit.s3_kit.upload_file(
        local_path="my_local_file.dat", bucket="my-ipfs-bucket", key=f"ipfs/{cid}"
    )
    assert r["success"] is True, r
    assert (r["bucket"], r["key"], r["size"]) == ("my-ipfs-bucket", f"ipfs/{cid}", 300_000)
    r = kit.s3_kit.download_file(
        bucket="my-ipfs-bucket", key=f"ipfs/{cid}", local_path="downloaded_file.dat"
    )
    assert r["success"] is True, r
    assert (clean_env / "downloaded_file.dat").read_bytes() == (
        clean_env / "my_local_file.dat"
    ).read_bytes()
    kit.close()


def test_unconfigured_s3_answers_with_what_to_set(clean_env: Path) -> None:
    from ipfs_kit_py.ipfs_kit import ipfs_kit

    kit = ipfs_kit()
    make_file(clean_env / "f.dat", 10)
    for r in (
        kit.s3_kit.upload_file(local_path="f.dat", bucket="my-ipfs-bucket", key="ipfs/x"),
        kit.s3_kit.download_file(bucket="my-ipfs-bucket", key="ipfs/x", local_path="o.dat"),
        kit.s3_kit.list_objects(bucket="my-ipfs-bucket"),
    ):
        assert r["success"] is False
        assert r["error"].startswith("S3 not configured: set "), r
    kit.close()
