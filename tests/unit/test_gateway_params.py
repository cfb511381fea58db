"""The gateway's request parsers: every input answers a value or an HTTPError with a
4xx status, never another exception (Hypothesis), and the documented forms parse."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.gateway.mime import content_type, sniff
from ipfs_kit_py.gateway.params import (
    HTTPError,
    choose_format,
    parse_car_params,
    parse_entity_bytes,
    parse_ipfs_path,
    parse_range,
    resolve_span,
)

CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
FAST = settings(max_examples=300, deadline=None)


def status_of(fn: object, *args: object) -> int | None:
    try:
        fn(*args)  # type: ignore[operator]
    except HTTPError as exc:
        return exc.status
    return None


@FAST
@given(st.binary(max_size=300))
def test_any_path_parses_or_is_a_4xx(raw: bytes) -> None:
    status = status_of(parse_ipfs_path, b"/ipfs/" + raw)
    assert status is None or 400 <= status < 500


@FAST
@given(st.lists(st.sampled_from(["a", "b", ".", "..", "", "%2F", "ü"]), max_size=8))
def test_dot_segments_never_climb_above_the_root(parts: list[str]) -> None:
    raw = ("/ipfs/" + CID + "/" + "/".join(parts)).encode()
    depth = 0
    for p in parts:
        if p == "..":
            depth -= 1
            if depth < 0:
                break
        elif p not in ("", "."):
            depth += 1
    status = status_of(parse_ipfs_path, raw)
    if depth < 0:
        assert status == 400
    else:
        assert status is None
        assert ".." not in parse_ipfs_path(raw).segments


def test_path_forms() -> None:
    p = parse_ipfs_path(f"/ipfs/{CID}/a/./b/../c%20d/".encode())
    assert p.segments == ("a", "c d") and p.trailing_slash
    assert p.text() == f"/ipfs/{CID}/a/c d/"
    assert status_of(parse_ipfs_path, b"/ipns/x") == 404
    assert status_of(parse_ipfs_path, b"/ipfs/") == 400
    assert status_of(parse_ipfs_path, b"/ipfs/" + b"a" * 5000) == 414
    assert status_of(parse_ipfs_path, f"/ipfs/{CID}/%ff".encode()) == 400


@FAST
@given(st.text(max_size=40), st.text(max_size=120))
def test_format_choice_never_raises_other_errors(fmt: str, accept: str) -> None:
    status = status_of(choose_format, fmt, accept)
    assert status in (None, 400)
    assert status_of(choose_format, None, accept) is None


def test_format_beats_accept_and_accept_params_pass_through() -> None:
    assert choose_format("raw", "application/vnd.ipld.car")[0] == "raw"
    fmt, params, from_accept = choose_format(
        None, "text/html, application/vnd.ipld.car; version=1; dups=y"
    )
    assert (fmt, params["dups"], from_accept) == ("car", "y", True)
    assert choose_format(None, "text/html,*/*") == ("", {}, False)


@FAST
@given(
    st.dictionaries(
        st.sampled_from(["dag-scope", "entity-bytes", "car-version", "car-order", "car-dups"]),
        st.text(max_size=12),
    )
)
def test_car_params_parse_or_400(query: dict[str, str]) -> None:
    assert status_of(parse_car_params, query, {}) in (None, 400)


def test_car_params_defaults_and_entity_bytes_implies_entity() -> None:
    car = parse_car_params({}, {})
    assert car.content_type() == "application/vnd.ipld.car; version=1; order=dfs; dups=n"
    assert parse_car_params({"entity-bytes": "0:9"}, {}).scope == "entity"
    assert parse_car_params({"car-dups": "y"}, {"dups": "n"}).dups  # query wins


@FAST
@given(
    st.integers(-(10**6), 10**6),
    st.one_of(st.none(), st.integers(-(10**6), 10**6)),
    st.integers(0, 10**6),
)
def test_entity_span_stays_inside_the_file(start: int, end: int | None, size: int) -> None:
    span = resolve_span((start, end), size)
    if span is not None:
        first, stop = span
        assert 0 <= first < stop <= size


def test_entity_bytes_forms() -> None:
    assert parse_entity_bytes("0:*") == (0, None)
    assert parse_entity_bytes("-1024:*") == (-1024, None)
    assert parse_entity_bytes("499:-1000") == (499, -1000)
    assert resolve_span((499, -1000), 10_000) == (499, 9001)
    for bad in ("", "1", "a:b", "*:1", "1:", "١:2"):
        assert status_of(parse_entity_bytes, bad) == 400


@FAST
@given(st.text(max_size=40), st.integers(0, 10**9))
def test_range_is_inside_the_body_none_or_416(header: str, size: int) -> None:
    try:
        got = parse_range(header, size)
    except HTTPError as exc:
        assert exc.status == 416 and exc.headers["content-range"] == f"bytes */{size}"
        return
    if got is not None:
        assert 0 <= got[0] < got[1] <= size


@pytest.mark.parametrize(
    ("header", "size", "want"),
    [
        ("bytes=0-0", 10, (0, 1)),
        ("bytes=-3", 10, (7, 10)),
        ("bytes=5-", 10, (5, 10)),
        ("bytes=5-100", 10, (5, 10)),
        ("bytes=0-1,3-4", 10, None),
        ("items=0-1", 10, None),
        ("bytes=5-2", 10, None),
    ],
)
def test_range_forms(header: str, size: int, want: tuple[int, int] | None) -> None:
    assert parse_range(header, size) == want
    assert status_of(parse_range, "bytes=10-", 10) == 416


@FAST
@given(st.text(max_size=30), st.binary(max_size=600))
def test_content_type_is_always_a_media_type(name: str, head: bytes) -> None:
    assert "/" in content_type(name, head)


def test_sniffing() -> None:
    assert sniff(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert sniff(b"  <!DOCTYPE html><p>") == "text/html; charset=utf-8"
    assert sniff("héllo".encode()) == "text/plain; charset=utf-8"
    assert sniff(b"\x00\x01\x02") == "application/octet-stream"
    assert content_type("x.css", b"") == "text/css; charset=utf-8"


@FAST
@given(st.text(min_size=1, max_size=40))
def test_listing_escapes_every_name(name: str) -> None:
    import html

    from ipfs_kit_py.gateway.listing import render_listing

    page = render_listing(f"/ipfs/{CID}/", parse_cid_text(CID), [(name, parse_cid_text(CID), 3)])
    assert html.escape(name) in page
    if any(c in name for c in '<>&"'):
        assert f">{name}<" not in page


def parse_cid_text(text: str):  # type: ignore[no-untyped-def]
    from ipfs_kit_py.content.cid import parse_cid

    return parse_cid(text)
