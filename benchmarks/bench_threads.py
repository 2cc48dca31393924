"""Epoch time of a small ``rawspace compare`` run idle and beside competing processes.

Run:  python benchmarks/bench_threads.py [--pbc DIR] [--epochs 4] [--settings ...]

MobileNetV3-Small at 64 px, one fold, the same cache and seed throughout, on a
cache this script builds: crops of four scikit-image sample images (the class is
the image), or ``--per-class`` cells of each class of a PBC folder (``--pbc``).
Every ``compare`` run is a fresh process started with one thread setting:

- ``default``: none of the thread variables set (what a user gets);
- ``OMP_NUM_THREADS=1`` and ``OMP_WAIT_POLICY=PASSIVE``: the explicit settings;
- ``OMP_WAIT_POLICY=ACTIVE`` (only when asked for with ``--settings``): OpenMP
  threads that keep spinning at barriers, for reference (libgomp without a policy
  spins for a while, then sleeps);

in three situations: ``idle`` (alone), ``busy loop`` (beside one CPU-bound
process: a Python busy loop in a child process), and ``second compare`` (beside
a second ``compare`` process of the same setting that is already training, as
two ``--shard`` processes or array tasks on one node run). The epoch time is the
median of the run's training passes after the first (``epoch_s`` of each epoch
in ``cells/KEY.json``, so process start, model creation and validation are left
out), also given as a ratio to the idle epoch of the default setting, measured
in the same run; the run's wall time is shown too. Loads from other processes
drift: the load average is printed before and after, and the 1-minute load after
each run beside it; timings on a shared machine are high.

Goals (reported, not asserted): beside one competing process, an epoch within 2×
the idle epoch; beside a second compare (two shards at once: their total time is
set by this epoch), within 1.1× the best explicit setting.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from skimage import data

from rawspace import cache
from rawspace.cpus import THREAD_VARIABLES, cpu_budget
from rawspace.images import write_png

#: The thread settings: name → the variables set in the compare process's environment.
SETTINGS: dict[str, dict[str, str]] = {
    "default": {},
    "OMP_NUM_THREADS=1": {"OMP_NUM_THREADS": "1"},
    "OMP_WAIT_POLICY=PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
    "OMP_WAIT_POLICY=ACTIVE": {"OMP_WAIT_POLICY": "ACTIVE"},
}
EXPLICIT = ("OMP_NUM_THREADS=1", "OMP_WAIT_POLICY=PASSIVE")
SITUATIONS = ("idle", "busy loop", "second compare")
_SOURCES = ("immunohistochemistry", "retina", "astronaut", "coffee")
_SIZE = 64
_BUSY_LOOP = "while True:\n    pass\n"


@dataclass(frozen=True)
class Timing:
    """One measurement: the median epoch (s) of its run(s) and the wall time (s)."""

    situation: str
    setting: str
    epoch_s: float
    wall_s: float
    threads: int
    load: float


def skimage_source(root: Path, per_class: int, seed: int = 0) -> Path:
    """``per_class`` 64×64 crops of each of four scikit-image samples, one folder each."""
    rng = np.random.default_rng(seed)
    for name in _SOURCES:
        image = getattr(data, name)()
        h, w = image.shape[:2]
        top, left = int(0.2 * h), int(0.2 * w)
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for k in range(per_class):
            y = int(rng.integers(top, h - top - _SIZE))
            x = int(rng.integers(left, w - left - _SIZE))
            write_png(folder / f"{k:03d}.png", image[y : y + _SIZE, x : x + _SIZE])
    return root


def pbc_source(pbc: Path, root: Path, per_class: int) -> Path:
    """The first ``per_class`` cells (by name) of each class of a PBC folder, as links."""
    for folder in sorted(p for p in pbc.iterdir() if p.is_dir()):
        target = root / folder.name
        target.mkdir(parents=True, exist_ok=True)
        for image in sorted(folder.iterdir())[:per_class]:
            (target / image.name).symlink_to(image.resolve())
    return root


def _environment(setting: str) -> dict[str, str]:
    """This process's environment without any thread variable, plus the setting's."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in (*THREAD_VARIABLES, "OMP_WAIT_POLICY", "KMP_BLOCKTIME")
    }
    env.update(SETTINGS[setting])
    return env


def _compare(
    cache_path: Path, out: Path, epochs: int, env: Mapping[str, str]
) -> subprocess.Popen[bytes]:
    """Start one ``rawspace compare`` process: one run, no report (``--shard 1/1``)."""
    argv = [sys.executable, "-m", "rawspace", "compare", str(cache_path),
            "--models", "mobilenet_v3_small", "--spaces", "rgb", "--folds", "1",
            "--device", "cpu", "--input-size", str(_SIZE), "--workers", "0",
            "--epochs", str(epochs), "--batch-size", "32", "--lr", "3e-3", "--patience", "0",
            "--out", str(out), "-q", "--shard", "1/1"]  # fmt: skip
    return subprocess.Popen(argv, env=dict(env), stdout=subprocess.DEVNULL)


def _epoch(out: Path) -> tuple[float, int]:
    """Median training-pass time (after the first epoch) of the run in ``out``, and the
    torch threads it used (0 where the record does not say)."""
    (path,) = (out / "cells").glob("*__seed*.json")
    record = json.loads(path.read_text(encoding="utf-8"))
    history = record["train"]["history"]
    times = [epoch["epoch_s"] for epoch in history[1:]] or [history[0]["epoch_s"]]
    return statistics.median(times), int(record["train"].get("threads", 0))


@contextmanager
def busy_loop() -> Iterator[None]:
    """One CPU-bound child process for the duration of the block."""
    child = subprocess.Popen([sys.executable, "-c", _BUSY_LOOP])
    try:
        time.sleep(0.5)
        yield
    finally:
        child.kill()
        child.wait()


@contextmanager
def second_compare(cache_path: Path, out: Path, env: Mapping[str, str]) -> Iterator[None]:
    """A second compare process, training (its first epoch done), for the block."""
    child = _compare(cache_path, out, 100_000, env)
    log = out / "log.txt"
    deadline = time.monotonic() + 600
    try:
        while not (log.is_file() and " epoch 1/" in log.read_text(encoding="utf-8")):
            if child.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the second compare process did not start training ({out})")
            time.sleep(0.2)
        yield
    finally:
        child.kill()
        child.wait()


def measure(cache_path: Path, work: Path, situation: str, setting: str, epochs: int) -> Timing:
    """Run compare in ``situation`` with ``setting``; its epoch and wall time."""
    out = work / f"{situation.replace(' ', '-')}__{setting}"
    env = _environment(setting)
    with ExitStack() as stack:
        if situation == "busy loop":
            stack.enter_context(busy_loop())
        elif situation == "second compare":
            stack.enter_context(second_compare(cache_path, out.with_name(out.name + "-2"), env))
        start = time.perf_counter()
        code = _compare(cache_path, out, epochs, env).wait()
        wall = time.perf_counter() - start
    if code:
        raise SystemExit(f"rawspace compare failed ({situation}, {setting}): status {code}")
    epoch_s, threads = _epoch(out)
    return Timing(situation, setting, epoch_s, wall, threads, os.getloadavg()[0])


def _table(timings: list[Timing]) -> str:
    base = next(t.epoch_s for t in timings if t.situation == "idle" and t.setting == "default")
    lines = [
        "| situation | setting | torch threads | epoch s | × idle default | wall s | load |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in timings:
        threads = str(t.threads) if t.threads else "?"
        lines.append(
            f"| {t.situation} | {t.setting} | {threads} | {t.epoch_s:.2f} | "
            f"{t.epoch_s / base:.2f} | {t.wall_s:.1f} | {t.load:.1f} |"
        )
    return "\n".join(lines)


def _goals(timings: list[Timing]) -> list[str]:
    by = {(t.situation, t.setting): t for t in timings}
    lines = []
    idle, busy = by.get(("idle", "default")), by.get(("busy loop", "default"))
    if idle and busy:
        ratio = busy.epoch_s / idle.epoch_s
        lines.append(
            f"beside a busy loop, default: {ratio:.2f}× the idle epoch "
            f"(goal ≤ 2×: {'met' if ratio <= 2 else 'not met'})"
        )
    pair = by.get(("second compare", "default"))
    explicit = [by[("second compare", s)] for s in EXPLICIT if ("second compare", s) in by]
    if pair and explicit:
        best = min(explicit, key=lambda t: t.epoch_s)
        ratio = pair.epoch_s / best.epoch_s
        lines.append(
            f"beside a second compare, default: {ratio:.2f}× the epoch of the best explicit "
            f"setting ({best.setting}) (goal ≤ 1.1×: {'met' if ratio <= 1.1 else 'not met'})"
        )
    return lines


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pbc", type=Path, help="a PBC class-folder tree (default: skimage crops)")
    parser.add_argument("--per-class", type=int, default=100, help="images per class")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per run")
    parser.add_argument(
        "--settings",
        default=",".join(("default", *EXPLICIT)),
        help=f"comma-separated of {', '.join(SETTINGS)} (default: %(default)s)",
    )
    parser.add_argument(
        "--situations", default=",".join(SITUATIONS), help=f"comma-separated of {SITUATIONS}"
    )
    args = parser.parse_args()
    settings = args.settings.split(",")
    situations = args.situations.split(",")
    unknown = sorted({*settings} - {*SETTINGS} | {*situations} - {*SITUATIONS})
    if unknown or "default" not in settings or "idle" not in situations:
        parser.error(f"unknown settings or situations {unknown}; default and idle are needed")

    budget = cpu_budget()
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"CPU budget: {budget.cpus} ({budget.source})")
    print(f"load average before: {_load()}")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        source = (
            pbc_source(args.pbc, work / "images", args.per_class)
            if args.pbc
            else skimage_source(work / "images", args.per_class)
        )
        built = cache.build(source, work / "bench.h5", size=_SIZE, folds=2, test_fraction=0.25)
        print(f"cache: {built.built} images of {_SIZE}×{_SIZE} px, {args.epochs} epochs a run")
        timings = []
        for situation in situations:
            for setting in settings:
                timing = measure(work / "bench.h5", work, situation, setting, args.epochs)
                timings.append(timing)
                print(f"  {situation}, {setting}: {timing.epoch_s:.2f} s", flush=True)
    print(f"load average after: {_load()}")
    print()
    print(_table(timings))
    print()
    print("\n".join(_goals(timings)))


if __name__ == "__main__":
    main()
