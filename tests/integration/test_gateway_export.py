"""CARs from a real kubo through its ``dag export`` stream (one request for the DAG)
instead of one ``block/get`` per block: the same bytes as the block-by-block walk,
every block verified, and a stream that lies (bad bytes, blocks missing, out of order,
extra blocks, cut short) still gives exactly those bytes."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.gateway.blocks import serving
from tests.servers.kubo import KuboNode

from ipfs_kit_py.backends.kubo import KuboBackend
from ipfs_kit_py.backends.kubo.backend import KuboConfig
from ipfs_kit_py.content.car import CarReader, encode_car_block, encode_car_header
from ipfs_kit_py.content.cid import CID, parse_cid
from ipfs_kit_py.content.random_access import VerifiedBlocks
from ipfs_kit_py.errors import CARFormatError
from ipfs_kit_py.gateway import GatewayApp
from ipfs_kit_py.gateway.export_feed import ExportFeed, car_sections

Sections = list[tuple[CID, bytes]]


class BlocksOnly:
    """kubo's blocks, one ``block/get`` each, counted (no export: the reference walk)."""

    def __init__(self, kubo: KuboBackend) -> None:
        self.kubo = kubo
        self.name = "kubo-blocks"
        self.asked = 0

    def get_block(self, cid: CID) -> bytes:
        self.asked += 1
        return self.kubo.get_block(cid)


class Exporting(BlocksOnly):
    """kubo's blocks and its ``dag export``, the stream passed through ``edit``."""

    def __init__(self, kubo: KuboBackend, edit: Callable[[Sections], Sections] | None = None):
        super().__init__(kubo)
        self.name = "kubo-export"
        self.edit = edit
        self.exports = 0

    def export_car(self, cid: CID) -> Iterator[bytes]:
        self.exports += 1
        chunks = self.kubo.export_car(cid)
        if self.edit is None:
            return chunks
        car = CarReader(io.BytesIO(b"".join(chunks)), verify=False)
        sections = self.edit([(b.cid, b.data) for b in car])
        return iter([encode_car_header(car.roots), *(encode_car_block(c, d) for c, d in sections)])


@pytest.fixture(scope="module")
def backend(kubo: KuboNode) -> Iterator[KuboBackend]:
    b = KuboBackend.from_config(KuboConfig(api_url=kubo.api_url))
    yield b
    b.close()


@pytest.fixture(scope="module")
def tree_cid(kubo: KuboNode, tmp_path_factory: pytest.TempPathFactory) -> CID:
    """A directory kubo shards (HAMT), with files of one and several blocks."""
    tree = tmp_path_factory.mktemp("export-tree")
    for i in range(1200):  # past kubo's 256 KiB directory threshold: a HAMT
        (tree / f"file-with-a-long-name-{i:05}.txt").write_text(f"file {i}\n")
    (tree / "big.bin").write_bytes(bytes(range(256)) * 4000)  # 1 MB: several leaves
    (tree / "dup-a.txt").write_text("same\n")
    (tree / "dup-b.txt").write_text("same\n")  # one block linked twice
    return parse_cid(kubo.cli_text("add", "-Q", "-r", str(tree)))


def car_of(source: object, path: str) -> bytes:
    with serving(GatewayApp(VerifiedBlocks([source], cache_bytes=0))) as url:  # type: ignore[list-item]
        r = httpx.get(f"{url}{path}", timeout=120)
    assert r.status_code == 200, r.text
    return r.content


@pytest.fixture(scope="module")
def reference(backend: KuboBackend, tree_cid: CID) -> bytes:
    return car_of(BlocksOnly(backend), f"/ipfs/{tree_cid}?format=car")


def test_a_car_from_kubos_export_is_byte_identical_with_one_request(
    backend: KuboBackend, tree_cid: CID, reference: bytes, kubo: KuboNode
) -> None:
    source = Exporting(backend)
    car = car_of(source, f"/ipfs/{tree_cid}?format=car")
    assert car == reference
    assert source.exports == 1 and source.asked <= 1  # the root, resolved before the body
    blocks = list(CarReader(io.BytesIO(car)))  # verified; and what kubo exports itself
    exported = list(CarReader(io.BytesIO(b"".join(backend.export_car(tree_cid)))))
    assert [b.cid for b in blocks] == [b.cid for b in exported]


def test_dag_scope_entity_of_a_file_and_all_of_a_subpath_use_the_export(
    backend: KuboBackend, tree_cid: CID
) -> None:
    for query in ("big.bin?format=car&dag-scope=entity", "big.bin?format=car"):
        path = f"/ipfs/{tree_cid}/{query}"
        source = Exporting(backend)
        assert car_of(source, path) == car_of(BlocksOnly(backend), path)
        assert source.exports == 1


def test_scopes_the_export_cannot_give_are_walked_block_by_block(
    backend: KuboBackend, tree_cid: CID
) -> None:
    for query in (
        "?format=car&dag-scope=entity",  # a directory's entity: its shards only
        "?format=car&dag-scope=block",
        "/big.bin?format=car&entity-bytes=300000:400000",
        "?format=car&car-dups=y",
    ):
        path = f"/ipfs/{tree_cid}{query}"
        source = Exporting(backend)
        assert car_of(source, path) == car_of(BlocksOnly(backend), path)
        assert source.exports == 0


def _bad_bytes(sections: Sections) -> Sections:
    return [
        (c, d[:-1] + bytes([d[-1] ^ 1])) if i % 7 == 3 else (c, d)
        for i, (c, d) in enumerate(sections)
    ]


def _missing(sections: Sections) -> Sections:
    return [s for i, s in enumerate(sections) if i % 5 != 2]


def _swapped(sections: Sections) -> Sections:
    out = list(sections)
    for i in range(1, len(out) - 1, 9):
        out[i], out[i + 1] = out[i + 1], out[i]
    return out


def _extra(sections: Sections) -> Sections:
    return [s for pair in zip(sections, reversed(sections), strict=True) for s in pair]


def _cut(sections: Sections) -> Sections:
    return sections[: len(sections) // 3]


@pytest.mark.parametrize(
    ("edit", "fetched"),
    [(_bad_bytes, True), (_missing, True), (_swapped, False), (_extra, False), (_cut, True)],
)
def test_a_lying_export_stream_still_gives_the_same_car(
    backend: KuboBackend,
    tree_cid: CID,
    reference: bytes,
    edit: Callable[[Sections], Sections],
    fetched: bool,
) -> None:
    source = Exporting(backend, edit)
    assert car_of(source, f"/ipfs/{tree_cid}?format=car") == reference
    # what the stream lacked came from block/get; blocks out of order from its look-ahead
    assert (source.asked > 1) == fetched


def test_an_export_of_a_dag_kubo_lacks_falls_back_to_the_blocks(
    backend: KuboBackend, tmp_path: Path
) -> None:
    """A block source that exports but holds nothing: the walk gets 404 as without it."""
    absent = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
    with serving(GatewayApp(VerifiedBlocks([Exporting(backend)], cache_bytes=0))) as url:
        assert httpx.get(f"{url}/ipfs/{absent}?format=car", timeout=60).status_code == 404


def test_a_truncated_export_is_a_car_format_error() -> None:
    whole = encode_car_header([]) + encode_car_block(parse_cid("bafkqaaa"), b"")
    with pytest.raises(CARFormatError):
        list(car_sections([whole[:-3] + b"\x05\x01"]))
    with pytest.raises(CARFormatError):
        list(car_sections([b""]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300), st.integers(1, 17))
def test_the_section_parser_never_crashes_on_junk(junk: bytes, split: int) -> None:
    """Any bytes: sections or CARFormatError, whatever the chunking."""
    chunks = [junk[i : i + split] for i in range(0, len(junk), split)]
    try:
        for cid, _ in car_sections(chunks):
            assert cid
    except CARFormatError:
        pass


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.binary(min_size=1, max_size=50), min_size=1, max_size=8, unique=True),
    st.integers(1, 9),
)
def test_the_feed_answers_each_block_from_a_well_formed_stream(
    datas: list[bytes], split: int
) -> None:
    from ipfs_kit_py.content.cid import RAW, sha256_cid

    cids = [sha256_cid(RAW, d) for d in datas]
    car = encode_car_header(cids[:1]) + b"".join(
        encode_car_block(c, d) for c, d in zip(cids, datas, strict=True)
    )
    asked: list[CID] = []

    class Source:
        name = "fallback"

        def get_block(self, cid: CID) -> bytes:
            asked.append(cid)
            return datas[cids.index(cid)]

    stream = [car[i : i + split] for i in range(0, len(car), split)]
    feed = ExportFeed(lambda: iter(stream), VerifiedBlocks([Source()], cache_bytes=0))
    for cid, data in reversed(list(zip(cids, datas, strict=True))):  # any order
        assert feed.get(cid) == data
    assert not asked


def test_closing_the_feed_stops_its_reading_thread_and_closes_the_stream() -> None:
    """A client gone mid-CAR: the thread reading the export ends and closes it."""
    import threading

    from ipfs_kit_py.content.cid import RAW, sha256_cid

    first = sha256_cid(RAW, b"first")
    closed = threading.Event()

    def endless() -> Iterator[bytes]:
        try:
            yield encode_car_header([first]) + encode_car_block(first, b"first")
            n = 0
            while True:  # a DAG far larger than anyone reads
                n += 1
                data = n.to_bytes(8, "big") * 512
                yield encode_car_block(sha256_cid(RAW, data), data)
        finally:
            closed.set()

    class Nothing:
        name = "nothing"

        def get_block(self, cid: CID) -> bytes:
            raise AssertionError("the stream has it")

    feed = ExportFeed(endless, VerifiedBlocks([Nothing()], cache_bytes=0))
    assert feed.get(first) == b"first"
    reader = feed._reader
    assert reader is not None and reader._thread.is_alive()
    feed.close()
    assert closed.wait(10)
    reader._thread.join(10)
    assert not reader._thread.is_alive()
