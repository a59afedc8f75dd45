"""Where a command writes: the one --format/--output pair, stdout or a file, and progress lines on a terminal."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def output_options(p: argparse.ArgumentParser, formats: Sequence[str], default: str, legacy_json: bool = True) -> None:
    """The one way every command asks for a format and a destination: --format F, --output FILE ('-': stdout).
    `--json` stays as a hidden alias of `--format json` for scripts written before."""
    p.add_argument("--format", choices=tuple(formats), default=default, help=f"output format (default {default})")
    p.add_argument("--output", metavar="FILE", default="-", help="write the output here instead of stdout ('-')")
    if "json" in formats and legacy_json:
        p.add_argument("--json", dest="format", action="store_const", const="json", help=argparse.SUPPRESS)


def emit(args: argparse.Namespace, text: str) -> None:
    """Write a command's output where --output says (stdout for '-')."""
    if getattr(args, "output", "-") in ("-", None):
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)


def progress(message: str) -> None:
    """A progress line for long commands, on a terminal only (CI logs and pipes stay clean)."""
    if sys.stderr.isatty():
        print(f"\r{message}\033[K", end="", file=sys.stderr, flush=True)
