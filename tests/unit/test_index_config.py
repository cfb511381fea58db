"""Choosing the index: ``[index] url`` / ``IPFS_KIT_INDEX_URL`` / argument, the node id,
and a URL's password kept out of every message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipfs_kit_py.errors import ConfigurationError
from ipfs_kit_py.index_postgres import masked_url, pg_sql
from ipfs_kit_py.kit_config import KitConfig

URL = "postgresql://kit:s3cret@db.example:5432/ledger"


def _config(args: dict[str, object], file: dict[str, object], env: dict[str, str]) -> KitConfig:
    return KitConfig.from_sources(args, file, {"XDG_DATA_HOME": "/x", **env})


def test_the_index_url_comes_from_argument_file_or_env() -> None:
    assert _config({}, {}, {}).index_url is None
    assert _config({}, {}, {}).node_id == ""  # one machine: no node id needed
    assert _config({}, {}, {"IPFS_KIT_INDEX_URL": URL}).index_url == URL
    assert _config({}, {"index": {"url": URL}}, {}).index_url == URL
    chosen = _config({"index_url": URL + "2"}, {"index": {"url": URL}}, {})
    assert chosen.index_url == URL + "2"
    shared = _config({}, {"index": {"url": URL}}, {})
    assert shared.node_id == ""  # unset: the kit takes the one kept in its cache dir
    named = _config({}, {"index": {"url": URL, "node_id": "rack-2"}}, {})
    assert named.node_id == "rack-2"
    assert _config({}, {}, {"IPFS_KIT_NODE_ID": "ci-7"}).node_id == "ci-7"


def test_a_bad_index_url_is_a_configuration_error_without_its_password() -> None:
    with pytest.raises(ConfigurationError) as info:
        _config({}, {"index": {"url": "mysql://kit:s3cret@db/x"}}, {})
    assert "s3cret" not in str(info.value)
    with pytest.raises(ConfigurationError):
        _config({}, {"index": {"url": 42}}, {})
    with pytest.raises(ConfigurationError):
        _config({}, {"index": {"node_id": "a\nb"}}, {})


def test_a_shared_index_is_not_rebuilt_from_one_node(tmp_path: Path) -> None:
    from ipfs_kit_py.ipfs_kit import ipfs_kit

    kit = ipfs_kit(tmp_path / "absent.toml", cache_dir=tmp_path / "c", index_url=URL)
    with kit, pytest.raises(ConfigurationError, match="PostgreSQL"):
        kit.rebuild_index()
    assert "s3cret" not in repr(kit.config_summary())


@settings(max_examples=200, deadline=None)
@given(
    user=st.text(st.characters(blacklist_characters="@:/?#"), min_size=1, max_size=12),
    password=st.text(st.characters(blacklist_characters="@/?#"), min_size=4, max_size=24),
    host=st.from_regex(r"[a-z][a-z0-9.-]{0,20}", fullmatch=True),
    query=st.text(max_size=20),
)
def test_a_masked_url_never_shows_the_password(
    user: str, password: str, host: str, query: str
) -> None:
    url = f"postgresql://{user}:{password}@{host}/db?{query}"
    shown = masked_url(url)
    if re.fullmatch(r"(?:[^&=]+=[^&]*(?:&[^&=]+=[^&]*)*)?", query, re.DOTALL) or "@" not in query:
        assert shown == f"postgresql://{user}:***@{host}/db"
    else:  # no query libpq reads (refused anyway), and an @ in it: "pw@h/db?x@y" may
        # be the password "pw@h/db?x" (issue 14, second attack): more is hidden, never less
        assert shown.startswith(f"postgresql://{user}:***@")
        assert shown.split(":***@", 1)[1] in query  # what is shown comes from the query
    assert masked_url(f"postgresql://{host}/db") == f"postgresql://{host}/db"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["SELECT ", "?", "%", "cid", " = ", "'x'", ","]), max_size=30))
def test_parameters_translate_one_for_one(parts: list[str]) -> None:
    sql = "".join(parts)
    out = pg_sql(sql)
    assert out.count("%s") == sql.count("?")
    assert out.replace("%s", "").replace("%%", "%") == sql.replace("?", "")
