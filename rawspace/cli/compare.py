"""``rawspace compare``: train classifiers on RGB and raw input spaces of caches and compare.

A thin layer over :func:`classifiers.compare.run` and
:func:`classifiers.compare.write_report`; torch and the other packages of the
``classify`` extra are imported only when the command runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

__all__ = ["register", "run"]

_EXTRA = ("torch", "torchvision", "sklearn", "scipy", "matplotlib")
_NEEDS_EXTRA = "rawspace compare needs the classify extra: pip install 'rawspace[classify]'"

_EPILOG = """\
Every model is trained on every input space of every cache, for every fold and seed,
and tested on the cache's test split; OUT gets results.{json,csv,md} and figures, with
paired statistics (bootstrap CIs over test images, McNemar, t-test and Wilcoxon over
runs) for every raw space against rgb and every augmented space against its twin.
Finished cells in OUT/cells are reused while their settings and cache are unchanged.

Scaling out: --shard K/N (or auto, in a SLURM array job) trains only shard K's cells
into a shared OUT; claims keep two processes off one cell; then
'rawspace compare --report OUT' assembles the report. Under
'torchrun --nproc-per-node=G -m rawspace compare ...' each cell trains on G processes.
Exit status: 0 success, 1 when weights are unavailable, 2 for bad input.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``compare`` subcommand to ``subparsers``."""
    parser = subparsers.add_parser(
        "compare",
        help="train and compare classifiers on RGB and raw input spaces",
        description="Train classifiers on RGB and raw input spaces of caches and compare them.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "cache", nargs="?", help="an HDF5 cache, or a folder of *.h5 caches (named by stem)"
    )
    parser.add_argument(
        "--cache",
        dest="named_caches",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="a named cache; repeat to compare caches (e.g. built with other camera policies)",
    )
    parser.add_argument("--models", default="resnet50", help="comma-separated (default resnet50)")
    parser.add_argument(
        "--spaces",
        default="rgb,raw_packed",
        help="comma-separated: rgb, rgb_aug, raw_bayer, raw_packed, raw_linear, "
        "raw_bayer_aug, raw_packed_aug, raw_bayer_cam, raw_packed_cam (default rgb,raw_packed)",
    )
    parser.add_argument("--mode", choices=("full", "linear"), default="full")
    parser.add_argument(
        "--weights",
        default="none",
        help="none, imagenet, a state-dict PATH, or MODEL=SPEC,… per model (default none)",
    )
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument(
        "--folds",
        type=int,
        default=1,
        help="K ≥ 2: one run per cache fold (validated on it); 0 or 1: one run (default 1)",
    )
    parser.add_argument(
        "--seeds", type=int, default=1, help="runs per fold, with seeds SEED, SEED+1, … (default 1)"
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--out", help="output folder")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument(
        "--input-size", type=int, default=224, help="side of the model input; 0 keeps native sizes"
    )
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--patience", type=int, default=10, help="0 disables early stopping")
    parser.add_argument("--workers", type=int, default=4, help="DataLoader workers if streamed")
    shift = parser.add_argument_group("camera shift: test raw models on unseen cameras")
    shift.add_argument(
        "--test-cameras",
        type=int,
        default=0,
        metavar="K",
        help="K cameras drawn as Brooks et al. with a seed of their own (default 0)",
    )
    shift.add_argument(
        "--test-camera",
        dest="test_camera_files",
        action="append",
        default=[],
        metavar="FILE",
        help="an unseen camera from a raw file (DNG, CR2, ...) or a camera JSON; repeatable",
    )
    scale = parser.add_argument_group("scaling out")
    scale.add_argument(
        "--shard", metavar="K/N|auto", help="train only shard K of N of the cells (no report)"
    )
    scale.add_argument(
        "--reclaim", action="store_true", help="take over cells claimed by processes now gone"
    )
    scale.add_argument(
        "--claim-timeout",
        type=float,
        default=120.0,
        metavar="MINUTES",
        help="take over a claim without a heartbeat for this long (default 120)",
    )
    scale.add_argument(
        "--report", metavar="OUT", help="only assemble the report from the finished cells in OUT"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or logs")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the comparison; 0 on success, 2 for bad input, 1 when weights are unavailable."""
    if any(importlib.util.find_spec(name) is None for name in _EXTRA):
        print(_NEEDS_EXTRA, file=sys.stderr)
        return 2
    from tqdm.auto import tqdm

    from classifiers import compare
    from classifiers.models import WeightsUnavailableError
    from classifiers.train import TrainConfig

    def fail(message: str, status: int) -> int:
        print(f"rawspace compare: error: {message}", file=sys.stderr)
        return status

    log = None if args.quiet else lambda line: tqdm.write(line, file=sys.stderr)
    if args.report is not None:
        try:
            compare.write_report(Path(args.report), log=log)
        except compare.CompareError as error:
            return fail(str(error), 2)
        return 0
    if args.out is None:
        return fail("--out OUT is required (or --report OUT to assemble a report)", 2)
    model_names = tuple(m.strip() for m in args.models.split(",") if m.strip())
    space_names = tuple(s.strip() for s in args.spaces.split(",") if s.strip())
    try:
        shard = None if args.shard is None else compare.parse_shard(args.shard)
        if not args.claim_timeout > 0:
            raise compare.CompareError(
                f"--claim-timeout must be positive; got {args.claim_timeout}"
            )
        config = compare.CompareConfig(
            caches=compare.parse_caches(args.cache, args.named_caches),
            out=Path(args.out),
            models=model_names,
            spaces=space_names,
            mode=args.mode,
            weights=compare.parse_weights(args.weights, model_names),
            folds=args.folds,
            seeds=args.seeds,
            device=args.device,
            input_size=args.input_size or None,
            workers=args.workers,
            test_cameras=args.test_cameras,
            test_camera_files=tuple(args.test_camera_files),
            train=TrainConfig(
                epochs=args.epochs,
                batch_size=args.batch_size,
                lr=args.lr,
                label_smoothing=args.label_smoothing,
                patience=args.patience,
                seed=args.seed,
                quiet=args.quiet,
            ),
        )
    except ValueError as error:  # CompareError is a ValueError, as are TrainConfig's
        return fail(str(error), 2)
    try:
        compare.run(
            config,
            shard=shard,
            reclaim=args.reclaim,
            claim_timeout_s=60.0 * args.claim_timeout,
            log=log,
        )
    except compare.CompareError as error:
        return fail(str(error), 2)
    except WeightsUnavailableError as error:
        return fail(str(error), 1)
    return 0
