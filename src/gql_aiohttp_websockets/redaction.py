"""What the package's log lines and error messages may show of secrets.

The ``connection_init`` payload (often a token) is never shown; URLs lose
their user-info, query and fragment; received frames are cut to a bounded
length.
"""

from __future__ import annotations

from yarl import URL

from .protocols.wording import elide

__all__ = ["INIT_NOT_LOGGED", "frame_for_log", "safe_url"]

#: How a sent ``connection_init`` appears in the debug log.
INIT_NOT_LOGGED = "connection_init (payload not logged)"


def safe_url(url: str) -> str:
    """Return ``url`` without user-info, query or fragment, for messages and logs.

    Credentials may sit in the user-info or the query string.  A URL that
    yarl cannot parse (a port out of range, say) is cut by hand, so that the
    message about it can still be written.
    """
    try:
        parsed = URL(url)
        return str(parsed.with_user(None).with_query(None).with_fragment(None))
    except (TypeError, ValueError):
        scheme, separator, rest = url.rpartition("://")
        authority, slash, path = rest.split("?", 1)[0].split("#", 1)[0].partition("/")
        return f"{scheme}{separator}{authority.rpartition('@')[2]}{slash}{path}"


def frame_for_log(frame: str, *, secret: bool = False) -> str:
    """Return what the debug log shows of a frame: elided, or nothing if ``secret``."""
    return INIT_NOT_LOGGED if secret else elide(frame)
