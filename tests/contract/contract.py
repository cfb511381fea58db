"""The backend contract (fsspec's ``tests/abstract/`` is the model).

A test class per backend derives from these mixins and provides the ``backend`` and
``fresh_backend`` fixtures; a new backend is done when it passes:

- :class:`BackendContract`, every backend: absent CIDs, reads of stored content (has,
  stat, get), empty content, large content streamed through a generator with memory
  bounded, close twice.
- :class:`WritableContract`: put / delete round trips, any sequence of puts, deletes and
  reads against a dict (:class:`BackendMachine`), concurrent writers of one CID;
  :class:`ReadOnlyContract`: put and delete refused with a ``BackendError``.
- :class:`CorruptibleContract`, where a copy can be corrupted behind the backend's back
  (a disk file, an S3 object, a block file in kubo's repo): a verified read refuses it.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ipfs_kit_py.backends.base import BaseBackend
from ipfs_kit_py.content.cid import CID
from ipfs_kit_py.content.unixfs import KUBO_CID_V1, ImportProfile, import_file
from ipfs_kit_py.content.verify import verify_stream
from ipfs_kit_py.errors import BackendError, ContentMismatchError, ContentNotFoundError

MiB = 1 << 20
PIECE = 256 * 1024


def random_chunks(size: int, seed: int) -> Iterator[bytes]:
    """``size`` pseudo-random bytes in 256 KiB pieces, made as they are consumed."""
    rng = random.Random(seed)
    left = size
    while left:
        n = min(PIECE, left)
        yield rng.randbytes(n)
        left -= n


def verified_read(backend: BaseBackend, cid: CID, profile: ImportProfile | None) -> bytes:
    """All bytes of ``cid``, verified: by the backend if it says so, else here."""
    chunks = backend.get(cid)
    if not backend.verifies_reads:
        chunks = verify_stream(cid, chunks, profile)
    return b"".join(chunks)


class BackendContract:
    """What every backend does; subclasses provide the fixtures and may tune the knobs."""

    profile: ClassVar[ImportProfile] = KUBO_CID_V1
    large_size: ClassVar[int] = 16 * MiB
    #: the most Python memory a large put + get may hold at once, well below
    #: ``large_size`` (measured: kubo and its gateway stay near 5 MiB at 12 and 36 MiB);
    #: None: the backend keeps content in memory by design (the memory tier)
    memory_bound: ClassVar[int | None] = 8 * MiB

    @pytest.fixture
    def fresh_backend(self) -> Callable[[], BaseBackend]:
        """A factory of backend instances over the same store (each test class provides it)."""
        raise NotImplementedError

    @pytest.fixture
    def backend(self, fresh_backend: Callable[[], BaseBackend]) -> Iterator[BaseBackend]:
        with fresh_backend() as backend:
            yield backend

    def store(self, backend: BaseBackend, cid: CID, chunks: Any, size: int | None) -> None:
        """Put content in place: through ``put``, or behind a read-only backend's back."""
        backend.put(cid, chunks, size, profile=self.profile)

    def new_content(self, size: int = 100_000) -> tuple[CID, bytes]:
        data = os.urandom(size)
        return import_file([data], self.profile).cid, data

    # -- every backend --------------------------------------------------------------

    def test_absent_cid(self, backend: BaseBackend) -> None:
        cid, _ = self.new_content(64)
        assert backend.has(cid) is False
        with pytest.raises(ContentNotFoundError) as stat_error:
            backend.stat(cid)
        with pytest.raises(ContentNotFoundError) as get_error:
            b"".join(backend.get(cid))
        # the error says which backend answered (errors.py: backend and locator)
        assert stat_error.value.backend and get_error.value.backend

    def test_stored_content_reads_back(self, backend: BaseBackend) -> None:
        cid, data = self.new_content()
        self.store(backend, cid, [data[:40_000], data[40_000:]], len(data))
        assert backend.has(cid) is True
        stat = backend.stat(cid)
        assert (stat.cid, stat.size) == (cid, len(data)) and stat.locator
        assert verified_read(backend, cid, self.profile) == data

    def test_empty_content(self, backend: BaseBackend) -> None:
        cid = import_file([b""], self.profile).cid
        self.store(backend, cid, [], 0)
        assert backend.has(cid) is True
        assert backend.stat(cid).size == 0
        assert verified_read(backend, cid, self.profile) == b""

    def test_large_content_streams(self, backend: BaseBackend) -> None:
        size, seed = self.large_size, random.randrange(1 << 30)
        cid = import_file(random_chunks(size, seed), self.profile).cid
        expected = hashlib.sha256(b"".join(random_chunks(size, seed))).hexdigest()
        tracemalloc.start()
        try:
            self.store(backend, cid, random_chunks(size, seed), size)
            digest, got = hashlib.sha256(), 0
            chunks = backend.get(cid)
            if not backend.verifies_reads:
                chunks = verify_stream(cid, chunks, self.profile)
            for chunk in chunks:
                digest.update(chunk)
                got += len(chunk)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert (got, digest.hexdigest()) == (size, expected)
        assert backend.stat(cid).size == size
        if self.memory_bound is not None:
            assert peak < self.memory_bound, f"peak {peak} B for {size} B of content"

    def test_close_twice(self, fresh_backend: Callable[[], BaseBackend]) -> None:
        backend = fresh_backend()
        cid, data = self.new_content(1000)
        self.store(backend, cid, [data], len(data))
        backend.close()
        backend.close()
        with fresh_backend() as again:
            assert again.has(cid)
        again.close()


class WritableContract(BackendContract):
    """What a backend that takes writes does."""

    writers: ClassVar[int] = 4
    machine_deletes: ClassVar[bool] = True
    machine_settings: ClassVar[settings] = settings(
        max_examples=12, stateful_step_count=12, deadline=None
    )

    def test_put_then_delete(self, backend: BaseBackend) -> None:
        assert backend.read_only is False
        cid, data = self.new_content()
        stored = backend.put(cid, iter([data]), len(data), profile=self.profile)
        assert (stored.cid, stored.size) == (cid, len(data))
        assert verified_read(backend, cid, self.profile) == data
        backend.delete(cid)
        assert backend.has(cid) is False
        with pytest.raises(ContentNotFoundError):
            backend.stat(cid)
        backend.delete(cid)  # absent: not an error

    def test_put_without_size(self, backend: BaseBackend) -> None:
        cid, data = self.new_content(70_000)
        backend.put(cid, (data[i : i + 999] for i in range(0, len(data), 999)), None)
        assert verified_read(backend, cid, self.profile) == data

    def test_any_sequence_of_puts_deletes_and_reads(
        self, fresh_backend: Callable[[], BaseBackend]
    ) -> None:
        machine = type(
            "Machine",
            (BackendMachine,),
            {
                "make": staticmethod(fresh_backend),
                "profile": self.profile,
                "deletes": self.machine_deletes,
            },
        )
        run_state_machine_as_test(machine, settings=self.machine_settings)

    def test_concurrent_writers_of_one_cid(self, backend: BaseBackend) -> None:
        cid, data = self.new_content(300_000)
        errors: list[BaseException] = []
        start = threading.Barrier(self.writers)

        def write() -> None:
            try:
                start.wait()
                backend.put(cid, [data[:1000], data[1000:]], len(data), profile=self.profile)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=write) for _ in range(self.writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [], [f"{type(e).__name__}: {e}" for e in errors]
        assert backend.stat(cid).size == len(data)
        assert verified_read(backend, cid, self.profile) == data


class BackendMachine(RuleBasedStateMachine):
    """A backend against a dict: puts, deletes and reads in any order agree with the model."""

    make: ClassVar[Callable[[], BaseBackend]]
    profile: ClassVar[ImportProfile]
    deletes: ClassVar[bool] = True
    contents = Bundle("contents")

    def __init__(self) -> None:
        super().__init__()
        self.backend = self.make()
        self.model: dict[CID, bytes] = {}
        # the store outlives the run (a session server): content of its own, so what other
        # tests (or earlier examples) left behind never looks like this run's
        self.salt = os.urandom(8)

    @rule(target=contents, data=st.binary(max_size=3000))
    def new_content(self, data: bytes) -> tuple[CID, bytes]:
        data = self.salt + data
        return import_file([data], self.profile).cid, data

    @rule(item=contents)
    def put(self, item: tuple[CID, bytes]) -> None:
        cid, data = item
        stored = self.backend.put(cid, [data], len(data), profile=self.profile)
        assert stored.size == len(data)
        self.model[cid] = data

    @precondition(lambda self: self.deletes)
    @rule(item=contents)
    def delete(self, item: tuple[CID, bytes]) -> None:
        self.backend.delete(item[0])
        self.model.pop(item[0], None)

    @rule(item=contents)
    def read(self, item: tuple[CID, bytes]) -> None:
        cid, data = item
        if cid in self.model:
            assert self.backend.has(cid) and self.backend.stat(cid).size == len(data)
            assert verified_read(self.backend, cid, self.profile) == data
        else:  # (kubo may still serve unpinned blocks until GC: stat and has decide)
            assert not self.backend.has(cid)
            with pytest.raises(ContentNotFoundError):
                self.backend.stat(cid)

    def teardown(self) -> None:
        for cid in self.model:
            self.backend.delete(cid)
        self.backend.close()


class ReadOnlyContract(BackendContract):
    """What a read-only backend (a gateway) does: reads as any other, refuses writes."""

    def test_refuses_writes(self, backend: BaseBackend) -> None:
        assert backend.read_only is True
        cid, data = self.new_content(100)
        with pytest.raises(BackendError):
            backend.put(cid, [data], len(data), profile=self.profile)
        with pytest.raises(BackendError):
            backend.delete(cid)


class CorruptibleContract(BackendContract):
    """For backends whose stored copy a test can change behind the backend's back."""

    def corrupt(self, backend: BaseBackend, cid: CID, data: bytes) -> None:
        raise NotImplementedError

    def test_corrupted_copy_is_refused(self, backend: BaseBackend) -> None:
        cid, data = self.new_content(200_000)
        self.store(backend, cid, [data], len(data))
        self.corrupt(backend, cid, data)
        with pytest.raises(ContentMismatchError):
            verified_read(backend, cid, self.profile)
