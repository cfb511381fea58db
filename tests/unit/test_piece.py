"""Piece CIDs: the C extension and the pure-Python tree agree, with the JS vectors too."""

from __future__ import annotations

import os
import random

import pytest

from ipfs_kit_py.backends.storacha import piece
from ipfs_kit_py.backends.storacha.piece import (
    BATCH_BYTES,
    NATIVE,
    PieceHasher,
    batch_root,
    piece_cid,
)
from tests.unit.test_storacha_protocol import PIECES, _input

# The install scripts build the extension; a run where it is missing must say so, not
# skip, unless it is asked for (IPFS_KIT_ALLOW_NO_NATIVE=1, to test the fallback alone).
if not NATIVE and os.environ.get("IPFS_KIT_ALLOW_NO_NATIVE") != "1":
    raise RuntimeError("ipfs_kit_py._piece is not built: run scripts/install/00-python.sh")
needs_native = pytest.mark.skipif(not NATIVE, reason="IPFS_KIT_ALLOW_NO_NATIVE=1")
IMPLS = [pytest.param(True, marks=needs_native, id="native"), pytest.param(False, id="python")]

SCRATCH = 32 * 1024 * 127 // 128  # payload under the C scratch buffer (2^10 leaves)
SIZES = sorted(
    {0, 1, 31, 32, 65, 126, 127, 128, 253, 254, 255, 508, 1016, 1017, 2032, 2033}
    | {SCRATCH - 1, SCRATCH, SCRATCH + 1, 2 * SCRATCH + 127}
    | {BATCH_BYTES - 1, BATCH_BYTES, BATCH_BYTES + 1, 1 << 20, 2 * BATCH_BYTES + 5}
    | {4 * BATCH_BYTES, 4 * BATCH_BYTES + 1}
)


def _data(n: int, seed: int = 0) -> bytes:
    return random.Random(seed * 1_000_003 + n).randbytes(n)


def _fed(data: bytes, native: bool, rng: random.Random) -> str:
    """The CID of ``data`` fed in random splits (empty, tiny and large pieces)."""
    hasher = PieceHasher(native=native)
    at = 0
    while at < len(data):
        n = rng.choice([0, 1, 126, 127, 128, rng.randrange(1, 5000), rng.randrange(1, 400_000)])
        hasher.update(data[at : at + n])
        at += n
    return str(hasher.cid())


@pytest.mark.parametrize("native", IMPLS)
@pytest.mark.parametrize(("kind", "n"), list(PIECES))
def test_js_vectors(native: bool, kind: str, n: int) -> None:
    data = _input(kind, n)
    assert str(piece_cid(data, native=native)) == PIECES[(kind, n)]
    assert _fed(data, native, random.Random(n)) == PIECES[(kind, n)]


@needs_native
@pytest.mark.parametrize("n", SIZES)
def test_native_equals_python(n: int) -> None:
    data = _data(n)
    expected = str(piece_cid(data, native=False))
    assert str(piece_cid(data, native=True)) == expected
    assert _fed(data, True, random.Random(n)) == expected
    zeros = bytes(n)
    assert str(piece_cid(zeros, native=True)) == str(piece_cid(zeros, native=False))


@needs_native
def test_random_sizes_and_splits() -> None:
    rng = random.Random(2024)
    for i in range(40):
        n = rng.choice([rng.randrange(0, 3000), rng.randrange(0, 200_000)])
        data = _data(n, i)
        expected = str(piece_cid(data, native=False))
        assert _fed(data, True, rng) == expected, n
        assert _fed(data, False, rng) == expected, n


@needs_native
@pytest.mark.parametrize("threads", [2, 3, 8])
@pytest.mark.parametrize("n", [2 * BATCH_BYTES, 3 * BATCH_BYTES + 1000, 5 * BATCH_BYTES - 1])
def test_threads_split_at_batches(threads: int, n: int) -> None:
    data = bytearray(_data(n))
    assert piece_cid(data, threads=threads) == piece_cid(bytes(data), threads=1)


@pytest.mark.parametrize("native", IMPLS)
def test_from_parts_and_batch_root(native: bool) -> None:
    data = _data(3 * BATCH_BYTES + 999)
    roots = [
        batch_root(data[i * BATCH_BYTES : (i + 1) * BATCH_BYTES], native=native) for i in (0, 1, 2)
    ]
    assert roots == [
        batch_root(data[i * BATCH_BYTES : (i + 1) * BATCH_BYTES], native=False) for i in (0, 1, 2)
    ]
    hasher = PieceHasher.from_parts(roots, data[3 * BATCH_BYTES :], native=native)
    assert hasher.size == len(data)
    assert hasher.cid() == piece_cid(data, native=False)
    with pytest.raises(ValueError):
        batch_root(data[:100], native=native)
    with pytest.raises(ValueError):
        PieceHasher.from_parts(roots, data[:BATCH_BYTES], native=native)


@pytest.mark.parametrize("native", IMPLS)
def test_digest_does_not_consume(native: bool) -> None:
    data = _data(100_000)
    hasher = PieceHasher(native=native)
    hasher.update(data[:50_001])
    first = hasher.digest()
    assert hasher.digest() == first
    hasher.update(data[50_001:])
    assert hasher.cid() == piece_cid(data, native=False)


@needs_native
def test_native_rejects_bad_input() -> None:
    native = piece._native
    assert native is not None
    tree = native.Hasher()
    tree.update(bytes(5000))
    with pytest.raises(ValueError):
        tree.root(3)  # 5000 bytes need more than 8 leaves
    with pytest.raises(ValueError):
        tree.root(-1)
    with pytest.raises(ValueError):
        tree.add_root(bytes(32))  # not at a batch boundary
    with pytest.raises(ValueError):
        native.batch_roots(bytes(100))
    with pytest.raises(BufferError):
        tree.update(memoryview(bytes(300))[::2])  # not contiguous
    assert native.Hasher().root(5) == PieceHasher(native=False)._tree.root(5)  # all zeros


@needs_native
def test_hashers_in_parallel_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    datas = [_data(3 * BATCH_BYTES + i, i) for i in range(4)]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda d: piece_cid(d, native=True), datas))
    assert got == [piece_cid(d, native=False) for d in datas]
