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
