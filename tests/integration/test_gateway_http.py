"""The gateway over a real uvicorn server on 127.0.0.1: path and trustless answers,
status codes and headers (the clauses of docs/gateway.md), limits, verification.

Content is imported by the kit's own importer (byte-identical to ``ipfs add``, checked
against kubo elsewhere) into an in-memory block map the gateway serves.
"""

from __future__ import annotations

import io
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.gateway.blocks import MemoryBlocks, add_file, add_tree, gateway, serving

from ipfs_kit_py.content.car import CarReader
from ipfs_kit_py.content.cid import CID, parse_cid
from ipfs_kit_py.content.dag import load_node
from ipfs_kit_py.content.hamt import ShardingPolicy
from ipfs_kit_py.content.unixfs import KUBO_CID_V1
from ipfs_kit_py.gateway.dagwalk import file_range_blocks

IMMUTABLE = "public, max-age=29030400, immutable"
BIG = os.urandom(700_000)  # three 256 KiB chunks under a dag-pb root
NAMES = ["a.txt", '<b>&"q.txt', "ünï cödé.txt", "empty"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tree")
    (root / "a.txt").write_text("hello\n")
    (root / '<b>&"q.txt').write_text("x")
    (root / "ünï cödé.txt").write_text("unicode")
    (root / "中文.txt").write_text("cjk")
    (root / "empty").write_bytes(b"")
    (root / "big.bin").write_bytes(BIG)
    (root / "site").mkdir()
    (root / "site" / "index.html").write_text("<h1>site</h1>")
    (root / "site" / "style.css").write_text("h1{}")
    (root / "many").mkdir()
    for i in range(60):
        (root / "many" / f"f{i:03}.txt").write_text(f"file {i}\n")
    return root


@pytest.fixture(scope="module")
def blocks() -> MemoryBlocks:
    return MemoryBlocks()


@pytest.fixture(scope="module")
def root(blocks: MemoryBlocks, tree: Path) -> CID:
    return add_tree(blocks, tree)


@pytest.fixture(scope="module")
def hamt_root(blocks: MemoryBlocks, tree: Path) -> CID:
    """The same tree with every directory a HAMT of fanout 8 (several levels)."""
    return add_tree(blocks, tree, KUBO_CID_V1, ShardingPolicy(threshold=1, fanout=8))


@pytest.fixture(scope="module")
def client(blocks: MemoryBlocks) -> Iterator[httpx.Client]:
    with serving(gateway(blocks)) as url, httpx.Client(base_url=url, timeout=30) as c:
        yield c


def car_blocks(body: bytes) -> list[tuple[CID, bytes]]:
    return [(b.cid, b.data) for b in CarReader(io.BytesIO(body))]  # verifies every block


# -- path gateway ------------------------------------------------------------------------


def test_file_bytes_headers_and_cache_control(client: httpx.Client, root: CID) -> None:
    r = client.get(f"/ipfs/{root}/big.bin")
    assert r.status_code == 200 and r.content == BIG
    assert r.headers["cache-control"] == IMMUTABLE
    assert r.headers["content-length"] == str(len(BIG))
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["x-ipfs-path"] == f"/ipfs/{root}/big.bin"
    roots = r.headers["x-ipfs-roots"].split(",")
    assert roots[0] == str(root) and len(roots) == 2
    assert r.headers["etag"] == f'"{roots[1]}"'


def test_content_type_from_name_then_bytes(client: httpx.Client, root: CID) -> None:
    assert client.get(f"/ipfs/{root}/a.txt").headers["content-type"].startswith("text/plain")
    css = client.get(f"/ipfs/{root}/site/style.css")
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    sniffed = client.get(f"/ipfs/{root}/empty")
    assert sniffed.status_code == 200 and sniffed.content == b""


def test_head_has_the_headers_and_no_body(client: httpx.Client, root: CID) -> None:
    r = client.head(f"/ipfs/{root}/big.bin")
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-length"] == str(len(BIG))
    assert r.headers["etag"] == client.get(f"/ipfs/{root}/big.bin").headers["etag"]


@pytest.mark.parametrize(
    ("header", "start", "stop"),
    [
        ("bytes=0-0", 0, 1),
        ("bytes=262140-262150", 262140, 262151),
        ("bytes=-10", 699990, 700000),
        ("bytes=699999-", 699999, 700000),
        ("bytes=100-99999999", 100, 700000),
    ],
)
def test_single_range_is_206_with_content_range(
    client: httpx.Client, root: CID, header: str, start: int, stop: int
) -> None:
    r = client.get(f"/ipfs/{root}/big.bin", headers={"Range": header})
    assert r.status_code == 206
    assert r.content == BIG[start:stop]
    assert r.headers["content-range"] == f"bytes {start}-{stop - 1}/{len(BIG)}"


def test_unsatisfiable_range_is_416(client: httpx.Client, root: CID) -> None:
    r = client.get(f"/ipfs/{root}/big.bin", headers={"Range": "bytes=700000-"})
    assert r.status_code == 416
    assert r.headers["content-range"] == f"bytes */{len(BIG)}"


def test_multi_range_gets_the_whole_body(client: httpx.Client, root: CID) -> None:
    r = client.get(f"/ipfs/{root}/big.bin", headers={"Range": "bytes=0-1,5-6"})
    assert r.status_code == 200 and r.content == BIG


def test_if_none_match_is_304_without_body(client: httpx.Client, root: CID) -> None:
    etag = client.head(f"/ipfs/{root}/a.txt").headers["etag"]
    for tag in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        r = client.get(f"/ipfs/{root}/a.txt", headers={"If-None-Match": tag})
        assert r.status_code == 304 and r.content == b""
        assert r.headers["etag"] == etag and r.headers["cache-control"] == IMMUTABLE
    assert client.get(f"/ipfs/{root}/a.txt", headers={"If-None-Match": '"x"'}).status_code == 200


def test_directory_without_slash_redirects_301(client: httpx.Client, root: CID) -> None:
    r = client.get(f"/ipfs/{root}/site?x=1")
    assert r.status_code == 301
    assert r.headers["location"] == f"/ipfs/{root}/site/?x=1"
    assert client.get(f"/ipfs/{root}").headers["location"] == f"/ipfs/{root}/"


def test_index_html_wins_over_the_listing(client: httpx.Client, root: CID) -> None:
    r = client.get(f"/ipfs/{root}/site/")
    assert r.status_code == 200 and r.text == "<h1>site</h1>"
    assert r.headers["content-type"] == "text/html"


def test_listing_escapes_names_and_links_work(client: httpx.Client, root: CID) -> None:
    r = client.get(f"/ipfs/{root}/")
    assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["etag"].startswith('"DirIndex-')
    page = r.text
    assert '<b>&"q.txt' not in page and "&lt;b&gt;&amp;&quot;q.txt" in page
    assert 'href="./%3Cb%3E%26%22q.txt"' in page
    linked = client.get(f"/ipfs/{root}/%3Cb%3E%26%22q.txt")
    assert linked.status_code == 200 and linked.text == "x"
    assert client.get(f"/ipfs/{root}/%C3%BCn%C3%AF%20c%C3%B6d%C3%A9.txt").text == "unicode"
    cjk = client.get(f"/ipfs/{root}/%E4%B8%AD%E6%96%87.txt")
    assert cjk.text == "cjk" and cjk.headers["x-ipfs-path"].endswith("/%E4%B8%AD%E6%96%87.txt")


def test_hamt_paths_resolve_and_list(client: httpx.Client, hamt_root: CID) -> None:
    for i in (0, 17, 59):
        r = client.get(f"/ipfs/{hamt_root}/many/f{i:03}.txt")
        assert r.status_code == 200 and r.text == f"file {i}\n"
        assert len(r.headers["x-ipfs-roots"].split(",")) == 3  # no shard nodes in roots
    page = client.get(f"/ipfs/{hamt_root}/many/").text
    assert all(f"f{i:03}.txt" in page for i in range(60))
    assert client.get(f"/ipfs/{hamt_root}/many/nope").status_code == 404


def test_download_and_filename_set_content_disposition(client: httpx.Client, root: CID) -> None:
    r = client.get(f"/ipfs/{root}/a.txt?download=true&filename=report.txt")
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"report.txt\"; filename*=UTF-8''report.txt"
    )
    r = client.get(f"/ipfs/{root}/a.txt?filename=r.txt")
    assert r.headers["content-disposition"] == "inline; filename=\"r.txt\"; filename*=UTF-8''r.txt"
    r = client.get(f"/ipfs/{root}/a.txt?filename=%C3%A9t%C3%A9.txt")
    assert r.headers["content-disposition"] == (
        "inline; filename=\"_t_.txt\"; filename*=UTF-8''%C3%A9t%C3%A9.txt"
    )


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/ipfs/not-a-cid", 400),
        ("/ipfs/", 400),
        ("/ipfs/bafkqaaa/../..", 400),
        ("/ipns/example.com", 404),
        ("/ipfs/bafkqaaa?format=tar", 406),
        ("/ipfs/bafkqaaa?format=bogus", 400),
        ("/ipfs/bafkqaaa?format=ipns-record", 400),
    ],
)
def test_bad_requests_get_the_spec_status(client: httpx.Client, path: str, status: int) -> None:
    reply = raw_get(str(client.base_url).rstrip("/"), path)  # as sent: no client clean-up
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode())
    assert b"Traceback" not in body and len(body.splitlines()) == 1


def test_missing_path_and_content_are_404(client: httpx.Client, root: CID) -> None:
    r = client.get(f"/ipfs/{root}/no/such")
    assert r.status_code == 404 and "'no'" in r.text  # the body names the missing part
    assert client.get(f"/ipfs/{root}/a.txt/more").status_code == 404
    absent = add_file(MemoryBlocks(), b"never stored here")
    for fmt in ("", "?format=raw", "?format=car"):
        assert client.get(f"/ipfs/{absent}{fmt}").status_code == 404
        assert client.head(f"/ipfs/{absent}{fmt}").status_code == 404


def test_identity_digest_over_128_bytes_is_400(client: httpx.Client) -> None:
    digest = b"a" * 129
    raw = bytes([0x01, 0x55, 0x00]) + bytes([129, 1]) + digest
    cid = parse_cid(raw)
    assert client.get(f"/ipfs/{cid}?format=raw").status_code == 400


def test_service_worker_registration_is_400(client: httpx.Client, root: CID) -> None:
    r = client.get(f"/ipfs/{root}/a.txt", headers={"Service-Worker": "script"})
    assert r.status_code == 400


def test_only_if_cached_is_412_when_absent(client: httpx.Client, root: CID) -> None:
    absent = add_file(MemoryBlocks(), b"not here")
    headers = {"Cache-Control": "only-if-cached"}
    assert client.head(f"/ipfs/{absent}", headers=headers).status_code == 412
    assert client.head(f"/ipfs/{root}/a.txt", headers=headers).status_code == 200


def test_methods_options_and_cors(client: httpx.Client, root: CID) -> None:
    r = client.options(f"/ipfs/{root}")
    assert r.status_code == 200 and "GET" in r.headers["allow"]
    assert r.headers["access-control-allow-origin"] == "*"
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        r = client.request(method, f"/ipfs/{root}")
        assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD, OPTIONS"


# -- trustless gateway --------------------------------------------------------------------


def test_raw_block_hashes_to_its_cid(client: httpx.Client, root: CID, blocks: MemoryBlocks) -> None:
    for how in ({"params": {"format": "raw"}}, {"headers": {"Accept": "application/vnd.ipld.raw"}}):
        r = client.get(f"/ipfs/{root}", **how)  # type: ignore[arg-type]
        assert r.status_code == 200 and r.content == blocks.get_block(root)
        assert r.headers["content-type"] == "application/vnd.ipld.raw"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-disposition"] == (
            f"attachment; filename=\"{root}.bin\"; filename*=UTF-8''{root}.bin"
        )
        assert r.headers["etag"] == f'"{root}.raw"'
        assert r.headers["vary"] == "Accept" and r.headers["cache-control"] == IMMUTABLE
    accepted = client.get(f"/ipfs/{root}", headers={"Accept": "application/vnd.ipld.raw"})
    assert accepted.headers["content-location"] == f"/ipfs/{root}?format=raw"


def test_format_param_beats_accept(client: httpx.Client, root: CID) -> None:
    r = client.get(f"/ipfs/{root}?format=raw", headers={"Accept": "application/vnd.ipld.car"})
    assert r.headers["content-type"] == "application/vnd.ipld.raw"


def test_probes_bafkqaaa(client: httpx.Client) -> None:
    raw = client.get("/ipfs/bafkqaaa?format=raw")
    assert raw.status_code == 200 and raw.content == b""
    assert client.head("/ipfs/bafkqaaa?format=raw").status_code == 200
    car = client.get("/ipfs/bafkqaaa?format=car")
    assert car.status_code == 200
    reader = CarReader(io.BytesIO(car.content))
    assert [str(r) for r in reader.roots] == ["bafkqaaa"] and list(reader) == []


def test_car_all_is_the_whole_dag_dfs_once(
    client: httpx.Client, root: CID, blocks: MemoryBlocks
) -> None:
    r = client.get(f"/ipfs/{root}", headers={"Accept": "application/vnd.ipld.car"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.ipld.car; version=1; order=dfs; dups=n"
    assert r.headers["content-disposition"].startswith(f'attachment; filename="{root}.car"')
    assert r.headers["x-content-type-options"] == "nosniff"
    got = car_blocks(r.content)
    keys = [bytes(c) for c, _ in got]
    assert len(keys) == len(set(keys)) == len(blocks_under(root, blocks))
    assert got[0][0] == root


def blocks_under(root: CID, blocks: MemoryBlocks) -> set[bytes]:
    from ipfs_kit_py.content.dagpb import decode_node

    seen: set[bytes] = set()
    stack = [root]
    while stack:
        cid = stack.pop()
        if bytes(cid) in seen:
            continue
        seen.add(bytes(cid))
        if cid.codec.code == 0x70:
            stack.extend(link.cid for link in decode_node(blocks.get_block(cid)).links)
    return seen


def test_car_dups_y_resends_repeated_blocks(
    client: httpx.Client, blocks: MemoryBlocks, tmp_path: Path
) -> None:
    (tmp_path / "one").write_text("same")
    (tmp_path / "two").write_text("same")
    twice = add_tree(blocks, tmp_path)
    once = car_blocks(client.get(f"/ipfs/{twice}?format=car").content)
    again = client.get(f"/ipfs/{twice}?format=car&car-dups=y")
    assert again.headers["content-type"].endswith("dups=y")
    assert len(car_blocks(again.content)) == len(once) + 1


def test_car_scopes(client: httpx.Client, root: CID, blocks: MemoryBlocks) -> None:
    etags = set()
    big = parse_cid(client.head(f"/ipfs/{root}/big.bin").headers["etag"].strip('"'))
    for scope, expected in (("block", 2), ("entity", 5), ("all", 5)):
        r = client.get(f"/ipfs/{root}/big.bin?format=car&dag-scope={scope}")
        reader = CarReader(io.BytesIO(r.content))
        assert reader.roots == [big]  # as kubo: the CID the path names
        got = [(b.cid, b.data) for b in reader]
        assert got[0][0] == root and got[1][0] == big  # the path first, then the file
        assert len(got) == expected
        etags.add(r.headers["etag"])
    site = client.get(f"/ipfs/{root}/site?format=car&dag-scope=entity")
    assert len(car_blocks(site.content)) == 2  # root + the directory node, no children
    assert len(etags) == 3


def test_car_path_blocks_include_hamt_shards(client: httpx.Client, hamt_root: CID) -> None:
    r = client.get(f"/ipfs/{hamt_root}/many/f017.txt?format=car&dag-scope=block")
    got = car_blocks(r.content)
    assert len(got) >= 4  # root shard(s), many's shards down to the entry, the file
    cids = [c for c, _ in got]
    assert str(cids[-1]) == r.headers["x-ipfs-roots"].split(",")[-1]


def test_entity_bytes_sends_only_the_blocks_of_the_range(
    client: httpx.Client, root: CID, blocks: MemoryBlocks
) -> None:
    big = parse_cid(client.head(f"/ipfs/{root}/big.bin").headers["etag"].strip('"'))
    node = load_node(big, blocks.get_block)
    leaves = [link.cid for link in node.links]
    cases = {
        "0:10": [leaves[0]],
        "262144:262144": [leaves[1]],
        "-10:*": [leaves[2]],
        "262143:262144": leaves[:2],
        "0:*": leaves,
        "499:-1000": leaves,
    }
    etags = set()
    for span, wanted in cases.items():
        r = client.get(f"/ipfs/{root}/big.bin?format=car&entity-bytes={span}")
        got = [c for c, _ in car_blocks(r.content)]
        assert got == [root, big, *wanted], span
        etags.add(r.headers["etag"])
    assert len(etags) == len(cases)
    assert client.get(f"/ipfs/{root}/big.bin?format=car&entity-bytes=700000:*").status_code == 400
    assert client.get(f"/ipfs/{root}/big.bin?format=car&entity-bytes=x:1").status_code == 400


def test_entity_bytes_works_with_the_other_blocks_absent(tree: Path) -> None:
    own = MemoryBlocks()
    file_cid = add_file(own, BIG)
    node = load_node(file_cid, own.get_block)
    own.drop(node.links[0].cid)
    own.drop(node.links[2].cid)
    with serving(gateway(own)) as url:
        r = httpx.get(f"{url}/ipfs/{file_cid}?format=car&entity-bytes=262144:262200")
        assert r.status_code == 200
        assert [c for c, _ in car_blocks(r.content)] == [file_cid, node.links[1].cid]
        ranged = httpx.get(  # the name gives the type: nothing sniffed from block 0
            f"{url}/ipfs/{file_cid}?filename=x.bin", headers={"Range": "bytes=300000-300009"}
        )
        assert ranged.status_code == 206 and ranged.content == BIG[300000:300010]


def test_unsupported_car_variants_are_400(client: httpx.Client, root: CID) -> None:
    for query in ("car-version=2", "car-order=bfs", "car-dups=maybe", "dag-scope=most"):
        assert client.get(f"/ipfs/{root}?format=car&{query}").status_code == 400
    accept = {"Accept": "application/vnd.ipld.car; version=2"}
    assert client.get(f"/ipfs/{root}", headers=accept).status_code == 400


def test_file_range_blocks_matches_a_plain_read(blocks: MemoryBlocks) -> None:
    cid = add_file(blocks, BIG)
    data = blocks.get_block(cid)
    for start, stop in ((0, 1), (262143, 262145), (0, len(BIG)), (699999, 700000)):
        pieces = b"".join(
            p for _, _, p in file_range_blocks(cid, data, start, stop, blocks.get_block)
        )
        assert pieces == BIG[start:stop]


# -- verification and failure mid-stream ----------------------------------------------------


def raw_get(url: str, path: str) -> bytes:
    """The raw bytes a server sends for ``path`` until it closes the connection."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


@pytest.mark.parametrize("fault", ["tamper", "drop"])
def test_a_bad_block_mid_stream_cuts_the_response(fault: str) -> None:
    own = MemoryBlocks()
    file_cid = add_file(own, BIG)
    last_leaf = load_node(file_cid, own.get_block).links[2].cid
    getattr(own, fault)(last_leaf)
    with serving(gateway(own)) as url:
        for path in (f"/ipfs/{file_cid}", f"/ipfs/{file_cid}?format=car"):
            reply = raw_get(url, path)
            head, _, body = reply.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200")
            fields = dict(line.lower().split(b": ", 1) for line in head.split(b"\r\n")[1:])
            if b"content-length" in fields:
                assert len(body) < int(fields[b"content-length"])  # fewer than promised
            else:
                assert not body.endswith(b"0\r\n\r\n")  # the chunked body never ends
            assert BIG[-1000:] not in body
            with pytest.raises(httpx.HTTPError):
                httpx.get(f"{url}{path}", timeout=20).raise_for_status()


def test_a_bad_root_block_is_404_not_bytes() -> None:
    own = MemoryBlocks()
    cid = add_file(own, b"small file")
    own.tamper(cid)
    with serving(gateway(own)) as url:
        for fmt in ("", "?format=raw", "?format=car"):
            assert httpx.get(f"{url}/ipfs/{cid}{fmt}").status_code == 404


# -- limits ----------------------------------------------------------------------------


def test_car_size_limit_cuts_the_stream(blocks: MemoryBlocks, root: CID) -> None:
    with serving(gateway(blocks, max_car_bytes=300_000)) as url:
        reply = raw_get(url, f"/ipfs/{root}?format=car")
        assert reply.startswith(b"HTTP/1.1 200") and not reply.endswith(b"0\r\n\r\n")
        assert httpx.get(f"{url}/ipfs/{root}/a.txt?format=car").status_code == 200


def test_concurrency_limit_answers_429_at_once(blocks: MemoryBlocks, root: CID) -> None:
    import threading

    entered, gate = threading.Event(), threading.Event()

    class Slow(MemoryBlocks):
        def get_block(self, cid: CID) -> bytes:
            entered.set()
            gate.wait(20)
            return blocks.get_block(cid)

    with serving(gateway(Slow(), max_concurrent=1)) as url:
        waiting = threading.Thread(
            target=httpx.get, args=(f"{url}/ipfs/{root}/a.txt",), kwargs={"timeout": 30}
        )
        waiting.start()
        try:
            assert entered.wait(20)  # the one slot is taken
            r = httpx.get(f"{url}/ipfs/{root}/a.txt", timeout=10)
            assert r.status_code == 429 and r.headers["retry-after"] == "1"
        finally:
            gate.set()
            waiting.join(30)


def test_request_timeout_is_504(blocks: MemoryBlocks, root: CID) -> None:
    import threading

    gate = threading.Event()

    class Stuck(MemoryBlocks):
        def get_block(self, cid: CID) -> bytes:
            gate.wait(20)
            return blocks.get_block(cid)

    with serving(gateway(Stuck(), request_timeout_s=0.5)) as url:
        try:
            r = httpx.get(f"{url}/ipfs/{root}/a.txt", timeout=20)
            assert r.status_code == 504 and "retry-after" in r.headers
        finally:
            gate.set()
