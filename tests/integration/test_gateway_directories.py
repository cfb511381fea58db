"""Directories the kit holds only as S3 node CARs, served by the gateway: paths, listings,
HAMT shards and CARs that kubo accepts, against a real SeaweedFS (and kubo for the
import); a damaged node object is never served."""

from __future__ import annotations

import io
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tests.gateway.blocks import serving
from tests.servers.kubo import KuboNode
from tests.servers.seaweedfs import SeaweedS3, boto_client
from tests.servers.storacha import StorachaService, StorachaTestCredentials

from ipfs_kit_py.content.car import CarReader
from ipfs_kit_py.content.cid import CID, cid_key
from ipfs_kit_py.content.hamt import ShardingPolicy
from ipfs_kit_py.gateway import GatewayApp
from ipfs_kit_py.gateway.kit_source import kit_blocks
from ipfs_kit_py.ipfs_kit import ipfs_kit

DEEP = os.urandom(600_000)


@pytest.fixture
def prefix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    return f"gwdirs-{uuid.uuid4().hex[:10]}/ipfs/"


@pytest.fixture
def kit(seaweedfs: SeaweedS3, prefix: str, tmp_path: Path) -> Iterator[ipfs_kit]:
    with ipfs_kit(
        cache_dir=tmp_path / "cache",
        index_path=tmp_path / "index.sqlite3",
        s3=seaweedfs.s3_args(key_prefix=prefix),
    ) as k:
        yield k


def make_tree(root: Path) -> Path:
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "deep.bin").write_bytes(DEEP)
    (root / "a" / "small.txt").write_text("small\n")
    (root / "site").mkdir()
    (root / "site" / "index.html").write_text("<h1>site</h1>")
    for i in range(12):
        (root / "many" / f"f{i:02}.txt").parent.mkdir(exist_ok=True)
        (root / "many" / f"f{i:02}.txt").write_text(f"file {i}\n")
    return root


def added_to_s3_only(kit: ipfs_kit, tree: Path, sharding: ShardingPolicy | None = None) -> CID:
    extra = {"sharding": sharding} if sharding is not None else {}
    cid = kit.add(tree, to=["s3"], **extra).cid  # type: ignore[arg-type]
    assert "s3" in kit.whereis(cid)
    assert kit.tiers.index.content(cid).kind == "dir"  # type: ignore[union-attr]
    return cid


@pytest.mark.parametrize("sharded", [False, True])
def test_a_directory_only_s3_holds_is_served_by_path_and_listed(
    kit: ipfs_kit, tmp_path: Path, sharded: bool
) -> None:
    sharding = ShardingPolicy(threshold=1, fanout=8) if sharded else None
    root = added_to_s3_only(kit, make_tree(tmp_path / "tree"), sharding)
    with serving(GatewayApp(kit_blocks(kit))) as url:
        page = httpx.get(f"{url}/ipfs/{root}/", timeout=30)
        assert page.status_code == 200, page.text
        assert 'href="./a"' in page.text and 'href="./many"' in page.text
        assert httpx.get(f"{url}/ipfs/{root}/a/b/deep.bin", timeout=30).content == DEEP
        r = httpx.get(f"{url}/ipfs/{root}/a/b/deep.bin", headers={"range": "bytes=10-19"})
        assert r.status_code == 206 and r.content == DEEP[10:20]
        assert httpx.get(f"{url}/ipfs/{root}/many/f07.txt", timeout=30).text == "file 7\n"
        assert httpx.get(f"{url}/ipfs/{root}/site/", timeout=30).text == "<h1>site</h1>"
        assert httpx.get(f"{url}/ipfs/{root}/a", timeout=30).status_code == 301
        assert httpx.get(f"{url}/ipfs/{root}/nope", timeout=30).status_code == 404
        listing = httpx.get(f"{url}/ipfs/{root}/many/", timeout=30).text
        assert all(f'href="./f{i:02}.txt"' in listing for i in range(12))


def test_the_car_of_such_a_directory_is_whole_and_kubo_imports_it(
    kit: ipfs_kit, tmp_path: Path, kubo: KuboNode
) -> None:
    root = added_to_s3_only(kit, make_tree(tmp_path / "tree"))
    with serving(GatewayApp(kit_blocks(kit))) as url:
        r = httpx.get(f"{url}/ipfs/{root}?format=car", timeout=60)
    assert r.status_code == 200
    blocks = list(CarReader(io.BytesIO(r.content)))  # every block verified
    assert blocks[0].cid == root
    out = kubo.cli("dag", "import", "--pin-roots", input=r.content).stdout.decode()
    assert f"Pinned root\t{root}\tsuccess" in out
    assert kubo.cli("cat", f"/ipfs/{root}/a/b/deep.bin").stdout == DEEP


def test_a_damaged_node_object_is_404_never_served(
    kit: ipfs_kit, tmp_path: Path, seaweedfs: SeaweedS3, prefix: str
) -> None:
    root = added_to_s3_only(kit, make_tree(tmp_path / "tree"))
    key = f"{prefix}{cid_key(root)}"
    client = boto_client(seaweedfs)
    got = client.get_object(Bucket=seaweedfs.bucket, Key=key)
    car = got["Body"].read()
    client.put_object(
        Bucket=seaweedfs.bucket, Key=key, Body=car[:-7] + b"junk!!!", Metadata=got["Metadata"]
    )
    with serving(GatewayApp(kit_blocks(kit))) as url:
        for path in (f"/ipfs/{root}/", f"/ipfs/{root}/a/small.txt", f"/ipfs/{root}?format=car"):
            r = httpx.get(f"{url}{path}", timeout=30)
            assert r.status_code == 404, (path, r.status_code)
            assert "Traceback" not in r.text


def test_a_directory_only_storacha_holds_is_served_by_path_and_listed(
    storacha_service: StorachaService,
    storacha_credentials: StorachaTestCredentials,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    storacha = dict(storacha_service.backend_args(storacha_credentials))
    home = tmp_path / "home"
    with ipfs_kit(
        cache_dir=home / "cache", index_path=home / "index.sqlite3", storacha=storacha
    ) as kit:
        tree = make_tree(tmp_path / "tree")
        root = kit.add(tree, to=["storacha"]).cid
        assert kit.whereis(root) == ["storacha"]
        with serving(GatewayApp(kit_blocks(kit))) as url:
            page = httpx.get(f"{url}/ipfs/{root}/", timeout=60)
            assert page.status_code == 200, page.text
            assert 'href="./a"' in page.text and 'href="./many"' in page.text
            assert httpx.get(f"{url}/ipfs/{root}/a/b/deep.bin", timeout=60).content == DEEP
            assert httpx.get(f"{url}/ipfs/{root}/many/f03.txt", timeout=60).text == "file 3\n"
            listing = httpx.get(f"{url}/ipfs/{root}/many/", timeout=60).text
            assert all(f'href="./f{i:02}.txt"' in listing for i in range(12))


NAMES = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="/\\\x00", min_codepoint=32),
    min_size=1,
    max_size=12,
).filter(lambda n: n not in (".", "..") and not n.startswith("."))
TREES = st.recursive(
    st.binary(max_size=3000),
    lambda children: st.dictionaries(NAMES, children, min_size=1, max_size=5),
    max_leaves=12,
)


def write_tree(root: Path, tree: dict[str, object]) -> dict[str, bytes]:
    """Write ``tree`` under ``root``; its files as {relative path: bytes}."""
    files: dict[str, bytes] = {}
    root.mkdir(parents=True)
    for name, value in tree.items():
        if isinstance(value, bytes):
            (root / name).write_bytes(value)
            files[name] = value
        else:
            inner = write_tree(root / name, value)  # type: ignore[arg-type]
            files.update({f"{name}/{k}": v for k, v in inner.items()})
    return files


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tree=TREES.filter(lambda t: isinstance(t, dict)), sharded=st.booleans())
@example(tree={"0": b""}, sharded=False)  # an empty file: no S3 range to ask for
def test_any_tree_only_s3_holds_is_served_file_by_file(
    kit: ipfs_kit, tree: dict[str, object], sharded: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files = write_tree(Path(tmp) / "t", tree)
        sharding = ShardingPolicy(threshold=1, fanout=8) if sharded else None
        root = added_to_s3_only(kit, Path(tmp) / "t", sharding)
    with serving(GatewayApp(kit_blocks(kit))) as url:
        for rel, data in files.items():
            r = httpx.get(f"{url}/ipfs/{root}/{quote(rel)}", timeout=30)
            assert r.status_code == 200 and r.content == data, rel
