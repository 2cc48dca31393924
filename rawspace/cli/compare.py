"""``rawspace compare``: train classifiers on RGB and raw input spaces of caches and compare.

A thin layer over :func:`classifiers.compare.run`; torch and the other packages of the
``classify`` extra are imported only when the command runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

__all__ = ["register", "run"]

_EXTRA = ("torch", "torchvision", "sklearn", "matplotlib")
_NEEDS_EXTRA = "rawspace compare needs the classify extra: pip install 'rawspace[classify]'"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``compare`` subcommand to ``subparsers``."""
    parser = subparsers.add_parser(
        "compare",
        help="train and compare classifiers on RGB and raw input spaces",
        description=(
            "Train every model on every input space of every cache (and fold), test on the "
            "cache's test split and write results.{json,csv,md} and figures into --out. "
            "Finished cells in OUT/cells are reused."
        ),
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
        help="comma-separated: rgb, rgb_aug, raw_bayer, raw_packed, raw_linear",
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
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument(
        "--input-size", type=int, default=224, help="side of the model input; 0 keeps native sizes"
    )
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--patience", type=int, default=10, help="0 disables early stopping")
    parser.add_argument("--workers", type=int, default=4, help="DataLoader workers if streamed")
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

    model_names = tuple(m.strip() for m in args.models.split(",") if m.strip())
    space_names = tuple(s.strip() for s in args.spaces.split(",") if s.strip())
    try:
        config = compare.CompareConfig(
            caches=compare.parse_caches(args.cache, args.named_caches),
            out=Path(args.out),
            models=model_names,
            spaces=space_names,
            mode=args.mode,
            weights=compare.parse_weights(args.weights, model_names),
            folds=args.folds,
            device=args.device,
            input_size=args.input_size or None,
            workers=args.workers,
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
        compare.run(config, log=None if args.quiet else lambda s: tqdm.write(s, file=sys.stderr))
    except compare.CompareError as error:
        return fail(str(error), 2)
    except WeightsUnavailableError as error:
        return fail(str(error), 1)
    return 0
