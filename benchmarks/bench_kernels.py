"""Speed of the fused kernels against the NumPy twins and the memory-stream bound.

Run:  python benchmarks/bench_kernels.py [--size 400] [--repeat 7]

For one size×size uint8 image (a crop of scikit-image's immunohistochemistry
sample) it prints the milliseconds per image of

- ``invert`` to a uint16 Bayer plane (Numba, all threads and one thread),
- the vectorised NumPy twin of the same pipeline,
- the stream bound: copying the same input and output bytes with ``memcpy``,
- ``develop`` (bilinear, uint8 sRGB) with its NumPy twin and stream bound,
- the first-call compile time in a fresh process with an empty cache, and the
  start-up with the on-disk cache filled,

and the ratios between them. Figures are the best of ``--repeat`` runs of
enough calls to take about 0.2 s each, so noise from other processes shrinks.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
import timeit

import numba
import numpy as np
from skimage import data

import rawspace
from rawspace._reference import develop_reference, invert_reference
from rawspace.curves import linearize_lut
from rawspace.spec import HIGHLIGHT_START, HIGHLIGHT_WIDTH


def invert_numpy_lut(rgb: np.ndarray, params: rawspace.CameraParams) -> np.ndarray:
    """A careful vectorised NumPy version: look-up table for the curves, then array steps."""
    linear = linearize_lut(rgb.dtype, params.tone, params.gamma)[rgb]
    cam = linear @ params.rgb2cam.T
    gains = 1.0 / params.wb_gains
    gray = cam.mean(axis=-1, keepdims=True)
    mask = (np.maximum(gray - HIGHLIGHT_START, 0.0) / HIGHLIGHT_WIDTH) ** 2
    cam = np.clip(cam * np.maximum(mask + (1.0 - mask) * gains, gains), 0.0, 1.0)
    bayer = rawspace.mosaic(cam, params.cfa)
    span = params.white_level - params.black_level
    return (bayer * span + (params.black_level + 0.5)).astype(np.uint16)


def best_ms(fn, repeat: int) -> float:
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    number = max(1, number)
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e3


def copy_ms(*arrays: np.ndarray, repeat: int) -> float:
    """Time to read and write each array once (memcpy), summed."""
    buffers = [np.empty_like(a) for a in arrays]

    def run() -> None:
        for a, b in zip(arrays, buffers, strict=True):
            np.copyto(b, a)

    return best_ms(run, repeat)


COMPILE_SNIPPET = """
import time, numpy as np
t0 = time.perf_counter()
import rawspace
t1 = time.perf_counter()
x = np.zeros((400, 400, 3), np.uint8)
p = rawspace.CameraParams.sample(0)
raw = rawspace.invert(x, p)
t2 = time.perf_counter()
rawspace.develop(raw)
t3 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t1:.3f} {t3 - t2:.3f}")
"""


def first_call_seconds(cache_dir: str) -> tuple[float, float, float]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    out = subprocess.run(
        [sys.executable, "-c", COMPILE_SNIPPET], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), float(out[1]), float(out[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    n = args.size
    rgb = np.ascontiguousarray(data.immunohistochemistry()[:n, :n])
    params = rawspace.CameraParams.sample(0)
    raw = rawspace.invert(rgb, params)
    srgb = rawspace.develop(raw)

    print(f"rawspace {rawspace.__version__}, numba {numba.__version__}, numpy {np.__version__}")
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"numba threads {numba.get_num_threads()} ({numba.threading_layer()})"
    )
    print(f"image {n}×{n} uint8 → uint16 Bayer {params.cfa}; ms per image (best of {args.repeat})")

    inv = best_ms(lambda: rawspace.invert(rgb, params), args.repeat)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    inv1 = best_ms(lambda: rawspace.invert(rgb, params), args.repeat)
    dev1 = best_ms(lambda: rawspace.develop(raw), args.repeat)
    numba.set_num_threads(threads)
    inv_np = best_ms(lambda: invert_reference(rgb, params), args.repeat)
    inv_lut = best_ms(lambda: invert_numpy_lut(rgb, params), args.repeat)
    assert np.abs(invert_numpy_lut(rgb, params).astype(int) - raw.data).max() <= 1
    inv_stream = copy_ms(rgb, raw.data, repeat=args.repeat)

    dev = best_ms(lambda: rawspace.develop(raw), args.repeat)
    dev_np = best_ms(lambda: develop_reference(raw.data, params), args.repeat)
    dev_stream = copy_ms(raw.data, srgb, repeat=args.repeat)

    rows = [
        ("invert, Numba", inv, f"{inv_lut / inv:5.1f}× NumPy+LUT, {inv / inv_stream:5.1f}× stream"),
        ("invert, Numba 1 thread", inv1, f"{inv_lut / inv1:5.1f}× NumPy+LUT"),
        ("invert, NumPy + LUT", inv_lut, "vectorised, curves from a look-up table"),
        ("invert, NumPy twin", inv_np, "vectorised, curves by formula (the test twin)"),
        ("invert, stream bound", inv_stream, "memcpy of the input and output bytes"),
        ("develop, Numba", dev, f"{dev_np / dev:5.1f}× NumPy twin, {dev / dev_stream:.1f}× stream"),
        ("develop, Numba 1 thread", dev1, f"{dev_np / dev1:5.1f}× NumPy twin"),
        ("develop, NumPy twin", dev_np, "vectorised"),
        ("develop, stream bound", dev_stream, "memcpy of the input and output bytes"),
    ]  # fmt: skip
    for name, ms, note in rows:
        print(f"  {name:<25} {ms:8.3f} ms  {note}")

    with tempfile.TemporaryDirectory() as cache:
        _, cold_invert, cold_develop = first_call_seconds(cache)
        imp, warm_invert, warm_develop = first_call_seconds(cache)
    print(
        f"  first call, empty cache:  invert {cold_invert:.1f} s, develop {cold_develop:.1f} s "
        f"(compilation)\n  first call, filled cache: invert {warm_invert:.2f} s, "
        f"develop {warm_develop:.2f} s (import {imp:.2f} s)"
    )
    started = time.perf_counter()
    rawspace.invert(rgb, params, layout="packed", dtype=np.float32)
    print(f"  (packed float32 first call in this process: {time.perf_counter() - started:.2f} s)")


if __name__ == "__main__":
    main()
