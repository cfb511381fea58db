"""Directories as @storacha/client's ``uploadDirectory`` encodes them, against the client.

The peer (``js/storacha_dir.mjs``) lists a tree as ``storacha up DIR`` does and runs the
client's own encoder, de-duplication and CAR sharding; we run
:func:`import_directory_storacha` and :class:`ShardWriter`. Root CID, block order and
CAR shard CIDs must agree. A missing peer fails the test, it never skips.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ipfs_kit_py.backends.storacha.sharding import SHARD_SIZE, ShardWriter
from ipfs_kit_py.content.dagpb import UnixFSType, decode_node, decode_unixfs
from ipfs_kit_py.content.storacha_directory import (
    SHARD_THRESHOLD,
    import_directory_storacha,
    list_files,
)
from ipfs_kit_py.content.unixfs import STORACHA, Block
from tests.conformance import peers

Tree = dict[str, bytes | None]  # relative path -> content; None makes an empty directory


def make_tree(root: Path, tree: Tree) -> Path:
    for rel, data in tree.items():
        path = root / rel
        if data is None:
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    root.mkdir(parents=True, exist_ok=True)
    return root


def flat(_: Path) -> Tree:
    rng = random.Random(1)
    return {
        "a.txt": b"alpha",
        "b.bin": rng.randbytes(3000),
        "empty": b"",
        "same-as-a": b"alpha",  # a duplicate block, dropped from the CAR
        "multi-chunk.bin": rng.randbytes(1024 * 1024 + 777),  # a dag-pb file node
    }


def nested(_: Path) -> Tree:
    # "a-b" < "a.txt" < "a/..." < "a0" in upload order; "a", "a-b", "a.txt", "a0" in a node
    return {
        "a/b/x.txt": b"x",
        "a/c.txt": b"c",
        "a-b/y": b"y",
        "a.txt": b"a",
        "a0": b"zero",
        "deep/1/2/3/4/5/z": b"deep",
        "empty-dir": None,
        "only-empty/sub/subsub": None,
        "Zebra/q": b"q",
    }


def unicode(_: Path) -> Tree:
    names = ["héllo wörld", "日本語", "файл", "emoji-🎉", "Ωmega", "a b", "ñ", "Zebra", "apple"]
    tree: Tree = {name: name.encode() for name in names}
    # UTF-16 puts "🎉" (a surrogate pair) before "ｚ" (U+FF5A); UTF-8 the other way round
    tree["🎉/inside"] = b"party"
    tree["ｚ/inside"] = b"wide"
    tree["\u00e9/nfc"] = b"nfc"
    tree["e\u0301/nfd"] = b"nfd"
    return tree


def hidden(_: Path) -> Tree:
    return {".hidden": b"h", ".dir/x": b"x", "v/.inner": b"i", "v/w": b"w", "visible": b"v"}


def collapsed(_: Path) -> Tree:
    # every file is under wrap/inner: `storacha up` names them from there
    return {"wrap/inner/a": b"a", "wrap/inner/sub/b": b"b", "wrap/empty": None}


def symlinks(root: Path) -> Tree:
    tree: Tree = {"target.txt": b"t", "dir/f": b"f"}
    make_tree(root, tree)
    os.symlink("target.txt", root / "link-to-file")
    os.symlink("dir", root / "link-to-dir")
    os.symlink("missing", root / "dangling")
    return tree


def hamt(_: Path) -> Tree:
    # 1001 entries at the top: a HAMT; "big" below holds 1500; "edge" exactly 1000 (flat)
    tree: Tree = {f"f{i:04d}": str(i).encode() for i in range(SHARD_THRESHOLD)}
    tree["sub/x"] = b"x"
    tree.update({f"big/{i}": f"b{i}".encode() for i in range(1500)})
    tree.update({f"edge/{i}": f"e{i}".encode() for i in range(SHARD_THRESHOLD)})
    return tree


def many_shards(_: Path) -> Tree:
    rng = random.Random(7)
    return {f"d{i % 3}/f{i}": rng.randbytes(900 + i) for i in range(40)}


CASES: list[tuple[str, Callable[[Path], Tree], dict[str, Any]]] = [
    ("flat", flat, {}),
    ("nested", nested, {}),
    ("unicode", unicode, {}),
    ("hidden", hidden, {}),
    ("hidden-kept", hidden, {"hidden": True}),
    ("collapsed", collapsed, {}),
    ("symlinks", symlinks, {}),
    ("empty", lambda _: {"a/b": None}, {}),
    ("hamt", hamt, {}),
    ("many-shards", many_shards, {"shardSize": 4096}),
]


def ours(root: Path, options: dict[str, Any], shard_dir: Path) -> dict[str, Any]:
    keep_hidden = bool(options.get("hidden", False))
    files = list_files(root, hidden=keep_hidden)
    shard_size = int(options.get("shardSize", SHARD_SIZE))
    # uploadDirectory() writes a tree smaller than the shard size as one CAR of any size
    if sum(os.path.getsize(p) for _, p in files) < shard_size:
        shard_size = sys.maxsize
    shard_dir.mkdir()
    writer = ShardWriter(shard_dir, shard_size=shard_size)
    blocks: list[Block] = []
    order: list[str] = []

    def sink(block: Block) -> None:
        blocks.append(block)
        if str(block.cid) not in order:
            order.append(str(block.cid))
        writer.add(block)

    root_cid = import_directory_storacha(root, STORACHA, hidden=keep_hidden, on_block=sink).cid
    shards = [str(s.cid) for s in writer.finish(root_cid)]
    return {
        "root": str(root_cid),
        "files": [name for name, _ in files],
        "shards": shards,
        "blocks": order,
        "root_block": next(b.data for b in blocks if b.cid == root_cid),
    }


@pytest.fixture(scope="module")
def encoded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, dict]]:
    base = tmp_path_factory.mktemp("storacha-dirs")
    jobs, mine = [], []
    for name, build, options in CASES:
        root = base / name
        make_tree(root, build(root))
        jobs.append({"dir": str(root), **options})
        mine.append(ours(root, options, base / f"shards-{name}"))
    try:
        theirs = peers.storacha_encode_directory(jobs)
    except peers.PeerMissingError as exc:
        pytest.fail(f"conformance peer missing: {exc}")
    return {name: (m, t) for (name, _, _), m, t in zip(CASES, mine, theirs, strict=True)}


@pytest.mark.parametrize("case", [name for name, _, _ in CASES])
def test_directory_matches_the_client(encoded: dict[str, tuple[dict, dict]], case: str) -> None:
    mine, theirs = encoded[case]
    assert mine["files"] == theirs["files"], "the list of files differs"
    assert mine["root"] == theirs["root"]
    assert mine["blocks"] == theirs["blocks"], "block order differs"
    assert mine["shards"] == [s["cid"] for s in theirs["shards"]]


def test_cases_cover_what_they_claim(encoded: dict[str, tuple[dict, dict]]) -> None:
    assert len(encoded["many-shards"][1]["shards"]) > 3
    top = decode_unixfs(decode_node(encoded["hamt"][0]["root_block"]).data or b"")
    assert top.type == UnixFSType.HAMT_SHARD
    assert ".hidden" in encoded["hidden-kept"][1]["files"]
    assert ".hidden" not in encoded["hidden"][1]["files"]
    assert encoded["collapsed"][1]["files"] == ["a", "sub/b"]
    assert encoded["symlinks"][1]["files"] == ["dir/f", "target.txt"]
    assert encoded["empty"][1]["files"] == []
