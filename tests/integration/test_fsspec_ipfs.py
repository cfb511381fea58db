"""The fsspec ``ipfs://`` filesystem against a real kubo node (and S3 for writes)."""

from __future__ import annotations

import errno
import posixpath
import random
import uuid
from collections.abc import Callable, Iterator
from hashlib import md5
from pathlib import Path
from typing import Any

import fsspec
import pytest
from fsspec.tests.abstract import AbstractFixtures, AbstractGetTests
from tests.servers.kubo import KuboNode
from tests.servers.seaweedfs import SeaweedS3

from ipfs_kit_py.content.random_access import VerifiedBlocks
from ipfs_kit_py.fsspec_ipfs import IPFSFileSystem
from ipfs_kit_py.ipfs_kit import ipfs_kit


def kit_options(kubo: KuboNode, tmp: Path) -> dict[str, Any]:
    return {
        "cache_dir": tmp / "cache",
        "index_path": tmp / "index.sqlite3",
        "kubo": {"api_url": kubo.api_url},
    }


@pytest.fixture
def ipfs_fs(kubo: KuboNode, tmp_path: Path) -> Iterator[IPFSFileSystem]:
    fs = IPFSFileSystem(**kit_options(kubo, tmp_path))
    yield fs
    fs.close()


def add_tree(kubo: KuboNode, build: Callable[[Path], None], tmp: Path) -> str:
    """``ipfs add -r`` a directory holding ``source/`` as ``build`` makes it: <cid>/source."""
    wrap = tmp / f"wrap-{uuid.uuid4().hex[:8]}"
    (wrap / "source").mkdir(parents=True)
    build(wrap / "source")
    return kubo.cli_text("add", "-r", "-Q", "--cid-version=1", str(wrap)) + "/source"


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")


class TestIPFSGet(AbstractFixtures, AbstractGetTests):  # type: ignore[misc]
    """fsspec's own ``get`` tests: the read side of its abstract suite (the copy, put,
    pipe, mv and open suites write to paths, which content addressing does not do)."""

    @pytest.fixture
    def fs(self, ipfs_fs: IPFSFileSystem) -> IPFSFileSystem:
        return ipfs_fs

    @pytest.fixture
    def fs_join(self) -> Callable[..., str]:
        return posixpath.join

    @pytest.fixture
    def fs_path(self, kubo: KuboNode, tmp_path: Path) -> str:
        """A directory CID holding ``src/file`` (what test_get_directory_recursive makes
        with mkdir and touch, which succeed on content that is already there)."""
        return add_tree(kubo, lambda source: touch(source / "src" / "file"), tmp_path)

    @pytest.fixture
    def fs_bulk_operations_scenario_0(self, kubo: KuboNode, tmp_path: Path) -> str:
        def build(source: Path) -> None:
            for name in ("file1", "file2", "subdir/subfile1", "subdir/subfile2"):
                touch(source / name)
            touch(source / "subdir/nesteddir/nestedfile")

        return add_tree(kubo, build, tmp_path)

    @pytest.fixture
    def fs_glob_edge_cases_files(self, kubo: KuboNode, tmp_path: Path) -> str:
        def build(source: Path) -> None:
            touch(source / "file1")
            touch(source / "file2")
            for i in range(2):
                for name in ("subfile1", "subfile2", "nesteddir/nestedfile"):
                    touch(source / f"subdir{i}" / name)

        return add_tree(kubo, build, tmp_path)

    @pytest.fixture
    def fs_dir_and_file_with_same_name_prefix(self, kubo: KuboNode, tmp_path: Path) -> str:
        def build(source: Path) -> None:
            touch(source / "subdir.txt")
            touch(source / "subdir" / "subfile.txt")

        return add_tree(kubo, build, tmp_path)

    @pytest.fixture
    def fs_10_files_with_hashed_names(self, kubo: KuboNode, tmp_path: Path) -> str:
        def build(source: Path) -> None:
            for i in range(10):
                (source / f"{md5(str(i).encode()).hexdigest()}.txt").write_bytes(f"{i}".encode())

        return add_tree(kubo, build, tmp_path)


@pytest.fixture
def site(kubo: KuboNode, tmp_path: Path) -> tuple[str, dict[str, bytes]]:
    rng = random.Random(11)
    files = {
        "a.txt": b"alpha\n",
        "data/b.bin": rng.randbytes(900_000),
        "data/c.csv": b"x,y\n1,2\n3,4\n",
        "data/deep/d.json": b'{"k": 1}',
    }

    def build(source: Path) -> None:
        for name, data in files.items():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes(data)

    return add_tree(kubo, build, tmp_path), files


def test_open_ls_info_glob_and_ranges(
    ipfs_fs: IPFSFileSystem, site: tuple[str, dict[str, bytes]], kubo: KuboNode, tmp_path: Path
) -> None:
    root, files = site
    fs = ipfs_fs
    with fsspec.open(f"ipfs://{root}/data/c.csv", "rb", **kit_options(kubo, tmp_path)) as f:
        assert f.read() == files["data/c.csv"]
    assert sorted(fs.ls(root, detail=False)) == [f"{root}/a.txt", f"{root}/data"]
    info = fs.info(f"ipfs://{root}/data/b.bin")
    assert info["type"] == "file" and info["size"] == 900_000 and info["cid"].startswith("baf")
    assert fs.info(f"{root}/data")["type"] == "directory"
    assert sorted(fs.glob(f"{root}/data/*.csv")) == [f"{root}/data/c.csv"]
    assert sorted(fs.glob(f"{root}/**/*.json")) == [f"{root}/data/deep/d.json"]
    assert sorted(fs.find(root)) == sorted(f"{root}/{name}" for name in files)
    body = files["data/b.bin"]
    assert fs.cat_file(f"{root}/data/b.bin", 1000, 2000) == body[1000:2000]
    assert fs.cat_file(f"{root}/data/b.bin", -10) == body[-10:]
    assert fs.cat_file(f"{root}/data/b.bin", 5, -5) == body[5:-5]
    assert fs.cat_file(f"{root}/data/b.bin", 10, 5) == b""
    with fs.open(f"{root}/data/b.bin") as f:
        f.seek(600_000)
        assert f.read(100) == body[600_000:600_100]
        assert f.tell() == 600_100
    assert fs.exists(f"{root}/a.txt") and not fs.exists(f"{root}/nope")
    assert fs.ukey(f"{root}/a.txt") == fs.info(f"{root}/a.txt")["cid"]


def test_errors_are_the_oserrors_fsspec_callers_expect(
    ipfs_fs: IPFSFileSystem, site: tuple[str, dict[str, bytes]]
) -> None:
    root, _ = site
    fs = ipfs_fs
    with pytest.raises(FileNotFoundError):
        fs.info(f"{root}/nope")
    with pytest.raises(FileNotFoundError):
        fs.cat_file("not-a-cid/x")
    with pytest.raises(NotADirectoryError):
        fs.ls(f"{root}/a.txt/x")
    with pytest.raises(IsADirectoryError):
        fs.cat_file(f"{root}/data")
    for call in (lambda: fs.rm(f"{root}/a.txt"), lambda: fs.open(f"{root}/a.txt", "wb")):
        with pytest.raises(PermissionError) as caught:
            call()
        assert caught.value.errno == errno.EROFS


def test_pipe_and_put_return_the_cid(seaweedfs: SeaweedS3, tmp_path: Path, kubo: KuboNode) -> None:
    kit = ipfs_kit(
        cache_dir=tmp_path / "cache",
        index_path=tmp_path / "index.sqlite3",
        s3=seaweedfs.s3_args(key_prefix=f"fs-{uuid.uuid4().hex[:8]}/ipfs/"),
        put_to=["s3"],
    )
    with kit:
        fs = IPFSFileSystem(kit)
        cid = fs.pipe_file("ignored/name", b"piped bytes")
        assert kit.whereis(cid) == ["s3"]
        assert fs.cat_file(f"ipfs://{cid}") == b"piped bytes"
        local = tmp_path / "local.bin"
        local.write_bytes(b"put bytes" * 1000)
        put = fs.put_file(str(local), "anything")
        assert fs.cat_file(put, 9, 18) == b"put bytes"
        assert put == str(kit.add(local.read_bytes(), to=[]).cid)


def test_parquet_column_reads_fetch_only_their_ranges(kubo: KuboNode, tmp_path: Path) -> None:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = 100_000
    rng = random.Random(3)
    table = pa.table(
        {
            "small": pa.array([i % 7 for i in range(rows)], pa.int8()),
            "big": pa.array([rng.randbytes(80) for _ in range(rows)], pa.binary()),
        }
    )
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, compression="none", row_group_size=rows)
    size = path.stat().st_size
    cid = kubo.cli_text("add", "-Q", "--cid-version=1", str(path))
    fs = IPFSFileSystem(**kit_options(kubo, tmp_path))
    try:
        stats = fs.kit.reader.blocks.stats
        small = pq.read_table(f"{cid}", columns=["small"], filesystem=fs)
        assert small.column("small").to_pylist() == table.column("small").to_pylist()
        column_bytes = stats.bytes
        assert 0 < column_bytes < size // 4  # the small column and the footer, not "big"
        frame = pd.read_parquet(f"ipfs://{cid}", columns=["small"], filesystem=fs)
        assert frame["small"].tolist() == table.column("small").to_pylist()
        assert stats.bytes - column_bytes < size // 4  # read again: cached or ranged
        whole = pq.read_table(f"{cid}", filesystem=fs)
        assert whole.equals(table)
    finally:
        fs.close()


def test_fsspec_finds_the_filesystem_by_its_entry_point() -> None:
    assert fsspec.get_filesystem_class("ipfs") is IPFSFileSystem
    assert IPFSFileSystem._strip_protocol("ipfs://bafy/a/b/") == "bafy/a/b"
    assert IPFSFileSystem._strip_protocol("/ipfs/bafy/a") == "bafy/a"
    _ = VerifiedBlocks
