"""Network engine exceptions mapped into :mod:`ipfs_kit_py.errors` by type.

httpx's model: a timeout of any phase (connect, read, write, pool) is one
:class:`BackendTimeoutError`; any other transport failure (refused, reset, closed
mid-answer) is a :class:`BackendUnavailableError`. Callers chain the engine's
exception (``raise mapped from exc``) and consult message text only for what no type
says (obstore's ``GenericError``, see ``backends/s3/errors.py``).
"""

from __future__ import annotations

import httpx

from ipfs_kit_py.errors import BackendError, BackendTimeoutError, BackendUnavailableError

__all__ = ["TIMEOUT_TYPES", "UNAVAILABLE_TYPES", "transport_error"]

TIMEOUT_TYPES: tuple[type[BaseException], ...] = (httpx.TimeoutException, TimeoutError)
UNAVAILABLE_TYPES: tuple[type[BaseException], ...] = (httpx.TransportError, ConnectionError)


def transport_error(
    exc: BaseException, *, backend: str, locator: str, action: str
) -> BackendError | None:
    """The error for ``exc`` met during ``action`` on ``locator``, or None if not a network one.

    ``action`` reads as a phrase: ``"GET /ipfs/<cid>"``, ``"cat"``, ``"upload"``.
    """
    where = f"{backend} at {locator}" if locator else backend
    if isinstance(exc, TIMEOUT_TYPES):
        return BackendTimeoutError(
            f"{where} did not answer {action} in time ({type(exc).__name__})",
            backend=backend,
            locator=locator,
        )
    if isinstance(exc, UNAVAILABLE_TYPES):
        reached = not isinstance(exc, httpx.ConnectError | ConnectionRefusedError)
        phrase = f"connection to {where} failed during" if reached else f"cannot reach {where} for"
        return BackendUnavailableError(
            f"{phrase} {action}: {type(exc).__name__}: {exc}", backend=backend, locator=locator
        )
    return None
