"""``rawspace demo [--out DIR]``: the whole pipeline on bundled sample images."""

from __future__ import annotations

import argparse

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="run the whole pipeline on sample images bundled with scikit-image",
        description=(
            "Invert sample images into camera raw, write a DNG and develop it with LibRaw, "
            "build a small HDF5 cache and train a tiny classifier in RGB and raw space; "
            "writes report.md into --out. No input and no network needed."
        ),
    )
    parser.add_argument(
        "--out", default="rawspace-demo", help="output folder (default: %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of crops, cameras and training")
    parser.add_argument(
        "--no-train", action="store_true", help="skip the classifier (no torch needed)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo; returns the exit status."""
    from ..demo import run_demo

    run_demo(args.out, seed=args.seed, train=not args.no_train)
    return 0
