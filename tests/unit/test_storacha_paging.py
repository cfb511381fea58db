"""StorachaBackend.iter_uploads follows the service's cursors, not its page sizes.

Page shapes the local service never produces (a page capped below the size asked for,
cursors in a cycle) come from scripted ``upload/list`` answers; the real service's
paging is tested in ``tests/integration/test_storacha_client.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.backends.storacha.backend import StorachaBackend
from ipfs_kit_py.backends.storacha.config import StorachaConfig

Script = dict[str | None, tuple[list[int], str | None]]


class ScriptedService:
    """Answers ``upload/list`` from ``pages``: cursor -> (records, next cursor); an
    unknown cursor is past the end (an empty page), as the service answers it."""

    space = "did:key:z6MkScriptedSpace"

    def __init__(self, pages: Script) -> None:
        self.pages = pages

    def invoke_ok(self, can: str, with_: str, nb: Mapping[str, Any], **_: Any) -> Any:
        assert can == "upload/list" and with_ == self.space
        records, after = self.pages.get(nb.get("cursor"), ([], None))
        records = records[: nb.get("size", len(records))]
        answer: dict[str, Any] = {"results": [{"root": n} for n in records]}
        answer["size"] = len(records)
        if after is not None:
            answer["cursor"] = after
        return answer

    def close(self) -> None:
        pass


def walked(pages: Script, page_size: int = 100) -> list[int]:
    backend = StorachaBackend(StorachaConfig())
    backend.client = ScriptedService(pages)  # type: ignore[assignment]
    return [r["root"] for r in backend.iter_uploads(page_size=page_size)]


def test_a_page_shorter_than_asked_is_not_the_end() -> None:
    pages: Script = {None: ([1, 2], "a"), "a": ([3, 4], "b"), "b": ([5], "c")}
    assert walked(pages) == [1, 2, 3, 4, 5]  # "c": the cursor a last page still carries


def test_a_cursor_seen_before_ends_the_walk() -> None:
    pages: Script = {None: ([1], "a"), "a": ([2], "b"), "b": ([3], "a")}
    assert walked(pages) == [1, 2, 3]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.integers(), min_size=1, max_size=4), min_size=1, max_size=8))
def test_every_page_is_walked_once(pages: list[list[int]]) -> None:
    cursors: list[str | None] = [None, *[str(i) for i in range(1, len(pages) + 1)]]
    script: Script = {cursors[i]: (page, cursors[i + 1]) for i, page in enumerate(pages)}
    assert walked(script, page_size=4) == [n for page in pages for n in page]
