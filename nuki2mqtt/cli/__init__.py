"""The ``nuki2mqtt`` command line.

Each sub-command lives in its own module with ``register(subparsers)``; its handler
takes the parsed arguments and returns the exit status (0 ok, 1 fatal, 2 usage/config).
Errors are printed as one readable line; ``--debug`` shows the traceback too.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Callable, Sequence

from nuki2mqtt import __version__

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_USAGE = 2

#: Sub-command modules, in the order ``--help`` lists them.
COMMAND_MODULES = ("run", "check_config", "discover", "pair", "simulate", "demo")

Handler = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """Bad usage or configuration: printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nuki2mqtt",
        description="Gateway between Nuki smart locks, openers and smart doors and MQTT.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="log everything and show tracebacks (secrets stay hidden)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"nuki2mqtt.cli.{name}")
        module.register(sub)
    for command in sub.choices.values():
        # also after the command (`nuki2mqtt run --debug`); SUPPRESS keeps a --debug given before it
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="log everything and show tracebacks (secrets stay hidden)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage, 0 on --help
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if args.debug:
        logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return EXIT_OK
    except UsageError as exc:
        print(f"nuki2mqtt: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - the last line of defence for readable errors
        if args.debug:
            raise
        print(f"nuki2mqtt: error: {exc}", file=sys.stderr)
        return EXIT_FATAL
