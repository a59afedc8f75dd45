"""Command line: `python -m brickwall plan|export|spec|diff|check|report|stacks|env|runners|reach|audit ...`.

One module per command (`brickwall/cli/<command>.py`: its `add_parser` and its `run`); what they share has a module
of its own that imports no command: `parsing` (the parser, a subcommand's description and example, --stack/--spec/
--plan), `output` (--format/--output, emit, progress), `loading` (the spec, the offline render, a saved plan) and
`errors`, the one table from errors to exit codes (the codes: brickwall/exits.py, the README's 'Exit codes'). A
command returns its result's code and raises everything else; a user error never prints a traceback. Nothing
outside this package imports it (tests/test_conventions.py).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from brickwall import __version__
from brickwall.cli import audit, check, diff, env, export, plan, reach, report, runners, spec, stacks
from brickwall.cli.errors import exit_code
from brickwall.cli.parsing import Parser

# In the order `python -m brickwall --help` lists them.
COMMANDS = {c.NAME: c for c in (plan, export, spec, diff, check, report, stacks, env, runners, reach, audit)}


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m brickwall", description="Offline engine for the brickwall Pulumi program. "
               "Exit codes: brickwall/exits.py (README, 'Exit codes').")
    p.add_argument("--version", action="version", version=f"brickwall {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS.values():
        command.add_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    def run() -> int:
        args = parser().parse_args(argv)
        return COMMANDS[args.command].run(args)

    return exit_code(run)
