"""Soak test: a thousand subscriptions through one reconnecting transport, for minutes.

    python soak/run.py --minutes 1          # what .ci/run does (as --seconds 60)
    python soak/run.py --minutes 5 --seed 7
    nox -s soak -- 5                        # minutes; 1 by default

One ``AIOHTTPWebsocketsTransport`` with ``reconnect=RetryPolicy(attempts=None)``
carries ``--workers`` (1000) subscription loops to the package's own
``GraphQLWebsocketServer``.  Each loop opens ``ticks``, consumes a random
number of results, leaves (``break``, or ``aclosing()`` for half of them),
and opens again; one stream in ten is short and completes by itself instead.
One loop in fifty follows the server's global ``sequence`` instead, for the
whole run: the same numbers on every connection, each to come once and in
order, none missing except across a reconnection's gap (a renewal's two
copies line up on them).  One loop in ten is a slow consumer, sleeping after each result of a stream
that outpaces it, so that its queue grows until it leaves; one in fifty holds
a single subscription for the whole run, across every reconnection.  Every
2-6 s the server drops every TCP connection, closes them with 1001 or 1012,
or refuses the next upgrade with 503 and then drops (so that an attempt
fails before one succeeds); or the client renews its connection
(``transport.renew()``: a new connection made before the old one closes).

Every ``--interval`` seconds a row is printed: the client's RSS and its
growth since warm-up, the server's RSS, asyncio tasks, open operations,
results queued, subscriptions opened, results received (and per second),
results lost, duplicated, reconnections, errors, and stalled loops.

Within a connection no result may be lost or seen twice.  ``ticks`` emits
0, 1, 2, ... and starts over at 0 when a subscription is sent again on a new
connection, so each loop checks that every value is the previous one plus
one, or 0 for at most one new start per reconnection since the loop opened
(the results of the old connection still queued are delivered first, so the
reconnection is counted, not timed).  A renewal starts each stream over on
the new connection too, and the old copy may still deliver a few values
after the new copy's first: a value that continues the previous run is
neither lost nor duplicated.  A first value other than 0 and a gap
are losses (each missing value counts); any other value is a duplicate.  A
stream that completed by itself must end at its last value.

Pass, all of:

- no result lost or duplicated;
- no exception out of a subscription loop (with ``attempts=None`` even the
  documented ones, ``TransportConnectionFailed`` and the like, have no reason
  to occur), nothing logged at WARNING or above (``Task exception was never
  retrieved``, unclosed sessions), the transport never closed by itself, and
  the server met no error;
- after warm-up (the first 20 % of the run, at least 10 s) the task count
  never exceeds the one at the end of warm-up by more than ``TASK_SLACK``
  (the transient tasks of a reconnection and of the finalizers that close
  generators left by ``break``), nor ends more than that apart from it;
- after warm-up the client's RSS never exceeds the one at the end of warm-up
  by more than ``RSS_BOUND_MB`` (4 MB, 8 % of it).  Measured on this load
  (Python 3.11, two cores, about 900 results and 80 subscriptions a second):
  the client settles at about 50 MB; with a transport that lets go of its old
  connections it then gains 0.6-1 MB in the next 50 s and levels off at
  +1.4 MB for the rest of a 3-minute run.  4 MB is about three times that.
  In the 48 s after the warm-up of CI's 60 s it is crossed by any leak of
  80 KB/s or more: about 1 KB per subscription opened (its generator frame,
  its queue), or 90 B per result received (its frame's text); slower leaks
  need the longer runs (``--minutes 3`` and up).  A transport whose
  subscriptions each keep alive the connection they were opened on grows by
  about 1.9 MB a minute here, linearly, and fails a 3-minute run;
- at least one reconnection and one renewal, and results received in every sampling interval
  after warm-up; no loop without a result for ``STALL_SECONDS``;
- at the end every loop leaves within ``STOP_TIMEOUT``, ``close()`` returns
  within ``CLOSE_TIMEOUT``, no operation and no task is left, and the server
  exits cleanly.  The whole run, shutdown included, ends within the duration
  plus 30 s, or fails.

The server runs in a child process (``soak/server.py``), not in this one: the
client's RSS and task count are then the transport's alone, with neither the
server's records of every message nor its per-operation tasks mixed in; the
two processes use two cores, so that the server keeps up with a thousand
streams; and a problem in the server cannot hide one in the client, nor the
reverse.  All traffic stays on 127.0.0.1.

Linux only (RSS is read from ``/proc``).  Exit status 0 on pass, 1 on failure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gql import gql
from gql.transport.exceptions import TransportClosed, TransportQueryError
from graphql import ExecutionResult

from gql_aiohttp_websockets import (
    AIOHTTPWebsocketsTransport,
    Closed,
    Connected,
    ConnectionInterrupted,
    Disconnected,
    QueueFullError,
    RenewalFailed,
    RenewalStarted,
    Renewed,
    Resubscribed,
    Retrying,
    RetryPolicy,
    TransportConnectionFailed,
    TransportEvent,
)

HERE = Path(__file__).resolve().parent

#: Growth of the client's RSS allowed after warm-up (see the module docstring).
RSS_BOUND_MB = 4.0
#: Tasks allowed above the count at the end of warm-up (see the module docstring).
TASK_SLACK = 40
#: A loop that received nothing for this long is stalled (the slowest stream emits every 2 s).
STALL_SECONDS = 15.0
#: Seconds the loops have to leave once told to stop (the slowest waits 2 s for a result).
STOP_TIMEOUT = 5.0
#: Seconds a renewal has, and what it may fail with while a fault's gap is under way.
RENEW_TIMEOUT = 30.0
RENEWAL_ERRORS = (TransportConnectionFailed, ConnectionInterrupted)
#: Seconds ``connect()`` and ``close()`` each have.
CONNECT_TIMEOUT = 10.0
CLOSE_TIMEOUT = 5.0
#: Seconds the server has to start, to answer a command, and to exit.
SERVER_TIMEOUT = 5.0
#: Beyond the duration, the whole run (start and shutdown) must end within this; the
#: steps above fit in it, and a watchdog ends the process a little later whatever happens.
OVERRUN_SECONDS = 30.0
WATCHDOG_GRACE = 15.0

#: Milliseconds between the results of an ordinary stream.
STREAM_DELAYS_MS = (200, 500, 1000, 2000)
#: Results an ordinary loop consumes before it leaves.
TAKE = (1, 20)
#: The share of loops that are slow consumers, and of those that hold one subscription open
#: for the whole run, across every reconnection.
SLOW_SHARE = 0.1
HOLDER_SHARE = 0.02
#: The share of loops that follow the server's global sequence for the whole run
#: (the numbers a renewal's two copies line up on).
FOLLOWER_SHARE = 0.02
#: A slow consumer's stream, how long it sleeps after each result (seconds), and how many
#: results it takes.
SLOW_STREAM_DELAY_MS = 200
SLOW_SLEEP = (0.3, 0.8)
SLOW_TAKE = (10, 60)
#: A holder's stream.
HOLDER_STREAM_DELAY_MS = 1000
#: The share of an ordinary loop's streams that are short and complete by themselves,
#: their length and pace (short and quick, so that most end before the next fault).
FINITE_SHARE = 0.1
FINITE_COUNT = (1, 10)
FINITE_DELAYS_MS = (20, 50, 100)
#: A stream that in practice never completes.
ENDLESS_COUNT = 1_000_000

#: Seconds between two faults, and the faults with their weights.
CHAOS_PAUSE = (2.0, 6.0)
FAULTS: tuple[tuple[str, int], ...] = (
    ("drop", 4),
    ("close 1001 going away", 2),
    ("close 1012 service restart", 2),
    ("refuse-then-drop", 1),
    ("renew", 3),
)

#: The exceptions ``subscribe()`` documents.
DOCUMENTED_ERRORS: tuple[type[Exception], ...] = (
    TransportQueryError,
    TransportConnectionFailed,
    TransportClosed,
    QueueFullError,
)

SEQUENCE = gql("subscription Sequence { sequence }")
TICKS = gql(
    "subscription Ticks($count: Int, $delay: Int) { ticks(count: $count, delay_ms: $delay) }"
)

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_MB = 1024 * 1024


def rss_mb(pid: int | str = "self") -> float:
    """Return the resident set size of a process in MiB (0.0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
            resident = int(statm.read().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return resident * _PAGE_SIZE / _MB


@dataclass(frozen=True)
class Settings:
    """What one run does.

    Attributes:
        seconds: How long the subscriptions run.
        seed: Seeds every random choice of the run.
        workers: How many subscription loops.
        interval: Seconds between two rows of the table.
    """

    seconds: float
    seed: int
    workers: int
    interval: float

    @property
    def warmup(self) -> float:
        """Seconds of warm-up: the first 20 % of the run, at least 10 s."""
        return max(10.0, 0.2 * self.seconds)


class ServerProcess:
    """``soak/server.py`` as a child process, spoken to one line at a time."""

    def __init__(self, max_seconds: float) -> None:
        self._max_seconds = max_seconds
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self.url = ""
        #: The warnings the server issued, known once it quit (see ``soak/server.py``).
        self.warnings = 0

    @property
    def pid(self) -> int:
        """The child's process id."""
        assert self._process is not None
        return self._process.pid

    async def start(self) -> None:
        """Start the server and wait for its port.

        Raises:
            RuntimeError: It did not report ready within ``SERVER_TIMEOUT``.
        """
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(HERE / "server.py"),
            "--max-seconds",
            str(self._max_seconds),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        line = await self._read_line()
        if not line.startswith("READY "):
            raise RuntimeError(f"the soak server did not start: {line!r}")
        self.url = f"ws://127.0.0.1:{int(line.split()[1])}/graphql"

    async def _read_line(self) -> str:
        assert self._process is not None
        assert self._process.stdout is not None
        raw = await asyncio.wait_for(self._process.stdout.readline(), SERVER_TIMEOUT)
        return raw.decode().strip()

    async def command(self, text: str) -> str:
        """Send one command and return the server's answer.

        Raises:
            RuntimeError: The server refused the command.
            asyncio.TimeoutError: It did not answer within ``SERVER_TIMEOUT``.
        """
        assert self._process is not None
        assert self._process.stdin is not None
        async with self._lock:
            self._process.stdin.write(f"{text}\n".encode())
            await asyncio.wait_for(self._process.stdin.drain(), SERVER_TIMEOUT)
            answer = await self._read_line()
        if not answer.startswith("ok"):
            raise RuntimeError(f"the soak server answered {text!r} with {answer!r}")
        return answer

    async def stop(self) -> str:
        """Ask the server to quit; kill it if it does not within ``SERVER_TIMEOUT``.

        Returns:
            What went wrong, or an empty string.
        """
        process = self._process
        if process is None:
            return ""
        try:
            async with self._lock:
                assert process.stdin is not None
                process.stdin.write(b"quit\n")
                process.stdin.close()
                last = await self._read_line()
                # A command cancelled between its write and its answer (the chaos task
                # ends mid-fault) leaves that answer unread; the quit report names warnings.
                while last and "warnings=" not in last:
                    last = await self._read_line()
            status = await asyncio.wait_for(process.wait(), SERVER_TIMEOUT)
        except (OSError, asyncio.TimeoutError) as error:
            self.kill()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(process.wait(), SERVER_TIMEOUT)
            return f"the server did not quit ({error!r}); killed"
        counts = dict(word.partition("=")[::2] for word in last.split()[1:])
        self.warnings = int(counts.get("warnings", "0"))
        if not last.startswith("ok") or counts.get("handler_errors") != "0":
            return f"the server reported {last!r} on its way out"
        if status != 0:
            return f"the server exited with status {status}"
        return ""

    def kill(self) -> None:
        """Kill the server if it still runs (never waits)."""
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()


class Runs:
    """The values one subscription loop received, checked as runs of 0, 1, 2, ...

    Args:
        generation: The transport's connection generation when the loop opened.
    """

    __slots__ = ("last", "opened_generation", "restarts", "tail")

    def __init__(self, generation: int) -> None:
        self.opened_generation = generation
        self.restarts = 0
        self.last = -1
        # The run before the last start: across a renewal the old connection's
        # copy may still deliver a few values after the new copy's first.
        self.tail = -1

    def see(self, value: int, generation: int) -> tuple[int, int]:
        """Check the next value, given the generation now.

        Returns:
            ``(lost, duplicated)``: how many values went missing before this
            one, and whether this one was seen before (1) or not (0).
        """
        last = self.last
        if value == last + 1:
            self.last = value
            return 0, 0
        if value == 0 and self.restarts < generation - self.opened_generation:
            self.restarts += 1
            self.tail, self.last = last, 0
            return 0, 0
        if self.tail >= 0 and value == self.tail + 1:
            self.tail = value
            return 0, 0
        self.last = value
        if value > last + 1:
            return value - last - 1, 0
        return 0, 1


@dataclass
class Ledger:
    """Everything counted during a run."""

    opened: int = 0
    completed: int = 0
    left: int = 0
    received: int = 0
    lost: int = 0
    duplicated: int = 0
    generation: int = 0
    reconnects: int = 0
    resubscribed: int = 0
    disconnects: int = 0
    failed_attempts: int = 0
    followed: int = 0
    renewals: int = 0
    renewing: bool = False
    longest_renewal: float = 0.0
    renewal_duplicates: int = 0
    renewals_failed: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    documented: Counter[str] = field(default_factory=Counter)
    unexpected: Counter[str] = field(default_factory=Counter)
    first_errors: list[str] = field(default_factory=list)
    log_records: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        """Exceptions out of the loops, documented or not."""
        return sum(self.documented.values()) + sum(self.unexpected.values())

    def error(self, bucket: Counter[str], error: BaseException) -> None:
        """Count one exception out of a loop, and keep the first few."""
        bucket[type(error).__name__] += 1
        if len(self.first_errors) < 5:
            self.first_errors.append(f"{type(error).__name__}: {error}")


class _LogCounter(logging.Handler):
    """Keeps what is logged at WARNING or above (asyncio's task errors included)."""

    def __init__(self, ledger: Ledger) -> None:
        super().__init__(logging.WARNING)
        self._ledger = ledger

    def emit(self, record: logging.LogRecord) -> None:
        text = f"{record.name} {record.levelname}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({record.exc_info[1]!r})"
        self._ledger.log_records.append(text)
        print(f"  log: {text}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Sample:
    """One row of the table."""

    elapsed: float
    rss: float
    server_rss: float
    tasks: int
    open: int
    queued: int
    opened: int
    received: int
    rate: float
    lost: int
    duplicated: int
    reconnects: int
    errors: int
    stalled: int


def rss_trend(samples: Sequence[Sample]) -> float:
    """Return the least-squares slope of RSS over ``samples``, in MB a minute."""
    if len(samples) < 2:
        return 0.0
    mean_t = sum(sample.elapsed for sample in samples) / len(samples)
    mean_rss = sum(sample.rss for sample in samples) / len(samples)
    spread = sum((sample.elapsed - mean_t) ** 2 for sample in samples)
    covariance = sum((sample.elapsed - mean_t) * (sample.rss - mean_rss) for sample in samples)
    return 60.0 * covariance / spread if spread else 0.0


_HEADER = (
    f"{'time s':>7} {'RSS MB':>7} {'+RSS':>6} {'srv MB':>7} {'tasks':>6} {'open':>5} "
    f"{'queued':>7} {'opened':>8} {'received':>10} {'per s':>7} {'lost':>5} {'dup':>5} "
    f"{'reconn':>6} {'errors':>6} {'stall':>5}"
)


def _row(sample: Sample, baseline: float | None) -> str:
    growth = "" if baseline is None else f"{sample.rss - baseline:+.1f}"
    return (
        f"{sample.elapsed:7.1f} {sample.rss:7.1f} {growth:>6} {sample.server_rss:7.1f} "
        f"{sample.tasks:6d} {sample.open:5d} {sample.queued:7d} {sample.opened:8d} "
        f"{sample.received:10d} {sample.rate:7.0f} {sample.lost:5d} {sample.duplicated:5d} "
        f"{sample.reconnects:6d} {sample.errors:6d} {sample.stalled:5d}"
    )


class Soak:
    """One soak run: server, transport, loops, faults and the table."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ledger = Ledger()
        self.samples: list[Sample] = []
        self.problems: list[str] = []
        self._rng = random.Random(settings.seed)
        self._stop = asyncio.Event()
        self._progress: list[float] = []
        self._server = ServerProcess(settings.seconds + 2 * OVERRUN_SECONDS)
        self._started = 0.0
        self._baseline: Sample | None = None
        self._tasks_before: set[asyncio.Task[Any]] = set()

    # --------------------------------------------------------------- events

    def _on_event(self, event: TransportEvent) -> None:
        ledger = self.ledger
        if isinstance(event, Connected) and event.attempt > 0:
            # Bumped before the new connection reads anything (see Runs).
            ledger.generation += 1
        elif isinstance(event, RenewalStarted):
            # As for a reconnection: the new copies start over (see Runs).
            ledger.generation += 1
            ledger.renewing = True
        elif isinstance(event, Renewed):
            ledger.renewing = False
            ledger.renewals += 1
            ledger.renewal_duplicates += event.duplicates
            ledger.longest_renewal = max(ledger.longest_renewal, event.seconds)
        elif isinstance(event, RenewalFailed):
            ledger.renewing = False
        elif isinstance(event, Resubscribed):
            ledger.reconnects += 1
            ledger.resubscribed += event.count
        elif isinstance(event, Disconnected):
            ledger.disconnects += 1
        elif isinstance(event, Retrying) and event.attempt > 1:
            ledger.failed_attempts += 1
        elif isinstance(event, Closed) and not self._stop.is_set():
            self.problems.append(f"the transport closed by itself: {event.error!r}")

    # ---------------------------------------------------------------- loops

    async def _worker(self, index: int, transport: AIOHTTPWebsocketsTransport) -> None:
        rng = random.Random(self.settings.seed * 1_000_003 + index)
        role = rng.random()
        slow = role < SLOW_SHARE
        holder = not slow and role < SLOW_SHARE + HOLDER_SHARE
        if not slow and not holder and role < SLOW_SHARE + HOLDER_SHARE + FOLLOWER_SHARE:
            await self._follow(index, transport)
            return
        explicit_close = index % 2 == 0
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            self._progress[index] = loop.time()
            # take 0: consume until the stream completes, or the run ends.
            if slow:
                count, delay, take = ENDLESS_COUNT, SLOW_STREAM_DELAY_MS, rng.randint(*SLOW_TAKE)
            elif holder:
                count, delay, take = ENDLESS_COUNT, HOLDER_STREAM_DELAY_MS, 0
            elif rng.random() < FINITE_SHARE:
                count, delay, take = rng.randint(*FINITE_COUNT), rng.choice(FINITE_DELAYS_MS), 0
            else:
                count, delay, take = ENDLESS_COUNT, rng.choice(STREAM_DELAYS_MS), rng.randint(*TAKE)
            pause: Callable[[], float] | None = (lambda: rng.uniform(*SLOW_SLEEP)) if slow else None
            stream = transport.subscribe(TICKS, variable_values={"count": count, "delay": delay})
            try:
                if explicit_close:
                    async with contextlib.aclosing(stream):
                        await self._consume(index, stream, count, take, pause)
                else:
                    await self._consume(index, stream, count, take, pause)
            except DOCUMENTED_ERRORS as error:
                self.ledger.error(self.ledger.documented, error)
                await asyncio.sleep(0.1)
            except Exception as error:
                self.ledger.error(self.ledger.unexpected, error)
                await asyncio.sleep(0.1)
            del stream

    async def _follow(self, index: int, transport: AIOHTTPWebsocketsTransport) -> None:
        # One sequence subscription for the whole run: the server's global
        # numbers, the same on every connection, so that a renewal's copies
        # line up.  Each number must come once, in order; numbers may be
        # missing only across a reconnection (its gap), never a renewal.
        ledger = self.ledger
        progress = self._progress
        loop = asyncio.get_running_loop()
        last, reconnects = 0, ledger.reconnects + ledger.disconnects
        try:
            async for result in transport.subscribe(SEQUENCE):
                progress[index] = loop.time()
                value = result.data["sequence"] if result.data else None
                if not isinstance(value, int):
                    raise AssertionError(f"unexpected result {result!r}")
                ledger.received += 1
                ledger.followed += 1
                now = ledger.reconnects + ledger.disconnects
                if last and value <= last:
                    ledger.duplicated += 1
                elif last and value > last + 1 and now == reconnects:
                    ledger.lost += value - last - 1
                last, reconnects = max(last, value), now
                if self._stop.is_set():
                    break
        except DOCUMENTED_ERRORS as error:
            self.ledger.error(self.ledger.documented, error)
        except Exception as error:
            self.ledger.error(self.ledger.unexpected, error)

    async def _consume(
        self,
        index: int,
        stream: AsyncGenerator[ExecutionResult, None],
        count: int,
        take: int,
        pause: Callable[[], float] | None,
    ) -> None:
        ledger = self.ledger
        progress = self._progress
        loop = asyncio.get_running_loop()
        # Opened during a renewal, a subscription may yet be moved by it.
        runs = Runs(ledger.generation - ledger.renewing)
        ledger.opened += 1
        seen = 0
        async for result in stream:
            progress[index] = loop.time()
            ledger.received += 1
            seen += 1
            value = result.data["ticks"] if result.data else None
            if not isinstance(value, int) or result.errors:
                raise AssertionError(f"unexpected result {result!r}")
            lost, duplicated = runs.see(value, ledger.generation)
            ledger.lost += lost
            ledger.duplicated += duplicated
            if pause is not None:
                await asyncio.sleep(pause())
            if seen == take or self._stop.is_set():
                ledger.left += 1
                break
        else:
            ledger.completed += 1
            # complete follows the last value on the connection that sent it.
            ledger.lost += count - 1 - runs.last

    # --------------------------------------------------------------- faults

    async def _chaos(self, transport: AIOHTTPWebsocketsTransport) -> None:
        names = [name for name, _ in FAULTS]
        weights = [weight for _, weight in FAULTS]
        while True:
            await asyncio.sleep(self._rng.uniform(*CHAOS_PAUSE))
            fault = self._rng.choices(names, weights)[0]
            if fault == "refuse-then-drop":
                await self._server.command("refuse 503 1")
                await self._server.command("drop")
            elif fault == "renew":
                try:
                    await asyncio.wait_for(transport.renew(), RENEW_TIMEOUT)
                except RENEWAL_ERRORS as error:
                    # Between connections (a fault's gap) there is nothing to renew.
                    self.ledger.renewals_failed[type(error).__name__] += 1
            else:
                await self._server.command(fault)
            self.ledger.faults[fault] += 1

    # --------------------------------------------------------------- sampling

    def _sample(self, elapsed: float, transport: AIOHTTPWebsocketsTransport) -> Sample:
        ledger = self.ledger
        now = asyncio.get_running_loop().time()
        previous = self.samples[-1] if self.samples else None
        since = elapsed - (previous.elapsed if previous else 0.0)
        received_before = previous.received if previous else 0
        queues = transport.queue_stats()
        return Sample(
            elapsed=elapsed,
            rss=rss_mb(),
            server_rss=rss_mb(self._server.pid),
            tasks=len(asyncio.all_tasks()),
            open=len(queues),
            queued=sum(stats.queued for stats in queues),
            opened=ledger.opened,
            received=ledger.received,
            rate=(ledger.received - received_before) / since if since > 0 else 0.0,
            lost=ledger.lost,
            duplicated=ledger.duplicated,
            reconnects=ledger.reconnects,
            errors=ledger.errors,
            stalled=sum(1 for stamp in self._progress if now - stamp > STALL_SECONDS),
        )

    async def _table(self, transport: AIOHTTPWebsocketsTransport) -> None:
        settings = self.settings
        loop = asyncio.get_running_loop()
        print(_HEADER, flush=True)
        tick = 0
        while True:
            tick += 1
            target = self._started + min(tick * settings.interval, settings.seconds)
            await asyncio.sleep(max(0.0, target - loop.time()))
            sample = self._sample(loop.time() - self._started, transport)
            self.samples.append(sample)
            if self._baseline is None and sample.elapsed >= settings.warmup - 0.5:
                self._baseline = sample
            baseline = None if self._baseline is None else self._baseline.rss
            print(_row(sample, baseline), flush=True)
            if sample.elapsed >= settings.seconds - 0.5:
                return

    # ------------------------------------------------------------------ run

    async def run(self) -> None:
        """Start the server, run the loops and faults for the duration, and shut down."""
        self._tasks_before = asyncio.all_tasks()
        await self._server.start()
        try:
            await self._run_transport()
        finally:
            try:
                problem = await self._server.stop()
                if problem:
                    self.problems.append(problem)
            finally:
                self._server.kill()

    async def _run_transport(self) -> None:
        settings = self.settings
        transport = AIOHTTPWebsocketsTransport(
            url=self._server.url,
            subprotocols=["graphql-transport-ws"],
            reconnect=RetryPolicy(attempts=None, wait=lambda attempt: min(1.0, 0.05 * attempt)),
            on_event=self._on_event,
        )
        await asyncio.wait_for(transport.connect(), CONNECT_TIMEOUT)
        loop = asyncio.get_running_loop()
        self._started = loop.time()
        self._progress = [self._started] * settings.workers
        workers = [
            asyncio.ensure_future(self._worker(index, transport))
            for index in range(settings.workers)
        ]
        chaos = asyncio.ensure_future(self._chaos(transport))
        table = asyncio.ensure_future(self._table(transport))
        try:
            await asyncio.wait([table, chaos], return_when=asyncio.FIRST_COMPLETED)
            if chaos.done():
                self.problems.append(f"the fault injector failed: {chaos.exception()!r}")
            elif table.done() and table.exception() is not None:
                self.problems.append(f"the sampler failed: {table.exception()!r}")
        finally:
            self._stop.set()
            for task in (chaos, table):
                task.cancel()
            await asyncio.wait([chaos, table])
            await self._stop_workers(workers)
            await self._close(transport)

    async def _stop_workers(self, workers: list[asyncio.Task[None]]) -> None:
        _, pending = await asyncio.wait(workers, timeout=STOP_TIMEOUT)
        if pending:
            self.problems.append(
                f"{len(pending)} subscription loops did not leave within {STOP_TIMEOUT:g} s"
            )
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=STOP_TIMEOUT)
        for task in workers:
            if task.done() and not task.cancelled() and task.exception() is not None:
                self.problems.append(f"a subscription loop crashed: {task.exception()!r}")

    async def _close(self, transport: AIOHTTPWebsocketsTransport) -> None:
        try:
            await asyncio.wait_for(transport.close(), CLOSE_TIMEOUT)
        except asyncio.TimeoutError:
            self.problems.append(f"close() did not return within {CLOSE_TIMEOUT:g} s")
        if transport.listeners:
            self.problems.append(f"{len(transport.listeners)} operations left after close()")
        # Let the finalizers of generators left by break run out.
        for _ in range(5):
            await asyncio.sleep(0)
        left = asyncio.all_tasks() - self._tasks_before
        if left:
            names = ", ".join(sorted(repr(task.get_coro()) for task in left)[:3])
            self.problems.append(f"{len(left)} tasks left after close(): {names}")

    # -------------------------------------------------------------- verdict

    def verdict(self) -> list[str]:
        """Return why the run failed (empty when it passed)."""
        ledger = self.ledger
        reasons = list(self.problems)
        if ledger.lost or ledger.duplicated:
            reasons.append(f"{ledger.lost} results lost, {ledger.duplicated} duplicated")
        if ledger.unexpected:
            reasons.append(f"undocumented exceptions: {dict(ledger.unexpected)}")
        if ledger.documented:
            reasons.append(
                f"documented exceptions where none should occur: {dict(ledger.documented)}"
            )
        if ledger.log_records:
            reasons.append(f"{len(ledger.log_records)} records logged at WARNING or above")
        if ledger.reconnects == 0:
            reasons.append("no reconnection happened")
        if ledger.faults["renew"] and not ledger.renewals:
            reasons.append(f"no renewal went through: {dict(ledger.renewals_failed)}")
        baseline = self._baseline
        after = [
            sample for sample in self.samples if baseline and sample.elapsed > baseline.elapsed
        ]
        if baseline is None or not after:
            reasons.append("the run was too short to measure anything after warm-up")
            return reasons
        top_rss = max(sample.rss for sample in after)
        if top_rss - baseline.rss > RSS_BOUND_MB:
            reasons.append(
                f"RSS grew by {top_rss - baseline.rss:.1f} MB after warm-up "
                f"(bound {RSS_BOUND_MB:g} MB)"
            )
        top_tasks = max(sample.tasks for sample in after)
        if (
            top_tasks - baseline.tasks > TASK_SLACK
            or abs(after[-1].tasks - baseline.tasks) > TASK_SLACK
        ):
            reasons.append(
                f"tasks went from {baseline.tasks} to at most {top_tasks}, {after[-1].tasks} "
                f"at the end (slack {TASK_SLACK})"
            )
        dry = [sample.elapsed for sample in after if sample.rate <= 0]
        if dry:
            reasons.append(f"no result received in the interval ending at {dry[0]:.0f} s")
        stalled = max(sample.stalled for sample in self.samples)
        if stalled:
            reasons.append(f"up to {stalled} loops went {STALL_SECONDS:g} s without a result")
        return reasons

    def summary(self) -> str:
        """The totals of the run, for the end of the report."""
        ledger = self.ledger
        baseline = self._baseline
        lines = [
            f"subscriptions opened {ledger.opened}, left early {ledger.left}, "
            f"completed {ledger.completed}; results received {ledger.received}",
            f"faults {dict(ledger.faults)}; disconnects {ledger.disconnects}, "
            f"failed attempts {ledger.failed_attempts}, reconnects {ledger.reconnects} "
            f"({ledger.resubscribed} subscriptions sent again), renewals {ledger.renewals} "
            f"(the longest {ledger.longest_renewal:.2f} s, "
            f"{ledger.renewal_duplicates} duplicates dropped, failed "
            f"{dict(ledger.renewals_failed)})",
            f"lost {ledger.lost}, duplicated {ledger.duplicated} (of which {ledger.followed} "
            "results of the global sequence); exceptions: documented "
            f"{dict(ledger.documented)}, undocumented {dict(ledger.unexpected)}",
        ]
        if baseline is not None and self.samples:
            after = [sample for sample in self.samples if sample.elapsed >= baseline.elapsed]
            lines.append(
                f"after warm-up ({baseline.elapsed:.0f} s): RSS {baseline.rss:.1f} MB, "
                f"at most {max(s.rss for s in after):.1f} MB (bound +{RSS_BOUND_MB:g}), "
                f"trend {rss_trend(after):+.2f} MB/min; tasks {baseline.tasks}, "
                f"at most {max(s.tasks for s in after)} (slack {TASK_SLACK})"
            )
        if self._server.warnings:
            lines.append(
                f"the server issued {self._server.warnings} warnings (on its standard error; "
                "the server is not what is soaked, so they do not fail the run)"
            )
        lines.extend(f"first error: {text}" for text in ledger.first_errors)
        lines.extend(f"logged: {text}" for text in ledger.log_records[:5])
        return "\n".join(lines)


async def soak(settings: Settings) -> int:
    """Run the soak and print the table and the verdict.

    Returns:
        The exit status: 0 on pass, 1 on failure.
    """
    run = Soak(settings)
    logging.getLogger().addHandler(_LogCounter(run.ledger))
    logging.captureWarnings(True)
    warnings.simplefilter("default", ResourceWarning)
    print(
        f"soak: {settings.seconds:g} s, seed {settings.seed}, {settings.workers} subscription "
        f"loops, a row every {settings.interval:g} s, warm-up {settings.warmup:g} s; pass bounds: "
        f"RSS +{RSS_BOUND_MB:g} MB, tasks +{TASK_SLACK}, no loss or duplicate",
        flush=True,
    )
    started = time.monotonic()
    try:
        await asyncio.wait_for(run.run(), settings.seconds + OVERRUN_SECONDS)
    except asyncio.TimeoutError:
        run.problems.append(f"the run did not end within {settings.seconds + OVERRUN_SECONDS:g} s")
    except Exception as error:
        run.problems.append(f"the run failed: {error!r}")
    print(run.summary())
    reasons = run.verdict()
    took = time.monotonic() - started
    if reasons:
        print(f"FAIL after {took:.0f} s (seed {settings.seed}):")
        for reason in reasons:
            print(f"  - {reason}")
        return 1
    print(f"PASS after {took:.0f} s (seed {settings.seed})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the soak."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    duration = parser.add_mutually_exclusive_group()
    duration.add_argument("--minutes", type=float, help="how long to run (default 1)")
    duration.add_argument("--seconds", type=float, help="how long to run, in seconds")
    parser.add_argument("--seed", type=int, help="seed of every random choice (default: random)")
    parser.add_argument("--workers", type=int, default=1000, help="subscription loops (1000)")
    parser.add_argument(
        "--interval", type=float, help="seconds between rows (default: 5, or duration / 20)"
    )
    args = parser.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else 60.0 * (args.minutes or 1.0)
    if seconds <= 0 or args.workers < 1:
        parser.error("the duration and --workers must be positive")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1_000_000)
    interval = args.interval or max(5.0, seconds / 20)
    watchdog = _watchdog(seconds + OVERRUN_SECONDS + WATCHDOG_GRACE)
    try:
        return asyncio.run(soak(Settings(seconds, seed, args.workers, interval)))
    finally:
        watchdog.cancel()


def _watchdog(seconds: float) -> threading.Timer:
    """End the process after ``seconds``, whatever it is doing (a hang in shutdown)."""

    def expire() -> None:
        print(f"FAIL: the soak did not end within {seconds:g} s", file=sys.stderr, flush=True)
        # The server child quits by itself once its standard input closes.
        os._exit(1)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    return timer


if __name__ == "__main__":
    sys.exit(main())
