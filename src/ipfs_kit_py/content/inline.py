"""Identity CIDs: content carried inside the CID itself (kubo's ``ipfs add --inline``).

An identity multihash "hashes" bytes to themselves, so ``bafkqablimvwgy3y`` (raw,
identity) *is* the five bytes ``hello``. Like kubo, reads answer such a CID from the
CID, without asking any store. A dag-pb identity CID holds a UnixFS node; it is read
as a file when every block it needs is inline too. Since a CID has at most
:data:`MAX_CID_BYTES`, the content it can expand to is small and bounded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ipfs_kit_py.content.cid import DAG_PB, IDENTITY, RAW, full_cid

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID, AnyCID

__all__ = ["inline_bytes", "is_inline"]


class _NotInline(Exception):
    """A block the inline DAG needs is stored elsewhere."""


def is_inline(cid: AnyCID) -> bool:
    """Whether ``cid`` carries its block in its digest (an identity multihash)."""
    return bool(cid.hashfun.code == IDENTITY)


def _inline_only(cid: CID) -> bytes:
    raise _NotInline(str(cid))


def inline_bytes(cid: AnyCID) -> bytes | None:
    """The content of an identity CID, or None if its content lives outside the CID.

    Raw identity CIDs are their digest; a dag-pb one is read as a UnixFS file whose
    blocks are all identity CIDs (None if it links to any other). Raises
    :class:`ContentMismatchError` for an inline node that is not a well-formed file.
    """
    if not is_inline(cid):
        return None
    code = cid.codec.code
    if code == RAW:
        return bytes(cid.raw_digest)
    if code != DAG_PB:
        return None
    # the DAG reader (and the HAMT code it loads) only for this rare kind of CID
    from ipfs_kit_py.content.dag import read_verified_file, verified_getter

    try:
        return b"".join(read_verified_file(full_cid(cid), verified_getter(_inline_only)))
    except _NotInline:
        return None
