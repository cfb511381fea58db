"""Decompression bombs in CARs and DAGs: refused before writing, in bounded memory.

Each CAR here is tiny and valid; written out it would be enormous (shared sub-DAGs),
or its header points far past its end. Extraction and verification must answer with
a typed error (or the right summary) at once, leave nothing behind, and keep memory
flat; peak RSS is measured in a fresh interpreter, not timed.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ipfs_kit_py.content.archive import verify_car
from ipfs_kit_py.content.car import CarReader, write_car
from ipfs_kit_py.content.cid import CID, DAG_PB, RAW, sha256_cid
from ipfs_kit_py.content.dagpb import PBLink, UnixFSType, encode_node, encode_unixfs
from ipfs_kit_py.content.extract import ExtractLimits, extract, extract_car
from ipfs_kit_py.content.unixfs import Block
from ipfs_kit_py.errors import CARFormatError, InvalidInputError, ResourceLimitError

CARV2_PRAGMA = bytes.fromhex("0aa16776657273696f6e02")


class Blocks:
    """A block map that counts reads, to show work is linear in distinct blocks."""

    def __init__(self) -> None:
        self.blocks: dict[bytes, Block] = {}
        self.reads = 0

    def put(self, data: bytes, codec: int = DAG_PB) -> CID:
        cid = sha256_cid(codec, data)
        self.blocks[bytes(cid)] = Block(cid, data)
        return cid

    def get(self, cid: CID) -> bytes:
        self.reads += 1
        return self.blocks[bytes(cid)].data

    def car(self, root: CID) -> bytes:
        out = io.BytesIO()
        write_car(out, [root], list(self.blocks.values()))
        return out.getvalue()


def file_bomb(dag: Blocks, leaf_size: int, widths: list[int]) -> tuple[CID, int]:
    """A file whose every level links the level below ``width`` times."""
    cid, size = dag.put(bytes(leaf_size), RAW), leaf_size
    for width in widths:
        unixfs = encode_unixfs(UnixFSType.FILE, filesize=size * width, blocksizes=[size] * width)
        cid, size = dag.put(encode_node(unixfs, [PBLink(cid, "", size)] * width)), size * width
    return cid, size


def directory_bomb(dag: Blocks, levels: int) -> CID:
    """Directories each linking the next one twice: 2**levels paths in ``levels`` blocks."""
    cid = dag.put(b"", RAW)
    for _ in range(levels):
        node = encode_node(encode_unixfs(UnixFSType.DIRECTORY), [PBLink(cid, n, 1) for n in "ab"])
        cid = dag.put(node)
    return cid


def deep_chain(dag: Blocks, depth: int) -> CID:
    cid = dag.put(b"bottom", RAW)
    for _ in range(depth):
        cid = dag.put(encode_node(encode_unixfs(UnixFSType.DIRECTORY), [PBLink(cid, "d", 1)]))
    return cid


def test_a_small_car_declaring_262_gb_is_refused_before_writing(tmp_path: Path) -> None:
    dag = Blocks()
    root, size = file_bomb(dag, 256 * 1024, [1000, 1000])
    car = dag.car(root)
    assert len(car) < 400_000 and size > 250 * 10**9
    with pytest.raises(ResourceLimitError, match="bytes free"):
        extract_car(io.BytesIO(car), tmp_path / "out")
    assert os.listdir(tmp_path) == []
    with pytest.raises(ResourceLimitError, match="bytes free"):
        extract(root, dag.get, tmp_path / "out")
    assert os.listdir(tmp_path) == []
    assert dag.reads <= 2 * len(dag.blocks)  # the plan reads the root, never the leaves


def test_a_byte_cap_refuses_what_would_fit_the_disk(tmp_path: Path) -> None:
    dag = Blocks()
    root, size = file_bomb(dag, 1024, [64, 64])
    directory = dag.put(encode_node(encode_unixfs(UnixFSType.DIRECTORY), [PBLink(root, "f", 1)]))
    with pytest.raises(ResourceLimitError, match="limit of 1000000"):
        extract(directory, dag.get, tmp_path / "out", ExtractLimits(max_bytes=1_000_000))
    assert os.listdir(tmp_path) == []
    extract(directory, dag.get, tmp_path / "out", ExtractLimits(max_bytes=size))
    assert (tmp_path / "out" / "f").stat().st_size == size == 4 * 1024 * 1024


@pytest.mark.parametrize("levels", [19, 60])
def test_directories_sharing_subdirectories_are_planned_in_linear_work(
    tmp_path: Path, levels: int
) -> None:
    dag = Blocks()
    root = directory_bomb(dag, levels)
    assert len(dag.car(root)) < 140 * levels  # 2**levels entries
    with pytest.raises(ResourceLimitError, match="entries"):
        extract(root, dag.get, tmp_path / "out")
    assert os.listdir(tmp_path) == []
    assert dag.reads <= 3 * len(dag.blocks)
    with pytest.raises(ResourceLimitError, match="entries"):
        extract_car(io.BytesIO(dag.car(root)), tmp_path / "out")
    assert os.listdir(tmp_path) == []


def test_a_shared_tree_within_the_limits_is_written_whole(tmp_path: Path) -> None:
    dag = Blocks()
    root = directory_bomb(dag, 6)
    extract(root, dag.get, tmp_path / "out", ExtractLimits(max_entries=127))
    files = [f for _, _, names in os.walk(tmp_path / "out") for f in names]
    assert len(files) == 64
    with pytest.raises(ResourceLimitError):
        extract(root, dag.get, tmp_path / "again", ExtractLimits(max_entries=126))


def test_deep_nesting_is_refused_early(tmp_path: Path) -> None:
    dag = Blocks()
    root = deep_chain(dag, 5000)
    with pytest.raises(ResourceLimitError, match="deeper than 256"):
        extract(root, dag.get, tmp_path / "out")
    assert dag.reads < 300 and os.listdir(tmp_path) == []
    shallow = deep_chain(Blocks(), 10)
    with pytest.raises(ResourceLimitError, match="deeper than 9"):
        extract(shallow, dag.get, tmp_path / "out", ExtractLimits(max_depth=9))


def test_verification_counts_shared_sub_dags_once() -> None:
    dag = Blocks()
    root, _ = file_bomb(dag, 256 * 1024, [1000, 1000])
    summary = verify_car(io.BytesIO(dag.car(root)))
    assert summary.blocks == 3 and summary.roots == (root,)
    dag = Blocks()
    root = directory_bomb(dag, 60)
    assert verify_car(io.BytesIO(dag.car(root))).blocks == 61


def test_extract_root_must_be_in_the_car(tmp_path: Path) -> None:
    dag = Blocks()
    root = dag.put(encode_node(encode_unixfs(UnixFSType.FILE, data=b"x", filesize=1)))
    stranger = sha256_cid(RAW, b"not in this CAR")
    inline = "bafkqablimvwgy3y"  # self-contained, but not in this CAR either
    for absent in (stranger, inline):
        with pytest.raises(InvalidInputError, match="not in the CAR"):
            extract_car(io.BytesIO(dag.car(root)), tmp_path / "out", root=absent)
        assert os.listdir(tmp_path) == []
    assert extract_car(io.BytesIO(dag.car(root)), tmp_path / "out", root=str(root)) == root


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_bytes": -1}, "positive"),
        ({"max_entries": 0}, "positive"),
        ({"max_depth": -1}, "negative"),
    ],
)
def test_limits_are_checked(kwargs: dict[str, int], match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        ExtractLimits(**kwargs)


# -- CARv2 headers pointing far away ---------------------------------------------------


def carv2(payload: bytes, data_offset: int | None = None, data_size: int | None = None) -> bytes:
    offset = 51 if data_offset is None else data_offset
    size = len(payload) if data_size is None else data_size
    header = CARV2_PRAGMA + bytes(16) + struct.pack("<QQQ", offset, size, 0)
    return header + payload


def small_car() -> tuple[bytes, CID]:
    dag = Blocks()
    cid = dag.put(b"payload", RAW)
    return dag.car(cid), cid


@pytest.mark.parametrize(("offset", "size"), [(2**62, 10), (51, 2**62), (2**64 - 1, 2**64 - 1)])
def test_carv2_offsets_past_the_end_are_format_errors(offset: int, size: int) -> None:
    payload, _ = small_car()
    with pytest.raises(CARFormatError, match="past the end"):
        CarReader(io.BytesIO(carv2(payload, offset, size)))


def test_carv2_offsets_over_a_pipe_read_to_the_end_then_stop(tmp_path: Path) -> None:
    payload, _ = small_car()
    path = tmp_path / "v2.car"
    path.write_bytes(carv2(payload, 2**62))
    with subprocess.Popen(["cat", str(path)], stdout=subprocess.PIPE) as cat:
        assert cat.stdout is not None
        with pytest.raises(CARFormatError, match="truncated"):
            CarReader(cat.stdout)


def sparse_carv2(path: Path, gap: int) -> CID:
    payload, cid = small_car()
    with path.open("wb") as f:
        f.write(carv2(payload, 51 + gap))
        f.seek(51 + gap)
        f.write(payload)
    return cid


RSS_SCRIPT = """
import resource, sys
from ipfs_kit_py.content.car import CarReader
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with open(sys.argv[1], "rb") if sys.argv[2] == "file" else sys.stdin.buffer as f:
    blocks = list(CarReader(f))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(len(blocks), blocks[0].cid, (after - before) // 1024)
"""


def peak_rss_growth_mb(run: Callable[[list[str]], subprocess.CompletedProcess[str]]) -> int:
    proc = run([sys.executable, "-c", RSS_SCRIPT])
    assert proc.returncode == 0, proc.stderr
    count, _cid, growth = proc.stdout.split()
    assert count == "1"
    return int(growth)


@pytest.mark.parametrize("how", ["file", "pipe"])
def test_a_sparse_gap_before_the_carv2_payload_costs_no_memory(tmp_path: Path, how: str) -> None:
    path = tmp_path / "sparse.car"
    gap = (1 << 30) if how == "file" else (256 << 20)
    sparse_carv2(path, gap)

    def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
        if how == "file":
            return subprocess.run([*argv, str(path), how], capture_output=True, text=True)
        with path.open("rb") as f, subprocess.Popen(["cat"], stdin=f, stdout=subprocess.PIPE) as c:
            return subprocess.run([*argv, "-", how], stdin=c.stdout, capture_output=True, text=True)

    assert peak_rss_growth_mb(run) < 32


def test_a_length_prefix_cannot_run_past_the_carv2_payload() -> None:
    payload, _ = small_car()
    # the payload's last byte starts a two-byte length prefix; the rest lies beyond it
    data = carv2(payload + b"\x85", data_size=len(payload) + 1) + b"\x01" + bytes(64)
    with pytest.raises(CARFormatError, match="past the payload"):
        list(CarReader(io.BytesIO(data)))


def test_a_wide_directory_is_refused_while_its_entries_are_read(tmp_path: Path) -> None:
    dag = Blocks()
    leaf = dag.put(b"", RAW)
    wide = encode_node(
        encode_unixfs(UnixFSType.DIRECTORY), [PBLink(leaf, f"{i:06d}", 1) for i in range(5000)]
    )
    root = dag.put(wide)
    with pytest.raises(ResourceLimitError, match="more than 999 entries"):
        extract(root, dag.get, tmp_path / "out", ExtractLimits(max_entries=1000))
    extract(root, dag.get, tmp_path / "out", ExtractLimits(max_entries=5001))
    assert len(os.listdir(tmp_path / "out")) == 5000
