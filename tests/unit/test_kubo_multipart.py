"""The streamed multipart encoding kubo's add and dag/import read (no server)."""

from __future__ import annotations

import email.parser
import email.policy
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote_plus

import pytest

from ipfs_kit_py.backends.kubo.multipart import (
    Part,
    encode_multipart,
    iter_file,
    new_boundary,
    path_parts,
)
from ipfs_kit_py.errors import InputPathError


def _parse(body: bytes, boundary: str) -> list[tuple[str, str, bytes]]:
    head = f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    parts = []
    for part in message.iter_parts():
        disposition = part["Content-Disposition"]
        filename = unquote_plus(disposition.split('filename="')[1].rstrip('"'))
        payload = part.get_payload(decode=True) or b""
        parts.append((filename, part.get_content_type(), payload))
    return parts


def test_encode_multipart_round_trips_names_types_and_bytes() -> None:
    boundary = new_boundary()
    parts = [
        Part("dir", "application/x-directory"),
        Part("dir/a b+ü.txt", body=[b"hello ", b"", b"world\r\n--not-a-boundary"]),
        Part("dir/empty"),
    ]
    body = b"".join(encode_multipart(parts, boundary))
    assert _parse(body, boundary) == [
        ("dir", "application/x-directory", b""),
        ("dir/a b+ü.txt", "application/octet-stream", b"hello world\r\n--not-a-boundary"),
        ("dir/empty", "application/octet-stream", b""),
    ]
    assert b'filename="dir%2Fa+b%2B%C3%BC.txt"' in body  # Go's url.QueryEscape form


def test_encode_multipart_streams_the_body_lazily() -> None:
    pulled: list[bytes] = []

    def body() -> Iterator[bytes]:
        for chunk in (b"a", b"b"):
            pulled.append(chunk)
            yield chunk

    stream = encode_multipart([Part("f", body=body())], new_boundary())
    next(stream)  # the part header
    assert pulled == []
    assert next(stream) == b"a"
    assert pulled == [b"a"]


def test_path_parts_walks_sorted_parents_first_and_skips_hidden(tmp_path: Path) -> None:
    root = tmp_path / "top"
    (root / "b" / "c").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"a")
    (root / "b" / "c" / "d.txt").write_bytes(b"d")
    (root / ".hidden").write_bytes(b"h")
    os.symlink("a.txt", root / "link")
    names = [(p.name, p.content_type) for p in path_parts(root)]
    assert names == [
        ("top", "application/x-directory"),
        ("top/a.txt", "application/octet-stream"),
        ("top/b", "application/x-directory"),
        ("top/b/c", "application/x-directory"),
        ("top/b/c/d.txt", "application/octet-stream"),
        ("top/link", "application/symlink"),
    ]
    assert "top/.hidden" in [p.name for p in path_parts(root, hidden=True)]
    link = next(p for p in path_parts(root) if p.name == "top/link")
    assert b"".join(link.body) == b"a.txt"


def test_iter_file_reads_in_bounded_chunks(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"0123456789")
    assert list(iter_file(path, read_size=4)) == [b"0123", b"4567", b"89"]


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputPathError, match="no such file"):
        list(path_parts(tmp_path / "missing"))
    with pytest.raises(InputPathError, match="cannot read"):
        list(iter_file(tmp_path / "missing"))
