"""``python -m gql_aiohttp_websockets``: the ``gql-ws`` command line."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
