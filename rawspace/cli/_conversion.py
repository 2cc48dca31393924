"""Options shared by ``rawspace convert`` and ``rawspace build``: how images become raw,
and how their progress is logged; and the listing options of a labelled SOURCE
(a pinned test set, subsets) for ``rawspace build``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tqdm.contrib.logging import logging_redirect_tqdm

from ..hints import CAMERA_POLICIES, CAMERA_SOURCES, FITS, LAYOUTS, NOISE_MODELS

__all__ = [
    "add_conversion_arguments",
    "add_listing_arguments",
    "conversion_options",
    "listing_options",
    "logging_to_stderr",
    "non_negative",
    "positive",
]


def non_negative(text: str) -> int:
    """A non-negative integer argument (``--seed``, ``--page``), as the library requires."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}")
    return value


def positive(text: str) -> int:
    """A positive integer argument (``--per-class``, ``--limit``)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def add_listing_arguments(group: Any) -> None:
    """Add --test-list, --per-class and --limit (see `rawspace.sources.read_source`)."""
    group.add_argument(
        "--test-list",
        metavar="FILE",
        help="pin the test set to the images FILE names (a CSV with a 'path' column, or "
        "one path a line, relative to SOURCE's root), e.g. a published split; a CSV "
        "SOURCE may instead have a 'split' column (train/test); default: drawn with "
        "--test-fraction",
    )
    group.add_argument(
        "--per-class",
        type=positive,
        metavar="N",
        help="keep N images of each class: the first by SHA-256 of their relative path "
        "(deterministic, nested, independent of --seed); default: all",
    )
    group.add_argument(
        "--limit",
        type=positive,
        metavar="N",
        help="keep N images in all (after --per-class), chosen the same way; default: all",
    )


def listing_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments of `rawspace.sources.read_source` (and so of
    `rawspace.cache.build`) from the arguments of :func:`add_listing_arguments`."""
    return {"test_list": args.test_list, "per_class": args.per_class, "limit": args.limit}


def add_conversion_arguments(group: Any, *, size_help: str) -> None:
    """Add --layout, --camera, --cameras, --camera-per, --noise, --noise-per, --seed, --size, --fit,
    --page."""
    group.add_argument("--layout", choices=LAYOUTS, default="bayer", help="default: bayer")
    group.add_argument(
        "--camera",
        default="sample",
        metavar="sample|FILE",
        help="draw random cameras (default), or use the camera of FILE: a JSON of "
        "CameraParams (or a convert output's .json) or a camera raw file such as a DNG",
    )
    group.add_argument(
        "--cameras",
        choices=CAMERA_SOURCES,
        default="brooks",
        help="where random cameras come from: brooks (mixes of Brooks et al.'s four "
        "matrices), catalogue (real cameras, see 'rawspace info --cameras'), or its "
        "training or held-out part; default: brooks",
    )
    group.add_argument(
        "--camera-per",
        choices=CAMERA_POLICIES,
        default="dataset",
        help="scope sharing one random camera; default: dataset",
    )
    group.add_argument(
        "--noise",
        choices=("none", *NOISE_MODELS),
        default="none",
        help="sensor noise: none, brooks (levels drawn as Brooks et al.) or camera (the "
        "camera's own noise profile, e.g. a DNG's NoiseProfile); default: none",
    )
    group.add_argument(
        "--noise-per",
        choices=CAMERA_POLICIES,
        default="image",
        help="scope sharing one set of noise levels (the noise itself is per image); "
        "default: image",
    )
    group.add_argument(
        "--seed",
        type=non_negative,
        default=0,
        help="seed of cameras, noise (and splits); default: 0",
    )
    group.add_argument("--size", type=int, default=400, help=size_help)
    group.add_argument(
        "--fit",
        choices=FITS,
        default="pad",
        help="how to reach --size: pad and crop centre-crop longer sides and reflect-pad "
        "shorter ones (no resampling); resize crops to a square and resamples; default: pad",
    )
    group.add_argument(
        "--page",
        type=non_negative,
        metavar="K",
        help="read page K (0 = the first) of multi-page images such as TIFF stacks; "
        "default: refuse multi-page images (listed as failures)",
    )


def conversion_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments of `rawspace.convert.convert` / `rawspace.cache.build` (not size):
    the fields of `rawspace.options.ConversionOptions`."""
    return {
        "page": args.page,
        "layout": args.layout,
        "camera": None if args.camera == "sample" else args.camera,
        "cameras": args.cameras,
        "camera_per": args.camera_per,
        "noise": None if args.noise == "none" else args.noise,
        "noise_per": args.noise_per,
        "seed": args.seed,
        "fit": args.fit,
    }


@contextmanager
def logging_to_stderr(*, verbose: bool) -> Iterator[None]:
    """Send rawspace's log (each image and failure with ``verbose``, else warnings only) to
    stderr, around a progress bar, for the duration of the block."""
    logger = logging.getLogger("rawspace")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    try:
        with logging_redirect_tqdm(loggers=[logger]):
            yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
