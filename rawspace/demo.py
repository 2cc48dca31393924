"""``rawspace demo``: the whole pipeline on images bundled with scikit-image.

No input and no network: crops of four scikit-image sample images, labelled by
the image they come from, are inverted into raw with sampled cameras, written
as a DNG that LibRaw develops back, cached in HDF5, and — when the ``classify``
extra is installed — used to train a small classifier for a few seconds in two
input spaces. Everything lands in one folder with a one-page ``report.md``,
rewritten after each step with what has finished. The demo prints the test
accuracies in the form :func:`accuracy_line` gives, and its wall time.
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
from .cpus import ThreadSettings, configure_threads
from .files import write_text
from .images import write_png
from .params import CameraParams
from .pipeline import develop, invert
from .rawimage import RawImage
from .rawio import write_dng

__all__ = ["SOURCES", "DemoReport", "accuracy_line", "false_colour", "run_demo"]

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
_SPACES = ("rgb", "raw_packed")
_STEPS = ("round trips", "cache", "training")


@dataclass
class DemoReport:
    """What the demo measured.

    Attributes
    ----------
    out, report : pathlib.Path
        The output folder and its ``report.md``.
    round_trip : dict
        PSNR in dB (or 1.0 for bit-exact) per source image and route.
    libraw_psnr_db : float
        LibRaw's development of ``example.dng`` against rawspace's.
    cache : pathlib.Path or None
        ``demo.h5`` once built.
    comparison : dict of str to float, or None
        Test accuracy in % per input space, once trained.
    statistics : str or None
        The paired comparison's sentence.
    training_note : str or None
        Why nothing was trained, when nothing was.
    seconds : dict of str to float
        Wall time of each finished step.
    threads : int
        Threads per pool (OpenMP, BLAS, Numba) the demo ran with.

    Examples
    --------
    >>> DemoReport(out=Path("demo"), report=Path("demo/report.md")).comparison is None
    True
    """

    out: Path
    report: Path
    round_trip: dict[str, dict[str, float]] = field(default_factory=dict)
    libraw_psnr_db: float = float("nan")
    cache: Path | None = None
    comparison: dict[str, float] | None = None
    statistics: str | None = None
    training_note: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    threads: int = 1


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


def _compare(cache: Path, out: Path) -> tuple[dict[str, float], str] | str:
    """Train in RGB and packed raw through ``rawspace compare`` (the ``classify`` add-on).

    Returns the test accuracy in % per space and the paired comparison's sentence, from
    ``compare/results.json``, or a sentence saying why nothing was trained.
    """
    from .cli import command

    compare = command("compare")
    if compare is None:
        return "Not run: training needs the `classify` extra (`pip install 'rawspace[classify]'`)."
    argv = [str(cache), "--models", "mobilenet_v3_small", "--spaces", ",".join(_SPACES),
            "--folds", "1", "--device", "cpu", "--input-size", str(_CROP), "--workers", "0",
            "--epochs", str(_EPOCHS), "--batch-size", "32", "--lr", "3e-3", "--patience", "0",
            "--out", str(out / "compare"), "-q"]  # fmt: skip
    status = compare(argv)
    if status != 0:
        return f"Not trained: `rawspace compare` ended with exit status {status}."
    results = json.loads((out / "compare" / "results.json").read_text(encoding="utf-8"))
    accuracy = {r["space"]: 100.0 * r["metrics"]["accuracy"]["mean"] for r in results["rows"]}
    return accuracy, results["comparisons"][0]["sentence_accuracy"]


def accuracy_line(accuracy: dict[str, float]) -> str:
    """The line the demo prints with the test accuracies, as README quotes it.

    Examples
    --------
    >>> accuracy_line({"rgb": 98.0, "raw_packed": 96.0})
    'test accuracy: rgb 98.0 %, raw_packed 96.0 %'
    """
    return "test accuracy: " + ", ".join(f"{s} {a:.1f} %" for s, a in accuracy.items())


def _threads(settings: ThreadSettings) -> int:
    """The OpenMP thread count in effect: the user's, where they set a valid one."""
    value = settings.variables.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else settings.threads


def run_demo(
    out: str | Path = "rawspace-demo",
    *,
    seed: int = 0,
    train: bool = True,
    log: Callable[[str], None] | None = None,
) -> DemoReport:
    """Run the demo into ``out`` and return what it measured.

    ``report.md`` is rewritten after each step with what has finished, so a demo
    that is stopped leaves the figures of the steps it completed. Thread pools are
    sized to the CPUs this process may use, with a passive OpenMP wait policy
    (:func:`rawspace.cpus.configure_threads`; what the user set is kept).

    Parameters
    ----------
    out : path
        Output folder (created; existing demo files in it are replaced).
    seed : int
        Seeds the crops, the cameras, the splits and the training.
    train : bool
        Train the small classifier (needs the ``classify`` extra).
    log : callable, optional
        Receives the progress lines (default: print to stderr).

    Returns
    -------
    DemoReport
    """
    say = log or (lambda line: print(line, file=sys.stderr, flush=True))
    # Before the first parallel kernel starts the OpenMP pool, which reads these once.
    report = DemoReport(out=Path(out), report=Path(out) / "report.md")
    report.threads = _threads(configure_threads())
    report.out.mkdir(parents=True, exist_ok=True)
    write_text(report.report, _markdown(report))  # replaces a report of an earlier run
    begin = clock = time.perf_counter()

    def finish(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        report.seconds[step] = now - clock
        clock = now
        write_text(report.report, _markdown(report))

    say("1/3 inverting sample images, writing a DNG and developing it with LibRaw")
    report.round_trip, report.libraw_psnr_db = _round_trips(report.out, seed)
    finish("round trips")

    say(f"2/3 building an HDF5 cache of {len(SOURCES)} × {_PER_CLASS} crops")
    report.cache = report.out / "demo.h5"
    cache.build(_crops(report.out, seed), report.cache, layout="bayer", size=_CROP, seed=seed,
                test_fraction=0.25, folds=2, overwrite=True, progress=True)  # fmt: skip
    finish("cache")

    if train:
        say(f"3/3 training MobileNetV3-Small on the CPU, {_EPOCHS} epochs in each of "
            f"{' and '.join(_SPACES)} ({_count(report.threads, 'thread')})")  # fmt: skip
        compared = _compare(report.cache, report.out)
        if isinstance(compared, str):
            report.training_note = compared
            say("  " + compared)
        else:
            report.comparison, report.statistics = compared
            say(accuracy_line(report.comparison))
    else:
        report.training_note = "Not run (`--no-train`)."
    finish("training")
    say(f"done in {time.perf_counter() - begin:.0f} s: {report.report}")
    return report


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _pending(report: DemoReport) -> list[str]:
    return [step for step in _STEPS if step not in report.seconds]


def _round_trip_section(report: DemoReport) -> list[str]:
    routes = next(iter(report.round_trip.values())).keys()
    lines = [
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
    ]
    return lines


def _comparison_section(report: DemoReport) -> list[str]:
    lines = ["## A tiny RGB vs raw comparison", ""]
    if report.comparison is None:
        return [*lines, report.training_note or "Not run.", ""]
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
        "",
    ]
    return lines


def _markdown(report: DemoReport) -> str:
    """``report.md`` with the sections of the steps that have finished."""
    lines = [
        "# rawspace demo",
        "",
        "Crops of scikit-image's sample images, inverted into camera raw with cameras",
        "sampled as Brooks et al. (CVPR 2019) do, and developed back.",
        "",
    ]
    pending = _pending(report)
    if pending:
        lines += [f"**Not finished when this was written: {', '.join(pending)}.**", ""]
    if "round trips" in report.seconds:
        lines += [
            "![sRGB | Bayer mosaic (false colour) | developed](strip.png)",
            "",
            "sRGB → Bayer mosaic in false colour (each site in its filter's colour) →",
            "developed back with Malvar 2004 demosaicing.",
            "",
            *_round_trip_section(report),
        ]
    if "cache" in report.seconds:
        lines += [
            "## An HDF5 cache",
            "",
            f"`demo.h5`: {len(SOURCES)} × {_PER_CLASS} crops of {_CROP}×{_CROP} pixels as",
            "14-bit Bayer mosaics of one sampled camera, with their sRGB images; 25 % of",
            "each class held out for testing, the rest in 2 folds.",
            "",
        ]
    if "training" in report.seconds:
        lines += _comparison_section(report)
    lines += ["## Time", ""]
    lines += [f"- {name}: {seconds:.1f} s" for name, seconds in report.seconds.items()]
    total = sum(report.seconds.values())
    lines.append(f"- total: {total:.1f} s, {_count(report.threads, 'thread')}")
    return "\n".join(lines) + "\n"
