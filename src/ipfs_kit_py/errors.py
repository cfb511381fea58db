"""The exception tree of ipfs_kit_py: every public call raises one of these.

::

    IpfsKitError                   root: catch this to catch everything we raise
    ├── ConfigurationError         invalid configuration (bad value, unreadable file)
    │   ├── NotConfiguredError     a backend is used that has no configuration
    │   └── MetadataIndexError     the index cannot be read or written (corrupt, locked)
    │       └── IndexCorruptError  the index file is damaged (the message names it)
    ├── InvalidInputError          a malformed argument (also a ValueError)
    │   ├── InvalidCIDError        a value that is not a CID
    │   ├── InputPathError         a local path that cannot be used
    │   ├── UnsafePathError        a name that would escape its target directory
    │   ├── NotADirectoryPathError a path goes through a file as if it were a directory
    │   └── NotAFileError          a directory or symlink where a file is needed
    ├── ContentNotFoundError       no tier or backend holds the content (also a LookupError)
    │   └── PathNotFoundError      a path inside a DAG names no entry
    ├── ContentMismatchError       bytes that do not hash to the CID they claim
    ├── CARFormatError             a malformed or truncated CAR
    ├── ResourceLimitError         refused: the work would pass a budget (bytes, entries)
    ├── LastCopyError              refused: it would remove the last known copy
    ├── LeaseLostError             a policy worker's lease was taken over: nothing recorded
    └── BackendError               a backend failed (carries ``backend`` and ``locator``)
        ├── BackendUnavailableError    could not be reached (down, refused, reset)
        │   ├── BackendTimeoutError    did not answer in time (every backend, one type)
        │   └── CertificateError       its TLS certificate is not trusted (says how to)
        ├── AuthenticationError        rejected our credentials or their signature
        │   └── SpaceNotProvisionedError  a Storacha space has no storage provider yet
        ├── BucketNotFoundError        an S3 bucket does not exist
        └── ProtocolError              an answer the protocol does not allow

A backend maps its engine's exceptions (httpx, obstore, ``OSError``) into this tree by
type first (``ipfs_kit_py.backends.engine_errors``) and chains them: ``exc.__cause__`` is
the engine's exception, except where that would carry a secret (the raise site says so).
The CLI maps the tree to exit codes (``ipfs_kit_py.cli.main.exit_code_for``); the dict face
(``results.py``) turns an error into ``{"success": False, "error": str(exc),
"error_type": type(exc).__name__}``. Messages never carry secrets.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "BackendError",
    "BackendTimeoutError",
    "BackendUnavailableError",
    "BucketNotFoundError",
    "CARFormatError",
    "CertificateError",
    "ConfigurationError",
    "ContentMismatchError",
    "ContentNotFoundError",
    "InputPathError",
    "InvalidCIDError",
    "InvalidInputError",
    "IpfsKitError",
    "LastCopyError",
    "LeaseLostError",
    "MetadataIndexError",
    "NotADirectoryPathError",
    "NotAFileError",
    "NotConfiguredError",
    "PathNotFoundError",
    "ProtocolError",
    "SpaceNotProvisionedError",
    "UnsafePathError",
]


class IpfsKitError(Exception):
    """Root of every error raised by ipfs_kit_py."""


class ConfigurationError(IpfsKitError):
    """Configuration is invalid (bad value, unreadable config file)."""


class NotConfiguredError(ConfigurationError):
    """A backend is used that has no configuration; the message says what to set."""


class MissingDependencyError(ConfigurationError, ImportError):
    """An optional part is used whose extra is not installed; the message names the extra."""


class InvalidInputError(IpfsKitError, ValueError):
    """An argument is malformed: an option out of range, a bad bucket name or key."""


class InvalidCIDError(InvalidInputError):
    """A string or bytes value is not a valid CID."""


class InputPathError(InvalidInputError):
    """A local path cannot be used: missing, unreadable, wrong kind, or a symlink loop."""


class UnsafePathError(InvalidInputError):
    """A name would escape its target directory (``..``, absolute, NUL, symlink)."""


class ContentNotFoundError(IpfsKitError, LookupError):
    """No reachable tier or backend holds the requested content.

    Raised by a backend, ``backend`` is its kind and ``locator`` says where it looked
    (a path, ``s3://bucket/key``, a URL, a space DID); both are ``""`` when unknown.
    """

    def __init__(self, message: str, *, backend: str = "", locator: str = "") -> None:
        super().__init__(message)
        self.backend = backend
        self.locator = locator


class PathNotFoundError(ContentNotFoundError):
    """A path inside a DAG (``<cid>/a/b``) names an entry its directory does not have."""


class NotADirectoryPathError(InvalidInputError):
    """A path inside a DAG goes through a file or symlink as if it were a directory."""


class NotAFileError(InvalidInputError):
    """A CID or path names a directory or symlink where a file's bytes are asked for."""


class ContentMismatchError(IpfsKitError):
    """Bytes do not hash to the CID they claim to be; the message names both."""

    def __init__(self, message: str, *, cid: str = "", actual: str = "") -> None:
        super().__init__(message)
        self.cid = cid
        self.actual = actual


class CARFormatError(IpfsKitError):
    """A CAR stream is malformed or truncated."""


class ResourceLimitError(IpfsKitError):
    """Refused: the work would pass a budget (bytes, free disk space, entries, depth).

    Raised before anything is written where the need is known in advance (extracting a
    DAG that declares more bytes than the disk holds), else as soon as the budget is hit.
    """


class LastCopyError(IpfsKitError):
    """Refused: the operation would remove the last known copy of kept content."""


class LeaseLostError(IpfsKitError):
    """A policy worker's lease on a CID was taken over by another worker (it was paused
    past its expiry): the copy it made is not recorded, and is removed unless it may
    be another's (the new holder finishes the job)."""


class MetadataIndexError(ConfigurationError):
    """The metadata index cannot be read or written: corrupt, unwritable, or locked too long.

    A :class:`ConfigurationError`: the index path names no usable index (exit code 3)."""


class IndexCorruptError(MetadataIndexError):
    """The metadata index file is damaged or not a SQLite database; the message names it
    (exit code 3; ``ipfs-kit index rebuild`` rebuilds it from the tiers)."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class BackendError(IpfsKitError):
    """A backend answered with an error that is not one of the more specific kinds.

    ``backend`` is the kind of backend (``"kubo"``, ``"s3"``, ``"gateway"``,
    ``"storacha"``, ...) and ``locator`` where the failed operation pointed (an
    ``s3://bucket/key``, a URL, a space DID); ``""`` when unknown.
    """

    def __init__(self, message: str, *, backend: str = "", locator: str = "") -> None:
        super().__init__(message)
        self.backend = backend
        self.locator = locator


class BackendUnavailableError(BackendError):
    """A backend could not be reached in bounded time (down, refused, reset)."""


class BackendTimeoutError(BackendUnavailableError):
    """A backend did not answer in time: a connect, read or write timeout, or a receipt
    that never came. Every backend raises this one type for a timeout."""


class CertificateError(BackendUnavailableError):
    """A backend's TLS certificate was not trusted (self-signed, an unknown CA, expired,
    another host's): the message names the reason and the CA-bundle setting to trust it."""


class AuthenticationError(BackendError):
    """A backend rejected our credentials or their signature."""


class SpaceNotProvisionedError(AuthenticationError):
    """A Storacha space has no storage provider: provision it for an account first."""


class BucketNotFoundError(BackendError):
    """An S3 bucket does not exist."""


class ProtocolError(BackendError):
    """A server answered something the protocol does not allow (bad receipt, bad signature)."""
