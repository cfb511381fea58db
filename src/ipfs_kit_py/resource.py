"""Resources are context managers: ``with X(...) as x:`` closes ``x`` on the way out."""

from __future__ import annotations

from typing import Self

__all__ = ["Closeable"]


class Closeable:
    """Mixin for a resource whose ``close()`` is idempotent: entering returns it,
    leaving closes it."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
