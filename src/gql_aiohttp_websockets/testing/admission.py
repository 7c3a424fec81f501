"""Admission: who a test server lets in, and for how long.

Two things a client meets on real servers and a test must be able to cause:
a server that refuses every new ``connection_init`` for a while (an identity
provider down, a deploy), and credentials that expire.  Hasura reads the
expiry of the JWT in the init payload and closes the websocket with 4403 when
it passes; tokens of 5 to 15 minutes are common.  Here a token is issued by
the test (:meth:`Admission.issue_token`), sent by the client in its init
payload as ``{"token": ...}``, and the server closes the connection with
4403 at its expiry.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

__all__ = ["EXPIRED_CODE", "EXPIRED_REASON", "Admission", "Refused"]

#: The close code and reason of a connection whose token expired (Hasura's code).
EXPIRED_CODE = 4403
EXPIRED_REASON = "Forbidden: token expired"


class Refused(Exception):
    """The server does not let this ``connection_init`` in; the message says why."""


class Admission:
    """A test server's door: the refusal switch and the tokens it issued.

    Args:
        token_lifetime: Seconds a token issued by :meth:`issue_token` is
            valid; ``None``: no token is asked for.

    Attributes:
        refusing: Whether every new ``connection_init`` is refused.
        expired: How many connections were closed because their token expired.
    """

    def __init__(self, token_lifetime: float | None = None) -> None:
        if token_lifetime is not None and not token_lifetime > 0:
            raise ValueError(f"token_lifetime must be None or > 0 seconds, got {token_lifetime}")
        self.token_lifetime = token_lifetime
        self.refusing = False
        self.expired = 0
        self._expiries: dict[str, float] = {}
        self._numbers = itertools.count(1)

    def issue_token(self) -> str:
        """Issue a token valid for ``token_lifetime`` seconds from now.

        Raises:
            RuntimeError: The server was made without ``token_lifetime``.
        """
        lifetime = self.token_lifetime
        if lifetime is None:
            raise RuntimeError("the server issues no tokens: give it token_lifetime")
        token = f"token-{next(self._numbers)}"
        self._expiries[token] = asyncio.get_running_loop().time() + lifetime
        return token

    def admit(self, payload: Any) -> float | None:
        """Decide about a ``connection_init`` payload.

        Returns:
            Seconds until its token expires; ``None`` when no token is asked for.

        Raises:
            Refused: Inits are refused now, or the token is missing, unknown
                or expired.
        """
        if self.refusing:
            raise Refused("the server refuses new connections for now")
        if self.token_lifetime is None:
            return None
        token = payload.get("token") if isinstance(payload, dict) else None
        expiry = self._expiries.get(token) if isinstance(token, str) else None
        if expiry is None:
            raise Refused("no valid token in the connection_init payload")
        left = expiry - asyncio.get_running_loop().time()
        if left <= 0:
            raise Refused("the token expired")
        return left
