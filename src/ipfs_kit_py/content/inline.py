"""Identity CIDs: content carried inside the CID itself (kubo's ``ipfs add --inline``).

An identity multihash "hashes" bytes to themselves, so ``bafkqablimvwgy3y`` (raw,
identity) *is* the five bytes ``hello``. Like kubo, reads answer such a CID from the
CID, without asking any store. A dag-pb identity CID holds a UnixFS node; it is read
as a file when every block it needs is inline too. An identity CID of any other codec
(dag-cbor, dag-json, ...) holds a block that is no file: reading it as one is a
:class:`NotAFileError` that says so, not a search of the tiers. Since a CID has at most
:data:`MAX_CID_BYTES`, the content it can expand to is small and bounded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ipfs_kit_py.content.cid import DAG_PB, IDENTITY, RAW, full_cid
from ipfs_kit_py.errors import NotAFileError

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID, AnyCID

__all__ = ["check_inline_file", "inline_bytes", "is_inline"]


class _NotInline(Exception):
    """A block the inline DAG needs is stored elsewhere."""


def is_inline(cid: AnyCID) -> bool:
    """Whether ``cid`` carries its block in its digest (an identity multihash)."""
    return bool(cid.hashfun.code == IDENTITY)


def check_inline_file(cid: AnyCID) -> None:
    """Raise :class:`NotAFileError` if ``cid`` is an identity CID whose codec is not UnixFS
    (neither raw nor dag-pb): its block is in the CID, and it is no file."""
    if is_inline(cid) and cid.codec.code not in (RAW, DAG_PB):
        codec = cid.codec.name
        raise NotAFileError(
            f"{cid} is an inline {codec} block: its {len(cid.raw_digest)} bytes are carried "
            f"in the CID itself (an identity hash), and a {codec} block is not a UnixFS "
            f"file, so it has no file content to read (decode it as {codec}, e.g. with "
            "kubo's `ipfs dag get`)"
        )


def _inline_only(cid: CID) -> bytes:
    raise _NotInline(str(cid))


def inline_bytes(cid: AnyCID) -> bytes | None:
    """The content of an identity CID, or None if its content lives outside the CID.

    Raw identity CIDs are their digest; a dag-pb one is read as a UnixFS file whose
    blocks are all identity CIDs (None if it links to any other). Raises
    :class:`ContentMismatchError` for an inline node that is not a well-formed file and
    :class:`NotAFileError` for an inline block of another codec.
    """
    if not is_inline(cid):
        return None
    check_inline_file(cid)
    code = cid.codec.code
    if code == RAW:
        return bytes(cid.raw_digest)
    # the DAG reader (and the HAMT code it loads) only for this rare kind of CID
    from ipfs_kit_py.content.dag import read_verified_file, verified_getter

    try:
        return b"".join(read_verified_file(full_cid(cid), verified_getter(_inline_only)))
    except _NotInline:
        return None
