"""Fuzz targets: the readers of untrusted bytes, each answering only with typed errors.

A target takes one input and returns normally or raises an :class:`IpfsKitError`
subclass; anything else (a bare ``ValueError``, ``MemoryError``, ``RecursionError``, a
failed invariant) is a crash. The same functions are driven by atheris
(``tests/fuzz/run.py``, ``bench/fuzz.py``) and replayed from the committed corpus by
``tests/fuzz/test_fuzz.py``.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from ipfs_kit_py.content.archive import verify_car
from ipfs_kit_py.content.car import CarReader, write_car
from ipfs_kit_py.content.cid import CID, DAG_PB, RAW, cid_key, parse_cid, read_cid, sha256_cid
from ipfs_kit_py.content.dag import iter_directory, load_node, read_verified_file, verified_getter
from ipfs_kit_py.content.dagpb import decode_node, decode_unixfs, encode_varint
from ipfs_kit_py.content.directory import import_directory
from ipfs_kit_py.content.extract import ExtractLimits, _extract, extract_car
from ipfs_kit_py.content.hamt import ShardingPolicy
from ipfs_kit_py.content.inline import inline_bytes
from ipfs_kit_py.content.unixfs import Block, ImportProfile, import_file
from ipfs_kit_py.errors import InvalidCIDError, IpfsKitError

CORPUS = Path(__file__).parent / "corpus"
_LIMITS = ExtractLimits(max_bytes=4 << 20, max_entries=2000, max_depth=64)
_MAX_READ = 8 << 20  # a fuzzed file DAG may declare far more; stop reading here


def fuzz_car(data: bytes) -> None:
    """Read ``data`` as a CAR (v1 or v2), then verify it as a whole."""
    with contextlib.suppress(IpfsKitError):
        for _ in CarReader(io.BytesIO(data)):
            pass
    with contextlib.suppress(IpfsKitError):
        verify_car(io.BytesIO(data))


def fuzz_cid(data: bytes) -> None:
    """Parse ``data`` as binary and as text CIDs; what parses must agree with
    multiformats' own decoder and round-trip through its text and key forms; the read
    path's ``read_cid`` must accept and refuse the same, as the same CID and text."""
    text = data.decode("utf-8", errors="replace")
    for value in (data, text):
        try:
            light = read_cid(value)
        except InvalidCIDError:
            light = None
        try:
            cid = parse_cid(value)
        except InvalidCIDError:
            if light is not None:
                raise AssertionError(f"read_cid accepts {value!r}, parse_cid refuses it") from None
            continue
        if light is None or light != cid or str(light) != str(cid):
            raise AssertionError(f"read_cid reads {value!r} as {light!r}, parse_cid as {cid!r}")
        if CID.decode(value.strip() if isinstance(value, str) else value) != cid:
            raise AssertionError(f"{value!r} parses unlike multiformats: {cid}")
        key = cid_key(cid)
        if parse_cid(str(cid)) != cid or cid_key(parse_cid(key)) != key:
            raise AssertionError(f"{cid} does not round-trip")


def fuzz_dagpb(data: bytes) -> None:
    """Decode ``data`` as dag-pb and UnixFS, and read it as a file or directory block."""
    with contextlib.suppress(IpfsKitError):
        node = decode_node(data)
        if node.data is not None:
            decode_unixfs(node.data)
    with contextlib.suppress(IpfsKitError):
        decode_unixfs(data)
    with contextlib.suppress(IpfsKitError):  # the same bytes inline, in an identity CID
        inline_bytes(parse_cid(b"\x01\x70\x00" + encode_varint(len(data)) + data))
    for codec in (DAG_PB, RAW):
        cid = sha256_cid(codec, data)
        get = verified_getter(_single(cid, data))
        with contextlib.suppress(IpfsKitError):
            node_ = load_node(cid, get)
            if node_.kind == "directory":
                for _ in iter_directory(node_, get):
                    pass
            else:
                _drain(read_verified_file(cid, get))


def _single(cid: CID, data: bytes) -> Callable[[CID], bytes]:
    def get(wanted: CID) -> bytes:
        if wanted != cid:
            raise KeyError(wanted)
        return data

    return get


def _drain(chunks: Iterator[bytes]) -> None:
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > _MAX_READ:
            return


def fuzz_extract(data: bytes) -> None:
    """Extract ``data`` as a CAR into a fresh directory: all or nothing, no debris."""
    parent = tempfile.mkdtemp(prefix="ipfs-kit-fuzz-")
    try:
        target = os.path.join(parent, "out")
        try:
            extract_car(io.BytesIO(data), target, limits=_LIMITS)
        except IpfsKitError:
            if os.listdir(parent):
                raise AssertionError(f"a failed extraction left {os.listdir(parent)}") from None
            return
        if os.listdir(parent) != ["out"]:
            raise AssertionError(f"extraction left debris: {os.listdir(parent)}")
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def fuzz_tree(data: bytes) -> None:
    """Extract ``data`` as a CAR whose blocks are taken as their CIDs claim, unverified.

    Mutated blocks no longer match their hashes, so with verification on a fuzzer
    rarely gets past the reader; trusting the claimed CIDs lets it reach the planner,
    the HAMT and symlink checks and the writer with arbitrary node bytes.
    """
    try:
        reader = CarReader(io.BytesIO(data), verify=False)
        blocks = {bytes(block.cid): block.data for block in reader}
    except IpfsKitError:
        return
    if not reader.roots:
        return
    parent = tempfile.mkdtemp(prefix="ipfs-kit-fuzz-")
    try:
        get = verified_getter(lambda cid: blocks[bytes(cid)], verify=False)
        with contextlib.suppress(IpfsKitError):
            _extract(reader.roots[0], get, os.path.join(parent, "out"), _LIMITS)
        left = os.listdir(parent)
        if left not in ([], ["out"]):
            raise AssertionError(f"extraction left debris: {left}")
    finally:
        shutil.rmtree(parent, ignore_errors=True)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "car": fuzz_car,
    "cid": fuzz_cid,
    "dagpb": fuzz_dagpb,
    "extract": fuzz_extract,
    "tree": fuzz_tree,
}


def self_test(data: bytes) -> None:
    """A target that crashes on a marker: proves the harness reports crashes."""
    if b"CRASH" in data:
        raise ValueError("the self-test marker")


def seed_inputs() -> dict[str, list[bytes]]:
    """Small valid inputs for each target, for an empty corpus to start from."""
    blocks: list[Block] = []
    file_root = import_file([b"hello fuzz " * 40], ImportProfile(chunk_size=100), blocks.append)
    car_v1 = _car([file_root.cid], blocks)
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        (tree / "sub").mkdir(parents=True)
        (tree / "a.txt").write_bytes(b"alpha")
        (tree / "sub" / "b").write_bytes(b"beta" * 30)
        (tree / "link").symlink_to("a.txt")
        tree_blocks: list[Block] = []
        tree_root = import_directory(tree, on_block=tree_blocks.append).cid
        (tree / "sub" / "c").write_bytes(b"")
        sharded: list[Block] = []
        sharded_root = import_directory(
            tree, sharding=ShardingPolicy(threshold=1), on_block=sharded.append
        ).cid
    tree_car = _car([tree_root], tree_blocks)
    sharded_car = _car([sharded_root], sharded)
    car_v2 = bytes.fromhex("0aa16776657273696f6e02") + bytes(16)
    car_v2 += (51).to_bytes(8, "little") + len(car_v1).to_bytes(8, "little") + bytes(8) + car_v1
    nodes = [b.data for b in blocks + tree_blocks if b.cid.codec.code == DAG_PB]
    cids = [b.cid for b in blocks[:2]] + [file_root.cid]
    return {
        "car": [car_v1, car_v2, tree_car],
        "cid": [bytes(c) for c in cids] + [str(c).encode() for c in cids] + [b"bafkqablimvwgy3y"],
        "dagpb": nodes,
        "extract": [tree_car, car_v1],
        "tree": [tree_car, car_v1, sharded_car],
    }


def _car(roots: list[CID], blocks: list[Block]) -> bytes:
    out = io.BytesIO()
    write_car(out, roots, blocks)
    return out.getvalue()


def corpus_inputs(target: str) -> list[tuple[str, bytes]]:
    """The committed corpus of ``target``: (file name, bytes), sorted by name."""
    folder = CORPUS / target
    return [(p.name, p.read_bytes()) for p in sorted(folder.iterdir()) if p.is_file()]
