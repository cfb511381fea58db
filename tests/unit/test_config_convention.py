"""One config convention: parse_bool / parse_number / require, and env=None is os.environ."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.backends.kubo.backend import KuboConfig
from ipfs_kit_py.backends.s3.config import S3Config
from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.config import Sources, parse_bool, parse_number, require
from ipfs_kit_py.errors import ConfigurationError, NotConfiguredError

TRUE = ["1", "true", "yes", "on"]
FALSE = ["0", "false", "no", "off"]


def spellings(words: list[str]) -> st.SearchStrategy[str]:
    """Each word in any case, with surrounding blanks."""
    return st.tuples(st.sampled_from(words), st.booleans(), st.sampled_from(["", " ", "\n"])).map(
        lambda t: (t[0].upper() if t[1] else t[0]) + t[2]
    )


@settings(max_examples=60, deadline=None)
@given(spellings(TRUE), spellings(FALSE))
def test_parse_bool_known_spellings(yes: str, no: str) -> None:
    assert parse_bool("flag", yes) is True
    assert parse_bool("flag", no) is False
    assert parse_bool("flag", True) is True and parse_bool("flag", False) is False


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.text(max_size=12), st.integers(), st.floats(), st.none()))
def test_parse_bool_unknown_values_name_the_setting(value: Any) -> None:
    if str(value).strip().lower() in TRUE + FALSE:
        return
    with pytest.raises(ConfigurationError, match="the_flag must be true or false"):
        parse_bool("the_flag", value)


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.integers(-(10**6), 10**6), st.integers(-(10**6), 10**6).map(str)))
def test_parse_number_integers_and_bounds(value: int | str) -> None:
    number = int(value)
    if number >= 1:
        assert parse_number("n", value, int, minimum=1) == number
    else:
        with pytest.raises(ConfigurationError, match="n must be at least 1"):
            parse_number("n", value, int, minimum=1)
    if number > 0:
        assert parse_number("n", value, float, positive=True) == float(number)
    else:
        with pytest.raises(ConfigurationError, match="n must be positive"):
            parse_number("n", value, float, positive=True)


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.text(max_size=10), st.floats(allow_nan=True), st.booleans(), st.none()))
def test_parse_number_rejects_what_is_not_a_number(value: Any) -> None:
    try:
        expected = float(value)
    except (TypeError, ValueError):
        expected = None
    if isinstance(value, bool) or expected is None or math.isnan(expected):
        with pytest.raises(ConfigurationError, match="setting must be a number"):
            parse_number("setting", value, float)
    else:
        assert parse_number("setting", value, float) == expected


def test_require_says_what_to_set() -> None:
    assert require("x", "set X") == "x"
    for missing in (None, ""):
        with pytest.raises(NotConfiguredError, match="set X"):
            require(missing, "set X")


def test_sources_order_and_env_none_is_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_SETTING", "env")
    assert Sources.of().get("k", "SOME_SETTING") == "env"
    assert Sources.of(section={"k": "file"}).get("k", "SOME_SETTING") == "file"
    assert Sources.of({"k": "arg"}, {"k": "file"}).get("k", "SOME_SETTING") == "arg"
    assert Sources.of(env={}).get("k", "SOME_SETTING") is None
    assert not Sources.of({"k": None}, {}, {}).given("SOME_SETTING")


def test_every_backend_config_reads_os_environ_when_env_is_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "env-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    monkeypatch.setenv("STORACHA_KEY", "MgKey")
    monkeypatch.setenv("IPFS_API_URL", "http://127.0.0.1:45001")
    assert S3Config.from_sources().configured
    assert StorachaConfig.from_sources().key is not None
    assert KuboConfig.from_sources().api_url == "http://127.0.0.1:45001"


@pytest.mark.parametrize(
    ("build", "setting"),
    [
        (lambda: KuboConfig.from_sources({"offline": "maybe"}, {}, {}), "kubo offline"),
        (
            lambda: StorachaConfig.from_sources({"filecoin_offer": "maybe"}, {}, {}),
            "storacha filecoin_offer",
        ),
        (lambda: S3Config.from_sources({"max_retries": "many"}, {}, {}), "S3 max_retries"),
        (lambda: StorachaConfig.from_sources({"timeout": "-1"}, {}, {}), "storacha timeout"),
    ],
)
def test_unknown_values_raise_naming_the_setting(build: Any, setting: str) -> None:
    with pytest.raises(ConfigurationError, match=setting):
        build()
