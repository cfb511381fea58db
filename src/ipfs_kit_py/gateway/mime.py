"""Content-Type of a deserialized file: from its name, else from its first bytes."""

from __future__ import annotations

import mimetypes

__all__ = ["SNIFF_BYTES", "content_type", "sniff", "type_from_name"]

SNIFF_BYTES = 512
_BINARY = "application/octet-stream"
_TEXT = "text/plain; charset=utf-8"
# magic prefixes, as Go's http.DetectContentType (what kubo uses) reads them
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b\x08", "application/x-gzip"),
    (b"%!PS-Adobe-", "application/postscript"),
    (b"\x00asm", "application/wasm"),
    (b"OggS\x00", "application/ogg"),
    (b"ID3", "audio/mpeg"),
    (b"BM", "image/bmp"),
    (b"\x1aE\xdf\xa3", "video/webm"),
    (b"Rar!\x1a\x07", "application/x-rar-compressed"),
    (b"wOFF", "font/woff"),
    (b"wOF2", "font/woff2"),
)
_HTML_TAGS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<title", b"<div")
_CHARSET_TYPES = frozenset(("text/plain", "text/css", "text/javascript", "text/csv"))


def content_type(name: str, head: bytes) -> str:
    """The media type of a file called ``name`` (may be empty) starting with ``head``."""
    return type_from_name(name) or sniff(head)


def type_from_name(name: str) -> str | None:
    """The media type a file name's extension says, if any."""
    guessed, _ = mimetypes.guess_type(name, strict=False) if name else (None, None)
    return _with_charset(guessed) if guessed else None


def _with_charset(media: str) -> str:
    if media in _CHARSET_TYPES:  # as kubo names them (Go's mime table)
        return f"{media}; charset=utf-8"
    return media


def sniff(head: bytes) -> str:
    """The media type the first bytes of a file suggest (``text/plain`` for UTF-8)."""
    head = head[:SNIFF_BYTES]
    for magic, media in _MAGIC:
        if head.startswith(magic):
            return media
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    text = head.lstrip(b"\t\n\x0c\r ")
    if text[:14].lower().startswith(_HTML_TAGS):
        return "text/html; charset=utf-8"
    if text.startswith(b"<?xml"):
        return "text/xml; charset=utf-8"
    if _looks_like_text(head):
        return _TEXT
    return _BINARY


_BINARY_BYTES = frozenset((*range(0x00, 0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20)))


def _looks_like_text(head: bytes) -> bool:
    """No control byte that marks binary data (Go's rule: any other byte is text)."""
    return _BINARY_BYTES.isdisjoint(head)
