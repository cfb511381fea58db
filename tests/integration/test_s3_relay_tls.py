"""S3 uploads over HTTPS through the upload relay, against real SeaweedFS behind TLS.

SeaweedFS speaks plain HTTP, so the test puts a TLS-terminating TCP front before it
(certificates from a throwaway CA made here; the engine trusts that CA through
``SSL_CERT_FILE``). Every upload goes through the relay (:mod:`.relay`) as a ``CONNECT``
tunnel, TLS end to end: a small and a multipart upload through the kit's S3 tier must
arrive (read back, verified, by a fresh kit) with the relay carrying their bytes, and a
front that stops reading mid-upload must fail the upload by the stall guard, typed,
leaving no multipart upload behind.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.servers.seaweedfs import SeaweedS3, boto_client
from tests.servers.tls import TlsFront, make_certificates

from ipfs_kit_py.backends.s3 import relay as relay_module
from ipfs_kit_py.backends.s3.backend import S3Backend
from ipfs_kit_py.backends.s3.relay import UploadRelay
from ipfs_kit_py.errors import BackendTimeoutError
from ipfs_kit_py.ipfs_kit import ipfs_kit

MiB = 1 << 20
PART = 5 * MiB


@pytest.fixture
def front(
    seaweedfs: SeaweedS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TlsFront]:
    ca, cert, key = make_certificates(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # the engine trusts our CA
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    proxy = TlsFront(seaweedfs.endpoint_url, cert, key)
    yield proxy
    proxy.close()


@pytest.fixture
def relayed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Bytes the upload relay handed up, per call (counted, still sent)."""
    counts: list[int] = []
    sent_up = relay_module._Link.sent_up

    def counting(link: relay_module._Link, n: int) -> None:
        counts.append(n)
        sent_up(link, n)

    monkeypatch.setattr(relay_module._Link, "sent_up", counting)
    return counts


def _kit(seaweedfs: SeaweedS3, front: TlsFront, tmp_path: Path, prefix: str) -> ipfs_kit:
    s3 = seaweedfs.s3_args(
        endpoint_url=front.url, key_prefix=prefix, part_size=PART, upload_stall_timeout=2
    )
    return ipfs_kit(cache_dir=tmp_path / uuid.uuid4().hex, index_path=tmp_path / "i.db", s3=s3)


def _relay(kit: ipfs_kit) -> UploadRelay | None:
    backend = kit.tiers.tier("s3")
    assert isinstance(backend, S3Backend)
    return backend.client._relay


@pytest.mark.timeout(180)
@pytest.mark.parametrize("size", [100_000, 2 * PART + 12345])  # one PUT; a multipart upload
def test_an_https_upload_goes_through_the_relay_tunnel(
    seaweedfs: SeaweedS3, front: TlsFront, relayed: list[int], tmp_path: Path, size: int
) -> None:
    data = os.urandom(size)
    prefix = f"tls-{uuid.uuid4().hex[:10]}/"
    with _kit(seaweedfs, front, tmp_path, prefix) as kit:
        cid = kit.add(data, to=["s3"]).cid
        assert kit.whereis(cid) == ["s3"]
        relay = _relay(kit)
        assert relay is not None and relay.stall_timeout == 2 and not relay.stalls
    listing = boto_client(seaweedfs).list_objects_v2(Bucket=seaweedfs.bucket, Prefix=prefix)
    assert [o["Size"] for o in listing.get("Contents", [])] == [size]
    assert sum(relayed) >= size  # the tunnel carried the (encrypted) upload
    assert front.received >= size  # and it went over TLS to the front
    with _kit(seaweedfs, front, tmp_path, prefix) as fresh:
        assert fresh.cat(cid) == data  # downloaded over TLS, verified against the CID


@pytest.mark.timeout(180)
def test_a_frozen_tls_upstream_fails_by_the_stall_guard_and_leaves_no_upload(
    seaweedfs: SeaweedS3, front: TlsFront, relayed: list[int], tmp_path: Path
) -> None:
    prefix = f"tls-frozen-{uuid.uuid4().hex[:10]}/"
    with _kit(seaweedfs, front, tmp_path, prefix) as kit:
        kit.add(b"warm", to=["s3"])  # bucket known, a TLS connection made
        front.freeze()
        with pytest.raises(BackendTimeoutError, match="upload_stall_timeout") as caught:
            kit.add(os.urandom(3 * PART), to=["s3"])
        assert caught.value.backend == "s3"
        relay = _relay(kit)
        assert relay is not None and relay.stalls  # cut by the relay's stall guard
    assert relayed  # the relay carried the tunnel it then cut
    uploads = boto_client(seaweedfs).list_multipart_uploads(Bucket=seaweedfs.bucket, Prefix=prefix)
    assert uploads.get("Uploads", []) == []
