"""The exception tree of ipfs_kit_py: every public call raises one of these.

The dict face (``results.py``) turns them into ``{"success": False, "error": str(exc),
"error_type": type(exc).__name__}``. Messages never carry secrets.
"""

from __future__ import annotations


class IpfsKitError(Exception):
    """Root of every error raised by ipfs_kit_py."""


class ConfigurationError(IpfsKitError):
    """Configuration is invalid (bad value, unreadable config file)."""


class NotConfiguredError(ConfigurationError):
    """A backend is used that has no configuration; the message says what to set."""


class InvalidInputError(IpfsKitError, ValueError):
    """An argument is malformed: an option out of range, a bad bucket name or key."""


class InvalidCIDError(InvalidInputError):
    """A string or bytes value is not a valid CID."""


class InputPathError(InvalidInputError):
    """A local path cannot be used: missing, unreadable, wrong kind, or a symlink loop."""


class UnsafePathError(InvalidInputError):
    """A name would escape its target directory (``..``, absolute, NUL, symlink)."""


class ContentNotFoundError(IpfsKitError, LookupError):
    """No reachable tier or backend holds the requested content."""


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


class BackendError(IpfsKitError):
    """A backend answered with an error that is not one of the more specific kinds."""


class BackendUnavailableError(BackendError):
    """A backend could not be reached in bounded time (down, refused, timed out)."""


class AuthenticationError(BackendError):
    """A backend rejected our credentials or their signature."""


class BucketNotFoundError(BackendError):
    """An S3 bucket does not exist."""


class ProtocolError(BackendError):
    """A server answered something the protocol does not allow (bad receipt, bad signature)."""


class MetadataIndexError(IpfsKitError):
    """The metadata index cannot be read or written: corrupt, unwritable, or locked too long."""


class LastCopyError(IpfsKitError):
    """Refused: the operation would remove the last known copy of kept content."""
