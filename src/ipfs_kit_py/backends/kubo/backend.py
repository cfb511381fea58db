"""KuboBackend: content kept (pinned) by a kubo IPFS node, reached over its RPC API.

The node is found from, in order: an explicit URL or multiaddr, the config file's
``[kubo]`` section, ``$IPFS_API_URL``, the ``api`` file of ``$IPFS_PATH`` (``~/.ipfs``),
then ``http://127.0.0.1:5001``. The backend "holds" a CID when the node pins it;
``delete`` unpins. Reads are local to the node by default (``offline``), so a CID it lacks
answers not-found at once instead of searching the network.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import tarfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from ipfs_kit_py import debris
from ipfs_kit_py.backends.base import BaseBackend, Holding, StoredObject
from ipfs_kit_py.backends.kubo.multipart import Part, path_parts
from ipfs_kit_py.backends.kubo.rpc import AddOptions, KuboClient
from ipfs_kit_py.config import Secret, Sources, parse_bool, parse_number, parse_url
from ipfs_kit_py.content.cid import CID, DAG_PB, RAW, SHA2_256, cid_key, make_cid
from ipfs_kit_py.content.dag import is_file_node, read_file
from ipfs_kit_py.content.unixfs import KUBO_CID_V1, KUBO_DEFAULT, ImportProfile
from ipfs_kit_py.content.verify import verify_stream
from ipfs_kit_py.errors import (
    BackendError,
    BackendUnavailableError,
    ConfigurationError,
    ContentMismatchError,
    ContentNotFoundError,
    InputPathError,
    InvalidInputError,
    IpfsKitError,
    NotConfiguredError,
    UnsafePathError,
)
from ipfs_kit_py.net import Timeouts
from ipfs_kit_py.streams import reader

__all__ = ["DEFAULT_API_URL", "KuboBackend", "KuboConfig", "locate_api", "multiaddr_to_url"]

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "http://127.0.0.1:5001"


def multiaddr_to_url(addr: str) -> str:
    """``/ip4/127.0.0.1/tcp/5001`` (or /ip6, /dns*, optional /http|/https) -> an http URL."""
    parts = addr.strip().strip("/").split("/")
    if len(parts) < 4 or parts[2] != "tcp":
        raise ConfigurationError(f"unsupported API multiaddr {addr!r}: expected /ip4/HOST/tcp/PORT")
    proto, host, _, port = parts[:4]
    if proto not in ("ip4", "ip6", "dns", "dns4", "dns6") or not port.isdigit():
        raise ConfigurationError(f"unsupported API multiaddr {addr!r}")
    scheme = "https" if parts[4:5] == ["https"] else "http"
    if proto == "ip6":
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


def _normalize_url(value: str) -> str:
    value = value.strip()
    if value.startswith("/"):
        return multiaddr_to_url(value)
    if not value.startswith(("http://", "https://")):
        raise ConfigurationError(f"kubo API address {value!r} is neither a URL nor a multiaddr")
    return value.rstrip("/")


def locate_api(explicit: str | None, *, ipfs_path: str | None) -> str:
    """The API URL: ``explicit`` (URL or multiaddr), else ``<ipfs_path>/api``, else default."""
    if explicit:
        return _normalize_url(explicit)
    repo = Path(ipfs_path).expanduser() if ipfs_path else Path.home() / ".ipfs"
    try:
        return _normalize_url((repo / "api").read_text())
    except FileNotFoundError:
        return DEFAULT_API_URL
    except OSError as exc:
        raise ConfigurationError(f"cannot read {repo / 'api'}: {exc.strerror}") from exc


@dataclass(frozen=True, slots=True)
class KuboConfig:
    """Where the kubo node is and how to talk to it.

    ``auth`` is an ``API.Authorizations`` AuthSecret (``basic:user:pass``,
    ``bearer:token``). ``timeouts`` bound every network wait (:mod:`ipfs_kit_py.net`);
    ``lookup_timeout`` bounds kubo's own search for content; ``offline`` keeps reads
    local to the node.
    """

    api_url: str = DEFAULT_API_URL
    auth: Secret | None = field(default=None)
    timeouts: Timeouts = field(default_factory=Timeouts)
    lookup_timeout: float = 10.0
    offline: bool = True

    def __post_init__(self) -> None:
        if parse_url("kubo api_url", self.api_url)[1] is not None:
            raise ConfigurationError("kubo api_url must not carry user:password@: set auth")

    @classmethod
    def from_sources(
        cls,
        args: Mapping[str, Any] | None = None,
        section: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> KuboConfig:
        """Build from explicit ``args`` > config file section ``[kubo]`` > ``env``.

        Environment (``None``: ``os.environ``): ``IPFS_API_URL``, ``IPFS_PATH`` (its ``api``
        file), ``IPFS_API_AUTH``, ``IPFS_KIT_KUBO_<TIMEOUT KEY>``
        (:class:`~ipfs_kit_py.net.Timeouts`; the older ``timeout`` key and
        ``IPFS_KIT_KUBO_TIMEOUT`` set the idle timeout).
        """
        get = Sources.of(args, section, env).get
        ipfs_path = get("ipfs_path", "IPFS_PATH")
        located = locate_api(get("api_url", "IPFS_API_URL"), ipfs_path=ipfs_path)
        api_url, userinfo = parse_url("kubo api_url", located)
        auth = get("auth", "IPFS_API_AUTH")
        # user:pass@ in the URL would show in every message and log line: make it auth
        if auth is None and userinfo is not None:
            auth = Secret(f"basic:{userinfo}")
        legacy = get("timeout", "IPFS_KIT_KUBO_TIMEOUT")
        defaults = {} if legacy is None else {"idle_timeout": _seconds("timeout", legacy)}
        return cls(
            api_url=api_url,
            auth=auth if isinstance(auth, Secret) or auth is None else Secret(str(auth)),
            timeouts=Timeouts.from_sources("kubo", args, section, env, **defaults),
            lookup_timeout=_seconds("lookup_timeout", get("lookup_timeout", default=10.0)),
            offline=parse_bool("kubo offline", get("offline", default=True)),
        )


def _seconds(name: str, value: Any) -> float:
    return parse_number(f"kubo {name}", value, float, positive=True)


def pin_forms(cid: CID) -> list[CID]:
    """``cid`` and its other version: kubo pins the form content was added as, and keeps
    the v0 (``Qm…``) and v1 (``bafy…``) pins of one dag-pb sha2-256 node apart."""
    if cid.codec.code != DAG_PB or cid.hashfun.code != SHA2_256:
        return [cid]
    return [cid, make_cid(DAG_PB, bytes(cid.raw_digest), version=1 - cid.version)]


def add_options(profile: ImportProfile, **kwargs: bool) -> AddOptions:
    """``ipfs add`` options that import with ``profile``."""
    return AddOptions(
        cid_version=profile.cid_version,
        raw_leaves=profile.raw_leaves,
        chunker=f"size-{profile.chunk_size}",
        max_file_links=profile.max_links,
        **kwargs,
    )


KUBO_HINT = "set [kubo] api_url in the config file or IPFS_API_URL"


class KuboBackend(BaseBackend):
    """The Backend protocol over a kubo node: put adds and pins, delete unpins.

    Reads stream what the node returns, unverified (the tier layer verifies);
    :meth:`cat_verified` verifies on its own.
    """

    name = "ipfs"
    config: KuboConfig | None = None  # what from_config built it from (config show)

    def __init__(self, client: KuboClient, *, offline: bool = True) -> None:
        self.client = client
        self.offline = offline

    @classmethod
    def from_config(cls, config: KuboConfig) -> Self:
        """A backend for ``config``; no network until the first call."""
        client = KuboClient(
            config.api_url,
            auth=config.auth,
            timeouts=config.timeouts,
            lookup_timeout=config.lookup_timeout,
        )
        backend = cls(client, offline=config.offline)
        backend.config = config
        return backend

    @classmethod
    def from_sources(
        cls,
        args: Mapping[str, Any] | None = None,
        section: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Self:
        """A backend when ``[kubo]``, ``args``, ``IPFS_API_URL`` or ``IPFS_PATH`` ask for one.

        kubo joins the tiers only when asked for: with no source it raises
        ``NotConfiguredError``. No network until the first call.
        """
        if not Sources.of(args, section, env).given("IPFS_API_URL", "IPFS_PATH"):
            raise NotConfiguredError(f"kubo is not configured: {KUBO_HINT}")
        return cls.from_config(KuboConfig.from_sources(args, section, env))

    def __repr__(self) -> str:
        return f"KuboBackend({self.client!r})"

    def close(self) -> None:
        """Close the connections to the node; idempotent."""
        self.client.close()

    # -- the Backend protocol -------------------------------------------------------------

    def has(self, cid: CID) -> bool:
        """True if the node pins ``cid`` in either form (v0 or v1; recursively, directly
        or as part of a pinned DAG)."""
        for form in pin_forms(cid):
            try:
                if self.client.pin_ls(form, pin_type="all"):
                    return True
            except ContentNotFoundError:
                continue
        return False

    def stat(self, cid: CID) -> StoredObject:
        """Size (file bytes, or block bytes) of the pinned ``cid``."""
        if not self.has(cid):
            raise ContentNotFoundError(
                f"IPFS node at {self.client.url} does not pin {cid}",
                backend="kubo",
                locator=f"/ipfs/{cid}",
            )
        info = self.client.files_stat(cid, offline=self.offline)
        return StoredObject(cid, int(info["Size"]), f"/ipfs/{cid}")

    def get_block(self, cid: CID) -> bytes:
        """One block by CID (``block/get``), unverified; ContentNotFoundError if absent."""
        return self.client.block_get(cid, offline=self.offline)

    def get(self, cid: CID) -> Iterator[bytes]:
        """Stream the file bytes of ``cid``; not-found raises here, not on first read.

        kubo answers a damaged block (truncated, rewritten in its repo) with an error
        rather than bytes: such an error is checked block by block (:meth:`_diagnose`)
        and raised as :class:`ContentMismatchError` when a block does not match its CID.
        """
        stream = self._diagnosed(cid, self.client.cat(cid, offline=self.offline))
        first = next(stream, None)
        if first is None:
            return iter(())
        return itertools.chain([first], stream)

    def _diagnosed(self, cid: CID, stream: Iterator[bytes]) -> Iterator[bytes]:
        try:
            yield from stream
        except BackendUnavailableError:
            raise
        except BackendError as exc:
            self._diagnose(cid, exc)
            raise

    def _diagnose(self, cid: CID, exc: BackendError) -> None:
        """Read every block of ``cid`` from this node's repo (``block/get``, offline) and
        verify it; raise :class:`ContentMismatchError` (from ``exc``) at a damaged one.

        Any other failure of the walk leaves ``exc`` to be raised as it was.
        """
        try:
            for _ in read_file(cid, lambda block: self.client.block_get(block, offline=True)):
                pass
        except ContentMismatchError as bad:
            if not self._holds_a_file(cid):  # an intact directory (or symlink) is no damage
                raise InvalidInputError(
                    f"{cid} is no file on the IPFS node at {self.client.url} (a directory?)"
                ) from exc
            raise ContentMismatchError(
                f"IPFS node at {self.client.url} holds a damaged block of {cid}: {bad}",
                cid=str(cid),
            ) from exc
        except (IpfsKitError, OSError) as other:
            logger.debug("checking the blocks of %s after %s failed: %s", cid, exc, other)

    def _holds_a_file(self, cid: CID) -> bool:
        """False if the node's root block of ``cid`` is intact and no file node."""
        try:
            return is_file_node(cid, self.client.block_get(cid, offline=True))
        except (IpfsKitError, OSError):
            return True  # unknown: the walk's verdict stands

    def put(
        self,
        cid: CID,
        chunks: Iterable[bytes],
        size: int | None = None,
        *,
        profile: ImportProfile | None = None,
    ) -> StoredObject:
        """Add ``chunks`` as ``cid`` and pin it once kubo's root is ``cid``.

        A raw CID is stored as one block. A dag-pb CID is imported with ``profile``
        (default: kubo's for v0, kubo's ``--cid-version=1`` for v1). A different root
        raises :class:`ContentMismatchError` and pins nothing (its blocks stay
        unpinned, for kubo's garbage collector).
        """
        if cid.codec.code == RAW:
            got = self.client.block_put(b"".join(chunks), codec="raw", pin=False)
        elif cid.codec.code == DAG_PB:
            profile = profile or (KUBO_DEFAULT if cid.version == 0 else KUBO_CID_V1)
            part = Part(cid_key(cid), body=chunks)
            got = self.client.add_root([part], add_options(profile, pin=False)).cid
        else:
            raise InvalidInputError(
                f"kubo backend puts UnixFS files and raw blocks, not {cid.codec.name}; "
                "use import_car"
            )
        if cid_key(got) != cid_key(cid):
            raise ContentMismatchError(
                f"content put as {cid} was imported by kubo as {got}", cid=str(cid), actual=str(got)
            )
        self.client.pin_add(cid, offline=True)
        return StoredObject(cid, self._size(cid, size), f"/ipfs/{cid}")

    def _size(self, cid: CID, size: int | None) -> int:
        if size is not None:
            return size
        return int(self.client.files_stat(cid, offline=True)["Size"])

    def holdings(self) -> Iterator[Holding]:
        """Every recursive pin (a copy this node keeps)."""
        for text in self.client.pin_ls(None, pin_type="recursive"):
            yield text, f"/ipfs/{text}", None

    def delete(self, cid: CID) -> None:
        """Unpin ``cid`` in both forms (the node may garbage-collect it later); absent is fine."""
        for form in pin_forms(cid):
            try:
                self.client.pin_rm(form)
            except ContentNotFoundError:
                logger.debug("%s was not pinned on %s", form, self.client.url)

    # -- beyond the protocol --------------------------------------------------------------

    def cat_verified(self, cid: CID, profile: ImportProfile | None = None) -> Iterator[bytes]:
        """Stream ``cid``'s bytes, raising ContentMismatchError after the last chunk if wrong."""
        return verify_stream(cid, self.get(cid), profile)

    def add_path(
        self,
        path: Path,
        *,
        profile: ImportProfile = KUBO_DEFAULT,
        hidden: bool = False,
        pin: bool = True,
        only_hash: bool = False,
        wrap_with_directory: bool = False,
    ) -> CID:
        """Add a file or directory tree (streamed) and return the root CID."""
        options = add_options(
            profile, pin=pin, only_hash=only_hash, wrap_with_directory=wrap_with_directory
        )
        return self.client.add_root(path_parts(path, hidden=hidden), options).cid

    def export_car(self, cid: CID) -> Iterator[bytes]:
        """Stream the DAG under ``cid`` as a CAR (``dag export``)."""
        return self.client.dag_export(cid, offline=self.offline)

    def import_car(self, car: Iterable[bytes], *, pin: bool = True) -> list[CID]:
        """Import a streamed CAR (``dag import``); return its roots, pinned if ``pin``."""
        return self.client.dag_import(car, pin_roots=pin)

    def get_to_path(self, cid: CID, dest: Path) -> Path:
        """Write the file or directory ``cid`` to ``dest``: all of it, or nothing.

        The tar stream from ``get`` is unpacked into a temporary sibling of ``dest``
        and renamed into place only when complete.
        """
        if dest.exists() or dest.is_symlink():
            raise InputPathError(f"refusing to overwrite {dest}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(debris.mkdtemp(dest.parent, f".{dest.name}."))
        try:
            self._extract(cid, staging)
            entries = list(staging.iterdir())
            if len(entries) != 1:
                raise InvalidInputError(f"get {cid} gave {len(entries)} top-level entries")
            os.replace(entries[0], dest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            debris.release(staging)
        return dest

    def _extract(self, cid: CID, staging: Path) -> None:
        stream = reader(self.client.get_tar(cid, offline=self.offline))
        try:
            with tarfile.open(fileobj=stream, mode="r|") as archive:
                archive.extractall(staging, filter="data")
        except tarfile.FilterError as exc:
            raise UnsafePathError(f"get {cid}: unsafe entry in the archive: {exc}") from exc
        except tarfile.TarError as exc:
            raise BackendError(
                f"get {cid}: broken archive from {self.client.url}: {exc}",
                backend="kubo",
                locator=f"/ipfs/{cid}",
            ) from exc
