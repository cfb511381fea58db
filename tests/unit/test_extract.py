"""Extraction of UnixFS DAGs to disk: round trips, hostile DAGs, and nothing partial."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from ipfs_kit_py.content.blockstore import TempBlockStore
from ipfs_kit_py.content.car import write_car
from ipfs_kit_py.content.cid import CID, DAG_CBOR, DAG_PB, RAW, sha256_cid
from ipfs_kit_py.content.dag import read_file
from ipfs_kit_py.content.dagpb import PBLink, UnixFSType, decode_node, encode_node, encode_unixfs
from ipfs_kit_py.content.directory import import_directory
from ipfs_kit_py.content.extract import extract, extract_car
from ipfs_kit_py.content.hamt import ShardingPolicy
from ipfs_kit_py.content.unixfs import KUBO_CID_V1, KUBO_DEFAULT, Block, ImportProfile, import_file
from ipfs_kit_py.errors import (
    CARFormatError,
    ContentMismatchError,
    ContentNotFoundError,
    InputPathError,
    InvalidInputError,
    UnsafePathError,
)


class Dag:
    """A block map for crafting DAGs, valid or hostile."""

    def __init__(self) -> None:
        self.blocks: dict[bytes, bytes] = {}

    def add(self, block: Block) -> None:
        self.blocks[bytes(block.cid)] = block.data

    def put(self, data: bytes, codec: int = DAG_PB) -> CID:
        cid = sha256_cid(codec, data, 0 if codec == DAG_PB else 1)
        self.blocks[bytes(cid)] = data
        return cid

    def get(self, cid: CID) -> bytes:
        return self.blocks[bytes(cid)]

    def file(self, content: bytes, profile: ImportProfile = KUBO_DEFAULT) -> CID:
        return import_file([content], profile, self.add).cid

    def directory(self, entries: list[tuple[str, CID]]) -> CID:
        links = [PBLink(cid, name, 1) for name, cid in entries]  # kept as given: unsorted
        return self.put(encode_node(encode_unixfs(UnixFSType.DIRECTORY), links))

    def symlink(self, target: bytes) -> CID:
        return self.put(encode_node(encode_unixfs(UnixFSType.SYMLINK, data=target)))

    def car(self, root: CID, skip: CID | None = None) -> io.BytesIO:
        out = io.BytesIO()
        blocks = [Block(CID.decode(k), v) for k, v in self.blocks.items()]
        write_car(out, [root], [b for b in blocks if skip is None or b.cid != skip])
        out.seek(0)
        return out


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An empty directory to extract into; tests check it stays empty on failure."""
    path = tmp_path / "out"
    path.mkdir()
    return path


def _tree(root: Path) -> Path:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "a.txt").write_bytes(b"abc")
    (root / "ünï.txt").write_bytes("é".encode())
    (root / "sub" / "big.bin").write_bytes(os.urandom(70_000))
    (root / "sub" / "deeper" / "zero").write_bytes(b"")
    os.symlink("a.txt", root / "link")
    os.symlink("../a.txt", root / "sub" / "up")
    os.symlink("deeper/zero", root / "sub" / "down")
    return root


@pytest.mark.parametrize(
    "profile",
    [ImportProfile(chunk_size=4096), ImportProfile(4096, raw_leaves=True, cid_version=1)],
)
def test_round_trip_of_a_tree(tmp_path: Path, out: Path, profile: ImportProfile) -> None:
    source = _tree(tmp_path / "src")
    dag = Dag()
    root = import_directory(source, profile, on_block=dag.add).cid
    extract(root, dag.get, out / "copy")
    copy = out / "copy"
    assert import_directory(copy, profile).cid == root
    assert (copy / "sub" / "big.bin").read_bytes() == (source / "sub" / "big.bin").read_bytes()
    assert os.readlink(copy / "sub" / "up") == "../a.txt"
    assert (copy / "sub" / "up").read_bytes() == b"abc"
    assert sorted(os.listdir(out)) == ["copy"]  # no staging left behind


def test_extract_car_of_a_sharded_directory(tmp_path: Path, out: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for i in range(300):
        (source / f"file-{i}").write_bytes(str(i).encode())
    dag = Dag()
    policy = ShardingPolicy(threshold=1000)
    root = import_directory(source, KUBO_CID_V1, sharding=policy, on_block=dag.add).cid
    assert str(extract_car(dag.car(root), out / "copy")) == str(root)  # base32, as kubo
    assert import_directory(out / "copy", KUBO_CID_V1, sharding=policy).cid == root
    assert (out / "copy" / "file-299").read_bytes() == b"299"


@pytest.mark.parametrize("profile", [ImportProfile(chunk_size=1000), KUBO_CID_V1])
def test_single_file_root(out: Path, profile: ImportProfile) -> None:
    dag = Dag()
    content = os.urandom(5000)
    root = dag.file(content, profile)
    extract(root, dag.get, out / "file.bin")
    assert (out / "file.bin").read_bytes() == content
    assert b"".join(read_file(root, dag.get)) == content
    assert b"".join(read_file(str(root), dag.get)) == content


def test_read_file_checks_block_sizes() -> None:
    dag = Dag()
    leaf = dag.put(b"0123456789", RAW)
    for sizes, filesize in (([9], 10), ([10], 11), ([10, 10], 20)):
        node = encode_node(
            encode_unixfs(UnixFSType.FILE, filesize=filesize, blocksizes=sizes),
            [PBLink(leaf, "", 10)],
        )
        with pytest.raises(ContentMismatchError):
            b"".join(read_file(dag.put(node), dag.get))
    with pytest.raises(ContentMismatchError, match="not part of a file"):
        b"".join(read_file(dag.directory([]), dag.get))


@pytest.mark.parametrize("name", ["..", ".", "", "a/b", "../../etc", "nul\0x", "/abs"])
def test_unsafe_names_write_nothing(out: Path, name: str) -> None:
    dag = Dag()
    fine = dag.file(b"fine")
    bad = dag.directory([("ok", fine), (name, fine)])
    root = dag.directory([("first", fine), ("nested", bad)])
    with pytest.raises(UnsafePathError):
        extract(root, dag.get, out / "t")
    assert os.listdir(out) == []


def test_duplicate_names_are_rejected(out: Path) -> None:
    dag = Dag()
    root = dag.directory([("x", dag.file(b"1")), ("x", dag.symlink(b"/etc/passwd"))])
    with pytest.raises(UnsafePathError, match="twice"):
        extract(root, dag.get, out / "t")
    assert os.listdir(out) == []


@pytest.mark.parametrize(
    ("where", "target"),
    [
        ((), b"/etc/passwd"),
        ((), b"../outside"),
        (("sub",), b"../../outside"),
        (("sub",), b"a/../../../outside"),
        (("sub",), b"other/../x"),  # could climb out through a symlink named other
        ((), b""),
        ((), b"nul\0"),
    ],
)
def test_escaping_symlinks_are_rejected(out: Path, where: tuple[str, ...], target: bytes) -> None:
    dag = Dag()
    node = dag.directory([("link", dag.symlink(target))])
    for name in reversed(where):
        node = dag.directory([(name, node)])
    with pytest.raises(UnsafePathError):
        extract(node, dag.get, out / "t")
    assert os.listdir(out) == []


def test_symlinks_inside_the_tree_are_created(out: Path) -> None:
    dag = Dag()
    data = dag.file(b"data")
    sub = dag.directory([("up", dag.symlink(b"../data")), ("self", dag.symlink(b"./.."))])
    root = dag.directory([("data", data), ("sub", sub), ("down", dag.symlink(b"sub/up"))])
    extract(root, dag.get, out / "t")
    assert (out / "t" / "down").read_bytes() == b"data"
    assert os.readlink(out / "t" / "sub" / "self") == "./.."


def test_a_root_symlink_is_rejected(out: Path) -> None:
    dag = Dag()
    with pytest.raises(UnsafePathError):
        extract(dag.symlink(b"target"), dag.get, out / "t")
    assert os.listdir(out) == []


def test_truncated_car_leaves_nothing(tmp_path: Path, out: Path) -> None:
    dag = Dag()
    root = import_directory(_tree(tmp_path / "src"), on_block=dag.add).cid
    data = dag.car(root).getvalue()
    with pytest.raises(CARFormatError):
        extract_car(io.BytesIO(data[:-10]), out / "t")
    assert os.listdir(out) == []


def test_missing_leaf_after_files_were_written_leaves_nothing(out: Path) -> None:
    dag = Dag()
    whole = dag.file(b"a" * 3000, ImportProfile(chunk_size=1000))
    leaf_block: list[Block] = []
    content = b"b" * 1000 + b"c" * 1000 + b"d" * 1000  # three distinct leaves
    broken = import_file([content], ImportProfile(chunk_size=1000), leaf_block.append).cid
    for block in leaf_block[1:]:  # the first leaf is never stored
        dag.add(block)
    root = dag.directory([("a-written-first", whole), ("b-broken", broken)])
    with pytest.raises(ContentNotFoundError):
        extract(root, dag.get, out / "t")
    assert os.listdir(out) == []
    with pytest.raises(ContentNotFoundError):
        extract_car(dag.car(root), out / "t")
    assert os.listdir(out) == []


def test_missing_block_in_car(out: Path) -> None:
    dag = Dag()
    child = dag.file(b"child")
    root = dag.directory([("child", child)])
    with pytest.raises(ContentNotFoundError):
        extract_car(dag.car(root, skip=child), out / "t")
    assert os.listdir(out) == []


def test_corrupt_block_is_detected(out: Path) -> None:
    dag = Dag()
    child = dag.file(b"child")
    root = dag.directory([("child", child)])
    dag.blocks[bytes(child)] = dag.blocks[bytes(child)].replace(b"child", b"CHILD")
    with pytest.raises(ContentMismatchError):
        extract(root, dag.get, out / "t")
    assert os.listdir(out) == []


def test_target_must_be_new_and_its_parent_exist(out: Path) -> None:
    dag = Dag()
    root = dag.file(b"x")
    (out / "exists").mkdir()
    with pytest.raises(InputPathError, match="exists"):
        extract(root, dag.get, out / "exists")
    with pytest.raises(InputPathError):
        extract(root, dag.get, out / "missing" / "t")
    assert os.listdir(out) == ["exists"] and os.listdir(out / "exists") == []


def test_car_roots_and_codecs(out: Path) -> None:
    dag = Dag()
    first, second = dag.file(b"1"), dag.file(b"2")
    car = io.BytesIO()
    blocks = [Block(first, dag.get(first)), Block(second, dag.get(second))]
    write_car(car, [first, second], blocks)
    car.seek(0)
    with pytest.raises(InvalidInputError, match="2 roots"):
        extract_car(car, out / "t")
    car.seek(0)
    assert extract_car(car, out / "t", root=second) == second
    assert (out / "t").read_bytes() == b"2"
    cbor = dag.put(b"\xa0", DAG_CBOR)
    with pytest.raises(ContentMismatchError, match="not a UnixFS block"):
        extract(cbor, dag.get, out / "cbor")
    assert sorted(os.listdir(out)) == ["t"]


def test_identity_cids_are_read_from_the_cid(out: Path) -> None:
    # kubo's --inline puts small blocks into their CIDs; no block store holds them
    inline = CID.decode(bytes([0x01, RAW, 0x00, 5]) + b"tiny!")
    dag = Dag()
    root = dag.directory([("tiny", inline)])
    extract(root, dag.get, out / "a")
    assert extract_car(dag.car(root), out / "b") == root
    assert (out / "a" / "tiny").read_bytes() == (out / "b" / "tiny").read_bytes() == b"tiny!"


def test_a_block_store_is_a_block_source(tmp_path: Path, out: Path) -> None:
    source = _tree(tmp_path / "src")
    with TempBlockStore() as store:
        root = import_directory(source, on_block=lambda b: store.put(b.cid, b.data)).cid
        extract(root, store, out / "t")
        assert b"".join(read_file(_child(store, root, "a.txt"), store)) == b"abc"
    assert import_directory(out / "t").cid == root


def _child(store: TempBlockStore, directory: CID, name: str) -> CID:
    return next(link.cid for link in decode_node(store.get(directory)).links if link.name == name)
