"""Filecoin piece CIDs (FRC-0069 v2): fr32 padding, then a sha256-trunc254 binary tree.

The piece multihash (0x1011) digest is ``uvarint(padding) + height + root``, where
``padding`` is the count of zero bytes added to the payload before fr32 expansion and
``height`` is log2 of the tree's 32-byte leaf count. fr32 expansion is done column-wise
with bytes.translate and big-int ORs, so the cost is the tree's sha256 calls.
"""

from __future__ import annotations

import hashlib
import threading

from multiformats import CID, multicodec, multihash, varint

__all__ = [
    "BATCH_BYTES",
    "PIECE_MULTIHASH",
    "PieceHasher",
    "batch_root",
    "piece_cid",
    "register_piece_multihash",
]

PIECE_MULTIHASH = 0x1011
_NAME = "fr32-sha2-256-trunc254-padded-binary-tree"
_QUAD_IN, _QUAD_OUT = 127, 128
_BATCH_QUADS = 8192  # 1,040,384 input bytes -> a subtree of 2^15 leaves
_BATCH_HEIGHT = 15
BATCH_BYTES = _BATCH_QUADS * _QUAD_IN  # payload bytes under one independent subtree
_MASK6 = bytes(b & 0x3F for b in range(256))
_SHR = {s: bytes(b >> s for b in range(256)) for s in (2, 4, 6)}
_SHL = {s: bytes((b << s) & 0xFF for b in range(256)) for s in (2, 4, 6)}
_lock = threading.Lock()


def register_piece_multihash() -> None:
    """Teach multiformats the piece multihash so receipts carrying piece CIDs decode."""
    with _lock:
        try:
            multicodec.get(code=PIECE_MULTIHASH)
            return
        except Exception:
            pass
        codec = multicodec.Multicodec(_NAME, "multihash", PIECE_MULTIHASH, "permanent")
        multicodec.register(codec)
        multihash.raw.register(_NAME, _no_hashfun, None)


def _no_hashfun(data: bytes | bytearray | memoryview, size: int | None = None) -> bytes:
    raise NotImplementedError("use PieceHasher to compute piece digests")


def _or(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "little") | int.from_bytes(b, "little")).to_bytes(len(a), "little")


def fr32_pad(data: bytes) -> bytearray:
    """Expand whole 127-byte quads to 128 bytes: 2 zero bits after every 254 bits."""
    n = len(data) // _QUAD_IN
    out = bytearray(n * _QUAD_OUT)
    for k in range(32):  # segment 0: bytes 0..31, the last with its top 2 bits cleared
        col = data[k::_QUAD_IN]
        out[k::_QUAD_OUT] = col.translate(_MASK6) if k == 31 else col
    for seg, start, shift in ((1, 31, 6), (2, 63, 4), (3, 95, 2)):
        for k in range(32):
            low = data[start + k :: _QUAD_IN].translate(_SHR[shift])
            if start + k + 1 < _QUAD_IN:
                high = data[start + k + 1 :: _QUAD_IN].translate(_SHL[8 - shift])
                low = _or(low, high)
            out[seg * 32 + k :: _QUAD_OUT] = low.translate(_MASK6) if k == 31 else low
    return out


def _reduce_level(nodes: bytes | bytearray) -> bytearray:
    sha = hashlib.sha256
    data = bytes(nodes)  # slicing bytes is cheaper than memoryview for 64-byte inputs
    out = bytearray(b"".join([sha(data[i : i + 64]).digest() for i in range(0, len(data), 64)]))
    out[31::32] = out[31::32].translate(_MASK6)
    return out


def _zero_nodes(height: int) -> list[bytes]:
    zeros = [bytes(32)]
    for _ in range(height):
        zeros.append(bytes(_reduce_level(zeros[-1] * 2)))
    return zeros


def batch_root(chunk: bytes) -> bytes:
    """The subtree root of one aligned ``BATCH_BYTES`` payload slice (for parallel work)."""
    if len(chunk) != BATCH_BYTES:
        raise ValueError(f"a batch is {BATCH_BYTES} bytes, got {len(chunk)}")
    return PieceHasher._subtree(chunk, _BATCH_HEIGHT)


class PieceHasher:
    """Streaming piece-CID computation: ``update`` bytes, then ``cid()``."""

    def __init__(self) -> None:
        self._pending = bytearray()
        self._roots: list[bytes] = []  # one node per full batch, at _BATCH_HEIGHT
        self._size = 0

    @classmethod
    def from_parts(cls, roots: list[bytes], tail: bytes) -> PieceHasher:
        """Resume from batch roots computed elsewhere (in order) and the last partial batch."""
        if len(tail) >= BATCH_BYTES:
            raise ValueError("the tail must be shorter than one batch")
        hasher = cls()
        hasher._roots = list(roots)
        hasher._pending = bytearray(tail)
        hasher._size = len(roots) * BATCH_BYTES + len(tail)
        return hasher

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Feed the next payload bytes."""
        self._size += len(data)
        self._pending += data
        batch = _BATCH_QUADS * _QUAD_IN
        while len(self._pending) >= batch:
            chunk = bytes(self._pending[:batch])
            del self._pending[:batch]
            self._roots.append(self._subtree(chunk, _BATCH_HEIGHT))

    @staticmethod
    def _subtree(chunk: bytes, height: int) -> bytes:
        nodes: bytes | bytearray = fr32_pad(chunk)
        for _ in range(height - 1):  # the fr32 output already is level 0 (32-byte leaves)
            nodes = _reduce_level(nodes)
        return bytes(_reduce_level(nodes))

    def digest(self) -> bytes:
        """Return the multihash digest: uvarint(padding) + height + root."""
        quads = max(1, -(-self._size // _QUAD_IN))
        leaves = 1 << max(2, (quads * 4 - 1).bit_length())
        height = leaves.bit_length() - 1
        padding = leaves * 32 * _QUAD_IN // _QUAD_OUT - self._size
        zeros = _zero_nodes(height)
        tail = bytes(self._pending) + bytes(-len(self._pending) % _QUAD_IN)
        if not tail and not self._roots:
            tail = bytes(_QUAD_IN)  # an empty payload is one quad of zero padding
        level_nodes = bytearray(fr32_pad(tail)) if tail else bytearray()
        return (
            bytes(varint.encode(padding)) + bytes([height]) + self._root(level_nodes, zeros, height)
        )

    def _root(self, nodes: bytearray, zeros: list[bytes], height: int) -> bytes:
        level = 0
        top = min(height, _BATCH_HEIGHT) if self._roots else height
        while level < top:
            if len(nodes) % 64:
                nodes += zeros[level]
            if not nodes:
                break
            nodes = _reduce_level(nodes)
            level += 1
        if self._roots:
            nodes = bytearray(b"".join(self._roots)) + nodes
            level = _BATCH_HEIGHT
        while level < height:
            if len(nodes) % 64:
                nodes += zeros[level]
            nodes = _reduce_level(nodes)
            level += 1
        return bytes(nodes[:32])

    def cid(self) -> CID:
        """Return the piece CID (v1, raw codec, multihash 0x1011)."""
        register_piece_multihash()
        digest = self.digest()
        mh = bytes(varint.encode(PIECE_MULTIHASH)) + bytes(varint.encode(len(digest))) + digest
        return CID("base32", 1, "raw", mh)


def piece_cid(data: bytes) -> CID:
    """Return the piece CID of ``data``."""
    hasher = PieceHasher()
    hasher.update(data)
    return hasher.cid()
