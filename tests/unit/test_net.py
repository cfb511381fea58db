"""Bounded waits: the Timeouts parser, the deadline, the stall guard, jittered retries,
and the multipart upload ledger (a state machine against a model)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from ipfs_kit_py.errors import BackendUnavailableError, ConfigurationError
from ipfs_kit_py.index import MetadataIndex
from ipfs_kit_py.net import Deadline, StallGuard, Timeouts, backoff_delay, retrying
from ipfs_kit_py.upload_ledger import InflightUpload, UploadLedger

KEYS = ["connect_timeout", "idle_timeout", "deadline", "retries", "min_rate", "stall_window"]
values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=False, width=32),
    st.integers(-5, 50),
    st.text(max_size=6),
    st.none(),
)


@settings(max_examples=200, deadline=None)
@given(
    args=st.dictionaries(st.sampled_from(KEYS), values, max_size=4),
    section=st.dictionaries(st.sampled_from(KEYS), values, max_size=4),
    env=st.dictionaries(st.sampled_from(KEYS), st.text(max_size=6), max_size=3),
)
def test_timeouts_parse_to_a_valid_config_or_a_configuration_error(
    args: dict[str, Any], section: dict[str, Any], env: dict[str, str]
) -> None:
    environ = {f"IPFS_KIT_KUBO_{k.upper()}": v for k, v in env.items()}
    try:
        t = Timeouts.from_sources("kubo", args, section, environ)
    except ConfigurationError as exc:
        assert "[kubo]" in str(exc) or "must be" in str(exc)
        return
    assert t.connect_timeout > 0 and t.idle_timeout > 0 and t.deadline > 0
    assert 0 <= t.retries <= 20 and t.min_rate >= 0 and t.stall_window > 0
    for key in KEYS:  # args win over the section, the section over the environment
        if args.get(key) is not None:
            assert getattr(t, key) == (int if key == "retries" else float)(args[key])


def test_timeouts_precedence_and_defaults() -> None:
    env = {"IPFS_KIT_S3_IDLE_TIMEOUT": "7", "IPFS_KIT_S3_DEADLINE": "9"}
    t = Timeouts.from_sources("s3", {"deadline": 4}, {"idle_timeout": 6}, env)
    assert (t.idle_timeout, t.deadline, t.connect_timeout) == (6.0, 4.0, 3.0)
    assert Timeouts() == Timeouts.from_sources("kubo")
    with pytest.raises(ConfigurationError, match=r"\[gateway\] deadline must be a number"):
        Timeouts.from_sources("gateway", {"deadline": "soon"})


def test_deadline_cuts_each_wait_to_what_is_left() -> None:
    assert Deadline(None).wait_limit(5) == 5 and not Deadline(None).expired()
    d = Deadline(0.5)
    limit = d.wait_limit(5)
    assert limit is not None and 0 < limit <= 0.5
    past = Deadline(0.0)
    assert past.expired()
    with pytest.raises(TimeoutError, match="deadline"):
        past.wait_limit(5)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 1 << 16), max_size=50))
def test_stall_guard_never_trips_inside_its_first_window(sizes: list[int]) -> None:
    guard = StallGuard(min_rate=1 << 30, window=3600.0)
    assert list(guard.wrap(bytes(n) for n in sizes)) == [bytes(n) for n in sizes]


def test_stall_guard_trips_a_trickle_and_spares_a_steady_stream() -> None:
    slow = StallGuard(min_rate=1000, window=0.05, what="trickle")

    def trickle() -> Any:
        while True:
            time.sleep(0.02)
            yield b"x"

    with pytest.raises(BackendUnavailableError, match="trickle stalled"):
        for _ in slow.wrap(trickle()):
            pass
    fast = StallGuard(min_rate=10, window=0.05)
    chunks = []
    for chunk in fast.wrap(iter([b"y" * 100] * 10)):
        time.sleep(0.01)
        chunks.append(chunk)
    assert len(chunks) == 10


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 30))
def test_backoff_is_jittered_and_capped(attempt: int) -> None:
    delay = backoff_delay(attempt)
    assert 0 <= delay <= 2.0


@settings(max_examples=60, deadline=None)
@given(failures=st.integers(0, 6), retries=st.integers(0, 4))
def test_retrying_tries_at_most_retries_plus_one(failures: int, retries: int) -> None:
    calls = []

    def call() -> str:
        calls.append(1)
        if len(calls) <= failures:
            raise BackendUnavailableError("down")
        return "ok"

    try:
        assert retrying(call, retries=retries, what="t", sleep=lambda s: None) == "ok"
        assert failures <= retries
    except BackendUnavailableError:
        assert failures > retries
    assert len(calls) == min(failures, retries) + 1


def test_retrying_gives_up_before_the_deadline_would_pass() -> None:
    calls = []

    def call() -> None:
        calls.append(1)
        raise BackendUnavailableError("down")

    with pytest.raises(BackendUnavailableError):
        retrying(call, retries=10, what="t", deadline=Deadline(0.0), sleep=lambda s: None)
    assert len(calls) == 1


class LedgerMachine(RuleBasedStateMachine):
    """The ledger against a model: begun and not ended uploads are recorded; of those,
    ours not running now are stale, the running ones never are."""

    uploads = Bundle("uploads")

    def __init__(self) -> None:
        super().__init__()
        self.index = MetadataIndex(Path(":memory:"))
        self.ledger = UploadLedger(self.index, "http://127.0.0.1:1")
        self.model: set[InflightUpload] = set()
        self.active: set[InflightUpload] = set()

    @rule(target=uploads, bucket=st.sampled_from(["bucket-a", "bucket-b"]), key=st.text(max_size=8))
    def begin(self, bucket: str, key: str) -> InflightUpload:
        upload = self.ledger.begin(bucket, key)
        self.model.add(upload)
        self.active.add(upload)
        return upload

    @rule(upload=uploads)
    def fail(self, upload: InflightUpload) -> None:
        self.active.discard(upload)  # the abort failed: recorded, no longer running

    @rule(upload=uploads)
    def end(self, upload: InflightUpload) -> None:
        self.ledger.end(upload)
        self.model.discard(upload)
        self.active.discard(upload)

    @invariant()
    def recorded_matches_the_model(self) -> None:
        assert set(self.ledger.recorded()) == self.model
        stale = set(self.ledger.stale(None, self.active))
        assert stale == self.model - self.active
        for bucket in ("bucket-a", "bucket-b"):
            assert all(u.bucket == bucket for u in self.ledger.stale(bucket, self.active))

    def teardown(self) -> None:
        self.index.close()


LedgerMachine.TestCase.settings = settings(max_examples=30, stateful_step_count=20, deadline=None)
test_upload_ledger = LedgerMachine.TestCase
