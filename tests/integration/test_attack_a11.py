"""Regression tests of attack a11 (issue 11 revisited), against a real kubo where one serves.

- a file DAG whose nodes link one empty child twice, 60 levels deep, holds 0 bytes but
  took 2**60 block loads to read: ``car extract`` and a gateway ``cat`` never ended;
- a HAMT whose shards link one sub-shard from two slots, 20 levels deep, made listing
  it cost 2**20 loads; one with thousands of empty sub-shards, linked by thousands of
  directory entries, was listed again for each: ``car extract`` never ended; so did
  one naming thousands of times an empty file whose node has 50k empty links;
- ``car verify`` of a dag-cbor block that is not dag-cbor (or nests past the decoder's
  recursion) escaped as ``DAGCBORDecodingError`` / ``RecursionError``;
- ``kit.add(text_stream)`` raised a bare ``TypeError``;
- ``add --to ,`` printed "added", stored nowhere and left an index record without a
  copy (the Python ``to=[]`` computes the CID only, on purpose).
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.servers.kubo import KuboNode

from ipfs_kit_py.backends.gateway import GatewayBackend
from ipfs_kit_py.content.archive import verify_car
from ipfs_kit_py.content.car import CarWriter
from ipfs_kit_py.content.cid import CID, DAG_CBOR, DAG_PB, RAW, make_cid, sha256_cid
from ipfs_kit_py.content.dag import read_file
from ipfs_kit_py.content.dagpb import PBLink, UnixFSType, encode_node, encode_unixfs
from ipfs_kit_py.content.extract import ExtractLimits, extract_car
from ipfs_kit_py.errors import ContentMismatchError, InvalidInputError, ResourceLimitError
from ipfs_kit_py.ipfs_kit import ipfs_kit

Blocks = list[tuple[CID, bytes]]


def _pb(unixfs: bytes, links: list[PBLink]) -> tuple[CID, bytes]:
    data = encode_node(unixfs, links)
    return make_cid(DAG_PB, hashlib.sha256(data).digest(), 1), data


def _car(path: Path, root: CID, blocks: Blocks) -> Path:
    with path.open("wb") as f:
        writer = CarWriter(f, [root])
        for cid, data in blocks:
            writer.write_block(cid, data)
    return path


def _empty_file_bomb(levels: int = 60) -> tuple[CID, Blocks]:
    """A 0-byte file whose every node links the next one twice: 2**levels paths."""
    child = sha256_cid(RAW, b"")
    blocks: Blocks = [(child, b"")]
    for _ in range(levels):
        unixfs = encode_unixfs(UnixFSType.FILE, filesize=0, blocksizes=[0, 0])
        child, data = _pb(unixfs, [PBLink(child, None, 0), PBLink(child, None, 0)])
        blocks.append((child, data))
    return child, blocks[::-1]


def _shared_shard_bomb(levels: int = 20) -> tuple[CID, Blocks]:
    """A HAMT directory whose every shard links one sub-shard from two slots."""

    def shard(links: list[PBLink]) -> tuple[CID, bytes]:
        unixfs = encode_unixfs(UnixFSType.HAMT_SHARD, data=b"\x03", hash_type=0x22, fanout=8)
        return _pb(unixfs, links)

    leaf = sha256_cid(RAW, b"x")
    cid, data = shard([PBLink(leaf, "0x", 1)])
    blocks: Blocks = [(leaf, b"x"), (cid, data)]
    for _ in range(levels):
        cid, data = shard([PBLink(cid, "0", 0), PBLink(cid, "1", 0)])
        blocks.append((cid, data))
    return cid, blocks[::-1]


@pytest.mark.timeout(120)  # without the bound it never ends
def test_an_empty_file_linked_exponentially_often_is_read_in_linear_work(
    tmp_path: Path,
) -> None:
    root, blocks = _empty_file_bomb()
    store = dict((bytes(cid), data) for cid, data in blocks)
    loads = 0

    def get(cid: CID) -> bytes:
        nonlocal loads
        loads += 1
        assert loads <= len(blocks), "a block was loaded twice"  # fails fast, never hangs
        return store[bytes(cid)]

    assert b"".join(read_file(root, get)) == b""
    assert loads <= len(blocks)  # each distinct block once, not 2**60 times
    car = _car(tmp_path / "bomb.car", root, blocks)
    with car.open("rb") as f:
        assert extract_car(f, tmp_path / "out") == root
    assert (tmp_path / "out").read_bytes() == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.car", "out"]  # no debris


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {
        "HOME": str(tmp_path),
        "IPFS_KIT_CONFIG": str(tmp_path / "absent.toml"),
        "IPFS_KIT_CACHE_DIR": str(tmp_path / "c"),
        "IPFS_KIT_INDEX": str(tmp_path / "i"),
        "PATH": "/usr/bin:/bin",
    }
    argv = [sys.executable, "-m", "ipfs_kit_py.cli.main", *args]
    return subprocess.run(argv, capture_output=True, timeout=120, env=env)


@pytest.mark.timeout(120)  # without the bound it never ends
def test_the_cli_extracts_the_empty_file_bomb(tmp_path: Path) -> None:
    root, blocks = _empty_file_bomb()
    car = _car(tmp_path / "bomb.car", root, blocks)
    done = _cli(tmp_path, "car", "extract", str(car), "-o", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out").read_bytes() == b""


@pytest.mark.timeout(120)  # without the bound it never ends
def test_a_gateway_serving_the_empty_file_bomb_answers(kubo: KuboNode, tmp_path: Path) -> None:
    """kubo's gateway streams the 2**60-path DAG with duplicates for ever; the walk must
    stop once every distinct block was seen (the rest is never read)."""
    root, blocks = _empty_file_bomb()
    car = _car(tmp_path / "bomb.car", root, blocks)
    kubo.cli("dag", "import", "--pin-roots", str(car))
    with GatewayBackend(kubo.gateway_url) as gateway:
        assert b"".join(gateway.get(root)) == b""


def test_a_gateway_file_whose_sizes_lie_is_refused(kubo: KuboNode, tmp_path: Path) -> None:
    leaf = sha256_cid(RAW, b"four")
    unixfs = encode_unixfs(UnixFSType.FILE, filesize=3, blocksizes=[3])
    root, data = _pb(unixfs, [PBLink(leaf, None, 4)])
    car = _car(tmp_path / "liar.car", root, [(root, data), (leaf, b"four")])
    kubo.cli("dag", "import", "--pin-roots", str(car))
    with GatewayBackend(kubo.gateway_url) as gateway, pytest.raises(ContentMismatchError):
        b"".join(gateway.get(root))


@pytest.mark.timeout(120)  # without the bound it never ends
def test_a_hamt_sharing_its_sub_shards_is_refused_at_once(tmp_path: Path) -> None:
    root, blocks = _shared_shard_bomb()
    car = _car(tmp_path / "hamt.car", root, blocks)
    with car.open("rb") as f, pytest.raises(ContentMismatchError, match="twice"):
        extract_car(f, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hamt.car"]  # nothing left


def _empty_sub_shards_bomb(subs: int = 3000, parents: int = 3000) -> tuple[CID, Blocks]:
    """A directory linking ``parents`` times one HAMT of one entry and ``subs`` distinct
    empty sub-shards: each listing of it loaded every sub-shard again."""
    leaf = sha256_cid(RAW, b"x")
    blocks: Blocks = [(leaf, b"x")]
    links = [PBLink(leaf, "000entry", 1)]
    for i in range(subs):
        unixfs = encode_unixfs(
            UnixFSType.HAMT_SHARD, data=i.to_bytes(4, "big"), hash_type=0x22, fanout=1024
        )
        cid, data = _pb(unixfs, [])
        blocks.append((cid, data))
        links.append(PBLink(cid, f"{1 + i % 1000:03X}", 0))
    unixfs = encode_unixfs(UnixFSType.HAMT_SHARD, data=b"\x01", hash_type=0x22, fanout=1024)
    shard, data = _pb(unixfs, links)
    blocks.append((shard, data))
    kids = [PBLink(shard, f"d{i}", 0) for i in range(parents)]
    root, data = _pb(encode_unixfs(UnixFSType.DIRECTORY), kids)
    return root, [(root, data), *blocks[::-1]]


@pytest.mark.timeout(120)  # without the bound it never ends
def test_a_hamt_with_empty_sub_shards_is_refused(tmp_path: Path) -> None:
    root, blocks = _empty_sub_shards_bomb()
    car = _car(tmp_path / "hamt.car", root, blocks)
    with car.open("rb") as f, pytest.raises(ContentMismatchError, match="empty"):
        extract_car(f, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hamt.car"]  # nothing left


def _heavy_empty_file_bomb(links: int = 50_000, names: int = 5_000) -> tuple[CID, Blocks]:
    """A directory naming ``names`` times one empty file whose node has ``links`` empty
    children: 0 bytes to write, but each copy decoded the 2 MB node again."""
    leaf = sha256_cid(RAW, b"")
    unixfs = encode_unixfs(UnixFSType.FILE, filesize=0, blocksizes=[0] * links)
    heavy, data = _pb(unixfs, [PBLink(leaf, None, 0)] * links)
    kids = [PBLink(heavy, f"f{i}", 0) for i in range(names)]
    root, root_data = _pb(encode_unixfs(UnixFSType.DIRECTORY), kids)
    return root, [(root, root_data), (heavy, data), (leaf, b"")]


@pytest.mark.timeout(120)  # without the bound it runs for an hour
def test_a_heavy_file_named_thousands_of_times_is_read_once(tmp_path: Path) -> None:
    root, blocks = _heavy_empty_file_bomb()
    car = _car(tmp_path / "heavy.car", root, blocks)
    done = _cli(tmp_path, "car", "extract", str(car), "-o", str(tmp_path / "out"), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["path"] == str(tmp_path / "out")  # not out/<root>
    files = list((tmp_path / "out").iterdir())
    assert len(files) == 5_000 and all(f.stat().st_size == 0 for f in files)


def test_shared_files_and_directories_are_written_in_full_each_time(tmp_path: Path) -> None:
    """Reusing a listing or a written file changes nothing in what is written."""
    leaf = sha256_cid(RAW, b"shared bytes")
    inner, inner_data = _pb(
        encode_unixfs(UnixFSType.DIRECTORY), [PBLink(leaf, "a", 12), PBLink(leaf, "b", 12)]
    )
    kids = [PBLink(inner, "x", 0), PBLink(inner, "y", 0), PBLink(leaf, "z", 12)]
    root, root_data = _pb(encode_unixfs(UnixFSType.DIRECTORY), kids)
    car = _car(
        tmp_path / "shared.car",
        root,
        [(root, root_data), (inner, inner_data), (leaf, b"shared bytes")],
    )
    with car.open("rb") as f:
        extract_car(f, tmp_path / "out")
    written = sorted(
        (str(p.relative_to(tmp_path / "out")), p.read_bytes())
        for p in (tmp_path / "out").rglob("*")
        if p.is_file()
    )
    assert written == [(n, b"shared bytes") for n in ("x/a", "x/b", "y/a", "y/b", "z")]
    with car.open("rb") as f, pytest.raises(ResourceLimitError):
        extract_car(f, tmp_path / "small", limits=ExtractLimits(max_bytes=59))
    assert not (tmp_path / "small").exists()


@pytest.mark.parametrize(
    "block", [b"\xff\xff\xff", b"\x81" * 100_000 + b"\x00"], ids=["garbage", "deep"]
)
def test_car_verify_of_a_block_that_is_not_dag_cbor_is_typed(block: bytes) -> None:
    cid = make_cid(DAG_CBOR, hashlib.sha256(block).digest(), 1)
    buffer = io.BytesIO()
    writer = CarWriter(buffer, [cid])
    writer.write_block(cid, block)
    buffer.seek(0)
    with pytest.raises(ContentMismatchError, match="not valid dag-cbor") as info:
        verify_car(buffer)
    assert "\n" not in str(info.value)


def test_adding_a_text_stream_is_a_typed_error(tmp_path: Path) -> None:
    with ipfs_kit(cache_dir=tmp_path / "c", index_path=tmp_path / "i") as kit:
        with pytest.raises(InvalidInputError, match="binary"):
            kit.add(io.StringIO("hello"))
        with (tmp_path / "t").open("w+") as text, pytest.raises(InvalidInputError):
            kit.add(text)

        class StrReader:
            def read(self, size: int = -1) -> str:
                return "not bytes"

        with pytest.raises(InvalidInputError, match="str"):
            kit.add(StrReader())
        answer = kit.ipfs_add(io.StringIO("hello"))
        assert answer["success"] is False and answer["error_type"] == "InvalidInputError"


def test_the_cli_refuses_an_empty_tier_list(tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"stored nowhere\n")
    done = _cli(tmp_path, "add", "--to", ",", str(source))
    assert done.returncode == 2, done.stderr
    assert b"at least one tier" in done.stderr
    assert b"Traceback" not in done.stderr


def test_car_extract_into_a_directory_writes_the_root_inside_it(tmp_path: Path) -> None:
    source = tmp_path / "hello"
    source.write_bytes(b"hello\n")
    car = tmp_path / "hello.car"
    assert _cli(tmp_path, "car", "pack", str(source), "-o", str(car)).returncode == 0
    (tmp_path / "into").mkdir()
    for target in (tmp_path / "into", f"{tmp_path / 'slash'}/"):
        if isinstance(target, str):
            Path(target).mkdir()
        done = _cli(tmp_path, "car", "extract", str(car), "-o", str(target), "--json")
        assert done.returncode == 0, done.stderr
        written = Path(json.loads(done.stdout)["path"])
        assert written.parent == Path(target) and written.read_bytes() == b"hello\n"
    again = _cli(tmp_path, "car", "extract", str(car), "-o", str(tmp_path / "into"))
    assert again.returncode == 2 and b"already exists" in again.stderr
    missing = _cli(tmp_path, "car", "extract", str(car), "-o", f"{tmp_path / 'missing'}/")
    assert missing.returncode == 2 and b"does not exist" in missing.stderr
    assert not (tmp_path / "missing").exists()


def test_a_range_read_skips_children_declared_empty() -> None:
    """``serve``'s range walk visited every empty child between two bytes: 2**40 loads."""
    from ipfs_kit_py.gateway.dagwalk import file_range_blocks

    bomb, blocks = _empty_file_bomb(levels=40)
    store = {bytes(cid): data for cid, data in blocks}
    x = sha256_cid(RAW, b"x")
    store[bytes(x)] = b"x"
    unixfs = encode_unixfs(UnixFSType.FILE, filesize=2, blocksizes=[1, 0, 1])
    root, data = _pb(unixfs, [PBLink(x, None, 1), PBLink(bomb, None, 0), PBLink(x, None, 1)])
    loads = 0

    def get(cid: CID) -> bytes:
        nonlocal loads
        loads += 1
        assert loads <= len(store), "the walk loads blocks it does not need"
        return store[bytes(cid)]

    pieces = [piece for _, _, piece in file_range_blocks(root, data, 0, 2, get)]
    assert b"".join(pieces) == b"xx"
