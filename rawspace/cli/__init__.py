"""The ``rawspace`` command line: one module per subcommand, each a thin layer over the library.

Every subcommand module defines ``register(subparsers)``, which adds its parser and sets
``func`` to a function ``run(args) -> int`` (the exit status). Add-ons add subcommands
through the ``rawspace.commands`` entry point group: each entry point names a
``register(subparsers)`` function and is loaded only when its command runs, so
``rawspace --help`` stays light. Exit status: 0 success, 1 when some input failed,
2 for usage errors, 3 when an output cannot be written.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import sys
from collections.abc import Callable, Sequence

from .._version import __version__

__all__ = [
    "GROUP",
    "add_ons",
    "build_parser",
    "command",
    "main",
    "register_add_on",
    "register_command",
]

#: The core's subcommands.
_COMMANDS = ("convert", "build", "merge", "develop", "info", "demo")
#: The entry point group of add-on subcommands.
GROUP = "rawspace.commands"
#: Add-on subcommands the core knows of, with their one-line help: without the add-on
#: they say how to install it.
_KNOWN = {"compare": "train and compare classifiers on RGB and raw input spaces"}


def add_ons() -> dict[str, importlib.metadata.EntryPoint]:
    """The registered add-on subcommands, by name (entry point group ``rawspace.commands``)."""
    return {entry.name: entry for entry in importlib.metadata.entry_points(group=GROUP)}


def register_add_on(name: str, subparsers: argparse._SubParsersAction) -> bool:
    """Register add-on subcommand ``name`` from its entry point; False when it is not
    installed or cannot be loaded (then nothing is registered)."""
    entry = add_ons().get(name)
    if entry is None:
        return False
    try:
        register = entry.load()
    except ImportError:
        return False
    register(subparsers)
    return True


def _placeholder(name: str, subparsers: argparse._SubParsersAction, help: str) -> None:
    """A parser for add-on subcommand ``name`` that is not loaded: it takes any arguments
    and says how to install the add-on."""
    parser = subparsers.add_parser(name, help=help, add_help=False)
    parser.add_argument("arguments", nargs=argparse.REMAINDER)
    parser.set_defaults(func=lambda args: _missing(name))


def _missing(name: str) -> int:
    print(
        f"rawspace {name} needs the classify extra: pip install 'rawspace[classify]'",
        file=sys.stderr,
    )
    return 2


def register_command(name: str, subparsers: argparse._SubParsersAction) -> None:
    """Register subcommand ``name``: its add-on's parser when installed, else a parser that
    says how to install it."""
    if not register_add_on(name, subparsers):
        _placeholder(name, subparsers, _KNOWN.get(name, name))


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered; an add-on subcommand is
    loaded only when ``command`` names it (else it has a light placeholder parser)."""
    parser = argparse.ArgumentParser(
        prog="rawspace",
        description="Turn sRGB images into simulated camera raw data and back.",
    )
    parser.add_argument("--version", action="version", version=f"rawspace {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    installed = add_ons()
    for name in sorted(set(installed) | set(_KNOWN)):
        if name == command:
            register_command(name, subparsers)
        else:
            help = _KNOWN.get(name) or f"provided by {installed[name].value}"
            _placeholder(name, subparsers, help)
    return parser


def command(name: str) -> Callable[[Sequence[str]], int] | None:
    """A function running subcommand ``name`` with its arguments (an add-on's included),
    returning the exit status; None when the subcommand is not available."""
    parser = argparse.ArgumentParser(prog="rawspace")
    subparsers = parser.add_subparsers(dest="command", required=True)
    if name in _COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    elif not register_add_on(name, subparsers):
        return None

    def run(argv: Sequence[str]) -> int:
        args = parser.parse_args([name, *argv])
        return int(args.func(args))

    return run


def _silence_stdout() -> None:
    """After a reader closed our stdout (``rawspace info FILE | head -1``): point stdout at
    the null device, so that nothing more (the final flush included) reaches the pipe."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # stdout is not a file descriptor (captured): nothing flushes to the pipe


def _flush() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``rawspace`` console script; returns the exit status.

    A closed output pipe ends any subcommand quietly: no traceback, exit status 0.
    """
    arguments = sys.argv[1:] if argv is None else argv
    chosen = next((a for a in arguments if not a.startswith("-")), None)
    try:
        args = build_parser(chosen).parse_args(arguments)
        status = int(args.func(args))
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except SystemExit:  # --help and usage errors: their output may meet a closed pipe too
        _flush()
        raise
    return status


if __name__ == "__main__":
    sys.exit(main())
