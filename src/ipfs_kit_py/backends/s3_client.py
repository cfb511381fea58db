"""Object-level S3 operations over the obstore engine (Rust; releases the GIL).

The engine was chosen by measurement (``bench/s3.py``, docs/s3.md): against SeaweedFS on
two cores it used the least client CPU per request and per byte of the candidates
(boto3/s3transfer default and tuned, botocore with our own thread pool, awscrt).
Every engine error leaves this module translated by :func:`translate_error`.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

import obstore
from obstore.store import S3Store

from ipfs_kit_py.backends.s3_config import S3Config
from ipfs_kit_py.backends.s3_errors import translate_error, validate_bucket, validate_key
from ipfs_kit_py.backends.s3_transfer import (
    ByteSink,
    Subscribers,
    count_chunks,
    download_ranges,
    notifying,
    open_source,
    read_file_chunks,
)
from ipfs_kit_py.errors import (
    BucketNotFoundError,
    ContentNotFoundError,
    InputPathError,
    InvalidInputError,
)

if TYPE_CHECKING:
    from obstore import GetOptions
    from obstore.store import S3Credential

__all__ = ["ObjectInfo", "S3Client", "UploadSource"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
UploadSource = str | Path | bytes | bytearray | memoryview | BinaryIO | Iterable[bytes]
STREAM_CHUNK = 4 * 1024 * 1024
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


class S3Client:
    """Thread-safe object operations on any bucket, one engine store per bucket.

    Construction does no I/O; stores and the transfer thread pool are created on first
    use. Use as a context manager or call :meth:`close` (idempotent).
    """

    def __init__(self, config: S3Config) -> None:
        self.config = config
        self._stores: dict[str, S3Store] = {}
        self._known_buckets: set[str] = set()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def __repr__(self) -> str:
        return f"S3Client(endpoint={self.config.endpoint_url!r}, region={self.config.region!r})"

    def __enter__(self) -> S3Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the thread pool and connections."""
        with self._lock:
            pool, self._pool = self._pool, None
            self._stores.clear()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    # -- engine plumbing ----------------------------------------------------------------

    def store(self, bucket: str) -> S3Store:
        """Return the (cached) engine store for ``bucket``; no network."""
        validate_bucket(bucket)
        self.config.require()
        with self._lock:
            found = self._stores.get(bucket)
            if found is None:
                found = self._stores[bucket] = _make_store(self.config, bucket)
            return found

    @property
    def pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    self.config.max_concurrency, thread_name_prefix="s3-transfer"
                )
            return self._pool

    def _call(
        self,
        action: str,
        bucket: str,
        key: str,
        func: Any,
        *args: Any,
        source: _SourceGuard | None = None,
        **kw: Any,
    ) -> Any:
        try:
            return func(*args, **kw)
        except Exception as exc:
            if source is not None and source.error is not None:
                raise source.failure() from None
            error = translate_error(exc, action, bucket, key)
            if isinstance(error, ContentNotFoundError) and not self.bucket_exists(bucket):
                raise BucketNotFoundError(f"S3 bucket {bucket!r} does not exist") from None
            raise error from None

    def bucket_exists(self, bucket: str) -> bool:
        """True if ``bucket`` exists (a one-key listing; positive answers are cached)."""
        if bucket in self._known_buckets:
            return True
        store = self.store(bucket)
        try:
            next(iter(obstore.list(store, chunk_size=1)), None)
        except Exception as exc:
            error = translate_error(exc, "list", bucket)
            if isinstance(error, BucketNotFoundError | ContentNotFoundError):
                return False
            raise error from None
        self._known_buckets.add(bucket)
        return True

    # -- operations -----------------------------------------------------------------------

    def head(self, bucket: str, key: str) -> ObjectInfo:
        """Describe ``s3://bucket/key``; raise ContentNotFoundError if absent."""
        validate_key(key)
        options: GetOptions = {"head": True}
        result = self._call(
            "head", bucket, key, obstore.get, self.store(bucket), key, options=options
        )
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
        store = self.store(bucket)
        attributes = _attributes(metadata)
        total = [0]

        def add(n: int) -> None:
            total[0] += n
            notifier.progress(n)

        expected = size if size is not None else _size_of(source)
        with notifying(key, subscribers, expected) as notifier, _ChunkSource(source) as chunks:
            guarded = _SourceGuard(count_chunks(chunks, add))
            try:
                first, rest = _peek(guarded, self.config.part_size)
            except Exception:
                raise guarded.failure() from None
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
                max_concurrency=self.config.max_concurrency,
                source=guarded,
            )
        self._known_buckets.add(bucket)
        etag = str(result.get("e_tag") or "").strip('"')
        return ObjectInfo(bucket, key, total[0], etag, None, dict(metadata or {}))

    def open(self, bucket: str, key: str) -> tuple[ObjectInfo, Iterator[bytes]]:
        """Start reading ``s3://bucket/key``: its description and its bytes as a stream."""
        validate_key(key)
        result = self._call("download", bucket, key, obstore.get, self.store(bucket), key)
        info = _info(bucket, key, result.meta, result.attributes)
        return info, self._stream(result.stream(min_chunk_size=STREAM_CHUNK), bucket, key)

    def iter_bytes(self, bucket: str, key: str) -> Iterator[bytes]:
        """Stream the bytes of ``s3://bucket/key`` (one request, chunks of a few MiB)."""
        return self.open(bucket, key)[1]

    def _stream(self, stream: Iterable[Any], bucket: str, key: str) -> Iterator[bytes]:
        iterator = iter(stream)
        while True:
            try:
                chunk = next(iterator)
            except StopIteration:
                return
            except Exception as exc:
                raise translate_error(exc, "download", bucket, key) from None
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
        if dest.is_dir():
            raise InvalidInputError(f"download target {dest} is a directory")
        if not dest.parent.is_dir():
            raise InvalidInputError(f"download target directory {dest.parent} does not exist")
        info = self.head(bucket, key)
        sink = sink_for(info) if sink_for is not None else None
        store = self.store(bucket)

        def fetch(start: int, end: int) -> Iterator[bytes]:
            options: GetOptions = {"range": (start, end), "if_match": f'"{info.etag}"'}
            result = self._call("download", bucket, key, obstore.get, store, key, options=options)
            return self._stream(result.stream(min_chunk_size=STREAM_CHUNK), bucket, key)

        with notifying(key, subscribers, info.size) as notifier:
            download_ranges(
                fetch,
                info.size,
                dest,
                part_size=self.config.part_size,
                pool=self.pool,
                sink=sink,
                on_bytes=notifier.progress if subscribers else None,
            )
        return info

    def delete(self, bucket: str, key: str) -> None:
        """Delete ``s3://bucket/key``; deleting an absent key is not an error."""
        validate_key(key)
        self._call("delete", bucket, key, obstore.delete, self.store(bucket), key)

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        """Yield every object under ``prefix`` (S3 string-prefix semantics), paginated."""
        store = self.store(bucket)
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
                raise translate_error(exc, "list", bucket, prefix) from None
            for meta in batch:
                if str(meta["path"]).startswith(prefix):
                    yield _info(bucket, str(meta["path"]), meta, {})


def _make_store(config: S3Config, bucket: str) -> S3Store:
    """Build the engine store from our config; credentials only through a provider."""
    client_options: dict[str, Any] = {
        "connect_timeout": timedelta(seconds=config.connect_timeout),
        "timeout": timedelta(seconds=config.request_timeout),
        "pool_max_idle_per_host": str(max(16, config.max_concurrency * 2)),
    }
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
    import boto3.session
    from obstore.auth.boto3 import Boto3CredentialProvider

    session = boto3.session.Session(profile_name=config.profile, region_name=config.region)
    return Boto3CredentialProvider(session)


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


class _SourceGuard:
    """Iterates an upload source, remembering a failure of the source itself."""

    def __init__(self, chunks: Iterable[bytes | bytearray | memoryview]) -> None:
        self._chunks = iter(chunks)
        self.error: BaseException | None = None

    def __iter__(self) -> Iterator[bytes | bytearray | memoryview]:
        return self

    def __next__(self) -> bytes | bytearray | memoryview:
        try:
            return next(self._chunks)
        except StopIteration:
            raise
        except BaseException as exc:
            self.error = exc
            raise

    def failure(self) -> BaseException:
        """The source's own error; OS errors become InputPathError."""
        error = self.error
        if isinstance(error, OSError):
            return InputPathError(f"reading the upload source failed: {error}")
        return error if error is not None else RuntimeError("upload source failed")


def _peek(
    chunks: Iterable[bytes | bytearray | memoryview], limit: int
) -> tuple[bytes, Iterator[bytes | bytearray | memoryview] | None]:
    """Read up to ``limit`` bytes: all of a small source (None after it) or a first part."""
    iterator = iter(chunks)
    buffer = bytearray()
    for chunk in iterator:
        buffer += chunk
        if len(buffer) >= limit:
            return bytes(buffer), iterator
    return bytes(buffer), None


def _size_of(source: UploadSource) -> int | None:
    if isinstance(source, bytes | bytearray | memoryview):
        return len(source)
    if isinstance(source, str | Path):
        try:
            return Path(source).stat().st_size
        except OSError:
            return None
    return None


class _ChunkSource:
    """Context manager giving ``source`` as byte chunks; closes files it opened."""

    def __init__(self, source: UploadSource) -> None:
        self.source = source
        self._opened: BinaryIO | None = None

    def __enter__(self) -> Iterable[bytes | bytearray | memoryview]:
        src = self.source
        if isinstance(src, bytes | bytearray | memoryview):
            return [src]
        if isinstance(src, str | Path):
            self._opened = open_source(src)
            return read_file_chunks(self._opened, STREAM_CHUNK)
        if hasattr(src, "read"):
            return read_file_chunks(src, STREAM_CHUNK)  # type: ignore[arg-type]
        if isinstance(src, Iterable):
            return src
        raise InvalidInputError(f"cannot upload a {type(src).__name__}")

    def __exit__(self, *exc: object) -> None:
        if self._opened is not None:
            self._opened.close()
