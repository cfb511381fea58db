"""An error's text may come from a hostile service: it reaches the terminal escaped."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ipfs_kit_py.cli.console import print_error, terminal_safe
from ipfs_kit_py.errors import BackendError


def test_an_escape_sequence_in_an_error_is_shown_escaped(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    print_error(BackendError("service said \x1b]0;owned\x07 and \x1b[2J\nsecond line"))
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert err == "Error: service said \\x1b]0;owned\\x07 and \\x1b[2J\nsecond line\n"


def test_json_errors_keep_the_exact_text(capsys: pytest.CaptureFixture[str]) -> None:
    print_error(BackendError("a\x1bb"), as_json=True)
    assert json.loads(capsys.readouterr().out)["error"] == "a\x1bb"  # JSON escapes it itself


@given(st.text())
def test_terminal_safe_leaves_only_printable_text_and_line_breaks(text: str) -> None:
    shown = terminal_safe(text)
    assert all(c.isprintable() or c == "\n" for c in shown)
    assert shown.count("\n") == text.count("\n")
    if all(c.isprintable() or c == "\n" for c in text):
        assert shown == text
