"""What the numbers were measured on: cores, CPU, Python, library versions, load."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["PACKAGES", "describe_machine", "format_machine"]

PACKAGES = (
    "gql-aiohttp-websockets",
    "gql",
    "graphql-core",
    "aiohttp",
    "websockets",
    "orjson",
    "yarl",
)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _git_revision(repo: Path) -> str | None:
    """Return ``HEAD``'s short hash, with ``+dirty`` when the tree has changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if dirty else head


def _usable_cpus() -> int | None:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count()


def describe_machine() -> dict[str, Any]:
    """Collect the facts printed in the report header and stored in the JSON."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu_count": os.cpu_count(),
        "usable_cpus": _usable_cpus(),
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "python_executable": sys.executable,
        "packages": {package: _version(package) for package in PACKAGES},
        "git_revision": _git_revision(Path(__file__).resolve().parent.parent),
        "loadavg_start": list(load) if load else None,
    }


def format_machine(machine: dict[str, Any]) -> list[str]:
    """Render the machine facts as header lines."""
    versions = ", ".join(
        f"{name} {version}" for name, version in machine["packages"].items() if version
    )
    missing = [name for name, version in machine["packages"].items() if not version]
    load = machine.get("loadavg_start")
    lines = [
        f"machine: {machine['usable_cpus']} usable of {machine['cpu_count']} cores, "
        f"{machine['cpu_model']}, {machine['platform']}",
        f"python:  {machine['python']} ({machine['python_executable']})",
        f"libs:    {versions}" + (f" (not installed: {', '.join(missing)})" if missing else ""),
        f"source:  git {machine['git_revision'] or 'unknown'}",
    ]
    if load:
        lines.append(f"load:    {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1/5/15 min) at start")
    return lines
