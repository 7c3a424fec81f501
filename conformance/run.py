"""Run gql's own AIOHTTPWebsocketsTransport test suites against our transport.

Usage, from a virtual environment of its own (``nox -s conformance`` makes one
per gql line)::

    python conformance/run.py --gql-line 4      # newest gql 4.x, its own tests
    python conformance/run.py --gql-line 3.5    # gql 3.6.0b4's tests, gql 3.5.x
    python conformance/run.py --gql-line 4 -- -x -k ssl   # extra pytest arguments

Steps:

1. download gql's source distribution with pip (``pip download --no-deps
   --no-binary :all:``): for line 4 the newest 4.x release, for line 3.5 gql
   3.6.0b4, the last release whose tests use the old ``execute(document, ...)``
   API;
2. unpack it under ``.conformance/gql-LINE/`` (ignored by git), take its
   ``tests/`` folder whole and, in ``tests/conftest.py`` and
   ``tests/test_aiohttp_websocket_*.py``, import our class instead of gql's:
   ``from gql.transport.aiohttp_websockets import AIOHTTPWebsocketsTransport``
   becomes ``from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport``;
3. read the test requirements from the sdist's ``setup.py`` (``tests_requires``,
   ``install_aiohttp_requires``, ``install_websockets_requires``, evaluated with
   `ast`, never executed) and pip-install them into this interpreter's
   environment with the gql under test (line 4: the same 4.x release; line
   3.5: ``gql>=3.5,<3.6``) and this repository (editable);
4. run pytest on the ``test_aiohttp_websocket_*.py`` files with a pytest.ini of
   our own (gql's asyncio_mode, strict) and the plugin
   ``conformance/expectations_plugin.py``, which applies
   ``conformance/expectations.toml``: tests that read gql internals are set
   aside, departures must fail;
5. print a summary of the counts.

``GQL_AIOHTTP_WS_TIMEOUT_FACTOR``, when set, becomes gql's
``GQL_TESTS_TIMEOUT_FACTOR`` (gql's tests scale their delays by it).  The pytest
run is stopped after ``--timeout`` seconds.

Exit status: 0 when every test run passed (and every departure failed), 1 when
a test failed, a departure passed, an expectations entry matched no test or
pytest failed otherwise, 2 when the run could not be prepared (download,
unpacking, requirements, installation), 3 when pytest ran out of time.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXPECTATIONS = HERE / "expectations.toml"
DEFAULT_WORK_DIR = ROOT / ".conformance"

#: The lists of gql's setup.py whose requirements the tests need.
SETUP_LISTS = ("tests_requires", "install_aiohttp_requires", "install_websockets_requires")

#: The import rewritten in the tests, and what it becomes.
GQL_IMPORT = "from gql.transport.aiohttp_websockets import AIOHTTPWebsocketsTransport"
OUR_IMPORT = "from gql_aiohttp_websockets import AIOHTTPWebsocketsTransport"

#: Any import of gql's module left after the rewrite (it would test gql's class).
_LEFTOVER_IMPORT = re.compile(
    r"^\s*(?:from\s+gql\.transport\.aiohttp_websockets\s+import"
    r"|import\s+gql\.transport\.aiohttp_websockets\b)",
    re.MULTILINE,
)

#: The tests run: gql's suites of its AIOHTTPWebsocketsTransport.
TEST_FILES_GLOB = "test_aiohttp_websocket_*.py"

#: gql's environment variable scaling its tests' delays, and ours.
GQL_TIMEOUT_FACTOR_ENV = "GQL_TESTS_TIMEOUT_FACTOR"
OUR_TIMEOUT_FACTOR_ENV = "GQL_AIOHTTP_WS_TIMEOUT_FACTOR"

DEFAULT_TIMEOUT = 900.0
#: After a timeout or Ctrl-C, how long pytest gets to stop on SIGINT before SIGKILL.
STOP_GRACE = 30.0

EXIT_FAILED = 1
EXIT_ERROR = 2
EXIT_TIMEOUT = 3

#: Distributions whose installed versions the run reports.
REPORTED_DISTRIBUTIONS = (
    "gql",
    "gql-aiohttp-websockets",
    "graphql-core",
    "aiohttp",
    "websockets",
    "pytest",
    "pytest-asyncio",
)

#: What pytest's non-zero exit statuses mean.
_PYTEST_STATUS = {
    1: "tests failed",
    2: "interrupted",
    3: "internal error",
    4: "usage error",
    5: "no tests collected",
}

_SDIST_NAME = re.compile(r"gql-(?P<version>[^/\\]+?)\.(?:tar\.gz|zip)", re.IGNORECASE)


class ConformanceError(Exception):
    """The run could not be prepared; the message says why."""


@dataclass(frozen=True)
class GqlLine:
    """A gql line: where its tests come from and which gql they run under.

    Attributes:
        name: The line, as given to ``--gql-line``.
        tests_requirement: What pip downloads the tests' sdist by.
        tests_major: The major version the downloaded release must have.
        tests_version: The exact version it must have, or None for any.
        gql_requirement: The gql installed, or None for the tests' release.
        pyproject_ini_options: gql pyproject ``[tool.pytest.ini_options]`` keys
            copied into our pytest.ini when the sdist has them.
    """

    name: str
    tests_requirement: str
    tests_major: str
    tests_version: str | None
    gql_requirement: str | None
    pyproject_ini_options: tuple[str, ...]

    def gql_to_install(self, tests_version: str) -> str:
        """Return the requirement of the gql the tests run under.

        Args:
            tests_version: The version of the release the tests come from.

        Returns:
            A pip requirement.
        """
        return self.gql_requirement or f"gql=={tests_version}"


LINES: Mapping[str, GqlLine] = {
    "4": GqlLine(
        name="4",
        tests_requirement="gql>=4,<5",
        tests_major="4",
        tests_version=None,
        gql_requirement=None,
        pyproject_ini_options=("asyncio_default_fixture_loop_scope",),
    ),
    "3.5": GqlLine(
        name="3.5",
        tests_requirement="gql==3.6.0b4",
        tests_major="3",
        tests_version="3.6.0b4",
        gql_requirement="gql>=3.5,<3.6",
        pyproject_ini_options=(),
    ),
}


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


def _say(message: str) -> None:
    print(f"conformance: {message}", flush=True)


def _section(title: str) -> None:
    print(f"\n---- {title} ".ljust(78, "-"), flush=True)


def _run(command: Sequence[str], *, what: str) -> None:
    """Run a preparation command; raise ConformanceError when it fails."""
    print("+", shlex.join(command), flush=True)
    status = subprocess.run(command, check=False).returncode
    if status != 0:
        raise ConformanceError(f"{what} failed (exit status {status})")


def _pip(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "pip", *arguments, "--disable-pip-version-check"]


def ensure_toml_reader() -> None:
    """Install tomli on Python 3.10, which has no tomllib, when it is missing.

    Raises:
        ConformanceError: pip failed.
    """
    if sys.version_info < (3, 11):  # pragma: no cover - Python 3.10
        try:
            import tomli  # noqa: F401
        except ImportError:
            _run(_pip("install", "--quiet", "tomli>=1.1"), what="installing tomli")


# --------------------------------------------------------------------------
# The sdist: download, unpack, requirements
# --------------------------------------------------------------------------


def download_sdist(line: GqlLine, into: Path) -> tuple[Path, str]:
    """Download the sdist of the release the line's tests come from.

    Args:
        line: The gql line.
        into: An empty directory for the download.

    Returns:
        The sdist's path and its version.

    Raises:
        ConformanceError: pip failed, or did not bring one sdist of the
            expected version.
    """
    _run(
        _pip(
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--dest",
            str(into),
            line.tests_requirement,
        ),
        what=f"downloading the sdist of {line.tests_requirement}",
    )
    files = sorted(path for path in into.iterdir() if path.is_file())
    matches = [(path, _SDIST_NAME.fullmatch(path.name)) for path in files]
    found = [(path, match["version"]) for path, match in matches if match]
    if len(found) != 1:
        names = ", ".join(path.name for path in files) or "nothing"
        raise ConformanceError(f"expected one gql sdist from pip download, got {names}")
    path, version = found[0]
    if version.split(".")[0] != line.tests_major or (
        line.tests_version is not None and version != line.tests_version
    ):
        expected = line.tests_version or f"{line.tests_major}.x"
        raise ConformanceError(f"pip downloaded gql {version}, expected {expected}")
    return path, version


def _check_member(name: str, dest: Path) -> None:
    target = (dest / name).resolve()
    if not target.is_relative_to(dest.resolve()):
        raise ConformanceError(f"the sdist has a member outside its folder: {name!r}")


def unpack_sdist(sdist: Path, dest: Path) -> Path:
    """Unpack an sdist and return its top folder (the one holding setup.py).

    Args:
        sdist: The ``.tar.gz`` or ``.zip`` file.
        dest: An empty directory to unpack into.

    Returns:
        The sdist's top folder.

    Raises:
        ConformanceError: The archive is unsafe or has no setup.py and tests/.
    """
    dest.mkdir(parents=True, exist_ok=True)
    if sdist.name.lower().endswith(".zip"):
        with zipfile.ZipFile(sdist) as archive:
            for name in archive.namelist():
                _check_member(name, dest)
            archive.extractall(dest)
    else:
        with tarfile.open(sdist) as archive:
            if hasattr(tarfile, "data_filter"):
                archive.extractall(dest, filter="data")
            else:  # pragma: no cover - Python without PEP 706 filters
                for member in archive.getmembers():
                    _check_member(member.name, dest)
                    if not (member.isfile() or member.isdir()):
                        raise ConformanceError(f"the sdist has a special file: {member.name!r}")
                archive.extractall(dest)
    tops = [path.parent for path in dest.glob("*/setup.py") if (path.parent / "tests").is_dir()]
    if len(tops) != 1:
        raise ConformanceError(f"{sdist.name} has no single folder with setup.py and tests/")
    return tops[0]


def _list_value(
    node: ast.expr, assigned: Mapping[str, ast.expr], resolving: tuple[str, ...]
) -> list[str]:
    """Evaluate a list literal of strings, a name bound to one, or a sum of those."""
    if isinstance(node, (ast.List, ast.Tuple)):
        values: list[str] = []
        for element in node.elts:
            if not (isinstance(element, ast.Constant) and isinstance(element.value, str)):
                raise ConformanceError(
                    f"setup.py line {element.lineno}: not a string: {ast.unparse(element)}"
                )
            values.append(element.value)
        return values
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _list_value(node.left, assigned, resolving) + _list_value(
            node.right, assigned, resolving
        )
    if isinstance(node, ast.Name):
        if node.id in resolving:
            raise ConformanceError(f"setup.py: {node.id} is defined in terms of itself")
        if node.id not in assigned:
            raise ConformanceError(f"setup.py line {node.lineno}: {node.id} is not assigned")
        return _list_value(assigned[node.id], assigned, (*resolving, node.id))
    raise ConformanceError(f"setup.py line {node.lineno}: cannot evaluate {ast.unparse(node)}")


def read_setup_lists(setup_py: Path, names: Sequence[str]) -> dict[str, list[str]]:
    """Read lists of requirement strings from a setup.py without running it.

    The module's top-level assignments are parsed with `ast`; each list is
    evaluated from list literals of strings, names of other such lists and
    ``+``.  Environment markers (``; python_version>='3.11'``) stay in the
    strings, for pip.

    Args:
        setup_py: The setup.py file.
        names: The names of the lists.

    Returns:
        Each name's list.

    Raises:
        ConformanceError: A name is not assigned, or not in that form.
    """
    tree = ast.parse(setup_py.read_text(encoding="utf-8"), filename=str(setup_py))
    assigned: dict[str, ast.expr] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    assigned[target.id] = statement.value
        elif (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and statement.value is not None
        ):
            assigned[statement.target.id] = statement.value
    lists: dict[str, list[str]] = {}
    for name in names:
        if name not in assigned:
            raise ConformanceError(f"{setup_py} assigns no {name}")
        lists[name] = [value.strip() for value in _list_value(assigned[name], assigned, (name,))]
    return lists


def read_pyproject_ini_options(sdist_dir: Path, keys: Sequence[str]) -> dict[str, str]:
    """Return the given keys of the sdist's ``[tool.pytest.ini_options]``.

    Args:
        sdist_dir: The sdist's top folder.
        keys: The option names to copy.

    Returns:
        The options found, as ini strings.
    """
    pyproject = sdist_dir / "pyproject.toml"
    if not keys or not pyproject.is_file():
        return {}
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    with pyproject.open("rb") as file:
        options = tomllib.load(file).get("tool", {}).get("pytest", {}).get("ini_options", {})
    return {key: str(options[key]) for key in keys if key in options}


# --------------------------------------------------------------------------
# The tests: copy, rewrite, configure
# --------------------------------------------------------------------------


def rewrite_imports(tests_dir: Path, files: Sequence[Path]) -> dict[str, int]:
    """Make the tests import our class instead of gql's.

    Args:
        tests_dir: The copied tests folder.
        files: The files to rewrite (conftest.py and the test files).

    Returns:
        The number of imports rewritten, by file name.

    Raises:
        ConformanceError: A file has no such import, or imports gql's module in
            another form that would escape the rewrite.
    """
    counts: dict[str, int] = {}
    for path in files:
        text = path.read_text(encoding="utf-8")
        count = text.count(GQL_IMPORT)
        name = str(path.relative_to(tests_dir.parent))
        if count == 0:
            raise ConformanceError(f"{name}: no {GQL_IMPORT!r} to rewrite; gql's tests changed")
        text = text.replace(GQL_IMPORT, OUR_IMPORT)
        leftover = _LEFTOVER_IMPORT.search(text)
        if leftover is not None:
            line_number = text.count("\n", 0, leftover.start()) + 1
            raise ConformanceError(
                f"{name}:{line_number}: gql's AIOHTTPWebsocketsTransport is imported in a "
                "form the rewrite does not cover; gql's tests changed"
            )
        path.write_text(text, encoding="utf-8")
        counts[name] = count
    return counts


def write_pytest_ini(path: Path, line: GqlLine, options: Mapping[str, str]) -> None:
    """Write the pytest.ini of the run.

    Args:
        path: Where to write it.
        line: The gql line.
        options: Options copied from gql's pyproject.toml.
    """
    lines = [
        "# Written by conformance/run.py for gql's own tests; rewritten on every run.",
        "[pytest]",
        "# gql's default: pytest-asyncio's strict mode.",
        "asyncio_mode = strict",
    ]
    for key, value in options.items():
        lines.append(f"# From gql's pyproject.toml (line {line.name}).")
        lines.append(f"{key} = {value}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def gql_timeout_factor(environ: Mapping[str, str]) -> str | None:
    """Return gql's timeout factor for our ``GQL_AIOHTTP_WS_TIMEOUT_FACTOR``.

    gql's tests read an integer; a fractional factor is rounded up.

    Args:
        environ: The environment.

    Returns:
        The value for ``GQL_TESTS_TIMEOUT_FACTOR``, or None when ours is unset.

    Raises:
        ConformanceError: Our factor is not a positive number.
    """
    raw = environ.get(OUR_TIMEOUT_FACTOR_ENV, "").strip()
    if not raw:
        return None
    try:
        factor = float(raw)
    except ValueError:
        factor = math.nan
    if not factor > 0 or math.isinf(factor):
        raise ConformanceError(f"{OUR_TIMEOUT_FACTOR_ENV}={raw!r} is not a positive number")
    return str(max(1, math.ceil(factor)))


def installed_versions() -> dict[str, str]:
    """Return the installed versions of the reported distributions.

    Asked of a fresh interpreter, which sees what pip just installed.

    Returns:
        Version by distribution name (``"not installed"`` when absent), plus
        ``gql_aiohttp_websockets from``: where our package is imported from.
    """
    code = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n"
        "        out[name] = m.version(name)\n"
        "    except m.PackageNotFoundError:\n"
        "        out[name] = 'not installed'\n"
        "import gql_aiohttp_websockets\n"
        "out['gql_aiohttp_websockets from'] = gql_aiohttp_websockets.__file__\n"
        "print(json.dumps(out))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *REPORTED_DISTRIBUTIONS],
        check=False,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise ConformanceError(f"cannot read the installed versions:\n{result.stderr}")
    versions: dict[str, str] = json.loads(result.stdout)
    return versions


# --------------------------------------------------------------------------
# pytest
# --------------------------------------------------------------------------


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    """Signal pytest's process group (POSIX); elsewhere, kill pytest alone."""
    try:
        if os.name == "posix":
            os.killpg(process.pid, signum)
        else:  # pragma: no cover - no process groups
            process.kill()
    except ProcessLookupError:
        pass


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop pytest: SIGINT first (it then reports and finishes), SIGKILL after the grace."""
    _signal_group(process, signal.SIGINT)
    try:
        process.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.wait()


def run_pytest(
    command: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout: float
) -> int | None:
    """Run pytest in its own process group, within a wall-clock limit.

    Args:
        command: The pytest command.
        cwd: Its working directory.
        env: Its environment.
        timeout: The limit, in seconds.

    Returns:
        pytest's exit status, or None when it ran out of time (it was stopped).
    """
    print("+", shlex.join(command), flush=True)
    process = subprocess.Popen(
        command, cwd=cwd, env=dict(env), start_new_session=os.name == "posix"
    )
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        _stop(process)
        return None
    except KeyboardInterrupt:
        # pytest runs in a session of its own: pass Ctrl-C on.
        _stop(process)
        raise


# --------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------


def print_summary(
    *,
    line: GqlLine,
    tests_version: str,
    versions: Mapping[str, str],
    summary: Mapping[str, Any],
    elapsed: float,
) -> list[str]:
    """Print the summary of the run and return the reasons it failed.

    Args:
        line: The gql line.
        tests_version: The release the tests come from.
        versions: The installed versions.
        summary: The plugin's JSON summary.
        elapsed: The pytest run's duration, in seconds.

    Returns:
        Why the run failed; empty when it passed.
    """
    counts: Mapping[str, int] = summary["counts"]
    _section(f"conformance summary, gql line {line.name}")
    print("set aside (they read gql internals or compare exact json.dumps text):")
    for entry in summary["set_aside"]:
        print(f"  {entry['test']} [{entry['items']}]: {entry['reads']}")
    if summary["departures"]:
        print("departures (expected to fail):")
        for entry in summary["departures"]:
            for item in entry["items"]:
                print(f"  {item['nodeid']}: {item['outcome']}")
    rows = [
        ("gql line", line.name),
        ("gql installed", versions.get("gql", "?")),
        ("tests from", f"gql {tests_version} sdist, tests/{TEST_FILES_GLOB}"),
        ("our package", versions.get("gql_aiohttp_websockets from", "?")),
        ("collected", counts["collected"]),
        ("set aside", counts["set_aside"]),
    ]
    if counts["deselected_other"]:
        rows.append(("deselected (-k/-m)", counts["deselected_other"]))
    rows += [
        ("run", counts["run"]),
        ("passed", counts["passed"]),
        ("failed", counts["failed"] + counts["errors"]),
    ]
    if counts["errors"]:
        rows.append(("  of which errors", counts["errors"]))
    if counts["skipped"]:
        rows.append(("skipped", counts["skipped"]))
    rows += [
        ("departures failed as expected", counts["xfailed"]),
        ("departures passed (unexpected)", counts["xpassed"]),
    ]
    if counts["collection_errors"]:
        rows.append(("collection errors", counts["collection_errors"]))
    if summary["unmatched"]:
        rows.append(("entries matching no test", len(summary["unmatched"])))
    stats = summary.get("pytest_stats")
    rows.append(("pytest", f"{stats or '?'} in {elapsed:.1f}s"))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")

    reasons: list[str] = []
    failed = counts["failed"] + counts["errors"]
    if failed:
        reasons.append(f"{failed} failed")
    if counts["xpassed"]:
        reasons.append(f"{counts['xpassed']} departures passed")
    if counts["collection_errors"]:
        reasons.append(f"{counts['collection_errors']} collection errors")
    if summary["unmatched"]:
        print("entries of conformance/expectations.toml matching no test:")
        for entry in summary["unmatched"]:
            print(f"  {entry['kind']} {entry['test']}")
        reasons.append(f"{len(summary['unmatched'])} expectations entries matched no test")
    return reasons


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run gql's own AIOHTTPWebsocketsTransport suites against ours.",
        epilog="Arguments after -- go to pytest.",
    )
    parser.add_argument("--gql-line", required=True, choices=sorted(LINES), help="gql line")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"wall-clock limit of the pytest run, in seconds (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=DEFAULT_WORK_DIR,
        help="where the sdist is unpacked and the tests run (default: .conformance/)",
    )
    parser.add_argument("pytest_args", nargs="*", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def prepare(line: GqlLine, run_dir: Path) -> tuple[str, list[Path]]:
    """Download and unpack the tests, rewrite them, install their requirements.

    Args:
        line: The gql line.
        run_dir: The line's folder under the work dir, emptied first.

    Returns:
        The tests' release version and the test files to run.

    Raises:
        ConformanceError: A step failed.
    """
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)

    _section(f"gql line {line.name}: downloading the tests ({line.tests_requirement})")
    with tempfile.TemporaryDirectory(dir=run_dir, prefix="download-") as download:
        sdist, version = download_sdist(line, Path(download))
        _say(f"downloaded {sdist.name}")
        sdist_dir = unpack_sdist(sdist, run_dir / "sdist")

    tests_dir = run_dir / "tests"
    shutil.copytree(sdist_dir / "tests", tests_dir)
    test_files = sorted(tests_dir.glob(TEST_FILES_GLOB))
    if not test_files:
        raise ConformanceError(f"gql {version}'s tests have no {TEST_FILES_GLOB}")
    for name, count in rewrite_imports(tests_dir, [tests_dir / "conftest.py", *test_files]).items():
        _say(f"{name}: {count} imports of AIOHTTPWebsocketsTransport now take ours")
    ini_options = read_pyproject_ini_options(sdist_dir, line.pyproject_ini_options)
    write_pytest_ini(run_dir / "pytest.ini", line, ini_options)

    _section(f"gql line {line.name}: installing the test requirements")
    lists = read_setup_lists(sdist_dir / "setup.py", SETUP_LISTS)
    requirements = [requirement for name in SETUP_LISTS for requirement in lists[name]]
    for name in SETUP_LISTS:
        _say(f"gql {version} setup.py {name}: {', '.join(lists[name])}")
    gql_requirement = line.gql_to_install(version)
    _say(f"gql under test: {gql_requirement}")
    _run(
        _pip("install", "--quiet", *requirements, gql_requirement, "--editable", str(ROOT)),
        what="installing the test requirements",
    )
    return version, test_files


def main(argv: Sequence[str] | None = None) -> int:
    """Run one gql line's conformance suite.

    Args:
        argv: The command-line arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    args = _parse_args(argv)
    line = LINES[args.gql_line]
    run_dir: Path = args.work_dir.resolve() / f"gql-{line.name}"
    started = time.monotonic()
    try:
        ensure_toml_reader()
        sys.path.insert(0, str(HERE))
        from expectations import ExpectationsError, load_line

        try:
            load_line(EXPECTATIONS, line.name)
        except ExpectationsError as error:
            raise ConformanceError(str(error)) from error
        version, test_files = prepare(line, run_dir)
        versions = installed_versions()
        env = dict(os.environ)
        factor = gql_timeout_factor(env)
        if factor is not None:
            env[GQL_TIMEOUT_FACTOR_ENV] = factor
    except ConformanceError as error:
        print(f"conformance: error: {error}", file=sys.stderr, flush=True)
        return EXIT_ERROR

    _section(f"gql line {line.name}: gql {version}'s tests against our transport")
    for name, installed in versions.items():
        _say(f"{name}: {installed}")
    if factor is not None:
        _say(f"{GQL_TIMEOUT_FACTOR_ENV}={factor} (from {OUR_TIMEOUT_FACTOR_ENV})")
    env["PYTHONPATH"] = os.pathsep.join(
        path for path in (str(HERE), env.get("PYTHONPATH", "")) if path
    )
    summary_path = run_dir / "summary.json"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-c",
        str(run_dir / "pytest.ini"),
        "--rootdir",
        str(run_dir),
        "-p",
        "no:cacheprovider",
        "-p",
        "expectations_plugin",
        "--conformance-expectations",
        str(EXPECTATIONS),
        "--conformance-line",
        line.name,
        "--conformance-summary",
        str(summary_path),
        "-ra",
        *(str(path.relative_to(run_dir)) for path in test_files),
        *args.pytest_args,
    ]
    pytest_started = time.monotonic()
    status = run_pytest(command, cwd=run_dir, env=env, timeout=args.timeout)
    elapsed = time.monotonic() - pytest_started
    summary: dict[str, Any] | None = None
    if summary_path.exists():
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    reasons: list[str] = []
    if summary is not None:
        reasons = print_summary(
            line=line, tests_version=version, versions=versions, summary=summary, elapsed=elapsed
        )
    total = time.monotonic() - started
    if status is None:
        running = summary_path.with_suffix(".running")
        current = (summary or {}).get("in_progress") or (
            running.read_text(encoding="utf-8").strip() if running.exists() else "unknown"
        )
        print(
            f"result: TIMEOUT: pytest ran longer than {args.timeout:g}s (--timeout) and was "
            f"stopped; the test running then: {current}",
            flush=True,
        )
        return EXIT_TIMEOUT
    if summary is None:
        print(
            f"result: FAILED: pytest exited with status {status} and wrote no "
            f"{summary_path.name} (the expectations plugin did not run)",
            flush=True,
        )
        return EXIT_FAILED
    if status not in (0, 1) or (status == 1 and not reasons):
        meaning = _PYTEST_STATUS.get(status, "")
        reasons.append(f"pytest exit status {status}{f' ({meaning})' if meaning else ''}")
    if reasons:
        print(f"result: FAILED ({'; '.join(reasons)}) in {total:.0f}s", flush=True)
        return EXIT_FAILED
    print(f"result: passed in {total:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
