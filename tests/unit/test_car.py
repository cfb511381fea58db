from __future__ import annotations

import io
import struct

import pytest

from ipfs_kit_py.content.blockstore import TempBlockStore
from ipfs_kit_py.content.car import CarReader, export_dag, write_car
from ipfs_kit_py.content.cid import CID
from ipfs_kit_py.content.unixfs import Block, ImportProfile, import_file
from ipfs_kit_py.errors import CARFormatError, ContentMismatchError, ContentNotFoundError

PROFILE = ImportProfile(chunk_size=100, max_links=3)


def _dag(size: int = 1000) -> tuple[Block, list[Block]]:
    blocks: list[Block] = []
    result = import_file([(bytes(range(256)) * (size // 256 + 1))[:size]], PROFILE, blocks.append)
    root = next(b for b in blocks if b.cid == result.cid)
    return root, blocks


def _car(blocks: list[Block], roots: list[CID] | None = None) -> bytes:
    out = io.BytesIO()
    write_car(out, roots if roots is not None else [blocks[-1].cid], blocks)
    return out.getvalue()


def test_round_trip_keeps_roots_and_blocks() -> None:
    _, blocks = _dag()
    reader = CarReader(io.BytesIO(_car(blocks)))
    assert reader.roots == [blocks[-1].cid]
    assert list(reader) == blocks


def test_empty_roots_header_is_the_canonical_encoding() -> None:
    assert _car([], roots=[]) == bytes.fromhex("11a265726f6f7473806776657273696f6e01")


def test_a_flipped_byte_in_any_block_is_caught() -> None:
    _, blocks = _dag()
    car = bytearray(_car(blocks))
    car[-1] ^= 0x01
    with pytest.raises(ContentMismatchError, match="does not match its CID"):
        list(CarReader(io.BytesIO(bytes(car))))


def test_every_truncation_is_a_format_error() -> None:
    _, blocks = _dag(300)
    car = _car(blocks)
    header_end = 1 + car[0]
    for cut in range(1, len(car)):
        data = car[:cut]
        if cut < header_end:
            with pytest.raises(CARFormatError):
                CarReader(io.BytesIO(data))
            continue
        reader = CarReader(io.BytesIO(data))
        try:
            got = list(reader)
        except CARFormatError:
            continue
        # a cut exactly on a section boundary is a shorter, valid CAR
        assert got == blocks[: len(got)]


@pytest.mark.parametrize(
    "bad",
    [b"", b"\x00", b"\x05abcde", b"\x02\xa0\x00", b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"],
)
def test_malformed_headers_are_format_errors(bad: bytes) -> None:
    with pytest.raises(CARFormatError):
        CarReader(io.BytesIO(bad))


def test_absurd_section_length_is_refused_before_reading() -> None:
    _, blocks = _dag()
    header = _car([], roots=[blocks[-1].cid])
    with pytest.raises(CARFormatError, match="out of range"):
        list(CarReader(io.BytesIO(header + b"\xff\xff\xff\xff\x0f")))


def test_carv2_payload_is_read() -> None:
    _, blocks = _dag()
    v1 = _car(blocks)
    pragma = bytes.fromhex("0aa16776657273696f6e02")
    data_offset = len(pragma) + 40
    header = bytes(16) + struct.pack("<QQQ", data_offset, len(v1), 0)
    reader = CarReader(io.BytesIO(pragma + header + v1 + b"index bytes ignored"))
    assert list(reader) == blocks


def test_export_dag_is_root_first_depth_first_and_deduplicated() -> None:
    root, blocks = _dag(1000)
    with TempBlockStore() as store:
        for b in blocks:
            store.put(b.cid, b.data)
        out = io.BytesIO()
        export_dag(out, root.cid, store.get)
    exported = list(CarReader(io.BytesIO(out.getvalue())))
    assert exported[0].cid == root.cid
    assert {b.cid for b in exported} == {b.cid for b in blocks}
    assert len(exported) == len({bytes(b.cid) for b in blocks})


def test_export_of_an_incomplete_dag_names_the_missing_block() -> None:
    root, blocks = _dag(1000)
    with TempBlockStore() as store:
        for b in blocks[1:]:
            store.put(b.cid, b.data)
        with pytest.raises(ContentNotFoundError, match=str(blocks[0].cid)):
            export_dag(io.BytesIO(), root.cid, store.get)


def test_v1_cids_read_from_a_car_print_in_base32() -> None:
    blocks: list[Block] = []
    profile = ImportProfile(chunk_size=100, raw_leaves=True, cid_version=1, max_links=3)
    result = import_file([b"z" * 1000], profile, blocks.append)
    reader = CarReader(io.BytesIO(_car(blocks)))
    assert [str(r) for r in reader.roots] == [str(result.cid)]
    assert all(str(b.cid).startswith("baf") for b in reader)


class _FailingStream(io.RawIOBase):
    """A stream that fails after ``good`` bytes (a stalled or reset HTTP body)."""

    def __init__(self, data: bytes, good: int, error: Exception) -> None:
        self.data, self.good, self.error, self.pos = data, good, error, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        if self.pos >= self.good:
            raise self.error
        n = min(len(buffer), self.good - self.pos)
        buffer[:n] = self.data[self.pos : self.pos + n]
        self.pos += n
        return n


def test_a_stream_failing_inside_the_header_is_its_own_error_not_a_format_error() -> None:
    """A peer stalling mid-header was reported as a bad CAR (a14b item 4); the real-server
    case: tests/integration/test_peer_attacks.py (drip)."""
    from ipfs_kit_py.errors import BackendUnavailableError

    out = io.BytesIO()
    write_car(out, [], [])
    header = out.getvalue()
    stalled = BackendUnavailableError("stalled: 18 bytes in the last 10s")
    stream = io.BufferedReader(_FailingStream(header, len(header) - 2, stalled))
    with pytest.raises(BackendUnavailableError, match="stalled"):
        list(CarReader(stream))
