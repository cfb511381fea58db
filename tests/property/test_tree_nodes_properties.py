"""read_tree_nodes: a tree's node CAR lists exactly the tree; a damaged one is refused.

Hypothesis draws trees (nested directories, empty ones, files, symlinks with any
target) and sharding policies small enough to make HAMT shards; the nodes that
``import_directory`` emits, as a CAR, must list every file (by its CID), directory and
symlink of the tree. Any byte of that CAR changed, or the CAR cut short, gives a typed
error (ContentMismatchError, ContentNotFoundError, ResourceLimitError), never a listing
that differs from the tree and never another exception.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipfs_kit_py.content.car import encode_car_block, encode_car_header
from ipfs_kit_py.content.cid import CID
from ipfs_kit_py.content.directory import import_directory
from ipfs_kit_py.content.hamt import KUBO_SHARDING, ShardingPolicy
from ipfs_kit_py.content.tree_nodes import TreeListing, read_tree_nodes
from ipfs_kit_py.content.unixfs import Block
from ipfs_kit_py.errors import ContentMismatchError, ContentNotFoundError, ResourceLimitError
from tests.trees import Tree, write_tree

names = st.text(
    st.characters(blacklist_characters="/\\\0", blacklist_categories=("Cs", "Cc")),
    min_size=1,
    max_size=12,
).filter(lambda n: n not in (".", "..") and not n.startswith("."))
targets = st.text(
    st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)), min_size=1, max_size=30
)
leaves = st.one_of(st.binary(max_size=300), st.tuples(st.just("link"), targets))
trees: st.SearchStrategy[Tree] = st.recursive(
    leaves, lambda kids: st.dictionaries(names, kids, max_size=6), max_leaves=20
).filter(lambda t: isinstance(t, dict))
shardings = st.sampled_from([KUBO_SHARDING, ShardingPolicy(threshold=60, fanout=8)])


def expected(tree: Tree, prefix: str = "") -> tuple[set[str], list[str], dict[str, str]]:
    files: set[str] = set()
    dirs: list[str] = []
    links: dict[str, str] = {}
    for name, value in tree.items():
        inner = f"{prefix}{name}"
        if isinstance(value, dict):
            dirs.append(inner)
            sub_files, sub_dirs, sub_links = expected(value, f"{inner}/")
            files |= sub_files
            dirs += sub_dirs
            links.update(sub_links)
        elif isinstance(value, tuple):
            links[inner] = value[1]
        else:
            files.add(inner)
    return files, dirs, links


def node_car(tree: Tree, sharding: ShardingPolicy) -> tuple[CID, bytes, dict[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "t"
        write_tree(root, tree)
        nodes: list[Block] = []
        entries: dict[str, str] = {}

        def note(rel: str, cid: CID, size: int) -> None:
            entries[rel.split("/", 1)[1] if "/" in rel else ""] = str(cid)

        result = import_directory(root, sharding=sharding, on_node=nodes.append, on_entry=note)
    car = encode_car_header([result.cid]) + b"".join(encode_car_block(b.cid, b.data) for b in nodes)
    return result.cid, car, entries


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees, shardings)
def test_the_nodes_list_the_tree(tree: Tree, sharding: ShardingPolicy) -> None:
    root, car, entries = node_car(tree, sharding)
    listing = read_tree_nodes(root, [car[:7], car[7:]])
    files, dirs, links = expected(tree)
    assert set(listing.files) == files
    assert all(listing.files[f] == entries[f] for f in files)
    assert sorted(listing.dirs) == sorted(dirs)
    assert listing.links == links


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees, shardings, st.data())
def test_a_damaged_car_is_refused_with_a_typed_error(
    tree: Tree, sharding: ShardingPolicy, data: st.DataObject
) -> None:
    root, car, _ = node_car(tree, sharding)
    at = data.draw(st.integers(0, len(car) - 1))
    if data.draw(st.booleans()):
        damaged = car[:at]
    else:
        damaged = car[:at] + bytes([car[at] ^ data.draw(st.integers(1, 255))]) + car[at + 1 :]
    try:
        listing = read_tree_nodes(root, [damaged], max_entries=10_000)
    except (ContentMismatchError, ContentNotFoundError, ResourceLimitError):
        return
    # a change that left every block intact (e.g. an ignored header byte) lists the tree
    assert isinstance(listing, TreeListing)
    assert listing == read_tree_nodes(root, [car])
