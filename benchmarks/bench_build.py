"""Benchmark ``rawspace build``: decoding, building, storage per compression, random reads.

Usage::

    python benchmarks/bench_build.py DIR [--limit N] [--size 400] [--reads 2000] [--work TMP]
                                         [--rounds 3] [--compression none|lzf|gzip ...]

DIR is a class-folder tree (for instance the PBC data set). The script prints

- decode-only images/s (:func:`rawspace.images.read_image`, nothing else) with 1 and 2
  processes, the reference for the build rates;
- a profile of one image's work in one process (CPU ms): decoding, fitting,
  converting, and compressing raw + rgb as HDF5 does for each compression;
- the single-process bound of each compression: the images/s of one process doing
  nothing but decode + fit + invert + store per image (without compression it is
  measured, the raw and RGB bytes of every image written to a new file in the work
  folder, as a cache's are; with compression it is the sum of the profile);
- without compression, the two-process bound: two such processes at once on half
  the images each, what the machine gives two processes (the ceiling of ``--jobs 2``);
- ``build`` images/s with ``--jobs 1`` and ``--jobs 2`` (this process and one worker)
  for each compression, the ratio to that bound and to the decode-only rate at the
  same job count, the speed-up of 2 jobs, and the CPU time per image of the main
  process and of the workers
  (which, unlike the wall-clock rates, does not depend on what else the machine is
  running);
- bytes per image stored for each compression;
- random-access reads per second through :func:`rawspace.cache.open`, with the
  RGB image and without it, once the file is in the page cache (this measures the
  reader and the decompression, not the disk); the same with and without the
  reader's check that the file is unchanged (its cost); and the rate of
  :meth:`~rawspace.cache.CacheReader.verify`.

The machine's load average is printed too: timings on a busy machine are low.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import h5py
import numba
import numpy as np

import rawspace.cache
import rawspace.cache.reader as reader_module
from rawspace.cameras import CameraAssigner
from rawspace.files import allocate
from rawspace.hints import COMPRESSIONS
from rawspace.images import fit_image, read_image
from rawspace.sources import read_source


def _decode_shape(path: str) -> tuple[int, ...]:
    return read_image(path).shape


def decode_rate(paths: list[str], jobs: int) -> float:
    """Images decoded per second with ``jobs`` processes.

    As in a build, ``jobs > 1`` spawns workers, and their start is timed too.
    """
    start = time.perf_counter()
    if jobs == 1:
        for path in paths:
            _decode_shape(path)
    else:
        with multiprocessing.get_context("spawn").Pool(jobs) as pool:
            pool.map(_decode_shape, paths, chunksize=8)
    return len(paths) / (time.perf_counter() - start)


def _cpu_seconds() -> tuple[float, float]:
    """CPU time (user + system) of this process and of its reaped children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


def build_rate(
    source: Path, cache: Path, *, jobs: int, compression: str, size: int
) -> tuple[float, float, float]:
    """One build: images/s (wall time of the whole call, workers' start included) and
    CPU ms per image of the main process and of the workers. An earlier ``cache`` is
    removed first, so that freeing its pages is not timed as part of the build."""
    cache.unlink(missing_ok=True)
    main_before, workers_before = _cpu_seconds()
    start = time.perf_counter()
    report = rawspace.cache.build(
        source, cache, jobs=jobs, compression=compression, size=size, overwrite=True
    )
    seconds = time.perf_counter() - start
    main_after, workers_after = _cpu_seconds()
    if report.failed:
        print(f"  note: {report.failed} images failed")
    n = report.built + report.failed
    return (
        n / seconds,
        (main_after - main_before) / n * 1e3,
        (workers_after - workers_before) / n * 1e3,
    )


def _store(dataset: h5py.Dataset, array: np.ndarray) -> None:
    """Write one sample and read its stored chunk back, so that the filters run now."""
    dataset[0] = array
    dataset.id.read_direct_chunk((0,) * dataset.ndim)


def profile_stages(paths: list[str], size: int) -> dict[str, float]:
    """CPU ms per image of each step of a build, in one process with one thread."""
    assigner = CameraAssigner()
    totals: dict[str, float] = {}

    def timed(name: str, function, *args):
        start = time.process_time()
        value = function(*args)
        totals[name] = totals.get(name, 0.0) + time.process_time() - start
        return value

    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        assigner.invert(fit_image(read_image(paths[0]), size), "warm-up")
        with h5py.File("scratch", "w", driver="core", backing_store=False) as f:
            scratch = {}
            for compression in COMPRESSIONS:
                options = {} if compression == "none" else {"compression": compression}
                for name, shape, dtype in (("raw", (size, size), np.uint16),
                                           ("rgb", (size, size, 3), np.uint8)):  # fmt: skip
                    shuffle = compression != "none" and name == "raw"
                    scratch[compression, name] = f.create_dataset(
                        f"{compression}/{name}", shape=(1, *shape), dtype=dtype,
                        chunks=(1, *shape), shuffle=shuffle, **options,
                    )  # fmt: skip
            for path in paths:
                image = timed("decode (read_image)", read_image, path)
                fitted = timed("fit_image", fit_image, image, size)
                raw = timed("invert (1 thread)", assigner.invert, fitted, path)
                for compression in COMPRESSIONS:
                    for name, array in (("raw", raw.data), ("rgb", fitted)):
                        timed(f"store raw+rgb, {compression}", _store, scratch[compression, name],
                              array)  # fmt: skip
    finally:
        numba.set_num_threads(previous)
    return {name: total / len(paths) * 1e3 for name, total in totals.items()}


def bound_rate(paths: list[str], size: int, folder: Path) -> float:
    """The single-process bound: images/s (wall clock) of one process with one thread that
    does nothing but decode, fit, invert and store (uncompressed) each image, its raw and
    RGB bytes written to a new file in ``folder``, as a cache's are."""
    start, end = _bound_span(paths, size, folder)
    return len(paths) / (end - start)


def _bound_span(
    paths: list[str], size: int, folder: Path, barrier: Any = None
) -> tuple[float, float]:
    """The work of :func:`bound_rate`, warmed up first (then ``barrier`` is waited for,
    when given): the ``time.time()`` at which the timed loop started and ended.

    Each image's bytes go to their own place in a new file, allocated first as a
    build allocates its images, so that the store pays for the space a cache of every
    image needs (on this machine's tmpfs, 1.2 ms to write a fresh 400 KB chunk into a
    hole against 0.27 ms to rewrite one)."""
    assigner = CameraAssigner()
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    path = folder / f"bound-{os.getpid()}.bin"
    fd = os.open(path, os.O_CREAT | os.O_TRUNC | os.O_WRONLY)
    try:
        assigner.invert(fit_image(read_image(paths[0]), size), "warm-up")
        if barrier is not None:
            barrier.wait()
        start = time.time()
        allocate(fd, 0, len(paths) * size * size * (2 + 3))  # a Bayer raw and an RGB image
        offset = 0
        for image in paths:
            fitted = fit_image(read_image(image), size)
            raw = assigner.invert(fitted, image).data
            offset += os.pwrite(fd, raw.data, offset)
            offset += os.pwrite(fd, fitted.data, offset)
        return start, time.time()
    finally:
        numba.set_num_threads(previous)
        os.close(fd)
        path.unlink()


def _bound_half(args: tuple[list[str], int, Path]) -> tuple[float, float]:
    """In a spawned process: :func:`_bound_span` of ``paths``, started with the other half."""
    paths, size, folder = args
    return _bound_span(paths, size, folder, _BARRIER)


_BARRIER: Any = None


def _set_barrier(barrier: Any) -> None:
    global _BARRIER
    _BARRIER = barrier


def two_process_bound(paths: list[str], size: int, folder: Path) -> float:
    """What two processes get on this machine: images/s of two spawned processes that
    each do the work of :func:`bound_rate` on half the images at the same time (from the
    first start to the last end; their start-up is not timed). The ceiling of
    ``--jobs 2``: two processes share the caches and memory bandwidth, so it is less
    than twice the single-process bound."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    halves = [(paths[0::2], size, folder), (paths[1::2], size, folder)]
    with context.Pool(2, initializer=_set_barrier, initargs=(barrier,)) as pool:
        spans = pool.map(_bound_half, halves, chunksize=1)
    return len(paths) / (max(end for _, end in spans) - min(start for start, _ in spans))


def read_rate(cache: Path, reads: int, *, rgb: bool, seed: int = 0) -> float:
    """Random-access samples per second through :func:`rawspace.cache.open`."""
    reader = rawspace.cache.open(cache, rgb=rgb)
    order = np.random.default_rng(seed).integers(0, len(reader), size=reads)
    reader[int(order[0])]  # open the file, load the small columns
    start = time.perf_counter()
    for index in order.tolist():
        reader[index]
    rate = reads / (time.perf_counter() - start)
    reader.close()
    return rate


def checked_read_cost(cache: Path, reads: int, rounds: int = 5) -> tuple[float, float]:
    """Samples per second (raw + rgb) read with the reader's change check and without it.

    The check (has a file of the cache changed on disk since it was opened?) runs after
    every image read; without it, a cache truncated under the reader would read back
    zeros. Rounds alternate, so that both see the same machine; the best of each counts.
    """
    check = reader_module._CacheFile.check_unchanged
    best = {True: 0.0, False: 0.0}
    try:
        for round_ in range(rounds):
            for checked in (True, False):
                reader_module._CacheFile.check_unchanged = check if checked else _no_check
                best[checked] = max(best[checked], read_rate(cache, reads, rgb=True, seed=round_))
    finally:
        reader_module._CacheFile.check_unchanged = check
    return best[True], best[False]


def _no_check(self: object) -> None:
    """What the reader did before it checked that the file is unchanged: nothing."""


def _read_through(path: Path) -> None:
    """Read a file once, sequentially, so that it is in the page cache."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def _subset(source: Path, limit: int | None, work: Path) -> Path:
    """A CSV listing the first ``limit`` images of each class (all of them without a limit)."""
    listing = read_source(source)
    if limit is None:
        return source
    counts: dict[int, int] = {}
    lines = ["path,label"]
    for item in listing.items:
        if counts.get(item.label, 0) < limit:
            counts[item.label] = counts.get(item.label, 0) + 1
            lines.append(f"{listing.root / item.relpath},{listing.class_names[item.label]}")
    csv_path = work / "subset.csv"
    csv_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return csv_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="class-folder tree, e.g. the PBC data set")
    parser.add_argument("--limit", type=int, help="images per class (default: all)")
    parser.add_argument("--size", type=int, default=400, help="sample side; default: 400")
    parser.add_argument("--reads", type=int, default=2000, help="random reads; default: 2000")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of the bound and builds; default: 3"
    )
    parser.add_argument("--work", type=Path, help="folder for the caches (default: a temp dir)")
    parser.add_argument(
        "--compression",
        choices=COMPRESSIONS,
        action="append",
        help="compression to build with (repeatable; default: all)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        work = Path(tmp)
        source = _subset(args.source, args.limit, work)
        listing = read_source(source)
        paths = [str(listing.root / item.relpath) for item in listing.items]
        print(f"{len(paths)} images from {args.source}; size {args.size}; cpus {os.cpu_count()}")
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

        decode = {jobs: decode_rate(paths, jobs) for jobs in (1, 2)}
        for jobs, rate in decode.items():
            print(f"decode only, {jobs} process(es): {rate:8.1f} images/s")

        print("profile of one image, one process (CPU ms per image):")
        profile = profile_stages(paths[:200], args.size)
        for name, ms in profile.items():
            print(f"  {name:24} {ms:7.2f}")
        work_ms = sum(profile[k] for k in ("decode (read_image)", "fit_image", "invert (1 thread)"))

        for compression in args.compression or COMPRESSIONS:
            cpu_bound = 1e3 / (work_ms + profile[f"store raw+rgb, {compression}"])
            cache = work / f"{compression}.h5"
            # Rounds alternate the bound and the builds, so that all see the same machine;
            # the best of each counts (what the machine gives when nothing else runs).
            bound = bound2 = 0.0
            bound_ms = 0.0
            rates = {1: 0.0, 2: 0.0}
            cpu: dict[int, tuple[float, float]] = {}
            for _ in range(args.rounds):
                if compression == "none":
                    cpu_start = time.process_time()
                    rate = bound_rate(paths, args.size, work)
                    if rate > bound:
                        bound = rate
                        bound_ms = (time.process_time() - cpu_start) / len(paths) * 1e3
                    bound2 = max(bound2, two_process_bound(paths, args.size, work))
                for jobs in (1, 2):
                    rate, main_ms, workers_ms = build_rate(
                        source, cache, jobs=jobs, compression=compression, size=args.size
                    )
                    if rate > rates[jobs]:
                        rates[jobs], cpu[jobs] = rate, (main_ms, workers_ms)
            if compression == "none":
                print(
                    f"single-process bound, none: {bound:8.1f} images/s (wall clock of one "
                    f"process doing decode + fit + invert + store to a file per image, best of "
                    f"{args.rounds} in this run; CPU ms per image {bound_ms:.2f}; from the CPU "
                    f"profile above: {cpu_bound:.1f})"
                )
                print(
                    f"two-process bound, none:    {bound2:8.1f} images/s (two such processes at "
                    f"once, half the images each: {bound2 / bound:.2f}x the single-process bound)"
                )
            else:
                bound = cpu_bound
                print(f"single-process bound, {compression}: {bound:8.1f} images/s (CPU profile)")
            for jobs in (1, 2):
                main_ms, workers_ms = cpu[jobs]
                print(
                    f"build --compression {compression:4} --jobs {jobs}: {rates[jobs]:8.1f} "
                    f"images/s ({rates[jobs] / bound:6.1%} of the single-process bound, "
                    f"{rates[jobs] / decode[jobs]:6.1%} of decode-only); CPU ms per image: "
                    f"main {main_ms:.2f}, workers {workers_ms:.2f}"
                )
            print(f"  --jobs 2 / --jobs 1: {rates[2] / rates[1]:.2f}x")
            if compression == "none":
                print(f"  --jobs 2 / two-process bound: {rates[2] / bound2:.1%}")
            n = len(rawspace.cache.open(cache))
            print(f"  bytes per image: {cache.stat().st_size / n:10.0f} (raw + rgb + metadata)")
            _read_through(cache)
            for rgb in (True, False):
                what = "raw + rgb" if rgb else "raw only"
                rate = read_rate(cache, args.reads, rgb=rgb)
                print(f"  random reads, {what:9}: {rate:8.1f} samples/s (file in page cache)")
            checked, unchecked = checked_read_cost(cache, args.reads)
            print(
                f"  random reads, raw + rgb, checked {checked:8.1f} / unchecked {unchecked:8.1f} "
                f"samples/s: the change check costs {1 - checked / unchecked:6.1%}"
            )
            start = time.perf_counter()
            rawspace.cache.open(cache).verify()
            print(f"  verify (every pixel digest): {n / (time.perf_counter() - start):8.1f} "
                  "samples/s")  # fmt: skip
            cache.unlink()
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
