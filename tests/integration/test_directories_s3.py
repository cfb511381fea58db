"""Directories added to S3 are whole there: the files by CID, the nodes as one CAR object.

Against a real SeaweedFS: a fresh kit with an empty cache and index (or a rebuilt index)
gets the whole tree from S3 alone, verified; ``verify`` of the root checks every node
and every file, so a deleted or damaged node object is never ``good``.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.servers.seaweedfs import SeaweedS3, boto_client

from ipfs_kit_py.backends.s3.backend import DAG_METADATA, DIRECTORY_NODES
from ipfs_kit_py.content.car import CarReader
from ipfs_kit_py.content.cid import cid_key, parse_cid
from ipfs_kit_py.content.dag import load_node, verified_getter
from ipfs_kit_py.content.directory import import_directory
from ipfs_kit_py.content.hamt import ShardingPolicy
from ipfs_kit_py.content.tree_nodes import read_tree_nodes
from ipfs_kit_py.content.unixfs import KUBO_CID_V1, KUBO_DEFAULT, ImportProfile
from ipfs_kit_py.errors import IpfsKitError, UnsafePathError
from ipfs_kit_py.ipfs_kit import ipfs_kit


def open_kit(server: SeaweedS3, prefix: str, home: Path) -> ipfs_kit:
    return ipfs_kit(
        cache_dir=home / "cache",
        index_path=home / "index.sqlite3",
        s3=server.s3_args(key_prefix=prefix),
    )


@pytest.fixture
def prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    return f"dirs-{uuid.uuid4().hex[:10]}/ipfs/"


@pytest.fixture
def kit(seaweedfs: SeaweedS3, prefix: str, tmp_path: Path) -> Iterator[ipfs_kit]:
    with open_kit(seaweedfs, prefix, tmp_path / "first") as k:
        yield k


def make_tree(root: Path) -> Path:
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "deep.bin").write_bytes(os.urandom(300_000))
    (root / "a" / "small.txt").write_bytes(b"small\n")
    (root / "a" / "same.txt").write_bytes(b"small\n")  # one file object for both
    (root / "empty").mkdir()
    (root / "top.bin").write_bytes(os.urandom(70_000))
    (root / "zero").write_bytes(b"")
    os.symlink("a/small.txt", root / "link-to-small")
    os.symlink("/nowhere/dangling", root / "a" / "dangling")
    return root


def same_tree(left: Path, right: Path) -> None:
    def listing(root: Path) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for path in sorted(root.rglob("*")):
            rel = str(path.relative_to(root))
            if path.is_symlink():
                found[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                found[rel] = "dir"
            else:
                found[rel] = path.read_bytes()
        return found

    assert listing(left) == listing(right)


def node_object(server: SeaweedS3, key: str) -> tuple[dict[str, str], bytes]:
    got = boto_client(server).get_object(Bucket=server.bucket, Key=key)
    return got["Metadata"], got["Body"].read()


@pytest.mark.parametrize("profile", [KUBO_DEFAULT, KUBO_CID_V1])
def test_every_node_of_a_directory_is_in_s3_and_a_fresh_kit_gets_it_from_s3_alone(
    seaweedfs: SeaweedS3, prefix: str, tmp_path: Path, profile: ImportProfile
) -> None:
    tree = make_tree(tmp_path / "tree")
    with open_kit(seaweedfs, prefix, tmp_path / "first") as kit:
        added = kit.add(tree, to=["s3"], profile=profile)
        assert kit.whereis(added.cid) == ["s3"]
        assert kit.verify(added.cid).good == ("s3",)
    expected = import_directory(tree, profile).cid
    assert cid_key(added.cid) == cid_key(expected)
    meta, car = node_object(seaweedfs, f"{prefix}{cid_key(added.cid)}")
    assert meta[DAG_METADATA] == DIRECTORY_NODES
    assert meta["import-profile"] == profile.key()
    listing = read_tree_nodes(added.cid, [car])  # every directory reachable from the CAR
    assert sorted(listing.dirs) == ["a", "a/b", "empty"]
    assert listing.links == {"link-to-small": "a/small.txt", "a/dangling": "/nowhere/dangling"}
    blocks = {b.cid: b.data for b in CarReader(io.BytesIO(car))}
    get = verified_getter(lambda cid: blocks[cid])
    kinds = sorted(load_node(cid, get).kind for cid in blocks)
    assert kinds == ["directory"] * 4 + ["symlink"] * 2  # root, a, a/b, empty; 2 links
    keys = {
        o["Key"]
        for o in boto_client(seaweedfs).list_objects_v2(Bucket=seaweedfs.bucket, Prefix=prefix)[
            "Contents"
        ]
    }
    files = {f"{prefix}{cid_key(parse_cid(c))}" for c in listing.files.values()}
    assert keys == files | {f"{prefix}{cid_key(added.cid)}"}

    with open_kit(seaweedfs, prefix, tmp_path / "fresh") as fresh:  # empty cache and index
        assert fresh.index.content(added.cid) is None
        with pytest.raises(UnsafePathError, match="/nowhere/dangling"):  # as car extract
            fresh.get_to_path(added.cid, tmp_path / "back")
        assert not os.path.lexists(tmp_path / "back")
        out = fresh.get_to_path(added.cid, tmp_path / "back", keep_escaping_symlinks=True)
        same_tree(tree, out)
        assert fresh.whereis(added.cid)[-1] == "s3"
        assert fresh.verify(added.cid).good == ("s3",)


def test_after_index_rebuild_the_tree_comes_back_from_s3(
    seaweedfs: SeaweedS3, prefix: str, tmp_path: Path
) -> None:
    tree = make_tree(tmp_path / "tree")
    with open_kit(seaweedfs, prefix, tmp_path / "first") as kit:
        added = kit.add(tree, to=["s3"])
    home = tmp_path / "rebuilt"
    with open_kit(seaweedfs, prefix, home) as fresh:
        report = fresh.rebuild_index()
        assert report.found["s3"] == 5  # 4 distinct files and the node object
    with open_kit(seaweedfs, prefix, home) as fresh:
        with pytest.raises(IpfsKitError):  # a directory's object is not a file: not "bad"
            fresh.cat(added.cid)
        assert [loc.bad for loc in fresh.index.locations(added.cid, include_bad=True)] == [False]
        check = fresh.verify(added.cid)  # known only as a listed object: found as a tree
        assert check.good == ("s3",), check
        got = fresh.get_to_path(added.cid, tmp_path / "back", keep_escaping_symlinks=True)
        same_tree(tree, got)
        assert fresh.whereis(added.cid) == ["disk", "s3"]  # the files warmed the disk


def test_a_deleted_node_object_makes_the_copy_missing_and_repair_restores_it(
    kit: ipfs_kit, seaweedfs: SeaweedS3, prefix: str, tmp_path: Path
) -> None:
    added = kit.add(make_tree(tmp_path / "tree"), to=["s3"])
    boto_client(seaweedfs).delete_object(
        Bucket=seaweedfs.bucket, Key=f"{prefix}{cid_key(added.cid)}"
    )
    check = kit.verify(added.cid)
    assert check.missing == ("s3",) and not check.good
    assert "s3" not in kit.whereis(added.cid)
    report = kit.repair(added.cid)  # rebuilt from the files, checked, nodes stored again
    assert report.copied == ("s3",), report.failed
    assert kit.verify(added.cid).good == ("s3",)


@pytest.mark.parametrize("damage", [b"junk", b""])
def test_a_damaged_node_object_is_bad_never_good(
    kit: ipfs_kit, seaweedfs: SeaweedS3, prefix: str, tmp_path: Path, damage: bytes
) -> None:
    added = kit.add(make_tree(tmp_path / "tree"), to=["s3"])
    key = f"{prefix}{cid_key(added.cid)}"
    meta, car = node_object(seaweedfs, key)
    body = car[:-7] + damage if damage else car[: len(car) // 2]
    boto_client(seaweedfs).put_object(Bucket=seaweedfs.bucket, Key=key, Body=body, Metadata=meta)
    check = kit.verify(added.cid)
    assert check.bad == ("s3",) and not check.good, check
    assert "s3" not in kit.whereis(added.cid)


def test_a_deleted_file_object_makes_the_directory_copy_missing(
    kit: ipfs_kit, seaweedfs: SeaweedS3, prefix: str, tmp_path: Path
) -> None:
    added = kit.add(make_tree(tmp_path / "tree"), to=["s3"])
    deep = parse_cid(kit.index.content(added.cid).metadata["files"]["a/b/deep.bin"])  # type: ignore[union-attr]
    boto_client(seaweedfs).delete_object(Bucket=seaweedfs.bucket, Key=f"{prefix}{cid_key(deep)}")
    check = kit.verify(added.cid)
    assert check.missing == ("s3",) and not check.good, check


def test_files_already_in_s3_are_not_sent_again(
    kit: ipfs_kit, seaweedfs: SeaweedS3, prefix: str, tmp_path: Path
) -> None:
    """Known to the index and there, or (a kit whose index lacks them) found by a HEAD."""
    tree = make_tree(tmp_path / "tree")
    first = kit.add(tree, to=["s3"])
    files = kit.index.content(first.cid).metadata["files"]  # type: ignore[union-attr]
    key = f"{prefix}{cid_key(parse_cid(files['top.bin']))}"
    client = boto_client(seaweedfs)
    meta = client.head_object(Bucket=seaweedfs.bucket, Key=key)["Metadata"]
    client.copy_object(  # a marker a second upload of the file would erase
        Bucket=seaweedfs.bucket,
        Key=key,
        CopySource={"Bucket": seaweedfs.bucket, "Key": key},
        Metadata={**meta, "marker": "first"},
        MetadataDirective="REPLACE",
    )
    (tree / "new.txt").write_bytes(b"new\n")
    second = kit.add(tree, to=["s3"])
    assert client.head_object(Bucket=seaweedfs.bucket, Key=key)["Metadata"]["marker"] == "first"
    assert kit.verify(second.cid).good == ("s3",)
    with open_kit(seaweedfs, prefix, tmp_path / "other") as other:  # an index without it
        third = other.add(tree, to=["s3"])
        assert other.whereis(third.cid) == ["s3"]
        assert other.verify(third.cid).good == ("s3",)
    assert client.head_object(Bucket=seaweedfs.bucket, Key=key)["Metadata"]["marker"] == "first"


def test_a_sharded_directory_and_an_empty_one(
    seaweedfs: SeaweedS3, prefix: str, tmp_path: Path
) -> None:
    tree = tmp_path / "wide"
    tree.mkdir()
    for i in range(40):
        (tree / f"file-{i:03}.txt").write_bytes(f"{i}\n".encode())
    sharding = ShardingPolicy(threshold=200, fanout=16)  # HAMT shards, sub-shards too
    empty = tmp_path / "nothing"
    empty.mkdir()
    with open_kit(seaweedfs, prefix, tmp_path / "first") as kit:
        added = kit.add(tree, to=["s3"], sharding=sharding)
        hollow = kit.add(empty, to=["s3"])
        assert kit.whereis(hollow.cid) == ["s3"]
    assert cid_key(added.cid) == cid_key(import_directory(tree, sharding=sharding).cid)
    with open_kit(seaweedfs, prefix, tmp_path / "fresh") as fresh:
        same_tree(tree, fresh.get_to_path(added.cid, tmp_path / "back"))
        assert fresh.verify(added.cid).good == ("s3",)
        assert fresh.get_to_path(hollow.cid, tmp_path / "hollow").is_dir()
        assert fresh.whereis(hollow.cid) == ["s3"]


def test_a_file_cid_is_not_taken_for_a_directory(
    seaweedfs: SeaweedS3, prefix: str, tmp_path: Path
) -> None:
    with open_kit(seaweedfs, prefix, tmp_path / "first") as kit:
        added = kit.add(b"just a file\n", to=["s3"])
    with open_kit(seaweedfs, prefix, tmp_path / "fresh") as fresh:
        out = fresh.get_to_path(added.cid, tmp_path / "file")
        assert out.read_bytes() == b"just a file\n"
        assert fresh.index.content(added.cid).kind != "dir"  # type: ignore[union-attr]
