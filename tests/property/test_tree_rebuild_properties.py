"""rebuild_tree_nodes: a tree's listing (files by CID, directories, symlinks) and its
files' DAG sizes give back exactly the nodes and the root ``import_directory`` made.

Hypothesis draws trees (nested and empty directories, files, symlinks with any target),
import profiles and sharding policies small enough to make HAMT shards. A listing that
cannot be a tree (a bad path, a name used twice) is a ContentMismatchError.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipfs_kit_py.content.cid import cid_key, parse_cid
from ipfs_kit_py.content.directory import import_directory
from ipfs_kit_py.content.hamt import KUBO_SHARDING, ShardingPolicy
from ipfs_kit_py.content.tree_nodes import read_tree_nodes
from ipfs_kit_py.content.tree_rebuild import rebuild_tree_nodes
from ipfs_kit_py.content.unixfs import KUBO_CID_V1, KUBO_DEFAULT, Block, ImportProfile, import_file
from ipfs_kit_py.errors import ContentMismatchError
from tests.property.test_tree_nodes_properties import trees
from tests.trees import Tree, write_tree

SMALL_CHUNKS = ImportProfile(chunk_size=64, raw_leaves=True, cid_version=1, max_links=3)
profiles = st.sampled_from([KUBO_DEFAULT, KUBO_CID_V1, SMALL_CHUNKS])
shardings = st.sampled_from([KUBO_SHARDING, ShardingPolicy(threshold=60, fanout=8)])


def _car(nodes: list[Block]) -> list[bytes]:
    from ipfs_kit_py.content.car import encode_car_block, encode_car_header

    return [encode_car_header([nodes[-1].cid]), *(encode_car_block(b.cid, b.data) for b in nodes)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees, profile=profiles, sharding=shardings)
def test_the_rebuilt_nodes_are_the_imported_ones(
    tree: Tree, profile: ImportProfile, sharding: ShardingPolicy
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root_dir = Path(tmp) / "t"
        write_tree(root_dir, tree)
        made: list[Block] = []
        imported = import_directory(
            root_dir, profile, hidden=True, sharding=sharding, on_node=made.append
        )
        listing = read_tree_nodes(imported.cid, _car(made))
        tsizes = {
            cid_key(parse_cid(c)): import_file(root_dir / p, profile).dag_size
            for p, c in listing.files.items()
        }
    rebuilt: list[Block] = []
    root = rebuild_tree_nodes(
        {p: parse_cid(c) for p, c in listing.files.items()},
        listing.dirs,
        listing.links,
        cid_version=profile.cid_version,
        sharding=sharding,
        tsize_of=lambda cid: tsizes[cid_key(cid)],
        emit=rebuilt.append,
    )
    assert root == imported.cid
    assert {bytes(b.cid): b.data for b in rebuilt} == {bytes(b.cid): b.data for b in made}


@pytest.mark.parametrize(
    ("files", "dirs"),
    [
        ({"a/../b": "x"}, []),
        ({"": "x"}, []),
        ({"a/./b": "x"}, []),
        ({"a": "x"}, ["a"]),
        ({"a/b": "x", "a": "x"}, []),
    ],
)
def test_a_listing_that_is_no_tree_is_refused(files: dict[str, str], dirs: list[str]) -> None:
    cid = parse_cid("bafkqaaa")
    with pytest.raises(ContentMismatchError):
        rebuild_tree_nodes(
            dict.fromkeys(files, cid),
            dirs,
            {},
            cid_version=1,
            sharding=KUBO_SHARDING,
            tsize_of=lambda c: 0,
            emit=lambda b: None,
        )
