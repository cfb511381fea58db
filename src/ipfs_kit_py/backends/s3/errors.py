"""S3 names checked before any request, and engine errors turned into the exception tree."""

from __future__ import annotations

import re

from ipfs_kit_py.errors import (
    AuthenticationError,
    BackendError,
    BackendUnavailableError,
    BucketNotFoundError,
    ContentNotFoundError,
    InvalidInputError,
    IpfsKitError,
)

__all__ = ["translate_error", "validate_bucket", "validate_key"]

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IPV4_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_CODE_RE = re.compile(r"<Code>([^<]+)</Code>")
_STATUS_RE = re.compile(r"status code: (\d{3})")
_AUTH_CODES = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
}
_UNREACHABLE_HINTS = (
    "error sending request",
    "timed out",
    "connection",
    "dns error",
    "body error",  # the answer stopped (or was cut) mid-body
)
MAX_KEY_BYTES = 1024


def validate_bucket(bucket: str) -> str:
    """Return ``bucket`` if it is a valid S3 bucket name, else raise InvalidInputError."""
    if not isinstance(bucket, str) or not _BUCKET_RE.match(bucket):
        raise InvalidInputError(
            f"invalid S3 bucket name {bucket!r}: 3-63 characters of a-z, 0-9, '.' and '-', "
            "starting and ending with a letter or digit"
        )
    if ".." in bucket or ".-" in bucket or "-." in bucket or _IPV4_RE.match(bucket):
        raise InvalidInputError(f"invalid S3 bucket name {bucket!r}")
    return bucket


def validate_key(key: str) -> str:
    """Return ``key`` if it is a usable object key, else raise InvalidInputError.

    Keys are '/'-separated paths: no empty, '.' or '..' segment, no control characters,
    at most 1,024 bytes of UTF-8.
    """
    if not isinstance(key, str) or not key:
        raise InvalidInputError("invalid S3 key: empty")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidInputError(f"invalid S3 key {key[:60]!r}...: longer than 1024 bytes")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in key):
        raise InvalidInputError(f"invalid S3 key {key!r}: control characters")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise InvalidInputError(
            f"invalid S3 key {key!r}: empty, '.' or '..' path segment (leading, trailing "
            "or doubled '/')"
        )
    return key


def _error_code(message: str) -> str:
    match = _CODE_RE.search(message)
    return match.group(1) if match else ""


def _status(message: str) -> int:
    match = _STATUS_RE.search(message)
    return int(match.group(1)) if match else 0


def translate_error(exc: BaseException, action: str, bucket: str, key: str = "") -> IpfsKitError:
    """Map an engine exception for ``action`` on ``s3://bucket/key`` to our tree."""
    if isinstance(exc, IpfsKitError):
        return exc
    message = str(exc)
    first_line = message.split("\n", 1)[0][:300]
    code = _error_code(message)
    status = _status(message)
    where = f"s3://{bucket}/{key}" if key else f"s3://{bucket}"
    if code == "NoSuchBucket":
        return BucketNotFoundError(f"S3 bucket {bucket!r} does not exist ({action} {where})")
    if code in _AUTH_CODES or status in (401, 403) or _is_permission(exc):
        detail = code or (f"HTTP {status}" if status else type(exc).__name__)
        return AuthenticationError(
            f"S3 refused {action} {where} ({detail}): check the access key, secret and permissions"
        )
    if status == 412 or code == "PreconditionFailed" or type(exc).__name__ == "PreconditionError":
        return BackendError(f"{where} changed while it was being read (ETag mismatch); retry")
    if isinstance(exc, FileNotFoundError) or code == "NoSuchKey" or status == 404:
        return ContentNotFoundError(f"{where} not found")
    if status >= 500 or code in ("SlowDown", "ServiceUnavailable", "InternalError"):
        return BackendUnavailableError(
            f"S3 {action} {where} failed after retries: {code or f'HTTP {status}'}"
        )
    if not status and any(hint in message.lower() for hint in _UNREACHABLE_HINTS):
        return BackendUnavailableError(
            f"S3 endpoint unreachable for {action} {where}: {first_line}"
        )
    return BackendError(f"S3 {action} {where} failed: {code or first_line}")


def _is_permission(exc: BaseException) -> bool:
    name = type(exc).__name__
    return name in ("PermissionDeniedError", "UnauthenticatedError") or isinstance(
        exc, PermissionError
    )
