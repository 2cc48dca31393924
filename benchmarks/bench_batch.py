"""Speed of the batch API against a Python loop over single images, in one run.

Run:  NUMBA_NUM_THREADS=2 python benchmarks/bench_batch.py [--images 64] [--size 128]

For ``--images`` uint8 crops of scikit-image's immunohistochemistry sample
(``--size``² each, a different camera per image) it prints the milliseconds of

- ``invert`` to uint16 Bayer planes: one call on the (N, H, W, 3) batch with a
  sequence of cameras, against ``[invert(x, p) for x, p in zip(images, cameras)]``;
- the same with one camera for all images, and with Brooks noise from a seed;
- ``develop`` (bilinear, uint8 sRGB) of the batch against a loop over its images,

and the ratio loop / batch of each. The results are checked to be identical
before timing. Loop and batch are timed in alternation, ``--repeat`` rounds of
enough calls to take about 0.2 s each; times are the best round, and the ratio
is the median of the rounds' ratios, so that load from other processes, which
drifts, falls on both alike.
"""

from __future__ import annotations

import argparse
import os
import platform
import timeit
from collections.abc import Callable

import numba
import numpy as np
from skimage import data

import rawspace
from rawspace import CameraParams, develop, invert


def paired_ms(
    loop: Callable[[], object], batch: Callable[[], object], repeat: int
) -> tuple[float, float, float]:
    """Best ms of ``loop`` and of ``batch``, timed in alternation, and the median ratio."""
    timers = [timeit.Timer(loop), timeit.Timer(batch)]
    numbers = [max(1, t.autorange()[0]) for t in timers]
    rounds = np.array(
        [
            [t.timeit(k) / k * 1e3 for t, k in zip(timers, numbers, strict=True)]
            for _ in range(repeat)
        ]
    )
    return (
        float(rounds[:, 0].min()),
        float(rounds[:, 1].min()),
        float(np.median(rounds[:, 0] / rounds[:, 1])),
    )


def crops(n: int, size: int) -> np.ndarray:
    """``n`` different size×size crops (with flips) of a real microscopy image."""
    image = data.immunohistochemistry()
    rng = np.random.default_rng(0)
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        y, x = rng.integers(0, image.shape[0] - size), rng.integers(0, image.shape[1] - size)
        out[i] = image[y : y + size, x : x + size][:: 1 - 2 * (i % 2)]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    r = args.repeat
    images = crops(args.images, args.size)
    cams = [CameraParams.sample(i) for i in range(args.images)]
    one = cams[0]

    def loop_cams() -> list[rawspace.RawImage]:
        return [invert(x, p) for x, p in zip(images, cams, strict=True)]

    def loop_one() -> list[rawspace.RawImage]:
        return [invert(x, one) for x in images]

    def loop_noise() -> list[rawspace.RawImage]:
        rng = np.random.default_rng(1)
        return [invert(x, one, seed=rng, noise="brooks") for x in images]

    batch = invert(images, cams)
    assert isinstance(batch, rawspace.RawBatch)
    singles = loop_cams()
    assert all(np.array_equal(batch[i].data, r.data) for i, r in enumerate(singles))
    noisy = invert(images, one, seed=1, noise="brooks")
    assert isinstance(noisy, rawspace.RawBatch)
    assert all(np.array_equal(noisy[i].data, r.data) for i, r in enumerate(loop_noise()))
    developed = develop(batch)
    assert all(np.array_equal(developed[i], develop(r)) for i, r in enumerate(singles))

    rows = [
        ("invert, a camera per image", paired_ms(loop_cams, lambda: invert(images, cams), r)),
        ("invert, one camera", paired_ms(loop_one, lambda: invert(images, one), r)),
        (
            "invert, one camera, Brooks noise",
            paired_ms(loop_noise, lambda: invert(images, one, seed=1, noise="brooks"), r),
        ),
        (
            "develop, a camera per image",
            paired_ms(lambda: [develop(raw) for raw in singles], lambda: develop(batch), r),
        ),
    ]
    print(
        f"{args.images} images of {args.size}×{args.size} uint8 → uint16 Bayer; "
        f"{numba.get_num_threads()} Numba threads, {os.cpu_count()} CPUs, "
        f"{platform.processor() or platform.machine()}, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'':36s} {'loop ms':>9s} {'batch ms':>9s} {'loop/batch':>11s}")
    for name, (loop, batched, ratio) in rows:
        print(f"{name:36s} {loop:9.2f} {batched:9.2f} {ratio:10.2f}×")


if __name__ == "__main__":
    main()
