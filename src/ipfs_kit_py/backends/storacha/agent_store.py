"""The agent store: one 0600 JSON file holding the agent's key and every delegation it holds.

``$XDG_CONFIG_HOME/ipfs-kit/storacha-agent.json`` (or ``STORACHA_AGENT_STORE``), written
atomically (temp file, fsync, rename) under an exclusive ``flock`` so that concurrent
processes never lose each other's changes. The format is versioned::

    {"format": "ipfs-kit/storacha-agent", "version": 1, "principal": "Mg...",
     "delegations": [{"proof": "m...", "issued": false, "revoked": 1764000000.0}, ...],
     "current_space": "did:key:...", "spaces": {"did:key:...": "name"}}

``issued`` marks delegations this agent made for others (``delegation create``); they
are kept for ``delegation ls`` / ``revoke`` and are never used as our own proofs.
``revoked`` (optional: when this agent's ``ucan/revoke`` of it succeeded) is shown by
``delegation ls``; a revoked delegation is never offered as a proof. Every save prunes
expired delegations and login grants superseded by a later login (:mod:`.store_prune`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ipfs_kit_py.backends.registry import config_file_of
from ipfs_kit_py.backends.storacha.delegation import (
    MAX_PROOF_BYTES,
    Delegation,
    parse_proof,
)
from ipfs_kit_py.backends.storacha.delegations import attested
from ipfs_kit_py.backends.storacha.did import Signer
from ipfs_kit_py.backends.storacha.store_prune import expired, superseded, usable
from ipfs_kit_py.backends.storacha.ucan import link_str
from ipfs_kit_py.errors import (
    ConfigurationError,
    InvalidInputError,
    IpfsKitError,
)

__all__ = [
    "FORMAT",
    "VERSION",
    "AgentState",
    "AgentStore",
    "agent_store_path",
    "agent_store_present",
    "stored_credentials",
]

FORMAT = "ipfs-kit/storacha-agent"
VERSION = 1
_MAX_STORE_BYTES = 16 * 1024 * 1024
_TMP_PREFIX = ".storacha-agent-"
_T = TypeVar("_T")
_SPACE_DID = re.compile(r"did:key:[A-Za-z0-9._%:-]{1,200}")  # as the config reads a space


def agent_store_path(env: Mapping[str, str] | None = None) -> Path:
    """``$STORACHA_AGENT_STORE``, else ``<XDG config>/ipfs-kit/storacha-agent.json``
    (the file the registry looks for to tell that Storacha is configured)."""
    path = config_file_of("storacha", env)
    assert path is not None  # the registry's storacha entry names it
    return path


def stored_credentials(
    path: str | os.PathLike[str] | None, env: Mapping[str, str] | None = None
) -> tuple[str | None, str | None, str | None]:
    """(key, proofs, current space) from the agent store at ``path`` (default: the XDG
    path); all None without a store. Proofs are the unexpired held delegations."""
    store = AgentStore(path if path is not None else agent_store_path(env))
    state = store.load()
    if state is None:
        return None, None, None
    proofs = " ".join(d.format() for d in state.valid_delegations())
    return state.principal.format(), proofs or None, state.current_space


def agent_store_present(env: Mapping[str, str] | None = None) -> bool:
    """True if an agent store file exists (the facade then configures Storacha from it)."""
    return agent_store_path(env).is_file()


@dataclass
class AgentState:
    """The store's contents: the agent key, held and issued delegations, spaces."""

    principal: Signer
    delegations: list[Delegation] = field(default_factory=list)
    issued: list[Delegation] = field(default_factory=list)
    current_space: str | None = None
    names: dict[str, str] = field(default_factory=dict)
    revoked: dict[str, float] = field(default_factory=dict)  # delegation CID -> when

    def __repr__(self) -> str:
        return (
            f"AgentState(agent={self.principal.did!r}, delegations={len(self.delegations)}, "
            f"issued={len(self.issued)}, current_space={self.current_space!r})"
        )

    def add(self, delegations: list[Delegation], *, issued: bool = False) -> None:
        """Add delegations not already held (by CID), each with only its chain's blocks.

        InvalidInputError for one whose proof form would pass the proof size limit: the
        store could not read it back (every later command would fail).
        """
        target = self.issued if issued else self.delegations
        known = {d.cid for d in target}
        for delegation in delegations:
            if delegation.cid not in known:
                kept = delegation.pruned()
                if len(kept.archive()) > MAX_PROOF_BYTES:
                    raise InvalidInputError(
                        f"delegation {delegation.cid} is larger than {MAX_PROOF_BYTES} bytes "
                        "with its proofs: not stored"
                    )
                known.add(delegation.cid)
                target.append(kept)

    def valid_delegations(self, now: float | None = None) -> list[Delegation]:
        """Held delegations every UCAN of whose chain is usable now: one whose root or any
        proof expired (or is not valid yet) would make every call fail, for every space."""
        now = time.time() if now is None else now
        return [d for d in self.delegations if usable(d, now) and self.revoked_at(d) is None]

    def revoked_at(self, delegation: Delegation) -> float | None:
        """When our ``ucan/revoke`` of ``delegation`` succeeded, or None."""
        return self.revoked.get(link_str(delegation.cid))

    def prune(self, now: float | None = None) -> int:
        """Drop expired delegations (held or issued) and login grants a later login for
        the same account and abilities superseded, with their attestations; never one
        usable now and not superseded. Returns how many were dropped."""
        now = time.time() if now is None else now
        revoked = {d.cid for d in self.delegations if self.revoked_at(d) is not None}
        gone = superseded(self.delegations, revoked, now)
        before = len(self.delegations) + len(self.issued)
        gone |= {d.cid for d in self.delegations if expired(d, now)}
        gone |= {d.cid for d in self.delegations if attested(d) in gone}  # vouch for nothing
        self.delegations = [d for d in self.delegations if d.cid not in gone]
        self.issued = [d for d in self.issued if not expired(d, now)]
        kept = {link_str(d.cid) for d in [*self.delegations, *self.issued]}
        self.revoked = {cid: when for cid, when in self.revoked.items() if cid in kept}
        return before - len(self.delegations) - len(self.issued)

    def spaces(self) -> list[str]:
        """Space DIDs our held delegations reach, in the order they were added."""
        found: list[str] = []
        for delegation in self.valid_delegations():
            found += [s for s in delegation.spaces() if s not in found]
        return found

    def to_json(self) -> dict[str, Any]:
        rows = [self._row(d, False) for d in self.delegations]
        rows += [self._row(d, True) for d in self.issued]
        return {
            "format": FORMAT,
            "version": VERSION,
            "principal": self.principal.format(),
            "delegations": rows,
            "current_space": self.current_space,
            "spaces": dict(self.names),
        }

    def _row(self, delegation: Delegation, issued: bool) -> dict[str, Any]:
        row: dict[str, Any] = {"proof": delegation.format(), "issued": issued}
        when = self.revoked_at(delegation)
        if when is not None:
            row["revoked"] = when
        return row

    @classmethod
    def from_json(cls, data: Any, where: Path) -> AgentState:
        """The state a store's JSON holds; ConfigurationError naming the first field that
        is missing, of the wrong type or unreadable (never a TypeError later)."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ConfigurationError(f"{where} is not a Storacha agent store")
        version = data.get("version")
        if version != VERSION:
            raise ConfigurationError(
                f"{where} has agent store version {_version(version)}; this ipfs_kit_py reads "
                f"{VERSION}"
            )
        fields = _StoreFields(data, where)
        state = cls(fields.principal())
        for index, row in enumerate(fields.rows()):
            fields.add_row(state, f"delegations[{index}]", row)
        state.current_space = fields.current_space()
        state.names = fields.names()
        return state


class _StoreFields:
    """Typed reads of a store's fields, each error naming its field."""

    def __init__(self, data: dict[str, Any], where: Path) -> None:
        self.data, self.where = data, where

    def principal(self) -> Signer:
        text = _typed(self.where, "principal", self.data, str)
        if text is None:
            raise _damaged(self.where, "principal", "a string", None)
        try:
            return Signer.parse(text, source="the agent key")
        except IpfsKitError as exc:
            raise _unreadable(self.where, "principal", exc) from None

    def rows(self) -> list[dict[str, Any]]:
        rows: list[Any] = _typed(self.where, "delegations", self.data, list) or []
        for index, row in enumerate(rows):
            if not isinstance(row, dict):
                raise _damaged(self.where, f"delegations[{index}]", "an object", row)
        return rows

    def add_row(self, state: AgentState, name: str, row: dict[str, Any]) -> None:
        """Add the delegation of one ``delegations`` row to ``state``."""
        proof = _typed(self.where, f"{name}.proof", row, str)
        if proof is None:
            raise _damaged(self.where, f"{name}.proof", "a string", None)
        issued = _typed(self.where, f"{name}.issued", row, bool) or False
        revoked = _time(self.where, f"{name}.revoked", row)
        try:
            delegation = parse_proof(proof, source="the stored proof")
            state.add([delegation], issued=issued)
        except IpfsKitError as exc:
            raise _unreadable(self.where, f"{name}.proof", exc) from None
        if revoked is not None:
            state.revoked[link_str(delegation.cid)] = revoked

    def current_space(self) -> str | None:
        space = _typed(self.where, "current_space", self.data, str)
        if space is not None and not _SPACE_DID.fullmatch(space):
            raise _damaged(self.where, "current_space", "a did:key:... space DID", space)
        return space

    def names(self) -> dict[str, str]:
        names: dict[Any, Any] = _typed(self.where, "spaces", self.data, dict) or {}
        for did, name in names.items():
            if not isinstance(name, str):
                raise _damaged(self.where, f"spaces[{str(did)[:80]}]", "a string", name)
        return {str(did): name for did, name in names.items()}


_KINDS = {str: "a string", bool: "true or false", list: "a list", dict: "an object"}


def _typed(where: Path, name: str, data: dict[str, Any], kind: type[_T]) -> _T | None:
    """``data[name's last part]`` if it is a ``kind``; None if null or absent."""
    value = data.get(name.rpartition(".")[2])
    if value is None or isinstance(value, kind):
        return value
    raise _damaged(where, name, _KINDS[kind], value)


def _time(where: Path, name: str, data: dict[str, Any]) -> float | None:
    """A finite number of seconds (not a boolean); None if null or absent."""
    value = data.get(name.rpartition(".")[2])
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    raise _damaged(where, name, "a number", value)


def _unreadable(where: Path, name: str, exc: IpfsKitError) -> ConfigurationError:
    return ConfigurationError(f"{where} is damaged: field '{name}': {exc}")


def _damaged(where: Path, name: str, kind: str, value: Any) -> ConfigurationError:
    return ConfigurationError(
        f"{where} is damaged: field '{name}' must be {kind}, not {_shown(value)}"
    )


def _version(value: Any) -> str:
    return str(value) if type(value) is int else _shown(value)


def _shown(value: Any) -> str:
    """The JSON type of ``value`` (never the value: the file holds the agent key)."""
    if value is None:
        return "null"
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    return names.get(type(value), "a list" if isinstance(value, list) else "an object")


class AgentStore:
    """The agent store file; reads take a shared lock, :meth:`update` an exclusive one."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else agent_store_path()

    def __repr__(self) -> str:
        return f"AgentStore({str(self.path)!r})"

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def exists(self) -> bool:
        return self.path.is_file()

    def load(self) -> AgentState | None:
        """The stored state, or None if there is no store yet."""
        if not self.path.exists():
            return None
        with self._locked(fcntl.LOCK_SH):
            return self._read()

    def require(self) -> AgentState:
        """The stored state; ConfigurationError if there is none."""
        state = self.load()
        if state is None:
            raise ConfigurationError(
                f"no Storacha agent at {self.path}: run 'ipfs-kit storacha login EMAIL' "
                "or 'ipfs-kit storacha import-proof'"
            )
        return state

    @contextmanager
    def update(self) -> Iterator[AgentState]:
        """Read, let the caller change, and atomically write the state, all under one lock.

        A new store gets a fresh agent key. Nothing is written if the block raises.
        Dead delegations are pruned on every save (:meth:`AgentState.prune`).
        """
        with self._locked(fcntl.LOCK_EX):
            state = self._read() or AgentState(Signer.generate())
            yield state
            state.prune()
            self._write(state)

    @contextmanager
    def _locked(self, how: int) -> Iterator[None]:
        self._ensure_dir()
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise ConfigurationError(f"cannot lock {self.lock_path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, how)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _ensure_dir(self) -> None:
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(f"cannot create {self.path.parent}: {exc}") from exc

    def _read(self) -> AgentState | None:
        try:
            # O_NONBLOCK: a FIFO put in the store's place would block the open forever
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigurationError(f"cannot read {self.path}: {exc.strerror}") from exc
        try:
            with os.fdopen(fd, "rb") as f:
                st = os.fstat(f.fileno())
                if not stat.S_ISREG(st.st_mode):
                    raise ConfigurationError(f"{self.path} is not a regular file: refused")
                self._check_owner(st)
                raw = f.read(_MAX_STORE_BYTES + 1)
        except OSError as exc:
            raise ConfigurationError(f"cannot read {self.path}: {exc.strerror}") from exc
        if len(raw) > _MAX_STORE_BYTES:
            raise ConfigurationError(f"{self.path} is larger than {_MAX_STORE_BYTES} bytes")
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):  # "[[[[..." nested past the recursion limit
            raise ConfigurationError(f"{self.path} is damaged: not JSON") from None
        return AgentState.from_json(data, self.path)

    def _sweep(self) -> None:
        """Remove temp files of writers killed mid-save (they hold the agent key); under
        the exclusive lock, no live writer has one."""
        for stale in self.path.parent.glob(_TMP_PREFIX + "*.tmp"):
            with contextlib.suppress(OSError):
                if stale.is_file() and not stale.is_symlink():
                    stale.unlink()

    def _check_owner(self, st: os.stat_result) -> None:
        """Refuse a store (or its directory) that another user owns or may write: whoever
        can replace it chooses the key and proofs we act with; and, as ssh refuses a
        private key file others may read, a store with any group or other permission."""
        me = os.geteuid()
        try:
            parent = self.path.parent.stat()
        except OSError as exc:
            raise ConfigurationError(f"cannot read {self.path.parent}: {exc.strerror}") from exc
        if st.st_uid != me or st.st_mode & stat.S_IWOTH:
            raise ConfigurationError(
                f"{self.path} is owned or writable by another user: refused "
                "(it holds the agent key; chmod 600 it if it is yours)"
            )
        if stat.S_IMODE(st.st_mode) & 0o077:
            mode = stat.S_IMODE(st.st_mode)
            raise ConfigurationError(
                f"{self.path} is open to other users (mode {mode:04o}) and holds the agent's "
                f"private key: refused; if it is yours, run: chmod 600 {self.path}"
            )
        # a sticky world-writable dir (/tmp) lets no one else rename over our file
        open_to_all = parent.st_mode & stat.S_IWOTH and not parent.st_mode & stat.S_ISVTX
        if parent.st_uid not in (me, 0) or open_to_all:
            raise ConfigurationError(
                f"{self.path.parent} is owned or writable by another user: the agent store "
                "there is refused (use a directory only you can write)"
            )

    def _write(self, state: AgentState) -> None:
        body = json.dumps(state.to_json(), indent=1).encode()
        self._sweep()
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=_TMP_PREFIX, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:  # mkstemp makes it 0600
                f.write(body)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
