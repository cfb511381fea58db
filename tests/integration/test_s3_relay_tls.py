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

import asyncio
import contextlib
import datetime
import ipaddress
import os
import ssl
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from tests.servers.seaweedfs import SeaweedS3, boto_client

from ipfs_kit_py.backends.s3 import relay as relay_module
from ipfs_kit_py.backends.s3.backend import S3Backend
from ipfs_kit_py.backends.s3.relay import UploadRelay
from ipfs_kit_py.errors import BackendTimeoutError
from ipfs_kit_py.ipfs_kit import ipfs_kit

MiB = 1 << 20
PART = 5 * MiB
FREEZE_AFTER = 600_000  # bytes a connection may send before the frozen front stops reading


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key) for 127.0.0.1 and localhost."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("ipfs-kit test CA"))
        .issuer_name(_name("ipfs-kit test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    san = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    server = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


class TlsFront:
    """A TLS-terminating TCP proxy before a plain-HTTP server, on its own event loop.

    ``freeze()``: each connection stops reading from its client once it has passed
    :data:`FREEZE_AFTER` bytes (the TLS bytes then wait unacknowledged in the kernel).
    """

    def __init__(self, upstream: str, cert: Path, key: Path) -> None:
        host, port = upstream.removeprefix("http://").rstrip("/").split(":")
        self.target = host, int(port)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.frozen = False
        self.received = 0  # decrypted bytes forwarded up, all connections
        self.loop = asyncio.new_event_loop()
        self._thaw = asyncio.Event()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.server = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        self.url = f"https://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _start(self) -> asyncio.Server:
        return await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.context)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        down = asyncio.ensure_future(self._copy(up_reader, writer))
        with contextlib.suppress(OSError, ConnectionError):
            passed = 0
            while data := await reader.read(64 * 1024):
                passed += len(data)
                self.received += len(data)
                up_writer.write(data)
                await up_writer.drain()
                if self.frozen and passed > FREEZE_AFTER:
                    await self._thaw.wait()  # stop reading; never resumes before close
        down.cancel()
        for w in (up_writer, writer):
            w.close()

    @staticmethod
    async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while data := await reader.read(64 * 1024):
                writer.write(data)
                await writer.drain()
        writer.close()

    def freeze(self) -> None:
        self.frozen = True

    def close(self) -> None:
        async def stop() -> None:
            self._thaw.set()
            self.server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


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
