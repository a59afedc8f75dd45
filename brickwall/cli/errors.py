"""The one table from errors to exit codes (the codes and what they mean: brickwall/exits.py, the README's table).

A command returns its result's code (0; `diff` FLAGGED; `check`/`report` INVALID for a MANDATORY policy; `audit`
AUDIT_FINDINGS) and raises for everything else. `exit_code` runs a command and turns what it raised into the code
and the message of the first row of FAILURES the error is an instance of: a user error never prints a traceback,
a bug (INTERNAL) prints its own. An error no row names is a bug too: its traceback, then INTERNAL (never 1, which
a CI gate reads as "a MANDATORY policy failed").
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi

import stacks
from brickwall import exits
from brickwall.audit import Unreadable
from brickwall.cli.output import progress
from brickwall.driver import DriverError, IdempotencyError, OperationError
from brickwall.engine import ProgramError
from brickwall.errors import Unreachable, UsageError
from brickwall.ledger import LedgerError
from brickwall.project import StackConfigError
from components.planning.stamping import PoolExhaustedError
from components.spec import SpecError


class ProgramRefused(Exception):
    """The program refused its input while rendering offline (a pulumi.RunError: it says why, no traceback)."""


class InternalError(Exception):
    """A bug in the program: `cause` (when given) is printed with its traceback before the message."""

    def __init__(self, message: str, cause: BaseException | None = None):
        super().__init__(message)
        self.cause = cause


def program_failed(error: ProgramError, environment: str | None = None) -> Exception:
    """What to raise when rendering failed: the program's own refusal (invalid input), or a bug."""
    if isinstance(error.original, pulumi.RunError):
        return ProgramRefused(f"environment {environment}: {error}" if environment else str(error))
    if environment:
        return InternalError(f"the program failed for {environment} ({error})", error.original)
    return InternalError(f"the program failed ({error}); please report it with the traceback above", error.original)


def _say(prefix: str) -> Callable[[BaseException], None]:
    def say(exc: BaseException) -> None:
        print(f"{prefix}{exc}", file=sys.stderr)
    return say


def _spec_problems(exc: SpecError) -> None:
    print(exc.render(), file=sys.stderr)


def _unreadable(exc: Unreadable) -> None:
    for line in exc.lines:
        print(f"error: {line}", file=sys.stderr)


def _internal(exc: InternalError) -> None:
    if exc.cause is not None:
        traceback.print_exception(exc.cause, file=sys.stderr)
    print(f"internal error: {exc}", file=sys.stderr)


def _bug(exc: Exception) -> None:
    traceback.print_exception(exc, file=sys.stderr)
    print(f"internal error: {type(exc).__name__}: {exc}; please report it with the traceback above", file=sys.stderr)


def _reader_gone(_: BrokenPipeError) -> None:
    # The reader (`| head`) went away: not an error worth a traceback; later writes go nowhere.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _os_error(exc: OSError) -> None:
    # A path the user gave that cannot be read or written (report --out naming a file, plan --output into a
    # directory without write access): a usage error, with the path and the reason, never a traceback.
    where = f"{exc.filename}: " if exc.filename else ""
    print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)


@dataclass(frozen=True)
class Failure:
    error: type[BaseException]
    code: int
    say: Callable[[Any], None]  # writes the message to stderr


FAILURES: tuple[Failure, ...] = (
    Failure(BrokenPipeError, exits.OK, _reader_gone),
    Failure(UsageError, exits.USAGE, _say("error: ")),
    Failure(stacks.SpecFileError, exits.USAGE, _say("error: ")),  # a spec file that cannot be read at all
    Failure(SpecError, exits.INVALID, _spec_problems),  # every problem with its field path
    Failure(StackConfigError, exits.INVALID, _say("error: invalid stack config: stacks/")),
    Failure(ProgramRefused, exits.INVALID, _say("error: ")),
    Failure(PoolExhaustedError, exits.INVALID, _say("error: ")),  # `env`: the address pool is full
    Failure(IdempotencyError, exits.FLAGGED, _say("FLAGGED: ")),  # `env up`: the preview after up wants changes
    Failure(OperationError, exits.OPERATION_FAILED, _say("error: ")),  # `env`: Azure or the Pulumi engine refused
    Failure(DriverError, exits.USAGE, _say("error: ")),  # no Pulumi CLI, no passphrase, a missing variable
    Failure(LedgerError, exits.USAGE, _say("error: ")),  # `env`: a name taken or not in the ledger
    Failure(Unreachable, exits.UNREACHABLE, _say("error: ")),  # `reach`, `audit`
    Failure(Unreadable, exits.AUDIT_UNREADABLE, _unreadable),  # `audit`: one line per API that refused
    Failure(InternalError, exits.INTERNAL, _internal),
    Failure(OSError, exits.USAGE, _os_error),
    Failure(Exception, exits.INTERNAL, _bug),  # last: what no row above names is a bug
)


def exit_code(command: Callable[[], int]) -> int:
    """Run a command: its own code, or the code of what it raised (its message on stderr)."""
    try:
        return command()
    except tuple(f.error for f in FAILURES) as exc:
        failure = next(f for f in FAILURES if isinstance(exc, f.error))
        progress("")  # a progress line on a terminal ends before the message
        failure.say(exc)
        return failure.code
