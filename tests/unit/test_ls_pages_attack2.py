"""``ls`` of many CIDs streams (issue 14, second attack): at 300,000 CIDs it held every
record at once (~340 MB, ~550 MB with --json; ~1.1 and ~1.8 GB at a million). The index
reads one query page by page (SQLite here, PostgreSQL in tests/integration/
test_ls_pages_attack2_pg.py) and the CLI prints each page as it comes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.cli.main import main
from ipfs_kit_py.cli.table import format_table
from ipfs_kit_py.content.cid import RAW, cid_key, sha256_cid
from ipfs_kit_py.errors import InvalidInputError
from ipfs_kit_py.index import open_index
from tests.servers.postgres import IndexFactory


def _cids(n: int) -> list[str]:
    return [cid_key(sha256_cid(RAW, f"page object {i}".encode())) for i in range(n)]


def test_query_pages_is_query_a_page_at_a_time(make_index: IndexFactory) -> None:
    index = make_index(node_id="node-a")
    cids = _cids(2500)
    index.record_many([(c, "s3", f"k/{c}") for c in cids[:2000]])
    index.record_many([(c, "disk", f"/d/{c}") for c in cids[1500:]])
    index.tag(cids[0], "first")
    pages = list(index.query_pages(page_size=700))
    assert [len(p) for p in pages] == [700, 700, 700, 400]
    assert [r for p in pages for r in p] == index.query()
    on_disk = [r for p in index.query_pages(backend="disk", page_size=300) for r in p]
    assert on_disk == index.query(backend="disk") and len(on_disk) == 1000
    tagged = [r for p in index.query_pages(tag="first") for r in p]
    assert [r.tags for r in tagged] == [("first",)]
    assert list(index.query_pages(min_size=1)) == []
    with pytest.raises(InvalidInputError):
        next(index.query_pages(page_size=0))


def test_writes_between_pages_go_on(make_index: IndexFactory) -> None:
    """A page read is no lock held: another writer of the same index writes meanwhile."""
    index, other = make_index(node_id="node-a"), make_index(node_id="node-a")
    cids = _cids(30)
    index.record_many([(c, "s3", c) for c in cids[:20]])
    pages = index.query_pages(page_size=5)
    seen = len(next(pages))
    other.record_many([(c, "s3", c) for c in cids[20:]])
    index.record(cids[0], "disk", "/d")
    seen += sum(len(p) for p in pages)
    assert seen >= 20 and other.count() == 30


def test_cli_ls_prints_every_page_under_one_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for kind in ("CACHE", "DATA", "CONFIG"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(tmp_path / kind.lower()))
    monkeypatch.delenv("IPFS_KIT_CONFIG", raising=False)
    monkeypatch.setenv("IPFS_KIT_INDEX", str(tmp_path / "index.sqlite3"))
    cids = _cids(2300)
    with open_index(tmp_path / "index.sqlite3") as index:
        index.record_many([(c, "s3", c) for c in cids])
        index.upsert_content(cids[7], size=12345)
    assert main(["ls"]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["CID", "SIZE", "KIND", "ACCESSES", "TAGS"]
    assert sorted(row.split()[0] for row in rows) == sorted(cids)
    assert len({row.index(" file ") for row in rows}) == 1  # one column layout throughout
    assert main(["ls", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["success"] and listed["count"] == 2300 == len(listed["content"])
    assert {item["cid"]: item["size"] for item in listed["content"]}[cids[7]] == 12345
    assert main(["ls", "--limit", "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 3


@settings(max_examples=100, deadline=None)
@given(
    pages=st.lists(
        st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), min_size=1, max_size=4),
        min_size=1,
        max_size=4,
    )
)
def test_a_table_printed_page_by_page_never_narrows(pages: list[list[tuple[str, str]]]) -> None:
    from ipfs_kit_py.cli.table import table_widths

    widths: list[int] = []
    for rows in pages:
        lines = format_table(("A", "B"), rows, min_widths=widths)
        new = table_widths(("A", "B"), rows, widths)
        assert all(n >= w for n, w in zip(new, widths, strict=False))
        for line, (first, last) in zip(lines[1:], rows, strict=True):
            assert line == f"{first.ljust(new[0])}  {last}".rstrip()
        widths = new


def test_query_pages_refuses_text_the_index_cannot_hold(make_index: IndexFactory) -> None:
    """An error while the pages are read is typed like every other query's."""
    index = make_index()
    with pytest.raises(InvalidInputError):
        list(index.query_pages(tag="\ud800"))
