"""S3 backend and s3_kit face against a real SeaweedFS S3 server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from tests.servers.seaweedfs import SeaweedS3, boto_client, make_file

from ipfs_kit_py.backends.s3.backend import S3Backend, object_key
from ipfs_kit_py.backends.s3.client import S3Client
from ipfs_kit_py.backends.s3.config import S3Config
from ipfs_kit_py.content.cid import CID, RAW, sha256_cid
from ipfs_kit_py.content.unixfs import KUBO_CID_V1, KUBO_DEFAULT, import_file
from ipfs_kit_py.errors import (
    AuthenticationError,
    BucketNotFoundError,
    ContentMismatchError,
    ContentNotFoundError,
    InputPathError,
)
from ipfs_kit_py.progress import BaseSubscriber
from ipfs_kit_py.s3_kit import S3Kit

MiB = 1024 * 1024


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".part"))


@pytest.fixture
def config(seaweedfs: SeaweedS3) -> S3Config:
    return S3Config.from_sources(seaweedfs.s3_args(key_prefix=f"{unique('ns')}/ipfs/"))


@pytest.fixture
def kit(config: S3Config) -> Iterator[S3Kit]:
    with S3Kit(config) as k:
        yield k


@pytest.fixture
def backend(config: S3Config) -> Iterator[S3Backend]:
    with S3Backend(config) as b:
        yield b


class Recorder(BaseSubscriber):
    def __init__(self) -> None:
        self.total: int | None = None
        self.seen = 0
        self.done: list[BaseException | None] = []

    def on_start(self, key: str, total: int | None, **kwargs: Any) -> None:
        self.total = total

    def on_progress(self, key: str, nbytes: int, **kwargs: Any) -> None:
        self.seen += nbytes

    def on_done(self, key: str, error: BaseException | None, **kwargs: Any) -> None:
        self.done.append(error)


SIZES = [0, 1, 5 * MiB + 1, pytest.param(100 * MiB, marks=pytest.mark.slow)]


@pytest.mark.parametrize("size", SIZES)
def test_backend_round_trip_by_cid(backend: S3Backend, tmp_path: Path, size: int) -> None:
    src = make_file(tmp_path / "src.bin", size)
    cid = import_file(src, KUBO_DEFAULT).cid
    up = Recorder()
    stored = backend.put(cid, src, profile=KUBO_DEFAULT, subscribers=[up])
    assert stored.size == size
    assert up.seen == size and up.done == [None]
    assert backend.has(cid)
    assert backend.stat(cid).size == size

    down = Recorder()
    dest = tmp_path / "out.bin"
    backend.download(cid, dest, subscribers=[down])
    assert dest.read_bytes() == src.read_bytes()
    assert down.total == size and down.seen == size
    assert leftovers(tmp_path) == []

    streamed = b"".join(backend.get(cid))
    assert streamed == src.read_bytes()


@pytest.mark.parametrize("size", SIZES)
def test_face_round_trip(kit: S3Kit, seaweedfs: SeaweedS3, tmp_path: Path, size: int) -> None:
    src = make_file(tmp_path / "src.bin", size)
    cid = import_file(src, KUBO_CID_V1).cid
    key = f"{unique('face')}/ipfs/{cid}"
    r = kit.upload_file(
        local_path=src, bucket=seaweedfs.bucket, key=key, cid=cid, profile=KUBO_CID_V1.key()
    )
    assert r["success"], r
    assert (r["bucket"], r["key"], r["size"], r["cid"]) == (seaweedfs.bucket, key, size, str(cid))
    assert r["etag"]

    dest = tmp_path / "down.bin"
    r = kit.download_file(bucket=seaweedfs.bucket, key=key, local_path=dest)
    assert r["success"], r
    assert r["verified"] and r["cid"] == str(cid) and r["size"] == size
    assert dest.stat().st_size == size
    assert dest.read_bytes() == src.read_bytes()


def test_v0_and_v1_of_the_same_content_share_one_object(backend: S3Backend) -> None:
    data = b"hello\n"
    v0 = import_file([data], KUBO_DEFAULT).cid
    v1 = v0.set(version=1)
    assert v0.version == 0
    backend.put(v0, [data])
    assert backend.key_for(v0) == backend.key_for(v1) == object_key(v1, backend.config.key_prefix)
    assert backend.has(v1)
    assert backend.read(v1) == data


def test_raw_block_round_trip_and_metadata(backend: S3Backend, seaweedfs: SeaweedS3) -> None:
    data = b"a raw block"
    cid = sha256_cid(RAW, data)
    backend.put(cid, data)
    head = boto_client(seaweedfs).head_object(Bucket=seaweedfs.bucket, Key=backend.key_for(cid))
    assert head["Metadata"]["cid"] == str(cid)
    assert backend.read(cid) == data


def test_missing_cid(backend: S3Backend, tmp_path: Path) -> None:
    cid = sha256_cid(RAW, b"never stored")
    assert not backend.has(cid)
    with pytest.raises(ContentNotFoundError):
        backend.stat(cid)
    with pytest.raises(ContentNotFoundError):
        backend.download(cid, tmp_path / "x")
    assert list(tmp_path.iterdir()) == []
    backend.delete(cid)  # absent: not an error


def test_corrupted_object_is_refused(
    backend: S3Backend, kit: S3Kit, seaweedfs: SeaweedS3, tmp_path: Path
) -> None:
    src = make_file(tmp_path / "src.bin", 3 * MiB)
    cid = import_file(src, KUBO_DEFAULT).cid
    backend.put(cid, src, profile=KUBO_DEFAULT)
    key = backend.key_for(cid)
    original = boto_client(seaweedfs).head_object(Bucket=seaweedfs.bucket, Key=key)["Metadata"]
    tampered = bytearray(src.read_bytes())
    tampered[MiB] ^= 0xFF
    boto_client(seaweedfs).put_object(
        Bucket=seaweedfs.bucket, Key=key, Body=bytes(tampered), Metadata=original
    )

    dest = tmp_path / "out.bin"
    with pytest.raises(ContentMismatchError):
        backend.download(cid, dest)
    assert not dest.exists() and leftovers(tmp_path) == []
    with pytest.raises(ContentMismatchError):
        backend.read(cid)

    r = kit.download_file(bucket=seaweedfs.bucket, key=key, local_path=dest)
    assert not r["success"] and r["error_type"] == "ContentMismatchError"
    assert str(cid) in r["error"]
    assert not dest.exists()
    r = kit.get_content(cid, dest)
    assert not r["success"] and r["error_type"] == "ContentMismatchError"


def test_listing_more_than_a_thousand_keys(
    kit: S3Kit, config: S3Config, seaweedfs: SeaweedS3
) -> None:
    prefix = f"{unique('list')}/"
    keys = [f"{prefix}k{i:05d}" for i in range(1050)]
    with S3Client(config) as client, ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: client.put(seaweedfs.bucket, k, k.encode()), keys))
    r = kit.list_objects(bucket=seaweedfs.bucket, prefix=prefix)
    assert r["success"], r
    assert r["count"] == 1050
    assert sorted(o["key"] for o in r["objects"]) == keys
    assert all(o["size"] == len(o["key"]) for o in r["objects"])
    assert kit.list_objects(bucket=seaweedfs.bucket, prefix=prefix, max_keys=10)["count"] == 10
    assert len(list(kit.iter_objects(seaweedfs.bucket, prefix + "k0100"))) == 10


def test_list_uses_string_prefixes(kit: S3Kit, seaweedfs: SeaweedS3) -> None:
    base = unique("pfx")
    for name in ("abc1", "abc2", "abd", "sub/x"):
        assert kit.upload_bytes(b"1", seaweedfs.bucket, f"{base}/{name}")["success"]
    found = kit.list_objects(bucket=seaweedfs.bucket, prefix=f"{base}/ab")["objects"]
    assert [o["key"] for o in found] == [f"{base}/abc1", f"{base}/abc2", f"{base}/abd"]


def test_face_bytes_streams_head_exists_delete(
    kit: S3Kit, seaweedfs: SeaweedS3, tmp_path: Path
) -> None:
    key = f"{unique('ops')}/blob"
    data = b"x" * 1000
    cid = sha256_cid(RAW, data)
    assert kit.upload_stream(iter([data[:10], data[10:]]), seaweedfs.bucket, key, cid=cid)[
        "success"
    ]
    head = kit.head_object(bucket=seaweedfs.bucket, key=key)
    assert head["success"] and head["size"] == 1000 and head["cid"] == str(cid)
    assert kit.exists(bucket=seaweedfs.bucket, key=key)["exists"] is True
    got = kit.download_bytes(bucket=seaweedfs.bucket, key=key)
    assert got["success"] and got["data"] == data
    with (tmp_path / "s.bin").open("wb") as f:
        assert kit.download_stream(f, bucket=seaweedfs.bucket, key=key)["verified"]
    assert (tmp_path / "s.bin").read_bytes() == data
    assert kit.delete_object(bucket=seaweedfs.bucket, key=key)["success"]
    assert kit.exists(bucket=seaweedfs.bucket, key=key)["exists"] is False
    missing = kit.head_object(bucket=seaweedfs.bucket, key=key)
    assert not missing["success"] and missing["error_type"] == "ContentNotFoundError"


def test_face_content_addressed(kit: S3Kit, tmp_path: Path) -> None:
    src = make_file(tmp_path / "c.bin", 2 * MiB)
    cid = import_file(src).cid
    r = kit.put_content(cid, src, profile=KUBO_DEFAULT.key())
    assert r["success"], r
    assert r["key"].endswith(str(cid.set(version=1).encode("base32")))
    assert kit.has_content(cid)["exists"] is True
    r = kit.get_content(str(cid), tmp_path / "c.out")
    assert r["success"] and r["verified"]
    assert (tmp_path / "c.out").read_bytes() == src.read_bytes()


def test_wrong_secret_is_a_clear_failure(seaweedfs: SeaweedS3, tmp_path: Path) -> None:
    wrong = "definitely-not-the-secret"
    kit = S3Kit.from_sources(seaweedfs.s3_args(secret_access_key=wrong))
    src = make_file(tmp_path / "f.bin", 10)
    results: list[dict[str, Any]] = [
        kit.upload_file(local_path=src, bucket=seaweedfs.bucket, key="auth/x"),
        kit.download_file(bucket=seaweedfs.bucket, key="auth/x", local_path=tmp_path / "o"),
        kit.list_objects(bucket=seaweedfs.bucket),
        kit.exists(bucket=seaweedfs.bucket, key="auth/x"),
    ]
    for r in results:
        assert r["success"] is False
        assert r["error_type"] == "AuthenticationError", r
        assert "credentials" in r["error"] or "secret" in r["error"]
        assert wrong not in r["error"]
    assert not (tmp_path / "o").exists()
    with pytest.raises(AuthenticationError):
        S3Backend.from_sources(seaweedfs.s3_args(secret_access_key=wrong)).has(
            sha256_cid(RAW, b"x")
        )


def test_missing_bucket(seaweedfs: SeaweedS3, tmp_path: Path) -> None:
    bucket = unique("nobucket")
    kit = S3Kit.from_sources(seaweedfs.s3_args(bucket=bucket))
    src = make_file(tmp_path / "f.bin", 10)
    results = [
        kit.upload_file(local_path=src, key="x"),
        kit.download_file(key="x", local_path=tmp_path / "o"),
        kit.exists(key="x"),
        kit.head_object(key="x"),
        kit.list_objects(),
    ]
    for r in results:
        assert r["success"] is False and r["error_type"] == "BucketNotFoundError", r
        assert bucket in r["error"]
    with pytest.raises(BucketNotFoundError):
        S3Backend.from_sources(seaweedfs.s3_args(bucket=bucket)).has(sha256_cid(RAW, b"x"))


def test_failed_multipart_upload_is_aborted(
    backend: S3Backend, config: S3Config, seaweedfs: SeaweedS3
) -> None:
    cid = sha256_cid(RAW, b"never completed")

    def failing() -> Iterator[bytes]:
        for _ in range(3):
            yield b"\0" * (config.part_size // 2 + 1)
        raise OSError("source broke")

    with pytest.raises(InputPathError, match="source broke"):
        backend.put(cid, failing())
    assert not backend.has(cid)
    uploads = boto_client(seaweedfs).list_multipart_uploads(Bucket=seaweedfs.bucket)
    assert [u for u in uploads.get("Uploads", []) if u["Key"] == backend.key_for(cid)] == []


def test_downloads_are_verified_with_recorded_storacha_profile(
    backend: S3Backend, tmp_path: Path
) -> None:
    from ipfs_kit_py.content.unixfs import STORACHA

    src = make_file(tmp_path / "s.bin", 3 * MiB)
    cid = import_file(src, STORACHA).cid
    backend.put(cid, src, profile=STORACHA)
    backend.download(cid, tmp_path / "s.out")
    assert (tmp_path / "s.out").read_bytes() == src.read_bytes()


def test_cid_type_is_used(backend: S3Backend) -> None:
    cid = sha256_cid(RAW, b"typed")
    assert isinstance(cid, CID)
    stored = backend.put(cid, iter([b"typed"]))
    assert stored.locator == f"s3://{backend.bucket}/{backend.key_for(cid)}"


def test_many_small_objects(kit: S3Kit, backend: S3Backend, seaweedfs: SeaweedS3) -> None:
    prefix = unique("many")
    objects = {f"{prefix}/{i}": bytes([i]) * 1000 for i in range(50)}
    r = kit.upload_objects(objects, bucket=seaweedfs.bucket)
    assert r["success"] and r["count"] == 50
    r = kit.download_objects(list(objects), bucket=seaweedfs.bucket)
    assert r["success"] and r["data"] == objects
    bad = kit.upload_objects({"ok/key": b"1", "bad//key": b"2"}, bucket=seaweedfs.bucket)
    assert bad["error_type"] == "InvalidInputError"
    assert kit.exists(bucket=seaweedfs.bucket, key="ok/key")["exists"] is False

    blocks = [bytes([i]) * 2000 for i in range(20)]
    cids = [sha256_cid(RAW, b) for b in blocks]
    stored = backend.put_many(zip(cids, blocks, strict=True))
    assert [s.cid for s in stored] == cids
    assert backend.get_many(cids) == blocks


def test_get_many_refuses_corrupted_block(backend: S3Backend, seaweedfs: SeaweedS3) -> None:
    blocks = [b"first block", b"second block"]
    cids = [sha256_cid(RAW, b) for b in blocks]
    backend.put_many(zip(cids, blocks, strict=True))
    boto_client(seaweedfs).put_object(
        Bucket=seaweedfs.bucket,
        Key=backend.key_for(cids[1]),
        Body=b"not the second block",
        Metadata={"cid": str(cids[1])},
    )
    with pytest.raises(ContentMismatchError):
        backend.get_many(cids)


def test_credentials_from_an_aws_profile(
    seaweedfs: SeaweedS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = tmp_path / "credentials"
    credentials.write_text(
        "[ipfs-kit-test]\n"
        f"aws_access_key_id = {seaweedfs.access_key}\n"
        f"aws_secret_access_key = {seaweedfs.secret_key}\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent-config"))
    env = {
        "AWS_PROFILE": "ipfs-kit-test",
        "S3_ENDPOINT_URL": seaweedfs.endpoint_url,
        "IPFS_KIT_S3_BUCKET": seaweedfs.bucket,
    }
    with S3Kit.from_sources({}, {}, env) as kit:
        key = f"{unique('profile')}/x"
        assert kit.upload_bytes(b"via profile", key=key)["success"]
        assert kit.download_bytes(key=key)["data"] == b"via profile"


_RSS_PROBE = """
import json, resource, sys
from ipfs_kit_py.backends.s3.client import S3Client
from ipfs_kit_py.backends.s3.config import S3Config
args, path, bucket = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
client = S3Client(S3Config.from_sources(args))
client.put(bucket, "rss/warm", b"x")
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
client.put(bucket, "rss/big", path)
client.download(bucket, "rss/big", path + ".out")
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024)
"""


@pytest.mark.slow
def test_memory_does_not_grow_with_object_size(seaweedfs: SeaweedS3, tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    size = 100 * MiB
    src = make_file(tmp_path / "big.bin", size)
    args = seaweedfs.s3_args(part_size=8 * MiB, max_concurrency=4)
    out = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, json.dumps(args), str(src), seaweedfs.bucket],
        capture_output=True,
        text=True,
        check=True,
    )
    growth = int(out.stdout.strip())
    assert growth < size // 2, f"peak RSS grew by {growth / MiB:.0f} MiB for a 100 MiB object"
    assert (tmp_path / "big.bin.out").stat().st_size == size


def test_stream_of_a_large_object_comes_in_order_from_parallel_ranges(
    seaweedfs: SeaweedS3, tmp_path: Path
) -> None:
    config = S3Config.from_sources(
        seaweedfs.s3_args(key_prefix=f"{unique('par')}/", part_size=5 * MiB, max_concurrency=2)
    )
    src = make_file(tmp_path / "p.bin", 17 * MiB + 3)
    cid = import_file(src).cid
    with S3Backend(config) as backend:
        backend.put(cid, src)
        assert b"".join(backend.get(cid)) == src.read_bytes()
        partial = backend.get(cid)
        assert len(next(partial)) > 0
        partial.close()  # a consumer that stops early cancels the remaining parts

        tampered = bytearray(src.read_bytes())
        tampered[-1] ^= 1
        key = backend.key_for(cid)
        boto_client(seaweedfs).put_object(
            Bucket=seaweedfs.bucket, Key=key, Body=bytes(tampered), Metadata={"cid": str(cid)}
        )
        with pytest.raises(ContentMismatchError):
            b"".join(backend.get(cid))
