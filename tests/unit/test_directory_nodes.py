"""``on_node``: exactly the blocks of a tree that are not a file's (directories, shards, links)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.content.cid import cid_key
from ipfs_kit_py.content.dagpb import UnixFSType, decode_node, decode_unixfs
from ipfs_kit_py.content.directory import import_directory
from ipfs_kit_py.content.hamt import ShardingPolicy
from ipfs_kit_py.content.unixfs import KUBO_CID_V1, KUBO_DEFAULT, Block, ImportProfile, import_file

NAMES = st.text(alphabet="abcxyz019-_", min_size=1, max_size=8)
ENTRY = st.one_of(
    st.binary(max_size=700).map(lambda b: ("file", b)),
    NAMES.map(lambda t: ("link", t)),
    st.just(("dir", b"")),
)
SMALL = ImportProfile(chunk_size=256, raw_leaves=False, cid_version=0, max_links=4)


def build(root: Path, entries: dict[str, tuple[str, object]]) -> list[Path]:
    root.mkdir()
    files = []
    for i, (name, (kind, value)) in enumerate(sorted(entries.items())):
        parent = root / f"d{i % 3}" if i % 2 else root
        parent.mkdir(exist_ok=True)
        path = parent / name
        if kind == "file":
            path.write_bytes(value)  # type: ignore[arg-type]
            files.append(path)
        elif kind == "link":
            os.symlink(str(value), path)
        else:
            path.mkdir(exist_ok=True)
    return files


@settings(max_examples=40, deadline=None)
@given(
    entries=st.dictionaries(NAMES, ENTRY, max_size=12),
    profile=st.sampled_from([KUBO_DEFAULT, KUBO_CID_V1, SMALL]),
    sharding=st.sampled_from([ShardingPolicy(), ShardingPolicy(max_links=2, fanout=16)]),
)
def test_nodes_plus_file_dags_are_every_block(
    entries: dict[str, tuple[str, object]], profile: ImportProfile, sharding: ShardingPolicy
) -> None:
    workdir = Path(tempfile.mkdtemp())
    try:
        files = build(workdir / "tree", entries)
        every: list[Block] = []
        nodes: list[Block] = []
        result = import_directory(
            workdir / "tree",
            profile,
            sharding=sharding,
            on_block=every.append,
            on_node=nodes.append,
        )
        file_blocks: list[Block] = []
        for path in files:
            import_file(path, profile, on_block=file_blocks.append)
        keys = {cid_key(b.cid) for b in every}
        node_keys = {cid_key(b.cid) for b in nodes}
        file_keys = {cid_key(b.cid) for b in file_blocks}
        assert node_keys | file_keys == keys
        assert cid_key(result.cid) in node_keys
        for block in nodes:
            kind = decode_unixfs(decode_node(block.data).data or b"").type
            assert kind in (UnixFSType.DIRECTORY, UnixFSType.HAMT_SHARD, UnixFSType.SYMLINK)
    finally:
        shutil.rmtree(workdir)
