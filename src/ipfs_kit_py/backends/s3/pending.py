"""Multipart uploads left on the server: list them and abort them, with retries.

The transfer engine starts, completes and (on failure) aborts its multipart uploads, but
an abort that fails (the server went down) or never runs (the process was killed)
leaves the parts on the server, billed and invisible, forever. ``ListMultipartUploads``
and ``AbortMultipartUpload`` are not in the engine, so this module speaks them through
botocore, with the same credentials and bounded timeouts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from ipfs_kit_py.backends.s3.config import S3Config
from ipfs_kit_py.errors import (
    AuthenticationError,
    BackendError,
    BackendUnavailableError,
    BucketNotFoundError,
    IpfsKitError,
)
from ipfs_kit_py.net import backoff_delay

__all__ = ["InflightLedger", "PendingUpload", "PendingUploads"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
_AUTH = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"}


@dataclass(frozen=True, slots=True)
class PendingUpload:
    """A multipart upload the server holds open: its parts use storage until aborted."""

    bucket: str
    key: str
    upload_id: str
    initiated: datetime | None


class InflightLedger(Protocol):
    """Where the client notes multipart uploads in flight (the index, see upload_ledger)."""

    def begin(self, bucket: str, key: str) -> Any: ...

    def end(self, upload: Any) -> None: ...

    def stale(self, bucket: str | None, active: set[Any]) -> list[Any]: ...

    def running(self, bucket: str, key: str, active: set[Any]) -> set[Any]: ...


class PendingUploads:
    """List and abort the in-progress multipart uploads of a bucket; a context manager."""

    def __init__(self, config: S3Config, attempts: int = 3) -> None:
        self.config = config
        self.attempts = attempts
        self._client: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PendingUploads(endpoint={self.config.endpoint_url!r})"

    def __enter__(self) -> PendingUploads:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the connections; idempotent."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def _s3(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = _boto_client(self.config)
            return self._client

    def list(self, bucket: str, prefix: str = "") -> list[PendingUpload]:
        """Every multipart upload in progress in ``bucket`` under ``prefix`` (all pages)."""
        return self._calling("list uploads", bucket, lambda: list(self._pages(bucket, prefix)))

    def _pages(self, bucket: str, prefix: str) -> Iterator[PendingUpload]:
        paginator = self._s3().get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Uploads") or []:
                yield PendingUpload(bucket, item["Key"], item["UploadId"], item.get("Initiated"))

    def abort(self, upload: PendingUpload) -> None:
        """Abort ``upload``, retrying; one already gone counts as aborted."""
        for attempt in range(1, self.attempts + 1):
            try:
                self._calling("abort", upload.bucket, lambda: self._abort_once(upload))
                return
            except BackendUnavailableError:
                if attempt == self.attempts:
                    raise
                time.sleep(backoff_delay(attempt))

    def _abort_once(self, upload: PendingUpload) -> None:
        from botocore.exceptions import ClientError

        try:
            self._s3().abort_multipart_upload(
                Bucket=upload.bucket, Key=upload.key, UploadId=upload.upload_id
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchUpload":
                raise
        logger.info("aborted multipart upload of s3://%s/%s", upload.bucket, upload.key)

    def abort_for(self, bucket: str, key: str, since: float, until: float | None = None) -> int:
        """Abort the uploads of exactly ``key`` initiated in [since, until]; return how many."""
        found = [
            u for u in self.list(bucket, key) if u.key == key and _within(u.initiated, since, until)
        ]
        for upload in found:
            self.abort(upload)
        return len(found)

    def _calling(self, action: str, bucket: str, call: Callable[[], T]) -> T:
        """Run ``call`` with botocore's errors translated to ours."""
        try:
            return call()
        except IpfsKitError:
            raise
        except Exception as exc:
            raise _translate(exc, action, bucket) from None


def _within(initiated: datetime | None, since: float, until: float | None) -> bool:
    if initiated is None:
        return True
    when = initiated.timestamp()
    return when >= since and (until is None or when <= until)


def _boto_client(config: S3Config) -> Any:
    import boto3.session
    from botocore.config import Config

    session = boto3.session.Session(profile_name=config.profile, region_name=config.region)
    secret = config.secret_access_key.value if config.secret_access_key else None
    token = config.session_token.value if config.session_token else None
    return session.client(
        "s3",
        endpoint_url=config.endpoint_url,
        aws_access_key_id=config.access_key_id,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(
            connect_timeout=config.connect_timeout,
            read_timeout=config.idle_timeout,
            retries={"max_attempts": 1},  # abort() retries; a listing fails fast
            s3={"addressing_style": "path"},
        ),
    )


def _translate(exc: Exception, action: str, bucket: str) -> IpfsKitError:
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    where = f"S3 {action} in s3://{bucket}"
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code == "NoSuchBucket":
            return BucketNotFoundError(f"S3 bucket {bucket!r} does not exist")
        if code in _AUTH:
            return AuthenticationError(f"{where} refused ({code})")
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if status >= 500:
            return BackendUnavailableError(f"{where} failed: {code or status}")
        return BackendError(f"{where} failed: {code or status}")
    if isinstance(exc, ConnectionError | HTTPClientError):
        return BackendUnavailableError(f"{where}: endpoint unreachable ({type(exc).__name__})")
    return BackendError(f"{where} failed: {type(exc).__name__}")
