"""node with a test's pinned npm packages: the CRD schemas (tests/crd) and Microsoft's KQL parser (tests/kql).

A plain module (not collected). Each directory holds a package.json and a committed package-lock.json; the packages
are installed with `npm ci` when missing or older than the lock file.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest

NPM_TIMEOUT, NODE_TIMEOUT = 300, 120


def tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def tool(name: str, needed_for: str, lock: Path) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is not on PATH: {needed_for} needs node (>= 20) and npm, which install the pinned "
                    f"packages from the npm registry ({lock})", pytrace=False)
    return path


def node_with_packages(directory: Path, needed_for: str) -> str:
    """node, with `directory`'s pinned packages installed (npm ci when missing or stale)."""
    node = tool("node", needed_for, directory / "package-lock.json")
    _install(directory, needed_for)
    return node


def _install(directory: Path, needed_for: str) -> None:
    lock = directory / "package-lock.json"
    installed = directory / "node_modules" / ".package-lock.json"  # npm writes it on every install
    # Under a file lock: parallel test processes (pytest-xdist workers) install once and wait for each other.
    with open(directory / ".npm-install.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
            _npm_ci(directory, needed_for, lock)


def install_stale(directories: Iterable[Path]) -> None:
    """`npm ci` in each directory whose packages are missing or stale, one after another: the test session runs it in
    the background while the stacks render (tests/conftest.py). A failure is left for the test that needs the
    packages to meet and report: it installs again under the same lock."""
    for directory in directories:
        with contextlib.suppress(Exception, pytest.fail.Exception):
            _install(directory, "the background install")


def _npm_ci(directory: Path, needed_for: str, lock: Path) -> None:
    cmd = [tool("npm", needed_for, lock), "ci", "--no-audit", "--no-fund", "--prefer-offline"]
    try:
        done = subprocess.run(cmd, cwd=directory, capture_output=True, text=True, timeout=NPM_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`{' '.join(cmd)}` in {directory} did not finish in {NPM_TIMEOUT}s: is the npm registry "
                    f"reachable?", pytrace=False)
    if done.returncode != 0:
        pytest.fail(f"`{' '.join(cmd)}` in {directory} exited {done.returncode}: is the npm registry reachable?\n"
                    f"{tail(done.stdout)}\n{tail(done.stderr)}", pytrace=False)
