"""Running ``gql-ws`` as a user does: a child process, read and waited for with timeouts."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from gql_aiohttp_websockets.testing import scaled_timeout

#: How the tests start the command (the console script is tested on its own).
COMMAND = (sys.executable, "-m", "gql_aiohttp_websockets")
# A child's start-up (interpreter, imports) dominates: generous, then scaled.
STARTUP_AND_RUN = 30.0


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a child: ours, a fixed terminal width, and ``extra``."""
    environment = dict(os.environ)
    environment["COLUMNS"] = "200"
    environment.update(extra or {})
    return environment


@dataclass(frozen=True)
class Finished:
    """How a child ended."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def stdout_lines(self) -> list[str]:
        return self.stdout.splitlines()

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.splitlines()


class CliProcess:
    """A running ``gql-ws``; every wait on it has a scaled timeout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def read_line(self, seconds: float = STARTUP_AND_RUN) -> str:
        """The next line of its standard output; fails at end of file."""
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), scaled_timeout(seconds))
        assert line, "the child closed its standard output"
        return line.decode()

    async def finish(
        self, stdin: bytes | None = None, seconds: float = STARTUP_AND_RUN
    ) -> Finished:
        """Wait for it to exit (after writing ``stdin``, if given); return what it printed."""
        stdout, stderr = await asyncio.wait_for(
            self.process.communicate(stdin), scaled_timeout(seconds)
        )
        assert self.process.returncode is not None
        return Finished(self.process.returncode, stdout.decode(), stderr.decode())


@asynccontextmanager
async def running_cli(
    *arguments: str, env: Mapping[str, str] | None = None, stdin: bool = False
) -> AsyncIterator[CliProcess]:
    """Start ``gql-ws arguments``; on the way out, kill it if it still runs, and reap it."""
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        *arguments,
        stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=child_environment(env),
    )
    try:
        yield CliProcess(process)
    finally:
        if process.returncode is None:
            process.kill()
        # Reads the pipes to their end too, so that their transports close.
        await asyncio.wait_for(process.communicate(), scaled_timeout(STARTUP_AND_RUN))


async def run_cli(
    *arguments: str, env: Mapping[str, str] | None = None, stdin: bytes | None = None
) -> Finished:
    """Run ``gql-ws arguments`` to its end (from an async test: the server keeps running)."""
    async with running_cli(*arguments, env=env, stdin=stdin is not None) as cli:
        return await cli.finish(stdin)


def run_cli_blocking(
    *arguments: str, env: Mapping[str, str] | None = None, command: Sequence[str] = COMMAND
) -> Finished:
    """Run ``gql-ws arguments`` (by ``command``) to its end, for tests that need no server."""
    completed = subprocess.run(
        [*command, *arguments],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=child_environment(env),
        timeout=scaled_timeout(STARTUP_AND_RUN),
        check=False,
    )
    return Finished(completed.returncode, completed.stdout, completed.stderr)
