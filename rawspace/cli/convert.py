"""``rawspace convert INPUT OUTPUT``: image files to raw ``.npy`` or ``.dng`` files."""

from __future__ import annotations

import argparse
import sys

from ..hints import FILE_FORMATS, SAMPLE_TYPES
from ._conversion import add_conversion_arguments, conversion_options, logging_to_stderr

__all__ = ["register", "run"]

_EPILOG = """\
INPUT is an image, a folder (searched recursively) or a text file listing image
paths. OUTPUT mirrors the input tree: each X.npy (or X.dng) gets an X.json with
everything needed to re-create it, including the digest of its input's bytes.
Running again skips the outputs whose input is unchanged and redoes those whose
input changed ("changed since last conversion: redone"). Multi-page images (TIFF
stacks) fail unless --page chooses one. Groups (for --camera-per/--noise-per group)
are the first folder of each image's relative path. No output may be an input or lie
inside an input folder. Exit status: 0 success, 1 when an image or a folder failed
(see OUTPUT/failures.csv), 2 for usage errors, 3 when an output cannot be written
(a full disk, no permission: the outputs written so far are complete, and running
the same command again continues).
"""


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``convert`` subcommand to ``subparsers``; its ``func`` is :func:`run`."""
    parser = subparsers.add_parser(
        "convert",
        help="convert images to simulated raw files (.npy or .dng)",
        description="Convert sRGB images to simulated camera raw files.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", metavar="INPUT", help="image file, folder or list file")
    parser.add_argument("output", metavar="OUTPUT", help="output folder")
    parser.add_argument(
        "--format",
        dest="file_format",
        choices=FILE_FORMATS,
        default="npy",
        help="npy arrays or DNG files (Bayer, uint16; not with --layout linear); default: npy",
    )
    parser.add_argument(
        "--dtype", choices=SAMPLE_TYPES, default="uint16", help="npy sample type; default: uint16"
    )
    add_conversion_arguments(
        parser,
        size_help="side of the square outputs (even, >= 16), 0 keeps each image's size "
        "(cropped to even); default: 400",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="processes that convert (this one and N-1 workers); default: 1 (in-process)",
    )
    parser.add_argument("--overwrite", action="store_true", help="redo existing outputs")
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would be done; write nothing"
    )
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    verbosity.add_argument(
        "-v", "--verbose", action="store_true", help="log every image and failure"
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``rawspace convert``; return the exit status (0, 1, 2 or 3)."""
    from ..convert import FAILURES_NAME, convert
    from ..files import WriteError, printable

    try:
        with logging_to_stderr(verbose=args.verbose):
            report = convert(
                args.input,
                args.output,
                file_format=args.file_format,
                dtype=args.dtype,
                size=args.size or None,
                **conversion_options(args),
                jobs=args.jobs,
                overwrite=args.overwrite,
                dry_run=args.dry_run,
                progress=not args.quiet,
            )
    except WriteError as exc:
        print(f"rawspace convert: {exc}; run the same command again to continue", file=sys.stderr)
        return 3
    except (ValueError, FileNotFoundError) as exc:
        print(f"rawspace convert: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"rawspace convert: {exc}", file=sys.stderr)
        return 1
    if report.dry_run:
        for source, target in report.planned:
            print(printable(f"convert {source} -> {target}"))
        for source, reason in report.failures:
            print(printable(f"fail {source}: {reason}"))
    print(report.summary(), file=sys.stderr)
    if report.failures:
        where = "" if report.dry_run else f"; listed in {report.output / FAILURES_NAME}"
        print(f"{report.failed} image(s) failed{where}", file=sys.stderr)
        return 1
    return 0
