"""Speed of batched unprocessing (`classifiers.unprocess.invert`) against `rawspace.invert`.

Run:  python benchmarks/bench_unprocess.py [--batch 32] [--gpu-batch 256] [--size 400]
          [--layout packed] [--noise brooks] [--repeat 5] [--no-compile] [--device cuda]

Images are ``size×size`` uint8 crops of scikit-image's astronaut and coffee samples (random
offsets and flips), each with its own camera taken from a table of 1,024 cameras drawn by
``rawspace.CameraParams.sample`` (``Cameras.sample``) and indexed on the device per batch,
as a training loop does. It prints images per second of

- ``rawspace.invert`` (Numba, all threads) called per image over the batch, the baseline,
- ``classifiers.unprocess.invert`` on the CPU (eager torch, one call per batch), and the
  ratio between the two, in the same run, with all threads and with one thread each
  (the one-thread figures suffer less when other processes share the cores),
- the differentiable path (``differentiable=True``, forward and backward) against the
  default one on float32 input,
- when CUDA is available: the same on the GPU, eager and ``torch.compile``d, against the
  reference figures of a plain torch port on one H200 (67k images/s eager, 143k compiled),

after checking that the batched result equals the core's to ≤ 1e-5. Figures are the best
of ``--repeat`` timings; there are no timing assertions anywhere.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time

import numba
import numpy as np
import torch
from skimage import data

import rawspace
from classifiers.unprocess import Cameras, invert

#: Images per second of a plain torch port of Brooks et al. on one H200, 400×400 uint8.
REFERENCE_EAGER = 67_000
REFERENCE_COMPILED = 143_000
TABLE = 1024


def make_images(n: int, size: int, seed: int = 0) -> np.ndarray:
    """(n, size, size, 3) uint8: random crops (and flips) of two real photographs."""
    rng = np.random.default_rng(seed)
    sources = [data.astronaut(), data.coffee()]
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    for i in range(n):
        src = sources[i % len(sources)]
        short = (max(0, size - src.shape[0]), max(0, size - src.shape[1]))
        if any(short):
            src = np.pad(src, ((0, short[0]), (0, short[1]), (0, 0)), mode="reflect")
        y = rng.integers(0, src.shape[0] - size + 1)
        x = rng.integers(0, src.shape[1] - size + 1)
        crop = src[y : y + size, x : x + size]
        out[i] = crop[:, ::-1] if rng.random() < 0.5 else crop
    return out


def best_seconds(fn, repeat: int, sync=lambda: None) -> float:
    """Best wall time of one call of ``fn`` over ``repeat`` timings (after one warm-up)."""
    fn()
    sync()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - started)
    return min(times)


def to_channel_first(raw: np.ndarray, layout: str) -> np.ndarray:
    return raw[None] if layout == "bayer" else np.moveaxis(raw, -1, 0)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32, help="batch size on the CPU")
    parser.add_argument("--gpu-batch", type=int, default=256, help="batch size on the GPU")
    parser.add_argument("--size", type=int, default=400)
    parser.add_argument("--layout", choices=("bayer", "packed", "linear"), default="packed")
    parser.add_argument("--noise", choices=("none", "brooks"), default="none")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile on GPU")
    parser.add_argument(
        "--device",
        default="cuda",
        help="device of the eager/compiled section (default cuda; 'cpu' is a dry run of it)",
    )
    return parser.parse_args()


def check_parity(batch, table, params, index, images, layout: str) -> None:
    """The batched result equals the core's to ≤ 1e-5 (printed, and asserted)."""
    check = invert(batch[:8], table[index[:8]], layout=layout).numpy()
    error = 0.0
    for i, got in enumerate(check):
        raw = rawspace.invert(images[i], params[int(index[i])], layout=layout, dtype=np.float32)
        error = max(error, float(np.abs(got - to_channel_first(raw.data, layout)).max()))
    print(f"parity with rawspace.invert on 8 images: max abs error {error:.2e}")
    assert error <= 1e-5, error


def cpu_section(args, images, table, params, index, noise) -> None:
    """rawspace.invert per image against one batched call, all threads and one thread; then
    the differentiable path against the default one on float input."""
    n, layout, repeat = args.batch, args.layout, args.repeat

    def core() -> None:
        for i in range(n):
            camera = params[index[i]]
            rawspace.invert(images[i], camera, layout=layout, dtype=np.float32, noise=noise)

    batch = torch.from_numpy(images[:n]).permute(0, 3, 1, 2).contiguous()
    cpu_index = torch.from_numpy(index[:n])

    def torch_cpu() -> None:
        invert(batch, table[cpu_index], layout=layout, noise=noise)

    core_s, torch_s = best_seconds(core, repeat), best_seconds(torch_cpu, repeat)
    threads = (torch.get_num_threads(), numba.get_num_threads())
    torch.set_num_threads(1)
    numba.set_num_threads(1)
    core1_s, torch1_s = best_seconds(core, repeat), best_seconds(torch_cpu, repeat)
    torch.set_num_threads(threads[0])
    numba.set_num_threads(threads[1])
    check_parity(batch, table, params, cpu_index, images, layout)
    print(f"CPU, batch {n}:")
    for label, core_t, torch_t in (
        ("all threads", core_s, torch_s),
        ("1 thread", core1_s, torch1_s),
    ):
        print(f"  rawspace.invert per image, {label:<11} {n / core_t:8.0f} images/s   (baseline)")
        print(
            f"  unprocess.invert,          {label:<11} {n / torch_t:8.0f} images/s   "
            f"{core_t / torch_t:5.2f}× rawspace.invert"
        )
    floats = batch.float() / 255.0
    cams = table[cpu_index]
    fast_s = best_seconds(lambda: invert(floats, cams, layout=layout, check_range=False), repeat)
    grad = floats.clone().requires_grad_()

    def differentiable() -> None:
        invert(grad, cams, layout=layout, differentiable=True).sum().backward()

    diff_s = best_seconds(differentiable, repeat)
    print(f"  float32 input, default path          {n / fast_s:8.0f} images/s   (baseline)")
    print(
        f"  float32 input, differentiable=True   {n / diff_s:8.0f} images/s   "
        f"{fast_s / diff_s:5.2f}× the default path (forward and backward)"
    )


def gpu_section(args, images, table, index, noise) -> None:
    """Eager and compiled throughput on the device against a plain torch port."""
    device, layout = torch.device(args.device), args.layout
    if device.type == "cuda" and not torch.cuda.is_available():
        print("GPU: CUDA is not available; GPU figures skipped")
        return
    n = args.gpu_batch
    gpu_batch = torch.from_numpy(images[:n]).permute(0, 3, 1, 2).contiguous().to(device)
    gpu_table = table.to(device)
    gpu_index = torch.from_numpy(index[:n]).to(device)
    generator = torch.Generator(device=device).manual_seed(0)
    if device.type == "cuda":
        sync, name = torch.cuda.synchronize, torch.cuda.get_device_name(device)
    else:
        sync, name = (lambda: None), f"{device} (dry run)"
    iterations = 20

    def run(fn) -> float:
        def loop() -> None:
            for _ in range(iterations):
                cameras = gpu_table[gpu_index]
                fn(gpu_batch, cameras, layout=layout, noise=noise, generator=generator)

        return n * iterations / best_seconds(loop, args.repeat, sync)

    print(f"GPU: {name}, batch {n}, {iterations} batches per timing:")
    eager = run(invert)
    print(
        f"  eager      {eager:10.0f} images/s   {eager / REFERENCE_EAGER:5.2f}× reference "
        f"{REFERENCE_EAGER:,} (plain torch port, H200)"
    )
    if args.no_compile:
        return
    compiled_fn = torch.compile(invert, dynamic=False)
    started = time.perf_counter()
    out_c = compiled_fn(gpu_batch, gpu_table[gpu_index], layout=layout)
    sync()
    print(f"  (torch.compile: first call {time.perf_counter() - started:.1f} s)")
    out_e = invert(gpu_batch, gpu_table[gpu_index], layout=layout)
    print(f"  compiled vs eager max abs difference {float((out_c - out_e).abs().max()):.2e}")
    compiled = run(compiled_fn)
    print(
        f"  compiled   {compiled:10.0f} images/s   {compiled / REFERENCE_COMPILED:5.2f}× reference "
        f"{REFERENCE_COMPILED:,} (plain torch port, H200); {compiled / eager:.2f}× eager"
    )


def main() -> None:
    args = parse_args()
    noise = None if args.noise == "none" else args.noise
    print(f"command: python {shlex.join(sys.argv)}")
    print(
        f"rawspace {rawspace.__version__}, torch {torch.__version__}, numba {numba.__version__}, "
        f"numpy {np.__version__}, Python {platform.python_version()}"
    )
    print(
        f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch threads {torch.get_num_threads()}, numba threads {numba.get_num_threads()}"
    )
    print(
        f"{args.size}×{args.size} uint8 sRGB → float32 {args.layout}, noise={noise}, "
        f"one camera per image from a table of {TABLE}; best of {args.repeat}"
    )
    images = make_images(max(args.batch, args.gpu_batch), args.size)
    table = Cameras.sample(TABLE, seed=0)
    params = table.to_params()
    index = np.random.default_rng(1).integers(0, TABLE, size=len(images))
    cpu_section(args, images, table, params, index, noise)
    gpu_section(args, images, table, index, noise)


if __name__ == "__main__":
    main()
