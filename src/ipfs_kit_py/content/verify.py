"""Verification: do these bytes really belong to this CID?

A raw or any other single-block CID is checked by hashing the bytes; a dag-pb file root
by re-importing the bytes with the import profile that made it (recorded in the index,
or guessed from the CID) and comparing roots. Every failure is a
:class:`ContentMismatchError` naming the CID and what was found instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from ipfs_kit_py.content.cid import DAG_PB, SHA2_256, cid_key, short_cid
from ipfs_kit_py.content.unixfs import (
    KUBO_CID_V1,
    KUBO_DEFAULT,
    STORACHA,
    FileImporter,
    ImportProfile,
)
from ipfs_kit_py.errors import ContentMismatchError, InvalidInputError

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID

__all__ = ["ContentVerifier", "candidate_profiles", "verify_block", "verify_stream"]

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
    if actual != cid.raw_digest:
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
    :func:`candidate_profiles` side by side (each costs one more hash pass).
    """

    def __init__(self, cid: CID, profile: ImportProfile | None = None) -> None:
        self.cid = cid
        self.size = 0
        self._importers: list[FileImporter] = []
        self._hash: hashlib._Hash | None = None
        self._identity = bytearray()
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
            if any(cid_key(root) == cid_key(self.cid) for root in roots):
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
