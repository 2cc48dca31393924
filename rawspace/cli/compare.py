"""``rawspace compare``: provided by the ``classifiers`` add-on (the ``classify`` extra)
through the ``rawspace.commands`` entry point group.

The core holds no part of the command: :func:`register` adds the add-on's parser when it
is installed, else a parser that says how to install it (exit status 2).
"""

from __future__ import annotations

import argparse

from . import register_command

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``compare`` subcommand to ``subparsers``."""
    register_command("compare", subparsers)
