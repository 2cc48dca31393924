"""``rawspace demo``: the whole pipeline on images bundled with scikit-image.

No input and no network: crops of four scikit-image sample images, labelled by
the image they come from, are inverted into raw with sampled cameras, written
as a DNG that LibRaw develops back, cached in HDF5, and — when the ``classify``
extra is installed — used to train a small classifier for a few seconds in two
input spaces. Everything lands in one folder with a one-page ``report.md``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import rawpy
from skimage import data
from skimage.metrics import peak_signal_noise_ratio

from . import cache
from .cfa import cfa_channels
from .images import write_png
from .params import CameraParams
from .pipeline import develop, invert
from .rawimage import RawImage
from .rawio import write_dng

__all__ = ["SOURCES", "DemoReport", "false_colour", "run_demo"]

#: The labelled sources: scikit-image samples that ship with the package (no download).
SOURCES: dict[str, Callable[[], np.ndarray]] = {
    "immunohistochemistry": data.immunohistochemistry,
    "retina": data.retina,
    "astronaut": data.astronaut,
    "coffee": data.coffee,
}

_CROP = 64
_PER_CLASS = 100
_EPOCHS = 12


@dataclass
class DemoReport:
    """What the demo measured; ``report`` is the path of ``report.md``."""

    out: Path
    report: Path
    round_trip: dict[str, dict[str, float]] = field(default_factory=dict)
    libraw_psnr_db: float = float("nan")
    cache: Path | None = None
    comparison: dict[str, float] | None = None
    statistics: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)


def _psnr(test: np.ndarray, reference: np.ndarray) -> float:
    """PSNR in dB of float images in [0, 1]."""
    return float(peak_signal_noise_ratio(reference, test, data_range=1.0))


def _crops(out: Path, seed: int) -> Path:
    """Random 64×64 crops of each source into ``out/images/<source>/NNN.png``.

    Crops come from the central 60 % of each image, away from the uniform backgrounds
    (the retina's black corners, for one) that would make some crops of different
    sources indistinguishable.
    """
    rng = np.random.default_rng(seed)
    root = out / "images"
    for name, load in SOURCES.items():
        image = load()
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        h, w = image.shape[:2]
        top, left = int(0.2 * h), int(0.2 * w)
        for k in range(_PER_CLASS):
            y = int(rng.integers(top, h - top - _CROP))
            x = int(rng.integers(left, w - left - _CROP))
            write_png(folder / f"{k:03d}.png", image[y : y + _CROP, x : x + _CROP])
    return root


def false_colour(raw: RawImage) -> np.ndarray:
    """Bayer plane → uint8 RGB for display: each site's value in its filter's channel.

    Values are scaled so that the 99.5th percentile is white, then gamma 2.2 is applied.

    Parameters
    ----------
    raw : RawImage
        With layout ``"bayer"``.

    Returns
    -------
    numpy.ndarray, shape (H, W, 3), uint8
    """
    params = raw.params
    unit = (raw.data.astype(np.float64) - params.black_level) / (
        params.white_level - params.black_level
    )
    shown = np.zeros((*unit.shape, 3))
    channels = cfa_channels(params.cfa)
    for dy in range(2):
        for dx in range(2):
            shown[dy::2, dx::2, channels[dy, dx]] = unit[dy::2, dx::2]
    scale = max(float(np.percentile(unit, 99.5)), 1e-6)
    return (np.clip(shown / scale, 0, 1) ** (1 / 2.2) * 255).astype(np.uint8)


def _round_trips(out: Path, seed: int) -> tuple[dict[str, dict[str, float]], float]:
    """PSNR of develop(invert(x)) per source and route; a DNG developed by LibRaw."""
    table: dict[str, dict[str, float]] = {}
    strip = None
    libraw_db = float("nan")
    for index, (name, load) in enumerate(SOURCES.items()):
        image = load()[:256, :256]
        params = CameraParams.sample(seed + index)
        unit = image / 255.0
        exact = develop(invert(image, params, layout="linear", dtype=np.float32))
        bayer = invert(image, params)
        table[name] = {
            "linear float32, bit-exact": float(np.array_equal(exact, image)),
            "linear uint16 (14 bit)": _psnr(
                develop(invert(image, params, layout="linear"), dtype=np.float32), unit
            ),
            "Bayer, bilinear": _psnr(develop(bayer, dtype=np.float32), unit),
            "Bayer, Malvar 2004": _psnr(
                develop(bayer, demosaic="malvar2004", dtype=np.float32), unit
            ),
        }
        if strip is None:
            developed = develop(bayer, demosaic="malvar2004")
            tiles = [image, false_colour(bayer), developed]
            strip = np.concatenate(
                [cv2.resize(t, (256, 256), interpolation=cv2.INTER_NEAREST) for t in tiles],
                axis=1,
            )
            write_png(out / "strip.png", strip)
            dng = write_dng(bayer, out / "example.dng", description=f"skimage.data.{name}")
            with rawpy.imread(str(dng)) as handle:
                libraw = handle.postprocess(
                    demosaic_algorithm=rawpy.DemosaicAlgorithm.LINEAR,
                    use_camera_wb=True,
                    output_color=rawpy.ColorSpace.sRGB,
                    gamma=(1, 1),
                    no_auto_bright=True,
                    output_bps=16,
                    user_flip=0,
                    adjust_maximum_thr=0.0,
                )
            ours = develop(bayer, output="linear", dtype=np.float32)
            inner = (slice(4, -4), slice(4, -4))
            libraw_db = _psnr(ours[inner], libraw[inner] / 65535.0)
    return table, libraw_db


def _compare(
    cache: Path, out: Path, say: Callable[[str], None]
) -> tuple[dict[str, float], str] | None:
    """Train in RGB and packed raw through ``rawspace compare`` (the ``classify`` add-on);
    test accuracy per space and the paired comparison, from ``compare/results.json``."""
    from .cli import command

    compare = command("compare")
    skipped = "  (skipped: training needs the classify extra — pip install 'rawspace[classify]')"
    if compare is None:
        say(skipped)
        return None
    argv = [str(cache), "--models", "mobilenet_v3_small", "--spaces", "rgb,raw_packed",
            "--folds", "1", "--device", "cpu", "--input-size", str(_CROP), "--workers", "0",
            "--epochs", str(_EPOCHS), "--batch-size", "32", "--lr", "3e-3", "--patience", "0",
            "--out", str(out / "compare"), "-q"]  # fmt: skip
    status = compare(argv)
    if status != 0:
        say(f"  (not trained: rawspace compare ended with exit status {status})")
        return None
    results = json.loads((out / "compare" / "results.json").read_text(encoding="utf-8"))
    accuracy = {r["space"]: 100.0 * r["metrics"]["accuracy"]["mean"] for r in results["rows"]}
    return accuracy, results["comparisons"][0]["sentence_accuracy"]


def run_demo(
    out: str | Path = "rawspace-demo",
    *,
    seed: int = 0,
    train: bool = True,
    log: Callable[[str], None] | None = None,
) -> DemoReport:
    """Run the demo into ``out`` and return what it measured.

    Parameters
    ----------
    out : path
        Output folder (created; existing demo files in it are replaced).
    seed : int
        Seeds the crops, the cameras, the splits and the training.
    train : bool
        Train the small classifier (needs the ``classify`` extra).
    log : callable, optional
        Receives one progress line per step (default: print to stderr).
    """
    say = log or (lambda line: print(line, file=sys.stderr, flush=True))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = DemoReport(out=out, report=out / "report.md")
    clock = time.perf_counter()

    def step(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        report.seconds[name] = now - clock
        clock = now

    say("1/4 inverting sample images, writing a DNG and developing it with LibRaw")
    report.round_trip, report.libraw_psnr_db = _round_trips(out, seed)
    step("round trips")

    say(f"2/4 building an HDF5 cache of {len(SOURCES)} × {_PER_CLASS} crops")
    images = _crops(out, seed)
    report.cache = out / "demo.h5"
    cache.build(
        images,
        report.cache,
        layout="bayer",
        size=_CROP,
        seed=seed,
        test_fraction=0.25,
        folds=2,
        overwrite=True,
        progress=True,
    )
    step("cache")

    if train:
        say("3/4 training MobileNetV3-Small for a few seconds on the CPU, in RGB and packed raw")
        compared = _compare(report.cache, out, say)
        if compared is not None:
            report.comparison, report.statistics = compared
    step("training")

    say("4/4 writing the report")
    report.report.write_text(_markdown(report), encoding="utf-8")
    say(f"done: {report.report}")
    return report


def _markdown(report: DemoReport) -> str:
    routes = next(iter(report.round_trip.values())).keys()
    lines = [
        "# rawspace demo",
        "",
        "Crops of scikit-image's sample images, inverted into camera raw with cameras",
        "sampled as Brooks et al. (CVPR 2019) do, and developed back.",
        "",
        "![sRGB | Bayer mosaic (false colour) | developed](strip.png)",
        "",
        "sRGB → Bayer mosaic in false colour (each site in its filter's colour) →",
        "developed back with Malvar 2004 demosaicing.",
        "",
        "## Round trip develop(invert(x)), PSNR in dB against the original",
        "",
        "| source | " + " | ".join(routes) + " |",
        "|---|" + "---|" * len(routes),
    ]
    for name, row in report.round_trip.items():
        cells = []
        for route, value in row.items():
            if "bit-exact" in route:
                cells.append("yes" if value == 1.0 else "no")
            else:
                cells.append(f"{value:.1f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## A DNG that LibRaw develops",
        "",
        "`example.dng` (written by `rawspace.write_dng`) developed by LibRaw (linear",
        "interpolation, camera white balance, linear sRGB) against",
        f"`rawspace.develop(..., output='linear')`: **{report.libraw_psnr_db:.1f} dB** PSNR.",
        "",
        "## A tiny RGB vs raw comparison",
        "",
    ]
    if report.comparison is None:
        lines.append("Not run (needs the `classify` extra).")
    else:
        lines += [
            f"MobileNetV3-Small from scratch on {len(SOURCES)} classes (the source image),",
            f"64×64 crops, {_EPOCHS} epochs on the CPU; the same training images, order and",
            "initialisation in both spaces, tested on the same held-out crops.",
            "",
            "| input space | test accuracy % |",
            "|---|---|",
        ]
        lines += [f"| {space} | {acc:.1f} |" for space, acc in report.comparison.items()]
        lines += [
            "",
            f"Paired comparison: {report.statistics}",
            "",
            "With one run and a hundred test crops, only a large difference could show; a",
            "real comparison uses folds and seeds (`rawspace compare --folds 5 --seeds 2`).",
            "`compare/results.md` has the full tables.",
        ]
    lines += ["", "## Time", ""]
    lines += [f"- {name}: {seconds:.1f} s" for name, seconds in report.seconds.items()]
    return "\n".join(lines) + "\n"
