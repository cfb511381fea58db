"""Leaf hashing (content/hashing.py): the pipeline yields exactly the chunks and digests of
a plain sequential read, whatever the buffer size, start offset or kind of stream."""

from __future__ import annotations

import gzip
import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ipfs_kit_py.content.hashing import iter_leaf_digests, leaf_digest


def reference(data: bytes, chunk_size: int, raw: bool) -> list[tuple[bytes, bytes]]:
    chunks = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)]
    return [(c, leaf_digest(c, raw)) for c in chunks]


def collect(
    stream: BinaryIO, chunk_size: int, raw: bool, buffer_bytes: int
) -> list[tuple[bytes, bytes]]:
    return [
        (bytes(chunk), digest)
        for chunk, digest in iter_leaf_digests(stream, chunk_size, raw, buffer_bytes=buffer_bytes)
    ]


@contextmanager
def file_with(data: bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.bin"
        path.write_bytes(data)
        yield path


cases = given(
    data=st.binary(max_size=3000),
    chunk_size=st.integers(1, 200),
    raw=st.booleans(),
    buffer_bytes=st.integers(1, 700),
    start=st.integers(0, 3100),
)


@cases
@settings(max_examples=150, deadline=None)
def test_regular_file_matches_a_sequential_read(
    data: bytes, chunk_size: int, raw: bool, buffer_bytes: int, start: int
) -> None:
    with file_with(data) as path, path.open("rb") as f:
        f.seek(start)
        assert collect(f, chunk_size, raw, buffer_bytes) == reference(data[start:], chunk_size, raw)
        assert f.tell() == max(start, len(data))


@cases
@settings(max_examples=150, deadline=None)
def test_any_stream_matches_a_sequential_read(
    data: bytes, chunk_size: int, raw: bool, buffer_bytes: int, start: int
) -> None:
    stream = io.BytesIO(data)
    stream.seek(start)
    assert collect(stream, chunk_size, raw, buffer_bytes) == reference(
        data[start:], chunk_size, raw
    )


def test_a_wrapper_with_a_file_descriptor_is_read_through_the_wrapper(tmp_path: Path) -> None:
    # GzipFile has fileno() (the compressed file's): its bytes are what must be hashed.
    data = os.urandom(50_000)
    path = tmp_path / "f.gz"
    with gzip.open(path, "wb") as out:
        out.write(data)
    with gzip.open(path, "rb") as f:
        assert collect(f, 4096, True, 10_000) == reference(data, 4096, True)  # type: ignore[arg-type]


def test_unbuffered_file_and_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 1000)
    with path.open("rb", buffering=0) as f:
        assert collect(f, 64, False, 256) == reference(b"x" * 1000, 64, False)  # type: ignore[arg-type]
    path.write_bytes(b"")
    with path.open("rb") as f:
        assert collect(f, 64, True, 256) == []


@pytest.mark.parametrize("change", ["grow", "truncate"])
@given(cut=st.integers(0, 40), extra=st.binary(max_size=500))
@example(cut=3, extra=bytes(300))
@settings(max_examples=40, deadline=None)
def test_a_file_changing_size_while_read_is_cut_at_one_consistent_point(
    change: str, cut: int, extra: bytes
) -> None:
    data = bytes(range(256)) * 8  # 2048 bytes, 32 buffers of 64
    with file_with(data) as path, path.open("rb") as f:
        items = iter_leaf_digests(f, 16, True, buffer_bytes=64)
        got = [(bytes(c), d) for c, d in [next(items)]]
        with path.open("r+b") as writer:
            if change == "grow":
                writer.seek(0, os.SEEK_END)
                writer.write(extra)
            else:
                writer.truncate(cut * 16)
        got += [(bytes(c), d) for c, d in items]
    final = data + extra if change == "grow" else data
    read = b"".join(c for c, _ in got)
    assert read == final[: len(read)]
    assert got == reference(read, 16, True)
    if change == "grow":  # all reads past the first four buffers start after the growth
        assert read == final


def test_the_workers_read_while_the_caller_keeps_a_chunk(tmp_path: Path) -> None:
    # Views are valid until the next item: copying each one keeps every chunk intact.
    data = os.urandom(1 << 20)
    path = tmp_path / "f"
    path.write_bytes(data)
    with path.open("rb") as f:
        kept = [bytes(c) for c, _ in iter_leaf_digests(f, 1000, True, buffer_bytes=8000)]
    assert b"".join(kept) == data
