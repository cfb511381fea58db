"""client_builds_same_root: when it says yes, @storacha/client's directory encoding and
``ipfs add -r`` with the Storacha profile give one root (so a directory added to
Storacha can be uploaded in the client's block order and get the client's shards).

Hypothesis draws trees (nested and empty directories, symlinks, dot-files, one top
directory); a wide directory (over the client's 1000-entry HAMT threshold) is an
explicit case: the two encodings differ there, and the predicate says no.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipfs_kit_py.content.cid import CID, cid_key
from ipfs_kit_py.content.dagpb import UnixFSType, decode_node, decode_unixfs
from ipfs_kit_py.content.directory import import_directory
from ipfs_kit_py.content.storacha_directory import import_directory_storacha
from ipfs_kit_py.content.unixfs import STORACHA, Block
from ipfs_kit_py.directory_store import client_builds_same_root
from tests.trees import Tree, write_tree

names = st.text(st.sampled_from("abcAB.-_é0"), min_size=1, max_size=6).filter(
    lambda n: n not in (".", "..")
)
leaves = st.one_of(st.binary(max_size=200), st.tuples(st.just("link"), st.just("target")))
trees: st.SearchStrategy[Tree] = st.recursive(
    leaves, lambda kids: st.dictionaries(names, kids, max_size=4), max_leaves=12
).filter(lambda t: isinstance(t, dict))


def judge(root: Path, hidden: bool) -> tuple[bool, CID]:
    """The predicate on what a kit's add sees, and the root of ``ipfs add -r``."""
    files: list[str] = []
    dirs: list[str] = []
    links = False
    sharded = False

    def entry(rel: str, cid: CID, size: int) -> None:
        nonlocal links
        inner = rel.split("/", 1)[1] if "/" in rel else ""
        path = root / inner
        if not inner:
            return
        if path.is_symlink():
            links = True
        elif path.is_dir():
            dirs.append(inner)
        else:
            files.append(inner)

    def node(block: Block) -> None:
        nonlocal sharded
        data = decode_node(block.data).data
        sharded |= data is not None and decode_unixfs(data).type == UnixFSType.HAMT_SHARD

    cid = import_directory(root, STORACHA, hidden=hidden, on_entry=entry, on_node=node).cid
    return client_builds_same_root(files, dirs, links, sharded), cid


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees, st.booleans())
def test_a_yes_means_the_same_root(tree: Tree, hidden: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "t"
        write_tree(root, tree)
        same, ours = judge(root, hidden)
        if same:
            theirs = import_directory_storacha(root, STORACHA, hidden=hidden).cid
            assert cid_key(theirs) == cid_key(ours)


def test_a_directory_the_client_shards_is_a_no(tmp_path: Path) -> None:
    root = tmp_path / "wide"
    root.mkdir()
    for i in range(1001):
        (root / f"{i}").write_bytes(b"")
    (root / "x").mkdir()
    (root / "x" / "y").write_bytes(b"y")
    same, ours = judge(root, hidden=False)
    assert not same
    assert cid_key(import_directory_storacha(root, STORACHA).cid) != cid_key(ours)
