"""Faults against real kubo daemons: no node, wrong port, auth, missing CIDs, kills."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.servers.kubo import AUTH_SECRET, KuboNode
from tests.servers.process import free_port

from ipfs_kit_py.backends.kubo.backend import KuboBackend, KuboConfig
from ipfs_kit_py.backends.kubo.multipart import Part
from ipfs_kit_py.backends.kubo.rpc import AddOptions
from ipfs_kit_py.content.cid import parse_cid
from ipfs_kit_py.errors import (
    AuthenticationError,
    BackendError,
    BackendUnavailableError,
    ContentNotFoundError,
)
from ipfs_kit_py.net import Timeouts

MISSING = parse_cid("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi")


def test_no_node_running_is_unavailable_with_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    backend = KuboBackend.from_config(KuboConfig(api_url=url, timeouts=Timeouts(connect_timeout=2)))
    with pytest.raises(BackendUnavailableError, match=f"no IPFS node at {url}"):
        backend.has(MISSING)
    with pytest.raises(BackendUnavailableError, match="no IPFS node"):
        backend.get(MISSING)


def test_wrong_port_gateway_instead_of_rpc(kubo: KuboNode) -> None:
    backend = KuboBackend.from_config(KuboConfig(api_url=kubo.gateway_url))
    with pytest.raises(BackendError, match="has no RPC command id"):
        backend.client.id()


@pytest.mark.parametrize("secret", [None, "basic:ipfs-kit:wrong", "bearer:nope"])
def test_auth_failure(kubo_auth: KuboNode, secret: str | None) -> None:
    backend = kubo_auth.backend(auth=secret)
    with pytest.raises(AuthenticationError, match="refused id") as info:
        backend.client.id()
    assert "test-password" not in str(info.value)
    # refused before kubo reads the upload: the answer still arrives, not a broken pipe
    with pytest.raises(AuthenticationError, match="refused add"):
        backend.client.add([Part("big", body=[os.urandom(1 << 20)] * 16)])


def test_auth_success_and_cli_with_auth(kubo_auth: KuboNode) -> None:
    backend = kubo_auth.backend()
    cid = backend.client.add([Part("a", body=[b"authorized"])])[-1].cid
    assert kubo_auth.cli("cat", str(cid)).stdout == b"authorized"
    assert b"".join(backend.get(cid)) == b"authorized"
    assert kubo_auth.auth == AUTH_SECRET


@pytest.mark.timeout(60)
@pytest.mark.parametrize("offline", [True, False])
def test_missing_cid_is_not_found_in_bounded_time(kubo: KuboNode, offline: bool) -> None:
    backend = kubo.backend(offline=offline, lookup_timeout=5)
    assert not backend.has(MISSING)
    with pytest.raises(ContentNotFoundError, match="not found"):
        backend.get(MISSING)
    with pytest.raises(ContentNotFoundError):
        backend.stat(MISSING)
    with pytest.raises(ContentNotFoundError):
        b"".join(backend.export_car(MISSING))
    with pytest.raises(ContentNotFoundError):
        backend.client.block_get(MISSING, offline=offline)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("offline", [True, False])
def test_missing_cid_on_an_online_node_is_bounded(kubo_online: KuboNode, offline: bool) -> None:
    # Online, kubo would ask bitswap for the block forever; offline answers at once and
    # otherwise kubo's own timeout (lookup_timeout) ends the search.
    backend = kubo_online.backend(offline=offline, lookup_timeout=2)
    with pytest.raises(ContentNotFoundError, match=r"not found|deadline"):
        backend.get(MISSING)
    with pytest.raises(ContentNotFoundError):
        backend.client.block_stat(MISSING, offline=offline)
    assert not backend.has(MISSING)


def test_kubo_error_responses_carry_kubos_message(kubo: KuboNode) -> None:
    client = kubo.backend().client
    with pytest.raises(BackendError, match="unrecognized chunker option: bogus-7"):
        client.add([Part("x", body=[b"x"])], AddOptions(chunker="bogus-7"))
    with pytest.raises(BackendError, match="unknown multicodec"):
        client.block_put(b"x", codec="no-such-codec")
    with pytest.raises(BackendError, match="failed dag/import: unexpected EOF"):
        client.dag_import([b"this is not a CAR file"])


def _stream_then_kill(node: KuboNode, chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Pass the first chunk of a live stream through, then kill the daemon (SIGKILL)."""
    yield next(chunks)
    node.kill()
    yield from chunks


@pytest.fixture
def big_cid(kubo_private: KuboNode, tmp_path: Path) -> str:
    path = tmp_path / "big.bin"
    with path.open("wb") as f:
        for _ in range(32):
            f.write(os.urandom(1 << 20))
    return kubo_private.cli_text("add", "-Q", str(path))


def test_daemon_killed_mid_cat_raises(kubo_private: KuboNode, big_cid: str) -> None:
    backend = kubo_private.backend()
    stream = _stream_then_kill(kubo_private, backend.get(parse_cid(big_cid)))
    with pytest.raises(BackendUnavailableError, match="failed during cat"):
        for _ in stream:
            pass


def test_daemon_killed_mid_get_leaves_no_partial_file(
    kubo_private: KuboNode, big_cid: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = kubo_private.backend()
    real_get_tar = backend.client.get_tar
    monkeypatch.setattr(
        backend.client,
        "get_tar",
        lambda cid, offline=False: _stream_then_kill(kubo_private, real_get_tar(cid)),
    )
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(BackendUnavailableError):
        backend.get_to_path(parse_cid(big_cid), out_dir / "big.bin")
    assert list(out_dir.iterdir()) == []


def test_block_missing_mid_stream_is_not_found(kubo: KuboNode) -> None:
    # kubo starts answering, meets the missing leaf, and reports it in its HTTP trailer.
    backend = kubo.backend()
    data = os.urandom(3 * 262144)
    cid = backend.client.add([Part("partial", body=[data])])[-1].cid
    leaves = kubo.cli_text("refs", str(cid)).split()
    backend.delete(cid)
    kubo.cli("block", "rm", leaves[-1])
    received = bytearray()
    with pytest.raises(ContentNotFoundError, match="mid-stream"):
        for chunk in backend.get(cid):
            received += chunk
    assert bytes(received) == data[: 2 * 262144]
    with pytest.raises(ContentNotFoundError, match="mid-stream"):
        b"".join(backend.export_car(cid))


@pytest.mark.timeout(60)
def test_findprovs_on_an_online_node_without_routing_finds_nobody(kubo_online: KuboNode) -> None:
    backend = kubo_online.backend(lookup_timeout=2)
    assert backend.client.findprovs(MISSING, num_providers=1) == []
