"""Object-level S3 operations over the obstore engine (Rust; releases the GIL).

The engine was chosen by measurement (``bench/s3.py``, docs/s3.md): against SeaweedFS on
two cores it used the least client CPU per request and per byte of the candidates
(boto3/s3transfer default and tuned, botocore with our own thread pool, awscrt).
Every engine error leaves this module translated by :func:`translate_error`.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipfs_kit_py.errors import MissingDependencyError

try:
    import obstore
    from obstore.store import S3Store
except ImportError as exc:  # the engine comes with the optional s3 extra
    raise MissingDependencyError(
        "S3 support is not installed: install the extra: pip install 'ipfs_kit_py[s3]'"
    ) from exc

from ipfs_kit_py.backends.s3.config import S3Config
from ipfs_kit_py.backends.s3.errors import (
    raise_translated,
    translate_error,
    validate_bucket,
    validate_key,
)
from ipfs_kit_py.backends.s3.pending import InflightLedger, PendingUploads
from ipfs_kit_py.backends.s3.relay import UploadRelay
from ipfs_kit_py.backends.s3.relay_proxy import unrelayable_proxy
from ipfs_kit_py.backends.s3.transfer import (
    ByteSink,
    ChunkSource,
    SourceGuard,
    UploadSource,
    count_chunks,
    download_ranges,
    peek_first_part,
    source_size,
)
from ipfs_kit_py.errors import (
    BackendTimeoutError,
    BackendUnavailableError,
    BucketNotFoundError,
    ConfigurationError,
    ContentNotFoundError,
    InvalidInputError,
    IpfsKitError,
)
from ipfs_kit_py.net import StallGuard
from ipfs_kit_py.progress import Subscribers, TransferEvents
from ipfs_kit_py.resource import Closeable
from ipfs_kit_py.tls import read_pem

if TYPE_CHECKING:
    from obstore import GetOptions
    from obstore.store import S3Credential

__all__ = ["ObjectInfo", "S3Client"]

logger = logging.getLogger(__name__)

# The engine coalesces network reads into chunks of at least this size. Large chunks
# are fresh allocations each time (page faults: measured 2-3x the kernel time of the
# whole download at 4 MiB), so streams use 1 MiB. Downloads to disk take the network's
# own buffers (no coalescing: 1): measured faster than 256 KiB here (348 vs 258 MB/s,
# 128 MB from SeaweedFS), and every read is seen, so a trickle is caught by the stall
# guard instead of waiting for a coalesced chunk that never fills.
STREAM_CHUNK = 1024 * 1024
CLOCK_SKEW_S = 120.0  # how far the server's clock may be from ours
# the multipart uploads this process runs, whichever client runs them: a sweep by one
# client must not take another client's running upload for a dead one
_ACTIVE_UPLOADS: set[Any] = set()
SWEEP_EVERY_S = 60.0
DOWNLOAD_CHUNK = 1
_META_HEADERS = {"Content-Type", "Content-Encoding", "Content-Disposition", "Cache-Control"}


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One S3 object: where it is, how big, its ETag and user metadata."""

    bucket: str
    key: str
    size: int
    etag: str = ""
    last_modified: datetime | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


class S3Client(Closeable):
    """Thread-safe object operations on any bucket, one engine store per bucket.

    Construction does no I/O; stores and the transfer thread pool are created on first
    use. Use as a context manager or call :meth:`close` (idempotent).
    """

    def __init__(self, config: S3Config, uploads: InflightLedger | None = None) -> None:
        self.config = config
        self.uploads = uploads  # where multipart uploads in flight are noted (the index)
        self._active = _ACTIVE_UPLOADS  # every client's of this process: none is stale
        self._sweep_after: dict[str, float] = {}
        self._pending: PendingUploads | None = None
        self._stores: dict[str, S3Store] = {}
        self._known_buckets: set[str] = set()
        self._lock = threading.Lock()
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._relay: UploadRelay | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"S3Client(endpoint={self.config.endpoint_url!r}, region={self.config.region!r})"

    def close(self) -> None:
        """Release the thread pool and connections."""
        with self._lock:
            self._closed = True  # no store or pool is made again: use after close raises
            pools, self._pools = list(self._pools.values()), {}
            self._stores.clear()
            pending, self._pending = self._pending, None
            relay, self._relay = self._relay, None
        if pending is not None:
            pending.close()
        if relay is not None:
            relay.close()
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=True)

    def _check_open(self) -> None:
        if self._closed:
            raise ConfigurationError("this S3 client is closed")

    # -- engine plumbing ----------------------------------------------------------------

    def store(self, bucket: str, *, metadata: bool = False, upload: bool = False) -> S3Store:
        """Return the (cached) engine store for ``bucket``; no network.

        Three flavours, for three kinds of wait: ``metadata`` (small calls, each request
        within the ``deadline``), ``upload`` (through the stall guard's relay: no byte
        accepted for ``upload_stall_timeout`` fails; the answer, once a whole part is
        sent, within ``upload_timeout``) and downloads (``idle_timeout`` between
        bytes); every request within ``request_timeout``.
        """
        validate_bucket(bucket)
        self.config.require()
        kind = "meta" if metadata else "up" if upload else "down"
        name = f"{bucket}\0{kind}"
        with self._lock:
            self._check_open()
            found = self._stores.get(name)
            if found is None:
                relay = self._upload_relay() if kind == "up" else None
                proxy = relay.proxy_url if relay is not None else None
                found = self._stores[name] = _make_store(self.config, bucket, kind, proxy)
            return found

    def _upload_relay(self) -> UploadRelay | None:
        """The stall guard of uploads (made on first use; None when turned off, or when
        the environment names a proxy for the endpoint the relay cannot go through)."""
        if self._relay is None and self.config.upload_stall_timeout > 0:
            scheme = unrelayable_proxy(self.config.endpoint_url)
            if scheme is not None:
                logger.info("S3 uploads use the %s proxy of the environment, unguarded", scheme)
                return None
            self._relay = UploadRelay(self.config.endpoint_url, self.config.upload_stall_timeout)
        return self._relay

    @property
    def pool(self) -> ThreadPoolExecutor:
        """The transfer threads (parts and ranges), made on first use."""
        return self._lazy_pool("s3-transfer", self.config.max_concurrency)

    @property
    def batch_pool(self) -> ThreadPoolExecutor:
        """The threads of batch calls (many small objects), made on first use."""
        return self._lazy_pool("s3-batch", self.config.batch_concurrency)

    def _lazy_pool(self, name: str, workers: int) -> ThreadPoolExecutor:
        with self._lock:
            self._check_open()
            pool = self._pools.get(name)
            if pool is None:
                pool = self._pools[name] = ThreadPoolExecutor(workers, thread_name_prefix=name)
            return pool

    def _call(
        self,
        action: str,
        bucket: str,
        key: str,
        func: Any,
        *args: Any,
        source: SourceGuard | None = None,
        **kw: Any,
    ) -> Any:
        try:
            return func(*args, **kw)
        except Exception as exc:
            if source is not None and source.error is not None:
                raise source.failure()  # noqa: B904 - chained to the source's own error
            error = translate_error(exc, action, bucket, key)
            if isinstance(error, ContentNotFoundError) and not self.bucket_exists(bucket):
                raise BucketNotFoundError(
                    f"S3 bucket {bucket!r} does not exist", backend="s3", locator=f"s3://{bucket}"
                ) from exc
            raise_translated(exc, action, bucket, key)

    def probe(self, bucket: str) -> None:
        """One small listing within the ``deadline``: an upload is not sent to a server
        that does not answer (whose silence only ``upload_timeout`` would end). Other
        failures (credentials refused) are left to the upload, which reports them."""
        try:
            exists = self.bucket_exists(bucket, cached=False)
        except BackendUnavailableError:
            raise
        except IpfsKitError:
            return
        if not exists:
            raise BucketNotFoundError(f"S3 bucket {bucket!r} does not exist")

    def bucket_exists(self, bucket: str, *, cached: bool = True) -> bool:
        """True if ``bucket`` exists (a one-key listing; positive answers are cached)."""
        if cached and bucket in self._known_buckets:
            return True
        store = self.store(bucket, metadata=True)
        try:
            next(iter(obstore.list(store, chunk_size=1)), None)
        except Exception as exc:
            error = translate_error(exc, "list", bucket)
            if isinstance(error, BucketNotFoundError | ContentNotFoundError):
                return False
            raise_translated(exc, "list", bucket)
        self._known_buckets.add(bucket)
        return True

    # -- multipart uploads in flight ---------------------------------------------------------

    @property
    def pending_uploads(self) -> PendingUploads:
        """Lists and aborts the server's open multipart uploads (created on first use)."""
        with self._lock:
            if self._pending is None:
                self._pending = PendingUploads(self.config)
            return self._pending

    @contextlib.contextmanager
    def _recorded_upload(self, bucket: str, key: str, *, multipart: bool) -> Iterator[None]:
        """Note a multipart upload in the ledger while it runs; abort its parts if it fails.

        An abort that fails (the server is down) leaves the note, so the next use of the
        bucket (or ``ipfs-kit s3 cleanup``) aborts the parts later.
        """
        if not multipart or self.uploads is None:
            yield
            return
        upload = self.uploads.begin(bucket, key)
        self._active.add(upload)
        try:
            yield
        except BaseException:
            self._active.discard(upload)
            self._abort_after_failure(bucket, key, upload)
            raise
        self._active.discard(upload)
        self.uploads.end(upload)

    def _abort_after_failure(self, bucket: str, key: str, upload: Any) -> None:
        assert self.uploads is not None
        if self._others_running(bucket, key, upload):
            return  # its parts cannot be told from ours: ours stay noted, swept later
        try:
            self.pending_uploads.abort_for(bucket, key, upload.started - CLOCK_SKEW_S)
        except IpfsKitError as exc:
            self._sweep_after[bucket] = 0.0
            logger.warning(
                "could not abort the failed multipart upload of s3://%s/%s (%s); it is "
                "recorded and will be aborted on the next use of the bucket or by "
                "`ipfs-kit s3 cleanup`",
                bucket,
                key,
                exc,
            )
            return
        self.uploads.end(upload)

    def _others_running(self, bucket: str, key: str, upload: Any) -> bool:
        """True if another upload of ``bucket/key`` is in flight (here or on another node).

        An abort names a key, not an upload (the upload id stays inside the S3 library),
        so a failed upload's parts wait while another upload of the same key runs.
        """
        assert self.uploads is not None
        others = self.uploads.running(bucket, key, self._active) - {upload}
        if others:
            logger.info(
                "another upload of s3://%s/%s is running: the parts of the failed one are "
                "aborted once it is over (next use of the bucket, or `ipfs-kit s3 cleanup`)",
                bucket,
                key,
            )
        return bool(others)

    def sweep_uploads(self, bucket: str, *, when_due: bool = False) -> int:
        """Abort the recorded multipart uploads of ``bucket`` nobody runs; return how many.

        ``when_due``: at most once a minute per bucket (and never raising): the check
        made on each use of a bucket.
        """
        if self.uploads is None:
            return 0
        now = time.monotonic()
        if when_due and now < self._sweep_after.get(bucket, 0.0):
            return 0
        self._sweep_after[bucket] = now + SWEEP_EVERY_S
        try:
            return self._sweep(bucket)
        except IpfsKitError as exc:
            if not when_due:
                raise
            logger.info("sweeping old multipart uploads of s3://%s failed: %s", bucket, exc)
            return 0

    def _sweep(self, bucket: str) -> int:
        assert self.uploads is not None
        aborted = 0
        for upload in self.uploads.stale(bucket, self._active):
            if self._others_running(bucket, upload.key, upload):
                continue
            since, until = upload.started - CLOCK_SKEW_S, upload.started + CLOCK_SKEW_S
            aborted += self.pending_uploads.abort_for(bucket, upload.key, since, until)
            self.uploads.end(upload)
        if aborted:
            logger.info("aborted %d multipart uploads left in s3://%s", aborted, bucket)
        return aborted

    # -- operations -----------------------------------------------------------------------

    def head(self, bucket: str, key: str) -> ObjectInfo:
        """Describe ``s3://bucket/key``; raise ContentNotFoundError if absent."""
        validate_key(key)
        options: GetOptions = {"head": True}
        store = self.store(bucket, metadata=True)
        result = self._call("head", bucket, key, obstore.get, store, key, options=options)
        return _info(bucket, key, result.meta, result.attributes)

    def exists(self, bucket: str, key: str) -> bool:
        """True if ``s3://bucket/key`` exists; a missing bucket raises BucketNotFoundError."""
        try:
            self.head(bucket, key)
        except BucketNotFoundError:
            raise
        except ContentNotFoundError:
            return False
        return True

    def put(
        self,
        bucket: str,
        key: str,
        source: UploadSource,
        *,
        metadata: Mapping[str, str] | None = None,
        size: int | None = None,
        subscribers: Subscribers = (),
    ) -> ObjectInfo:
        """Upload ``source`` (path, bytes, binary file or byte chunks) as ``s3://bucket/key``.

        Large sources go up as a streamed multipart upload with parallel parts; a failed
        multipart upload is aborted, so no parts are left behind.
        """
        validate_key(key)
        store = self.store(bucket, upload=True)
        attributes = _attributes(metadata)
        total = [0]
        self.probe(bucket)

        def add(n: int) -> None:
            total[0] += n
            notifier.progress(n)

        expected = size if size is not None else source_size(source)
        self.sweep_uploads(bucket, when_due=True)
        with TransferEvents(key, subscribers, expected) as notifier, ChunkSource(source) as chunks:
            guarded = SourceGuard(count_chunks(chunks, add))
            try:
                first, rest = peek_first_part(guarded, self.config.part_size)
            except Exception:
                raise guarded.failure()  # noqa: B904 - chained to the source's own error
            with (
                self._recorded_upload(bucket, key, multipart=rest is not None),
                self._stall_named(bucket, key),
            ):
                result = self._call(
                    "upload",
                    bucket,
                    key,
                    obstore.put,
                    store,
                    key,
                    first if rest is None else itertools.chain([first], rest),
                    attributes=attributes,
                    use_multipart=rest is not None,
                    chunk_size=self.config.part_size,
                    max_concurrency=self.config.buffered_parts,
                    source=guarded,
                )
        self._known_buckets.add(bucket)
        etag = str(result.get("e_tag") or "").strip('"')
        logger.debug("uploaded s3://%s/%s (%d bytes)", bucket, key, total[0])
        return ObjectInfo(bucket, key, total[0], etag, None, dict(metadata or {}))

    @contextlib.contextmanager
    def _stall_named(self, bucket: str, key: str) -> Iterator[None]:
        """An upload that failed after the relay cut a stalled connection says so."""
        started = time.monotonic()
        try:
            yield
        except IpfsKitError as exc:
            relay = self._relay
            if relay is None or not relay.stalled_since(started):
                raise
            raise BackendTimeoutError(
                f"S3 upload of s3://{bucket}/{key} stalled: the server accepted no byte "
                f"for {relay.stall_timeout:g}s (upload_stall_timeout)",
                backend="s3",
                locator=f"s3://{bucket}/{key}",
            ) from exc

    def put_many(
        self,
        bucket: str,
        items: Iterable[tuple[str, bytes]],
        *,
        metadata_for: Callable[[str], Mapping[str, str]] | None = None,
    ) -> list[ObjectInfo]:
        """Upload many small objects concurrently over reused connections, one PUT each.

        Every key is checked before the first request.
        """
        pending = [(validate_key(key), bytes(data)) for key, data in items]
        store = self.store(bucket, upload=True)

        def one(item: tuple[str, bytes]) -> ObjectInfo:
            key, data = item
            metadata = dict(metadata_for(key)) if metadata_for is not None else {}
            result = self._call(
                "upload",
                bucket,
                key,
                obstore.put,
                store,
                key,
                data,
                attributes=_attributes(metadata),
                use_multipart=False,
            )
            etag = str(result.get("e_tag") or "").strip('"')
            return ObjectInfo(bucket, key, len(data), etag, None, metadata)

        return list(self.batch_pool.map(one, pending))

    def get_many(self, bucket: str, keys: Iterable[str]) -> list[tuple[ObjectInfo, bytes]]:
        """Read many small objects concurrently; results in the order of ``keys``."""
        wanted = [validate_key(key) for key in keys]
        store = self.store(bucket)

        def one(key: str) -> tuple[ObjectInfo, bytes]:
            result = self._call("download", bucket, key, obstore.get, store, key)
            try:
                data = bytes(result.bytes())
            except Exception as exc:
                raise_translated(exc, "download", bucket, key)
            return _info(bucket, key, result.meta, result.attributes), data

        return list(self.batch_pool.map(one, wanted))

    def open(self, bucket: str, key: str) -> tuple[ObjectInfo, Iterator[bytes]]:
        """Start reading ``s3://bucket/key``: its description and its bytes as a stream."""
        validate_key(key)
        result = self._call("download", bucket, key, obstore.get, self.store(bucket), key)
        info = _info(bucket, key, result.meta, result.attributes)
        return info, self._stream(result.stream(min_chunk_size=STREAM_CHUNK), bucket, key)

    def read_range(self, bucket: str, key: str, start: int, end: int) -> Iterator[bytes]:
        """Stream bytes ``[start, end)`` of ``s3://bucket/key`` in one ranged GET."""
        validate_key(key)
        if not 0 <= start < end:
            raise InvalidInputError(f"invalid byte range {start}..{end}")
        options: GetOptions = {"range": (start, end)}
        store = self.store(bucket)
        result = self._call("download", bucket, key, obstore.get, store, key, options=options)
        return self._stream(result.stream(min_chunk_size=STREAM_CHUNK), bucket, key)

    def open_parallel(self, bucket: str, key: str) -> tuple[ObjectInfo, Iterator[bytes]]:
        """Like :meth:`open`, but a large object comes as parallel ranged GETs, in order.

        At most ``buffered_parts`` parts are in memory; a small object is one GET.
        """
        info = self.head(bucket, key)
        if info.size <= self.config.part_size:
            return self.open(bucket, key)
        return info, self._ranges_in_order(info)

    def _ranges_in_order(self, info: ObjectInfo) -> Iterator[bytes]:
        bucket, key, part = info.bucket, info.key, self.config.part_size
        store = self.store(bucket)

        def fetch(start: int) -> list[bytes]:
            end = min(info.size, start + part)
            options: GetOptions = {"range": (start, end), "if_match": f'"{info.etag}"'}
            result = self._call("download", bucket, key, obstore.get, store, key, options=options)
            return list(self._stream(result.stream(min_chunk_size=STREAM_CHUNK), bucket, key))

        starts = iter(range(0, info.size, part))
        pending: deque[Future[list[bytes]]] = deque(
            self.pool.submit(fetch, start)
            for start in itertools.islice(starts, self.config.buffered_parts)
        )
        try:
            while pending:
                chunks = pending.popleft().result()
                following = next(starts, None)
                if following is not None:
                    pending.append(self.pool.submit(fetch, following))
                yield from chunks
        finally:
            for future in pending:
                future.cancel()

    def iter_bytes(self, bucket: str, key: str) -> Iterator[bytes]:
        """Stream the bytes of ``s3://bucket/key`` (one request, chunks of a few MiB)."""
        return self.open(bucket, key)[1]

    def _stream(self, stream: Iterable[Any], bucket: str, key: str) -> Iterator[bytes]:
        for chunk in _translated(stream, bucket, key):
            yield bytes(chunk)

    def download(
        self,
        bucket: str,
        key: str,
        dest: str | Path,
        *,
        sink_for: Callable[[ObjectInfo], ByteSink | None] | None = None,
        subscribers: Subscribers = (),
    ) -> ObjectInfo:
        """Download ``s3://bucket/key`` to ``dest`` with parallel ranged requests.

        ``sink_for(info)`` may return a verifier fed the bytes in order; ``dest`` appears
        only when complete and accepted by it.
        """
        dest = Path(dest)
        if os.path.isdir(dest):
            raise InvalidInputError(f"download target {dest} is a directory")
        if not os.path.isdir(dest.parent):
            raise InvalidInputError(f"download target directory {dest.parent} does not exist")
        self.sweep_uploads(bucket, when_due=True)
        info = self.head(bucket, key)
        sink = sink_for(info) if sink_for is not None else None
        store = self.store(bucket)

        def fetch(start: int, end: int) -> Iterator[memoryview]:
            options: GetOptions = {"range": (start, end), "if_match": f'"{info.etag}"'}
            result = self._call("download", bucket, key, obstore.get, store, key, options=options)
            # the engine's buffers go straight to pwrite: no copy on the way to disk
            chunks = _translated(result.stream(min_chunk_size=DOWNLOAD_CHUNK), bucket, key)
            guard = StallGuard(self.config.min_rate, self.config.stall_window, f"S3 GET {key}")
            return _guarded(guard, (memoryview(chunk) for chunk in chunks))

        with TransferEvents(key, subscribers, info.size) as notifier:
            download_ranges(
                fetch,
                info.size,
                dest,
                part_size=self.config.part_size,
                pool=self.pool,
                sink=sink,
                on_bytes=notifier.progress if subscribers else None,
            )
        logger.debug("downloaded s3://%s/%s (%d bytes) to %s", bucket, key, info.size, dest)
        return info

    def delete(self, bucket: str, key: str) -> None:
        """Delete ``s3://bucket/key``; deleting an absent key is not an error."""
        validate_key(key)
        self._call("delete", bucket, key, obstore.delete, self.store(bucket, metadata=True), key)

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        """Yield every object under ``prefix`` (S3 string-prefix semantics), paginated."""
        store = self.store(bucket, metadata=True)
        directory, _, _ = prefix.rpartition("/")
        if directory:
            validate_key(directory)
        batches = obstore.list(store, directory or None, chunk_size=1000)
        return self._list_filtered(batches, bucket, prefix)

    def _list_filtered(
        self, batches: Iterable[Any], bucket: str, prefix: str
    ) -> Iterator[ObjectInfo]:
        iterator = iter(batches)
        while True:
            try:
                batch = next(iterator)
            except StopIteration:
                return
            except Exception as exc:
                raise_translated(exc, "list", bucket, prefix)
            for meta in batch:
                if str(meta["path"]).startswith(prefix):
                    yield _info(bucket, str(meta["path"]), meta, {})


def _translated(stream: Iterable[Any], bucket: str, key: str) -> Iterator[Any]:
    """Iterate an engine stream, translating its errors."""
    iterator = iter(stream)
    while True:
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        except Exception as exc:
            raise_translated(exc, "download", bucket, key)
        yield chunk


def _guarded(guard: StallGuard, chunks: Iterator[memoryview]) -> Iterator[memoryview]:
    for chunk in chunks:
        try:
            guard.update(len(chunk))
        except TimeoutError as exc:
            raise BackendUnavailableError(str(exc)) from None
        yield chunk


def _make_store(
    config: S3Config, bucket: str, kind: str = "down", proxy_url: str | None = None
) -> S3Store:
    """Build the engine store from our config; credentials only through a provider.

    ``kind``: ``meta``, ``up`` or ``down`` (see :meth:`S3Client.store`); ``proxy_url``:
    the upload relay (:mod:`.relay`) the store's requests go through.
    """
    total = config.deadline if kind == "meta" else config.request_timeout
    idle = config.upload_timeout if kind == "up" else config.idle_timeout
    client_options: dict[str, Any] = {
        "connect_timeout": timedelta(seconds=config.connect_timeout),
        "read_timeout": timedelta(seconds=min(idle, total)),
        "timeout": timedelta(seconds=total),
        "pool_max_idle_per_host": str(max(16, config.max_concurrency * 2)),
    }
    if proxy_url is not None:
        client_options["proxy_url"] = proxy_url
    if config.ca_bundle is not None:  # added to the system's roots, as SSL_CERT_FILE is
        client_options["root_certificate"] = read_pem(config.ca_bundle)
    kwargs: dict[str, Any] = {"region": config.region}
    if config.endpoint_url:
        kwargs["endpoint"] = config.endpoint_url.rstrip("/")
        kwargs["virtual_hosted_style_request"] = False
        client_options["allow_http"] = config.endpoint_url.startswith("http://")
    retry = {
        "max_retries": config.max_retries,
        "retry_timeout": timedelta(seconds=config.retry_timeout),
        "backoff": {
            "init_backoff": timedelta(milliseconds=100),
            "max_backoff": timedelta(seconds=5),
            "base": 2.0,
        },
    }
    return S3Store(
        bucket,
        client_options=client_options,  # type: ignore[arg-type]
        retry_config=retry,  # type: ignore[arg-type]
        credential_provider=_credential_provider(config),
        **kwargs,
    )


def _credential_provider(config: S3Config) -> Any:
    if config.access_key_id and config.secret_access_key:
        credential: S3Credential = {
            "access_key_id": config.access_key_id,
            "secret_access_key": config.secret_access_key.value,
            "token": config.session_token.value if config.session_token else None,
            "expires_at": None,
        }
        return lambda: credential
    try:
        import boto3.session
        import botocore.exceptions
        from obstore.auth.boto3 import Boto3CredentialProvider
    except ImportError as exc:
        raise MissingDependencyError(
            "S3 profiles need boto3: install the extra: pip install 'ipfs_kit_py[s3]'"
        ) from exc

    try:
        session = boto3.session.Session(profile_name=config.profile, region_name=config.region)
        return Boto3CredentialProvider(session)
    except botocore.exceptions.BotoCoreError as exc:  # ProfileNotFound, NoCredentialsError, ...
        raise ConfigurationError(f"S3 profile {config.profile!r}: {exc}") from exc


def _attributes(metadata: Mapping[str, str] | None) -> dict[str, str]:
    attributes = {"Content-Type": "application/octet-stream"}
    for name, value in (metadata or {}).items():
        if not name.isascii() or not str(value).isascii():
            raise InvalidInputError(f"S3 metadata must be ASCII: {name!r}")
        attributes[name.lower()] = str(value)
    return attributes


def _info(bucket: str, key: str, meta: Mapping[str, Any], attrs: Mapping[str, Any]) -> ObjectInfo:
    metadata = {k: str(v) for k, v in attrs.items() if k not in _META_HEADERS}
    return ObjectInfo(
        bucket=bucket,
        key=key,
        size=int(meta["size"]),
        etag=str(meta.get("e_tag") or "").strip('"'),
        last_modified=meta.get("last_modified"),
        metadata=metadata,
    )
