"""``rawspace build SOURCE CACHE.h5``: a labelled image dataset to an HDF5 cache."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..hints import COMPRESSIONS, LABEL_MODES, UNC_MODES
from ._conversion import (
    add_conversion_arguments,
    add_listing_arguments,
    conversion_options,
    listing_options,
    logging_to_stderr,
)

__all__ = ["register", "run"]

_EPILOG = """\
SOURCE is a folder with one subfolder per class, a Matek-19 root (a folder with
annotations.dat and the class folders, or the annotations.dat file), or a CSV file
with the columns path,label[,group] (paths relative to the CSV's folder).

--labels reannotation uses re-annotation 1 of annotations.dat where there is one and
the original label elsewhere. Splits and folds are stratified by class, never
separate a group, and are computed over the full listing, so shards (--shard K/N,
joined with 'rawspace merge') get exactly the splits of an unsharded build.

The cache is written to CACHE.h5.partial and renamed when complete; --resume
continues an interrupted build. A second build of the same cache is refused while
one runs. CACHE.h5 must not be an input (the CSV, an image, the camera file) nor
lie inside a class-folder SOURCE. Images (and folders) that cannot be read are
left out and listed in CACHE.h5.failures.csv; when every image fails nothing is
written. --resume converts again every image whose file changed since it was
converted (and, without a partial file, starts from scratch). Exit status: 0
success, 1 when an image failed, 2 for usage errors, 3 when the cache cannot be
written (a full disk, no permission: the partial file, when one is left, keeps its
last checkpoint, and --resume continues from it), 130 when interrupted.
"""

_MAX_LISTED = 10


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``build`` subcommand to ``subparsers``; its ``func`` is :func:`run`."""
    parser = subparsers.add_parser(
        "build",
        help="build an HDF5 cache of raw (and RGB) images from a labelled dataset",
        description="Convert a labelled image dataset into an HDF5 cache for training.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", metavar="SOURCE", help="class folders, Matek-19 root or CSV")
    parser.add_argument("cache", metavar="CACHE.h5", help="cache file to write")
    source = parser.add_argument_group("source")
    source.add_argument(
        "--labels",
        choices=LABEL_MODES,
        help="Matek-19 label column: original (default) or reannotation",
    )
    source.add_argument(
        "--unc",
        choices=UNC_MODES,
        help="Matek-19 images labelled UNC: drop (default) or keep as a class",
    )
    add_listing_arguments(source)
    conversion = parser.add_argument_group("conversion (as for 'rawspace convert')")
    add_conversion_arguments(
        conversion, size_help="side of the square samples (even); default: 400"
    )
    splits = parser.add_argument_group("splits")
    splits.add_argument(
        "--test-fraction",
        type=float,
        default=0.1,
        help="share of each class in the test set, in [0, 1); default: 0.1",
    )
    splits.add_argument(
        "--folds",
        type=int,
        default=5,
        help="cross-validation folds of the training set (0: none); default: 5",
    )
    storage = parser.add_argument_group("storage and execution")
    storage.add_argument(
        "--compression",
        choices=COMPRESSIONS,
        default="none",
        help="none (default; fastest random reads), lzf or gzip (smaller files)",
    )
    storage.add_argument(
        "--no-rgb", dest="rgb", action="store_false", help="do not store the RGB images"
    )
    storage.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="processes that convert (this one and N-1 workers); default: 1 (in-process)",
    )
    storage.add_argument(
        "--resume", action="store_true", help="continue an interrupted build (CACHE.h5.partial)"
    )
    storage.add_argument(
        "--overwrite", action="store_true", help="replace an existing cache or partial build"
    )
    storage.add_argument(
        "--shard",
        metavar="K/N|auto",
        help="build only shard K of N (1 <= K <= N; auto: from a SLURM array job); see merge",
    )
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    verbosity.add_argument("-v", "--verbose", action="store_true", help="log every failure")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``rawspace build``; return the exit status (0, 1, 2, 3, or 130 when interrupted)."""
    from ..cache import BuildOptions, EmptyBuildError, build
    from ..cache.format import PARTIAL_SUFFIX
    from ..files import WriteError, printable

    try:
        options = BuildOptions(
            labels=args.labels,
            unc=args.unc,
            size=args.size,
            **conversion_options(args),
            **listing_options(args),
            test_fraction=args.test_fraction,
            folds=args.folds,
            compression=args.compression,
            rgb=args.rgb,
            jobs=args.jobs,
            resume=args.resume,
            overwrite=args.overwrite,
            shard=args.shard,
            progress=not args.quiet,
        )
        with logging_to_stderr(verbose=args.verbose):
            report = build(args.source, args.cache, options)
    except WriteError as exc:
        partial = Path(args.cache + PARTIAL_SUFFIX)
        if partial.is_file():
            left = (
                f"what was built is kept in {partial} up to its last checkpoint: "
                f"continue with: rawspace build ... {args.cache} --resume"
            )
        else:
            left = "nothing was kept (no partial file): run the build again once it can write"
        print(printable(f"rawspace build: {exc}; {left}"), file=sys.stderr)
        return 3
    except EmptyBuildError as exc:
        print(printable(f"rawspace build: error: {exc}"), file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError) as exc:
        print(f"rawspace build: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"rawspace build: interrupted; continue with: rawspace build ... {args.cache} --resume",
            file=sys.stderr,
        )
        return 130
    if not args.quiet:
        print(report.summary(), file=sys.stderr)
    if report.failures:
        print(f"{report.failed} image(s) failed; listed in {report.failures_csv}", file=sys.stderr)
        shown = report.failures if args.verbose else report.failures[:_MAX_LISTED]
        for path, label, reason in shown:
            print(printable(f"  {path} ({label}): {reason}"), file=sys.stderr)
        if len(shown) < report.failed:
            print(f"  ... and {report.failed - len(shown)} more", file=sys.stderr)
        return 1
    return 0
