"""Each backend's failures: the error type, its cause, backend/locator, and the exit code.

Real servers where they can produce the failure (SeaweedFS refusing a bad secret, kubo
lacking a CID, the Storacha service never issuing a receipt); a closed port and a black
hole socket for refused and timed-out connections.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import httpx
import obstore.exceptions
import pytest
from tests.blackhole import black_hole, closed_port_url
from tests.servers.kubo import KuboNode
from tests.servers.seaweedfs import SeaweedS3
from tests.servers.storacha import StorachaService, StorachaTestCredentials

from ipfs_kit_py.backends.gateway import GatewayBackend
from ipfs_kit_py.backends.kubo.rpc import KuboClient
from ipfs_kit_py.backends.s3.client import S3Client
from ipfs_kit_py.backends.s3.config import S3Config
from ipfs_kit_py.backends.storacha.client import StorachaClient
from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.cli.main import EXIT_BACKEND, EXIT_FAILED, exit_code_for, main
from ipfs_kit_py.content.unixfs import KUBO_CID_V1, import_file
from ipfs_kit_py.errors import (
    AuthenticationError,
    BackendTimeoutError,
    BackendUnavailableError,
    ContentNotFoundError,
)

ABSENT = import_file([b"never stored anywhere " + os.urandom(8)], KUBO_CID_V1).cid


def _fast_s3(endpoint: str, **overrides: object) -> S3Config:
    args: dict[str, object] = {
        "endpoint_url": endpoint,
        "access_key_id": "K",
        "secret_access_key": "S",
        "connect_timeout": 0.5,
        "request_timeout": 0.5,
        "max_retries": 0,
        "retry_timeout": 0.5,
    }
    args.update(overrides)
    return S3Config.from_sources(args, {}, {})


# -- kubo ------------------------------------------------------------------------------


def test_kubo_refused() -> None:
    url = closed_port_url()
    with (
        KuboClient(url, timeout=1, connect_timeout=1) as client,
        pytest.raises(BackendUnavailableError) as info,
    ):
        client.id()
    err = info.value
    assert type(err) is BackendUnavailableError
    assert isinstance(err.__cause__, httpx.ConnectError)
    assert (err.backend, err.locator) == ("kubo", url)
    assert exit_code_for(err) == EXIT_BACKEND


def test_kubo_timeout() -> None:
    with (
        black_hole() as url,
        KuboClient(url, timeout=0.3, connect_timeout=0.3) as client,
        pytest.raises(BackendTimeoutError) as info,
    ):
        client.id()
    err = info.value
    assert isinstance(err.__cause__, httpx.TimeoutException)
    assert (err.backend, err.locator) == ("kubo", url)
    assert exit_code_for(err) == EXIT_BACKEND


def test_kubo_absent_cid(kubo: KuboNode) -> None:
    backend = kubo.backend()
    with pytest.raises(ContentNotFoundError) as info:
        backend.stat(ABSENT)
    assert info.value.backend == "kubo"
    assert str(ABSENT) in info.value.locator
    assert exit_code_for(info.value) == EXIT_FAILED


# -- gateway (kubo's gateway as a trustless gateway) -----------------------------------


def test_gateway_refused() -> None:
    url = closed_port_url()
    with GatewayBackend(url) as gateway, pytest.raises(BackendUnavailableError) as info:
        gateway.stat(ABSENT)
    err = info.value
    assert type(err) is BackendUnavailableError
    assert isinstance(err.__cause__, httpx.ConnectError)
    assert err.backend == "gateway" and err.locator.startswith(url + "/ipfs/")
    assert exit_code_for(err) == EXIT_BACKEND


def test_gateway_timeout() -> None:
    with (
        black_hole() as url,
        GatewayBackend(url, timeout=0.3) as gateway,
        pytest.raises(BackendTimeoutError) as info,
    ):
        list(gateway.get(ABSENT))
    err = info.value
    assert isinstance(err.__cause__, httpx.TimeoutException)
    assert err.backend == "gateway" and err.locator.startswith(url + "/ipfs/")
    assert exit_code_for(err) == EXIT_BACKEND


def test_gateway_absent_cid(kubo: KuboNode) -> None:
    with GatewayBackend(kubo.gateway_url) as gateway, pytest.raises(ContentNotFoundError) as info:
        gateway.stat(ABSENT)
    assert info.value.backend == "gateway"
    assert info.value.locator.startswith(kubo.gateway_url)


# -- S3 (SeaweedFS) --------------------------------------------------------------------


def test_s3_refused() -> None:
    url = closed_port_url()
    with S3Client(_fast_s3(url)) as client, pytest.raises(BackendUnavailableError) as info:
        client.head("some-bucket", "k")
    err = info.value
    assert type(err) is BackendUnavailableError
    assert isinstance(err.__cause__, obstore.exceptions.BaseError)
    assert (err.backend, err.locator) == ("s3", "s3://some-bucket/k")
    assert exit_code_for(err) == EXIT_BACKEND


def test_s3_timeout() -> None:
    with (
        black_hole() as url,
        S3Client(_fast_s3(url)) as client,
        pytest.raises(BackendTimeoutError) as info,
    ):
        client.head("some-bucket", "k")
    err = info.value
    assert isinstance(err.__cause__, obstore.exceptions.BaseError)
    assert (err.backend, err.locator) == ("s3", "s3://some-bucket/k")
    assert exit_code_for(err) == EXIT_BACKEND


def test_s3_wrong_secret(seaweedfs: SeaweedS3) -> None:
    config = S3Config.from_sources(seaweedfs.s3_args(secret_access_key="wrong"), {}, {})
    with S3Client(config) as client, pytest.raises(AuthenticationError) as info:
        client.put(seaweedfs.bucket, "errors/k", b"x")
    err = info.value
    assert isinstance(err.__cause__, obstore.exceptions.BaseError)
    assert (err.backend, err.locator) == ("s3", f"s3://{seaweedfs.bucket}/errors/k")
    assert "wrong" not in str(err) and "wrong" not in str(err.__cause__)
    assert exit_code_for(err) == EXIT_BACKEND


def test_s3_absent_key(seaweedfs: SeaweedS3) -> None:
    with (
        S3Client(S3Config.from_sources(seaweedfs.s3_args(), {}, {})) as client,
        pytest.raises(ContentNotFoundError) as info,
    ):
        client.head(seaweedfs.bucket, "errors/absent")
    assert info.value.__cause__ is not None
    assert info.value.backend == "s3"
    assert info.value.locator == f"s3://{seaweedfs.bucket}/errors/absent"


# -- Storacha (the local service) ------------------------------------------------------


def _storacha_config(
    service: StorachaService, creds: StorachaTestCredentials, **overrides: object
) -> StorachaConfig:
    return StorachaConfig.from_sources(service.backend_args(creds, **overrides), {}, {})


def test_storacha_receipt_timeout_is_the_timeout_of_every_backend(
    storacha_service: StorachaService, storacha_credentials: StorachaTestCredentials
) -> None:
    task = import_file([secrets.token_bytes(16)], KUBO_CID_V1).cid
    config = _storacha_config(storacha_service, storacha_credentials)
    with StorachaClient(config) as client, pytest.raises(BackendTimeoutError) as info:
        client.poll_receipt(task, timeout=0.2)
    err = info.value
    assert err.backend == "storacha"
    assert err.locator.startswith(config.receipts_endpoint) and str(task) in err.locator
    assert exit_code_for(err) == EXIT_BACKEND  # as kubo's, S3's and the gateway's


def test_storacha_service_timeout(
    storacha_service: StorachaService, storacha_credentials: StorachaTestCredentials
) -> None:
    with black_hole() as url:
        config = _storacha_config(
            storacha_service, storacha_credentials, service_url=url, timeout=0.3
        )
        with StorachaClient(config) as client, pytest.raises(BackendTimeoutError) as info:
            client.invoke_ok("space/info", client.space, {})
    err = info.value
    assert isinstance(err.__cause__, httpx.TimeoutException)
    assert err.backend == "storacha" and err.locator == url + "/"
    assert exit_code_for(err) == EXIT_BACKEND


def test_storacha_refused(
    storacha_service: StorachaService, storacha_credentials: StorachaTestCredentials
) -> None:
    url = closed_port_url()
    config = _storacha_config(storacha_service, storacha_credentials, service_url=url)
    with StorachaClient(config) as client, pytest.raises(BackendUnavailableError) as info:
        client.invoke_ok("space/info", client.space, {})
    err = info.value
    assert type(err) is BackendUnavailableError
    assert isinstance(err.__cause__, httpx.ConnectError)
    assert (err.backend, err.locator) == ("storacha", url + "/")
    assert exit_code_for(err) == EXIT_BACKEND


# -- the CLI: one exit code for a timeout, whichever backend ---------------------------


def _run_cli(argv: list[str], config: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    path = tmp_path / "config.toml"
    path.write_text(config)
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return main(argv)


def test_cli_s3_timeout_exits_4(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = (
        '[s3]\naccess_key_id = "K"\nsecret_access_key = "S"\nconnect_timeout = 0.5\n'
        "request_timeout = 0.5\nmax_retries = 0\nretry_timeout = 0.5\n"
    )
    with black_hole() as url:
        argv = ["s3", "--endpoint-url", url, "--bucket", "some-bucket", "head", "k"]
        code = _run_cli(argv, config, tmp_path, monkeypatch)
    assert code == EXIT_BACKEND
    assert "did not answer" in capsys.readouterr().err


def test_cli_storacha_timeout_exits_4(
    storacha_service: StorachaService,
    storacha_credentials: StorachaTestCredentials,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = storacha_service.backend_args(storacha_credentials, timeout=0.3)
    config = "[storacha]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in args.items())
    with black_hole() as url:
        code = _run_cli(["storacha", "--service-url", url, "ls"], config, tmp_path, monkeypatch)
    assert code == EXIT_BACKEND
    err = capsys.readouterr().err
    assert "did not answer" in err and storacha_credentials.key not in err
