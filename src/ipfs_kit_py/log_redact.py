"""No secret in a log line: strip URL queries and ``user:password@`` from HTTP libraries' logs.

httpx logs every request URL at INFO, and a presigned PUT URL's query is a credential;
httpcore logs connection details at DEBUG. :func:`install` puts :class:`RedactURLs` on
those loggers (a logger's filters see only its own records, so each is named).
"""

from __future__ import annotations

import logging
import re

__all__ = ["HTTP_LOGGERS", "RedactURLs", "install", "redact"]

HTTP_LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "botocore",
    "urllib3.connectionpool",
)
_URL = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s@'\"]*@)?(?P<rest>[^\s'\"]*)"
)


def redact(text: str) -> str:
    """``text`` with every URL's userinfo and query (``?...``) replaced by ``***``."""

    def one(match: re.Match[str]) -> str:
        rest = match["rest"]
        path, sep, _ = rest.partition("?")
        return (
            match["scheme"] + ("***@" if match["userinfo"] else "") + path + ("?***" if sep else "")
        )

    return _URL.sub(one, text)


class RedactURLs(logging.Filter):
    """Rewrite a record whose message holds a URL query or userinfo; never drop it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: left to logging to report
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = RedactURLs()


def install() -> None:
    """Put the filter on every HTTP library logger; idempotent."""
    for name in HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
