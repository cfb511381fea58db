"""Hypothesis strategies for content: CIDs, dag-pb nodes, UnixFS data, blocks and CARs."""

from __future__ import annotations

import io

from hypothesis import strategies as st

from ipfs_kit_py.content.car import write_car
from ipfs_kit_py.content.cid import CID, DAG_CBOR, DAG_PB, RAW, make_cid, sha256_cid
from ipfs_kit_py.content.dagpb import PBLink, PBNode, UnixFSData, UnixFSType
from ipfs_kit_py.content.unixfs import Block

CODECS = [RAW, DAG_PB, DAG_CBOR, 0x0129, 0x0202]
BASES = ["base32", "base58btc", "base16", "base36", "base64", "base64url", "base32upper", "base2"]


@st.composite
def cids(draw: st.DrawFn) -> CID:
    """sha2-256 CIDs of both versions, and identity CIDs up to kubo's inline size."""
    if draw(st.booleans()):
        digest = draw(st.binary(min_size=32, max_size=32))
        if draw(st.booleans()):
            return make_cid(DAG_PB, digest, 0)
        return make_cid(draw(st.sampled_from(CODECS)), digest, 1)
    inline = draw(st.binary(max_size=128))
    codec = draw(st.sampled_from(CODECS))
    return CID("base32", 1, codec, ("identity", inline))


names = st.one_of(st.none(), st.text(max_size=40))
links = st.builds(PBLink, cids(), names, st.one_of(st.none(), st.integers(0, 2**63 - 1)))
pb_nodes = st.builds(
    PBNode, st.one_of(st.none(), st.binary(max_size=300)), st.lists(links, max_size=8)
)
unixfs_data = st.builds(
    UnixFSData,
    st.sampled_from(list(UnixFSType)),
    st.one_of(st.none(), st.binary(min_size=1, max_size=200)),
    st.one_of(st.none(), st.integers(0, 2**63 - 1)),
    st.lists(st.integers(0, 2**63 - 1), max_size=8).map(tuple),
    st.one_of(st.none(), st.integers(0, 2**63 - 1)),
    st.one_of(st.none(), st.integers(0, 2**63 - 1)),
)


@st.composite
def blocks(draw: st.DrawFn) -> Block:
    data = draw(st.binary(max_size=2000))
    codec = draw(st.sampled_from([RAW, DAG_PB, DAG_CBOR]))
    return Block(
        sha256_cid(codec, data, draw(st.sampled_from([0, 1])) if codec == DAG_PB else 1), data
    )


@st.composite
def cars(draw: st.DrawFn) -> tuple[bytes, list[CID], list[Block]]:
    """A valid CARv1: its bytes, its roots and its blocks in order."""
    body = draw(st.lists(blocks(), max_size=6))
    roots = draw(st.lists(cids(), max_size=3))
    out = io.BytesIO()
    write_car(out, roots, body)
    return out.getvalue(), roots, body


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with a few bytes flipped, cut, inserted or deleted."""
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "delete", "set"]))
        pos = draw(st.integers(0, max(0, len(buf) - 1)))
        if kind == "flip" and buf:
            buf[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del buf[pos:]
        elif kind == "insert":
            buf[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete" and buf:
            del buf[pos : pos + draw(st.integers(1, 8))]
        elif kind == "set" and buf:
            buf[pos] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0xFF]))
    return bytes(buf)


def _varint(value: int, padding: int) -> bytes:
    """``value`` as a varint, with ``padding`` redundant continuation bytes (non-minimal)."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value or padding:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
        if not value:
            padding -= 1
            if not padding:
                out.append(0)
                return bytes(out)


@st.composite
def cid_like_bytes(draw: st.DrawFn) -> bytes:
    """Binary CIDs from their grammar, canonical or not: any version, codec, hash code,
    declared and actual digest length, each varint possibly padded (non-minimal)."""

    def varint(value: int) -> bytes:
        return _varint(value, draw(st.integers(0, 2)))

    version = draw(st.sampled_from([1, 1, 1, 0, 2]))
    codec = draw(st.sampled_from([*CODECS, 0, 0x7F, 0x80, 0x3FFF]))
    code = draw(st.sampled_from([0x12, 0x12, 0x12, 0x00, 0x13, 0xB220]))
    digest = draw(st.one_of(st.binary(min_size=32, max_size=32), st.binary(max_size=70)))
    declared = draw(st.sampled_from([len(digest)] * 4 + [len(digest) + 1, 32]))
    multihash = varint(code) + varint(declared) + digest
    if version == 0 and draw(st.booleans()):
        return multihash
    return varint(version) + varint(codec) + multihash
