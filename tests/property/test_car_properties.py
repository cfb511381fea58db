"""CARs: valid ones round-trip (v1 and v2); arbitrary or mutated bytes answer typed.

A reader that verifies never yields a block whose bytes do not hash to its CID; an
extraction of a mutated CAR either writes the whole tree or leaves nothing.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipfs_kit_py.content.archive import verify_car
from ipfs_kit_py.content.car import CarReader, write_car
from ipfs_kit_py.content.cid import CID
from ipfs_kit_py.content.directory import import_directory
from ipfs_kit_py.content.extract import ExtractLimits, extract_car
from ipfs_kit_py.content.unixfs import Block
from ipfs_kit_py.content.verify import verify_block
from ipfs_kit_py.errors import IpfsKitError
from tests.property.strategies import cars, mutated

CARV2_PRAGMA = bytes.fromhex("0aa16776657273696f6e02")


def carv2(payload: bytes, padding: int = 0) -> bytes:
    header = struct.pack("<QQQ", 51 + padding, len(payload), 0)
    return CARV2_PRAGMA + bytes(16) + header + bytes(padding) + payload


def read_all(data: bytes) -> tuple[list[CID], list[Block]]:
    reader = CarReader(io.BytesIO(data))
    return reader.roots, list(reader)


@settings(max_examples=200, deadline=None)
@given(cars(), st.integers(0, 64))
def test_valid_cars_round_trip_as_v1_and_v2(
    car: tuple[bytes, list[CID], list[Block]], pad: int
) -> None:
    data, roots, blocks = car
    for form in (data, carv2(data, pad)):
        got_roots, got_blocks = read_all(form)
        assert got_roots == roots and got_blocks == blocks


def read_or_typed_error(data: bytes) -> None:
    try:
        reader = CarReader(io.BytesIO(data))
        for block in reader:
            verify_block(block.cid, block.data)  # what the reader yields is what it claims
    except IpfsKitError:
        pass
    with contextlib.suppress(IpfsKitError):
        verify_car(io.BytesIO(data))


@settings(max_examples=1000, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.binary(max_size=300).map(lambda b: CARV2_PRAGMA + b)))
def test_arbitrary_bytes_read_or_raise_typed(data: bytes) -> None:
    read_or_typed_error(data)


@settings(max_examples=500, deadline=None)
@given(cars().flatmap(lambda car: st.one_of(mutated(car[0]), mutated(carv2(car[0])))))
def test_mutated_cars_read_or_raise_typed(data: bytes) -> None:
    read_or_typed_error(data)


def _tree_car() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        return _car_of_tree(Path(tmp) / "src")


def _car_of_tree(src: Path) -> bytes:
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_bytes(b"alpha" * 50)
    (src / "sub" / "b.bin").write_bytes(bytes(range(256)) * 4)
    (src / "sub" / "empty").write_bytes(b"")
    (src / "link").symlink_to("a.txt")
    blocks: list[Block] = []
    root = import_directory(src, on_block=blocks.append).cid
    out = io.BytesIO()
    write_car(out, [root], blocks)
    return out.getvalue()


TREE_CAR = _tree_car()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(TREE_CAR))
def test_extracting_a_mutated_car_writes_all_or_nothing(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        target = os.path.join(tmp, "out")
        try:
            extract_car(io.BytesIO(data), target, limits=ExtractLimits(max_bytes=1 << 20))
        except IpfsKitError:
            assert os.listdir(tmp) == []
            return
        assert os.listdir(tmp) == ["out"]
        assert not [n for _, _, names in os.walk(target) for n in names if ".ipfs-kit" in n]
