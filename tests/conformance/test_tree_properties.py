"""Directory trees of arbitrary names and shapes import to the CIDs of the peers.

Hypothesis draws batches of trees (names in any script, dot-files, empty files and
directories, files across chunk boundaries) and one import profile per batch; each
batch is imported by us, by the JS importer (one node process per batch) and by kubo's
``ipfs add -r -n`` (one process per batch), and every root must agree.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipfs_kit_py.content.directory import import_directory
from ipfs_kit_py.content.unixfs import ImportProfile
from tests.conformance.peers import Kubo, js_import, kubo_flags
from tests.trees import Tree, write_tree

NAME_CHARS = st.characters(blacklist_characters="/\\", blacklist_categories=("Cs", "Cc"))
names = st.text(NAME_CHARS, min_size=1, max_size=16).filter(
    lambda n: n not in (".", "..") and len(n.encode()) <= 200
)
files = st.one_of(
    st.binary(max_size=40), st.integers(0, 5000).map(lambda n: bytes(n % 251 for n in range(n)))
)
trees: st.SearchStrategy[Tree] = st.recursive(
    files, lambda kids: st.dictionaries(names, kids, max_size=5), max_leaves=16
).filter(lambda t: isinstance(t, dict))
profiles = st.builds(
    ImportProfile,
    chunk_size=st.sampled_from([256, 1000, 262144]),
    raw_leaves=st.booleans(),
    cid_version=st.sampled_from([0, 1]),
)


@pytest.fixture(scope="module")
def kubo_cli(tmp_path_factory: pytest.TempPathFactory) -> Kubo:
    return Kubo(tmp_path_factory.mktemp("kubo-repo"))


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(trees, min_size=1, max_size=12), profiles)
def test_trees_import_to_the_peers_cids(
    kubo_cli: Kubo, batch: list[Tree], profile: ImportProfile
) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ipfs-kit-trees-"))
    try:
        paths = [tmp / f"t{i}" for i in range(len(batch))]
        for path, tree in zip(paths, batch, strict=True):
            write_tree(path, tree)
        ours = [str(import_directory(p, profile, hidden=True).cid) for p in paths]
        js_profile = {
            "chunkSize": profile.chunk_size,
            "rawLeaves": profile.raw_leaves,
            "cidVersion": profile.cid_version,
            "maxChildrenPerNode": profile.max_links,
        }
        jobs = [{"path": str(p), "profile": js_profile, "hidden": True} for p in paths]
        assert [r["cid"] for r in js_import(jobs)] == ours, f"{profile} {batch!r:.2000}"
        flags = kubo_flags(profile.chunk_size, profile.raw_leaves, profile.cid_version)
        lines = kubo_cli.add("-r", "--hidden", *flags, *map(str, paths))
        added = dict(
            reversed(line.split(" ", 2)[1:]) for line in lines if line.startswith("added ")
        )
        assert [added[p.name] for p in paths] == ours, f"{profile} {batch!r:.2000}"
    finally:
        shutil.rmtree(tmp)
