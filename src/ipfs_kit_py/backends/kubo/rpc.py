"""A client for kubo's RPC API (``POST /api/v0/<command>``) over httpx.

Uploads and downloads stream; every call has a timeout; kubo's error JSON
(``{"Message": ..., "Code": ..., "Type": "error"}``) becomes an exception from
:mod:`ipfs_kit_py.errors` that carries kubo's message. An error kubo meets after it began
streaming comes in the ``X-Stream-Error`` trailer, which the transport
(:mod:`kubo_transport`) reads and this client raises.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import json
import logging
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

import httpx

from ipfs_kit_py.backends.engine_errors import transport_error
from ipfs_kit_py.backends.kubo.multipart import Part, encode_multipart, new_boundary
from ipfs_kit_py.backends.kubo.transport import HTTPClientTransport, StreamError
from ipfs_kit_py.config import Secret
from ipfs_kit_py.content.cid import CID, parse_cid
from ipfs_kit_py.errors import (
    AuthenticationError,
    BackendError,
    BackendUnavailableError,
    ContentNotFoundError,
    InvalidInputError,
    IpfsKitError,
    ProtocolError,
)
from ipfs_kit_py.net import Deadline, Timeouts, retrying
from ipfs_kit_py.resource import Closeable

__all__ = ["AddOptions", "AddedEntry", "KuboClient", "authorization_header"]

logger = logging.getLogger(__name__)

Params = dict[str, str]

# Commands that only read: safe to send again after a timeout or a dropped connection.
_IDEMPOTENT = frozenset(
    {"id", "version", "repo/stat", "block/stat", "files/stat", "pin/ls", "block/get"}
)
MAX_ERROR_BODY = 64 << 10  # of an error answer, enough for kubo's error JSON
MAX_JSON_BODY = 16 << 20  # of a one-object JSON answer (id, version, stat, pin/add)

# Substrings of kubo's messages for content the node does not have (offline, or after the
# lookup timeout), and for unpinning what is not pinned.
_NOT_FOUND = (
    "not found",
    "could not find",
    "not pinned",
    "no link named",
    "context deadline exceeded",
    "failed to fetch all nodes",
)


def authorization_header(secret: Secret) -> str:
    """The ``Authorization`` value for a kubo ``API.Authorizations`` AuthSecret.

    ``basic:user:pass`` and ``basic:<base64>`` give Basic auth; ``bearer:token`` and a
    value without a known prefix give a Bearer token, as kubo reads them.
    """
    kind, _, value = secret.value.partition(":")
    if kind == "basic":
        if ":" in value:
            value = base64.b64encode(value.encode()).decode()
        return f"Basic {value}"
    if kind == "bearer":
        return f"Bearer {value}"
    return f"Bearer {secret.value}"


def _flag(value: bool) -> str:
    return "true" if value else "false"


@dataclass(frozen=True, slots=True)
class AddOptions:
    """Options of ``ipfs add``; ``None`` leaves kubo's configured default."""

    cid_version: int | None = None
    raw_leaves: bool | None = None
    chunker: str | None = None
    max_file_links: int | None = None
    pin: bool = True
    only_hash: bool = False
    wrap_with_directory: bool = False

    def params(self) -> Params:
        params = {
            "pin": _flag(self.pin),
            "only-hash": _flag(self.only_hash),
            "wrap-with-directory": _flag(self.wrap_with_directory),
            "progress": "false",
        }
        if self.cid_version is not None:
            params["cid-version"] = str(self.cid_version)
        if self.raw_leaves is not None:
            params["raw-leaves"] = _flag(self.raw_leaves)
        if self.chunker is not None:
            params["chunker"] = self.chunker
        if self.max_file_links is not None:
            params["max-file-links"] = str(self.max_file_links)
        return params


@dataclass(frozen=True, slots=True)
class AddedEntry:
    """One line of ``add`` output: the entry's path in the upload, its CID and DAG size."""

    name: str
    cid: CID
    size: int


class KuboClient(Closeable):
    """A connection to one kubo node's RPC API.

    Cheap to construct (the HTTP client is made on first use). A context manager;
    :meth:`close` is idempotent. ``timeouts`` bound every network wait: connect, the
    idle timeout for each read and write, a deadline for each call that answers small
    (JSON, single blocks; retried when idempotent) and a stall guard for streamed
    content. ``lookup_timeout`` is passed to kubo as its own ``timeout`` for commands
    that may search for content.
    """

    def __init__(
        self,
        url: str,
        *,
        auth: Secret | None = None,
        timeouts: Timeouts | None = None,
        lookup_timeout: float = 10.0,
    ) -> None:
        self.url = url.rstrip("/")
        self._auth = auth
        self.timeouts = timeouts or Timeouts()
        self._timeout = httpx.Timeout(
            self.timeouts.idle_timeout, connect=self.timeouts.connect_timeout
        )
        self.lookup_timeout = lookup_timeout
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"KuboClient({self.url!r}, auth={'***' if self._auth else None})"

    def close(self) -> None:
        """Close the HTTP connections; safe to call twice."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    # -- plumbing -------------------------------------------------------------------------

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                headers = {}
                if self._auth:
                    headers["Authorization"] = authorization_header(self._auth)
                self._client = httpx.Client(
                    base_url=f"{self.url}/api/v0/",
                    headers=headers,
                    timeout=self._timeout,
                    transport=HTTPClientTransport(),
                    # every request goes through our transport, never an env proxy's
                    trust_env=False,
                )
            return self._client

    @contextlib.contextmanager
    def _transport_errors(self, command: str) -> Iterator[None]:
        """Turn httpx's network errors into the tree, by type, chained to the cause."""
        located = {"backend": "kubo", "locator": self.url}
        try:
            yield
        except httpx.ConnectError as exc:
            raise BackendUnavailableError(f"no IPFS node at {self.url}: {exc}", **located) from exc
        except StreamError as exc:
            message = f"IPFS node at {self.url} failed {command} mid-stream: {exc}"
            if any(marker in str(exc).lower() for marker in _NOT_FOUND):
                raise ContentNotFoundError(message, **located) from exc
            raise BackendError(message, **located) from exc
        except httpx.TransportError as exc:
            raise transport_error(exc, backend="kubo", locator=self.url, action=command) from exc
        except httpx.HTTPError as exc:
            raise ProtocolError(
                f"IPFS node at {self.url} answered {command} badly: {type(exc).__name__}: {exc}",
                backend="kubo",
                locator=self.url,
            ) from None
        except (ValueError, LookupError, TypeError, AttributeError) as exc:
            if isinstance(exc, IpfsKitError):
                raise
            raise ProtocolError(
                f"IPFS node at {self.url} sent an answer to {command} that kubo never sends "
                f"({type(exc).__name__}: {_short(exc)})",
                backend="kubo",
                locator=self.url,
            ) from None

    @contextlib.contextmanager
    def _stream(
        self,
        command: str,
        params: Params,
        parts: Iterable[Part] | None = None,
        *,
        bulk: bool = False,
        deadline: Deadline | None = None,
    ) -> Iterator[httpx.Response]:
        """POST ``command`` and yield the streaming response once its status is OK.

        An upload (``parts``) is bounded by the idle timeout; a ``bulk`` download also by
        the stall guard; every other call by ``deadline`` (a fresh one by default).
        """
        headers = {}
        content = None
        extensions: dict[str, Any] = {}
        if parts is not None:
            boundary = new_boundary()
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
            content = encode_multipart(parts, boundary)
        elif bulk:
            extensions["ipfs_kit.stall"] = self.timeouts.stall_guard(f"kubo {command}")
            # its headers come once kubo has found the content (``lookup_timeout``)
            extensions["ipfs_kit.headers_timeout"] = self.timeouts.deadline + self.lookup_timeout
        else:
            extensions["ipfs_kit.deadline"] = deadline or self.timeouts.deadline_from_now()
        http = self._http()
        with self._transport_errors(command):
            request = http.build_request(
                "POST", command, params=params, headers=headers, content=content
            )
            request.extensions.update(extensions)
            response = http.send(request, stream=True)
        try:
            if response.status_code != 200:
                with self._transport_errors(command):
                    body = _bounded_body(response, MAX_ERROR_BODY)
                self._raise_for(command, response.status_code, body)
            yield response
        finally:
            response.close()

    def _raise_for(self, command: str, status: int, body: bytes) -> NoReturn:
        message, from_kubo = _error_message(status, body)
        logger.debug("kubo %s at %s: HTTP %d: %s", command, self.url, status, message)
        where = f"IPFS node at {self.url}"
        located = {"backend": "kubo", "locator": self.url}
        if status in (401, 403):
            raise AuthenticationError(f"{where} refused {command}: {message}", **located)
        if status == 404 and not from_kubo:
            raise BackendError(f"{where} has no RPC command {command}: {message}", **located)
        if any(marker in message.lower() for marker in _NOT_FOUND):
            raise ContentNotFoundError(f"{where}: {message}", **located)
        if "online mode" in message:
            raise BackendUnavailableError(
                f"{where} is offline, {command} needs it online: {message}", **located
            )
        if status == 400:
            raise InvalidInputError(f"{where} rejected {command}: {message}")
        raise BackendError(f"{where} failed {command}: {message}", **located)

    def _json(self, command: str, params: Params | None = None) -> Any:
        deadline = self.timeouts.deadline_from_now()

        def once() -> Any:
            with (
                self._stream(command, params or {}, deadline=deadline) as response,
                self._transport_errors(command),
            ):
                body = _bounded_body(response, MAX_JSON_BODY + 1)
                if len(body) > MAX_JSON_BODY:
                    raise ValueError(f"answer longer than {MAX_JSON_BODY} bytes")
                return json.loads(body)

        if command not in _IDEMPOTENT:
            return once()
        return retrying(
            once, retries=self.timeouts.retries, what=f"kubo {command}", deadline=deadline
        )

    def _lines(
        self,
        command: str,
        params: Params,
        parts: Iterable[Part] | None = None,
        *,
        bulk: bool = False,
        deadline: Deadline | None = None,
    ) -> Iterator[Any]:
        """Stream a newline-delimited JSON answer, one decoded object per line."""
        with (
            self._stream(command, params, parts, bulk=bulk, deadline=deadline) as response,
            self._transport_errors(command),
        ):
            for line in _bounded_lines(response.iter_raw(), MAX_JSON_BODY):
                if line.strip():
                    yield _check_line(json.loads(line), command, self.url)

    def _bytes(self, command: str, params: Params, *, bulk: bool = True) -> Iterator[bytes]:
        with (
            self._stream(command, params, bulk=bulk) as response,
            self._transport_errors(command),
        ):
            yield from response.iter_raw()

    def _lookup(self, cid: CID, offline: bool) -> Params:
        """Arguments for a command that reads content: bounded, optionally local only."""
        params = {"arg": str(cid), "timeout": f"{self.lookup_timeout}s"}
        if offline:
            params["offline"] = "true"
        return params

    # -- node -----------------------------------------------------------------------------

    def id(self) -> dict[str, Any]:
        """``id``: the node's peer ID, addresses and agent version."""
        return dict(self._json("id"))

    def version(self) -> dict[str, Any]:
        """``version``: kubo's version, commit, Go version."""
        return dict(self._json("version"))

    def repo_stat(self) -> dict[str, Any]:
        """``repo/stat``: repo size, object count, storage max."""
        return dict(self._json("repo/stat"))

    # -- files ----------------------------------------------------------------------------

    def add(self, parts: Iterable[Part], options: AddOptions | None = None) -> list[AddedEntry]:
        """``add`` streamed multipart ``parts``; entries in kubo's order, the root last."""
        with self._transport_errors("add"):
            return [_entry(line) for line in self._added(parts, options)]

    def add_root(self, parts: Iterable[Part], options: AddOptions | None = None) -> AddedEntry:
        """``add`` like :meth:`add`, returning only the root (one CID parsed, not one per file)."""
        (last,) = collections.deque(self._added(parts, options), maxlen=1)
        with self._transport_errors("add"):
            return _entry(last)

    def _added(self, parts: Iterable[Part], options: AddOptions | None) -> Iterator[Any]:
        params = (options or AddOptions()).params()
        found = False
        for line in self._lines("add", params, parts):
            if "Hash" in line:
                found = True
                yield line
        if not found:
            raise BackendError(
                f"IPFS node at {self.url} added nothing", backend="kubo", locator=self.url
            )

    def cat(
        self, cid: CID, *, offset: int = 0, length: int | None = None, offline: bool = False
    ) -> Iterator[bytes]:
        """``cat``: stream a file's bytes; raise if the stream ends short of its length."""
        params = self._lookup(cid, offline)
        if offset:
            params["offset"] = str(offset)
        if length is not None:
            params["length"] = str(length)
        with (
            self._stream("cat", params, bulk=True) as response,
            self._transport_errors("cat"),
        ):
            header = response.headers.get("X-Content-Length")
            expected = None if header is None else _length(header)
            received = 0
            for chunk in response.iter_raw():
                received += len(chunk)
                yield chunk
        if expected is not None and received != expected:
            raise BackendError(
                f"IPFS node at {self.url} ended cat of {cid} after {received} of {expected} bytes",
                backend="kubo",
                locator=f"{self.url}/ipfs/{cid}",
            )

    def get_tar(self, cid: CID, *, offline: bool = False) -> Iterator[bytes]:
        """``get``: stream the file or directory ``cid`` as a tar archive."""
        return self._bytes("get", self._lookup(cid, offline))

    # -- blocks and DAGs ------------------------------------------------------------------

    def block_get(self, cid: CID, *, offline: bool = False) -> bytes:
        """``block/get``: the raw bytes of one block (blocks are at most a few MiB)."""
        return b"".join(self._bytes("block/get", self._lookup(cid, offline), bulk=False))

    def block_put(self, data: bytes, *, codec: str = "raw", pin: bool = False) -> CID:
        """``block/put``: store one block (sha2-256) and return its CID."""
        params = {"cid-codec": codec, "mhtype": "sha2-256", "pin": _flag(pin)}
        lines = list(self._lines("block/put", params, [Part("block", body=[data])]))
        with self._transport_errors("block/put"):
            return parse_cid(lines[-1]["Key"])

    def block_stat(self, cid: CID, *, offline: bool = False) -> int:
        """``block/stat``: the size of one block."""
        answer = self._json("block/stat", self._lookup(cid, offline))
        with self._transport_errors("block/stat"):
            return _length(answer["Size"])

    def files_stat(self, cid: CID, *, offline: bool = False) -> dict[str, Any]:
        """``files/stat`` of ``/ipfs/<cid>``: Type, Size (file bytes), CumulativeSize."""
        params = self._lookup(cid, offline)
        params["arg"] = f"/ipfs/{cid}"
        answer = self._json("files/stat", params)
        with self._transport_errors("files/stat"):
            stat = dict(answer)
            stat["Size"] = _length(stat["Size"])
        return stat

    def dag_export(self, cid: CID, *, offline: bool = False) -> Iterator[bytes]:
        """``dag/export``: stream the DAG under ``cid`` as a CAR. Offline, kubo searches
        nothing, so no lookup timeout cuts a long export (the transport's own read
        timeouts still bound each wait)."""
        params = self._lookup(cid, offline)
        if offline:
            del params["timeout"]
        return self._bytes("dag/export", params)

    def dag_import(self, car: Iterable[bytes], *, pin_roots: bool = True) -> list[CID]:
        """``dag/import`` of a streamed CAR; return its roots (pinned if ``pin_roots``)."""
        params = {"pin-roots": _flag(pin_roots), "stats": "false"}
        roots = []
        for line in self._lines("dag/import", params, [Part("car", body=car)]):
            with self._transport_errors("dag/import"):
                roots.extend(self._import_root(line))
        return roots

    def _import_root(self, line: Any) -> list[CID]:
        """The root a ``dag/import`` answer line names (if any); a pin failure raises."""
        root = line.get("Root")
        if root is None:
            return []
        if root.get("PinErrorMsg"):
            raise ContentNotFoundError(
                f"IPFS node at {self.url} could not pin CAR root {root['Cid']['/']}: "
                f"{root['PinErrorMsg']}",
                backend="kubo",
                locator=self.url,
            )
        return [parse_cid(root["Cid"]["/"])]

    # -- pins and routing -----------------------------------------------------------------

    def pin_add(self, cid: CID, *, recursive: bool = True, offline: bool = False) -> None:
        """``pin/add``: pin ``cid`` (and, recursively, its DAG)."""
        params = self._lookup(cid, offline)
        params["recursive"] = _flag(recursive)
        self._json("pin/add", params)

    def pin_rm(self, cid: CID) -> None:
        """``pin/rm``: unpin ``cid``; raises ContentNotFoundError if it is not pinned."""
        self._json("pin/rm", {"arg": str(cid)})

    def pin_ls(self, cid: CID | None = None, *, pin_type: str = "recursive") -> dict[str, str]:
        """``pin/ls``: pinned CIDs (as kubo prints them) -> pin type."""
        params = {"type": pin_type, "stream": "true"}
        if cid is None:  # every pin of the node: as long as it takes while it moves
            lines = list(self._lines("pin/ls", params, bulk=True))
            with self._transport_errors("pin/ls"):
                return {str(line["Cid"]): str(line["Type"]) for line in lines}
        params["arg"] = str(cid)
        deadline = self.timeouts.deadline_from_now()

        def once() -> dict[str, str]:
            lines = list(self._lines("pin/ls", params, deadline=deadline))
            with self._transport_errors("pin/ls"):
                return {str(line["Cid"]): str(line["Type"]) for line in lines}

        return retrying(once, retries=self.timeouts.retries, what="kubo pin/ls", deadline=deadline)

    def findprovs(self, cid: CID, *, num_providers: int = 20) -> list[str]:
        """``routing/findprovs``: peer IDs of providers found within ``lookup_timeout``."""
        params = {
            "arg": str(cid),
            "num-providers": str(num_providers),
            "timeout": f"{self.lookup_timeout}s",
        }
        providers: list[str] = []
        deadline = Deadline(self.lookup_timeout + self.timeouts.deadline)
        for event in self._lines("routing/findprovs", params, deadline=deadline):
            with self._transport_errors("routing/findprovs"):
                if event.get("Type") == 4:  # routing.Provider
                    providers.extend(str(r["ID"]) for r in event.get("Responses") or [])
        return providers


def _length(value: Any) -> int:
    """A byte count from an answer: a non-negative integer, or ValueError."""
    text = str(value).strip()
    if not text.isdigit() or len(text) > 20:
        raise ValueError(f"not a byte count: {text[:40]!r}")
    return int(text)


def _entry(line: Any) -> AddedEntry:
    return AddedEntry(line["Name"], parse_cid(line["Hash"]), int(line.get("Size") or 0))


def _bounded_body(response: httpx.Response, limit: int) -> bytes:
    """At most ``limit`` bytes of an (error) body: an endless one is cut, not buffered."""
    body = bytearray()
    for chunk in response.iter_raw():
        body += chunk[: limit - len(body)]
        if len(body) >= limit:
            break
    return bytes(body)


def _bounded_lines(chunks: Iterator[bytes], limit: int) -> Iterator[bytes]:
    """Split a byte stream into lines; a line longer than ``limit`` is a ValueError."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        yield from lines
        if len(pending) > limit:
            raise ValueError(f"an answer line longer than {limit} bytes")
    if pending:
        yield pending


def _short(exc: BaseException, limit: int = 200) -> str:
    text = str(exc)
    return text if len(text) <= limit else text[:limit] + "…"


def _error_message(status: int, raw: bytes) -> tuple[str, bool]:
    """kubo's error message and whether it came as kubo's error JSON."""
    text = raw.decode("utf-8", "replace").strip()
    try:
        body = json.loads(text)
    except ValueError:
        return text[:500] or f"HTTP {status}", False
    if isinstance(body, dict) and "Message" in body:
        return str(body["Message"])[:500], True
    return text[:500], False


def _check_line(line: Any, command: str, url: str) -> Any:
    """An error object in a stream of answers (kubo's late errors) raises."""
    if isinstance(line, dict) and line.get("Type") == "error" and "Message" in line:
        message = str(line["Message"])
        if any(marker in message.lower() for marker in _NOT_FOUND):
            raise ContentNotFoundError(
                f"IPFS node at {url}: {message}", backend="kubo", locator=url
            )
        raise BackendError(
            f"IPFS node at {url} failed {command}: {message}", backend="kubo", locator=url
        )
    return line
