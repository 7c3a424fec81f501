"""``-d``: the package's debug logs on stderr, and what the run is about to do, without secrets.

The transport's own logs never show the init payload and cut frames short
(:mod:`gql_aiohttp_websockets.redaction`); the summary logged here names the
headers but not their values, and the URL without its query or user-info.
"""

from __future__ import annotations

import logging
from typing import TextIO

from ..redaction import safe_url
from .invocation import Invocation

__all__ = ["LOGGER_NAME", "disable_debug_logging", "enable_debug_logging", "log_invocation"]

#: The logger of the command line, under the package's.
LOGGER_NAME = "gql_aiohttp_websockets.cli"
_PACKAGE_LOGGER = "gql_aiohttp_websockets"

log = logging.getLogger(LOGGER_NAME)


def enable_debug_logging(stream: TextIO) -> logging.Handler:
    """Send the package's log records, DEBUG and up, to ``stream``.

    Returns:
        The handler added, for the caller to remove.
    """
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        logging.Formatter("%(asctime)s.%(msecs)03d %(name)s %(message)s", datefmt="%H:%M:%S")
    )
    package = logging.getLogger(_PACKAGE_LOGGER)
    package.addHandler(handler)
    package.setLevel(logging.DEBUG)
    return handler


def disable_debug_logging(handler: logging.Handler) -> None:
    """Undo :func:`enable_debug_logging`."""
    package = logging.getLogger(_PACKAGE_LOGGER)
    package.removeHandler(handler)
    package.setLevel(logging.NOTSET)


def log_invocation(invocation: Invocation) -> None:
    """Log what the run will do: URL, offer, header names, operation; no secret value."""
    operation = invocation.operation
    log.debug(
        "server %s; subprotocols %s",
        safe_url(invocation.url),
        ", ".join(invocation.subprotocols) if invocation.subprotocols else "both (default)",
    )
    if invocation.headers:
        names = ", ".join(name for name, _value in invocation.headers)
        log.debug("handshake headers (values not logged): %s", names)
    if invocation.init_payload is not None:
        keys = ", ".join(sorted(invocation.init_payload)) or "none"
        log.debug("init payload given (values not logged); its keys: %s", keys)
    log.debug(
        "%s %s with variables %s",
        operation.kind.value,
        operation.name or "(unnamed)",
        ", ".join(sorted(invocation.variables)) or "none",
    )
