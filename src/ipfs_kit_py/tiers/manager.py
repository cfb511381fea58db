"""TieredCacheManager: one CID, many homes; every read verified, faster tiers warmed.

Tiers are ordered fastest first: the in-process :class:`MemoryBackend` (ARC), the shared
:class:`DiskBackend`, then any remote backends (kubo, S3, Storacha, gateways).

Read path: an identity CID is answered from the CID itself; else memory, then the tiers
the index says hold the CID, then the other tiers (probing). Bytes from outside the
process are verified against the CID before they are returned or cached; a remote
object streams into a disk temp file while it is verified and is committed (warming the
disk tier) only on success. A source that fails is skipped (the next tier serves) and,
for an availability fault, backed off (circuit breaker; the peer tier backs off each
peer by itself instead); a copy that does not match its CID is refused (marked bad,
with when and why) and the next tier serves (a peer's lie is the peer tier's to judge:
when no tier serves after one, the read ends in ContentMismatchError); a copy the
index lists but the tier lacks is a miss that marks it ``missing`` in the index (never
dropped: only ``remove``, eviction and ``forget`` drop a copy). Read-only tiers
(gateways) serve reads but are never recorded as holding a copy, and bookkeeping that
fails after a verified read (``stat``, an index write) is logged, not raised: the
verified bytes are returned.
A disk copy is re-hashed on every read by default (a large one by the parallel leaf
hasher); with ``trust_disk_stamps=True`` it is re-hashed only when its stamp (inode,
size, mtime) no longer matches the one recorded when it was written or last verified,
so silent bit rot is then caught only by ``verify``.

Promotion policy (:class:`TierPolicy`): remote hits warm the disk tier; an object enters
memory on its ``promote_after``-th access in this process if it fits
``max_object_bytes`` of the memory tier. The memory tier is per process and therefore
never recorded in the shared index.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ipfs_kit_py import debris
from ipfs_kit_py.backends.base import (
    BaseBackend,
    FileCache,
    ObjectCache,
    RangeReader,
    StoredObject,
)
from ipfs_kit_py.content.cid import DAG_PB, cid_key, full_cid, parse_cid, read_cid, short_cid
from ipfs_kit_py.content.inline import inline_bytes
from ipfs_kit_py.content.unixfs import KUBO_DEFAULT, FileImport, FileImporter, ImportProfile
from ipfs_kit_py.content.verify import ContentVerifier, verify_stream
from ipfs_kit_py.errors import (
    ContentMismatchError,
    ContentNotFoundError,
    InvalidInputError,
    IpfsKitError,
    LastCopyError,
    LeaseLostError,
    NotConfiguredError,
)
from ipfs_kit_py.index import MetadataIndex
from ipfs_kit_py.progress import BaseSubscriber, TransferEvents
from ipfs_kit_py.staging import Staging
from ipfs_kit_py.streams import CHUNK, read_chunks
from ipfs_kit_py.tiers.fence import CopyFence, Fences
from ipfs_kit_py.tiers.policy import CircuitBreaker, TierPolicy, is_availability_fault
from ipfs_kit_py.tiers.verified_read import (
    Fetched,
    VerifiedDownloader,
    verify_file,
)

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID, AnyCID
    from ipfs_kit_py.index_schema import Location

__all__ = [
    "CircuitBreaker",
    "Fetched",
    "TierPolicy",
    "TieredCacheManager",
    "VerifiedDownloader",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Record:
    """What an add knows of its content's record: written again with each copy."""

    size: int | None
    kind: str
    profile: str | None


class TieredCacheManager:
    """Reads and writes content across ordered tiers, with the index as the map."""

    def __init__(
        self,
        tiers: Sequence[BaseBackend],
        index: MetadataIndex,
        policy: TierPolicy | None = None,
        *,
        aliases: Mapping[str, str] | None = None,
        unconfigured: Mapping[str, str] | None = None,
    ) -> None:
        """``aliases``: other names of tiers (``kubo`` -> ``ipfs``); ``unconfigured``:
        backends left out, by name, with what to set (the error when one is asked for)."""
        names = [t.name for t in tiers]
        if len(set(names)) != len(names):
            raise InvalidInputError(f"tier names must be unique: {names}")
        self.tiers = list(tiers)
        self.index = index
        self.aliases = dict(aliases or {})
        self.unconfigured = dict(unconfigured or {})
        self.policy = policy or TierPolicy()
        self.breaker = CircuitBreaker(self.policy.backoff_s, self.policy.max_backoff_s)
        self.memory: ObjectCache | None = next(
            (t for t in tiers if isinstance(t, ObjectCache)), None
        )
        self.disk: FileCache | None = next((t for t in tiers if isinstance(t, FileCache)), None)
        self._accesses: dict[str, tuple[int, float]] = {}
        self._hits: dict[str, int] = {}
        self._lock = threading.Lock()
        self.subscribers: list[BaseSubscriber] = []
        self._keys: dict[AnyCID, str] = {}
        self.fences = Fences()

    def __repr__(self) -> str:
        return f"TieredCacheManager(tiers={[t.name for t in self.tiers]})"

    def tier_name(self, name: str) -> str:
        """The tier name ``name`` stands for (itself, unless it is an alias)."""
        return self.aliases.get(name, name)

    def tier(self, name: str) -> BaseBackend:
        """Return the tier called ``name`` (or an alias of it).

        Raises ``NotConfiguredError`` saying what to set for a known backend left
        unconfigured, ``InvalidInputError`` for any other unknown name.
        """
        wanted = self.tier_name(name)
        for t in self.tiers:
            if t.name == wanted:
                return t
        reason = self.unconfigured.get(name) or self.unconfigured.get(wanted)
        if reason:
            raise NotConfiguredError(reason)
        names = [t.name for t in self.tiers]
        names += [f"{alias} (= {real})" for alias, real in self.aliases.items() if real in names]
        raise InvalidInputError(f"no tier named {name!r}; tiers: {', '.join(names)}")

    # -- read path --------------------------------------------------------------------

    def get_bytes(self, cid: AnyCID | str) -> bytes:
        """Return the verified content of ``cid`` (memory hits skip everything else)."""
        data = self._memory_hit(cid)
        if data is not None:
            return data
        found = read_cid(cid)
        inline = inline_bytes(found)  # an identity CID is its own content, as in kubo
        if inline is not None:
            return inline
        fetched = self._fetch(found, self._key_of(found), want_bytes=True)
        fetched.file.close()
        assert fetched.data is not None
        return fetched.data

    def open(self, cid: AnyCID | str) -> BinaryIO:
        """Return a readable file of the verified content of ``cid``."""
        data = self._memory_hit(cid)
        if data is not None:
            return io.BytesIO(data)
        found = read_cid(cid)
        inline = inline_bytes(found)
        if inline is not None:
            return io.BytesIO(inline)
        return self._fetch(found, self._key_of(found), want_bytes=False).file

    def _memory_hit(self, cid: AnyCID | str) -> bytes | None:
        """The memory tier's copy, looked up without parsing a key string or a known CID."""
        if self.memory is None:
            return None
        key = cid if isinstance(cid, str) else self._key_of(cid)
        data = self.memory.lookup(key, count_miss=False)
        if data is None and isinstance(cid, str):
            key = self._key_of(read_cid(cid))  # e.g. a CIDv0 string
            data = self.memory.lookup(key)
        if data is not None:
            self._note_access(key)
        return data

    def _key_of(self, cid: AnyCID) -> str:
        """``cid_key`` with a bounded cache (computing a key costs ~10-30 us)."""
        key = self._keys.get(cid)
        if key is None:
            if len(self._keys) >= 65536:
                self._keys.clear()
            key = self._keys[cid] = cid_key(cid)
        return key

    def get(self, cid: AnyCID | str) -> Iterator[bytes]:
        """Stream the verified content of ``cid`` (verified before the first chunk)."""
        f = self.open(cid)

        def chunks() -> Iterator[bytes]:
            with f:
                while chunk := f.read(CHUNK):
                    yield chunk

        return chunks()

    def _candidates(self, key: str) -> tuple[list[BaseBackend], dict[str, str | None]]:
        """Tiers to try: those the index lists (in tier order), then the rest, probing.

        A copy the index marks bad is not tried again until it is repaired.
        """
        locations = self.index.locations(key, include_bad=True)
        listed = {loc.backend: loc.stamp for loc in locations if not loc.bad}
        bad = {loc.backend for loc in locations if loc.bad}
        slow = [t for t in self.tiers if not self._is_memory(t) and t.name not in bad]
        ordered = [t for t in slow if t.name in listed] + [t for t in slow if t.name not in listed]
        return ordered, listed

    def open_cached(self, cid: AnyCID | str) -> BinaryIO | None:
        """:meth:`open` as far as this machine alone answers it, else None.

        A file when the memory tier holds ``cid``, when it is an identity CID, or when
        the disk copy the index lists is the first tier a read tries and checks out;
        None otherwise, having changed nothing (:meth:`open` then reads it, and records
        what it finds).
        """
        data = self._memory_hit(cid)
        if data is not None:
            return io.BytesIO(data)
        found = read_cid(cid)
        inline = inline_bytes(found)
        if inline is not None:
            return io.BytesIO(inline)
        key = self._key_of(found)
        fetched = self._cached(found, key, *self._candidates(key), want_bytes=False)
        return None if fetched is None else fetched.file

    def _fetch(self, any_cid: AnyCID, key: str, *, want_bytes: bool) -> Fetched:
        candidates, listed = self._candidates(key)
        trusted = self._cached(any_cid, key, candidates, listed, want_bytes=want_bytes)
        if trusted is not None:
            return trusted
        cid = full_cid(any_cid)  # every other read needs multiformats' CID
        profile = self.profile_of(key)
        tried: list[str] = []
        lie: ContentMismatchError | None = None
        for tier in candidates:
            if self.breaker.is_open(tier.name):
                tried.append(f"{tier.name}: backed off ({self.breaker.reasons.get(tier.name)})")
                continue
            try:
                fetched = self._read_verified(tier, cid, profile, want_bytes, listed.get(tier.name))
            except ContentNotFoundError as exc:
                tried.append(f"{tier.name}: not found")
                if tier.name in listed:
                    self._bookkeep(self._correct_stale, tier, cid, exc)
                continue
            except ContentMismatchError as exc:
                tried.append(f"{tier.name}: mismatch")
                if _judges_its_sources(tier):  # a peer lied: the tier logged and skips it
                    lie = exc
                else:
                    self._refuse(tier, cid, exc)
                continue
            except LeaseLostError:
                raise  # not the source's fault: this read's work is another worker's now
            except Exception as exc:  # any other fault of one source: try the next one
                tried.append(f"{tier.name}: {type(exc).__name__}: {str(exc)[:300]}")
                self._source_failed(tier, cid, exc)
                continue
            self.breaker.reset(tier.name)
            if tier.name not in listed and tier.name not in self.policy.read_only:
                self._bookkeep(self._record_found, tier, cid)
            self._after_hit(cid, key, fetched)
            return fetched
        summary = f"{cid}: no tier holds a good copy ({'; '.join(tried)})"
        if lie is not None:  # the only answers were lies: an integrity failure, not a miss
            raise ContentMismatchError(f"{summary}: {lie}", cid=lie.cid or str(cid))
        raise ContentNotFoundError(summary)

    def _cached(
        self,
        cid: AnyCID,
        key: str,
        candidates: list[BaseBackend],
        listed: dict[str, str | None],
        *,
        want_bytes: bool,
    ) -> Fetched | None:
        """The verified disk copy a read takes first (:meth:`_trusted_disk_copy`), noted
        as a hit; None, with nothing changed, when the read must go further."""
        trusted = self._trusted_disk_copy(cid, key, candidates, listed, want_bytes)
        if trusted is not None:
            self.breaker.reset(trusted.tier)
            self._after_hit(cid, key, trusted)
        return trusted

    def _trusted_disk_copy(
        self,
        cid: AnyCID,
        key: str,
        candidates: list[BaseBackend],
        listed: dict[str, str | None],
        want_bytes: bool,
    ) -> Fetched | None:
        """The disk copy, if disk is the first tier to try and the copy is verified now
        (or, with ``trust_disk_stamps``, its stamp shows the file verified before). None
        sends the read down the full path, which decides (and refuses a bad copy)."""
        disk = self.disk
        if disk is None or not candidates or not self._is_disk(candidates[0]):
            return None
        stamp = listed.get(disk.name)
        if disk.name not in listed or self.breaker.is_open(disk.name):
            return None
        trusting = self.policy.trust_disk_stamps
        if trusting and stamp is None:
            return None
        try:
            f = disk.open(cid)
        except (IpfsKitError, OSError):
            return None
        try:
            if not trusting:
                return verify_file(f, cid, self.profile_of(key), disk.name, want_bytes)  # type: ignore[arg-type]
            if disk.stamp(f) != stamp:
                f.close()
                return None
            data = f.read() if want_bytes else None
            f.seek(0)
            return Fetched(disk.name, os.fstat(f.fileno()).st_size, f, data)
        except (IpfsKitError, OSError):
            f.close()  # the full path reads it again and decides
            return None
        except BaseException:
            f.close()
            raise

    def _bookkeep(self, step: Any, *args: Any) -> None:
        """Run an index update after a read; its failure is logged, never the read's."""
        try:
            step(*args)
        except LeaseLostError:
            raise  # the work this read was for is another worker's now
        except (IpfsKitError, OSError, sqlite3.Error) as exc:
            logger.warning("bookkeeping after reading %s failed: %s", args[1], exc)

    def verified_chunks(
        self, tier: BaseBackend, cid: CID, profile: ImportProfile | None
    ) -> Iterator[bytes]:
        """Stream ``tier``'s copy of ``cid``, raising ContentMismatchError by its end.

        A backend that verifies its own reads is handed the recorded profile if it takes
        one (``reads_with_profile``), so intact bytes of a non-default import pass.
        """
        if not tier.verifies_reads:
            return verify_stream(cid, tier.get(cid), profile)
        if profile is not None and getattr(tier, "reads_with_profile", False):
            chunks: Iterator[bytes] = tier.get(cid, profile=profile)  # type: ignore[call-arg]
            return chunks
        return tier.get(cid)

    def _source_failed(self, tier: BaseBackend, cid: CID, exc: Exception) -> None:
        """Note a tier whose read failed: an availability fault of a tier outside this
        machine backs it off; an unmapped exception is logged as a bug."""
        own = self._is_disk(tier) or _judges_its_sources(tier)
        if not own and is_availability_fault(exc):
            self.breaker.trip(tier.name, f"{type(exc).__name__}: {exc}")
        if isinstance(exc, IpfsKitError | OSError):
            logger.info("reading %s from %s failed: %s", cid, tier.name, exc)
        else:
            logger.warning("reading %s from %s failed unexpectedly", cid, tier.name, exc_info=exc)

    def profile_of(self, cid: CID | str) -> ImportProfile | None:
        """The import profile recorded for ``cid``, or None (verification then guesses)."""
        key = self.index.profile(cid)
        return ImportProfile.parse(key) if key else None

    def _read_verified(
        self,
        tier: BaseBackend,
        cid: CID,
        profile: ImportProfile | None,
        want_bytes: bool,
        stamp: str | None = None,
    ) -> Fetched:
        if self.disk is not None and self._is_disk(tier):
            return self._read_disk(cid, profile, want_bytes, stamp)
        warm = self.disk is not None and self.policy.warm_disk and not self._disk_down()
        if warm and isinstance(tier, VerifiedDownloader):
            return self._download_to_disk(tier, cid, profile, want_bytes)
        staging = self.disk.stage() if warm and self.disk else _temp_staging()
        events = TransferEvents(str(cid), self.subscribers)
        limit = self._known_size(cid)  # a source sending more is lying: stop, not spool on
        size = 0
        try:
            with events:
                for chunk in self.verified_chunks(tier, cid, profile):
                    size += len(chunk)
                    if limit is not None and size > limit:
                        raise ContentMismatchError(
                            f"{tier.name} sent more than the {limit} bytes of {cid}", cid=str(cid)
                        )
                    staging.write(chunk)
                    events.progress(len(chunk))
            f = staging.reopen()
            if warm and self.disk is not None:
                self._bookkeep(self._commit_disk, staging, cid)
        finally:
            staging.abort()
        data = f.read() if want_bytes else None
        if want_bytes:
            f.seek(0)
        return Fetched(tier.name, size, f, data)

    def _known_size(self, cid: CID) -> int | None:
        """The size the index recorded for file ``cid``, if any."""
        record = self.index.content(cid)
        return record.size if record is not None and record.kind == "file" else None

    def _read_disk(
        self, cid: CID, profile: ImportProfile | None, want_bytes: bool, stamp: str | None
    ) -> Fetched:
        """Read the disk copy; re-hash it unless its stamp shows it is the file verified."""
        assert self.disk is not None
        f = self.disk.open(cid)
        current = self.disk.stamp(f)
        if self.policy.trust_disk_stamps and stamp is not None and stamp == current:
            data = f.read() if want_bytes else None
            f.seek(0)
            return Fetched(self.disk.name, os.fstat(f.fileno()).st_size, f, data)
        fetched = verify_file(f, cid, profile, self.disk.name, want_bytes)
        self._bookkeep(self.index.set_stamp, cid, self.disk.name, current)
        return fetched

    def _download_to_disk(
        self, tier: VerifiedDownloader, cid: CID, profile: ImportProfile | None, want_bytes: bool
    ) -> Fetched:
        """Let the backend download (in parallel) and verify into a disk temp file."""
        assert self.disk is not None
        self.disk.stage().abort()  # creates the tmp directory
        # journaled before the backend renames its download to it: a process killed
        # before the file is adopted leaves it to the next one's sweep, never for good
        tmp = self.disk.tmp_dir / f"{os.urandom(16).hex()}.download{debris.SUFFIX}"
        debris.record(tmp)
        try:
            if profile is not None and getattr(tier, "reads_with_profile", False):
                tier.download(cid, tmp, profile=profile, subscribers=self.subscribers)  # type: ignore[call-arg]
            else:
                tier.download(cid, tmp, subscribers=self.subscribers)
            f = tmp.open("rb")
            size = os.fstat(f.fileno()).st_size
            self._bookkeep(self._adopt_download, tmp, cid, size)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            debris.release(tmp)
        data = f.read() if want_bytes else None
        f.seek(0)
        return Fetched(tier.name, size, f, data)

    def _adopt_download(self, tmp: Path, cid: CID, size: int) -> None:
        assert self.disk is not None
        self._make_room(size)
        with self.index.transaction():
            self.fences.check(cid)  # before the file is in place: a refusal leaves none
            path = self.disk.adopt(tmp, cid)
            self.index.record(cid, self.disk.name, str(path), stamp=self.disk.stamp(path))

    def _disk_down(self) -> bool:
        return self.disk is not None and self.breaker.is_open(self.disk.name)

    def _commit_disk(self, staging: Staging, cid: CID) -> None:
        assert self.disk is not None
        self._make_room(staging.size)
        with self.index.transaction():
            self.fences.check(cid)
            path = self.disk.commit(staging, cid)
            self.index.record(cid, self.disk.name, str(path), stamp=self.disk.stamp(path))

    def _after_hit(self, cid: AnyCID, key: str, fetched: Fetched) -> None:
        self._note_access(key)
        if self.memory is None or fetched.size > self.memory.max_object_bytes:
            return
        with self._lock:
            hits = self._hits[key] = self._hits.get(key, 0) + 1
        if hits >= self.policy.promote_after:
            data = fetched.data
            if data is None:
                data = fetched.file.read()
                fetched.file.seek(0)
            self.memory.insert(key, data)

    def _correct_stale(self, tier: BaseBackend, cid: CID, exc: ContentNotFoundError) -> None:
        # Re-check inside the write lock: another process may have just stored it again.
        with self.index.transaction():
            if not (self._is_disk(tier) and tier.has(cid)):
                self.index.mark_missing(cid, tier.name, f"read found it gone: {exc}")
                logger.warning(
                    "index listed %s in %s but it is gone; marked missing", cid, tier.name
                )

    def _record_found(self, tier: BaseBackend, cid: CID) -> None:
        """A probe found ``cid`` in a tier the index did not list: record it."""
        if not self._is_disk(tier):
            try:
                locator = tier.stat(cid).locator
            except (IpfsKitError, OSError) as exc:  # the read is verified: it stands
                logger.warning("found %s in %s but cannot record it: %s", cid, tier.name, exc)
                return
            self.index.record(cid, tier.name, locator)
            return
        with self.index.transaction():  # the file may have been evicted since the read
            if tier.has(cid):
                self.index.record(cid, tier.name, tier.stat(cid).locator)  # stamped on next read

    def _refuse(self, tier: BaseBackend, cid: CID, exc: ContentMismatchError) -> None:
        logger.warning("refused the copy of %s in %s: %s", cid, tier.name, exc)
        reason = f"read refused it: {exc}"
        with self.index.transaction():
            if self._is_disk(tier):
                tier.delete(cid)  # a cache copy that is wrong is only harmful
                reason += " (the disk copy was deleted)"
            self.index.mark_verified(cid, tier.name, ok=False, reason=reason)

    # -- access statistics ------------------------------------------------------------

    def _note_access(self, key: str) -> None:
        with self._lock:
            n, _ = self._accesses.get(key, (0, 0.0))
            self._accesses[key] = (n + 1, time.time())
            full = len(self._accesses) >= self.policy.access_flush_every
        if full:
            self.flush()

    def flush(self) -> None:
        """Write buffered access statistics to the index in one transaction."""
        with self._lock:
            pending, self._accesses = self._accesses, {}
        self.index.record_access(pending)

    # -- write path -------------------------------------------------------------------

    def add(
        self,
        chunks: Iterable[bytes],
        *,
        profile: ImportProfile = KUBO_DEFAULT,
        to: Sequence[str] | None = None,
        pinned: bool = False,
        kind: str = "file",
    ) -> FileImport:
        """Import a byte stream, computing its CID while spooling it, then store it.

        A tier that holds files as plain bytes readable by ranges (S3) also gets the
        file's DAG layout (its internal nodes, kept while importing) beside it.
        """
        from ipfs_kit_py.tiers.span_layout import LayoutCollector  # not on the read path

        layout = LayoutCollector()
        importer = FileImporter(profile, layout, leaves=False)
        with self._spool() as staging:
            for chunk in chunks:
                importer.update(chunk)
                staging.write(chunk)
            result = importer.finish()
            record = _Record(result.size, kind, profile.key())
            self.index.begin_add(result.cid, size=record.size, kind=kind, profile=record.profile)
            self._store_pending(result.cid, staging, to, pinned, record)
        self._store_layouts(result.cid, layout.nodes)
        return result

    def _store_layouts(self, cid: CID, nodes: dict[bytes, bytes] | None) -> None:
        """Write ``cid``'s layout beside each range-readable copy (best effort)."""
        if nodes is None or cid.codec.code != DAG_PB:
            return
        from ipfs_kit_py.tiers.span_layout import rooted, store_layout

        holders = {loc.backend for loc in self.index.locations(cid)}
        for tier in self.tiers:
            if tier.name in holders and isinstance(tier, RangeReader):
                store_layout(tier, cid, rooted(cid, nodes))

    def put(
        self,
        cid: CID | str,
        chunks: Iterable[bytes],
        *,
        profile: ImportProfile | None = None,
        to: Sequence[str] | None = None,
        pinned: bool = False,
    ) -> list[StoredObject]:
        """Store content whose CID is known; it is verified before it is stored anywhere."""
        cid = parse_cid(cid)
        profile = profile or self.profile_of(cid)
        verifier = ContentVerifier(cid, profile)
        with self._spool() as staging:
            for chunk in chunks:
                verifier.update(chunk)
                staging.write(chunk)
            verifier.finish()
            # the profile that rebuilt the root, so no tier re-imports with a guess
            found = profile or verifier.matched
            record = _Record(verifier.size, "file", found.key() if found else None)
            self.index.begin_add(cid, size=record.size, profile=record.profile)
            return self._store_pending(cid, staging, to, pinned, record)

    def _store_pending(
        self, cid: CID, staging: Staging, to: Sequence[str] | None, pinned: bool, record: _Record
    ) -> list[StoredObject]:
        """:meth:`_store` a pending add; on failure roll the content row back if no copy."""
        try:
            stored = self._store(cid, staging, to, pinned, record)
        except BaseException:
            self.index.rollback_add(cid)
            raise
        # stored nowhere (``to=[]``: the CID only): no record that ``ls`` would list and
        # ``whereis`` deny; a row with copies recorded earlier is kept as it is
        self.index.finish_add(cid) if stored else self.index.rollback_add(cid)
        return stored

    def _spool(self) -> Staging:
        if self.disk is not None and not self._disk_down():
            return self.disk.stage()
        return _temp_staging()

    def _store(
        self, cid: CID, staging: Staging, to: Sequence[str] | None, pinned: bool, record: _Record
    ) -> list[StoredObject]:
        targets = [self.tier(name) for name in (self.policy.put_to if to is None else to)]
        stored: list[StoredObject] = []
        with staging.reopen() as source:
            for tier in targets:
                if self._is_disk(tier):
                    continue
                source.seek(0)
                if self.memory is not None and self._is_memory(tier):
                    # size first: a file too large to cache is never read into memory
                    if staging.size <= self.memory.max_object_bytes:
                        self.memory.insert(cid_key(cid), source.read())
                        stored.append(self.memory.stat(cid))
                    continue
                profile = ImportProfile.parse(record.profile) if record.profile else None
                obj = tier.put(cid, read_chunks(source), staging.size, profile=profile)
                self._record_put(tier, cid, obj.locator, pinned, record)
                stored.append(obj)
            if self.disk is not None and any(self._is_disk(t) for t in targets):
                stored.append(self._store_on_disk(cid, staging, source, pinned, record))
        return stored

    def _record_copy(
        self, cid: CID, name: str, locator: str, pinned: bool, stamp: str | None, record: _Record
    ) -> None:
        """Record a copy an add made, inside the caller's transaction, with the content's
        record: a concurrent add of the same CID (another process or node) that failed may
        have rolled the record back meanwhile, and the copy must not bring it back bare
        (no size, no profile to verify with, a directory as a file)."""
        self.index.upsert_content(cid, size=record.size, kind=record.kind, profile=record.profile)
        self.index.record(cid, name, locator, pinned=pinned or None, stamp=stamp)

    @contextlib.contextmanager
    def fenced(self, fence: CopyFence) -> Iterator[None]:
        """Record copies of ``fence.cid`` this thread makes only while ``fence`` is held
        (checked in each recording transaction); see :mod:`ipfs_kit_py.tiers.fence`."""
        with self.fences.kept(fence):
            yield

    def _record_put(
        self, tier: BaseBackend, cid: CID, locator: str, pinned: bool, record: _Record
    ) -> None:
        """Record the object just put into ``tier``; refused by a lost fence, drop it."""
        try:
            with self.index.transaction():
                self.fences.check(cid)
                self._record_copy(cid, tier.name, locator, pinned, None, record)
        except LeaseLostError:
            self._drop_unrecorded(tier, cid)
            raise

    def _drop_unrecorded(self, tier: BaseBackend, cid: CID) -> None:
        """Delete the object a fenced writer put but may not record, unless a location
        row claims it or another writer may be writing the same object right now.

        The check and the delete hold the CID and its queue row (no worker claims it
        meanwhile); as for :meth:`remove`, a writer outside the queue is not held off.
        """
        fence = self.fences.current(cid)
        with self.index.transaction():
            self.index.lock_cid(cid)
            claimed = any(
                loc.backend == tier.name for loc in self.index.locations(cid, include_bad=True)
            )
            if claimed or (fence is not None and fence.others_may_write()):
                logger.info(
                    "%s in %s: kept (recorded, or being written by another worker)", cid, tier.name
                )
                return
            try:
                tier.delete(cid)
            except (IpfsKitError, OSError) as exc:
                logger.warning(
                    "cannot delete the unrecorded copy of %s in %s: %s", cid, tier.name, exc
                )

    def _store_on_disk(
        self, cid: CID, staging: Staging, source: BinaryIO, pinned: bool, record: _Record
    ) -> StoredObject:
        """Commit the spooled bytes into the disk tier and record them, in one transaction."""
        assert self.disk is not None
        self._make_room(staging.size)
        local = staging
        if staging.path.parent != self.disk.tmp_dir:  # spooled elsewhere: copy in first
            local = self.disk.stage()
            source.seek(0)
            for chunk in read_chunks(source):
                local.write(chunk)
        try:
            with self.index.transaction():
                self.fences.check(cid)
                path = self.disk.commit(local, cid)
                self._record_copy(
                    cid, self.disk.name, str(path), pinned, self.disk.stamp(path), record
                )
        finally:
            local.abort()
        return StoredObject(cid, staging.size, str(path))

    def _make_room(self, incoming: int) -> None:
        """Evict least recently used disk objects, never the last copy of kept content.

        Each CID is held (:meth:`~MetadataIndex.lock_cid`) while it is checked and
        evicted, so another node removing its own copy at once cannot leave none; one
        held elsewhere is skipped.
        """
        assert self.disk is not None
        entries, to_free = self.disk.eviction_plan(incoming)
        freed = 0
        with self.index.transaction():
            for entry in entries:
                if freed >= to_free:
                    break
                if not self.index.lock_cid(entry.key, wait=False):
                    continue
                read_only = self.policy.read_only
                if self.index.is_last_kept_copy(entry.key, self.disk.name, non_durable=read_only):
                    continue
                self.disk.delete_key(entry.key)
                self.index.forget(entry.key, self.disk.name)
                self._drop_if_gone(entry.key)
                freed += entry.size
        if freed < to_free:
            logger.warning("disk tier over capacity: %d bytes are kept content", to_free - freed)

    # -- remove and whereis -----------------------------------------------------------

    def whereis(self, cid: CID | str) -> list[str]:
        """Names of the tiers holding ``cid``: memory (this process) plus the index."""
        cid = parse_cid(cid)
        names = [self.memory.name] if self.memory and self.memory.has(cid) else []
        listed = {loc.backend for loc in self.index.locations(cid)}
        return names + [t.name for t in self.tiers if t.name in listed]

    def forget(
        self, cid: CID | str, from_: Sequence[str] | None = None, *, all_nodes: bool = False
    ) -> list[str]:
        """Drop index entries of ``cid`` (every copy, or those in ``from_``) and nothing else.

        The tiers are not touched: this is how a copy marked missing leaves the ledger.
        Without ``from_`` the content record, its tags and pins go too; while other nodes
        record copies in their own tiers, only with ``all_nodes`` (a node forgets what it
        knows, not what another node holds).
        """
        cid = parse_cid(cid)
        known = [loc.backend for loc in self.index.locations(cid, include_bad=True)]
        if from_ is None:
            if self.index.content(cid) is None:
                raise ContentNotFoundError(f"{cid} is not in the index")
            if not all_nodes:
                self._refuse_other_nodes_copies(cid)
            self.index.drop(cid)
            return known
        wanted = [self.tier_name(name) for name in from_]  # ``kubo`` is the ipfs tier
        tiers = {t.name for t in self.tiers} | set(self.unconfigured)
        unknown = [n for n, w in zip(from_, wanted, strict=True) if w not in {*known, *tiers}]
        if unknown:
            self.tier(unknown[0])  # InvalidInputError naming the tiers there are
        names = list(dict.fromkeys(name for name in wanted if name in known))
        self.index.forget_many((cid, name) for name in names)
        return names

    def _refuse_other_nodes_copies(self, cid: CID) -> None:
        mine = ("", self.index.node_id)
        theirs = sorted(
            {
                f"{loc.backend} of {loc.node}"
                for loc in self.index.locations(cid, include_bad=True, all_nodes=True)
                if loc.node not in mine
            }
        )
        if theirs:
            raise InvalidInputError(
                f"{short_cid(cid)} has copies other nodes record ({', '.join(theirs)}): "
                "forget them on those nodes, or forget on every node (--all-nodes)"
            )

    def remove(self, cid: CID | str, from_: Sequence[str], *, force: bool = False) -> list[str]:
        """Delete ``cid`` from the named tiers; refuse to drop the last copy of kept content.

        The check and the change are one transaction holding the CID, so two removes
        at once (on two nodes, or two tiers) cannot each leave the other's copy as the
        last and both go. A remote copy leaves the ledger first and is deleted after the
        transaction (no network call under the index's lock); if that delete fails, its
        entry is put back.
        """
        cid = parse_cid(cid)
        tiers = [self.tier(name) for name in from_]
        with self.index.transaction():
            self.index.lock_cid(cid)
            known = self.index.locations(cid, include_bad=True, all_nodes=True)
            self._check_last_copy(cid, known, tiers, force)
            remote = []
            for tier in tiers:
                if not (self._is_disk(tier) or self._is_memory(tier)):
                    self.index.forget(cid, tier.name)  # deleted below, outside the lock
                    remote.append(tier)
                    continue
                tier.delete(cid)  # local: file and record go together
                self.index.forget(cid, tier.name)
        mine = {loc.backend: loc for loc in known if loc.node in ("", self.index.node_id)}
        for tier in remote:
            try:
                tier.delete(cid)
            except BaseException:
                self._restore(mine.get(tier.name))
                raise
        self._drop_if_gone(cid)
        return [tier.name for tier in tiers]

    def _check_last_copy(
        self, cid: CID, known: Sequence[Location], tiers: Sequence[BaseBackend], force: bool
    ) -> None:
        """Raise LastCopyError if removing ``tiers`` leaves pinned ``cid`` no good copy."""
        read_only = set(self.policy.read_only)
        mine = ("", self.index.node_id)  # other nodes' copies protect it too: tier@node
        durable = {
            loc.backend if loc.node in mine else f"{loc.backend}@{loc.node}"
            for loc in known
            if loc.state == "good"
        } - read_only
        kept = any(loc.pinned for loc in known)
        left = durable - {t.name for t in tiers}
        if kept and not left and durable and not force:
            raise LastCopyError(f"{cid} is pinned and {sorted(durable)} hold its last copies")

    def _restore(self, loc: Location | None) -> None:
        """Put back the entry of a copy whose delete failed, as it was."""
        if loc is None:
            return
        with self.index.transaction():
            self.index.record(loc.cid, loc.backend, loc.locator, pinned=loc.pinned, stamp=loc.stamp)
            if loc.missing:
                self.index.mark_missing(loc.cid, loc.backend, loc.reason or "missing")
            elif loc.bad:
                self.index.mark_verified(loc.cid, loc.backend, ok=False, reason=loc.reason or "")

    def _drop_if_gone(self, cid: CID | str) -> None:
        """After a remove or an eviction left no copy anywhere, drop the record: ``ls``
        must not list content no tier holds (this process's memory counts)."""
        with self.index.transaction():
            if self.index.locations(cid, include_bad=True, all_nodes=True):
                return
            record = self.index.content(cid)
            if record is None or record.kind == "dir":
                return
            if self.memory is not None and self.memory.has(parse_cid(cid)):
                return
            self.index.drop(cid)

    def _is_memory(self, tier: object) -> bool:
        return self.memory is not None and tier is self.memory

    def _is_disk(self, tier: object) -> bool:
        return self.disk is not None and tier is self.disk

    def clean_tmp(self) -> None:
        """Drop the disk tier's temp files of writers that crashed over an hour ago."""
        if self.disk is not None:
            self.disk.clean_tmp()

    def close(self) -> None:
        """Flush access statistics; the tiers and index are closed by their owner."""
        self.flush()


def _judges_its_sources(tier: BaseBackend) -> bool:
    """True for a tier of many sources (the peer tier) that backs off each source by
    itself: one source's fault neither backs off the tier nor marks a copy bad."""
    return bool(getattr(tier, "judges_its_sources", False))


def _temp_staging() -> Staging:
    """Staging in the system temp directory, for a kit without a usable disk tier."""
    import tempfile  # rarely needed, and slow to import (random, shutil)

    return Staging(Path(tempfile.gettempdir()))
