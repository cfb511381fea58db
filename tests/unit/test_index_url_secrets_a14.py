"""The index URL's password is in no shown form of the URL, however it is written (issue
14 attack): unencoded ``?``, ``/``, ``@``, ``#``, ``%``, or in the query."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.index_postgres import hide_secrets, masked_url, url_secrets

# printable ASCII without "Z" (the marker) and without whitespace
_CHARS = st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters="Z")


@settings(max_examples=300, deadline=None)
@given(before=st.text(_CHARS, max_size=12), after=st.text(_CHARS, max_size=12))
def test_a_password_is_never_shown(before: str, after: str) -> None:
    password = f"{before}Z{after}"  # the only Z anywhere: shown means leaked
    urls = [f"postgresql://kit:{password}@db.internal:5432/ipfs_kit"]
    if re.search(r"@[^/?]*[/?]", password):
        # an unencoded @ followed by / or ? makes what follows the @ a host and a path or
        # query, for libpq too (it connects there): such a password must be encoded
        urls.pop()
    if "&" not in password:  # in a query an unencoded & ends the value: no password then
        urls.append(f"postgres://kit@db.internal/ipfs_kit?sslmode=require&password={password}")
    for url in urls:
        assert "Z" not in masked_url(url)
        secrets = url_secrets(url)
        echoed = f'invalid token: "{password}" in URI: "{url}"'  # as libpq repeats them
        assert "Z" not in hide_secrets(echoed, secrets).replace(masked_url(url), "")


def test_what_a_masked_url_keeps() -> None:
    assert masked_url("postgresql://kit:pw@db:5432/x?sslmode=require") == (
        "postgresql://kit:***@db:5432/x"
    )
    assert masked_url("postgresql://kit@db/x") == "postgresql://kit@db/x"
    assert masked_url("postgresql://db/x?password=pw") == "postgresql://db/x"
    assert masked_url("postgresql://kit:a?b@c@db/x") == "postgresql://kit:***@db/x"


@settings(max_examples=100, deadline=None)
@given(scheme=st.sampled_from(["mysql", "sqlite", "http", "postgresq"]), password=st.text(_CHARS))
def test_a_refused_index_url_is_named_without_its_password(scheme: str, password: str) -> None:
    import pytest

    from ipfs_kit_py.errors import ConfigurationError
    from ipfs_kit_py.kit_config import KitConfig

    for url in (f"{scheme}://kit:Z{password}@db/x", f"{scheme}://db/x?password=Z{password}"):
        with pytest.raises(ConfigurationError) as caught:
            KitConfig.from_sources({"index_url": url}, {}, {})
        assert "Z" not in str(caught.value)


# -- second attack: an unencoded @ followed by / or ? in the password ---------------------

_NO_EQUALS = st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters="Z=&")


@settings(max_examples=300, deadline=None)
@given(
    before=st.text(_NO_EQUALS, max_size=12),
    middle=st.sampled_from(["@h/d?x", "@ss/w?rd#", "@a?b", "@x/y", "?@/", "@"]),
    after=st.text(_NO_EQUALS, max_size=12),
)
def test_a_password_holding_at_slash_and_query_is_never_shown(
    before: str, middle: str, after: str
) -> None:
    """``kit:p@ss/w?rd#1@db/x`` was shown as ``kit:***@ss/w`` (a piece of the password as
    the host); a query is key=value pairs, so what ends the password is the last ``@``."""
    password = f"{before}{middle}Z{after}"
    url = f"postgresql://kit:{password}@db.internal:5432/ipfs_kit"
    shown = masked_url(url)
    assert "Z" not in shown and shown.endswith("@db.internal:5432/ipfs_kit")
    assert password in url_secrets(url)


def test_an_unparsable_url_is_refused_without_a_piece_of_its_password() -> None:
    import pytest

    from ipfs_kit_py.errors import ConfigurationError
    from ipfs_kit_py.index import open_index

    with pytest.raises(ConfigurationError) as caught:
        open_index("postgresql://kit:p@ss/w?rd#1@127.0.0.1:1/x", node_id="n")
    message = str(caught.value)
    assert "kit:***@127.0.0.1:1/x" in message
    for piece in ("ss/w", "rd#1", "p@ss"):
        assert piece not in message


def _psycopg_logger_names() -> set[str]:
    """Every logger name psycopg and psycopg_pool log on, read from their source."""
    import importlib.util
    import re
    from pathlib import Path

    names: set[str] = set()
    for package in ("psycopg", "psycopg_pool"):
        spec = importlib.util.find_spec(package)
        assert spec is not None and spec.origin is not None
        root = Path(spec.origin).parent
        for source in root.rglob("*.py"):
            text = source.read_text(encoding="utf-8")
            names.update(re.findall(r"getLogger\(\"([\w.]+)\"\)", text))
            if "getLogger(__name__)" in text:
                module = source.relative_to(root.parent).with_suffix("").parts
                names.add(".".join(module[:-1] if module[-1] == "__init__" else module))
    return names


def test_no_psycopg_logger_shows_an_index_password() -> None:
    """A filter sees only its own logger's records: each psycopg logger carries one."""
    import logging

    from ipfs_kit_py import index_postgres

    index_postgres._HIDE.add("postgresql://user:Sekr1tPw0rd@127.0.0.1:1/db")
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    names = _psycopg_logger_names()
    assert {"psycopg", "psycopg.pool", "psycopg.pq"} <= names
    for name in sorted(names):
        logger = logging.getLogger(name)
        handler = Keep()
        logger.addHandler(handler)
        try:
            logger.warning("error connecting with password=%s", "Sekr1tPw0rd")
        finally:
            logger.removeHandler(handler)
    assert len(seen) == len(names)
    assert not [line for line in seen if "Sekr1tPw0rd" in line], names
