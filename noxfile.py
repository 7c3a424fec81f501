"""Development sessions: `python -m nox -l` lists them, `python -m nox` runs the defaults.

Every session builds its own virtual environment and reuses it on later runs.
`nox -s tests` runs the whole suite under gql 4.x and gql 3.5.x on each
supported Python that nox finds (`python3.10` ... `python3.13` on PATH; one
that is missing is skipped, or fails the run on CI), then once more on the
oldest with the lowest dependency versions pyproject.toml allows, all
without the ``otel`` extra; then with it and OpenTelemetry's SDK (the whole
suite under gql 4.x, the telemetry tests under gql 3.5.x).  The other
sessions use the Python nox runs under.  `nox -s conformance` runs gql's own
AIOHTTPWebsocketsTransport test suites against ours (see conformance/run.py).
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
from pathlib import Path

import nox
from nox.command import CommandFailed
from packaging.requirements import Requirement

nox.needs_version = ">=2024.4.15"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests", "lint", "types"]

ROOT = Path(__file__).resolve().parent
INTEROP_DIR = ROOT / "tests" / "interop"
REQUIRE_INTEROP_ENV = "GQL_AIOHTTP_WS_REQUIRE_INTEROP"

GQL_4 = "gql>=4,<5"
GQL_3_5 = "gql>=3.5,<3.6"
#: The SDK the telemetry tests record with (the ``otel`` extra is the API alone).
OTEL_SDK = "opentelemetry-sdk>=1.27"
WITHOUT_OTEL_ENV = "GQL_AIOHTTP_WS_WITHOUT_OTEL"
#: What the gql 3.5 session with the extra runs: the telemetry's own tests.
OTEL_TESTS = ("tests/telemetry", "tests/test_telemetry_absent.py")

#: Every Python the package supports, oldest first (as pyproject's classifiers).
PYTHONS = ("3.10", "3.11", "3.12", "3.13")

LINT_PATHS = (
    "src",
    "tests",
    "examples",
    "benchmarks",
    "docs",
    "conformance",
    "soak",
    "noxfile.py",
)


def _extra_requirement(extra: str, name: str) -> str:
    """Return the requirement for `name` listed in an optional-dependency group of pyproject."""
    pyproject = nox.project.load_toml(ROOT / "pyproject.toml")
    for requirement in pyproject["project"]["optional-dependencies"][extra]:
        if Requirement(requirement).name.lower() == name:
            return str(requirement)
    raise LookupError(f"pyproject.toml has no {name!r} in the {extra!r} extra")


def _interop_required() -> bool:
    """Whether missing interop servers must fail the run (CI sets the variable to 1)."""
    return os.environ.get(REQUIRE_INTEROP_ENV, "").strip() == "1"


def _prepare_interop_servers(session: nox.Session, *, required: bool) -> None:
    """Install the Node.js reference servers of tests/interop when they can be.

    Runs `npm ci` when the lock file exists and node_modules is missing or older
    than the lock file.  Without npm, or when the install fails, the interop
    tests skip themselves, unless `required` (then the session fails here).
    """
    lock = INTEROP_DIR / "package-lock.json"
    if not lock.exists():
        if required:
            session.error(f"{lock.relative_to(ROOT)} is missing: no interop servers to run")
        return
    installed = INTEROP_DIR / "node_modules" / ".package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    if shutil.which("npm") is None or shutil.which("node") is None:
        if required:
            session.error("node and npm are needed for the interop tests")
        session.warn("node/npm not found: the interop tests will be skipped")
        return
    try:
        with session.chdir(INTEROP_DIR):
            session.run("npm", "ci", "--no-audit", "--no-fund", external=True)
    except CommandFailed:
        if required:
            raise
        session.warn("npm ci failed in tests/interop: the interop tests will be skipped")


def _run_suite(
    session: nox.Session, *install: str, otel: bool = False, paths: tuple[str, ...] = ()
) -> None:
    """Run pytest with the test extra, and with the ``otel`` extra and its SDK when `otel`.

    Without it, ``GQL_AIOHTTP_WS_WITHOUT_OTEL=1`` leaves tests/telemetry out and
    makes tests/test_telemetry_absent.py check that OpenTelemetry really is absent.
    """
    if otel:
        session.install("-e", ".[test,otel]", OTEL_SDK, *install)
    else:
        session.install("-e", ".[test]", *install)
    _prepare_interop_servers(session, required=_interop_required())
    session.run(
        "python",
        "-c",
        "import sys, aiohttp, gql, graphql; print('python', sys.version.split()[0], "
        "'gql', gql.__version__, 'aiohttp', aiohttp.__version__, "
        "'graphql-core', graphql.__version__)",
    )
    session.run(
        "pytest",
        *(session.posargs or paths),
        env={} if otel else {WITHOUT_OTEL_ENV: "1"},
    )


def _lowest_constraints(session: nox.Session) -> Path:
    """Write a pip constraints file pinning each dependency to its lowest allowed version.

    Every requirement of the package and of its `test` extra with a lower
    bound (`>=`) is pinned to it; what those need is left to pip.
    """
    pyproject = nox.project.load_toml(ROOT / "pyproject.toml")
    requirements = [
        *pyproject["project"]["dependencies"],
        *pyproject["project"]["optional-dependencies"]["test"],
    ]
    pins = []
    for text in requirements:
        requirement = Requirement(text)
        lowest = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        if lowest:
            pins.append(f"{requirement.name}=={lowest[0]}")
    path = Path(session.create_tmp()) / "lowest-constraints.txt"
    path.write_text("\n".join(pins) + "\n")
    session.log("pinned: " + ", ".join(pins))
    return path


@nox.session(name="tests-4", python=PYTHONS)
def tests_gql4(session: nox.Session) -> None:
    """Run the test suite under the newest gql 4.x."""
    _run_suite(session, GQL_4)


@nox.session(name="tests-3.5", python=PYTHONS)
def tests_gql35(session: nox.Session) -> None:
    """Run the test suite under the newest gql 3.5.x."""
    _run_suite(session, GQL_3_5)


@nox.session(name="tests-lowest", python=PYTHONS[0])
def tests_lowest(session: nox.Session) -> None:
    """Run the test suite on the oldest Python with the lowest versions pyproject allows."""
    _run_suite(session, "-c", str(_lowest_constraints(session)))


@nox.session(name="tests-otel-4")
def tests_otel_gql4(session: nox.Session) -> None:
    """Run the whole suite with the ``otel`` extra and OpenTelemetry's SDK, under gql 4.x."""
    _run_suite(session, GQL_4, otel=True)


@nox.session(name="tests-otel-3.5")
def tests_otel_gql35(session: nox.Session) -> None:
    """Run the telemetry tests with the ``otel`` extra and OpenTelemetry's SDK, under gql 3.5.x."""
    _run_suite(session, GQL_3_5, otel=True, paths=OTEL_TESTS)


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """Run the suite under gql 4.x and 3.5.x on each Python found, then with the lowest versions.

    Those runs lack the ``otel`` extra; then the suite runs once more with it
    (and the telemetry tests under gql 3.5.x).
    """
    # A parametrized session is notified by its full name, one Python at a time.
    for python in PYTHONS:
        session.notify(f"tests-4-{python}", posargs=session.posargs)
        session.notify(f"tests-3.5-{python}", posargs=session.posargs)
    session.notify("tests-lowest", posargs=session.posargs)
    session.notify("tests-otel-4", posargs=session.posargs)
    session.notify("tests-otel-3.5", posargs=session.posargs)


def _run_conformance(session: nox.Session, line: str) -> None:
    # run.py installs everything itself: the test requirements it reads from
    # the setup.py of gql's sdist, the gql under test and this package.
    session.run("python", "conformance/run.py", "--gql-line", line, "--", *session.posargs)


@nox.session(name="conformance-4")
def conformance_gql4(session: nox.Session) -> None:
    """Run the tests of the newest gql 4.x release against our transport, under that gql."""
    _run_conformance(session, "4")


@nox.session(name="conformance-3.5")
def conformance_gql35(session: nox.Session) -> None:
    """Run gql 3.6.0b4's tests against our transport under gql 3.5.x."""
    _run_conformance(session, "3.5")


@nox.session(venv_backend="none")
def conformance(session: nox.Session) -> None:
    """Run gql's own AIOHTTPWebsocketsTransport suites against ours (arguments go to pytest)."""
    session.notify("conformance-4", posargs=session.posargs)
    session.notify("conformance-3.5", posargs=session.posargs)


@nox.session
def interop(session: nox.Session) -> None:
    """Run only the interoperability tests against the Node.js reference servers."""
    session.install("-e", ".[test]", GQL_4)
    _prepare_interop_servers(session, required=True)
    session.run(
        "pytest",
        *(session.posargs or ["tests/interop"]),
        env={REQUIRE_INTEROP_ENV: "1"},
    )


@nox.session
def fuzz(session: nox.Session) -> None:
    """Fuzz the protocol handlers with the `deep` hypothesis profile (many more examples)."""
    session.install("-e", ".[test]", GQL_4)
    session.run(
        "pytest",
        *(session.posargs or ["tests/protocols"]),
        env={"HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE") or "deep"},
    )


@nox.session
def package(session: nox.Session) -> None:
    """Build the sdist and wheel, check them, and try the wheel as a user gets it.

    The wheel goes into a fresh virtual environment of its own (no editable
    install, no source tree on the path); from there it runs the demo,
    ``gql-ws --help``, ``gql-ws serve`` with one ``gql-ws`` query against it,
    and the pytest plugin's example suite.
    """
    session.install("build", "twine")
    work = Path(session.create_tmp()) / "package"
    shutil.rmtree(work, ignore_errors=True)
    dist = work / "dist"
    session.run("python", "-m", "build", "--outdir", str(dist), str(ROOT))
    session.run("python", "-m", "twine", "check", "--strict", *map(str, sorted(dist.iterdir())))
    (wheel,) = dist.glob("*.whl")
    venv = work / "venv"
    session.run("python", "-m", "venv", str(venv))
    python, gql_ws = str(venv / "bin" / "python"), str(venv / "bin" / "gql-ws")
    session.run(python, "-m", "pip", "install", "--quiet", f"{wheel}[pytest]", GQL_4, external=True)
    # Run from the repository root: with the src/ layout nothing there shadows the install.
    where = session.run(
        python,
        "-c",
        "import gql_aiohttp_websockets as p; print(p.__file__)",
        silent=True,
        external=True,
    )
    if where is None or str(venv) not in str(where):
        session.error(f"the package was not imported from the wheel's install: {where}")
    session.run(python, "examples/demo.py", external=True)
    session.run(gql_ws, "--help", silent=True, external=True)
    _query_the_example_server(session, python, gql_ws)
    session.run(python, "-m", "pytest", "-p", "no:cacheprovider", "examples/testing", external=True)


def _query_the_example_server(session: nox.Session, python: str, gql_ws: str) -> None:
    """Start ``gql-ws serve`` and run one query against it with ``gql-ws``."""
    server = subprocess.Popen(
        [gql_ws, "serve", "--port", "0", "--max-seconds", "120"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert server.stdout is not None
        ready, _, _ = select.select([server.stdout], [], [], 30)
        line = server.stdout.readline() if ready else ""
        if not line.startswith("serving "):
            session.error(f"the example server did not start: {line!r}")
        url = line.split()[1]
        session.run(gql_ws, url, "-q", '{ hello(name: "package") }', external=True)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stdout is not None:
            server.stdout.close()


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and formatting with ruff."""
    session.install(_extra_requirement("lint", "ruff"))
    paths = [path for path in LINT_PATHS if (ROOT / path).exists()]
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)


@nox.session
def types(session: nox.Session) -> None:
    """Type-check the package with mypy --strict."""
    session.install("-e", ".[pytest,orjson,otel]", GQL_4, _extra_requirement("lint", "mypy"))
    session.run("mypy", "--strict", "src")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation; any warning (including a broken reference) fails."""
    session.install("-e", ".[docs,pytest]", GQL_4)
    session.run(
        "sphinx-build",
        "-W",
        "--keep-going",
        "-n",
        "-b",
        "html",
        "docs",
        "docs/_build/html",
        *session.posargs,
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmark against gql's transports (`-- --quick` for a short run, `-- --json PATH`)."""
    session.install("-e", ".[orjson]", "gql[aiohttp,websockets]>=4,<5")
    if not (INTEROP_DIR / "node_modules").is_dir() and shutil.which("npm") is not None:
        # Workload 7 runs against the interop suite's Node servers too.
        with session.chdir(INTEROP_DIR):
            session.run("npm", "ci", "--no-audit", "--no-fund", external=True)
    session.run("python", "benchmarks/run.py", *session.posargs)


@nox.session
def soak(session: nox.Session) -> None:
    """Soak the transport for minutes (`-- 5`; 1 by default; other arguments go to soak/run.py)."""
    session.install("-e", ".", GQL_4)
    args = list(session.posargs)
    if args and not args[0].startswith("-"):
        args[:1] = ["--minutes", args[0]]
    session.run("python", "soak/run.py", *args)
