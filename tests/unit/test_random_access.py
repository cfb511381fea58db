"""Verified random access over in-process block sources: ranges, bounds, corruption."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from ipfs_kit_py.content.cid import CID, RAW, make_cid
from ipfs_kit_py.content.dag import load_node
from ipfs_kit_py.content.dagpb import decode_node
from ipfs_kit_py.content.random_access import (
    MAX_BLOCK_BYTES,
    LeafSpan,
    RandomAccessFile,
    UnixFSFile,
    VerifiedBlocks,
    iter_range,
)
from ipfs_kit_py.content.unixfs import FileImporter, ImportProfile
from ipfs_kit_py.content.verify import verify_block
from ipfs_kit_py.errors import (
    BackendUnavailableError,
    ContentMismatchError,
    ContentNotFoundError,
    InvalidInputError,
    ResourceLimitError,
)
from tests.unit.small_dags import PROFILES, MemoryBlocks, imported


def covering_blocks(root: CID, source: MemoryBlocks, start: int, end: int) -> int:
    """Reference count: the nodes whose byte span meets [start, end), by plain recursion."""
    get = source.blocks.__getitem__

    def visit(cid: CID, offset: int) -> tuple[int, int]:  # (blocks met, size)
        node = load_node(cid, lambda c: get(bytes(c)))
        if node.unixfs is None:
            size = len(node.raw)
            return (1 if offset < end and offset + size > start else 0), size
        data = node.unixfs.data or b""
        met, position = 0, offset + len(data)
        for link, size in zip(node.links, node.unixfs.blocksizes, strict=True):
            if position < end and position + size > start:
                met += visit(link.cid, position)[0]
            position += size
        size = position - offset
        return met + (1 if offset < end and size and offset + size > start else 0), size

    return visit(root, 0)[0]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.integers(0, 40_000),
    profile=st.sampled_from(PROFILES),
    reads=st.lists(st.tuples(st.integers(0, 45_000), st.integers(0, 9_000)), max_size=6),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_range_is_the_plain_bytes_and_fetches_only_its_blocks(
    size: int, profile: ImportProfile, reads: list[tuple[int, int]], seed: int
) -> None:
    data = random.Random(seed).randbytes(size)
    root, source = imported(data, profile)
    for start, length in reads:
        blocks = VerifiedBlocks([source], cache_bytes=0)  # nothing cached: count every fetch
        f = RandomAccessFile(root, blocks)
        assert f.size == size
        before = blocks.stats.blocks  # the root, fetched to learn the size
        f.seek(start)
        got = f.read(length)
        assert got == data[start : start + length]
        assert f.tell() == start + len(got)
        end = min(start + length, size)
        if start < end:  # exactly the covering blocks, the root (kept) aside
            assert blocks.stats.blocks - before == covering_blocks(root, source, start, end) - 1
        else:
            assert blocks.stats.blocks == before


@settings(max_examples=30, deadline=None)
@given(size=st.integers(1, 30_000), profile=st.sampled_from(PROFILES), data=st.data())
def test_iter_range_streams_exactly_the_range(
    size: int, profile: ImportProfile, data: st.DataObject
) -> None:
    content = random.Random(size).randbytes(size)
    root, source = imported(content, profile)
    start = data.draw(st.integers(0, size + 10))
    end = data.draw(st.one_of(st.none(), st.integers(0, size + 10)))
    got = b"".join(iter_range(root, VerifiedBlocks([source]), start, end))
    assert got == content[start:end]


class ReadModel(RuleBasedStateMachine):
    """A RandomAccessFile behaves as io.BytesIO over the same bytes."""

    @initialize(
        size=st.integers(0, 20_000), profile=st.sampled_from(PROFILES), seed=st.integers(0, 99)
    )
    def setup(self, size: int, profile: ImportProfile, seed: int) -> None:
        content = random.Random(seed).randbytes(size)
        root, source = imported(content, profile)
        self.model = io.BytesIO(content)
        self.file = RandomAccessFile(root, VerifiedBlocks([source], cache_bytes=4096))

    @rule(offset=st.integers(-25_000, 25_000), whence=st.sampled_from([0, 1, 2]))
    def seek(self, offset: int, whence: int) -> None:
        base = (0, self.model.tell(), len(self.model.getbuffer()))[whence]
        if base + offset < 0:  # a file refuses it (BytesIO would clamp to 0)
            with pytest.raises(InvalidInputError):
                self.file.seek(offset, whence)
        else:
            assert self.file.seek(offset, whence) == self.model.seek(offset, whence)

    @rule(n=st.integers(-1, 9_000))
    def read(self, n: int) -> None:
        assert self.file.read(n) == self.model.read(n)

    @rule(n=st.integers(0, 5_000))
    def readinto(self, n: int) -> None:
        mine, theirs = bytearray(n), bytearray(n)
        assert self.file.readinto(mine) == self.model.readinto(theirs)
        assert mine == theirs

    @invariant()
    def same_position(self) -> None:
        if hasattr(self, "file"):
            assert self.file.tell() == self.model.tell()


ReadModel.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)
TestReadModel = ReadModel.TestCase


def leaf_cids(root: CID, source: MemoryBlocks) -> list[CID]:
    out: list[CID] = []
    stack = [root]
    while stack:
        cid = stack.pop()
        node = load_node(cid, lambda c: source.blocks[bytes(c)])
        if not node.links:
            out.append(cid)
        stack.extend(reversed([link.cid for link in node.links]))
    return out


@pytest.mark.parametrize("profile", PROFILES[:2], ids=lambda p: p.key())
def test_a_corrupt_leaf_mid_file_aborts_the_read_with_no_bad_byte(profile: ImportProfile) -> None:
    data = random.Random(7).randbytes(20_000)
    root, source = imported(data, profile)
    leaves = leaf_cids(root, source)
    bad = leaves[len(leaves) // 2]
    original = source.blocks[bytes(bad)]
    source.blocks[bytes(bad)] = original[:-1] + bytes([original[-1] ^ 1])
    blocks = VerifiedBlocks([source])
    served: list[bytes] = []
    with pytest.raises(ContentMismatchError):
        for chunk in iter_range(root, blocks):
            served.append(chunk)
    prefix = b"".join(served)
    assert data.startswith(prefix) and len(prefix) < len(data)  # good bytes, then the error
    f = RandomAccessFile(root, blocks)
    with pytest.raises(ContentMismatchError):
        f.read()
    f.seek(0)
    assert f.read(100) == data[:100]  # ranges before the bad leaf still read
    good = MemoryBlocks()
    good.blocks[bytes(bad)] = original
    healed = VerifiedBlocks([source, good])  # a second source with the good block serves
    assert b"".join(iter_range(root, healed)) == data


def test_missing_block_is_content_not_found() -> None:
    data = random.Random(3).randbytes(10_000)
    root, source = imported(data, PROFILES[0])
    del source.blocks[bytes(leaf_cids(root, source)[-1])]
    with pytest.raises(ContentNotFoundError):
        b"".join(iter_range(root, VerifiedBlocks([source])))
    with pytest.raises(ContentNotFoundError):
        RandomAccessFile(make_cid(RAW, b"\x01" * 32), VerifiedBlocks([source]))


def test_bad_ranges_and_seeks_are_invalid_input() -> None:
    root, source = imported(b"hello world", PROFILES[0])
    blocks = VerifiedBlocks([source])
    with pytest.raises(InvalidInputError):
        list(iter_range(root, blocks, -1, 3))
    f = RandomAccessFile(root, blocks)
    with pytest.raises(InvalidInputError):
        f.seek(-1)
    with pytest.raises(InvalidInputError):
        f.seek(0, 7)
    f.close()
    with pytest.raises(ValueError):
        f.read(1)
    with pytest.raises(InvalidInputError):
        VerifiedBlocks([], cache_bytes=-1)


def test_oversized_block_is_refused() -> None:
    big = bytes(MAX_BLOCK_BYTES + 1)
    cid = make_cid(RAW, __import__("hashlib").sha256(big).digest())
    source = MemoryBlocks()
    source.blocks[bytes(cid)] = big
    with pytest.raises(ResourceLimitError):
        VerifiedBlocks([source]).get(cid)


def test_identity_cid_reads_from_the_cid_itself() -> None:
    from ipfs_kit_py.content.cid import parse_cid

    cid = parse_cid("bafkqablimvwgy3y")  # raw identity: "hello"
    assert b"".join(iter_range(cid, VerifiedBlocks([]))) == b"hello"
    assert RandomAccessFile(cid, VerifiedBlocks([])).read() == b"hello"


class Spans:
    """A span source over plain bytes (as S3 holds a file), counting ranged requests."""

    name = "spans"

    def __init__(self, root: CID, data: bytes, nodes: dict[bytes, bytes]) -> None:
        self.root, self.data, self.nodes = root, data, nodes
        self.ranges: list[tuple[int, int]] = []

    def layout(self, root: CID) -> Spans | None:
        return self if root == self.root else None

    @property
    def size(self) -> int:
        return len(self.data)

    def node(self, cid: CID) -> bytes | None:
        return self.nodes.get(bytes(cid))

    def read_spans(self, spans: list[LeafSpan]) -> Iterator[bytes]:
        start, end = spans[0].offset, spans[-1].offset + spans[-1].size
        self.ranges.append((start, end))
        for span in spans:
            yield self.data[span.offset : span.offset + span.size]


def spans_for(data: bytes, profile: ImportProfile) -> tuple[CID, Spans]:
    nodes: dict[bytes, bytes] = {}
    keep = lambda b: nodes.__setitem__(bytes(b.cid), b.data)  # noqa: E731
    importer = FileImporter(profile, keep, leaves=False)
    importer.update(data)
    root = importer.finish().cid
    return root, Spans(root, data, nodes)


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(1, 30_000),
    profile=st.sampled_from(PROFILES),
    start=st.integers(0, 30_000),
    length=st.integers(1, 8_000),
)
def test_span_source_serves_a_range_in_one_request_within_one_chunk_each_side(
    size: int, profile: ImportProfile, start: int, length: int
) -> None:
    data = random.Random(size).randbytes(size)
    root, spans = spans_for(data, profile)
    blocks = VerifiedBlocks([spans])
    f = RandomAccessFile(root, blocks)
    f.seek(start)
    assert f.read(length) == data[start : start + length]
    end = min(start + length, size)
    if start < end:
        assert len(spans.ranges) == 1
        lo, hi = spans.ranges[0]
        assert lo <= start and hi >= end
        assert start - lo < profile.chunk_size and hi - end < profile.chunk_size
    else:
        assert spans.ranges == []


def test_a_corrupt_span_falls_back_to_a_block_source_or_fails() -> None:
    profile = PROFILES[1]
    data = random.Random(5).randbytes(9_000)
    root, spans = spans_for(data, profile)
    spans.data = data[:4000] + bytes([data[4000] ^ 0xFF]) + data[4001:]
    with pytest.raises(ContentMismatchError):
        b"".join(iter_range(root, VerifiedBlocks([spans])))
    f = RandomAccessFile(root, VerifiedBlocks([spans]))
    assert f.read(2000) == data[:2000]  # leaves before the damage are good
    _, source = imported(data, profile)
    assert b"".join(iter_range(root, VerifiedBlocks([spans, source]))) == data


def test_import_profile_leaves_false_keeps_only_parents(tmp_path: Path) -> None:
    data = random.Random(1).randbytes(10_000)
    root, spans = spans_for(data, PROFILES[0])
    _, full = imported(data, PROFILES[0])
    assert set(spans.nodes) < set(full.blocks)
    assert all(load_node(root, lambda c: full.blocks[bytes(c)]).links for _ in [0])


class Down:
    """A source that cannot be reached."""

    name = "down"

    def get_block(self, cid: CID) -> bytes:
        raise BackendUnavailableError("connection refused", backend="down")


def test_an_unreachable_source_is_skipped_and_named_when_none_serves() -> None:
    data = random.Random(8).randbytes(5_000)
    root, source = imported(data, PROFILES[0])
    assert b"".join(iter_range(root, VerifiedBlocks([Down(), source]))) == data
    with pytest.raises(BackendUnavailableError):
        RandomAccessFile(root, VerifiedBlocks([Down(), MemoryBlocks()]))
    with pytest.raises(ContentNotFoundError):
        RandomAccessFile(root, VerifiedBlocks([MemoryBlocks()]))


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(0, 30_000),
    profile=st.sampled_from(PROFILES),
    start=st.integers(0, 31_000),
    length=st.integers(0, 9_000),
    spans=st.booleans(),
)
def test_iter_blocks_yields_a_verifiable_dfs_dag_for_the_range(
    size: int, profile: ImportProfile, start: int, length: int, spans: bool
) -> None:
    """The blocks a ranged trustless CAR carries: each matches its CID, parents come
    before children, and reading the range back from them alone gives the bytes."""
    data = random.Random(size).randbytes(size)
    root, source = imported(data, profile)
    sources: list[Any] = [spans_for(data, profile)[1]] if spans else [source]
    got = list(UnixFSFile(root, VerifiedBlocks(sources)).iter_blocks(start, start + length))
    assert got[0][0] == root
    seen: set[bytes] = set()
    for cid, block in got:
        verify_block(cid, block)
        if cid != root:
            assert any(
                link.cid == cid
                for parent, parent_block in got
                if bytes(parent) in seen and parent.codec.code == 0x70
                for link in decode_node(parent_block).links
            )
        seen.add(bytes(cid))
    only = MemoryBlocks()
    for cid, block in got:
        only.blocks[bytes(cid)] = block
    assert (
        b"".join(iter_range(root, VerifiedBlocks([only]), start, start + length))
        == (data[start : start + length])
    )


class FailingSpans(Spans):
    """A span source whose ranged request breaks after ``good`` leaves."""

    def __init__(self, root: CID, data: bytes, nodes: dict[bytes, bytes], good: int) -> None:
        super().__init__(root, data, nodes)
        self.good = good

    def read_spans(self, spans: list[LeafSpan]) -> Iterator[bytes]:
        for i, piece in enumerate(super().read_spans(spans)):
            if i == self.good:
                raise BackendUnavailableError("connection reset", backend="spans")
            yield piece


@pytest.mark.parametrize("good", [0, 2])
def test_a_span_source_failing_mid_range_hands_over_to_block_sources(good: int) -> None:
    profile = PROFILES[1]
    data = random.Random(21).randbytes(9_000)
    root, spans = spans_for(data, profile)
    failing = FailingSpans(root, data, spans.nodes, good)
    with pytest.raises(BackendUnavailableError):
        b"".join(iter_range(root, VerifiedBlocks([failing])))
    _, source = imported(data, profile)
    assert b"".join(iter_range(root, VerifiedBlocks([failing, source]))) == data
