"""Non-UnixFS content on the path gateway, on a real uvicorn server: json, cbor and
dag-cbor blocks served as they are with their media type, paths followed through
dag-cbor and dag-json links, and 501 for a path that ends inside (or goes through) other data."""

from __future__ import annotations

import io
from collections.abc import Iterator
from urllib.parse import quote

import dag_cbor
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.gateway.blocks import MemoryBlocks, add_file, gateway, serving

from ipfs_kit_py.content.car import CarReader
from ipfs_kit_py.content.cid import CID, DAG_CBOR, sha256_cid
from ipfs_kit_py.content.unixfs import Block

JSON, CBOR = 0x0200, 0x51


def put(blocks: MemoryBlocks, codec: int, data: bytes) -> CID:
    cid = sha256_cid(codec, data)
    blocks.put(Block(cid, data))
    return cid


@pytest.fixture(scope="module")
def content() -> tuple[MemoryBlocks, dict[str, CID]]:
    own = MemoryBlocks()
    readme = add_file(own, b"hello from a file\n")
    inner = put(own, DAG_CBOR, dag_cbor.encode({"leaf": readme, "note": "x"}))
    doc = {"docs": {"readme": readme}, "list": [inner, 5], "n": 1, "next": inner}
    cids = {
        "readme": readme,
        "inner": inner,
        "doc": put(own, DAG_CBOR, dag_cbor.encode(doc)),
        "json": put(own, JSON, b'{"a": 1}'),
        "cbor": put(own, CBOR, b"\xa1\x61\x61\x01"),
    }
    return own, cids


@pytest.fixture(scope="module")
def url(content: tuple[MemoryBlocks, dict[str, CID]]) -> Iterator[str]:
    with serving(gateway(content[0])) as base:
        yield base


def test_non_unixfs_blocks_are_served_as_they_are_with_their_media_type(
    url: str, content: tuple[MemoryBlocks, dict[str, CID]]
) -> None:
    own, cids = content
    for name, media in (
        ("json", "application/json"),
        ("cbor", "application/cbor"),
        ("doc", "application/vnd.ipld.dag-cbor"),
    ):
        r = httpx.get(f"{url}/ipfs/{cids[name]}", timeout=10)
        assert r.status_code == 200 and r.headers["content-type"] == media, name
        assert r.content == own.get_block(cids[name])
        assert r.headers["cache-control"] == "public, max-age=29030400, immutable"


def test_a_path_follows_dag_cbor_links_to_unixfs(
    url: str, content: tuple[MemoryBlocks, dict[str, CID]]
) -> None:
    _, cids = content
    doc = cids["doc"]
    for path in ("docs/readme", "next/leaf", "list/0/leaf"):
        r = httpx.get(f"{url}/ipfs/{doc}/{path}", timeout=10)
        assert r.status_code == 200 and r.text == "hello from a file\n", path
    r = httpx.get(f"{url}/ipfs/{doc}/next/leaf", timeout=10)
    roots = r.headers["x-ipfs-roots"].split(",")
    assert roots == [str(doc), str(cids["inner"]), str(cids["readme"])]
    r = httpx.get(f"{url}/ipfs/{doc}/list/0/leaf", timeout=10)
    roots = r.headers["x-ipfs-roots"].split(",")  # one per segment: "list" is in doc
    assert roots == [str(doc), str(doc), str(cids["inner"]), str(cids["readme"])]
    r = httpx.get(f"{url}/ipfs/{doc}/next/leaf?format=car", timeout=10)
    got = [b.cid for b in CarReader(io.BytesIO(r.content))]
    assert got == [doc, cids["inner"], cids["readme"]]  # the path's blocks, then the file


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("n", 501),  # ends at an integer inside the block
        ("docs", 501),  # ends at a map inside the block
        ("list/1", 501),
        ("nope", 404),
        ("list/7", 404),
        ("docs/readme/more", 404),  # nothing follows a file
    ],
)
def test_paths_that_end_inside_dag_cbor_data_are_501_and_absent_fields_404(
    url: str, content: tuple[MemoryBlocks, dict[str, CID]], path: str, status: int
) -> None:
    r = httpx.get(f"{url}/ipfs/{content[1]['doc']}/{path}", timeout=10)
    assert r.status_code == status, (path, r.text)
    assert "Traceback" not in r.text


def test_a_path_through_json_or_cbor_data_is_501(
    url: str, content: tuple[MemoryBlocks, dict[str, CID]]
) -> None:
    for name in ("json", "cbor"):
        assert httpx.get(f"{url}/ipfs/{content[1][name]}/a", timeout=10).status_code == 501


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    segments=st.lists(st.text(min_size=1, max_size=6).filter(lambda s: "/" not in s), max_size=4)
)
def test_any_path_into_dag_cbor_gets_a_defined_answer(
    url: str, content: tuple[MemoryBlocks, dict[str, CID]], segments: list[str]
) -> None:
    path = "/".join(quote(s, safe="") for s in segments)
    r = httpx.get(f"{url}/ipfs/{content[1]['doc']}/{path}", timeout=10)
    assert r.status_code in (200, 301, 400, 404, 501), (segments, r.status_code)


def test_a_hostile_dag_cbor_block_gets_501_not_500(url: str) -> None:
    own = MemoryBlocks()
    deep = put(own, DAG_CBOR, b"\x81" * 5000 + b"\x01")  # nested past Python's limit
    junk = put(own, DAG_CBOR, b"\xff\x00")
    with serving(gateway(own)) as base:
        for cid in (deep, junk):
            r = httpx.get(f"{base}/ipfs/{cid}/0", timeout=10)
            assert r.status_code == 501 and "Traceback" not in r.text, r.text


@pytest.mark.parametrize(
    ("name", "fmt", "status"),
    [
        ("json", "json", 200),
        ("cbor", "cbor", 200),
        ("doc", "dag-cbor", 200),
        ("json", "cbor", 406),  # no conversion between codecs (IPIP-524)
        ("doc", "dag-json", 406),
        ("doc", "json", 406),
        ("readme", "cbor", 406),
        ("readme", "dag-cbor", 406),
        ("readme", "json", 200),  # a UnixFS file is served for json
    ],
)
def test_a_format_is_served_only_by_its_own_codec(
    url: str, content: tuple[MemoryBlocks, dict[str, CID]], name: str, fmt: str, status: int
) -> None:
    own, cids = content
    media = {"json": "application/json", "cbor": "application/cbor"}.get(
        fmt, f"application/vnd.ipld.{fmt}"
    )
    for query, headers in ((f"?format={fmt}", {}), ("", {"accept": media})):
        r = httpx.get(f"{url}/ipfs/{cids[name]}{query}", headers=headers, timeout=10)
        assert r.status_code == status, (name, fmt, query, r.text)
        if status == 200 and name != "readme":  # a file keeps its own Content-Type
            assert r.headers["content-type"] == media
            expected = b"hello from a file\n" if name == "readme" else own.get_block(cids[name])
            assert r.content == expected


DAG_JSON = 0x0129


def test_a_path_follows_dag_json_links_and_hostile_blocks_get_501() -> None:
    own = MemoryBlocks()
    readme = add_file(own, b"hello from a file\n")
    inner = put(own, DAG_JSON, b'{"leaf":{"/":"%s"}}' % str(readme).encode())
    doc = b'{"b":{"/":{"bytes":"aGk"}},"bad":{"/":"nocid"},"l":[{"/":"%s"}],"n":1}' % (
        str(inner).encode()
    )
    root = put(own, DAG_JSON, doc)
    deep = put(own, DAG_JSON, b"[" * 5000 + b"]" * 5000)  # nested past Python's limit
    junk = put(own, DAG_JSON, b"{nope")
    with serving(gateway(own)) as base:
        r = httpx.get(f"{base}/ipfs/{root}/l/0/leaf", timeout=10)
        assert r.status_code == 200 and r.content == b"hello from a file\n"
        assert r.headers["x-ipfs-roots"] == f"{root},{root},{inner},{readme}"
        for path, status in (("n", 501), ("b", 501), ("l/1", 404), ("nope", 404), ("bad", 501)):
            got = httpx.get(f"{base}/ipfs/{root}/{path}", timeout=10)
            assert got.status_code == status, (path, got.status_code)
        for cid in (deep, junk):
            got = httpx.get(f"{base}/ipfs/{cid}/0", timeout=10)
            assert got.status_code == 501 and "Traceback" not in got.text, got.text


@settings(max_examples=40, deadline=None)
@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=4),
        lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=3), kids),
        max_leaves=8,
    ),
    segments=st.lists(st.text(min_size=1, max_size=4).filter(lambda s: "/" not in s), max_size=4),
)
def test_any_path_into_any_dag_json_gets_a_defined_answer(
    value: object, segments: list[str]
) -> None:
    import json

    from ipfs_kit_py.gateway.dagwalk import resolve
    from ipfs_kit_py.gateway.params import HTTPError

    own = MemoryBlocks()
    root = put(own, DAG_JSON, json.dumps(value, sort_keys=True).encode())
    try:
        resolve(root, tuple(segments), own.get_block)
    except HTTPError as exc:
        assert exc.status in (404, 501), exc.status
