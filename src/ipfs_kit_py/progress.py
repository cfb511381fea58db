"""Transfer progress as a plug-in: one subscriber base and one event fan-out.

s3transfer's model: subscribers are attached per transfer, so progress bars never leak
into the core. Each hook takes ``**kwargs`` so later versions can pass more detail
without breaking a subclass. ``on_progress`` may be called from worker threads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["BaseSubscriber", "Subscribers", "TransferEvents"]


class BaseSubscriber:
    """Hooks for one transfer; subclass and override what you need (all are no-ops)."""

    def on_start(self, key: str, total: int | None, **kwargs: Any) -> None:
        """The transfer of ``key`` starts; ``total`` bytes if known."""

    def on_progress(self, key: str, nbytes: int, **kwargs: Any) -> None:
        """``nbytes`` more bytes of ``key`` were transferred."""

    def on_done(self, key: str, error: BaseException | None, **kwargs: Any) -> None:
        """The transfer ended, successfully when ``error`` is None."""


Subscribers = Sequence[BaseSubscriber]


class TransferEvents:
    """Fans one transfer's events out to its subscribers.

    A context manager: ``on_start`` on entry, ``on_done`` (with the exception, if one
    ends the block) on exit; :meth:`progress` in between.
    """

    def __init__(self, key: str, subscribers: Subscribers, total: int | None = None) -> None:
        self.key, self.total = key, total
        self.subscribers = tuple(subscribers)

    def __enter__(self) -> TransferEvents:
        for s in self.subscribers:
            s.on_start(self.key, self.total)
        return self

    def progress(self, nbytes: int) -> None:
        for s in self.subscribers:
            s.on_progress(self.key, nbytes)

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        for s in self.subscribers:
            s.on_done(self.key, exc)
