"""StorachaBackend.iter_uploads follows the service's cursors, not its page sizes.

Page shapes the local service never produces (a page capped below the size asked for,
cursors in a cycle) come from a scripted ``list_uploads``; the real service's paging is
tested in ``tests/integration/test_storacha_client.py``.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.backends.storacha.backend import StorachaBackend, UploadPage
from ipfs_kit_py.backends.storacha.config import StorachaConfig


class ScriptedPages(StorachaBackend):
    """``list_uploads`` answers from ``pages``: cursor -> (records, next cursor)."""

    def __init__(self, pages: dict[str | None, tuple[list[int], str | None]]) -> None:
        super().__init__(StorachaConfig())
        self.pages = pages
        self.asked: list[str | None] = []

    def list_uploads(self, cursor: str | None = None, size: int | None = None) -> UploadPage:
        self.asked.append(cursor)
        records, after = self.pages[cursor]
        return UploadPage([{"root": n} for n in records], after, len(records))


def test_a_page_shorter_than_asked_is_not_the_end() -> None:
    backend = ScriptedPages({None: ([1, 2], "a"), "a": ([3, 4], "b"), "b": ([5], None)})
    assert [r["root"] for r in backend.iter_uploads(page_size=100)] == [1, 2, 3, 4, 5]


def test_a_cursor_seen_before_ends_the_walk() -> None:
    backend = ScriptedPages({None: ([1], "a"), "a": ([2], "b"), "b": ([3], "a")})
    assert [r["root"] for r in backend.iter_uploads()] == [1, 2, 3]
    assert backend.asked == [None, "a", "b"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.integers(), max_size=4), min_size=1, max_size=8))
def test_every_page_is_walked_once(pages: list[list[int]]) -> None:
    cursors: list[str | None] = [None, *[str(i) for i in range(1, len(pages))], None]
    script = {cursors[i]: (page, cursors[i + 1]) for i, page in enumerate(pages)}
    walked = [r["root"] for r in ScriptedPages(script).iter_uploads(page_size=2)]
    assert walked == [n for page in pages for n in page]
