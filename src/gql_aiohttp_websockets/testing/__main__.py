"""``python -m gql_aiohttp_websockets.testing``: serve the example schema (see ``serve.py``)."""

import sys

from .serve import main

sys.exit(main())
