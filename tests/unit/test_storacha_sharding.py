"""CAR shards and the sharded DAG index, against the official client's golden CIDs."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import dag_cbor
import pytest

from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.backends.storacha.sharding import SHARD_SIZE, Shard, ShardWriter, encode_dag_index
from ipfs_kit_py.content.car import CarReader
from ipfs_kit_py.content.cid import RAW, parse_cid, sha256_cid
from ipfs_kit_py.content.unixfs import STORACHA, Block, import_file
from ipfs_kit_py.errors import NotConfiguredError
from ipfs_kit_py.storacha_kit import StorachaKit
from tests.conformance.storacha_probe import GOLDEN, probe


def shard(data: bytes, tmp_path: Path, shard_size: int = SHARD_SIZE) -> tuple[str, list[Shard]]:
    writer = ShardWriter(tmp_path, shard_size)
    root = import_file([data], STORACHA, on_block=writer.add).cid
    return str(root), writer.finish(root)


def check_shard(s: Shard) -> bytes:
    data = b"".join(s.chunks())
    assert len(data) == s.size and hashlib.sha256(data).digest() == s.sha256
    for multihash, offset, length in s.slices:
        assert hashlib.sha256(data[offset : offset + length]).digest() == multihash[2:]
    return data


@pytest.mark.parametrize("n", list(GOLDEN))
def test_golden_root_and_shard(n: int, tmp_path: Path) -> None:
    root, shards = shard(probe(n), tmp_path)
    assert (root, [str(s.cid) for s in shards]) == (GOLDEN[n][0], [GOLDEN[n][1]])
    data = check_shard(shards[0])
    reader = CarReader(io.BytesIO(data))
    assert reader.roots == [parse_cid(root)]
    assert len(list(reader)) == len(shards[0].slices)


def test_small_shards_only_last_has_root(tmp_path: Path) -> None:
    root, shards = shard(probe(5_000_000), tmp_path, shard_size=1_100_000)
    assert len(shards) == 5
    for s in shards:
        roots = CarReader(io.BytesIO(check_shard(s))).roots
        assert roots == ([parse_cid(root)] if s is shards[-1] else [])


def test_duplicate_blocks_are_written_once(tmp_path: Path) -> None:
    writer = ShardWriter(tmp_path)
    block = Block(sha256_cid(RAW, b"same"), b"same")
    for _ in range(3):
        writer.add(block)
    (only,) = writer.finish(block.cid)
    assert len(only.slices) == 1


def test_root_header_overflow_moves_blocks_to_a_new_shard(tmp_path: Path) -> None:
    blocks = [Block(sha256_cid(RAW, bytes([i]) * 400), bytes([i]) * 400) for i in range(5)]
    framed = sum(len(b.data) + 36 + 2 for b in blocks)
    writer = ShardWriter(tmp_path, shard_size=18 + framed + 10)  # fits without the root
    for block in blocks:
        writer.add(block)
    shards = writer.finish(blocks[-1].cid)
    assert len(shards) == 2
    for s in shards:
        check_shard(s)


def test_dag_index_layout(tmp_path: Path) -> None:
    root, shards = shard(probe(2_621_440), tmp_path)
    index_cid, car = encode_dag_index(parse_cid(root), shards)
    assert index_cid.codec.name == "car" and hashlib.sha256(car).digest() == index_cid.raw_digest
    reader = CarReader(io.BytesIO(car))
    blocks = {b.cid: b.data for b in reader}
    index = dag_cbor.decode(blocks[reader.roots[0]])["index/sharded/dag@0.1"]
    assert index["content"] == parse_cid(root)
    shard_digest, slices = dag_cbor.decode(blocks[index["shards"][0]])
    assert shard_digest == shards[0].digest
    assert [s[0][2:] for s in slices] == sorted(s[0][2:] for s in slices)
    assert [shards[0].digest, [0, shards[0].size]] in slices


def test_missing_credentials_is_not_configured() -> None:
    config = StorachaConfig.from_sources({}, {}, {})
    with pytest.raises(NotConfiguredError, match="Storacha not configured: set STORACHA_KEY"):
        config.require_credentials()
    result = StorachaKit.from_sources({}, {}, {}).upload_bytes(b"x")
    assert result["success"] is False and result["error_type"] == "NotConfiguredError"
    assert result["error"].startswith("Storacha not configured")


def test_config_precedence_and_masking() -> None:
    env = {"STORACHA_KEY": "Menv", "STORACHA_PROOF": "menv", "STORACHA_SERVICE_URL": "http://e/"}
    config = StorachaConfig.from_sources({"key": "Marg"}, {"proof": "mfile"}, env)
    assert config.require_credentials() == ("Marg", "mfile")
    assert config.service_url == "http://e" and config.receipts_endpoint == "http://e/receipt/"
    assert "Marg" not in repr(config) and "mfile" not in repr(config)
    assert StorachaConfig.from_sources({}, {}, {}).service_did == "did:web:up.storacha.network"


def test_piece_in_parallel_equals_streaming(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from ipfs_kit_py.backends.storacha.piece import piece_cid
    from ipfs_kit_py.backends.storacha.upload import piece_in_parallel

    _, shards = shard(probe(3_500_000), tmp_path)
    whole = b"".join(shards[0].chunks())
    assert shards[0].read(5, 100) == whole[5:105]
    assert shards[0].read(len(whole) - 10, 100) == whole[-10:]
    with ThreadPoolExecutor(2) as pool:
        for parts in (1, 2, 3):
            assert piece_in_parallel(shards[0], pool, parts) == piece_cid(whole)
