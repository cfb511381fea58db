"""Both engines answer alike to text PostgreSQL cannot store (issue 14, second attack):
SQLite stored a tag, tier or locator holding a NUL character that PostgreSQL refused;
now both refuse it, and a reason (an error's text) holding one is stored escaped by
both (SQLite here, PostgreSQL in tests/integration/test_index_nul_attack2_pg.py)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipfs_kit_py.content.cid import RAW, cid_key, sha256_cid
from ipfs_kit_py.errors import InvalidInputError
from tests.servers.postgres import IndexFactory

CID = cid_key(sha256_cid(RAW, b"nul"))


def test_a_nul_in_a_name_is_refused_by_every_call(make_index: IndexFactory) -> None:
    index = make_index(node_id="node-a")
    index.record(CID, "s3", "k")
    calls = [
        lambda: index.tag(CID, "a\x00b"),
        lambda: index.untag(CID, "a\x00b"),
        lambda: index.record(CID, "s3\x00", "k"),
        lambda: index.record(CID, "s3", "k\x00"),
        lambda: index.record(CID, "disk", "/d", stamp="1:2\x00"),
        lambda: index.record_many([(CID, "s3", f"k{n}\x00") for n in range(2500)]),
        lambda: index.upsert_content(CID, kind="fi\x00le"),
        lambda: index.upsert_content(CID, profile="\x00"),
        lambda: index.query(tag="\x00"),
        lambda: index.query(backend="s\x003"),
    ]
    for call in calls:
        with pytest.raises(InvalidInputError, match="NUL"):
            call()
    assert [(loc.backend, loc.locator) for loc in index.locations(CID)] == [("s3", "k")]
    assert index.content(CID) is not None and index.content(CID).tags == ()  # type: ignore[union-attr]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(reason=st.text(max_size=20))
def test_any_reason_is_stored_by_both_engines(make_index: IndexFactory, reason: str) -> None:
    index = make_index(node_id="node-a")  # one index for every example: record anew
    index.record(CID, "s3", "k")
    try:
        index.mark_verified(CID, "s3", ok=False, reason=reason)
        [bad] = index.locations(CID, include_bad=True)
        assert bad.reason == reason.replace("\x00", "\\x00")
        assert index.mark_missing(CID, "s3", reason + "\x00")
        [gone] = index.locations(CID, include_bad=True)
        assert gone.state == "missing" and gone.reason == bad.reason + "\\x00"
    except InvalidInputError:  # a lone surrogate: no engine encodes it
        assert any(0xD800 <= ord(c) <= 0xDFFF for c in reason)


def test_a_filter_the_engines_read_differently_is_refused(make_index: IndexFactory) -> None:
    """``limit=-1`` was everything on SQLite and an error on PostgreSQL; ``nan`` matched
    nothing on SQLite and everything on PostgreSQL."""
    index = make_index(node_id="node-a")
    index.record(CID, "s3", "k")
    for kwargs in ({"limit": -1}, {"older_than": float("nan")}, {"max_size": float("nan")}):
        with pytest.raises(InvalidInputError):
            index.query(**kwargs)  # type: ignore[arg-type]
    assert len(index.query(limit=0)) == 0 and len(index.query(limit=1)) == 1
