"""StorachaAgent: the agent of an agent store — login, accounts, spaces, provisioning, sharing.

Every change is written to the :class:`AgentStore` under its lock; network calls go
through :class:`StorachaClient` acting as the stored agent. A new space is saved before
any network call, so a failed provisioning never loses it.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ipfs_kit_py.backends.storacha import account as accounts_
from ipfs_kit_py.backends.storacha.agent_store import AgentState, AgentStore
from ipfs_kit_py.backends.storacha.client import (
    SPACE_ABILITIES,
    StorachaClient,
    raise_for_receipt,
)
from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.backends.storacha.delegation import Delegation, parse_proof
from ipfs_kit_py.backends.storacha.delegations import delegate, parse_abilities
from ipfs_kit_py.backends.storacha.did import Signer, encode_did
from ipfs_kit_py.backends.storacha.ucan import link_str
from ipfs_kit_py.config import Secret
from ipfs_kit_py.errors import (
    AuthenticationError,
    BackendError,
    ConfigurationError,
    ContentNotFoundError,
    InvalidInputError,
    ProtocolError,
)
from ipfs_kit_py.resource import Closeable

__all__ = ["CreatedSpace", "HeldDelegation", "SpaceEntry", "StorachaAgent"]

CONTENT_SERVE = "space/content/serve/*"
MAX_EXPIRATION = 2**53 - 1  # JS Number.MAX_SAFE_INTEGER: the official client reads exp as one
_DID_AUDIENCE = re.compile(r"did:(key|mailto|web):[\x21-\x7e]{1,300}")


@dataclass(frozen=True)
class CreatedSpace:
    """What ``space create`` did; ``key`` is the space's root key (masked in repr)."""

    did: str
    name: str
    key: Secret
    provisioned: bool
    recovery: bool
    gateway_authorized: bool
    account: str | None


@dataclass(frozen=True)
class SpaceEntry:
    """A space our delegations reach; ``known``: the service has it (None: not asked)."""

    did: str
    name: str
    current: bool
    known: bool | None = None
    providers: tuple[str, ...] = ()


@dataclass(frozen=True)
class HeldDelegation:
    """A delegation in the store: ``issued`` by us for another agent, or held by us."""

    cid: str
    issuer: str
    audience: str
    abilities: tuple[str, ...]
    resources: tuple[str, ...]
    expiration: int | None
    issued: bool
    revoked: float | None = None  # when our ucan/revoke of it succeeded


def _space_fact(name: str) -> dict[str, Any]:
    return {"space": {"name": name, "access": {"type": "public"}}}


class StorachaAgent(Closeable):
    """The stored agent and the service; a context manager. No network until a call."""

    def __init__(self, config: StorachaConfig, store: AgentStore | None = None) -> None:
        self.config = config
        self.store = store or AgentStore(config.agent_store)
        self._client: StorachaClient | None = None

    def close(self) -> None:
        """Close connections; idempotent."""
        if self._client is not None:
            self._client.close()

    def client(self, state: AgentState | None = None) -> StorachaClient:
        """A client acting as the stored agent (created on first use) with its proofs."""
        state = state or self.state()
        if self._client is None:
            self._client = StorachaClient(self.config)
        self._client.use_agent(state.principal, state.valid_delegations())
        return self._client

    def state(self) -> AgentState:
        """The store's state; a store is created (with a new agent key) if there is none."""
        found = self.store.load()
        if found is not None:
            return found
        with self.store.update() as state:
            return state

    # -- identity and accounts --------------------------------------------------------

    def whoami(self) -> str:
        """Our agent's DID."""
        return self.state().principal.did

    def login(
        self, email: str, *, timeout: float = accounts_.LOGIN_TIMEOUT, progress: Any = None
    ) -> str:
        """Log in as ``email`` (the service e-mails a link); return the account DID."""
        account = accounts_.mailto_did(email)
        granted = accounts_.login(self.client(), email, timeout=timeout, progress=progress)
        with self.store.update() as state:
            state.add(granted)
        return account

    def accounts(self) -> list[str]:
        """The accounts we are logged in to."""
        return accounts_.accounts(self.state().valid_delegations())

    def account(self, account: str | None = None) -> str:
        """``account`` (e-mail or did:mailto) or the only one we are logged in to."""
        if account:
            return accounts_.mailto_did(account)
        known = self.accounts()
        if len(known) != 1:
            raise AuthenticationError(
                "not logged in: run 'ipfs-kit storacha login EMAIL'"
                if not known
                else f"logged in to {len(known)} accounts: name one ({', '.join(known)})",
                backend="storacha",
            )
        return known[0]

    def plan(self, account: str | None = None) -> dict[str, Any]:
        """``plan/get`` of the account."""
        ok = self._account_call("plan/get", self.account(account), {})
        return dict(ok) if isinstance(ok, dict) else {}

    def _account_call(self, can: str, did: str, nb: dict[str, Any]) -> Any:
        state = self.state()
        proofs = accounts_.account_proofs(did, state.valid_delegations())
        return self.client(state).invoke_ok(can, did, nb, proofs=proofs, nonce=True)

    # -- spaces -----------------------------------------------------------------------

    def create_space(
        self,
        name: str,
        *,
        account: str | None = None,
        provision: bool = True,
        recovery: bool = True,
        authorize_gateway: bool = True,
    ) -> CreatedSpace:
        """A new space delegated to us and selected for uploads; unless told not to,
        provisioned for the account, with a recovery delegation to it and the gateway
        authorized. A recovery delegation of a space not provisioned yet is kept in the
        store and published by :meth:`provision` (the service takes it only then).
        Without provisioning and without any account logged in, the space is made with no
        recovery delegation (there is no account to make it to)."""
        name = _space_name(name)
        if provision or account:
            owner: str | None = self.account(account)
        else:  # a local space: recovery only if we know the account
            owner = self.account() if recovery and self.accounts() else None
        space = Signer.generate()
        with self.store.update() as state:
            caps = [{"with": space.did, "can": can} for can in SPACE_ABILITIES]
            state.add([delegate(space, state.principal.did, caps, facts=[_space_fact(name)])])
            if recovery and owner:
                grant = delegate(
                    space, owner, [{"with": space.did, "can": "*"}], facts=[_space_fact(name)]
                )
                state.add([grant], issued=True)
            state.names[space.did] = name
            state.current_space = space.did
        authorized = False
        if provision and owner:
            try:
                authorized = self.provision(space.did, owner, authorize_gateway=authorize_gateway)
            except BackendError as exc:  # the space exists: say so, or a retry makes another
                raise type(exc)(
                    f"space {space.did} ({name}) was created and selected, but: {exc}; "
                    f"finish with 'ipfs-kit storacha space provision {space.did}'",
                    backend=exc.backend,
                    locator=exc.locator,
                ) from exc
        return CreatedSpace(
            space.did,
            name,
            Secret(space.format()),
            provisioned=bool(provision and owner),
            recovery=bool(recovery and owner),
            gateway_authorized=authorized,
            account=owner,
        )

    def provision(
        self,
        space: str | None = None,
        account: str | None = None,
        *,
        authorize_gateway: bool = True,
    ) -> bool:
        """``provider/add`` (the account pays for the space), then publish the space's
        recovery delegations and authorize the gateway; True if the gateway was."""
        did = self._space(space)
        owner = self.account(account)
        self._provider_add(owner, {"provider": self.config.service_did, "consumer": did})
        state = self.state()
        for grant in state.issued:
            if grant.ucan.iss == did and grant.ucan.aud == owner:
                self._publish(self.client(state), did, grant)
        if authorize_gateway:
            self.authorize_gateway(did)
        return authorize_gateway

    def _provider_add(self, owner: str, nb: dict[str, Any]) -> None:
        """``provider/add``; a space that already has a provider is done (a retry after a
        later step failed, as ``space create`` advises), not an error."""
        state = self.state()
        proofs = accounts_.account_proofs(owner, state.valid_delegations())
        receipt, _ = self.client(state).invoke("provider/add", owner, nb, proofs=proofs, nonce=True)
        error = receipt.error
        if isinstance(error, dict) and error.get("name") == "SpaceAlreadyProvisioned":
            return
        raise_for_receipt(receipt, "provider/add", owner)

    def authorize_gateway(self, space: str | None = None) -> str:
        """Delegate ``space/content/serve/*`` to the gateway's DID and publish it there."""
        did = self._space(space)
        state = self.state()
        config = dataclasses.replace(
            self.config,
            service_url=self.config.gateway_service_url,
            service_did=self.config.gateway_did,
            service_key=self.config.service_key
            if self.config.gateway_did == self.config.service_did
            else None,
            receipts_url=None,
        )
        with StorachaClient(config) as gateway:
            gateway.use_agent(state.principal, state.valid_delegations())
            caps = [{"with": did, "can": CONTENT_SERVE}]
            grant = delegate(
                state.principal, config.service_did, caps, proofs=gateway.proofs_for(did)
            )
            self._publish(gateway, did, grant)
        return config.service_did

    @staticmethod
    def _publish(client: StorachaClient, space: str, grant: Delegation) -> None:
        """``access/delegate`` ``grant`` on ``space`` to ``client``'s service."""
        nb = {"delegations": {link_str(grant.cid): grant.cid}}
        proofs = [*client.proofs_for(space), grant]
        client.invoke_ok("access/delegate", space, nb, proofs=proofs, nonce=True)

    def use_space(self, did: str) -> str:
        """Select the space later uploads use."""
        with self.store.update() as state:
            if did not in state.spaces():
                raise InvalidInputError(f"no delegation to this agent reaches space {did}")
            state.current_space = did
        return did

    def spaces(self, *, ask_service: bool = False) -> list[SpaceEntry]:
        """Spaces our delegations reach; with ``ask_service``, which ones the service knows."""
        state = self.state()
        entries = []
        for did in state.spaces():
            known, providers = self._known(state, did) if ask_service else (None, ())
            name = state.names.get(did, "")
            entries.append(SpaceEntry(did, name, did == state.current_space, known, providers))
        return entries

    def _known(self, state: AgentState, did: str) -> tuple[bool, tuple[str, ...]]:
        try:
            info = self.space_info(did, state)
        except (AuthenticationError, ContentNotFoundError):
            return False, ()
        return True, tuple(str(p) for p in info.get("providers", []))

    def space_info(
        self, space: str | None = None, state: AgentState | None = None
    ) -> dict[str, Any]:
        """``space/info`` of the space; ProtocolError if the answer is about another one."""
        did = self._space(space)
        info = self.client(state).invoke_ok("space/info", did, {}, nonce=True)
        if not isinstance(info, dict) or info.get("did", did) != did:
            raise ProtocolError(
                f"space/info of {did} answered about another space", backend="storacha"
            )
        if not isinstance(info.get("providers", []), list):
            raise ProtocolError(f"space/info of {did}: providers is not a list", backend="storacha")
        return info

    def _space(self, space: str | None) -> str:
        did = space or self.state().current_space
        if not did:
            raise InvalidInputError("no space selected: run 'ipfs-kit storacha space use DID'")
        return did

    # -- sharing ----------------------------------------------------------------------

    def create_delegation(
        self,
        audience: str,
        abilities: Iterable[str],
        *,
        space: str | None = None,
        expiration: int | None = None,
    ) -> Delegation:
        """Delegate ``abilities`` on the space to ``audience`` (a did:key); kept as issued."""
        _check_audience(audience)
        _check_expiration(expiration)
        did = self._space(space)
        state = self.state()
        proofs = self.client(state).proofs_for(did)
        caps = [{"with": did, "can": can} for can in parse_abilities(abilities)]
        grant = delegate(state.principal, audience, caps, proofs=proofs, expiration=expiration)
        with self.store.update() as fresh:
            fresh.add([grant], issued=True)
        return grant

    def delegations(self) -> list[HeldDelegation]:
        """Delegations we hold and the ones we issued (``revoked``: when we revoked it):
        those the store keeps (the next save prunes the others)."""
        state = self.state()
        state.prune()
        rows = [(d, False) for d in state.delegations] + [(d, True) for d in state.issued]
        return [_held(d, issued, state.revoked_at(d)) for d, issued in rows]

    def revoke(self, cid: str) -> str:
        """``ucan/revoke`` a delegation we issued or hold (by CID); the store notes when."""
        state = self.state()
        found = [d for d in [*state.issued, *state.delegations] if link_str(d.cid) == cid.strip()]
        if not found:
            raise ContentNotFoundError(f"no delegation {cid[:100]} in {self.store.path}")
        client = self.client(state)
        nb = {"ucan": found[0].cid}
        client.invoke_ok("ucan/revoke", client.signer.did, nb, proofs=found[:1], nonce=True)
        revoked = link_str(found[0].cid)
        with self.store.update() as fresh:
            fresh.revoked[revoked] = time.time()
        return revoked

    def import_proof(
        self,
        proof: str,
        *,
        key: str | None = None,
        source: str = "the proof given",
        key_source: str = "the key given",
    ) -> Delegation:
        """Add a ``delegation create --base64`` proof; ``key`` (``Mg...``) sets the agent key
        of a store that holds no delegations yet. Selects its space if none is selected.
        ``source``/``key_source`` name where they came from in error messages."""
        delegation = parse_proof(proof, source=source)
        with self.store.update() as state:
            if key is not None:
                _replace_key(state, Signer.parse(key, source=key_source))
            delegation.check(state.principal.did)
            delegation.check_links()
            state.add([delegation])
            if state.current_space is None and delegation.spaces():
                state.current_space = delegation.spaces()[0]
        return delegation


def _replace_key(state: AgentState, signer: Signer) -> None:
    if signer.did == state.principal.did:
        return
    if state.delegations or state.issued:
        raise ConfigurationError(
            "this agent store already holds delegations for another key; "
            "use another store (STORACHA_AGENT_STORE) to import a different key"
        )
    state.principal = signer


def _check_audience(audience: Any) -> None:
    """A did:key, or a did:mailto / did:web of printable ASCII (what the service reads)."""
    text = audience if isinstance(audience, str) else ""
    try:
        if not _DID_AUDIENCE.fullmatch(text):
            raise ProtocolError("not a DID")
        encode_did(text)
    except ProtocolError:
        raise InvalidInputError(f"not an agent DID (did:key:z6Mk...): {text[:100]!r}") from None


def _check_expiration(expiration: Any) -> None:
    """None (never) or whole Unix seconds in the future that JS reads exactly (2**53 - 1)."""
    if expiration is None:
        return
    if isinstance(expiration, bool) or not isinstance(expiration, int):
        raise InvalidInputError(f"the expiration must be whole Unix seconds, not {expiration!r}")
    if expiration <= time.time():
        raise InvalidInputError(f"the expiration {expiration} is not in the future")
    if expiration > MAX_EXPIRATION:
        raise InvalidInputError(f"the expiration {expiration} is past {MAX_EXPIRATION}")


def _space_name(given: Any) -> str:
    name = given.strip() if isinstance(given, str) else ""
    # isprintable() also refuses DEL, C1 controls and bidi overrides (U+202E), which
    # would rewrite the terminal line `space ls` prints
    if not name or len(name) > 200 or not name.isprintable():
        raise InvalidInputError("a space name is 1-200 printable characters")
    return name


def _held(d: Delegation, issued: bool, revoked: float | None = None) -> HeldDelegation:
    att = d.ucan.att
    return HeldDelegation(
        cid=link_str(d.cid),
        issuer=d.ucan.iss,
        audience=d.ucan.aud,
        abilities=tuple(str(c.get("can")) for c in att),
        resources=tuple(dict.fromkeys(str(c.get("with")) for c in att)),
        expiration=d.ucan.exp,
        issued=issued,
        revoked=revoked,
    )
