"""``rawspace info FILE``: describe a raw file (camera raw, rawspace DNG or a ``convert``
output ``X.npy`` with its ``X.json``) or an HDF5 dataset."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["register", "run"]

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``info`` subcommand to ``subparsers``; its ``func`` is :func:`run`."""
    parser = subparsers.add_parser(
        "info",
        help="describe a raw file or an HDF5 dataset",
        description="Print the size, CFA, levels, white balance and colour matrices of a "
        "raw file (a camera's, a rawspace DNG, or an X.npy written by 'rawspace convert', "
        "read with its X.json), or the summary of a rawspace HDF5 dataset (or says that "
        "it is being built); or, with --cameras, the camera catalogue. Exit status: 0 "
        "success, 1 when the file cannot be read, 2 for bad arguments.",
    )
    parser.add_argument(
        "file",
        metavar="FILE",
        type=Path,
        nargs="?",
        help="raw file, convert output .npy, or .h5 dataset",
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="for a cache: also check every sample's stored pixels against the digests "
        "written when it was built (reads every image once)",
    )
    parser.add_argument(
        "--cameras",
        nargs="?",
        const="all",
        choices=("all", "training", "held-out"),
        help="list the camera catalogue instead (all, or one part of its split; default all)",
    )
    parser.set_defaults(func=run)
    return parser


def _matrix_lines(matrix: Any) -> list[str]:
    return ["  [" + "  ".join(f"{v:+.4f}" for v in row) + "]" for row in matrix]


def _describe_raw(path: Path) -> str:
    """Readable description of the raw file at ``path`` (see
    :func:`rawspace.convert.read_output`)."""
    from ..convert import read_output

    raw = read_output(path)
    params = raw.params
    h, w = raw.shape
    layout = {"bayer": "Bayer", "packed": "packed Bayer", "linear": "linear (no mosaic)"}
    lines = [
        f"file:           {path} ({path.stat().st_size:,} bytes)",
        f"size:           {w} × {h} pixels (width × height), {layout[raw.layout]} "
        f"{params.cfa}, {raw.data.dtype}",
        f"levels:         black {params.black_level}, white {params.white_level}",
        f"white balance:  red gain {params.red_gain:.4f}, blue gain {params.blue_gain:.4f}, "
        f"digital gain {params.rgb_gain:.4f}",
        f"curves:         tone {params.tone}, gamma {params.gamma}",
    ]
    if raw.noise is not None:
        lines.append(f"noise:          shot {raw.noise[0]:.3g}, read {raw.noise[1]:.3g}")
    if raw.seed is not None:
        lines.append(f"seed:           {raw.seed}")
    lines.append("rgb2cam (linear sRGB → camera RGB):")
    lines += _matrix_lines(params.rgb2cam)
    lines.append("xyz2cam (CIE XYZ, D65 → camera RGB):")
    lines += _matrix_lines(params.xyz2cam)
    return "\n".join(lines)


def _is_cache(path: Path) -> bool:
    """Whether ``path`` is an HDF5 file, a cache's partial file, or a cache being built."""
    from ..cache.format import PARTIAL_SUFFIX

    if path.name.endswith(PARTIAL_SUFFIX) or path.with_name(path.name + PARTIAL_SUFFIX).exists():
        return True
    with open(path, "rb") as f:
        return f.read(len(_HDF5_SIGNATURE)) == _HDF5_SIGNATURE


def run(args: argparse.Namespace) -> int:
    """Run ``rawspace info``; return the exit status (0 or 1)."""
    from ..files import printable

    if args.cameras is not None:
        if args.file is not None:
            print("rawspace info: give either FILE or --cameras, not both", file=sys.stderr)
            return 2
        from .. import catalogue

        part = {"all": None, "training": catalogue.training_cameras}.get(
            args.cameras, catalogue.held_out_cameras
        )
        print(catalogue.format_catalogue(None if part is None else part()))
        return 0
    if args.file is None:
        print("rawspace info: give FILE, or --cameras", file=sys.stderr)
        return 2
    try:
        if _is_cache(args.file):
            from ..cache import summary

            text = summary(args.file)
            if args.verify:
                from ..cache import open as open_cache

                with open_cache(args.file) as reader:
                    text += f"\nverified:       {reader.verify():,} samples match their digests"
        elif args.verify:
            print("rawspace info: --verify checks caches (.h5), not raw files", file=sys.stderr)
            return 2
        else:
            text = _describe_raw(args.file)
    except (OSError, ValueError) as exc:
        message = " ".join(str(exc).split())
        print(printable(f"rawspace info: {message}"), file=sys.stderr)
        return 1
    print(printable(text))
    return 0
