"""The add-on's subcommands of the ``rawspace`` command line, registered through the
``rawspace.commands`` entry point group (``compare = "classifiers.commands:register_compare"``).

Importing this module loads nothing heavy: torch and the rest of the ``classify`` extra
are imported only when a command runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .grid import CompareConfig

__all__ = ["MODEL_NAMES", "register_compare", "run_compare"]

_EXTRA = ("torch", "torchvision", "sklearn", "scipy", "matplotlib")
_NEEDS_EXTRA = "rawspace compare needs the classify extra: pip install 'rawspace[classify]'"
#: The names ``--models`` accepts (:func:`classifiers.models.check_model`; a test keeps
#: them in step), written out so that ``--help`` imports no torch.
MODEL_NAMES = (
    "resnet50", "densenet121", "vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32",
    "mobilenet_v3_small", "dinobloom-s", "dinobloom-b", "dinobloom-l", "dinobloom-g",
)  # fmt: skip

_EPILOG = """\
Every model is trained on every input space of every cache, for every fold and seed,
and tested on the cache's test split; OUT gets results.{json,csv,md} and figures, with
paired statistics (bootstrap CIs over test images, McNemar, t-test and Wilcoxon over
runs) for every raw space against rgb and every augmented space against its twin.
Finished cells in OUT/cells are reused while their settings and cache are unchanged;
a damaged cell is retrained.

Scaling out: --shard K/N (or auto, in a SLURM array job) trains only shard K's cells
into a shared OUT; claims keep two processes off one cell; then
'rawspace compare --report OUT' assembles the report. Under
'torchrun --nproc-per-node=G -m rawspace compare ...' each cell trains on G processes.
Exit status: 0 success, 1 when weights are unavailable, 2 for bad input,
3 when an output cannot be written.
"""


def _add_training(parser: argparse.ArgumentParser) -> None:
    from .space_catalogue import help_text

    parser.add_argument(
        "--models",
        default="resnet50",
        help=f"comma-separated: {', '.join(MODEL_NAMES)}, or timm:NAME for any timm model",
    )
    parser.add_argument(
        "--spaces", default="rgb,raw_packed", help=f"comma-separated: {help_text()}"
    )
    parser.add_argument("--mode", choices=("full", "linear"), default="full",
                        help="train every layer, or the last layer only")  # fmt: skip
    parser.add_argument(
        "--weights",
        default="none",
        help="none, imagenet, a state-dict PATH, or MODEL=SPEC,… per model",
    )
    parser.add_argument("--epochs", type=int, default=30, help="most epochs per run")
    parser.add_argument(
        "--folds",
        type=int,
        default=1,
        help="K ≥ 2: one run per cache fold (validated on it); 0 or 1: one run",
    )
    parser.add_argument("--seeds", type=int, default=1,
                        help="runs per fold, with seeds SEED, SEED+1, …")  # fmt: skip
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="auto: CUDA when available")  # fmt: skip
    parser.add_argument("--batch-size", type=int, default=64, help="global batch size")
    parser.add_argument(
        "--lr", type=float,
        help="peak learning rate of AdamW (default: the model's recipe, 1e-3 from scratch, "
        "1e-4 to fine-tune pretrained weights)",
    )  # fmt: skip
    parser.add_argument(
        "--warmup-epochs", type=int,
        help="epochs of linear warm-up (default: the model's recipe)",
    )  # fmt: skip
    parser.add_argument(
        "--layer-decay", type=float,
        help="layer-wise learning-rate decay, 1 for none (default: the model's recipe, "
        "0.65-0.75 for pretrained ViTs)",
    )  # fmt: skip
    parser.add_argument(
        "--threads", type=int,
        help="CPU threads of training (default: the CPUs this process may use, shared by "
        "the torchrun processes of a node)",
    )  # fmt: skip
    parser.add_argument("--input-size", type=int, default=224,
                        help="side of the model input; 0 keeps native sizes")  # fmt: skip
    parser.add_argument("--label-smoothing", type=float, default=0.0,
                        help="of the cross-entropy loss")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--patience", type=int, default=10, help="0 disables early stopping")
    parser.add_argument("--workers", type=int, default=4, help="DataLoader workers if streamed")


def register_compare(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``compare`` subcommand to ``subparsers``."""
    parser = subparsers.add_parser(
        "compare",
        help="train and compare classifiers on RGB and raw input spaces",
        description="Train classifiers on RGB and raw input spaces of caches and compare them.",
        epilog=_EPILOG,
        formatter_class=_Formatter,
    )
    parser.add_argument(
        "cache", nargs="?", help="an HDF5 cache, or a folder of *.h5 caches (named by stem)"
    )
    parser.add_argument(
        "--cache", dest="named_caches", action="append", default=[], metavar="NAME=PATH",
        help="a named cache; repeat to compare caches (e.g. built with other camera policies)",
    )  # fmt: skip
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", metavar="OUT", help="output folder")
    where.add_argument(
        "--report", metavar="OUT", help="only assemble the report from the finished cells in OUT"
    )
    _add_training(parser)
    shift = parser.add_argument_group("camera shift: test raw models on unseen cameras")
    shift.add_argument(
        "--test-cameras", type=int, default=0, metavar="K",
        help="K cameras drawn as Brooks et al. with a seed of their own (at most 1000)",
    )  # fmt: skip
    shift.add_argument(
        "--test-camera", dest="test_camera_files", action="append", default=[], metavar="FILE",
        help="an unseen camera from a raw file (DNG, CR2, ...) or a camera JSON; repeatable",
    )  # fmt: skip
    shift.add_argument(
        "--test-camera-curves", choices=("cache", "own"), default="cache",
        help="tone and gamma curves of a --test-camera FILE: the cache's (only the camera "
        "changes) or the file's own",
    )  # fmt: skip
    stats = parser.add_argument_group("the report's statistics")
    stats.add_argument(
        "--primary", metavar="A-B",
        help="the primary comparison of every model, two spaces as A-B (default: rgb "
        "against the first raw space named); every other comparison is Holm-adjusted",
    )  # fmt: skip
    stats.add_argument(
        "--margin", type=float, metavar="M",
        help="non-inferiority margin in percentage points: adds a non-inferiority verdict "
        "(the CI's lower end above -M)",
    )  # fmt: skip
    scale = parser.add_argument_group("scaling out")
    scale.add_argument("--shard", metavar="K/N|auto",
                       help="train only shard K of N of the cells (no report)")  # fmt: skip
    scale.add_argument("--reclaim", action="store_true",
                       help="take over cells claimed by processes now gone")  # fmt: skip
    scale.add_argument("--claim-timeout", type=float, default=120.0, metavar="MINUTES",
                       help="take over a claim without a heartbeat for this long")  # fmt: skip
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or logs")
    parser.set_defaults(func=run_compare)


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The epilog as written, and every option's default in its help (but for options
    without one: None, empty lists and off switches)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, [], False):
            return action.help
        return super()._get_help_string(action)


def _fail(message: str, status: int) -> int:
    print(f"rawspace compare: error: {message}", file=sys.stderr)
    return status


def _config(args: argparse.Namespace) -> CompareConfig:
    from .grid import CompareConfig, CompareError, parse_caches, parse_weights
    from .train import TrainConfig

    if not args.claim_timeout > 0:
        raise CompareError(f"--claim-timeout must be positive; got {args.claim_timeout}")
    model_names = tuple(m.strip() for m in args.models.split(",") if m.strip())
    chosen = {"lr": args.lr, "warmup_epochs": args.warmup_epochs, "layer_decay": args.layer_decay}
    given = {name: value for name, value in chosen.items() if value is not None}
    return CompareConfig(
        caches=parse_caches(args.cache, args.named_caches),
        out=Path(args.out),
        models=model_names,
        spaces=tuple(s.strip() for s in args.spaces.split(",") if s.strip()),
        mode=args.mode,
        weights=parse_weights(args.weights, model_names),
        folds=args.folds,
        seeds=args.seeds,
        device=args.device,
        input_size=args.input_size or None,
        workers=args.workers,
        test_cameras=args.test_cameras,
        test_camera_files=tuple(args.test_camera_files),
        test_camera_curves=args.test_camera_curves,
        primary=args.primary,
        margin=args.margin,
        train_given=tuple(given),
        train=TrainConfig(
            epochs=args.epochs, batch_size=args.batch_size,
            label_smoothing=args.label_smoothing, patience=args.patience, seed=args.seed,
            quiet=args.quiet, threads=args.threads, **given,
        ),
    )  # fmt: skip


def run_compare(args: argparse.Namespace) -> int:
    """Run ``rawspace compare``; returns the exit status: 0 success, 1 weights unavailable,
    2 bad input, 3 an output cannot be written."""
    if any(importlib.util.find_spec(name) is None for name in _EXTRA):
        print(_NEEDS_EXTRA, file=sys.stderr)
        return 2
    from tqdm.auto import tqdm

    from rawspace.cpus import configure_threads
    from rawspace.files import WriteError

    if args.threads is not None and args.threads < 1:
        return _fail(f"--threads must be a positive integer; got {args.threads}", 2)
    configure_threads(args.threads)  # before torch starts its pools

    from .grid import CompareError, parse_shard, run, write_report
    from .models import WeightsUnavailableError

    log = None if args.quiet else lambda line: tqdm.write(line, file=sys.stderr)
    try:
        if args.report is not None:
            write_report(Path(args.report), log=log, primary=args.primary, margin=args.margin)
            return 0
        shard = None if args.shard is None else parse_shard(args.shard)
        config = _config(args)
        run(config, shard=shard, reclaim=args.reclaim,
            claim_timeout_s=60.0 * args.claim_timeout, log=log)  # fmt: skip
    except WriteError as error:
        return _fail(str(error), 3)
    except WeightsUnavailableError as error:
        return _fail(str(error), 1)
    except (CompareError, ValueError) as error:  # TrainConfig raises ValueErrors
        return _fail(str(error), 2)
    return 0
