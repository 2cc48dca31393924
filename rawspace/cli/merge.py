"""``rawspace merge OUT.h5 SHARD...``: join the shards of a sharded build into one cache."""

from __future__ import annotations

import argparse
import sys

__all__ = ["register", "run"]

_EPILOG = """\
The shards must be all N shards of one 'rawspace build --shard K/N' with the same
options. The merged cache equals an unsharded build. By default its raw and rgb
datasets are HDF5 virtual datasets that read from the shards (found by their path
relative to OUT.h5: keep them together); --copy copies the data instead.
Exit status: 0 success, 2 for usage errors, 3 when OUT.h5 cannot be written.
"""


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``merge`` subcommand to ``subparsers``; its ``func`` is :func:`run`."""
    parser = subparsers.add_parser(
        "merge",
        help="join the shards of a sharded build into one cache",
        description="Join the shards of 'rawspace build --shard K/N' into one cache.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("out", metavar="OUT.h5", help="merged cache to write")
    parser.add_argument("shards", metavar="SHARD", nargs="+", help="shard files (all N)")
    parser.add_argument(
        "--copy", action="store_true", help="copy the image data instead of virtual datasets"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing OUT.h5")
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``rawspace merge``; return the exit status (0, 2 or 3)."""
    from ..cache import merge
    from ..files import WriteError

    try:
        report = merge(args.out, args.shards, copy=args.copy, overwrite=args.overwrite)
    except WriteError as exc:
        print(f"rawspace merge: {exc}", file=sys.stderr)
        return 3
    except (ValueError, FileNotFoundError) as exc:
        print(f"rawspace merge: error: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(report.summary(), file=sys.stderr)
        if report.failures:
            print(
                f"the shards left out {len(report.failures)} image(s); listed in "
                f"{report.failures_csv}",
                file=sys.stderr,
            )
    return 0
