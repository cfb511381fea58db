"""DIDs and Ed25519 principals: ``did:key`` / ``did:web`` bytes, ``Mg...`` keys, signatures."""

from __future__ import annotations

import base64
import binascii
import functools
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from multiformats import multibase, varint

from ipfs_kit_py.errors import AuthenticationError, ConfigurationError, ProtocolError

__all__ = [
    "SIGNATURE_PREFIX",
    "Signer",
    "Verifier",
    "decode_did",
    "decode_signature",
    "did_key_public_key",
    "encode_did",
    "encode_signature",
    "verifier_for",
]

ED25519_PUB = 0xED
ED25519_PRIV = 0x1300
EDDSA_SIG = 0xD0ED
_PUB_PREFIX = varint.encode(ED25519_PUB)
_PRIV_PREFIX = varint.encode(ED25519_PRIV)
_OTHER_DID = varint.encode(0x0D1D)
SIGNATURE_PREFIX = varint.encode(EDDSA_SIG) + varint.encode(64)


def did_key_public_key(did: str) -> bytes:
    """Return the 32-byte Ed25519 public key of a ``did:key:z6Mk...``.

    Memoized for DIDs of an Ed25519 key's length (multiformats' base58 decoder costs
    ~1 ms: loading 280 stored delegations decoded the same few DIDs thousands of times);
    a refused DID is never cached."""
    if len(did) <= _KEY_DID_CHARS:
        return _cached_public_key(did)
    return _public_key(did)


_KEY_DID_CHARS = 64  # "did:key:z6Mk" + base58btc of 34 bytes is 56


@functools.lru_cache(maxsize=4096)
def _cached_public_key(did: str) -> bytes:
    return _public_key(did)


def _public_key(did: str) -> bytes:
    if not did.startswith("did:key:"):
        raise ProtocolError(f"not a did:key: {did[:80]!r}", backend="storacha")
    try:
        raw = multibase.decode(did[len("did:key:") :])
    except Exception as exc:
        raise ProtocolError(f"malformed did:key {did[:80]!r}: {exc}", backend="storacha") from exc
    if not raw.startswith(_PUB_PREFIX) or len(raw) != len(_PUB_PREFIX) + 32:
        raise ProtocolError(f"unsupported did:key (only Ed25519): {did[:80]!r}", backend="storacha")
    return bytes(raw[len(_PUB_PREFIX) :])


def encode_did(did: str) -> bytes:
    """Encode a DID string as UCAN bytes: did:key as its multicodec key, others 0x0d1d+text."""
    if did.startswith("did:key:"):
        return _PUB_PREFIX + did_key_public_key(did)
    if not did.startswith("did:"):
        raise ProtocolError(f"not a DID: {did[:80]!r}", backend="storacha")
    return _OTHER_DID + did[len("did:") :].encode()


def decode_did(data: bytes) -> str:
    """Decode UCAN DID bytes back to the DID string."""
    if data.startswith(_PUB_PREFIX) and len(data) == len(_PUB_PREFIX) + 32:
        return _key_did(bytes(data))
    if data.startswith(_OTHER_DID):
        return "did:" + data[len(_OTHER_DID) :].decode()
    raise ProtocolError(f"unsupported DID bytes: {data[:8].hex()}...", backend="storacha")


@functools.lru_cache(maxsize=4096)
def _key_did(data: bytes) -> str:
    """The ``did:key`` of Ed25519 public key bytes (memoized: see did_key_public_key)."""
    return "did:key:" + str(multibase.encode(data, "base58btc"))


def encode_signature(raw: bytes) -> bytes:
    """Wrap a 64-byte Ed25519 signature in its varsig prefix."""
    return SIGNATURE_PREFIX + raw


def decode_signature(sig: bytes) -> bytes:
    """Return the raw 64-byte Ed25519 signature from varsig bytes."""
    if not sig.startswith(SIGNATURE_PREFIX) or len(sig) != len(SIGNATURE_PREFIX) + 64:
        raise AuthenticationError(
            "unsupported or malformed signature (expected Ed25519 varsig)", backend="storacha"
        )
    return sig[len(SIGNATURE_PREFIX) :]


@dataclass(frozen=True)
class Verifier:
    """An Ed25519 public key, possibly known under another DID (e.g. a did:web)."""

    public_key: bytes
    did: str = ""

    def __post_init__(self) -> None:
        if not self.did:
            object.__setattr__(self, "did", self.key_did)

    @property
    def key_did(self) -> str:
        return "did:key:" + str(multibase.encode(_PUB_PREFIX + self.public_key, "base58btc"))

    def verify(self, payload: bytes, signature: bytes) -> None:
        """Raise :class:`AuthenticationError` unless ``signature`` (varsig) signs ``payload``."""
        raw = decode_signature(signature)
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(raw, payload)
        except InvalidSignature as exc:
            raise AuthenticationError(
                f"invalid signature by {self.did}", backend="storacha"
            ) from exc


def verifier_for(did: str) -> Verifier:
    """Return the verifier of a did:key (did:web needs its key resolved by the caller)."""
    return Verifier(did_key_public_key(did))


@dataclass(frozen=True)
class Signer:
    """An Ed25519 private key with its DID; repr never shows the key."""

    seed: bytes = field(repr=False)
    did: str = ""

    def __post_init__(self) -> None:
        if len(self.seed) != 32:
            raise ConfigurationError("an Ed25519 seed must be 32 bytes")
        if not self.did:
            object.__setattr__(self, "did", self.verifier.key_did)

    def __repr__(self) -> str:
        return f"Signer(did={self.did!r})"

    @classmethod
    def generate(cls) -> Signer:
        """Return a fresh random key."""
        key = Ed25519PrivateKey.generate()
        return cls(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))

    @classmethod
    def parse(cls, text: str, *, source: str = "STORACHA_KEY") -> Signer:
        """Parse a ``Mg...`` key (multibase base64pad of the Ed25519 key archive);
        ``source`` names where it came from in the error messages."""
        try:
            raw = multibase.decode(text.strip())
        except (ValueError, KeyError, binascii.Error) as exc:
            # not chained: the decoder's message may quote the private key
            raise ConfigurationError(f"{source} is not a valid key: {type(exc).__name__}") from None
        expected = len(_PRIV_PREFIX) + 32 + len(_PUB_PREFIX) + 32
        if not raw.startswith(_PRIV_PREFIX) or len(raw) != expected:
            raise ConfigurationError(f"{source} is not an Ed25519 key archive (Mg...)")
        signer = cls(bytes(raw[2:34]))
        if raw[34:36] != _PUB_PREFIX or raw[36:] != signer.verifier.public_key:
            raise ConfigurationError(f"{source}: public key does not match its private key")
        return signer

    @classmethod
    def from_archive(cls, archive: bytes) -> Signer:
        """Build from the binary key archive carried in ``fct.keys`` of an http/put task."""
        return cls.parse(str(multibase.encode(archive, "base64pad")))

    def format(self) -> str:
        """Return the ``Mg...`` text form of this key."""
        return str(multibase.encode(self.archive(), "base64pad"))

    def archive(self) -> bytes:
        """Return the binary key archive: 0x1300 + seed + 0xed + public key."""
        return _PRIV_PREFIX + self.seed + _PUB_PREFIX + self.verifier.public_key

    @property
    def verifier(self) -> Verifier:
        key = Ed25519PrivateKey.from_private_bytes(self.seed).public_key()
        return Verifier(key.public_bytes(Encoding.Raw, PublicFormat.Raw), self.did)

    def with_did(self, did: str) -> Signer:
        """Return this key acting under another DID (e.g. a did:web)."""
        return Signer(self.seed, did)

    def sign(self, payload: bytes) -> bytes:
        """Sign ``payload``; return varsig signature bytes."""
        raw = Ed25519PrivateKey.from_private_bytes(self.seed).sign(payload)
        return encode_signature(raw)


def b64url(data: bytes) -> str:
    """base64url without padding, as JWT segments use."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
