"""S3 names checked before any request, and engine errors mapped into the exception tree."""

from __future__ import annotations

import re
from typing import NoReturn

from obstore import exceptions as obstore_errors

from ipfs_kit_py.backends.engine_errors import network_error
from ipfs_kit_py.errors import (
    AuthenticationError,
    BackendError,
    BackendTimeoutError,
    BackendUnavailableError,
    BucketNotFoundError,
    ContentNotFoundError,
    InvalidInputError,
    IpfsKitError,
)
from ipfs_kit_py.tls import certificate_error, untrusted_reason

__all__ = ["raise_translated", "translate_error", "validate_bucket", "validate_key"]

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
# obstore (reqwest) says which HTTP phase failed only in its error text: ``kind: Timeout``
_TIMEOUT_RE = re.compile(r"kind: Timeout\b|operation timed out|deadline has elapsed")
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
    if any(0xD800 <= ord(c) <= 0xDFFF for c in key):
        raise InvalidInputError(f"invalid S3 key {key!r}: lone surrogates are not UTF-8")
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
    """Map an engine exception for ``action`` on ``s3://bucket/key`` to our tree.

    By type first (obstore's exception classes, ``OSError``, timeouts), then, for what
    only obstore's ``GenericError`` text says, by the S3 error code and HTTP status in it.
    The caller chains the result to ``exc``.
    """
    if isinstance(exc, IpfsKitError):
        return exc
    where = f"s3://{bucket}/{key}" if key else f"s3://{bucket}"
    return _by_type(exc, action, bucket, where) or _by_text(exc, action, bucket, where)


def raise_translated(exc: BaseException, action: str, bucket: str, key: str = "") -> NoReturn:
    """Raise :func:`translate_error`'s answer for ``exc``, chained to it."""
    error = translate_error(exc, action, bucket, key)
    if error is exc:
        raise error
    raise error from exc


def _by_type(exc: BaseException, action: str, bucket: str, where: str) -> IpfsKitError | None:
    located = {"backend": "s3", "locator": where}
    if isinstance(exc, obstore_errors.PermissionDeniedError | obstore_errors.UnauthenticatedError):
        return AuthenticationError(_auth_message(action, where, type(exc).__name__), **located)
    if isinstance(exc, obstore_errors.PreconditionError):
        return _changed(where)
    if isinstance(exc, obstore_errors.NotFoundError | FileNotFoundError):
        if _error_code(str(exc)) == "NoSuchBucket":
            return _no_bucket(bucket, action, where)
        return ContentNotFoundError(f"{where} not found", **located)
    if isinstance(exc, PermissionError):
        return AuthenticationError(_auth_message(action, where, type(exc).__name__), **located)
    return network_error(exc, backend="s3", locator=where, action=f"{action} {where}")


def _by_text(exc: BaseException, action: str, bucket: str, where: str) -> IpfsKitError:
    located = {"backend": "s3", "locator": where}
    message = str(exc)
    first_line = message.split("\n", 1)[0][:300]
    code, status = _error_code(message), _status(message)
    if code == "NoSuchBucket":
        return _no_bucket(bucket, action, where)
    if code in _AUTH_CODES or status in (401, 403):
        detail = code or f"HTTP {status}"
        return AuthenticationError(_auth_message(action, where, detail), **located)
    if status == 412 or code == "PreconditionFailed":
        return _changed(where)
    if code == "NoSuchKey" or status == 404:
        return ContentNotFoundError(f"{where} not found", **located)
    if not status and (reason := untrusted_reason(exc)) is not None:
        return certificate_error(reason, backend="s3", locator=where)
    if status >= 500 or code in ("SlowDown", "ServiceUnavailable", "InternalError"):
        return BackendUnavailableError(
            f"S3 {action} {where} failed after retries: {code or f'HTTP {status}'}", **located
        )
    if not status and _TIMEOUT_RE.search(message):
        return BackendTimeoutError(
            f"S3 endpoint did not answer {action} {where} in time", **located
        )
    if not status and any(hint in message.lower() for hint in _UNREACHABLE_HINTS):
        return BackendUnavailableError(
            f"S3 endpoint unreachable for {action} {where}: {first_line}", **located
        )
    return BackendError(f"S3 {action} {where} failed: {code or first_line}", **located)


def _no_bucket(bucket: str, action: str, where: str) -> BucketNotFoundError:
    return BucketNotFoundError(
        f"S3 bucket {bucket!r} does not exist ({action} {where})", backend="s3", locator=where
    )


def _changed(where: str) -> BackendError:
    return BackendError(
        f"{where} changed while it was being read (ETag mismatch); retry",
        backend="s3",
        locator=where,
    )


def _auth_message(action: str, where: str, detail: str) -> str:
    return f"S3 refused {action} {where} ({detail}): check the access key, secret and permissions"
