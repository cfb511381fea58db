"""HAMT sharding: kubo's threshold, shard layout and hash, and reading shards back.

Expected CIDs come from kubo 0.43.1 (`ipfs add -r --only-hash [--cid-version=1]`) on the
trees built here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ipfs_kit_py.content.cid import CID, DAG_PB, parse_cid, sha256_cid
from ipfs_kit_py.content.dag import iter_directory, load_node
from ipfs_kit_py.content.dagpb import (
    PBLink,
    UnixFSType,
    decode_node,
    decode_unixfs,
    encode_node,
    encode_unixfs,
)
from ipfs_kit_py.content.directory import import_directory
from ipfs_kit_py.content.hamt import (
    KUBO_SHARDING,
    UNIXFS_V1_2025_SHARDING,
    ShardingPolicy,
    build_shard,
    hamt_hash,
    shard_order,
)
from ipfs_kit_py.content.unixfs import KUBO_CID_V1, STORACHA
from ipfs_kit_py.errors import ContentMismatchError, InvalidInputError

EMPTY_FILE = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"  # 34 CID bytes


def _boundary_tree(root: Path, extra: str = "") -> Path:
    """1024 empty files with 222-byte names: links estimate 1024 * (222 + 34) = 256 KiB."""
    root.mkdir()
    for i in range(1024):
        (root / f"{i:04d}{'n' * 218}{extra if i == 0 else ''}").touch()
    return root


def _blocks_of(path: Path) -> tuple[str, dict[bytes, bytes]]:
    blocks: dict[bytes, bytes] = {}
    result = import_directory(path, on_block=lambda b: blocks.setdefault(bytes(b.cid), b.data))
    return str(result.cid), blocks


def test_directory_exactly_at_threshold_stays_basic(tmp_path: Path) -> None:
    cid, blocks = _blocks_of(_boundary_tree(tmp_path / "h7"))
    assert cid == "QmWcasN6jq2TL49xDcGBTgnE3zJ6Md3MUVQtWsvB6dcrYs"
    root = decode_node(blocks[bytes(parse_cid(cid))])
    assert decode_unixfs(root.data or b"").type == UnixFSType.DIRECTORY


def test_one_byte_over_threshold_becomes_a_shard_like_kubos(tmp_path: Path) -> None:
    cid, blocks = _blocks_of(_boundary_tree(tmp_path / "h8", extra="x"))
    assert cid == "QmRZRNwoEHam9voX5eZJ5y4Pr6efrWvUbFq4ew42Wu85ty"
    root = decode_node(blocks[bytes(parse_cid(cid))])
    unixfs = decode_unixfs(root.data or b"")
    assert (unixfs.type, unixfs.fanout, unixfs.hash_type) == (UnixFSType.HAMT_SHARD, 256, 0x22)
    slots = {int((link.name or "")[:2], 16) for link in root.links}
    assert int.from_bytes(unixfs.data or b"", "big") == sum(1 << slot for slot in slots)
    for link in root.links:
        name = link.name or ""
        assert len(name) >= 2 and name[:2] == name[:2].upper()
        if len(name) > 2:  # a value: its slot is the first byte of its hash
            assert int(name[:2], 16) == hamt_hash(name[2:]) >> 56


@pytest.fixture(scope="module")
def mixed_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1200 empty files with 200-byte names and 41 small subdirectories: a shard whose
    slots hold sub-shards and directories."""
    root = tmp_path_factory.mktemp("hamt") / "h9"
    root.mkdir()
    for i in range(1200):
        (root / f"{i:04d}-{'x' * 195}").touch()
    for i in range(41):
        (root / f"d{i}").mkdir()
        (root / f"d{i}" / "x").write_bytes(f"{i}\n".encode())
    return root


def test_shard_with_subshards_and_added_order_match_kubo(mixed_tree: Path) -> None:
    dirs: list[str] = []
    result = import_directory(
        mixed_tree,
        on_entry=lambda p, c, s: dirs.append(p) if p.startswith("h9/d") and "/x" not in p else None,
    )
    assert str(result.cid) == "QmY72FHD59GfoCMJGfM2XVjqURu3UXVtUH2nTUP5q5dtZ9"
    # kubo lists a sharded directory's subdirectories in HAMT order, the root last
    assert dirs[:5] == ["h9/d26", "h9/d36", "h9/d1", "h9/d9", "h9/d14"]
    assert dirs == [f"h9/{n}" for n in shard_order([f"d{i}" for i in range(41)])]
    assert str(import_directory(mixed_tree, KUBO_CID_V1).cid) == (
        "bafybeihr6rb3l4njeczpul73t22g4zx6oa6lqwpu55edftzhzmfspwidjq"
    )


def test_shard_reads_back_every_entry_in_hamt_order(mixed_tree: Path) -> None:
    cid, blocks = _blocks_of(mixed_tree)
    root = decode_node(blocks[bytes(parse_cid(cid))])
    assert decode_unixfs(root.data or b"").type == UnixFSType.HAMT_SHARD
    assert any(len(link.name or "") == 2 for link in root.links)  # has sub-shards
    names = _read(cid, blocks)
    files = [f"{i:04d}-{'x' * 195}" for i in range(1200)]
    assert names == shard_order(files + [f"d{i}" for i in range(41)])


def _link(name: str) -> PBLink:
    return PBLink(sha256_cid(DAG_PB, name.encode(), 0), name, 10)


def test_build_shard_small_fanout_layout() -> None:
    names = [f"entry-{i}" for i in range(40)]
    emitted: list[str] = []
    shard = build_shard(
        [(n, _link(n)) for n in names], fanout=16, emit=lambda s: emitted.append(str(s.cid))
    )
    assert emitted[-1] == str(shard.cid)  # sub-shards first, the root last
    root = decode_node(shard.data)
    unixfs = decode_unixfs(root.data or b"")
    assert unixfs.fanout == 16
    prefixes = [int((link.name or "")[:1], 16) for link in root.links]
    assert prefixes == sorted(set(prefixes))  # one hex digit per slot, in slot order
    bitfield = int.from_bytes(unixfs.data or b"", "big")
    assert bitfield == sum(1 << p for p in prefixes)
    assert shard.dag_size == len(shard.data) + sum(link.tsize or 0 for link in root.links)


def test_shard_of_one_entry_has_a_one_byte_bitfield() -> None:
    shard = build_shard([("a", _link("a"))])
    unixfs = decode_unixfs(decode_node(shard.data).data or b"")
    slot = hamt_hash("a") >> 56
    assert unixfs.data == (1 << slot).to_bytes(32, "big").lstrip(b"\0")
    assert decode_node(shard.data).links[0].name == f"{slot:02X}a"


def _store_shard(entries: list[str], fanout: int = 256) -> tuple[str, dict[bytes, bytes]]:
    blocks: dict[bytes, bytes] = {}
    shard = build_shard(
        [(n, _link(n)) for n in entries],
        fanout=fanout,
        emit=lambda s: blocks.setdefault(bytes(s.cid), s.data),
    )
    return str(shard.cid), blocks


def _read(cid: str, blocks: dict[bytes, bytes]) -> list[str]:
    def get(c: CID) -> bytes:
        return blocks[bytes(c)]

    node = load_node(parse_cid(cid), get)
    return [name for name, _ in iter_directory(node, get)]


def test_corrupt_shards_are_rejected() -> None:
    cid = sha256_cid(DAG_PB, b"child", 0)

    def shard(links: list[PBLink], hash_type: int = 0x22, fanout: int = 256) -> list[str]:
        data = encode_node(
            encode_unixfs(UnixFSType.HAMT_SHARD, data=b"\1", hash_type=hash_type, fanout=fanout),
            links,
        )
        root = sha256_cid(DAG_PB, data, 0)
        return _read(str(root), {bytes(root): data})

    assert shard([PBLink(cid, "00name", 1)]) == ["name"]
    with pytest.raises(ContentMismatchError, match="hash"):
        shard([PBLink(cid, "00name", 1)], hash_type=0x12)
    with pytest.raises(ContentMismatchError, match="fanout"):
        shard([PBLink(cid, "00name", 1)], fanout=12)
    for bad in ("zzname", "0", "0g"):
        with pytest.raises(ContentMismatchError, match="invalid name"):
            shard([PBLink(cid, bad, 1)])


def test_subshard_with_other_fanout_is_rejected() -> None:
    root_cid, blocks = _store_shard([f"n{i}" for i in range(600)], fanout=256)
    _, small = _store_shard([f"n{i}" for i in range(600)], fanout=16)
    assert len(_read(root_cid, blocks)) == 600
    # graft a fanout-16 shard where a fanout-256 sub-shard is expected
    root = decode_node(blocks[bytes(parse_cid(root_cid))])
    sub = next(link for link in root.links if len(link.name or "") == 2)
    blocks[bytes(sub.cid)] = next(iter(small.values()))
    with pytest.raises(ContentMismatchError):
        _read(root_cid, blocks)


def test_sharding_policy_validation_and_estimate() -> None:
    for bad in ({"fanout": 12}, {"fanout": 4}, {"fanout": 2048}, {"threshold": -1}):
        with pytest.raises(InvalidInputError):
            ShardingPolicy(**bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        ShardingPolicy(estimation="guess")  # type: ignore[arg-type]
    link = _link("x" * 30)  # 30 + 34 bytes
    links = [link] * 4096
    assert not KUBO_SHARDING.should_shard(links, lambda: 0)
    assert KUBO_SHARDING.should_shard([*links, _link("y")], lambda: 0)
    assert ShardingPolicy(100, "block").should_shard([], lambda: 101)
    assert not ShardingPolicy(100, "block").should_shard([], lambda: 100)
    assert not ShardingPolicy(estimation="disabled").should_shard(links * 2, lambda: 10**9)


@pytest.mark.parametrize(
    ("extra", "expected", "kind"),
    [
        ("", "bafybeievvptlvfzlak4mdt2er2mq3qrft4aw4bnlar4fftpanxaucibocq", UnixFSType.DIRECTORY),
        ("x", "bafybeiad2uq5ixhhravx2b3v4xcsfbnceenfobwx4i6wzdrvzrmtua24ea", UnixFSType.HAMT_SHARD),
    ],
)
def test_block_estimation_boundary_matches_kubo_unixfs_v1_2025(
    tmp_path: Path, extra: str, expected: str, kind: UnixFSType
) -> None:
    # 1028 empty files with 209-byte names: each link encodes to 255 bytes, so the basic
    # node is 1028 * 255 + 4 = 262144 bytes, one more with the longer name.
    # kubo 0.43.1, `ipfs init --profile=test,unixfs-v1-2025`, `ipfs add -r --only-hash`.
    root = tmp_path / "k"
    root.mkdir()
    for i in range(1028):
        (root / f"{i:04d}{'b' * 205}{extra if i == 0 else ''}").touch()
    blocks: dict[bytes, bytes] = {}
    result = import_directory(
        root,
        STORACHA,
        sharding=UNIXFS_V1_2025_SHARDING,
        on_block=lambda b: blocks.setdefault(bytes(b.cid), b.data),
    )
    assert str(result.cid) == expected
    node = blocks[bytes(result.cid)]
    assert decode_unixfs(decode_node(node).data or b"").type == kind
    if kind == UnixFSType.DIRECTORY:
        assert len(node) == 262144
