"""An untrusted TLS certificate is a CertificateError that says so, and ca_bundle trusts it.

Real servers behind a real TLS front on 127.0.0.1 (:mod:`tests.servers.tls`), whose
certificate is signed by a CA this test makes: SeaweedFS (S3), a kubo gateway, and the
local Storacha service. Without the CA each tier fails at once with
:class:`CertificateError` (a :class:`BackendUnavailableError`, exit code 4) naming the
reason and the setting to fix it; given the CA as ``ca_bundle`` (argument, config
section or environment) the same calls work; another CA is still not trusted.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.servers.kubo import KuboNode
from tests.servers.seaweedfs import SeaweedS3
from tests.servers.storacha import StorachaService, StorachaTestCredentials, config_for
from tests.servers.tls import TlsFront, make_certificates

from ipfs_kit_py.backends.gateway import GatewayBackend
from ipfs_kit_py.backends.s3.client import S3Client
from ipfs_kit_py.backends.s3.config import S3Config
from ipfs_kit_py.backends.storacha.backend import StorachaBackend
from ipfs_kit_py.cli.main import EXIT_BACKEND, exit_code_for
from ipfs_kit_py.content.cid import parse_cid
from ipfs_kit_py.errors import BackendUnavailableError, CertificateError
from ipfs_kit_py.ipfs_kit import ipfs_kit

DATA = b"behind a private CA\n" * 100


@pytest.fixture
def pki(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path, Path]:
    """(our CA, server certificate, server key, another CA); no trust from the env."""
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "AWS_CA_BUNDLE", "STORACHA_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    for name in ("ours", "other"):
        (tmp_path / name).mkdir()
    ca, cert, key = make_certificates(tmp_path / "ours")
    other = make_certificates(tmp_path / "other")[0]
    return ca, cert, key, other


def front_of(url: str, pki: tuple[Path, Path, Path, Path]) -> Iterator[TlsFront]:
    front = TlsFront(url, pki[1], pki[2])
    try:
        yield front
    finally:
        front.close()


@pytest.fixture
def s3_front(seaweedfs: SeaweedS3, pki: tuple[Path, Path, Path, Path]) -> Iterator[TlsFront]:
    yield from front_of(seaweedfs.endpoint_url, pki)


def assert_untrusted(exc: pytest.ExceptionInfo[CertificateError], setting: str) -> None:
    message = str(exc.value)
    assert "TLS certificate" in message and "not trusted" in message, message
    assert setting in message and "SSL_CERT_FILE" in message, message
    assert isinstance(exc.value, BackendUnavailableError)
    assert exit_code_for(exc.value) == EXIT_BACKEND


def test_s3_untrusted_is_a_certificate_error_and_ca_bundle_trusts_it(
    seaweedfs: SeaweedS3, s3_front: TlsFront, pki: tuple[Path, Path, Path, Path], tmp_path: Path
) -> None:
    ca, _, _, other = pki
    args = seaweedfs.s3_args(endpoint_url=s3_front.url, max_retries=0)
    key = f"tls-{uuid.uuid4().hex}"
    for bundle in (None, other):
        with S3Client(S3Config.from_sources({**args, "ca_bundle": bundle}, env={})) as client:
            with pytest.raises(CertificateError, match=r"UnknownIssuer|BadSignature") as raised:
                client.put(seaweedfs.bucket, key, DATA)
            assert_untrusted(raised, "AWS_CA_BUNDLE")
            assert "[s3]" in str(raised.value)
    ways = [
        ({**args, "ca_bundle": str(ca)}, None, {}),  # an argument
        (args, {"ca_bundle": str(ca)}, {}),  # the [s3] section
        (args, None, {"AWS_CA_BUNDLE": str(ca)}),  # as boto3 reads it
    ]
    for n, (given, section, env) in enumerate(ways):
        config = S3Config.from_sources(given, section, env)
        assert config.ca_bundle == str(ca)
        with S3Client(config) as client:  # the upload goes through the relay's tunnel
            client.put(seaweedfs.bucket, f"{key}-{n}", DATA)
            assert b"".join(client.iter_bytes(seaweedfs.bucket, f"{key}-{n}")) == DATA


def test_the_kit_reports_an_untrusted_s3_endpoint_as_such(
    seaweedfs: SeaweedS3, s3_front: TlsFront, pki: tuple[Path, Path, Path, Path], tmp_path: Path
) -> None:
    s3 = seaweedfs.s3_args(endpoint_url=s3_front.url, max_retries=0)
    (tmp_path / "f.bin").write_bytes(DATA)
    with ipfs_kit(cache_dir=tmp_path / "c1", index_path=tmp_path / "i1.db", s3=s3) as kit:
        answer = kit.s3_kit.upload_file(str(tmp_path / "f.bin"))
        assert answer["success"] is False and answer["error_type"] == "CertificateError"
        assert "not trusted" in answer["error"] and "AWS_CA_BUNDLE" in answer["error"]
    trusted = {**s3, "ca_bundle": str(pki[0])}
    with ipfs_kit(cache_dir=tmp_path / "c2", index_path=tmp_path / "i2.db", s3=trusted) as kit:
        added = kit.add(tmp_path / "f.bin", to=["s3"])
        assert kit.whereis(added.cid) == ["s3"]


def test_a_gateway_behind_a_private_ca(
    kubo: KuboNode, pki: tuple[Path, Path, Path, Path], tmp_path: Path
) -> None:
    (tmp_path / "f.bin").write_bytes(DATA + os.urandom(16))
    cid = parse_cid(kubo.cli_text("add", "-Q", "--cid-version=1", str(tmp_path / "f.bin")))
    for front in front_of(kubo.gateway_url, pki):
        with GatewayBackend(front.url) as untrusted:
            with pytest.raises(CertificateError) as raised:
                b"".join(untrusted.get(cid))
            assert_untrusted(raised, "IPFS_KIT_GATEWAY_CA_BUNDLE")
        with GatewayBackend(front.url, trust_setting="peer") as peer:  # as the peer tier's
            with pytest.raises(CertificateError) as raised:
                b"".join(peer.get(cid))
            assert_untrusted(raised, "SSL_CERT_FILE")
            assert "ca_bundle" not in str(raised.value)  # peers have no such setting
        env = {"IPFS_KIT_GATEWAYS": front.url, "IPFS_KIT_GATEWAY_CA_BUNDLE": str(pki[0])}
        [trusted] = GatewayBackend.all_from_sources(env=env)
        with trusted:
            assert b"".join(trusted.get(cid)) == (tmp_path / "f.bin").read_bytes()


def test_storacha_behind_a_private_ca(
    storacha_service: StorachaService,
    storacha_credentials: StorachaTestCredentials,
    pki: tuple[Path, Path, Path, Path],
) -> None:
    for front in front_of(storacha_service.url, pki):
        urls = {
            "service_url": front.url,
            "receipts_url": front.url + "/receipt/",
            "gateway_url": front.url + "/ipfs",
        }
        untrusted = config_for(storacha_service, storacha_credentials, **urls)
        with StorachaBackend(untrusted) as backend:
            with pytest.raises(CertificateError) as raised:
                backend.list_uploads()
            assert_untrusted(raised, "STORACHA_CA_BUNDLE")
        trusted = config_for(storacha_service, storacha_credentials, ca_bundle=str(pki[0]), **urls)
        with StorachaBackend(trusted) as backend:  # the service, receipts and gateway
            data = DATA + os.urandom(16)
            root = backend.upload_file([data]).root
            assert b"".join(backend.get(root)) == data
            assert backend.find_upload(root) is not None
