"""``Accept`` q-values in the gateway's format choice (RFC 9110 12.5.1): the highest q
wins, ties keep the order sent, and ``q=0`` means "not acceptable"."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.gateway.params import MEDIA_TYPES, choose_format

_TYPES = [*MEDIA_TYPES.values(), "text/html", "*/*", "image/png"]
_SERVED = set(MEDIA_TYPES.values())
_Q = st.sampled_from(["", "0", "0.0", "0.001", "0.5", "0.9", "1", "1.0", "bogus", "2"])


def _q_of(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        return 1.0
    return 1.0 if not 0 <= value <= 1 else value


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_TYPES), _Q), max_size=6))
def test_the_choice_has_the_highest_q_and_never_q_zero(entries: list[tuple[str, str]]) -> None:
    accept = ", ".join(f"{m};q={q}" if q else m for m, q in entries)
    fmt, _, from_accept = choose_format(None, accept)
    wanted = [
        (-_q_of(q), i, m) for i, (m, q) in enumerate(entries) if m in _SERVED and _q_of(q) > 0
    ]
    if not wanted:
        assert (fmt, from_accept) == ("", False)
        return
    assert MEDIA_TYPES[fmt] == min(wanted)[2]  # highest q, then first sent
    assert from_accept


def test_q_zero_is_refused_and_order_breaks_ties() -> None:
    raw, car = MEDIA_TYPES["raw"], MEDIA_TYPES["car"]
    assert choose_format(None, f"{raw};q=0, text/html")[0] == ""
    assert choose_format(None, f"{raw};q=0.5, {car};q=0.9")[0] == "car"
    assert choose_format(None, f"{raw}, {car}")[0] == "raw"
    assert choose_format(None, f"{car};q=0.8;version=1;dups=y")[1] == {"version": "1", "dups": "y"}
