"""File system faults of the content API, answered as typed errors.

Packing, verifying and extracting CARs write temporary block stores and output files;
a missing directory, a refused write or a full disk is the caller's input meeting the
machine, so it surfaces as :class:`InputPathError` (or :class:`ResourceLimitError` for
no space left), never as a bare ``OSError``.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

from ipfs_kit_py.errors import InputPathError, ResourceLimitError

__all__ = ["typed_os_errors"]

_NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


@contextmanager
def typed_os_errors(doing: str) -> Iterator[None]:
    """Re-raise an ``OSError`` (or a NUL in a path) inside as a typed error about ``doing``."""
    try:
        yield
    except OSError as exc:
        why = exc.strerror or str(exc)
        if exc.errno in _NO_SPACE:
            raise ResourceLimitError(f"{doing}: {why}") from exc
        raise InputPathError(f"{doing}: {why}") from exc
    except ValueError as exc:
        if "null byte" not in str(exc):  # os calls say "embedded null byte"; others are bugs
            raise
        raise InputPathError(f"{doing}: a path contains a NUL character") from exc
