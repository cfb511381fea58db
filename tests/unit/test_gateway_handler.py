"""The handler (no HTTP): ranges and entity-bytes over a real imported DAG give exactly
the bytes asked for, for any range (Hypothesis)."""

from __future__ import annotations

import io
import os

from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.content.car import CarReader
from ipfs_kit_py.content.random_access import VerifiedBlocks
from ipfs_kit_py.content.unixfs import ImportProfile
from ipfs_kit_py.gateway.dagwalk import file_range_blocks
from ipfs_kit_py.gateway.handler import GatewayHandler, Request
from ipfs_kit_py.gateway.params import HTTPError
from tests.gateway.blocks import MemoryBlocks, add_file

DATA = os.urandom(50_000)
BLOCKS = MemoryBlocks()
# small chunks and a narrow tree: several levels, so ranges cross node boundaries
CID = add_file(BLOCKS, DATA, ImportProfile(chunk_size=1000, max_links=4))
HANDLER = GatewayHandler(VerifiedBlocks([BLOCKS], cache_bytes=0))
FAST = settings(max_examples=150, deadline=None)


def get(path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    raw, _, query = path.partition("?")
    params = dict(p.split("=", 1) for p in query.split("&") if p)
    request = Request(
        "GET", raw.encode(), params, {k.lower(): v for k, v in headers.items()}, query
    )
    try:
        response = HANDLER.handle(request)
    except HTTPError as exc:
        return exc.status, exc.headers, b""
    body = response.body if isinstance(response.body, bytes) else b"".join(response.body)
    return response.status, response.headers, body


@FAST
@given(st.integers(0, len(DATA) + 10), st.integers(0, len(DATA) + 10))
def test_any_range_is_the_slice(first: int, last: int) -> None:
    status, headers, body = get(f"/ipfs/{CID}", Range=f"bytes={first}-{last}")
    if last < first:  # not a valid range: ignored (RFC 9110)
        assert status == 200 and body == DATA
    elif first >= len(DATA):
        assert status == 416
    else:
        assert status == 206 and body == DATA[first : last + 1]
        assert headers["content-length"] == str(len(body))


@FAST
@given(st.integers(0, len(DATA) - 1), st.integers(0, len(DATA) - 1))
def test_entity_bytes_car_covers_the_range_and_no_more(first: int, last: int) -> None:
    status, _, body = get(f"/ipfs/{CID}?format=car&entity-bytes={first}:{last}")
    assert status == 200
    sent = {bytes(b.cid) for b in CarReader(io.BytesIO(body))}
    lo, hi = min(first, last), max(first, last)
    needed = {
        bytes(c)
        for c, _, _ in file_range_blocks(
            CID, BLOCKS.get_block(CID), first, last + 1, BLOCKS.get_block
        )
    }
    if first > last:
        assert sent == {bytes(CID)}
    else:
        assert sent == needed
        pieces = b"".join(
            p
            for _, _, p in file_range_blocks(
                CID, BLOCKS.get_block(CID), lo, hi + 1, BLOCKS.get_block
            )
        )
        assert pieces == DATA[lo : hi + 1]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(max_size=12), max_size=5),
    st.dictionaries(
        st.sampled_from(
            [
                "format",
                "filename",
                "download",
                "dag-scope",
                "entity-bytes",
                "car-dups",
                "car-version",
            ]
        ),
        st.text(max_size=12),
        max_size=4,
    ),
    st.dictionaries(
        st.sampled_from(["accept", "range", "if-none-match", "cache-control", "service-worker"]),
        st.text(max_size=30),
        max_size=3,
    ),
)
def test_any_request_is_an_answer_or_a_4xx(
    segments: list[str], query: dict[str, str], headers: dict[str, str]
) -> None:
    from urllib.parse import quote, urlencode

    from ipfs_kit_py.errors import IpfsKitError

    path = "/".join(quote(s, safe="") for s in segments)
    qs = urlencode(query)
    request = Request("GET", f"/ipfs/{CID}/{path}".encode(), query, headers, qs)
    try:
        response = HANDLER.handle(request)
    except HTTPError as exc:
        assert 400 <= exc.status < 500
        return
    except IpfsKitError:
        return  # mapped by the app (404, 400, ...): tested over HTTP
    for value in response.headers.values():
        value.encode("ascii")  # every header value is plain ASCII
    if not isinstance(response.body, bytes):
        b"".join(response.body)
