"""S3 without a server: config sources, names, the CID -> key rule, errors, transfers."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.backends.s3.backend import S3Backend, object_key
from ipfs_kit_py.backends.s3.config import S3Config
from ipfs_kit_py.backends.s3.errors import translate_error, validate_bucket, validate_key
from ipfs_kit_py.backends.s3.transfer import download_ranges
from ipfs_kit_py.config import Secret
from ipfs_kit_py.content.cid import RAW, parse_cid, sha256_cid
from ipfs_kit_py.errors import (
    AuthenticationError,
    BackendError,
    BackendUnavailableError,
    BucketNotFoundError,
    ContentMismatchError,
    ContentNotFoundError,
    InvalidInputError,
    NotConfiguredError,
)
from ipfs_kit_py.s3_kit import S3Kit
from tests.servers.process import free_port

SECRET = "unit-test-secret-value"


def test_sources_priority_args_over_file_over_env() -> None:
    env = {
        "AWS_ACCESS_KEY_ID": "env-key",
        "AWS_SECRET_ACCESS_KEY": "env-secret",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ENDPOINT_URL_S3": "http://env:1",
        "IPFS_KIT_S3_BUCKET": "env-bucket",
        "AWS_SESSION_TOKEN": "env-token",
    }
    section = {"bucket": "file-bucket", "region": "eu-central-1", "part_size": "8388608"}
    args = {"bucket": "arg-bucket"}
    config = S3Config.from_sources(args, section, env)
    assert config.bucket == "arg-bucket"
    assert config.region == "eu-central-1"
    assert config.part_size == 8 * 1024 * 1024
    assert config.access_key_id == "env-key"
    assert config.secret_access_key == Secret("env-secret")
    assert config.session_token == Secret("env-token")
    assert config.endpoint_url == "http://env:1"
    assert config.key_prefix == "ipfs/"


def test_env_names_in_order() -> None:
    config = S3Config.from_sources(
        env={
            "AWS_REGION": "a",
            "AWS_DEFAULT_REGION": "b",
            "S3_ENDPOINT_URL": "http://x:1",
            "AWS_ENDPOINT_URL_S3": "http://y:1",
            "AWS_PROFILE": "dev",
        }
    )
    assert (config.region, config.endpoint_url, config.profile) == ("a", "http://x:1", "dev")
    assert config.configured  # a profile is enough


def test_key_prefix_is_normalised() -> None:
    assert S3Config.from_sources({"key_prefix": "content"}).key_prefix == "content/"
    assert S3Config.from_sources({"key_prefix": ""}).key_prefix == ""


def test_secrets_never_shown() -> None:
    config = S3Config.from_sources(
        {"access_key_id": "AKID", "secret_access_key": SECRET, "session_token": SECRET}
    )
    kit = S3Kit(config)
    for text in (repr(config), str(config), repr(kit), repr(kit.client), repr(kit.backend)):
        assert SECRET not in text


def test_bad_numbers_are_configuration_errors() -> None:
    from ipfs_kit_py.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        S3Config.from_sources({"part_size": "lots"})
    with pytest.raises(ConfigurationError):
        S3Config.from_sources({"part_size": 1024})


@given(
    part_mib=st.integers(5, 64),
    concurrency=st.integers(1, 256),
    buffer=st.one_of(st.integers(1, 1 << 31), st.integers(1, 8).map(lambda n: f"{n << 23}")),
)
@settings(max_examples=80, deadline=None)
def test_parts_held_in_memory_stay_within_the_buffer(
    part_mib: int, concurrency: int, buffer: int | str
) -> None:
    config = S3Config.from_sources(
        {"part_size": part_mib << 20, "max_concurrency": concurrency, "max_buffer_bytes": buffer}
    )
    parts = config.buffered_parts
    assert 1 <= parts <= concurrency
    assert parts == 1 or parts * config.part_size <= int(buffer)


def test_default_transfers_hold_32_mib_of_parts_and_bad_buffers_are_refused() -> None:
    from ipfs_kit_py.errors import ConfigurationError

    assert S3Config().buffered_parts * S3Config().part_size == 32 << 20
    env = {"IPFS_KIT_S3_MAX_BUFFER_BYTES": str(16 << 20)}
    assert S3Config.from_sources(env=env).buffered_parts == 2
    for bad in (0, -1, "lots", True, float("nan")):
        with pytest.raises(ConfigurationError):
            S3Config.from_sources({"max_buffer_bytes": bad})


def test_unconfigured_face_says_what_to_set(tmp_path: Path) -> None:
    kit = S3Kit.from_sources({}, {}, {})
    (tmp_path / "f").write_bytes(b"x")
    results = [
        kit.upload_file(local_path=tmp_path / "f", bucket="my-ipfs-bucket", key="k"),
        kit.download_file(bucket="my-ipfs-bucket", key="k", local_path=tmp_path / "o"),
        kit.list_objects(bucket="my-ipfs-bucket"),
        kit.exists(bucket="my-ipfs-bucket", key="k"),
        kit.delete_object(bucket="my-ipfs-bucket", key="k"),
        kit.head_object(bucket="my-ipfs-bucket", key="k"),
        kit.has_content(sha256_cid(RAW, b"x")),
    ]
    for r in results:
        assert r == {
            "success": False,
            "error": r["error"],
            "error_type": "NotConfiguredError",
        }
        assert r["error"].startswith("S3 not configured: set AWS_ACCESS_KEY_ID")
    with pytest.raises(NotConfiguredError):
        S3Backend.from_sources({}, {}, {}).has(sha256_cid(RAW, b"x"))


def test_missing_bucket_setting() -> None:
    kit = S3Kit.from_sources({"access_key_id": "a", "secret_access_key": "b"})
    r = kit.exists(key="k")
    assert r["error_type"] == "NotConfiguredError" and "bucket" in r["error"]


@pytest.mark.parametrize(
    "name", ["b1", "A-bucket", "-bucket", "bucket-", "a" * 64, "my..bucket", "192.168.1.1", "a_b"]
)
def test_invalid_bucket_names(name: str) -> None:
    with pytest.raises(InvalidInputError):
        validate_bucket(name)


@pytest.mark.parametrize("name", ["abc", "my-ipfs-bucket", "a.b.c", "a" * 63])
def test_valid_bucket_names(name: str) -> None:
    assert validate_bucket(name) == name


@pytest.mark.parametrize(
    "key", ["", "/abs", "a//b", "trailing/", "a/./b", "../up", "nul\x00", "tab\tkey", "é" * 600]
)
def test_invalid_keys(key: str) -> None:
    with pytest.raises(InvalidInputError):
        validate_key(key)


@pytest.mark.parametrize("key", ["a", "ipfs/bafy", "dir/sub/file.dat", "spaces are ok", "ü"])
def test_valid_keys(key: str) -> None:
    assert validate_key(key) == key


def unreachable_kit() -> S3Kit:
    """A kit whose endpoint nobody listens on: any request would fail as unavailable."""
    return S3Kit.from_sources(
        {
            "endpoint_url": f"http://127.0.0.1:{free_port()}",
            "access_key_id": "k",
            "secret_access_key": SECRET,
            "bucket": "good-bucket",
            "max_retries": 1,
            "retry_timeout": 2,
        }
    )


def test_invalid_names_fail_before_any_request(tmp_path: Path) -> None:
    kit = unreachable_kit()
    (tmp_path / "f").write_bytes(b"x")
    for r in (
        kit.upload_file(local_path=tmp_path / "f", bucket="Bad_Bucket", key="k"),
        kit.upload_file(local_path=tmp_path / "f", bucket="good-bucket", key="a//b"),
        kit.download_file(bucket="b1", key="k", local_path=tmp_path / "o"),
        kit.exists(bucket="good-bucket", key="/abs"),
        kit.list_objects(bucket="x"),
        kit.upload_bytes(b"x", "good-bucket", "../escape"),
    ):
        assert r["success"] is False
        assert r["error_type"] == "InvalidInputError", r


def test_missing_local_file_is_an_input_error(tmp_path: Path) -> None:
    r = unreachable_kit().upload_file(local_path=tmp_path / "nope", key="k")
    assert r["error_type"] == "InputPathError"


def test_down_server_is_unavailable_in_bounded_time(tmp_path: Path) -> None:
    kit = unreachable_kit()
    r = kit.exists(key="k")
    assert r["success"] is False and r["error_type"] == "BackendUnavailableError", r
    assert SECRET not in r["error"]
    r = kit.upload_bytes(b"data", key="k")
    assert r["error_type"] == "BackendUnavailableError", r


def test_one_cid_to_key_rule() -> None:
    v0 = parse_cid("QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN")
    v1 = v0.set(version=1)
    assert object_key(v0) == object_key(v1) == f"ipfs/{v1.encode('base32')}"
    assert object_key(v0, "x/") == f"x/{v1.encode('base32')}"
    backend = S3Backend(S3Config(bucket="b-bucket", key_prefix="p/"))
    assert backend.key_for(v0) == f"p/{v1.encode('base32')}"
    assert backend.name == "s3"


ERROR_BODY = (
    'Server returned non-2xx status code: {status} X: <?xml version="1.0"?>'
    "<Error><Code>{code}</Code><Message>m</Message></Error>"
)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (ERROR_BODY.format(status=404, code="NoSuchBucket"), BucketNotFoundError),
        (ERROR_BODY.format(status=403, code="SignatureDoesNotMatch"), AuthenticationError),
        (ERROR_BODY.format(status=403, code="InvalidAccessKeyId"), AuthenticationError),
        (ERROR_BODY.format(status=404, code="NoSuchKey"), ContentNotFoundError),
        (ERROR_BODY.format(status=503, code="SlowDown"), BackendUnavailableError),
        (ERROR_BODY.format(status=500, code="InternalError"), BackendUnavailableError),
        ("Generic S3 error: HTTP error: error sending request", BackendUnavailableError),
        (ERROR_BODY.format(status=412, code="PreconditionFailed"), BackendError),
    ],
)
def test_error_translation(message: str, expected: type[Exception]) -> None:
    error = translate_error(RuntimeError(message), "get", "bkt-name", "k")
    assert type(error) is expected
    assert "s3://bkt-name" in str(error)


def test_errors_of_our_tree_pass_through() -> None:
    original = ContentMismatchError("m")
    assert translate_error(original, "get", "b") is original


class Collect:
    def __init__(self) -> None:
        self.data = bytearray()
        self.finished = False

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self.data += data

    def finish(self) -> None:
        self.finished = True


def test_download_ranges_writes_in_place_and_feeds_sink_in_order(tmp_path: Path) -> None:
    blob = os.urandom(1_000_003)

    def fetch(start: int, end: int) -> list[bytes]:
        return [blob[start : (start + end) // 2], blob[(start + end) // 2 : end]]

    sink = Collect()
    dest = tmp_path / "d.bin"
    with ThreadPoolExecutor(4) as pool:
        download_ranges(fetch, len(blob), dest, part_size=65536, pool=pool, sink=sink)
    assert dest.read_bytes() == blob
    assert bytes(sink.data) == blob and sink.finished
    assert [p.name for p in tmp_path.iterdir()] == ["d.bin"]


def test_download_ranges_leaves_nothing_on_failure(tmp_path: Path) -> None:
    def fetch(start: int, end: int) -> list[bytes]:
        if start >= 300_000:
            raise ConnectionError("gone")
        return [b"\0" * (end - start)]

    with ThreadPoolExecutor(4) as pool, pytest.raises(ConnectionError):
        download_ranges(fetch, 1_000_000, tmp_path / "d.bin", part_size=65536, pool=pool)
    assert list(tmp_path.iterdir()) == []


def test_download_ranges_rejects_short_reads(tmp_path: Path) -> None:
    def fetch(start: int, end: int) -> list[bytes]:
        return [b"\0" * (end - start - 1)]

    with ThreadPoolExecutor(2) as pool, pytest.raises(OSError, match="short read"):
        download_ranges(fetch, 10, tmp_path / "d.bin", part_size=5, pool=pool)
    assert list(tmp_path.iterdir()) == []


def test_sink_rejection_leaves_nothing(tmp_path: Path) -> None:
    class Reject(Collect):
        def finish(self) -> None:
            raise ContentMismatchError("not the CID")

    with ThreadPoolExecutor(2) as pool, pytest.raises(ContentMismatchError):
        download_ranges(
            lambda s, e: [b"x" * (e - s)],
            100,
            tmp_path / "d",
            part_size=30,
            pool=pool,
            sink=Reject(),
        )
    assert list(tmp_path.iterdir()) == []


def test_backend_satisfies_the_protocol() -> None:
    from ipfs_kit_py.backends.base import Backend

    assert isinstance(S3Backend(S3Config(bucket="b-bucket")), Backend)
