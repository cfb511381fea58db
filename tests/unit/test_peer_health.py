"""Each peer's own back-off and the order reads try peers in (the clock is injected:
back-off is about time, and a test must not sleep through it)."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ipfs_kit_py.backends.peer import _after
from ipfs_kit_py.backends.peer_health import PeerHealth

URLS = [f"http://10.0.0.{n}:8080" for n in range(1, 5)]


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_failed_peer_is_skipped_for_longer_each_time_and_back_after_one_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = _Clock()
    health = PeerHealth(base_s=5, max_s=12, clock=clock)
    a, b = URLS[:2]
    assert health.order([a, b]) == ([a, b], [])
    with caplog.at_level(logging.WARNING, "ipfs_kit_py.backends.peer"):
        assert health.failed(a, "down") == 5
    assert a in caplog.text and "down" in caplog.text
    assert health.order([a, b]) == ([b], [a]) and health.backed_off(a) == "down"
    assert health.backed_off(b) is None  # the other peer is untouched
    clock.now += 5
    assert health.order([a, b]) == ([a, b], [])  # its back-off is over: asked again
    assert health.failed(a, "down again") == 10
    clock.now += 10
    assert health.failed(a, "still down") == 12  # capped
    health.succeeded(a, 0.1)
    assert health.backed_off(a) is None
    assert health.failed(a, "down once more") == 5  # one answer starts it over


def test_the_fastest_peer_is_tried_first_then_the_unmeasured_ones() -> None:
    health = PeerHealth(clock=_Clock())
    slow, fast, new = URLS[:3]
    health.succeeded(slow, 0.9)
    health.succeeded(fast, 0.1)
    assert health.order([new, slow, fast]) == ([fast, slow, new], [])
    for _ in range(10):  # the slow one got fast: the moving average follows
        health.succeeded(slow, 0.01)
    assert health.order([new, slow, fast])[0][:2] == [slow, fast]
    health.succeeded(new, -1.0)  # a clock that went back is no negative latency
    assert health.order([new])[0] == [new]


@settings(max_examples=200, deadline=None)
@given(chunks=st.lists(st.binary(max_size=9), max_size=8), skip=st.integers(0, 80))
def test_a_stream_resumed_at_the_next_peer_skips_exactly_what_was_sent(
    chunks: list[bytes], skip: int
) -> None:
    out = list(_after(iter(chunks), skip))
    assert b"".join(out) == b"".join(chunks)[skip:]
    assert all(out)  # no empty chunks


class PeerHealthMachine(RuleBasedStateMachine):
    """Every peer asked is either tried or skipped, exactly once; skipped exactly while
    its last fault's back-off lasts; the tried ones fastest first."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = _Clock()
        self.health = PeerHealth(base_s=5, max_s=40, clock=self.clock)
        self.until: dict[str, float] = {}
        self.delay: dict[str, float] = {}
        self.latency: dict[str, float] = {}

    @rule(url=st.sampled_from(URLS))
    def fail(self, url: str) -> None:
        delay = min(40.0, self.delay.get(url, 0) * 2 or 5.0)
        assert self.health.failed(url, "x") == delay
        self.delay[url], self.until[url] = delay, self.clock.now + delay

    @rule(url=st.sampled_from(URLS), latency=st.floats(0, 5))
    def succeed(self, url: str, latency: float) -> None:
        self.health.succeeded(url, latency)
        self.delay.pop(url, None)
        self.until.pop(url, None)
        self.latency[url] = latency

    @rule(seconds=st.floats(0, 50))
    def wait(self, seconds: float) -> None:
        self.clock.now += seconds

    @invariant()
    def order_partitions_the_peers(self) -> None:
        urls = URLS[::-1]
        tried, skipped = self.health.order(urls)
        assert sorted(tried + skipped) == sorted(urls)
        assert set(skipped) == {u for u in urls if self.clock.now < self.until.get(u, 0)}
        measured = [u for u in tried if u in self.latency]
        assert tried[: len(measured)] == measured  # the measured ones come first


PeerHealthMachine.TestCase.settings = settings(max_examples=40, deadline=None)
test_peer_health_machine = PeerHealthMachine.TestCase


def test_the_peers_remembered_are_bounded_the_latest_kept() -> None:
    """A node restarted on a new port advertises a new URL: the states of old URLs no
    longer grow without bound (a14b item 5)."""
    clock = _Clock()
    health = PeerHealth(clock=clock, max_peers=3)
    for n in range(10):
        health.failed(f"http://10.0.0.{n}:1", "down")
        health.succeeded(f"http://10.0.1.{n}:1", 0.1)
    assert len(health._peers) == 3
    assert health.backed_off("http://10.0.0.9:1") == "down"  # the latest: still judged
    assert health.backed_off("http://10.0.0.0:1") is None  # forgotten: asked again


def test_a_copy_broken_off_is_skipped_for_that_cid_only_for_a_while() -> None:
    """A peer whose own gateway found one copy bad mid-way is still asked for the rest
    (a14b item 6; the real-server case: tests/integration/test_peer_attacks.py)."""
    clock = _Clock()
    health = PeerHealth(clock=clock, max_s=120, max_peers=2)
    url = "http://10.0.0.1:1"
    health.broke_off(url, "c1", "incomplete chunked read")
    assert health.order([url], "c1") == ([], [url])
    assert health.backed_off(url, "c1") == "incomplete chunked read"
    assert health.order([url], "c2") == ([url], [])
    assert health.backed_off(url) is None
    clock.now += 120
    assert health.order([url], "c1") == ([url], [])
    for n in range(20):
        health.broke_off(url, f"x{n}", "broken")
    assert len(health._copies) == 8  # bounded: 4 per peer remembered
    assert health.backed_off(url, "x19") == "broken"
