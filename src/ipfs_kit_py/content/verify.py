"""Verification: do these bytes really belong to this CID?

A raw or any other single-block CID is checked by hashing the bytes; a dag-pb file root
by re-importing the bytes with the import profile that made it (recorded in the index,
or guessed from the CID) and comparing roots. Every failure is a
:class:`ContentMismatchError` naming the CID and what was found instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, BinaryIO

from ipfs_kit_py.content.cid import DAG_PB, SHA2_256, cid_key, short_cid
from ipfs_kit_py.content.cidvalue import Cid, raw_digest_of
from ipfs_kit_py.content.hashing import leaf_digests_of
from ipfs_kit_py.content.unixfs import (
    KUBO_CID_V1,
    KUBO_DEFAULT,
    STORACHA,
    FileImport,
    FileImporter,
    ImportProfile,
    import_file,
)
from ipfs_kit_py.errors import ContentMismatchError, InvalidInputError

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID

__all__ = [
    "ContentVerifier",
    "candidate_profiles",
    "read_verified",
    "verify_block",
    "verify_bytes",
    "verify_seekable",
    "verify_stream",
]

_IDENTITY = 0x00
KUBO_V1_PB_LEAVES = ImportProfile(cid_version=1)
KUBO_V0_RAW_LEAVES = ImportProfile(raw_leaves=True)  # `ipfs add --raw-leaves`


def _hasher(cid: CID) -> hashlib._Hash | None:
    code = cid.hashfun.code
    if code == SHA2_256:
        return hashlib.sha256()
    if code == _IDENTITY:
        return None
    raise InvalidInputError(
        f"cannot verify {short_cid(cid)}: unsupported hash function {cid.hashfun.name}"
    )


def verify_block(cid: CID, data: bytes | memoryview) -> None:
    """Raise :class:`ContentMismatchError` unless ``data`` hashes to ``cid``'s digest."""
    h = _hasher(cid)
    if h is None:
        actual = bytes(data)
    else:
        h.update(data)
        actual = h.digest()
    if actual != raw_digest_of(cid):
        raise ContentMismatchError(
            f"block {short_cid(cid)} does not match its CID: "
            f"its bytes hash to {actual.hex()[:16]}…",
            cid=str(cid),
            actual=actual.hex(),
        )


def candidate_profiles(cid: CID) -> list[ImportProfile]:
    """The import profiles that could have made the dag-pb file root ``cid``."""
    if cid.version == 0:
        return [KUBO_DEFAULT, KUBO_V0_RAW_LEAVES]
    return [KUBO_CID_V1, STORACHA, KUBO_V1_PB_LEAVES]


class ContentVerifier:
    """Feed content with :meth:`update`; :meth:`finish` raises if it is not ``cid``.

    ``profile`` says how a dag-pb root was imported; ``None`` tries the profiles of
    :func:`candidate_profiles` side by side (each costs one more hash pass). After
    :meth:`finish`, ``matched`` is the profile that rebuilt a dag-pb root (re-importing
    the bytes with it makes the same root), else None.
    """

    def __init__(self, cid: CID, profile: ImportProfile | None = None) -> None:
        self.cid = cid
        self.size = 0
        self._importers: list[FileImporter] = []
        self._hash: hashlib._Hash | None = None
        self._identity = bytearray()
        self.matched: ImportProfile | None = None
        if cid.codec.code == DAG_PB:
            profiles = [profile] if profile else candidate_profiles(cid)
            self._importers = [FileImporter(p) for p in profiles]
        else:
            self._hash = _hasher(cid)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Add the next bytes of the content."""
        self.size += len(data)
        for importer in self._importers:
            importer.update(data)
        if self._hash is not None:
            self._hash.update(data)
        elif not self._importers:
            self._identity += data

    def leaf_plan(self) -> tuple[int, bool] | None:
        """``(chunk_size, raw_leaves)`` when leaf digests may be fed instead of bytes
        (:meth:`add_leaf_digests`): one known profile and no bytes fed yet."""
        if len(self._importers) != 1 or self.size:
            return None
        profile = self._importers[0].profile
        return profile.chunk_size, profile.raw_leaves

    def add_leaf_digests(self, leaves: list[tuple[int, bytes]]) -> None:
        """Add the next leaves as ``(size, sha256 of the leaf block)`` (see leaf_plan)."""
        importer = self._importers[0]
        for size, digest in leaves:
            importer.add_leaf_digest(size, digest)
            self.size += size

    def finish(self) -> None:
        """Raise :class:`ContentMismatchError` unless the content was exactly ``cid``."""
        if self._importers:
            roots = [importer.finish().cid for importer in self._importers]
            for root, importer in zip(roots, self._importers, strict=True):
                if cid_key(root) == cid_key(self.cid):
                    self.matched = importer.profile
                    return
            found = ", ".join(
                f"{short_cid(root)} ({importer.profile.key()})"
                for root, importer in zip(roots, self._importers, strict=True)
            )
            raise ContentMismatchError(
                f"content of {self.size} bytes does not match {short_cid(self.cid)}: "
                f"it imports to {found}",
                cid=str(self.cid),
                actual=str(roots[0]),
            )
        actual = self._hash.digest() if self._hash is not None else bytes(self._identity)
        if actual != self.cid.raw_digest:
            raise ContentMismatchError(
                f"content of {self.size} bytes does not match {short_cid(self.cid)}: "
                f"it hashes to {actual.hex()[:16]}…",
                cid=str(self.cid),
                actual=actual.hex(),
            )


def verify_stream(
    cid: CID, chunks: Iterable[bytes], profile: ImportProfile | None = None
) -> Iterator[bytes]:
    """Pass ``chunks`` through; raise :class:`ContentMismatchError` after the last one
    if together they are not ``cid``. Callers must not commit the bytes before the end.
    """
    verifier = ContentVerifier(cid, profile)
    for chunk in chunks:
        verifier.update(chunk)
        yield chunk
    verifier.finish()


PARALLEL_FROM = 4 << 20  # below this, one thread hashes faster than a pool starts


def verify_seekable(f: BinaryIO, cid: CID, profile: ImportProfile | None = None) -> int:
    """Verify the whole of the seekable file ``f`` against ``cid``; return its size.

    A dag-pb root of :data:`PARALLEL_FROM` bytes or more is re-imported with the
    parallel leaf hasher (a regular file is read by the hashing workers themselves);
    profiles are tried one at a time until one matches, so the usual case costs one
    pass. A smaller file is read once and checked on this thread. ``f`` is left at its end.
    """
    size = f.seek(0, 2)
    f.seek(0)
    if cid.codec.code != DAG_PB or size < PARALLEL_FROM:
        verify_bytes(f.read(), cid, profile)
        return size
    return _check_roots(cid, profile, lambda p: (f.seek(0), import_file(f, p))[1])


def read_verified(f: BinaryIO, cid: CID, profile: ImportProfile | None = None) -> bytes:
    """Read the whole seekable file ``f`` once and verify its bytes against ``cid``.

    A large dag-pb file's leaves are hashed from memory on worker threads (with the
    recorded profile, or the likeliest candidate first). Raises :class:`ContentMismatchError`.
    """
    f.seek(0)
    data = f.read()
    verify_bytes(data, cid, profile)
    return data


def _importer_of(data: bytes) -> Callable[[ImportProfile], FileImport]:
    def imported(p: ImportProfile) -> FileImport:
        importer = FileImporter(p)
        if len(data) < PARALLEL_FROM:
            importer.update(data)
        else:
            for chunk, digest in leaf_digests_of(data, p.chunk_size, p.raw_leaves):
                importer.add_leaf(chunk, digest)
        return importer.finish()

    return imported


def verify_bytes(data: bytes, cid: CID, profile: ImportProfile | None = None) -> None:
    """Raise :class:`ContentMismatchError` unless ``data`` is the content of ``cid``."""
    if cid.codec.code != DAG_PB:
        verifier = ContentVerifier(cid, profile)
        verifier.update(data)
        verifier.finish()
        return
    _check_roots(cid, profile, _importer_of(data))


def _is_root(result: FileImport, cid: CID) -> bool:
    """True if ``result``'s root is ``cid`` (either CID version), compared as a light
    :class:`Cid` so that a read path check needs no multiformats."""
    root = Cid.from_bytes(result.raw_cid)
    if root is None:
        return cid_key(result.cid) == cid_key(cid)
    return (root.codec_code, root.hash_code, root.raw_digest) == (
        cid.codec.code,
        cid.hashfun.code,
        cid.raw_digest,
    )


def _check_roots(
    cid: CID,
    profile: ImportProfile | None,
    imported: Callable[[ImportProfile], FileImport],
) -> int:
    """Import with each candidate profile in turn; return the size once one makes
    ``cid``, else raise :class:`ContentMismatchError`."""
    profiles = [profile] if profile else candidate_profiles(cid)
    results: list[tuple[ImportProfile, FileImport]] = []
    for candidate in profiles:
        result = imported(candidate)
        if _is_root(result, cid):
            return result.size
        results.append((candidate, result))
    size = results[0][1].size
    roots = [r.cid for _, r in results]
    found = ", ".join(f"{short_cid(r.cid)} ({p.key()})" for p, r in results)
    raise ContentMismatchError(
        f"content of {size} bytes does not match {short_cid(cid)}: it imports to {found}",
        cid=str(cid),
        actual=str(roots[0]),
    )
