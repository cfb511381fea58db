from __future__ import annotations

import io
import random
from pathlib import Path

import pytest

from ipfs_kit_py.content.cid import CID, DAG_PB, cid_key
from ipfs_kit_py.content.dagpb import UnixFSType, decode_node, decode_unixfs
from ipfs_kit_py.content.unixfs import (
    KUBO_CID_V1,
    KUBO_DEFAULT,
    STORACHA,
    Block,
    FileImporter,
    ImportProfile,
    import_file,
)
from ipfs_kit_py.errors import InputPathError, InvalidInputError
from tests.conformance.storacha_probe import probe


@pytest.mark.parametrize(
    ("data", "profile", "expected"),
    [
        (b"", KUBO_DEFAULT, "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"),
        (b"", KUBO_CID_V1, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),
        (b"hello\n", KUBO_DEFAULT, "QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN"),
        (probe(100), STORACHA, "bafkreierpjygodpr3vyayx23vgpasnf7d3gpgbstorpjru4fcblho6qqde"),
        (probe(2621440), STORACHA, "bafybeibhmwvkmxhp4dfm76egsabq5op46wgg4dljjtdys6eqbqnnv3ntq4"),
    ],
)
def test_known_cids(data: bytes, profile: ImportProfile, expected: str) -> None:
    assert str(import_file([data], profile).cid) == expected


def _read_back(root: CID, blocks: dict[str, bytes]) -> bytes:
    """Walk a file DAG depth-first and concatenate its leaves."""
    data = blocks[cid_key(root)]
    if root.codec.code != DAG_PB:
        return data
    node = decode_node(data)
    unixfs = decode_unixfs(node.data or b"")
    assert unixfs.type is UnixFSType.FILE
    if not node.links:
        return unixfs.data or b""
    parts = [_read_back(link.cid, blocks) for link in node.links]
    assert list(unixfs.blocksizes) == [len(p) for p in parts]
    assert unixfs.filesize == sum(map(len, parts))
    return b"".join(parts)


def _depth(root: CID, blocks: dict[str, bytes]) -> int:
    if root.codec.code != DAG_PB:
        return 0
    links = decode_node(blocks[cid_key(root)]).links
    return 1 + _depth(links[0].cid, blocks) if links else 0


@pytest.mark.parametrize("raw_leaves", [False, True])
@pytest.mark.parametrize(("chunks", "depth"), [(1, 0), (4, 1), (5, 2), (16, 2), (17, 3)])
def test_balanced_tree_shape_and_read_back(raw_leaves: bool, chunks: int, depth: int) -> None:
    # width 4 makes the depth changes of width 174 cheap to reach
    profile = ImportProfile(chunk_size=64, raw_leaves=raw_leaves, cid_version=1, max_links=4)
    data = random.Random(chunks).randbytes(64 * chunks - 7)
    blocks: dict[str, bytes] = {}
    result = import_file(
        [data], profile, on_block=lambda b: blocks.setdefault(cid_key(b.cid), b.data)
    )
    assert result.size == len(data)
    assert result.dag_size == sum(len(b) for b in blocks.values())
    assert _read_back(result.cid, blocks) == data
    assert _depth(result.cid, blocks) == depth


def test_root_block_is_emitted_last() -> None:
    emitted: list[Block] = []
    profile = ImportProfile(chunk_size=10, max_links=3)
    result = import_file([b"x" * 95], profile, on_block=emitted.append)
    assert emitted[-1].cid == result.cid


def test_any_split_of_the_input_gives_the_same_root(tmp_path: Path) -> None:
    rng = random.Random(7)
    data = rng.randbytes(3 * 262144 + 11)
    path = tmp_path / "f"
    path.write_bytes(data)
    for profile in (KUBO_DEFAULT, KUBO_CID_V1):
        expected = import_file(path, profile).cid
        importer = FileImporter(profile)
        pos = 0
        while pos < len(data):
            step = rng.choice([1, 100, 65536, 262143, 262145, 700000])
            importer.update(data[pos : pos + step])
            pos += step
        assert importer.finish().cid == expected
        assert import_file(io.BytesIO(data), profile).cid == expected


def test_finish_twice_is_an_error() -> None:
    importer = FileImporter()
    importer.finish()
    with pytest.raises(InvalidInputError):
        importer.finish()


def test_profile_key_round_trip_and_validation() -> None:
    for profile in (KUBO_DEFAULT, KUBO_CID_V1, STORACHA):
        assert ImportProfile.parse(profile.key()) == profile
    with pytest.raises(InvalidInputError):
        ImportProfile.parse("size-x,pb,v0,w174")
    with pytest.raises(InvalidInputError):
        ImportProfile(chunk_size=0)
    with pytest.raises(InvalidInputError):
        ImportProfile(chunk_size=2 * 1024 * 1024)
    with pytest.raises(InvalidInputError):
        ImportProfile(cid_version=2)


def test_bad_paths_raise_input_path_error(tmp_path: Path) -> None:
    with pytest.raises(InputPathError, match="no such file"):
        import_file(tmp_path / "missing")
    with pytest.raises(InputPathError, match="is a directory"):
        import_file(tmp_path)
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(InputPathError):
        import_file(loop)
