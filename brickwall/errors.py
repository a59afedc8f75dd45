"""Errors that mean the same to every command, raised by the engine and the command line alike.

Dependency-free on purpose: any module may raise them; the command line (`brickwall/cli/errors.py`) is the one
place that turns them, and every other error, into exit codes (`brickwall/exits.py`).
"""

from __future__ import annotations


class UsageError(Exception):
    """How the program was called: the command line, an unknown stack, a missing tool, variable or credential
    (exit USAGE)."""


class Unreachable(Exception):
    """This machine cannot reach a host the command needs: the private workspace, Azure Resource Manager, a query
    endpoint (exit UNREACHABLE)."""
