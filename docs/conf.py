"""Sphinx configuration for the gql-aiohttp-websockets documentation.

Offline by design: no intersphinx, so names from other projects (aiohttp, gql,
graphql-core, the standard library) are shown as plain text and listed in
``nitpick_ignore_regex``; every reference to this project's own names must
resolve (the build runs with ``-W -n``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

project = "gql-aiohttp-websockets"
author = "gql-aiohttp-websockets developers"
copyright = "gql-aiohttp-websockets developers"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
]

nitpicky = True
_EXTERNAL_MODULES = (
    "aiohttp|_asyncio|gql|graphql|multidict|yarl|ssl|asyncio|json|typing|typing_extensions|abc"
    "|collections|types|enum|logging|os|pathlib|contextlib|dataclasses"
    "|_pytest|pytest|pytest_asyncio|hypothesis|orjson"
)
# Names written without their module in annotations or docstrings.
_EXTERNAL_NAMES = (
    "Any|Awaitable|Callable|Coroutine|Mapping|Sequence|Iterable|Collection|Literal"
    "|AsyncGenerator|AsyncIterator|AsyncIterable|Iterator|Generator|MutableMapping"
    "|ClassVar|TypeAlias|Self|NoneType|ABC|JsonSerializer|JsonDeserializer"
    "|DocumentNode|ExecutionResult|GraphQLSchema|GraphQLRequest|SSLContext"
    "|ClientSession|ClientWebSocketResponse|BasicAuth|Fingerprint|URL|StrOrURL|LooseHeaders"
    "|CIMultiDict|CIMultiDictProxy|istr|AsyncTransport"
    "|TransportError|TransportClosed|TransportConnectionFailed|TransportProtocolError"
    "|TransportQueryError|TransportServerError|TransportAlreadyConnected"
)
nitpick_ignore_regex = [
    (r"py:.*", rf"({_EXTERNAL_MODULES})(\..+)?"),
    (r"py:.*", rf"({_EXTERNAL_NAMES})"),
]

# Google-style docstrings.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_attr_annotations = True

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
autodoc_default_options = {"show-inheritance": True}
autoclass_content = "class"
python_use_unqualified_type_names = True

# furo: maintained, readable on a phone, light and dark (websockets uses it too).
html_theme = "furo"
html_title = "gql-aiohttp-websockets"
# The pictures of architecture.rst, drawn from docs/diagrams/*.dot with Graphviz and
# checked in, so that building the docs does not need it.
html_static_path = ["_static"]
exclude_patterns = ["_build"]


def _resolve_public_alias(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: nodes.TextElement
) -> nodes.reference | None:
    """Point ``gql_aiohttp_websockets.<module>.Name`` at where ``Name`` is documented.

    Type hints name a class by the module that defines it
    (``gql_aiohttp_websockets.protocols.base.Next``) while the API page documents
    it where users import it from (``gql_aiohttp_websockets.protocols.Next``).
    """
    target = str(node.get("reftarget", ""))
    if node.get("refdomain") != "py" or not target.startswith("gql_aiohttp_websockets."):
        return None
    domain = env.get_domain("py")
    short = target.rsplit(".", 1)[-1]
    documented = [
        name
        for name, _display, _kind, _doc, _anchor, _priority in domain.get_objects()
        if name.startswith("gql_aiohttp_websockets.") and name.rsplit(".", 1)[-1] == short
    ]
    if not documented:
        return None
    # The shortest dotted path is the public one (the package over a submodule).
    public = min(documented, key=lambda name: (name.count("."), name))
    return domain.resolve_xref(
        env, node.get("refdoc", ""), app.builder, node["reftype"], public, node, contnode
    )


class CloseCodeTable(SphinxDirective):
    """A table of close codes whose meaning and retry advice come from the library.

    Each content line is ``CODE | when it is sent``; the name of the code and
    whether reconnecting is worth it are read from
    :func:`gql_aiohttp_websockets.classify_close_code`, so the page cannot drift
    from the code.
    """

    has_content = True

    def run(self) -> list[nodes.Node]:
        from gql_aiohttp_websockets.close_codes import classify_close_code

        rows = [
            ".. list-table::",
            "   :header-rows: 1",
            "   :widths: 8 22 50 10",
            "",
            "   * - Code",
            "     - Meaning",
            "     - When it is sent",
            "     - Retry?",
        ]
        for line in self.content:
            if not line.strip():
                continue
            code_text, _, when = (part.strip() for part in line.partition("|"))
            info = classify_close_code(int(code_text))
            rows += [
                f"   * - ``{info.code}``",
                f"     - {info.meaning}",
                f"     - {when}",
                f"     - {'yes' if info.retryable else 'no'}",
            ]
        container = nodes.container()
        self.state.nested_parse(StringList(rows, source="close-code-table"), 0, container)
        return list(container.children)


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the reference fix-up and the close-code table directive."""
    app.connect("missing-reference", _resolve_public_alias)
    app.add_directive("close-code-table", CloseCodeTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
