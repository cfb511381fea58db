"""The local Storacha service is real: the official JS client and CLI use it as production.

Golden CIDs are what ``@storacha/client`` 2.1.4 produced for the probe inputs (see the
Storacha protocol reference); retrieval is checked block by block against the CIDs.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dag_cbor
import pytest
from multiformats import CID, multibase, multihash, varint
from tests.conformance.storacha_probe import GOLDEN, probe
from tests.servers.storacha import (
    StorachaService,
    StorachaTestCredentials,
    js_upload,
    make_credentials,
    run_cli,
)

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def probe_files(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    base = tmp_path_factory.mktemp("storacha-probe")
    files = {}
    for size in GOLDEN:
        files[size] = base / f"probe-{size}"
        files[size].write_bytes(probe(size))
    return files


@pytest.fixture(scope="module")
def js_uploads(
    storacha_service: StorachaService,
    storacha_credentials: StorachaTestCredentials,
    probe_files: dict[int, Path],
) -> dict[int, dict[str, Any]]:
    """Each probe file uploaded once with the official JS client."""
    return {
        size: js_upload(storacha_service, storacha_credentials, path)
        for size, path in probe_files.items()
    }


def http_get(url: str, accept: str | None = None) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers={"accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.headers.get("content-type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("content-type", ""), exc.read()


def read_car(data: bytes) -> tuple[list[CID], list[tuple[CID, bytes]]]:
    """Parse a CARv1: its header roots and its (CID, block bytes) sections, in order."""
    length, n, _ = varint.decode_raw(data)
    header = dag_cbor.decode(data[n : n + length])
    assert header["version"] == 1
    roots = [
        CID.decode(bytes(root)) if not isinstance(root, CID) else root for root in header["roots"]
    ]
    offset, blocks = n + length, []
    while offset < len(data):
        length, n, _ = varint.decode_raw(data[offset:])
        section = data[offset + n : offset + n + length]
        cid_length = _cid_length(section)
        blocks.append((CID.decode(section[:cid_length]), section[cid_length:]))
        offset += n + length
    return roots, blocks


def _cid_length(section: bytes) -> int:
    """Bytes taken by the CIDv1 at the start of ``section``: version, codec, multihash."""
    position = 0
    for _ in range(3):  # version, codec, hash function
        _, n, _ = varint.decode_raw(section[position:])
        position += n
    digest_length, n, _ = varint.decode_raw(section[position:])
    return position + n + digest_length


def assert_block_matches(cid: CID, block: bytes) -> None:
    assert cid.hashfun.name == "sha2-256"
    assert hashlib.sha256(block).digest() == cid.raw_digest, f"block {cid} does not hash to it"


@pytest.mark.parametrize("size", sorted(GOLDEN))
def test_js_client_upload_gives_golden_cids(
    js_uploads: dict[int, dict[str, Any]], storacha_credentials: StorachaTestCredentials, size: int
) -> None:
    root, shard = GOLDEN[size]
    assert js_uploads[size]["root"] == root
    assert js_uploads[size]["shards"] == [shard]
    assert js_uploads[size]["space"] == storacha_credentials.space_did


def test_cli_lists_what_the_js_client_uploaded(
    js_uploads: dict[int, dict[str, Any]], storacha_credentials: StorachaTestCredentials
) -> None:
    listed = run_cli(["ls", "--json"], storacha_credentials.cli_env).stdout
    uploads = {}
    for line in listed.splitlines():
        item = json.loads(line)
        uploads[item["root"]["/"]] = [shard["/"] for shard in item["shards"]]
    for root, shard in GOLDEN.values():
        assert uploads[root] == [shard]
    shards_view = run_cli(["ls", "--shards"], storacha_credentials.cli_env).stdout
    assert GOLDEN[2_621_440][1] in shards_view


def test_cli_up_gives_the_golden_root(
    storacha_credentials: StorachaTestCredentials, probe_files: dict[int, Path]
) -> None:
    done = run_cli(
        ["up", "--no-wrap", "--json", str(probe_files[2_621_440])], storacha_credentials.cli_env
    )
    assert json.loads(done.stdout.strip().splitlines()[-1])["root"]["/"] == GOLDEN[2_621_440][0]


def test_car_retrieval_verifies_and_rebuilds_the_file(
    storacha_service: StorachaService, js_uploads: dict[int, dict[str, Any]]
) -> None:
    root = GOLDEN[2_621_440][0]
    status, content_type, body = http_get(f"{storacha_service.gateway_url}/{root}?format=car")
    assert status == 200
    assert content_type.startswith("application/vnd.ipld.car; version=1")
    roots, blocks = read_car(body)
    assert roots == [CID.decode(root)]
    assert blocks[0][0] == CID.decode(root)
    for cid, block in blocks:
        assert_block_matches(cid, block)
    leaves = [block for cid, block in blocks if cid.codec.name == "raw"]
    assert [len(leaf) for leaf in leaves] == [MIB, MIB, MIB // 2]
    assert b"".join(leaves) == probe(2_621_440)  # depth-first order = file order


def test_raw_retrieval_returns_one_block(
    storacha_service: StorachaService, js_uploads: dict[int, dict[str, Any]]
) -> None:
    small_root, _ = GOLDEN[100]
    status, content_type, body = http_get(f"{storacha_service.gateway_url}/{small_root}?format=raw")
    assert (status, content_type, body) == (200, "application/vnd.ipld.raw", probe(100))
    big_root = CID.decode(GOLDEN[2_621_440][0])
    status, _, body = http_get(f"{storacha_service.gateway_url}/{big_root}?format=raw")
    assert status == 200
    assert big_root.codec.name == "dag-pb"
    assert_block_matches(big_root, body)
    assert len(body) < 1024  # the dag-pb root alone, not the file
    by_accept = http_get(f"{storacha_service.gateway_url}/{small_root}", "application/vnd.ipld.raw")
    assert by_accept[:2] == (200, "application/vnd.ipld.raw")
    assert by_accept[2] == probe(100)


def test_unknown_cid_is_404(storacha_service: StorachaService) -> None:
    unknown = CID("base32", 1, "raw", multihash.digest(b"never uploaded", "sha2-256"))
    for fmt in ("car", "raw"):
        status, _, _ = http_get(f"{storacha_service.gateway_url}/{unknown}?format={fmt}")
        assert status == 404
    assert http_get(f"{storacha_service.receipts_url}{unknown}")[0] == 404
    assert http_get(f"{storacha_service.gateway_url}/not-a-cid?format=raw")[0] == 400


def test_multi_shard_upload_retrieves_across_shards(
    storacha_service: StorachaService,
    storacha_credentials: StorachaTestCredentials,
    probe_files: dict[int, Path],
) -> None:
    result = js_upload(
        storacha_service,
        storacha_credentials,
        probe_files[2_621_440],
        shard_size=3 * MIB // 2,  # one 1 MiB leaf per shard
    )
    assert result["root"] == GOLDEN[2_621_440][0]
    assert len(result["shards"]) >= 3
    for shard in result["shards"]:
        digest = CID.decode(shard).raw_digest
        stored = storacha_service.stored_blob(_b58(shard))
        assert stored is not None
        assert hashlib.sha256(stored).digest() == digest


def _b58(cid: str) -> str:
    """The base58btc multihash of a CID, as the storage nodes key their blobs."""
    return multibase.encode(CID.decode(cid).digest, "base58btc")[1:]


def test_service_identity_endpoints(storacha_service: StorachaService) -> None:
    _, _, version = http_get(f"{storacha_service.url}/version")
    assert json.loads(version)["did"] == storacha_service.did
    assert json.loads(version)["publicKey"] == storacha_service.did_key
    _, _, did_doc = http_get(f"{storacha_service.url}/.well-known/did.json")
    document = json.loads(did_doc)
    assert document["id"] == storacha_service.did
    key = document["verificationMethod"][0]["publicKeyMultibase"]
    assert f"did:key:{key}" == storacha_service.did_key
    assert storacha_service.did.startswith("did:web:")
    assert all(urlsplit(u).hostname == "127.0.0.1" for u in storacha_service.storage_nodes)


def test_credentials_helper_gives_cli_key_and_delegation(
    storacha_service: StorachaService, tmp_path: Path
) -> None:
    credentials = make_credentials(storacha_service, tmp_path)
    assert credentials.agent_did.startswith("did:key:z6Mk")
    assert credentials.space_did.startswith("did:key:z6Mk")
    assert credentials.key.startswith("Mg")
    assert credentials.account.startswith("did:mailto:example.com:")
    proof = CID.decode(credentials.proof)  # multibase base64 identity CID of a CAR
    assert (proof.codec.name, proof.hashfun.name) == ("car", "identity")
    roots, blocks = read_car(bytes(proof.raw_digest))
    assert len(roots) == 1 and len(blocks) >= 2  # the delegation and its proof chain
    info = run_cli(["space", "info", "--json"], credentials.cli_env).stdout
    assert credentials.space_did in info


def test_provision_helper_registers_a_space(storacha_service: StorachaService) -> None:
    space = "did:key:z6MkrZ1r5XBFZjBU34qyD8fueMbMRkKw17BZaq2ivKFjnz2z"
    storacha_service.provision(space, "did:mailto:example.com:provisioned")
    storacha_service.provision(space, "did:mailto:example.com:provisioned")  # idempotent
    with pytest.raises(urllib.error.HTTPError) as refused:  # one provider per space
        storacha_service.provision(space, "did:mailto:example.com:someone-else")
    assert refused.value.code == 409


def test_storage_node_refuses_put_without_content_length(storacha_service: StorachaService) -> None:
    node = urlsplit(storacha_service.storage_nodes[0])
    connection = http.client.HTTPConnection(node.hostname or "", node.port, timeout=30)
    connection.putrequest("PUT", "/blob")
    connection.putheader("transfer-encoding", "chunked")
    connection.endheaders()
    connection.send(b"5\r\nhello\r\n0\r\n\r\n")
    assert connection.getresponse().status == 411
    connection.close()


@pytest.mark.slow
def test_js_client_uploads_64_mib(
    storacha_service: StorachaService,
    storacha_credentials: StorachaTestCredentials,
    tmp_path: Path,
) -> None:
    """Used to fail with "other side closed" (keep-alive reuse while the client hashes)."""
    path = tmp_path / "64mib"
    path.write_bytes(os.urandom(64 * MIB))
    result = js_upload(storacha_service, storacha_credentials, path)
    assert CID.decode(result["root"]).codec.name == "dag-pb"
    [shard] = result["shards"]
    stored = storacha_service.stored_blob(_b58(shard))
    assert stored is not None
    assert hashlib.sha256(stored).digest() == CID.decode(shard).raw_digest
    assert len(stored) > 64 * MIB
