"""Engine exceptions map into the tree by type before any text, for any message."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import botocore.exceptions
import httpx
import obstore.exceptions as obstore_errors
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.backends.engine_errors import network_error, transport_error
from ipfs_kit_py.backends.s3.client import S3Client
from ipfs_kit_py.backends.s3.config import S3Config
from ipfs_kit_py.backends.s3.errors import raise_translated, translate_error
from ipfs_kit_py.errors import (
    AuthenticationError,
    BackendError,
    BackendTimeoutError,
    BackendUnavailableError,
    ConfigurationError,
    ContentNotFoundError,
    IpfsKitError,
)
from ipfs_kit_py.index import MetadataIndex

# texts that would steer a message matcher elsewhere if types were not consulted first
MISLEADING = st.sampled_from(
    [
        "",
        "<Code>SignatureDoesNotMatch</Code>",
        "<Code>NoSuchKey</Code> status code: 404",
        "kind: Timeout",
        "error sending request",
        "status code: 503",
        "connection reset",
    ]
)
TEXT = st.one_of(MISLEADING, st.text(max_size=80))
TIMEOUTS = st.sampled_from(
    [httpx.ConnectTimeout, httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout, TimeoutError]
)
UNREACHABLE = st.sampled_from(
    [httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError, ConnectionResetError]
)
KEY = st.from_regex(r"[a-z0-9]{1,12}(/[a-z0-9]{1,12}){0,2}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(kind=TIMEOUTS, text=TEXT)
def test_every_timeout_type_is_one_error_type(kind: type[Exception], text: str) -> None:
    mapped = transport_error(kind(text), backend="kubo", locator="http://h:1", action="cat")
    assert type(mapped) is BackendTimeoutError
    assert (mapped.backend, mapped.locator) == ("kubo", "http://h:1")


@settings(max_examples=60, deadline=None)
@given(kind=UNREACHABLE, text=TEXT)
def test_other_transport_failures_are_unavailable(kind: type[Exception], text: str) -> None:
    mapped = transport_error(kind(text), backend="gateway", locator="http://g", action="GET")
    assert type(mapped) is BackendUnavailableError


@settings(max_examples=30, deadline=None)
@given(text=TEXT)
def test_non_network_errors_are_not_mapped(text: str) -> None:
    assert network_error(ValueError(text), backend="s3", locator="", action="x") is None


S3_TYPES = st.sampled_from(
    [
        (obstore_errors.PermissionDeniedError, AuthenticationError),
        (obstore_errors.UnauthenticatedError, AuthenticationError),
        (obstore_errors.PreconditionError, BackendError),
        (obstore_errors.NotFoundError, ContentNotFoundError),
        (httpx.ReadTimeout, BackendTimeoutError),
        (TimeoutError, BackendTimeoutError),
        (ConnectionRefusedError, BackendUnavailableError),
        (PermissionError, AuthenticationError),
    ]
)


@settings(max_examples=100, deadline=None)
@given(pair=S3_TYPES, text=TEXT, key=KEY)
def test_s3_maps_by_type_first(
    pair: tuple[type[Exception], type[IpfsKitError]], text: str, key: str
) -> None:
    kind, expected = pair
    mapped = translate_error(kind(text), "download", "bucket-a", key)
    assert type(mapped) is expected
    assert getattr(mapped, "backend", "") == "s3"
    assert getattr(mapped, "locator", "") == f"s3://bucket-a/{key}"


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=200), key=KEY)
def test_s3_any_generic_error_lands_in_the_tree_chained(text: str, key: str) -> None:
    cause = obstore_errors.GenericError(text)
    try:
        raise_translated(cause, "upload", "bucket-a", key)
    except IpfsKitError as exc:
        assert exc.__cause__ is cause
        assert getattr(exc, "backend", "s3") == "s3"


def test_s3_text_says_timeout_when_no_type_does() -> None:
    cause = obstore_errors.GenericError("HTTP error: error sending request\n kind: Timeout,")
    assert type(translate_error(cause, "head", "bucket-a", "k")) is BackendTimeoutError


def test_an_error_of_the_tree_passes_through_unchained() -> None:
    error = ContentNotFoundError("gone")
    try:
        raise_translated(error, "head", "bucket-a", "k")
    except ContentNotFoundError as exc:
        assert exc is error and exc.__cause__ is None


def test_an_unknown_aws_profile_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "absent-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "absent-credentials"))
    config = S3Config.from_sources(
        {"profile": "nope", "endpoint_url": "http://127.0.0.1:9"}, {}, {}
    )
    with S3Client(config) as client, pytest.raises(ConfigurationError) as info:
        client.store("bucket-a")
    assert isinstance(info.value.__cause__, botocore.exceptions.ProfileNotFound)
    assert "nope" in str(info.value)


@pytest.mark.parametrize("make", ["garbage", "under_a_file"])
def test_an_unusable_index_path_is_a_configuration_error(tmp_path: Path, make: str) -> None:
    if make == "garbage":
        path = tmp_path / "index.sqlite3"
        path.write_bytes(b"not a database, only text " * 10)
        cause: type[BaseException] = sqlite3.DatabaseError
    else:
        (tmp_path / "file").write_text("x")
        path, cause = tmp_path / "file" / "index.sqlite3", OSError
    with pytest.raises(ConfigurationError, match="cannot open the index") as info:
        MetadataIndex(path)
    assert isinstance(info.value.__cause__, cause)
