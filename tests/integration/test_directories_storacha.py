"""Directories added to Storacha are one upload of their whole DAG, rooted at the tree.

Against the local Storacha service and the official client (@storacha/upload-client's
own encoder and CAR sharding, run as a conformance peer): a tree the client can express
gets its root *and* its CAR shards; any tree (symlinks, empty directories) gets the
root of ``ipfs add -r`` with every node in the upload. A fresh kit with an empty cache
and index gets the tree back from Storacha alone, verified.
"""

from __future__ import annotations

import io
import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conformance import peers
from tests.servers.storacha import StorachaService, StorachaTestCredentials

from ipfs_kit_py.content.archive import verify_car
from ipfs_kit_py.content.cid import cid_key
from ipfs_kit_py.content.directory import import_directory
from ipfs_kit_py.content.unixfs import STORACHA
from ipfs_kit_py.ipfs_kit import ipfs_kit


@pytest.fixture
def storacha_args(
    storacha_service: StorachaService,
    storacha_credentials: StorachaTestCredentials,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, object]:
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    return dict(storacha_service.backend_args(storacha_credentials))


def open_kit(storacha: dict[str, object], home: Path) -> ipfs_kit:
    return ipfs_kit(cache_dir=home / "cache", index_path=home / "index.sqlite3", storacha=storacha)


@pytest.fixture
def kit(storacha_args: dict[str, object], tmp_path: Path) -> Iterator[ipfs_kit]:
    with open_kit(storacha_args, tmp_path / "first") as k:
        yield k


def client_shaped_tree(root: Path) -> Path:
    rng = random.Random(7)
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"alpha")
    (root / "b.bin").write_bytes(rng.randbytes(1_200_000))  # a multi-block file
    (root / "sub" / "c.txt").write_bytes(b"alpha")  # the same block twice
    (root / "sub" / "deeper" / "d.bin").write_bytes(rng.randbytes(5000))
    return root


def test_the_upload_is_the_official_clients_root_and_shards(kit: ipfs_kit, tmp_path: Path) -> None:
    tree = client_shaped_tree(tmp_path / "tree")
    [theirs] = peers.storacha_encode_directory([{"dir": str(tree)}])
    added = kit.add(tree, to=["storacha"], profile=STORACHA)
    assert cid_key(added.cid) == theirs["root"]
    assert kit.whereis(added.cid) == ["storacha"]
    storacha = kit.tiers.tier("storacha")
    record = storacha.find_upload(added.cid)  # type: ignore[attr-defined]
    assert record is not None
    assert [cid_key(s) for s in record["shards"]] == [s["cid"] for s in theirs["shards"]]
    check = kit.verify(added.cid)  # the gateway's CAR of the root: every block, complete
    assert check.good == ("storacha",), check


def make_tree(root: Path) -> Path:
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "deep.bin").write_bytes(os.urandom(300_000))
    (root / "a" / "small.txt").write_bytes(b"small\n")
    (root / "empty").mkdir()
    (root / "top.bin").write_bytes(os.urandom(70_000))
    os.symlink("a/small.txt", root / "link-to-small")
    os.symlink("b/deep.bin", root / "a" / "link-down")
    return root


def test_any_tree_is_one_upload_of_its_whole_dag_and_a_fresh_kit_gets_it(
    storacha_args: dict[str, object], tmp_path: Path
) -> None:
    tree = make_tree(tmp_path / "tree")
    with open_kit(storacha_args, tmp_path / "first") as kit:
        added = kit.add(tree, to=["storacha"])  # kubo's default profile, symlinks, empty dir
        assert cid_key(added.cid) == cid_key(import_directory(tree).cid)
        assert kit.whereis(added.cid) == ["storacha"]
        storacha = kit.tiers.tier("storacha")
        car = b"".join(storacha.export_car(added.cid))  # type: ignore[attr-defined]
        summary = verify_car(io.BytesIO(car))  # complete: every node and file block
        assert [cid_key(r) for r in summary.roots] == [cid_key(added.cid)]
        assert kit.verify(added.cid).good == ("storacha",)
    with open_kit(storacha_args, tmp_path / "fresh") as fresh:  # empty cache and index
        out = fresh.get_to_path(added.cid, tmp_path / "back")
        assert (out / "a" / "b" / "deep.bin").read_bytes() == (
            tree / "a" / "b" / "deep.bin"
        ).read_bytes()
        assert os.readlink(out / "link-to-small") == "a/small.txt"
        assert os.readlink(out / "a" / "link-down") == "b/deep.bin"
        assert (out / "empty").is_dir() and not list((out / "empty").iterdir())


@pytest.mark.usefixtures("frozen_ucan_clock")  # repair's upload/add in the add's second
def test_a_removed_upload_is_missing_and_repair_uploads_it_again(
    kit: ipfs_kit, tmp_path: Path
) -> None:
    added = kit.add(make_tree(tmp_path / "tree"), to=["storacha"])
    kit.tiers.tier("storacha").remove_upload(added.cid)  # type: ignore[attr-defined]
    check = kit.verify(added.cid)
    assert check.missing == ("storacha",) and not check.good, check
    assert kit.whereis(added.cid) == []
    report = kit.repair(added.cid)
    assert report.copied == ("storacha",), report.failed
    assert kit.verify(added.cid).good == ("storacha",)


def test_after_index_rebuild_the_tree_comes_back_from_storacha(
    storacha_args: dict[str, object], tmp_path: Path
) -> None:
    tree = make_tree(tmp_path / "tree")
    with open_kit(storacha_args, tmp_path / "first") as kit:
        added = kit.add(tree, to=["storacha"])
    home = tmp_path / "rebuilt"
    with open_kit(storacha_args, home) as fresh:
        report = fresh.rebuild_index()
        assert report.found["storacha"] >= 4  # the tree's upload and its 3 files' own
    with open_kit(storacha_args, home) as fresh:
        assert [loc.backend for loc in fresh.index.locations(added.cid)] == ["storacha"]
        check = fresh.verify(added.cid)  # an upload of a directory: checked as its DAG
        assert check.good == ("storacha",), check
        out = fresh.get_to_path(added.cid, tmp_path / "back")
        assert (out / "top.bin").read_bytes() == (tree / "top.bin").read_bytes()
        assert os.readlink(out / "a" / "link-down") == "b/deep.bin"
