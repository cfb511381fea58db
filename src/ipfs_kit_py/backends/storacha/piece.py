"""Filecoin piece CIDs (FRC-0069 v2): fr32 padding, then a sha256-trunc254 binary tree.

The piece multihash (0x1011) digest is ``uvarint(padding) + height + root``, where
``padding`` is the count of zero bytes added to the payload before fr32 expansion and
``height`` is log2 of the tree's 32-byte leaf count.

The tree is hashed by the C extension ``ipfs_kit_py._piece`` (OpenSSL sha256, GIL released)
when it was built, else in pure Python: fr32 expansion column-wise with bytes.translate
and big-int ORs, then one hashlib call per node. Both produce the same digests; the tree
of a large buffer splits at batch boundaries over threads with the native code.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, cast

from multiformats import CID, multicodec, multihash, varint

from ipfs_kit_py.content.cid import load_multiformats

load_multiformats()  # piece CIDs are printed from worker threads

__all__ = [
    "BATCH_BYTES",
    "NATIVE",
    "PIECE_MULTIHASH",
    "PieceHasher",
    "batch_root",
    "piece_cid",
    "register_piece_multihash",
]

Buffer = bytes | bytearray | memoryview
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


class _Tree(Protocol):
    """A piece tree being fed: the native ``_piece.Hasher`` or ``_PureTree``."""

    @property
    def size(self) -> int: ...

    def update(self, data: Buffer, /) -> None: ...

    def add_root(self, node: Buffer, /) -> None:
        """Append the root of one full batch computed elsewhere (batch-aligned only)."""

    def root(self, height: int, /) -> bytes:
        """The root of the zero-padded tree of 2**height leaves over the bytes fed."""


class _NativeModule(Protocol):
    """What ``ipfs_kit_py._piece`` (src/ipfs_kit_py/_native/piece.c) provides."""

    BATCH_BYTES: int
    Hasher: Callable[[], _Tree]

    def batch_roots(self, data: Buffer, /) -> bytes: ...


def _load_native() -> _NativeModule | None:
    try:
        module = cast(_NativeModule, importlib.import_module("ipfs_kit_py._piece"))
    except ImportError:
        return None
    return module if module.BATCH_BYTES == BATCH_BYTES else None


_native = _load_native()
NATIVE = _native is not None  # the C extension is built and used


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


class _PureTree:
    """The piece tree in Python: a list of batch roots and the pending partial batch."""

    def __init__(self) -> None:
        self._pending = bytearray()
        self._roots: list[bytes] = []  # one node per full batch, at _BATCH_HEIGHT
        self.size = 0

    def update(self, data: Buffer, /) -> None:
        self.size += len(data)
        self._pending += data
        while len(self._pending) >= BATCH_BYTES:
            chunk = bytes(self._pending[:BATCH_BYTES])
            del self._pending[:BATCH_BYTES]
            self._roots.append(_pure_subtree(chunk, _BATCH_HEIGHT))

    def add_root(self, node: Buffer, /) -> None:
        if self._pending or len(node) != 32:
            raise ValueError("add_root needs a batch-aligned tree and a 32-byte node")
        self._roots.append(bytes(node))
        self.size += BATCH_BYTES

    def root(self, height: int, /) -> bytes:
        zeros = _zero_nodes(height)
        tail = bytes(self._pending) + bytes(-len(self._pending) % _QUAD_IN)
        if not tail and not self._roots:
            tail = bytes(_QUAD_IN)  # an empty payload is one quad of zero padding
        nodes = fr32_pad(tail)
        level = 0
        top = min(height, _BATCH_HEIGHT) if self._roots else height
        while level < top and nodes:
            if len(nodes) % 64:
                nodes += zeros[level]
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


def _pure_subtree(chunk: bytes, height: int) -> bytes:
    nodes: bytes | bytearray = fr32_pad(chunk)
    for _ in range(height - 1):  # the fr32 output already is level 0 (32-byte leaves)
        nodes = _reduce_level(nodes)
    return bytes(_reduce_level(nodes))


def _use_native(native: bool | None) -> _NativeModule | None:
    if native and _native is None:
        raise RuntimeError("the native piece extension (ipfs_kit_py._piece) is not built")
    return _native if native is not False else None


def batch_root(chunk: Buffer, *, native: bool | None = None) -> bytes:
    """The subtree root of one aligned ``BATCH_BYTES`` payload slice (for parallel work)."""
    if len(chunk) != BATCH_BYTES:
        raise ValueError(f"a batch is {BATCH_BYTES} bytes, got {len(chunk)}")
    impl = _use_native(native)
    return impl.batch_roots(chunk) if impl else _pure_subtree(bytes(chunk), _BATCH_HEIGHT)


class PieceHasher:
    """Streaming piece-CID computation: ``update`` bytes, then ``cid()``.

    ``native`` picks the implementation: None (default) the C extension when built, else
    Python; True requires the extension; False forces Python.
    """

    def __init__(self, *, native: bool | None = None) -> None:
        impl = _use_native(native)
        self._tree: _Tree = impl.Hasher() if impl else _PureTree()

    @classmethod
    def from_parts(
        cls, roots: list[bytes], tail: Buffer, *, native: bool | None = None
    ) -> PieceHasher:
        """Resume from batch roots computed elsewhere (in order) and the last partial batch."""
        if len(tail) >= BATCH_BYTES:
            raise ValueError("the tail must be shorter than one batch")
        hasher = cls(native=native)
        for root in roots:
            hasher._tree.add_root(root)
        hasher._tree.update(tail)
        return hasher

    @property
    def size(self) -> int:
        """Payload bytes fed so far."""
        return self._tree.size

    def update(self, data: Buffer) -> None:
        """Feed the next payload bytes."""
        self._tree.update(data)

    def digest(self) -> bytes:
        """Return the multihash digest: uvarint(padding) + height + root."""
        size = self._tree.size
        quads = max(1, -(-size // _QUAD_IN))
        leaves = 1 << max(2, (quads * 4 - 1).bit_length())
        height = leaves.bit_length() - 1
        padding = leaves * 32 * _QUAD_IN // _QUAD_OUT - size
        return bytes(varint.encode(padding)) + bytes([height]) + self._tree.root(height)

    def cid(self) -> CID:
        """Return the piece CID (v1, raw codec, multihash 0x1011)."""
        register_piece_multihash()
        digest = self.digest()
        mh = bytes(varint.encode(PIECE_MULTIHASH)) + bytes(varint.encode(len(digest))) + digest
        return CID("base32", 1, "raw", mh)


def piece_cid(data: Buffer, *, threads: int = 1, native: bool | None = None) -> CID:
    """Return the piece CID of ``data``.

    With the native code and ``threads`` > 1, the full batches are split into ``threads``
    contiguous runs hashed at once (the extension releases the GIL); Python ignores it.
    """
    hasher = PieceHasher(native=native)
    impl = _use_native(native)
    view = memoryview(data).cast("B")
    batches = len(view) // BATCH_BYTES
    if impl is None or threads < 2 or batches < 2:
        hasher.update(view)
        return hasher.cid()
    runs = min(threads, batches)
    cuts = [batches * i // runs * BATCH_BYTES for i in range(runs + 1)]
    parts = [view[a:b] for a, b in itertools.pairwise(cuts)]
    with ThreadPoolExecutor(runs - 1, thread_name_prefix="piece") as pool:
        futures = [pool.submit(impl.batch_roots, part) for part in parts[1:]]
        roots = impl.batch_roots(parts[0]) + b"".join(f.result() for f in futures)
    tail = view[cuts[-1] :]
    return PieceHasher.from_parts(
        [roots[i : i + 32] for i in range(0, len(roots), 32)], tail, native=True
    ).cid()
