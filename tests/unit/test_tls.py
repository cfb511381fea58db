"""CA-bundle settings are checked when read, and an untrusted certificate is recognised."""

from __future__ import annotations

import itertools
import ssl
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipfs_kit_py.backends.gateway import GatewayBackend
from ipfs_kit_py.backends.s3.config import S3Config
from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.errors import ConfigurationError
from ipfs_kit_py.tls import certificate_error, parse_ca_bundle, ssl_context, untrusted_reason
from tests.servers.tls import make_certificates


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_certificates(tmp_path_factory.mktemp("pki"))[0]


def test_a_pem_bundle_is_taken_and_anything_else_refused(ca: Path, tmp_path: Path) -> None:
    assert parse_ca_bundle("x", None) is None and parse_ca_bundle("x", "") is None
    assert parse_ca_bundle("x", ca) == str(ca)
    assert isinstance(ssl_context(str(ca)), ssl.SSLContext) and ssl_context(None) is True
    for bad in (tmp_path / "missing.pem", tmp_path, "a\0b", 42, ["x"]):
        with pytest.raises(ConfigurationError, match="x"):
            parse_ca_bundle("x", bad)
    key = make_certificates(tmp_path)[2]  # a private key is no CA bundle
    with pytest.raises(ConfigurationError, match="not a readable PEM CA"):
        parse_ca_bundle("x", key)


def test_every_tier_checks_its_ca_bundle_when_configured(ca: Path, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.pem")
    with pytest.raises(ConfigurationError, match="S3 ca_bundle"):
        S3Config.from_sources(env={"AWS_CA_BUNDLE": missing})
    assert S3Config.from_sources(env={"AWS_CA_BUNDLE": str(ca)}).ca_bundle == str(ca)
    with pytest.raises(ConfigurationError, match="storacha ca_bundle"):
        StorachaConfig.from_sources(env={"STORACHA_CA_BUNDLE": missing})
    assert StorachaConfig.from_sources({"ca_bundle": str(ca)}, env={}).ca_bundle == str(ca)
    env = {"IPFS_KIT_GATEWAYS": "https://127.0.0.1:9", "IPFS_KIT_GATEWAY_CA_BUNDLE": missing}
    with pytest.raises(ConfigurationError, match="gateway ca_bundle"):
        GatewayBackend.all_from_sources(env=env)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_any_file_is_a_bundle_or_a_configuration_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / f"bundle-{len(content)}-{hash(content) & 0xFFFFFF}.pem"  # no cache hit
    path.write_bytes(content)
    try:
        assert parse_ca_bundle("x", str(path)) == str(path)
    except ConfigurationError as exc:
        assert "x:" in str(exc)


def chained(*errors: BaseException) -> BaseException:
    for outer, inner in itertools.pairwise(errors):
        outer.__cause__ = inner
    return errors[0]


def test_untrusted_certificates_are_recognised_through_the_chain() -> None:
    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    verify.verify_message = "self-signed certificate"
    assert untrusted_reason(chained(OSError("connect"), verify)) == "self-signed certificate"
    text = "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: expired (_ssl.c:1006)"
    assert untrusted_reason(OSError(text)) == "expired"
    rustls = "error: InvalidCertificate(\n    NotValidForName,\n)"
    assert untrusted_reason(chained(RuntimeError("x"), RuntimeError(rustls))) == "NotValidForName"
    loop = RuntimeError("loop")
    loop.__context__ = loop
    assert untrusted_reason(loop) is None
    error = certificate_error("UnknownIssuer", backend="peer", locator="https://p:1")
    assert "SSL_CERT_FILE" in str(error) and error.backend == "peer"


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200), kind=st.sampled_from([OSError, RuntimeError, ValueError]))
def test_other_failures_are_not_taken_for_certificates(text: str, kind: Any) -> None:
    if "CERTIFICATE_VERIFY_FAILED" in text or "InvalidCertificate(" in text:
        return
    assert untrusted_reason(chained(kind(text), ConnectionRefusedError(text))) is None
