"""The chunked-body decoder of the kubo transport: framing, trailers, truncation (no server)."""

from __future__ import annotations

import http.client
import random
from collections.abc import Iterator

import pytest

from ipfs_kit_py.backends.kubo.transport import _coalesce, _decode_chunked


class Reader:
    """A file whose ``read1`` returns at most ``step`` bytes, like a socket under load."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data = data
        self.step = step
        self.pos = 0

    def read1(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + min(n, self.step)]
        self.pos += len(out)
        return out


def chunked(data: bytes, sizes: list[int], trailers: bytes = b"") -> bytes:
    out = bytearray()
    pos = 0
    for size in sizes:
        out += b"%x\r\n%b\r\n" % (size, data[pos : pos + size])
        pos += size
    assert pos == len(data)
    return bytes(out) + b"0\r\n" + trailers + b"\r\n"


def decode(raw: bytes, step: int, read_size: int = 10_000) -> tuple[bytes, dict[str, str]]:
    pieces: list[bytes] = []
    gen: Iterator[bytes] = _decode_chunked(Reader(raw, step), read_size)
    try:
        while True:
            pieces.append(next(gen))
    except StopIteration as stop:
        return b"".join(pieces), stop.value


DATA = random.Random(7).randbytes(100_000)
SIZES = [4096] * 24 + [100_000 - 4096 * 24]


@pytest.mark.parametrize("step", [1, 5, 4096, 4103, 1 << 20])
def test_decodes_any_read_pattern(step: int) -> None:
    assert decode(chunked(DATA, SIZES), step) == (DATA, {})


def test_returns_the_stream_error_trailer() -> None:
    raw = chunked(DATA, SIZES, b"X-Stream-Error: failed to fetch all nodes\r\n")
    assert decode(raw, 4096)[1] == {"x-stream-error": "failed to fetch all nodes"}


def test_chunk_extensions_and_big_chunks() -> None:
    raw = b"186a0;name=value\r\n" + DATA + b"\r\n0\r\n\r\n"
    assert decode(raw, 65536) == (DATA, {})


def test_yields_pieces_of_about_read_size() -> None:
    gen = _decode_chunked(Reader(chunked(DATA, SIZES), 1 << 20), 40_000)
    assert [len(piece) for piece in gen] == [40_960, 40_960, 18_080]


@pytest.mark.parametrize("cut", [3, 5000, 99_000, -3])
def test_truncation_raises(cut: int) -> None:
    raw = chunked(DATA, SIZES)[:cut]
    with pytest.raises(http.client.IncompleteRead):
        decode(raw, 4096)


def test_bad_framing_raises() -> None:
    with pytest.raises(http.client.IncompleteRead):
        decode(b"zz\r\nabc\r\n0\r\n\r\n", 4096)
    with pytest.raises(http.client.IncompleteRead):
        decode(b"3\r\nabcXY0\r\n\r\n", 4096)


def test_coalesce_joins_small_pieces_and_passes_big_ones() -> None:
    pieces = [b"a" * 10, b"b" * 10, b"C" * 100, b"d" * 5, b"e" * 22, b"f"]
    out = list(_coalesce(pieces, min_size=25))
    assert out == [b"a" * 10 + b"b" * 10, b"C" * 100, b"d" * 5 + b"e" * 22, b"f"]
    assert b"".join(out) == b"".join(pieces)
    assert list(_coalesce([], min_size=25)) == []
