"""Verified random access against kubo's own DAGs: its layouts, chunkers, HAMT shards."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.servers.kubo import KuboNode

from ipfs_kit_py.content.cid import RAW, cid_key, parse_cid, sha256_cid
from ipfs_kit_py.content.random_access import RandomAccessFile, UnixFSFile, VerifiedBlocks
from ipfs_kit_py.content.resolve import resolve, stat
from ipfs_kit_py.errors import ContentMismatchError, ContentNotFoundError, PathNotFoundError
from ipfs_kit_py.ipfs_kit import ipfs_kit

SHAPES = {
    "balanced-pb-v0": [],
    "trickle": ["--trickle"],
    "raw-leaves-v1": ["--cid-version=1"],
    "small-chunks": ["--chunker=size-1000", "--raw-leaves"],
    "rabin": ["--chunker=rabin-512-2048-8192"],
    "buzhash-trickle": ["--chunker=buzhash", "--trickle", "--cid-version=1"],
}
SIZE = 3 * 1024 * 1024 + 12345


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    data = random.Random(15).randbytes(SIZE)
    path = tmp_path_factory.mktemp("ra") / "file.bin"
    path.write_bytes(data)
    return path, data


@pytest.fixture(scope="module")
def shapes(kubo: KuboNode, content: tuple[Path, bytes]) -> dict[str, str]:
    path, _ = content
    return {name: kubo.cli_text("add", "-Q", *flags, str(path)) for name, flags in SHAPES.items()}


@pytest.fixture
def blocks(kubo: KuboNode) -> Iterator[VerifiedBlocks]:
    with kubo.backend() as backend:
        yield VerifiedBlocks([backend])


@pytest.mark.parametrize("shape", list(SHAPES))
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(start=st.integers(0, SIZE + 10), length=st.integers(0, 600_000))
def test_ranges_of_kubo_dags_are_the_plain_bytes(
    kubo: KuboNode,
    content: tuple[Path, bytes],
    shapes: dict[str, str],
    shape: str,
    start: int,
    length: int,
) -> None:
    _, data = content
    with kubo.backend() as backend:
        blocks = VerifiedBlocks([backend], cache_bytes=0)
        f = RandomAccessFile(shapes[shape], blocks)
        assert f.size == SIZE
        f.seek(start)
        assert f.read(length) == data[start : start + length]
        wanted = max(0, min(start + length, SIZE) - start)
        # the leaves under the range, the root's children on the way: never the file
        assert blocks.stats.bytes <= wanted + 2 * 262144 + 200_000


def test_whole_files_of_every_shape_read_back(
    kubo: KuboNode, content: tuple[Path, bytes], shapes: dict[str, str]
) -> None:
    _, data = content
    with kubo.backend() as backend:
        for cid in shapes.values():
            assert RandomAccessFile(cid, VerifiedBlocks([backend])).read() == data


def test_a_sharded_kubo_directory_resolves_by_name(kubo: KuboNode, tmp_path: Path) -> None:
    tree = tmp_path / "many"
    tree.mkdir()
    names = [f"entry-{i:05d}-{'x' * 40}.txt" for i in range(6000)]  # > 256 KiB of links
    for name in names:
        (tree / name).write_bytes(name.encode())
    root = kubo.cli_text("add", "-r", "-Q", "--cid-version=1", str(tree))
    with kubo.backend() as backend:
        blocks = VerifiedBlocks([backend], cache_bytes=0)
        node = resolve(root, "", blocks)[1]
        assert node.unixfs is not None and node.unixfs.type.name == "HAMT_SHARD"
        for name in random.Random(1).sample(names, 25):
            blocks.stats.reset()
            cid, _ = resolve(root, name, blocks)
            assert RandomAccessFile(cid, blocks).read() == name.encode()
            assert blocks.stats.blocks <= 5  # root, a sub-shard or two, the file
        with pytest.raises(PathNotFoundError):
            resolve(root, "entry-99999.txt", blocks)
        listing = stat(root, "", VerifiedBlocks([backend]), resolve_types=False)
        assert sorted(e.name for e in listing.entries) == sorted(names)


def test_corrupted_block_in_kubo_aborts_the_read(kubo: KuboNode, tmp_path: Path) -> None:
    """kubo hands out what its blockstore holds; a block rewritten on disk is refused."""
    data = random.Random(9).randbytes(1_500_000)
    path = tmp_path / "victim.bin"
    path.write_bytes(data)
    cid = kubo.cli_text("add", "-Q", "--raw-leaves", "--cid-version=1", str(path))
    links = kubo.cli_text("refs", cid).split()
    victim = parse_cid(links[2])
    with kubo.backend() as backend:
        good = backend.get_block(victim)

        class Lying:
            name = "lying"

            def get_block(self, c: object) -> bytes:
                if c == victim:
                    return good[:-1] + bytes([good[-1] ^ 1])
                return backend.get_block(c)  # type: ignore[arg-type]

        f = RandomAccessFile(cid, VerifiedBlocks([Lying()]))
        f.seek(2 * 262144 + 10)
        with pytest.raises(ContentMismatchError):
            f.read(100)
        f.seek(0)
        assert f.read(1000) == data[:1000]
        healed = RandomAccessFile(cid, VerifiedBlocks([Lying(), backend]))
        assert healed.read() == data


def test_kit_open_and_stat_through_kubo(kubo: KuboNode, tmp_path: Path) -> None:
    tree = tmp_path / "site"
    (tree / "docs").mkdir(parents=True)
    body = random.Random(2).randbytes(700_000)
    (tree / "docs" / "big.bin").write_bytes(body)
    (tree / "index.html").write_bytes(b"<h1>hi</h1>")
    root = kubo.cli_text("add", "-r", "-Q", str(tree))
    with ipfs_kit(
        cache_dir=tmp_path / "cache",
        index_path=tmp_path / "i.sqlite3",
        kubo={"api_url": kubo.api_url},
    ) as kit:
        with kit.open(f"/ipfs/{root}/docs/big.bin") as f:
            f.seek(300_000)
            assert f.read(5000) == body[300_000:305_000]
            assert f.seek(0, 2) == len(body)
        info = kit.stat(f"{root}/docs")
        assert [(e.name, e.type, e.size) for e in info.entries] == [("big.bin", "file", len(body))]
        assert b"".join(kit.iter_range(f"ipfs://{root}/index.html", 4, 6)) == b"hi"
        assert kit.resolve(f"{root}/index.html") == kit.stat(f"{root}/index.html").cid
        with pytest.raises(PathNotFoundError):
            kit.open(f"{root}/nope")
        absent = sha256_cid(RAW, random.randbytes(32))  # no other test of the session adds it
        with pytest.raises(ContentNotFoundError):
            kit.open(str(absent))


def test_iter_blocks_of_a_whole_file_are_its_dag(kubo: KuboNode, shapes: dict[str, str]) -> None:
    """The blocks a trustless CAR of the whole entity carries are kubo's own DAG."""
    with kubo.backend() as backend:
        for root in shapes.values():
            blocks = list(UnixFSFile(root, VerifiedBlocks([backend])).iter_blocks())
            refs = set(kubo.cli_text("refs", "-r", "--unique", root).split())
            assert {cid_key(cid) for cid, _ in blocks} == {
                cid_key(parse_cid(c)) for c in {*refs, root}
            }
            assert cid_key(blocks[0][0]) == cid_key(parse_cid(root))


def test_kit_reads_ranges_through_a_trustless_gateway(kubo: KuboNode, tmp_path: Path) -> None:
    """A gateway tier answers single raw blocks: paths and ranges work through it alone."""
    tree = tmp_path / "gw"
    tree.mkdir()
    body = random.Random(6).randbytes(2_000_000)
    (tree / "big.bin").write_bytes(body)
    root = kubo.cli_text("add", "-r", "-Q", "--cid-version=1", str(tree))
    with ipfs_kit(
        cache_dir=tmp_path / "cache",
        index_path=tmp_path / "i.sqlite3",
        gateway={"urls": [kubo.gateway_url]},
    ) as kit:
        assert [t.name for t in kit.tiers.tiers] == ["memory", "disk", "gateway"]
        with kit.open(f"{root}/big.bin") as f:
            f.seek(1_500_000)
            assert f.read(300_000) == body[1_500_000:1_800_000]
        stats = kit.reader.blocks.stats
        assert stats.bytes < 700_000  # the root, the directory, the leaves under the range
        assert [e.name for e in kit.stat(root).entries] == ["big.bin"]
        assert kit.whereis(kit.resolve(f"{root}/big.bin")) == []  # ranges warm no tier
