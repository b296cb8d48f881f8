"""``python -m ems_core``: argument parsing at the edge; the work is done by the library.

    python -m ems_core edit --image IN.png --edit "red->blue=0.8" --out OUT.png [--json]
    python -m ems_core edit --image IN.png --edit "small->large" --degrees 0,0.5,1 --out sweep.png
    python -m ems_core generate --prompt "a large red circle at the top left on a white background" --out g.png
    python -m ems_core world {render,train,export,eval} ...
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import warnings

from .bench import add_bench_parser, run_bench
from .directions import add_directions_parser, run_directions
from .edit import add_edit_parser, parse_degrees, parse_edit, run_edit
from .generate import add_generate_parser, run_generate
from .world import add_world_parser, run_world

__all__ = ["build_parser", "main", "parse_degrees", "parse_edit"]


class UsageError(Exception):
    """A command line argparse refuses (an unknown flag, ``--steps 2.5``...)."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises :class:`UsageError` instead of printing the usage and exiting."""

    def error(self, message: str):
        raise UsageError(f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m ems_core", description="EMS Studio command line")
    sub = parser.add_subparsers(dest="command", required=True)
    add_edit_parser(sub)
    add_generate_parser(sub)
    add_world_parser(sub)
    add_bench_parser(sub)
    add_directions_parser(sub)
    return parser


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "unknown error"


def _quiet_libraries() -> None:
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    warnings.filterwarnings("ignore")
    for name in ("diffusers", "transformers", "huggingface_hub"):
        logging.getLogger(name).setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    """Run one command; every expected failure is one ``error: ...`` line on stderr and status 2."""
    try:
        args = build_parser().parse_args(argv)
        _quiet_libraries()
        if args.command == "world":
            return run_world(args)
        if args.command == "bench":
            return run_bench(args)
        if args.command == "directions":
            return run_directions(args)
        report = run_edit(args) if args.command == "edit" else run_generate(args)
    except (UsageError, ValueError, FileNotFoundError, KeyError, OSError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"error: {_one_line(str(message))}", file=sys.stderr)
        return 2
    print(json.dumps(report) if args.json else f"wrote {report['out']}")
    return 0
