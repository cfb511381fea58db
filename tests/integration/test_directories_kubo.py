"""Directories added to kubo are whole DAGs there: every node written, the root pinned."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.servers.kubo import KuboNode

from ipfs_kit_py.content.cid import cid_key, parse_cid
from ipfs_kit_py.content.unixfs import KUBO_CID_V1
from ipfs_kit_py.errors import UnsafePathError
from ipfs_kit_py.ipfs_kit import ipfs_kit


@pytest.fixture
def kit(kubo_kit: ipfs_kit) -> ipfs_kit:
    return kubo_kit


def make_tree(root: Path) -> Path:
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "deep.bin").write_bytes(os.urandom(300_000))
    (root / "a" / "small.txt").write_bytes(b"small\n")
    (root / "empty").mkdir()
    (root / "top.bin").write_bytes(os.urandom(70_000))
    os.symlink("a/small.txt", root / "link-to-small")
    os.symlink("/nowhere/dangling", root / "a" / "dangling")
    return root


@pytest.mark.parametrize("profile", [None, KUBO_CID_V1])
def test_a_directory_in_kubo_is_complete_and_pinned(
    kit: ipfs_kit, kubo: KuboNode, tmp_path: Path, profile: object
) -> None:
    tree = make_tree(tmp_path / "tree")
    flags = ["--cid-version=1"] if profile is not None else []
    expected = kubo.cli_text("add", "-r", "-Q", "--only-hash", *flags, str(tree))
    added = kit.add(tree, to=["ipfs"], **({"profile": profile} if profile else {}))  # type: ignore[arg-type]
    assert str(added.cid) == expected  # symlinks stored as kubo stores them
    assert kit.whereis(added.cid) == ["ipfs"]
    pins = kubo.cli_text("pin", "ls", "--type=recursive", "-q").split()
    assert cid_key(added.cid) in {cid_key(parse_cid(p)) for p in pins}
    out = tmp_path / "from-kubo"
    kubo.cli("get", "-o", str(out), str(added.cid))  # every directory node is on the node
    assert (out / "a" / "b" / "deep.bin").read_bytes() == (
        tree / "a" / "b" / "deep.bin"
    ).read_bytes()
    assert os.readlink(out / "link-to-small") == "a/small.txt"
    assert os.readlink(out / "a" / "dangling") == "/nowhere/dangling"
    car = kubo.cli("dag", "export", str(added.cid)).stdout
    assert len(car) > 370_000
    check = kit.verify(added.cid)
    assert check.good == ("ipfs",), check
    back = tmp_path / "from-kit"  # symlinks come back from the index, as kubo's get makes them
    kit.get_to_path(added.cid, back, keep_escaping_symlinks=True)
    assert os.readlink(back / "a" / "dangling") == "/nowhere/dangling"
    assert os.readlink(tmp_path / "from-kit" / "link-to-small") == "a/small.txt"


def test_an_unpinned_directory_root_is_missing_and_repair_restores_it(
    kit: ipfs_kit, kubo: KuboNode, tmp_path: Path
) -> None:
    added = kit.add(make_tree(tmp_path / "tree"), to=["ipfs"])
    kubo.cli("pin", "rm", str(added.cid))
    check = kit.verify(added.cid)
    assert check.missing == ("ipfs",)
    assert kit.whereis(added.cid) == []  # the files are pinned, the directory is not
    report = kit.repair(added.cid)  # rebuilt from the files, checked, imported, pinned
    assert report.copied == ("ipfs",), report.failed
    assert kit.verify(added.cid).good == ("ipfs",)
    assert kit.whereis(added.cid) == ["disk", "ipfs"]  # reading the files warmed the disk


def test_a_directory_on_disk_is_held_where_its_files_are(kit: ipfs_kit, tmp_path: Path) -> None:
    added = kit.add(make_tree(tmp_path / "tree"), to=["disk"])
    assert kit.whereis(added.cid) == ["disk"]
    with pytest.raises(UnsafePathError, match="absolute"):  # by default, as car extract
        kit.get_to_path(added.cid, tmp_path / "back")
    assert not os.path.lexists(tmp_path / "back")
    kit.get_to_path(added.cid, tmp_path / "back", keep_escaping_symlinks=True)
    assert os.readlink(tmp_path / "back" / "a" / "dangling") == "/nowhere/dangling"
