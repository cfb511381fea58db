"""Non-UnixFS content on our gateway and on kubo's (a real daemon holding the same
blocks, imported from a CAR): json, cbor, dag-cbor and dag-json blocks, paths through
dag-cbor and dag-json links, and ``format`` against codec. Same status, Content-Type
and body, except where we follow the specs and kubo does not (``DIVERGENT``, also in
docs/gateway.md)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import dag_cbor
import httpx
import pytest

from ipfs_kit_py.content.car import encode_car_block, encode_car_header
from ipfs_kit_py.content.cid import CID, DAG_CBOR, sha256_cid
from ipfs_kit_py.content.unixfs import Block
from tests.gateway.blocks import MemoryBlocks, add_file, gateway, serving
from tests.servers.kubo import KuboNode

JSON, CBOR, DAG_JSON = 0x0200, 0x51, 0x0129


def dag_json(value: object) -> bytes:
    """Canonical dag-json: sorted keys, no spaces, links as ``{"/": "<cid>"}``, bytes
    as ``{"/": {"bytes": "<base64>"}}``."""

    def plain(v: object) -> object:
        if isinstance(v, CID):
            return {"/": str(v)}
        if isinstance(v, bytes):
            return {"/": {"bytes": base64.b64encode(v).decode().rstrip("=")}}
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, list):
            return [plain(x) for x in v]
        return v

    return json.dumps(plain(value), sort_keys=True, separators=(",", ":")).encode()


@pytest.fixture(scope="module")
def corpus() -> tuple[MemoryBlocks, dict[str, CID]]:
    own = MemoryBlocks()

    def put(codec: int, data: bytes) -> CID:
        cid = sha256_cid(codec, data)
        own.put(Block(cid, data))
        return cid

    readme = add_file(own, b"hello from a file\n")
    inner = put(DAG_CBOR, dag_cbor.encode({"leaf": readme, "note": "x"}))
    doc = {"docs": {"readme": readme}, "list": [inner, 5], "n": 1, "next": inner, "b": b"hi"}
    cids = {
        "README": readme,
        "INNER": inner,
        "DOC": put(DAG_CBOR, dag_cbor.encode(doc)),
        "JS": put(JSON, b'{"a": 1}'),
        "CB": put(CBOR, b"\xa1\x61\x61\x01"),
        "DJ": put(DAG_JSON, dag_json(doc)),
    }
    return own, cids


@pytest.fixture(scope="module")
def both(corpus: tuple[MemoryBlocks, dict[str, CID]], kubo: KuboNode) -> Iterator[tuple[str, str]]:
    own, cids = corpus
    blocks = [encode_car_block(c, own.get_block(c)) for c in cids.values()]
    car = encode_car_header([cids["DOC"]]) + b"".join(blocks)
    out = kubo.cli("dag", "import", "--pin-roots", input=car).stdout.decode()
    assert f"Pinned root\t{cids['DOC']}\tsuccess" in out
    with serving(gateway(own)) as url:
        yield url, kubo.gateway_url


SAME = [
    "DOC",
    "DOC/docs/readme",
    "DOC/next/leaf",
    "DOC/list/0/leaf",
    "DOC/n",
    "DOC/docs",
    "DOC/list/1",
    "DOC/nope",
    "DOC/list/7",
    "DOC/docs/readme/more",
    "JS",
    "CB",
    "JS/a",
    "JS?format=json",
    "CB?format=cbor",
    "DOC?format=dag-cbor",
    "DOC?format=dag-json",
    "DJ",
    "DJ/docs/readme",
    "DJ/next/leaf",
    "DJ/list/0/leaf",
    "DJ/n",
    "DJ/docs",
    "DJ/b",
    "DJ/list/1",
    "DJ/nope",
    "DJ/list/7",
    "DJ/docs/readme/more",
    "DJ?format=dag-json",
    "README?format=json",
    "README?format=dag-cbor",
]
# path: (ours, kubo's, why) where kubo answers otherwise
DIVERGENT = {
    "JS?format=cbor": (406, 400, "IPIP-524: a format that does not fit the codec SHOULD be 406"),
    "DOC?format=json": (406, 400, "IPIP-524: as above"),
    "README?format=cbor": (406, 200, "only json has the UnixFS-file exception; kubo serves any"),
}


def _get(base: str, path: str, cids: dict[str, CID]) -> httpx.Response:
    name, sep, rest = path.partition("/") if "?" not in path.split("/")[0] else (path, "", "")
    key, q, query = name.partition("?")
    url = f"{base}/ipfs/{cids[key]}{sep}{rest}{q}{query}"
    return httpx.get(url, timeout=30)


@pytest.mark.parametrize("path", SAME)
def test_the_same_answer_as_kubo(
    both: tuple[str, str], corpus: tuple[MemoryBlocks, dict[str, CID]], path: str
) -> None:
    ours, kubos = (_get(base, path, corpus[1]) for base in both)
    assert ours.status_code == kubos.status_code, (path, ours.text, kubos.text)
    assert ours.headers["content-type"] == kubos.headers["content-type"], path
    if ours.status_code == 200:
        assert ours.content == kubos.content, path
        assert ours.headers.get("x-ipfs-roots") == kubos.headers.get("x-ipfs-roots"), path


@pytest.mark.parametrize("path", sorted(DIVERGENT))
def test_known_divergences_from_kubo(
    both: tuple[str, str], corpus: tuple[MemoryBlocks, dict[str, CID]], path: str
) -> None:
    ours, kubos, _ = DIVERGENT[path]
    assert _get(both[0], path, corpus[1]).status_code == ours
    assert _get(both[1], path, corpus[1]).status_code == kubos
