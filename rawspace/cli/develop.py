"""``rawspace develop IN OUT.png``: develop a raw file (a camera's, a rawspace DNG, or a
``convert`` output ``X.npy`` with its ``X.json``) to a PNG."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..hints import DEMOSAIC_METHODS, OUTPUTS

__all__ = ["register", "run"]


def _png_path(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower() != ".png":
        raise argparse.ArgumentTypeError(f"OUT must be a .png file, got {text!r}")
    return path


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``develop`` subcommand to ``subparsers``; its ``func`` is :func:`run`."""
    parser = subparsers.add_parser(
        "develop",
        help="develop a raw file (camera raw, rawspace DNG or convert .npy) to a PNG",
        description="Develop a raw file with rawspace's pipeline and write a PNG: "
        "8-bit sRGB, or 16-bit linear sRGB with --output linear. IN is a camera raw "
        "file, a DNG, or an X.npy written by 'rawspace convert' (read with its X.json). "
        "OUT must not be IN. Exit status: 0 success, 1 when IN cannot be read, 2 for "
        "usage errors, 3 when the PNG cannot be written.",
    )
    parser.add_argument(
        "input", metavar="IN", type=Path, help="raw file (e.g. a DNG) or convert output .npy"
    )
    parser.add_argument("output", metavar="OUT.png", type=_png_path, help="PNG to write")
    parser.add_argument(
        "--demosaic", choices=DEMOSAIC_METHODS, default="bilinear", help="default: bilinear"
    )
    parser.add_argument(
        "--output",
        dest="space",
        choices=OUTPUTS,
        default="srgb",
        help="srgb: rendered, 8-bit; linear: linear sRGB, 16-bit; default: srgb",
    )
    parser.set_defaults(func=run)
    return parser


def _say(exc: BaseException) -> str:
    from ..files import printable

    return printable("rawspace develop: " + " ".join(str(exc).split()))


def run(args: argparse.Namespace) -> int:
    """Run ``rawspace develop``; return the exit status (0, 1, 2 or 3)."""
    import numpy as np

    from ..convert import read_output
    from ..files import OutputError, check_outputs, write_error
    from ..images import write_png
    from ..pipeline import develop

    try:
        check_outputs([args.output], [args.input, args.input.with_suffix(".json")])
    except OutputError as exc:
        print(f"rawspace develop: error: {exc}", file=sys.stderr)
        return 2
    try:
        raw = read_output(args.input)
        dtype = np.uint8 if args.space == "srgb" else np.uint16
        image = develop(raw, demosaic=args.demosaic, output=args.space, dtype=dtype)
    except (OSError, ValueError) as exc:
        print(_say(exc), file=sys.stderr)
        return 1
    try:
        write_png(args.output, image)
    except OSError as exc:
        print(_say(write_error(args.output, exc)), file=sys.stderr)
        return 3
    return 0
