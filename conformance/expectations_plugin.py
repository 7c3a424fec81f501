"""pytest plugin of the conformance runs: applies `expectations.toml` to gql's suite.

Loaded by `run.py` with ``-p expectations_plugin`` (``conformance/`` on
``PYTHONPATH``) and the options it registers:

- ``--conformance-expectations PATH``: the expectations file; without it the
  plugin does nothing;
- ``--conformance-line LINE``: the gql line whose entries apply (``4``, ``3.5``);
- ``--conformance-summary PATH``: where to write the JSON summary of the run.

Set-aside tests are deselected (through ``pytest_deselected``, so pytest counts
them as deselected), departures get a strict ``xfail`` mark.  The hook runs
before ``-k``/``-m`` deselection, so every entry is matched against the whole
collection; an entry that matches no collected test fails the session, as does
a departure that passes.  The JSON summary counts the collected, set-aside, run
and per-outcome tests, and lists the set-aside entries (with what they read),
the departures (with their outcomes), the unmatched entries, the failed tests
and the unexpected passes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from expectations import Entry, ExpectationsError, LineExpectations, load_line

__all__ = ["ConformancePlugin", "pytest_addoption", "pytest_configure"]

#: The name the active plugin object is registered under.
PLUGIN_NAME = "conformance-expectations"

#: Outcomes by precedence: a test's outcome is the highest of its reports' outcomes.
_PRECEDENCE = ("passed", "skipped", "xfailed", "xpassed", "failed", "error")

_XPASS_STRICT = "[XPASS(strict)]"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the plugin's options.

    Args:
        parser: pytest's option parser.
    """
    group = parser.getgroup("conformance", "conformance expectations (conformance/run.py)")
    group.addoption(
        "--conformance-expectations",
        metavar="PATH",
        help="expectations file to apply (set-aside tests, departures)",
    )
    group.addoption(
        "--conformance-line",
        metavar="LINE",
        help="gql line whose entries apply, e.g. 4 or 3.5",
    )
    group.addoption(
        "--conformance-summary",
        metavar="PATH",
        help="write a JSON summary of the run to PATH",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Activate the plugin when an expectations file is given.

    Args:
        config: The pytest configuration.

    Raises:
        pytest.UsageError: The options are incomplete or the file is malformed.
    """
    path = config.getoption("conformance_expectations")
    if not path:
        return
    line = config.getoption("conformance_line")
    if not line:
        raise pytest.UsageError("--conformance-expectations needs --conformance-line")
    try:
        expectations = load_line(Path(path), line)
    except ExpectationsError as error:
        raise pytest.UsageError(str(error)) from error
    summary = config.getoption("conformance_summary")
    plugin = ConformancePlugin(expectations, Path(summary) if summary else None)
    config.pluginmanager.register(plugin, PLUGIN_NAME)


def entry_key(item: pytest.Item) -> str:
    """Return the expectations key of a collected test: ``file.py::function``.

    Args:
        item: The collected test.

    Returns:
        The key, without the parametrization.
    """
    function = getattr(item, "originalname", None) or item.name.partition("[")[0]
    return f"{item.path.name}::{function}"


@dataclass(eq=False)  # registered with pluggy, which hashes its plugins
class ConformancePlugin:
    """Applies one gql line's expectations and counts the outcomes.

    Attributes:
        expectations: The line's entries.
        summary_path: Where the JSON summary goes, or None.  Next to it, a
            file with the suffix ``.running`` holds the id of the test being
            run, if any (for a run stopped by force).
    """

    expectations: LineExpectations
    summary_path: Path | None
    collected: int = 0
    matched: dict[str, list[str]] = field(default_factory=dict)
    set_aside_ids: set[str] = field(default_factory=set)
    departure_ids: set[str] = field(default_factory=set)
    deselected_total: int = 0
    started: list[str] = field(default_factory=list)
    in_progress: str | None = None
    outcomes: dict[str, str] = field(default_factory=dict)
    collection_errors: list[str] = field(default_factory=list)
    pytest_stats: str | None = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Deselect the set-aside tests and mark the departures as strict xfail.

        Runs first, before ``-k`` and ``-m`` deselect anything.

        Args:
            config: The pytest configuration.
            items: The collected tests, modified in place.
        """
        self.collected = len(items)
        kept: list[pytest.Item] = []
        deselected: list[pytest.Item] = []
        for item in items:
            key = entry_key(item)
            if key in self.expectations.set_aside:
                self.matched.setdefault(key, []).append(item.nodeid)
                self.set_aside_ids.add(item.nodeid)
                deselected.append(item)
                continue
            departure = self.expectations.departures.get(key)
            if departure is not None:
                self.matched.setdefault(key, []).append(item.nodeid)
                self.departure_ids.add(item.nodeid)
                item.add_marker(
                    pytest.mark.xfail(strict=True, reason=f"departure: {departure.text}")
                )
            kept.append(item)
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = kept

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        """Count every deselected test, ours and those of ``-k``/``-m``.

        Args:
            items: The tests deselected.
        """
        self.deselected_total += len(items)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """Remember the collectors that failed (a test file that does not import).

        Args:
            report: The collection report.
        """
        if report.failed:
            self.collection_errors.append(report.nodeid)

    def pytest_runtest_logstart(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        """Note the test that starts, for a run that has to be stopped.

        Args:
            nodeid: The test's id.
            location: Its file, line and name (unused).
        """
        del location
        self.started.append(nodeid)
        self.in_progress = nodeid
        if self.summary_path is not None:
            self.summary_path.with_suffix(".running").write_text(nodeid + "\n", encoding="utf-8")

    def pytest_runtest_logfinish(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        """Note that the test has finished (all its phases).

        Args:
            nodeid: The test's id.
            location: Its file, line and name (unused).
        """
        del nodeid, location
        self.in_progress = None
        if self.summary_path is not None:
            self.summary_path.with_suffix(".running").unlink(missing_ok=True)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Record the outcome of one phase (setup, call, teardown) of a test.

        Args:
            report: The phase's report.
        """
        outcome = _outcome(report)
        if outcome is None:
            return
        previous = self.outcomes.get(report.nodeid)
        if previous is None or _PRECEDENCE.index(outcome) > _PRECEDENCE.index(previous):
            self.outcomes[report.nodeid] = outcome

    def unmatched(self) -> list[Entry]:
        """Return the entries that matched no collected test.

        Returns:
            The entries, set-aside ones first.
        """
        return [entry for entry in self.expectations.entries() if entry.key not in self.matched]

    def counts(self) -> dict[str, int]:
        """Return the counts of the run.

        Returns:
            Collected, set aside, otherwise deselected, run, and per outcome.
        """
        set_aside = len(self.set_aside_ids)
        values = list(self.outcomes.values())
        return {
            "collected": self.collected,
            "set_aside": set_aside,
            "deselected_other": self.deselected_total - set_aside,
            "run": len(dict.fromkeys(self.started)),
            "passed": values.count("passed"),
            "failed": values.count("failed"),
            "errors": values.count("error"),
            "skipped": values.count("skipped"),
            "xfailed": values.count("xfailed"),
            "xpassed": values.count("xpassed"),
            "collection_errors": len(self.collection_errors),
        }

    def summary(self, exitstatus: int) -> dict[str, Any]:
        """Return the machine-readable summary of the run.

        Args:
            exitstatus: The session's exit status.

        Returns:
            A JSON-serializable mapping.
        """
        return {
            "gql_line": self.expectations.line,
            "exitstatus": exitstatus,
            "counts": self.counts(),
            "pytest_stats": self.pytest_stats,
            "in_progress": self.in_progress,
            "set_aside": [
                {"test": entry.key, "reads": entry.text, "items": len(self.matched.get(key, []))}
                for key, entry in sorted(self.expectations.set_aside.items())
            ],
            "departures": [
                {
                    "test": entry.key,
                    "reason": entry.text,
                    "items": [
                        {"nodeid": nodeid, "outcome": self.outcomes.get(nodeid, "not run")}
                        for nodeid in self.matched.get(key, [])
                    ],
                }
                for key, entry in sorted(self.expectations.departures.items())
            ],
            "unmatched": [{"test": entry.key, "kind": entry.kind} for entry in self.unmatched()],
            "failed": sorted(
                nodeid
                for nodeid, outcome in self.outcomes.items()
                if outcome in ("failed", "error")
            ),
            "unexpected_passes": sorted(
                nodeid for nodeid, outcome in self.outcomes.items() if outcome == "xpassed"
            ),
            "collection_errors": self.collection_errors,
        }

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Fail the session on an unmatched entry, and write the JSON summary.

        Args:
            session: The test session; its exit status is raised to
                ``TESTS_FAILED`` when an entry matched nothing.
            exitstatus: The exit status so far.
        """
        del exitstatus
        if self.unmatched() and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        self.pytest_stats = _stats_line(session.config)
        if self.summary_path is not None:
            self.summary_path.write_text(
                json.dumps(self.summary(int(session.exitstatus)), indent=2) + "\n",
                encoding="utf-8",
            )

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """Report the expectations: set aside, departures, unmatched entries.

        Args:
            terminalreporter: pytest's terminal reporter.
        """
        write = terminalreporter.write_line
        terminalreporter.section(f"conformance expectations, gql line {self.expectations.line}")
        counts = self.counts()
        write(
            f"{counts['set_aside']} tests set aside "
            f"({len(self.expectations.set_aside)} entries: gql internals or exact JSON text)"
        )
        for entry in self.expectations.departures.values():
            for nodeid in self.matched.get(entry.key, []):
                outcome = self.outcomes.get(nodeid, "not run")
                shown = "failed as expected" if outcome == "xfailed" else outcome
                write(f"departure {nodeid}: {shown}", red=outcome != "xfailed")
        for entry in self.unmatched():
            write(f"UNMATCHED {entry.kind} entry {entry.key}: no collected test", red=True)


def _outcome(report: pytest.TestReport) -> str | None:
    if hasattr(report, "wasxfail"):
        if report.skipped:
            return "xfailed"
        return "xpassed" if report.passed else None
    if report.failed:
        if report.when == "call":
            longrepr = report.longrepr
            if isinstance(longrepr, str) and longrepr.startswith(_XPASS_STRICT):
                return "xpassed"
            return "failed"
        return "error"
    if report.skipped:
        return "skipped"
    if report.when == "call":
        return "passed"
    return None


def _stats_line(config: pytest.Config) -> str | None:
    """Return the counts of pytest's closing line, e.g. ``80 passed, 21 deselected``."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:  # -p no:terminal
        return None
    try:
        parts, _ = reporter.build_summary_stats_line()
    except AttributeError:  # its API changed
        return None
    return ", ".join(str(text) for text, _markup in parts) or None
