"""The one table of exit codes: what each code means, and which commands use it.

Every command (`python -m brickwall ...`) turns its errors into these codes in one place (`brickwall/cli/errors.py`);
the README's table is this table (a test compares them). A user error never prints a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

OK = 0
INVALID = 1  # the spec or the stack config is invalid (every problem listed); `check`/`report`: a MANDATORY policy fails
USAGE = 2  # the command line, a file that cannot be read or written, an unknown stack, a missing tool or variable
FLAGGED = 3  # `diff`: a replacement, data loss or protected delete; `env`: the idempotency gate failed
INTERNAL = 4  # a bug in the program: its traceback is printed
OPERATION_FAILED = 5  # `env up|preview|destroy`: Azure or the Pulumi engine refused; the output says why
UNREACHABLE = 6  # `reach`, `audit`: the (private) workspace does not resolve privately, connect, or answer (or ARM)
AUDIT_FINDINGS = 7  # `audit`: the live workspace or its Azure resources differ from the spec (every finding listed)
AUDIT_UNREADABLE = 8  # `audit`: an API refused a read or answered nonsense (the permission to grant is named)


@dataclass(frozen=True)
class ExitCode:
    code: int
    meaning: str
    commands: str


TABLE: tuple[ExitCode, ...] = (
    ExitCode(OK, "success; for `check` and `report`, no MANDATORY policy failed; for `diff`, nothing flagged", "all"),
    ExitCode(INVALID, "invalid input: the spec or the stack config (every problem listed with its field path or key); "
             "a MANDATORY policy failed; the address pool is full",
             "plan, export, spec, check, report, diff, env, reach, runners, audit"),
    ExitCode(USAGE, "usage: a bad command line, an unknown stack (the known ones are listed), a file that cannot be "
             "read or written, a missing tool, variable or passphrase", "all"),
    ExitCode(FLAGGED, "flagged: a replacement, data loss or protected delete; the idempotency gate failed", "diff, env"),
    ExitCode(INTERNAL, "internal error: a bug in the program (its traceback is printed; please report it)", "all"),
    ExitCode(OPERATION_FAILED, "the Pulumi operation failed (its output is above)", "env up, env preview, env destroy"),
    ExitCode(UNREACHABLE, "this machine cannot reach the stack's private workspace; `audit`: the workspace host does "
             "not answer, or Azure Resource Manager does not", "reach, audit"),
    ExitCode(AUDIT_FINDINGS, "findings: the live workspace or its Azure resources differ from the spec and the plan "
             "(each finding names the "
             "object, the expected value, the live one and a severity)", "audit"),
    ExitCode(AUDIT_UNREADABLE, "could not read: an API refused (the permission to grant is named) or answered "
             "something that is not the API's shape", "audit"),
)


def markdown_table() -> str:
    rows = ["| code | meaning | commands |", "|---|---|---|"]
    rows += [f"| `{e.code}` | {e.meaning} | {e.commands} |" for e in TABLE]
    return "\n".join(rows) + "\n"
