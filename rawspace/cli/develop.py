"""``rawspace develop IN OUT.png``: develop a raw file (a camera's or a rawspace DNG) to a PNG."""

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
        help="develop a raw file (camera raw or rawspace DNG) to a PNG",
        description="Develop a Bayer raw file with rawspace's pipeline and write a PNG: "
        "8-bit sRGB, or 16-bit linear sRGB with --output linear. OUT must not be IN. "
        "Exit status: 0 success, 1 when the file cannot be read or the PNG cannot be "
        "written, 2 for usage errors.",
    )
    parser.add_argument("input", metavar="IN", type=Path, help="raw file, e.g. a DNG")
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


def run(args: argparse.Namespace) -> int:
    """Run ``rawspace develop``; return the exit status (0, 1 or 2)."""
    import numpy as np

    from ..files import OutputError, check_outputs
    from ..images import write_png
    from ..pipeline import develop
    from ..rawio import read_raw

    try:
        check_outputs([args.output], [args.input])
    except OutputError as exc:
        print(f"rawspace develop: error: {exc}", file=sys.stderr)
        return 2
    try:
        raw = read_raw(args.input)
        dtype = np.uint8 if args.space == "srgb" else np.uint16
        image = develop(raw, demosaic=args.demosaic, output=args.space, dtype=dtype)
        write_png(args.output, image)
    except (OSError, ValueError) as exc:
        message = " ".join(str(exc).split())
        print(f"rawspace develop: {message}", file=sys.stderr)
        return 1
    return 0
