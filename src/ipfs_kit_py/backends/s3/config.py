"""S3 configuration as data: explicit args > config file [s3] section > AWS_* environment."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ipfs_kit_py.backends.registry import S3_NOT_CONFIGURED
from ipfs_kit_py.backends.s3.errors import validate_key
from ipfs_kit_py.config import Secret, Sources, mask_url, parse_number, parse_url, require
from ipfs_kit_py.errors import ConfigurationError, InvalidInputError, NotConfiguredError
from ipfs_kit_py.tls import parse_ca_bundle

__all__ = ["DEFAULT_KEY_PREFIX", "S3Config"]

DEFAULT_KEY_PREFIX = "ipfs/"
MiB = 1024 * 1024
_REGION_RE = re.compile(r"[A-Za-z0-9._-]*")
_TOKEN_RE = re.compile(r"[!-~]*")
MAX_WAIT = 7 * 24 * 3600.0  # seconds: the longest timeout a setting may ask for
_NOT_CONFIGURED = S3_NOT_CONFIGURED  # said once, in the registry

# key -> environment variables consulted, in order
_ENV_NAMES: dict[str, tuple[str, ...]] = {
    "access_key_id": ("AWS_ACCESS_KEY_ID",),
    "secret_access_key": ("AWS_SECRET_ACCESS_KEY",),
    "session_token": ("AWS_SESSION_TOKEN",),
    "region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
    "profile": ("AWS_PROFILE",),
    "endpoint_url": ("S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"),
    "bucket": ("IPFS_KIT_S3_BUCKET",),
    "key_prefix": ("IPFS_KIT_S3_KEY_PREFIX",),
    "ca_bundle": ("AWS_CA_BUNDLE",),
}


@dataclass(frozen=True, slots=True)
class S3Config:
    """Where and how to reach S3; credentials are :class:`Secret` and never shown."""

    access_key_id: str | None = field(default=None, repr=False)  # masked like the secret
    secret_access_key: Secret | None = None
    session_token: Secret | None = None
    region: str = "us-east-1"
    profile: str | None = None
    endpoint_url: str | None = None
    bucket: str | None = None
    key_prefix: str = DEFAULT_KEY_PREFIX
    part_size: int = 8 * MiB
    max_concurrency: int = 8
    # parts one upload or in-order read holds in memory at once (a download to a file
    # writes its parts to disk as they come, max_concurrency of them)
    max_buffer_bytes: int = 32 * MiB
    batch_concurrency: int = 32
    connect_timeout: float = 3.0
    idle_timeout: float = 5.0  # longest wait for the next byte of an answer
    deadline: float = 10.0  # a whole metadata call (head, list, delete), retries included
    upload_timeout: float = 10.0  # for the answer to one upload request, all bytes acked
    upload_stall_timeout: float = 10.0  # no byte acknowledged while some wait: fail; 0: off
    min_rate: float = 1024.0  # a download slower than this (bytes/s) over stall_window fails
    stall_window: float = 10.0
    request_timeout: float = 120.0  # one transfer request (one part or range at most)
    max_retries: int = 2
    retry_timeout: float = 5.0  # no new attempt starts later than this after the first
    ca_bundle: str | None = None  # a PEM file of CAs to trust besides the system's

    def __post_init__(self) -> None:
        if self.part_size < 5 * MiB:
            raise ConfigurationError("S3 part_size must be at least 5 MiB (the S3 minimum)")
        for name in ("max_concurrency", "batch_concurrency"):
            if not 1 <= getattr(self, name) <= 256:
                raise ConfigurationError(f"S3 {name} must be between 1 and 256")
        for name in (
            "connect_timeout",
            "idle_timeout",
            "deadline",
            "upload_timeout",
            "stall_window",
            "request_timeout",
        ):
            if not getattr(self, name) > 0:
                raise ConfigurationError(f"S3 {name} must be a positive number of seconds")
        if self.key_prefix.startswith("/") or "//" in self.key_prefix:
            raise ConfigurationError(f"S3 key_prefix {self.key_prefix!r} must be a relative path")
        try:  # every key starts with it: a prefix no key may have would fail every call
            validate_key(self.key_prefix + "x")
        except InvalidInputError as exc:
            raise ConfigurationError(f"S3 key_prefix {self.key_prefix!r}: {exc}") from exc
        if not 0 <= self.upload_stall_timeout <= MAX_WAIT:
            raise ConfigurationError("S3 upload_stall_timeout must be >= 0 seconds (0: off)")
        for name in ("connect_timeout", "request_timeout", "retry_timeout"):
            parse_number(f"S3 {name}", getattr(self, name), float, positive=True, maximum=MAX_WAIT)
        parse_number("S3 max_retries", self.max_retries, int, minimum=0, maximum=100)
        parse_number("S3 part_size", self.part_size, int, maximum=5 * 1024 * MiB)
        parse_number("S3 max_buffer_bytes", self.max_buffer_bytes, int, minimum=1)
        self._check_header_values()
        object.__setattr__(self, "ca_bundle", parse_ca_bundle("S3 ca_bundle", self.ca_bundle))
        if self.endpoint_url is not None:
            if not self.endpoint_url.isascii():  # the engine panics on a non-ASCII URI
                raise ConfigurationError("S3 endpoint_url must be ASCII (write a host as xn--)")
            _, userinfo = parse_url("S3 endpoint_url", self.endpoint_url)
            if userinfo is not None:
                raise ConfigurationError(
                    "S3 endpoint_url must not carry user:password@ (S3 signs requests with "
                    "access_key_id/secret_access_key)"
                )
            _check_endpoint(self.endpoint_url)

    @property
    def buffered_parts(self) -> int:
        """Parts an upload or an in-order read keeps in flight: ``max_buffer_bytes`` of
        them, at least one, at most ``max_concurrency``."""
        return max(1, min(self.max_concurrency, self.max_buffer_bytes // self.part_size))

    def _check_header_values(self) -> None:
        """Values sent in request headers: the engine panics on any it cannot send."""
        if not _REGION_RE.fullmatch(self.region):
            raise ConfigurationError(f"S3 region {self.region!r} must be letters, digits, . _ -")
        token = self.session_token.value if self.session_token else ""
        for name, value in (("access_key_id", self.access_key_id or ""), ("session_token", token)):
            if not _TOKEN_RE.fullmatch(value):  # the values are credentials: never quoted
                raise ConfigurationError(f"S3 {name} must be printable ASCII without spaces")

    @classmethod
    def from_sources(
        cls,
        args: Mapping[str, Any] | None = None,
        section: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> S3Config:
        """Resolve every field: explicit ``args`` > config file ``section`` > ``env``.

        ``env=None`` means ``os.environ`` (``AWS_*``, ``AWS_CA_BUNDLE`` as boto3 reads
        it, ``S3_ENDPOINT_URL``, ``IPFS_KIT_S3_BUCKET``, ``IPFS_KIT_S3_KEY_PREFIX``).
        """
        sources = Sources.of(args, section, env)
        values: dict[str, Any] = {}
        for name, env_names in _ENV_NAMES.items():
            value = sources.get(name, *env_names)
            if value is not None:
                values[name] = value
        for name, kind in (
            ("part_size", int),
            ("max_concurrency", int),
            ("max_buffer_bytes", int),
            ("batch_concurrency", int),
            ("connect_timeout", float),
            ("idle_timeout", float),
            ("deadline", float),
            ("upload_timeout", float),
            ("upload_stall_timeout", float),
            ("min_rate", float),
            ("stall_window", float),
            ("request_timeout", float),
            ("max_retries", int),
            ("retry_timeout", float),
        ):
            value = sources.get(name, f"IPFS_KIT_S3_{name.upper()}")
            if value is not None:
                values[name] = parse_number(f"S3 {name}", value, kind)
        for name in ("secret_access_key", "session_token"):
            if name in values and not isinstance(values[name], Secret):
                values[name] = Secret(str(values[name]))
        if values.get("key_prefix") is not None:
            values["key_prefix"] = _normal_prefix(str(values["key_prefix"]))
        return cls(**values)

    @property
    def configured(self) -> bool:
        """True when credentials (a key pair or a profile) are set."""
        return bool(self.access_key_id and self.secret_access_key) or bool(self.profile)

    def require(self) -> S3Config:
        """Return self, or raise :class:`NotConfiguredError` saying what to set."""
        if not self.configured:
            raise NotConfiguredError(_NOT_CONFIGURED)
        return self

    def require_bucket(self, bucket: str | None = None) -> str:
        """Return ``bucket`` or the configured default bucket."""
        return require(
            bucket or self.bucket,
            "S3 bucket not set: pass bucket=..., set IPFS_KIT_S3_BUCKET, or bucket in the "
            "[s3] section of the config file",
        )


def _check_endpoint(url: str) -> None:
    """An endpoint is ``http(s)://host[:port][/path]``; anything else is refused here, before
    the S3 engine (which aborts the process-level call on a URL it cannot parse) sees it."""
    shown = mask_url(url)[:200]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigurationError(f"S3 endpoint_url {shown!r} is not a URL") from None
    bad_char = any(c.isspace() or not c.isprintable() for c in url)
    if parts.scheme not in ("http", "https") or not parts.hostname or bad_char:
        raise ConfigurationError(
            f"S3 endpoint_url {shown!r} must be an http:// or https:// URL with a host"
        )
    if port == 0:
        raise ConfigurationError(f"S3 endpoint_url {shown!r} has port 0")


def _normal_prefix(prefix: str) -> str:
    prefix = prefix.strip()
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"
