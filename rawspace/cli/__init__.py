"""The ``rawspace`` command line: one module per subcommand, each a thin layer over the library.

Every subcommand module defines ``register(subparsers)``, which adds its parser
and sets ``func`` to a function ``run(args) -> int`` (the exit status).
Exit status: 0 success, 1 when some input failed, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .._version import __version__

__all__ = ["build_parser", "main"]

_COMMANDS = ("convert", "build", "merge", "develop", "info", "compare", "demo")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="rawspace",
        description="Turn sRGB images into simulated camera raw data and back.",
    )
    parser.add_argument("--version", action="version", version=f"rawspace {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``rawspace`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
