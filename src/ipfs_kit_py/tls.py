"""Trusting a server's TLS certificate: CA-bundle settings, and naming an untrusted one.

A store behind a private CA (a self-hosted S3, a Storacha service, a gateway) is trusted
by giving that CA's certificate (PEM) as a tier's ``ca_bundle``; it is added to the
usual roots, never replacing them. ``SSL_CERT_FILE`` works for every tier as well (the
HTTP engines read it). A certificate that is not trusted fails as
:class:`~ipfs_kit_py.errors.CertificateError`, whose message says why and what to set,
not as a plain "unreachable".
"""

from __future__ import annotations

import functools
import os
import re
import ssl
from typing import Any

from ipfs_kit_py.errors import CertificateError, ConfigurationError

__all__ = ["certificate_error", "parse_ca_bundle", "read_pem", "ssl_context", "untrusted_reason"]

MAX_BUNDLE_BYTES = 16 << 20
# rustls (the S3 engine) names the reason only in its error text: InvalidCertificate(UnknownIssuer)
_RUSTLS_RE = re.compile(r"InvalidCertificate\(\s*(\w+)")
_HINTS = {
    "s3": "ca_bundle in the [s3] section, or AWS_CA_BUNDLE",
    "storacha": "ca_bundle in the [storacha] section, or STORACHA_CA_BUNDLE",
    "gateway": "ca_bundle in the [gateway] section, or IPFS_KIT_GATEWAY_CA_BUNDLE",
}


def parse_ca_bundle(name: str, value: Any) -> str | None:
    """The absolute path of a readable PEM CA bundle (None for no value); anything else
    raises :class:`ConfigurationError` naming the setting."""
    if value is None or value == "":
        return None
    if not isinstance(value, str | os.PathLike):
        raise ConfigurationError(f"{name} must be a path to a PEM file, got {type(value).__name__}")
    path = os.path.abspath(os.path.expanduser(os.fspath(value)))
    if "\0" in path or not os.path.isfile(path):
        raise ConfigurationError(f"{name}: no such file: {path!r:.300}")
    if os.path.getsize(path) > MAX_BUNDLE_BYTES:
        raise ConfigurationError(f"{name}: {path!r:.300} is larger than a CA bundle can be")
    try:
        _context(path, _stamp(path))
    except (OSError, ssl.SSLError, UnicodeError) as exc:
        raise ConfigurationError(
            f"{name}: {path!r:.300} is not a readable PEM CA certificate bundle ({exc})"
        ) from None
    return path


def _stamp(path: str) -> tuple[int, int]:
    """What tells a changed file (a context is cached per path and stamp)."""
    st = os.stat(path)
    return st.st_mtime_ns, st.st_size


@functools.lru_cache(maxsize=16)
def _context(ca_bundle: str, stamp: tuple[int, int]) -> ssl.SSLContext:
    context = ssl.create_default_context()  # the system's roots, as the S3 engine keeps
    context.load_verify_locations(cafile=ca_bundle)
    return context


def ssl_context(ca_bundle: str | None, name: str = "ca_bundle") -> ssl.SSLContext | bool:
    """What an httpx transport's ``verify`` takes: the system's roots plus ``ca_bundle``
    (checked as :func:`parse_ca_bundle` checks it), or ``True`` (httpx's roots;
    ``SSL_CERT_FILE`` if set)."""
    path = parse_ca_bundle(name, ca_bundle)
    return True if path is None else _context(path, _stamp(path))


def read_pem(ca_bundle: str) -> str:
    """The text of a CA bundle (for the S3 engine's ``root_certificate``)."""
    with open(ca_bundle, encoding="ascii", errors="replace") as f:
        return f.read(MAX_BUNDLE_BYTES)


def untrusted_reason(exc: BaseException) -> str | None:
    """Why the server's certificate was not trusted, if that is what ``exc`` (or an
    exception it was raised from) says; else None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return current.verify_message or "certificate verify failed"
        text = str(current)
        if "CERTIFICATE_VERIFY_FAILED" in text:
            return text.split("certificate verify failed:", 1)[-1].split("(_ssl")[0].strip()
        if match := _RUSTLS_RE.search(text):
            return match.group(1)
        current = current.__cause__ or current.__context__
    return None


def certificate_error(
    reason: str, *, backend: str, locator: str, setting: str | None = None
) -> CertificateError:
    """The typed error for an untrusted certificate, saying how to trust it: the
    ``ca_bundle`` of the tier ``setting`` (default: ``backend``), or ``SSL_CERT_FILE``."""
    where = f"{backend} at {locator}" if locator else backend
    hint = _HINTS.get(setting or backend, "SSL_CERT_FILE")
    return CertificateError(
        f"the TLS certificate of {where} is not trusted ({reason}); if that server is the "
        f"one you mean, give the CA certificate (PEM) that signed it as {hint} "
        "(SSL_CERT_FILE works for every tier)",
        backend=backend,
        locator=locator,
    )
