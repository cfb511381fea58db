"""Named import profiles: lookup, their file profiles, and their sharding carried through
the facade's directory store and CAR packing (kubo conformance: test_kubo_profiles.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.cli.main import main as cli_main
from ipfs_kit_py.content.archive import pack_car
from ipfs_kit_py.content.directory import import_directory
from ipfs_kit_py.content.hamt import KUBO_SHARDING, ShardingPolicy
from ipfs_kit_py.content.profiles import PROFILES, named_profile
from ipfs_kit_py.content.unixfs import ImportProfile
from ipfs_kit_py.errors import InvalidInputError
from ipfs_kit_py.ipfs_kit import ipfs_kit

SMALL_SHARDS = ShardingPolicy(threshold=100, fanout=16)


@given(st.text(max_size=30))
@settings(max_examples=200, deadline=None)
def test_lookup_answers_a_profile_or_lists_the_names(name: str) -> None:
    if name in PROFILES:
        assert named_profile(name).name == name
        return
    with pytest.raises(InvalidInputError) as caught:
        named_profile(name)
    assert "unixfs-v1-2025" in str(caught.value)


@pytest.mark.parametrize("name", list(PROFILES))
def test_file_profile_survives_the_index_key(name: str) -> None:
    profile = named_profile(name).file
    assert ImportProfile.parse(profile.key()) == profile


def test_unknown_profile_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(SystemExit) as caught:
        cli_main(["add", "-n", "--profile", "test-cid-v2", str(tmp_path / "f")])
    assert caught.value.code == 2


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "sub").mkdir(parents=True)
    for i in range(12):
        (root / f"entry-{i:02d}").write_bytes(b"%d\n" % i)
    (root / "sub" / "inner").write_bytes(b"inner\n")
    return root


def test_a_stored_directory_keeps_its_sharding_and_rebuilds(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    sharded = import_directory(tree, sharding=SMALL_SHARDS).cid
    assert sharded != import_directory(tree, sharding=KUBO_SHARDING).cid
    with ipfs_kit(cache_dir=tmp_path / "c", index_path=tmp_path / "i.db") as kit:
        assert kit.add(tree, sharding=SMALL_SHARDS).cid == sharded
        rebuilt = kit.get_to_path(sharded, tmp_path / "restored")  # checks the CID
    assert sorted(p.name for p in rebuilt.iterdir()) == sorted(p.name for p in tree.iterdir())


def test_pack_car_applies_the_sharding(tree: Path, tmp_path: Path) -> None:
    summary = pack_car(tree, tmp_path / "t.car", sharding=SMALL_SHARDS)
    assert summary.roots[0] == import_directory(tree, sharding=SMALL_SHARDS).cid
