"""The proxy the environment names for an S3 endpoint, for the upload relay's own way out.

The engine reads ``http_proxy``/``https_proxy``/``all_proxy`` (minus ``no_proxy``) for
every request it sends itself; uploads go through the relay (:mod:`.relay`) instead, so
the relay reads the same variables and forwards through the same proxy: an upload
never leaves by another way than a download. Only plain-HTTP proxies can be relayed
through; :func:`unrelayable_proxy` names any other kind, so the client turns the relay
off and lets the engine use it.
"""

from __future__ import annotations

import base64
import os
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

__all__ = ["UpstreamProxy", "env_proxy", "proxy_authorization", "unrelayable_proxy", "without_auth"]

_AUTH_HEADER = b"proxy-authorization:"


@dataclass(frozen=True, slots=True)
class UpstreamProxy:
    """A plain-HTTP proxy to reach the endpoint through; its credentials never shown."""

    host: str
    port: int
    authorization: bytes | None = field(default=None, repr=False)

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def rewrite(self, head: bytes) -> bytes:
        """The client's request head as sent to this proxy: our credentials, not theirs."""
        return without_auth(head, self.authorization)


def without_auth(head: bytes, authorization: bytes | None = None) -> bytes:
    """A request head without its ``Proxy-Authorization`` (``authorization`` instead, if
    given); the bytes after the head are kept as sent."""
    headers, _, after = head.partition(b"\r\n\r\n")
    line, _, rest = headers.partition(b"\r\n")
    kept = [h for h in rest.split(b"\r\n") if h and not h.lower().startswith(_AUTH_HEADER)]
    if authorization is not None:
        kept.insert(0, b"Proxy-Authorization: " + authorization)
    return b"\r\n".join([line, *kept]) + b"\r\n\r\n" + after


def proxy_authorization(head: bytes) -> bytes | None:
    """The value of a request head's (first) ``Proxy-Authorization`` header, if any."""
    headers = head.partition(b"\r\n\r\n")[0].split(b"\r\n")[1:]
    for header in headers:
        if header.lower().startswith(_AUTH_HEADER):
            return header[len(_AUTH_HEADER) :].strip()
    return None


def _proxy_url(connect: bool, host: str, port: int, env: Mapping[str, str]) -> str | None:
    """The proxy URL the environment gives for this target, or None (go direct)."""
    proxies = _env_proxies(env)
    url = proxies.get("https" if connect else "http") or proxies.get("all")
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if not url or bypass(f"{host}:{port}", proxies):
        return None
    return url if "://" in url else f"http://{url}"


def _env_proxies(env: Mapping[str, str]) -> dict[str, str]:
    """``*_proxy`` variables by scheme (lower case first, as curl and the engine read them)."""
    found: dict[str, str] = {}
    for name, value in env.items():
        lower = name.lower()
        if value and lower.endswith("_proxy") and (lower == name or lower not in env):
            found[lower[: -len("_proxy")]] = value
    return found


def env_proxy(
    target: tuple[str, int], connect: bool, env: Mapping[str, str] | None = None
) -> UpstreamProxy | None:
    """The plain-HTTP proxy to reach ``target`` through, or None (direct, or unrelayable)."""
    url = _proxy_url(connect, *target, os.environ if env is None else env)
    if url is None:
        return None
    parts = _http_proxy(url)
    if parts is None:
        return None  # the client does not start the relay for such a proxy
    host, port, username, password = parts
    authorization = None
    if username is not None:
        pair = f"{unquote(username)}:{unquote(password or '')}"
        authorization = b"Basic " + base64.b64encode(pair.encode())
    return UpstreamProxy(host, port, authorization)


def _http_proxy(url: str) -> tuple[str, int, str | None, str | None] | None:
    """(host, port, user, password) of a plain-HTTP proxy URL; None for any other."""
    try:
        parts = urlsplit(url)
        port = parts.port or 80
    except ValueError:
        return None
    if parts.scheme != "http" or not parts.hostname:
        return None
    return parts.hostname, port, parts.username, parts.password


def unrelayable_proxy(endpoint_url: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """The scheme of an environment proxy for the endpoint the relay cannot use, or None."""
    env = os.environ if env is None else env
    if endpoint_url:
        parts = urlsplit(endpoint_url)
        https = parts.scheme == "https"
        host, port = parts.hostname or "", parts.port or (443 if https else 80)
    else:
        https, host, port = True, "s3.amazonaws.com", 443
    url = _proxy_url(https, host, port, env)
    if url is None:
        return None
    if _http_proxy(url) is not None:
        return None
    return url.partition("://")[0] if "://" in url else "unparsable"
