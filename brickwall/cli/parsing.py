"""How every command's parser is made: a parser whose errors are usage errors, a subcommand with its description
and example, and the options that name what to render (--stack, --spec, --plan)."""

from __future__ import annotations

import argparse
from typing import Any

from brickwall.errors import UsageError


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def command(sub: Any, name: str, summary: str, example: str, description: str = "") -> argparse.ArgumentParser:
    """A subcommand: `summary` is its line in `python -m brickwall --help`, `description` (default: the summary and
    a full stop) heads its own --help, `example` ends it."""
    return sub.add_parser(name, help=summary, description=description or f"{summary}.",
                          epilog=f"example:\n  {example}", formatter_class=argparse.RawDescriptionHelpFormatter)


def source(p: argparse.ArgumentParser, saved: bool = False) -> None:
    """What to render: a stack, or a spec file under a stack's name; with `saved`, a saved plan file instead."""
    p.add_argument("--stack", help="stack name (`python -m brickwall stacks` lists them); with --spec, the stack "
                                   "to render it under")
    p.add_argument("--spec", metavar="FILE", help="render this JSON or YAML spec file instead of the stack's own")
    if saved:
        p.add_argument("--plan", metavar="FILE", help="use this saved plan file (plan --format json) instead of "
                                                      "running the program again")
