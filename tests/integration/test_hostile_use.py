"""Hostile use against real servers: credentials in URLs, use after close, bad chunks.

Regression tests of attack9 on SeaweedFS and kubo (the session fixtures).
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from tests.blackhole import closed_port_url
from tests.servers.kubo import KuboNode
from tests.servers.seaweedfs import SeaweedS3
from tests.servers.storacha import StorachaService, StorachaTestCredentials

from ipfs_kit_py.backends.gateway import GatewayBackend
from ipfs_kit_py.backends.kubo import KuboBackend, KuboConfig
from ipfs_kit_py.backends.s3 import S3Backend, S3Config
from ipfs_kit_py.backends.storacha import StorachaBackend
from ipfs_kit_py.content.cid import RAW, sha256_cid
from ipfs_kit_py.errors import (
    AuthenticationError,
    BackendUnavailableError,
    ConfigurationError,
    InvalidInputError,
)
from ipfs_kit_py.ipfs_kit import ipfs_kit
from ipfs_kit_py.progress import BaseSubscriber

CID = sha256_cid(RAW, b"attack9 probe")


def _chain(exc: BaseException | None) -> str:
    """Every message, args and attribute along an exception's cause chain."""
    parts = []
    while exc is not None:
        parts.append(f"{exc!s} {exc.args!r} {vars(exc)!r}")
        exc = exc.__cause__ or exc.__context__
    return " ".join(parts)


def _url_with(url: str, userinfo: str) -> str:
    return url.replace("://", f"://{userinfo}@", 1)


def test_kubo_url_credentials_authenticate_and_never_show(kubo_auth: KuboNode) -> None:
    assert kubo_auth.auth is not None
    user, password = kubo_auth.auth.removeprefix("basic:").split(":", 1)
    good = KuboConfig.from_sources({"api_url": _url_with(kubo_auth.api_url, f"{user}:{password}")})
    with KuboBackend.from_config(good) as backend:
        assert backend.has(CID) is False
        assert password not in repr(backend)
    wrong = KuboConfig.from_sources({"api_url": _url_with(kubo_auth.api_url, f"{user}:wrong-pw-1")})
    with KuboBackend.from_config(wrong) as backend, pytest.raises(AuthenticationError) as info:
        backend.has(CID)
    assert "wrong-pw-1" not in _chain(info.value)


def test_an_unreachable_kubo_url_with_credentials_does_not_quote_them() -> None:
    config = KuboConfig.from_sources({"api_url": _url_with(closed_port_url(), "u:pw-in-url-9")})
    with KuboBackend.from_config(config) as backend, pytest.raises(BackendUnavailableError) as info:
        backend.has(CID)
    assert "pw-in-url-9" not in _chain(info.value) and "pw-in-url-9" not in info.value.locator


def test_an_unreachable_gateway_with_credentials_does_not_quote_them() -> None:
    gateway = GatewayBackend(_url_with(closed_port_url(), "u:pw-in-url-9"))
    with gateway, pytest.raises(BackendUnavailableError) as info:
        gateway.has(CID)
    assert "pw-in-url-9" not in str(info.value) and "pw-in-url-9" not in info.value.locator


def test_an_s3_endpoint_with_credentials_is_refused_before_any_request(
    seaweedfs: SeaweedS3,
) -> None:
    args = seaweedfs.s3_args(endpoint_url=_url_with(seaweedfs.endpoint_url, "u:pw-in-url-9"))
    with pytest.raises(ConfigurationError) as info:
        S3Config.from_sources(args, {}, {})
    assert "pw-in-url-9" not in _chain(info.value)


def test_a_closed_s3_backend_refuses_work_and_starts_no_threads(seaweedfs: SeaweedS3) -> None:
    backend = S3Backend(S3Config.from_sources(seaweedfs.s3_args(), {}, {}))
    key = f"attack9/{uuid.uuid4().hex}"
    backend.objects.upload(None, key, b"before close")
    backend.close()
    backend.close()
    before = {t.name for t in threading.enumerate()}
    with pytest.raises(ConfigurationError, match="closed"):
        backend.objects.upload(None, key, b"after close")
    with pytest.raises(ConfigurationError, match="closed"):
        backend.has(CID)
    started = {t.name for t in threading.enumerate()} - before
    assert not [name for name in started if name.startswith("s3-")]


def test_a_closed_kit_refuses_its_typed_s3_service(seaweedfs: SeaweedS3, tmp_path: Path) -> None:
    kit = ipfs_kit({}, s3=seaweedfs.s3_args(), cache_dir=tmp_path / "c", index_path=tmp_path / "i")
    key = f"attack9/{uuid.uuid4().hex}"
    assert kit.s3_kit.upload_bytes(b"before", key=key)["success"] is True
    kit.close()
    with pytest.raises(ConfigurationError, match="closed"):
        _ = kit.s3
    after = kit.s3_kit.upload_bytes(b"after", key=key)
    assert after["success"] is False and after["error_type"] == "ConfigurationError"


def test_s3_uploads_of_wrong_types_are_typed_errors(seaweedfs: SeaweedS3, tmp_path: Path) -> None:
    with ipfs_kit(
        {}, s3=seaweedfs.s3_args(), cache_dir=tmp_path / "c", index_path=tmp_path / "i"
    ) as kit:
        key = f"attack9/{uuid.uuid4().hex}"
        streamed = kit.s3_kit.upload_stream(["text", "chunks"], key=key)
        assert streamed["error_type"] == "InvalidInputError"
        assert kit.s3_kit.upload_file(5, key=key)["error_type"] == "InputPathError"
        surrogate = kit.s3_kit.upload_bytes(b"x", key="attack9/\udcff")
        assert surrogate["error_type"] == "InvalidInputError"
        assert list(kit.s3.objects.list_objects(None, prefix=key)) == []  # nothing half-made
        with pytest.raises(InvalidInputError):
            kit.s3.objects.upload(None, key, iter([b"ok", 5]))  # type: ignore[list-item]


def test_a_closed_storacha_backend_answers_a_typed_error(
    storacha_service: StorachaService, storacha_credentials: StorachaTestCredentials
) -> None:
    args = storacha_service.backend_args(storacha_credentials)
    backend = StorachaBackend.from_sources(args, {}, {})
    backend.close()
    backend.close()
    with pytest.raises(ConfigurationError, match="closed"):  # was httpx's bare RuntimeError
        backend.has(CID)


def test_a_closed_gateway_answers_a_typed_error(kubo: KuboNode) -> None:
    gateway = GatewayBackend(kubo.gateway_url)
    assert gateway.has(CID) is False
    gateway.close()
    with pytest.raises(ConfigurationError, match="closed"):  # was httpx's bare RuntimeError
        gateway.has(CID)


class _FailsWhenDone(BaseSubscriber):
    def __init__(self) -> None:
        self.ended = 0

    def on_done(self, key: str, error: BaseException | None, **kwargs: Any) -> None:
        self.ended += 1
        raise ValueError("a progress bar's bug")


def test_a_subscriber_failing_at_the_end_does_not_fail_a_finished_transfer(
    seaweedfs: SeaweedS3, tmp_path: Path
) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(b"finished transfer " * 1000)
    with ipfs_kit(
        {}, s3=seaweedfs.s3_args(), cache_dir=tmp_path / "c", index_path=tmp_path / "i"
    ) as kit:
        key = f"attack9/{uuid.uuid4().hex}"
        first, second = _FailsWhenDone(), _FailsWhenDone()
        up = kit.s3_kit.upload_file(source, key=key, subscribers=[first, second])
        assert up["success"] is True  # was False (ValueError) with the object stored
        assert (first.ended, second.ended) == (1, 1)
        target = tmp_path / "copy.bin"
        down = kit.s3_kit.download_file(key=key, local_path=target, subscribers=[first])
        assert down["success"] is True  # was False with the file in place
        assert target.read_bytes() == source.read_bytes()
