"""The one chunk reader, the one chunks-as-a-file wrapper and the one event fan-out."""

from __future__ import annotations

import io
import tarfile
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.progress import BaseSubscriber, TransferEvents
from ipfs_kit_py.streams import IterStream, read_chunks, reader

CHUNKS = st.lists(st.binary(max_size=300), max_size=20)


@settings(max_examples=150, deadline=None)
@given(chunks=CHUNKS, sizes=st.lists(st.integers(1, 700), min_size=1, max_size=10))
def test_reader_gives_back_the_chunks_for_any_read_sizes(
    chunks: list[bytes], sizes: list[int]
) -> None:
    f = reader(chunks, buffer_size=64)
    got = bytearray()
    i = 0
    while piece := f.read(sizes[i % len(sizes)]):
        got += piece
        i += 1
    assert bytes(got) == b"".join(chunks)
    assert f.read() == b""


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=5000), size=st.integers(1, 1500))
def test_read_chunks_splits_a_file_into_bounded_pieces(data: bytes, size: int) -> None:
    pieces = list(read_chunks(io.BytesIO(data), size))
    assert b"".join(pieces) == data
    assert all(0 < len(p) <= size for p in pieces)


def test_iter_stream_is_a_readable_raw_file_for_tarfile() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("a.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    raw = buf.getvalue()
    stream = io.BufferedReader(IterStream(raw[i : i + 7] for i in range(0, len(raw), 7)))
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        member = tar.next()
        assert member is not None and member.name == "a.txt"
        extracted = tar.extractfile(member)
        assert extracted is not None and extracted.read() == b"hello"


class Recorder(BaseSubscriber):
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def on_start(self, key: str, total: int | None, **kwargs: Any) -> None:
        self.events.append(("start", total))

    def on_progress(self, key: str, nbytes: int, **kwargs: Any) -> None:
        self.events.append(("progress", nbytes))

    def on_done(self, key: str, error: BaseException | None, **kwargs: Any) -> None:
        self.events.append(("done", error))


class OnlyDone(BaseSubscriber):
    def __init__(self) -> None:
        self.errors: list[BaseException | None] = []

    def on_done(self, key: str, error: BaseException | None, **kwargs: Any) -> None:
        self.errors.append(error)


@settings(max_examples=50, deadline=None)
@given(total=st.none() | st.integers(0, 1 << 40), steps=st.lists(st.integers(1, 1 << 20)))
def test_events_reach_every_subscriber_in_order(total: int | None, steps: list[int]) -> None:
    recorder, partial = Recorder(), OnlyDone()
    with TransferEvents("k", [recorder, partial], total) as events:
        for n in steps:
            events.progress(n)
    assert recorder.events == [
        ("start", total),
        *[("progress", n) for n in steps],
        ("done", None),
    ]
    assert partial.errors == [None]


def test_an_error_ending_the_transfer_reaches_on_done_and_propagates() -> None:
    recorder = Recorder()
    boom = OSError("disk gone")
    with pytest.raises(OSError), TransferEvents("k", [recorder]):
        raise boom
    assert recorder.events == [("start", None), ("done", boom)]
