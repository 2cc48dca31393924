"""The HDF5 dataset cache: build it from labelled images, read it, merge shards of it.

A cache holds, for N images of a labelled SOURCE (see :mod:`rawspace.sources`),
the simulated raw image, the RGB image it was made from, the label, the
relative path, the camera and noise of each image, and the train/test split
and cross-validation fold. Classifiers read it through :func:`open`.

File layout
-----------
Per-sample datasets (first axis N, in the order of the source listing):

``raw``
    uint16, (N, S, S) for ``layout="bayer"``, (N, S/2, S/2, 4) for ``"packed"``,
    (N, S, S, 3) for ``"linear"``; between the camera's black and white levels.
``rgb``
    uint8, (N, S, S, 3): the image that was converted, after fitting to S×S
    (16-bit sources rounded to 8 bits). Absent when built with ``rgb=False``.
``label``
    int64, (N,): index into the attribute ``class_names``.
``path``
    UTF-8 strings, (N,): path relative to the source root.
``params``
    compound (N,) of :data:`PARAMS_DTYPE`: the colour matrix and gains of the
    sample's camera, the seed that drew it (-1 for a fixed camera), the noise
    levels (NaN without noise) and the seed of the noise realisation (-1 without
    noise). With the attributes ``cfa``, ``black_level``, ``white_level``,
    ``tone`` and ``gamma`` this re-creates every sample exactly with
    :func:`rawspace.invert` (see :meth:`CacheReader.invert_args`).
``split``
    int8, (N,): 0 train, 1 test.
``fold``
    int8, (N,): cross-validation fold of training samples, -1 for test samples
    (and for all with ``folds=0``).
``source_index``
    int64, (N,): position of the sample in the full source listing.
``group``
    UTF-8 strings, (N,): only for sources with a group column.

Also ``failures``, a compound table (source_index, path, label, reason) of the
images that could not be read. ``raw`` and ``rgb`` are stored one sample per
chunk, uncompressed (default: fastest to build and to read at random, as
training does) or compressed with ``"lzf"`` or ``"gzip"`` (with the byte-shuffle
filter for uint16 data; about 40 % and 57 % smaller, several times slower).

File attributes: ``class_names``, ``layout``, ``size``, ``cfa``, ``black_level``,
``white_level``, ``tone``, ``gamma``, ``seed``, ``camera_policy``, ``noise``,
``noise_per``, ``n_cameras`` (distinct cameras among the samples), ``source``,
``source_format``, ``compression``, ``n_listed``, ``n_failed``, ``n_dropped``,
``config`` (the resolved build configuration, JSON), ``rawspace_version``,
``format_version``, ``created`` (UTC, ISO 8601) and, in shards, ``shard``
(``"K/N"``).

Guarantees
----------
- Deterministic: each sample is a pure function of (seed, relative path, group,
  options), and the order is the source order, so two builds with the same
  options hold identical datasets whatever the number of worker processes.
- No holes: images that fail to decode are left out (listed in ``failures`` and
  in ``CACHE.h5.failures.csv``); the datasets hold exactly the valid images.
- Splits and folds are computed over the *full source listing* (before decoding
  and before sharding), seeded: an image keeps its split whatever else fails,
  and shards get exactly the splits of an unsharded build. A failed image thus
  leaves its place empty: a class's test share can differ from the fraction by
  its number of failed images, but groups never mix.
- Atomic: a build writes ``CACHE.h5.partial`` and renames it to ``CACHE.h5`` when
  complete; an existing cache is only replaced with ``overwrite``. The partial
  file records its progress every :data:`CHECKPOINT_EVERY` images, so an
  interrupted build continues exactly where it stopped with ``resume``.

Processes and speed
-------------------
With ``jobs > 1``, spawned worker processes (one Numba thread each) decode, fit,
convert and compress (with HDF5's own filters, in an in-memory file); they hand
the stored bytes of each chunk to the main process through a shared-memory file,
and the main process alone writes the cache, with ``write_direct_chunk``.
Compression dominates the cost: on a 2-core machine LZF takes about 13 ms and
gzip 25 ms per 400×400 image (raw and rgb), against 2.5 ms to decode a JPEG and
2 ms to convert it, and reading a sample back takes about 4 ms with LZF against
0.3 ms uncompressed. Choose ``compression="none"`` where disk space allows and
speed matters.
"""

from __future__ import annotations

import builtins
import csv
import hashlib
import io
import json
import logging
import mmap
import multiprocessing
import os
import signal
import sys
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import cv2
import h5py
import numba
import numpy as np
from tqdm import tqdm

from ._version import __version__
from .cameras import CAMERA_POLICIES, CameraAssigner, load_camera
from .images import FITS, MIN_SIDE, ImageError, fit_image, read_image
from .params import CameraParams
from .pipeline import LAYOUTS
from .sources import Source, SourceItem, read_source
from .splits import MAX_FOLDS, assign_splits

__all__ = [
    "CHECKPOINT_EVERY",
    "COMPRESSIONS",
    "FAILURES_SUFFIX",
    "FORMAT_VERSION",
    "PARAMS_DTYPE",
    "PARTIAL_SUFFIX",
    "BuildReport",
    "CacheError",
    "CacheReader",
    "MergeReport",
    "Sample",
    "SampleArrays",
    "build",
    "merge",
    "open",
    "shard_of",
    "summary",
]

COMPRESSIONS = ("none", "lzf", "gzip")
#: Suffix of the file a build writes before renaming it to the cache's name.
PARTIAL_SUFFIX = ".partial"
#: Suffix of the CSV (``path,label,reason``) listing the images a build could not read.
FAILURES_SUFFIX = ".failures.csv"
#: Version of the file layout described in the module notes.
FORMAT_VERSION = 1
#: A build records its progress every this many images.
CHECKPOINT_EVERY = 64

#: Per-sample camera and noise: enough to re-create the sample with :func:`rawspace.invert`.
PARAMS_DTYPE = np.dtype(
    [
        ("rgb2cam", "<f8", (3, 3)),
        ("rgb_gain", "<f8"),
        ("red_gain", "<f8"),
        ("blue_gain", "<f8"),
        ("camera_seed", "<i8"),
        ("noise_shot", "<f8"),
        ("noise_read", "<f8"),
        ("noise_seed", "<i8"),
    ]
)
_STR = h5py.string_dtype("utf-8")
_FAILURES_DTYPE = np.dtype(
    [("source_index", "<i8"), ("path", _STR), ("label", _STR), ("reason", _STR)]
)
_SMALL = ("label", "path", "params", "split", "fold", "source_index", "group")
_SMALL_DTYPES = {
    "label": np.dtype(np.int64),
    "path": _STR,
    "params": PARAMS_DTYPE,
    "split": np.dtype(np.int8),
    "fold": np.dtype(np.int8),
    "source_index": np.dtype(np.int64),
    "group": _STR,
}
_IMAGES = ("raw", "rgb")
_PROGRESS_ATTRS = ("n_processed", "n_written")

_log = logging.getLogger(__name__)


class CacheError(ValueError):
    """A cache that cannot be built, read or merged as asked; the message says why."""


# ----------------------------------------------------------------------- geometry
def _raw_shape(layout: str, size: int) -> tuple[int, ...]:
    return {"bayer": (size, size), "packed": (size // 2, size // 2, 4), "linear": (size, size, 3)}[
        layout
    ]


def _storage_options(compression: str, dtype: np.dtype) -> dict[str, Any]:
    """h5py creation options of an image dataset (one sample per chunk is set separately)."""
    if compression == "none":
        return {}
    options: dict[str, Any] = {"compression": compression, "shuffle": dtype.itemsize > 1}
    if compression == "gzip":
        options["compression_opts"] = 4
    return options


def shard_of(relpath: str, shards: int) -> int:
    """The shard (1 to ``shards``) of an image: a stable hash of its relative path.

    SHA-256 of the UTF-8 path, its first 8 bytes as a big-endian integer, modulo
    ``shards``, plus 1. The same everywhere and independent of the seed.
    """
    digest = hashlib.sha256(relpath.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % shards + 1


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    """uint8 copy of an image: uint16 and float [0, 1] rounded half up to 0–255."""
    if rgb.dtype == np.uint8:
        return rgb
    if rgb.dtype == np.uint16:
        return ((rgb.astype(np.uint32) * 2 + 257) // 514).astype(np.uint8)
    return np.floor(rgb.astype(np.float64) * 255.0 + 0.5).astype(np.uint8)


# ------------------------------------------------------------------- conversion
@dataclass(frozen=True)
class _Settings:
    """What a worker needs to turn a listed image into cache chunks; picklable."""

    root: str
    assigner: CameraAssigner
    layout: str
    size: int
    fit: str
    compression: str
    rgb: bool


@dataclass(frozen=True)
class _Chunk:
    """One stored chunk: its filter mask and its bytes.

    ``data`` holds the bytes; it is None in a result sent by a worker, whose bytes
    wait in the shared slot file at ``offset`` (see :class:`_SlotFile`).
    """

    mask: int
    size: int
    data: bytes | memoryview | None = None
    offset: int = 0


@dataclass(frozen=True)
class _Converted:
    """The chunks (as stored: compressed) and the camera record of one image."""

    source_index: int
    chunks: tuple[_Chunk, ...]  # raw, then rgb when stored
    params: np.ndarray  # one PARAMS_DTYPE record


@dataclass(frozen=True)
class _Failed:
    source_index: int
    reason: str


class _ChunkEncoder:
    """Encode a sample to the bytes of its chunk, filters applied, as HDF5 would store it.

    Compressed chunks are made by writing the sample to a scratch dataset with the
    cache's creation options in an in-memory HDF5 file and reading the stored
    chunk back, so workers compress in parallel and the writer stores the bytes
    with ``write_direct_chunk``, unchanged.
    """

    def __init__(self, shapes: dict[str, tuple[tuple[int, ...], np.dtype]], compression: str):
        self._datasets: dict[str, h5py.Dataset] = {}
        self._file = None
        if compression == "none":
            return
        name = f"rawspace-chunks-{os.getpid()}-{uuid.uuid4().hex}.h5"
        self._file = h5py.File(name, "w", driver="core", backing_store=False)
        for key, (shape, dtype) in shapes.items():
            self._datasets[key] = self._file.create_dataset(
                key, shape=(1, *shape), dtype=dtype, chunks=(1, *shape),
                **_storage_options(compression, dtype),
            )  # fmt: skip

    def encode(self, key: str, array: np.ndarray) -> _Chunk:
        """The chunk holding ``array``.

        Its mask has a bit set for each optional filter skipped (LZF and deflate
        store a chunk uncompressed when compressing would not make it smaller).
        """
        if self._file is None:
            data = memoryview(np.ascontiguousarray(array)).cast("B")
            return _Chunk(0, data.nbytes, data)
        dataset = self._datasets[key]
        dataset[0] = array
        mask, data = dataset.id.read_direct_chunk((0,) * dataset.ndim)
        return _Chunk(mask, len(data), data)


class _Converter:
    """Decode, fit, invert and encode one listed image."""

    def __init__(self, settings: _Settings):
        self.settings = settings
        self.encoder = _ChunkEncoder(_image_shapes(settings), settings.compression)

    def convert(self, task: tuple[int, str, str | None]) -> _Converted | _Failed:
        """Convert ``(source_index, relpath, group)``; a bad image gives a :class:`_Failed`."""
        source_index, relpath, group = task
        s = self.settings
        try:
            image = read_image(os.path.join(s.root, relpath))
            fitted = fit_image(image, s.size, fit=s.fit)
            raw = s.assigner.invert(fitted, relpath, group, layout=s.layout, dtype=np.uint16)
        except ImageError as exc:
            return _Failed(source_index, exc.reason)
        except FileNotFoundError:
            return _Failed(source_index, "file not found")
        except Exception as exc:  # one bad input must not stop a build: report it and go on
            return _Failed(source_index, f"{type(exc).__name__}: {exc}")
        record = np.zeros((), dtype=PARAMS_DTYPE)
        params = raw.params
        record["rgb2cam"] = params.rgb2cam
        record["rgb_gain"] = params.rgb_gain
        record["red_gain"] = params.red_gain
        record["blue_gain"] = params.blue_gain
        camera_seed = s.assigner.camera_seed_for(relpath, group)
        record["camera_seed"] = -1 if camera_seed is None else camera_seed
        record["noise_shot"], record["noise_read"] = raw.noise if raw.noise else (np.nan, np.nan)
        record["noise_seed"] = -1 if raw.seed is None else raw.seed
        chunks = [self.encoder.encode("raw", raw.data)]
        if s.rgb:
            chunks.append(self.encoder.encode("rgb", _to_uint8(fitted)))
        return _Converted(source_index, tuple(chunks), record)


def _image_shapes(settings: _Settings) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    shapes = {"raw": (_raw_shape(settings.layout, settings.size), np.dtype(np.uint16))}
    if settings.rgb:
        shapes["rgb"] = ((settings.size, settings.size, 3), np.dtype(np.uint8))
    return shapes


class _SlotFile:
    """A file of fixed-size slots mapped into memory by the main process and the workers.

    Workers put the chunks of a converted image into the slot the main process
    gave its task, and return only their positions: the bytes cross from worker to
    writer through shared pages instead of being pickled through a pipe. The file
    lives in ``/dev/shm`` where there is one, and is deleted on close.
    """

    def __init__(self, count: int, size: int):
        folder = (
            "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        )
        fd, self.path = tempfile.mkstemp(prefix="rawspace-build-", suffix=".slots", dir=folder)
        try:
            os.ftruncate(fd, count * size)
            self.map = mmap.mmap(fd, count * size)
        except BaseException:
            os.close(fd)
            os.unlink(self.path)
            raise
        os.close(fd)
        self.count = count
        self.size = size

    def close(self) -> None:
        self.map.close()
        os.unlink(self.path)


_WORKER: _Converter | None = None
_WORKER_SLOTS: tuple[mmap.mmap, int] | None = None


def _init_worker(settings: _Settings, slots_path: str, slot_size: int) -> None:
    global _WORKER, _WORKER_SLOTS
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process handles Ctrl-C
    cv2.setNumThreads(1)
    _WORKER = _Converter(settings)
    with builtins.open(slots_path, "r+b") as f:
        _WORKER_SLOTS = (mmap.mmap(f.fileno(), 0), slot_size)


def _convert_in_worker(
    batch: list[tuple[int, str, str | None]], slot: int
) -> list[_Converted | _Failed]:
    """Convert a batch of images in a worker; put their chunks into ``slot`` of the slot file."""
    assert _WORKER is not None and _WORKER_SLOTS is not None, "worker not initialised"
    shared, slot_size = _WORKER_SLOTS
    offset, end = slot * slot_size, (slot + 1) * slot_size
    results: list[_Converted | _Failed] = []
    for task in batch:
        result = _WORKER.convert(task)
        if isinstance(result, _Converted):
            parked = []
            for chunk in result.chunks:
                if offset + chunk.size > end:
                    raise RuntimeError(f"a chunk of {chunk.size} bytes overflows its slot")
                shared[offset : offset + chunk.size] = chunk.data
                parked.append(_Chunk(chunk.mask, chunk.size, None, offset))
                offset += chunk.size
            result = _Converted(result.source_index, tuple(parked), result.params)
        results.append(result)
    return results


def _slot_size(settings: _Settings) -> int:
    """Bytes that hold the stored chunks of a batch of images, whatever the compression.

    LZF stores a chunk uncompressed when it does not shrink; deflate may grow it up
    to zlib's ``compressBound(n) = n + n/4096 + n/16384 + n/2**25 + 13`` bytes.
    """
    total = 0
    for shape, dtype in _image_shapes(settings).values():
        n = int(np.prod(shape)) * dtype.itemsize
        total += n + n // 1000 + 64
    return _BATCH * total


@contextmanager
def _single_threaded_children() -> Iterator[None]:
    """Processes spawned meanwhile run Numba and OpenMP with one thread each."""
    names = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS")
    previous = {name: os.environ.get(name) for name in names}
    os.environ.update(dict.fromkeys(names, "1"))
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


#: Images per task sent to a worker (fewer, larger messages between processes).
_BATCH = 4
#: Tasks in flight per worker process (each holds one slot of the shared slot file).
_SLOTS_PER_JOB = 3


def _results(
    settings: _Settings, tasks: list[tuple[int, str, str | None]], jobs: int
) -> Iterator[_Converted | _Failed]:
    """Convert ``tasks`` in order, in-process (``jobs == 1``) or in spawned workers.

    A result's chunks are only valid until the next one is asked for.
    """
    if jobs == 1:
        converter = _Converter(settings)
        previous = numba.get_num_threads()
        numba.set_num_threads(1)  # one job, one core (and no thread contention)
        try:
            for task in tasks:
                yield converter.convert(task)
        finally:
            numba.set_num_threads(previous)
        return
    if not tasks:
        return
    slot_size = _slot_size(settings)
    slots = _SlotFile(_SLOTS_PER_JOB * jobs, slot_size)
    try:
        with _single_threaded_children():
            pool = multiprocessing.get_context("spawn").Pool(
                jobs, initializer=_init_worker, initargs=(settings, slots.path, slot_size)
            )
        with pool:
            yield from _ordered_in_slots(pool, slots, tasks)
    finally:
        slots.close()


def _ordered_in_slots(
    pool: Any, slots: _SlotFile, tasks: list[tuple[int, str, str | None]]
) -> Iterator[_Converted | _Failed]:
    """Keep every slot busy with a batch of tasks; yield the results in task order."""
    batches = (tasks[i : i + _BATCH] for i in range(0, len(tasks), _BATCH))
    pending: deque[tuple[int, Any]] = deque()

    def submit(slot: int) -> None:
        batch = next(batches, None)
        if batch is not None:
            pending.append((slot, pool.apply_async(_convert_in_worker, (batch, slot))))

    for slot in range(slots.count):
        submit(slot)
    while pending:
        slot, future = pending.popleft()
        for result in future.get():
            if isinstance(result, _Failed):
                yield result
                continue
            views = [memoryview(slots.map)[c.offset : c.offset + c.size] for c in result.chunks]
            chunks = tuple(
                _Chunk(c.mask, c.size, view) for c, view in zip(result.chunks, views, strict=True)
            )
            try:
                yield _Converted(result.source_index, chunks, result.params)
            finally:
                for view in views:
                    view.release()
        submit(slot)


# ---------------------------------------------------------------------- writing
def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _reference_camera(cameras: dict[str, Any]) -> CameraParams:
    """A camera with the fixed fields (CFA, levels, curves) that every sample shares."""
    if cameras["camera"] is not None:
        return CameraParams.from_dict(cameras["camera"])
    return CameraParams.sample(
        0, cfa=cameras["cfa"], black_level=cameras["black_level"],
        white_level=cameras["white_level"],
    )  # fmt: skip


def _count_cameras(params: np.ndarray) -> int:
    if not len(params):
        return 0
    columns = np.concatenate(
        [params["rgb2cam"].reshape(len(params), 9)]
        + [params[name][:, None] for name in ("rgb_gain", "red_gain", "blue_gain")],
        axis=1,
    )
    return len(np.unique(columns, axis=0))


def _final_attrs(
    config: dict[str, Any], class_names: Sequence[str], params: np.ndarray, n_failed: int
) -> dict[str, Any]:
    """The attributes of a complete cache (or shard), from its configuration and contents."""
    cameras = config["cameras"]
    reference = _reference_camera(cameras)
    attrs = {
        "class_names": np.array(list(class_names), dtype=object),
        "layout": config["layout"],
        "size": config["size"],
        "cfa": reference.cfa,
        "black_level": reference.black_level,
        "white_level": reference.white_level,
        "tone": reference.tone,
        "gamma": reference.gamma,
        "seed": cameras["seed"],
        "camera_policy": cameras["policy"],
        "noise": cameras["noise"] or "none",
        "noise_per": cameras["noise_per"],
        "n_cameras": _count_cameras(params),
        "source": config["source"],
        "source_format": config["source_format"],
        "compression": config["compression"],
        "n_listed": config["listing"]["n_items"],
        "n_failed": n_failed,
        "n_dropped": config["listing"]["n_dropped"],
        "config": _json(config),
        "rawspace_version": config["rawspace_version"],
        "format_version": FORMAT_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if config["shard"] is not None:
        attrs["shard"] = "{}/{}".format(*config["shard"])
    return attrs


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:12]}.tmp")
    try:
        with builtins.open(tmp, "x", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_failures_csv(cache: Path, failures: Sequence[tuple[str, str, str]]) -> Path:
    """Write (or, without failures, remove a stale) ``CACHE.h5.failures.csv``; return its path."""
    path = cache.with_name(cache.name + FAILURES_SUFFIX)
    if not failures:
        path.unlink(missing_ok=True)
        return path
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["path", "label", "reason"])
    writer.writerows(failures)
    _atomic_text(path, buffer.getvalue())
    return path


def _create_cache_datasets(
    f: h5py.File,
    n: int,
    *,
    layout: str,
    size: int,
    compression: str,
    rgb: bool,
    groups: bool,
    images: bool = True,
) -> None:
    """Create the per-sample datasets of a cache with room for ``n`` samples.

    ``images=False`` leaves out ``raw`` and ``rgb`` (a merge makes them virtual).
    """
    image_shapes = {"raw": (_raw_shape(layout, size), np.dtype(np.uint16))}
    if rgb:
        image_shapes["rgb"] = ((size, size, 3), np.dtype(np.uint8))
    for name, (shape, dtype) in image_shapes.items() if images else ():
        f.create_dataset(
            name, shape=(n, *shape), maxshape=(None, *shape), dtype=dtype, chunks=(1, *shape),
            **_storage_options(compression, dtype),
        )  # fmt: skip
    chunk = (min(max(n, 1), 4096),)
    for name in _SMALL:
        if name == "group" and not groups:
            continue
        f.create_dataset(
            name, shape=(n,), maxshape=(None,), dtype=_SMALL_DTYPES[name], chunks=chunk
        )
    f["params"].attrs["fields"] = (
        "rgb2cam: sRGB->camera matrix (3x3); rgb_gain, red_gain, blue_gain; camera_seed: seed "
        "of the sampled camera (-1: fixed camera); noise_shot, noise_read: noise variances "
        "(NaN: no noise); noise_seed: seed of the noise realisation (-1: no noise)"
    )
    f.create_dataset("failures", shape=(0,), maxshape=(None,), dtype=_FAILURES_DTYPE, chunks=(256,))


class _CacheWriter:
    """Writes samples into a partial cache file at consecutive rows, with checkpoints."""

    def __init__(
        self,
        partial: Path,
        *,
        config: dict[str, Any],
        n_rows: int,
        resume: bool,
        groups: bool,
    ):
        self.partial = partial
        config_json = _json(config)
        if resume and partial.exists():
            try:
                self.file = h5py.File(partial, "r+")
            except OSError as exc:
                raise CacheError(
                    f"{partial} cannot be opened to resume it ({exc}); use overwrite to start again"
                ) from None
            recorded = self.file.attrs.get("config")
            if recorded != config_json:
                self.file.close()
                raise CacheError(_config_mismatch(partial, recorded, config))
            self.n_processed = int(self.file.attrs["n_processed"])
            self.n_written = int(self.file.attrs["n_written"])
        else:
            self.file = h5py.File(partial, "w")
            self.file.attrs["config"] = config_json
            _create_cache_datasets(
                self.file, n_rows, layout=config["layout"], size=config["size"],
                compression=config["compression"], rgb=config["rgb"], groups=groups,
            )  # fmt: skip
            self.n_processed = self.n_written = 0
            self._save_progress()
        self._images = [self.file[name].id for name in _IMAGES if name in self.file]
        self._pending: dict[str, list[Any]] = {name: [] for name in _SMALL if name in self.file}
        self._failures: list[tuple[int, str, str, str]] = []
        self._committed = self.n_written

    def _save_progress(self) -> None:
        self.file.attrs["n_processed"] = self.n_processed
        self.file.attrs["n_written"] = self.n_written
        self.file.flush()

    def add(self, row: dict[str, Any], chunks: Sequence[_Chunk]) -> None:
        """Store one sample: its image chunks (raw, then rgb) and its small values."""
        for dataset, chunk in zip(self._images, chunks, strict=True):
            offset = (self.n_written,) + (0,) * (len(dataset.shape) - 1)
            dataset.write_direct_chunk(offset, chunk.data, filter_mask=chunk.mask)
        for name, values in self._pending.items():
            values.append(row[name])
        self.n_written += 1
        self._processed()

    def fail(self, source_index: int, path: str, label: str, reason: str) -> None:
        """Record an image that could not be converted."""
        self._failures.append((source_index, path, label, reason))
        self._processed()

    def _processed(self) -> None:
        self.n_processed += 1
        if self.n_processed % CHECKPOINT_EVERY == 0:
            self.checkpoint()

    def checkpoint(self) -> None:
        """Write the pending small values and failures, then record the progress."""
        start, stop = self._committed, self.n_written
        if stop > start:
            for name, values in self._pending.items():
                dataset = self.file[name]
                dataset[start:stop] = (
                    np.stack(values) if name == "params" else np.array(values, dtype=dataset.dtype)
                )
                values.clear()
        if self._failures:
            table = self.file["failures"]
            old = len(table)
            table.resize((old + len(self._failures),))
            table[old:] = np.array(self._failures, dtype=_FAILURES_DTYPE)
            self._failures.clear()
        self._committed = stop
        self._save_progress()

    def failures(self) -> list[tuple[str, str, str]]:
        """``(path, label, reason)`` of every failure recorded so far (after a checkpoint)."""
        return [(path, label, reason) for _, path, label, reason in _read_failures(self.file)]

    def finish(self, attrs: dict[str, Any]) -> None:
        """Trim the datasets to the samples written and write the final attributes."""
        self.checkpoint()
        for name in (*_IMAGES, *_SMALL):
            if name in self.file:
                dataset = self.file[name]
                dataset.resize((self.n_written, *dataset.shape[1:]))
        for name in _PROGRESS_ATTRS:
            del self.file.attrs[name]
        self.file.attrs.update(attrs)

    def params(self) -> np.ndarray:
        return self.file["params"][: self.n_written]

    def close(self) -> None:
        if self.file.id.valid:
            self.file.close()


def _config_mismatch(partial: Path, recorded: Any, config: dict[str, Any]) -> str:
    try:
        old = json.loads(recorded)
    except (TypeError, ValueError):
        return f"{partial} is not a partial rawspace cache; use overwrite to start again"
    changed = sorted(k for k in set(old) | set(config) if old.get(k) != config.get(k))
    return (
        f"{partial} was started with other options (different {', '.join(changed)}); "
        "build with the same options to resume it, or use overwrite to start again"
    )


def _read_failures(f: h5py.File) -> list[tuple[int, str, str, str]]:
    table = f["failures"][:]
    return [
        (int(r["source_index"]), *(_text(r[k]) for k in ("path", "label", "reason"))) for r in table
    ]


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


# ------------------------------------------------------------------------ build
@dataclass
class BuildReport:
    """What :func:`build` did.

    Attributes
    ----------
    cache : pathlib.Path
        The cache written.
    built : int
        Samples in the cache.
    failures : list of (str, str, str)
        ``(relative path, class name, reason)`` of each image left out, in source order.
    dropped : int
        Matek-19 images left out because they are labelled UNC.
    processed : int
        Images converted (or failed) by this call; less than ``built + failed``
        when it resumed a partial build.
    seconds : float
        Wall time of the conversion loop.
    failures_csv : pathlib.Path or None
        The CSV listing the failures, when there are any.
    """

    cache: Path
    built: int = 0
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    dropped: int = 0
    processed: int = 0
    seconds: float = 0.0
    failures_csv: Path | None = None

    @property
    def failed(self) -> int:
        """Number of images left out because they could not be read."""
        return len(self.failures)

    @property
    def images_per_second(self) -> float:
        """Images processed per second of wall time (0 when none were)."""
        return self.processed / self.seconds if self.processed and self.seconds > 0 else 0.0

    def summary(self) -> str:
        """One line: built, failed, dropped, throughput."""
        dropped = f", {self.dropped} dropped (UNC)" if self.dropped else ""
        return (
            f"built {self.built}, failed {self.failed}{dropped} in {self.seconds:.1f} s "
            f"({self.images_per_second:.1f} images/s) -> {self.cache}"
        )


def _check_int(name: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise CacheError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"between {low} and {high}"
        raise CacheError(f"{name} must be {bound}, got {value}")
    return int(value)


def _check_choice(name: str, value: Any, choices: Sequence[Any]) -> None:
    if value not in choices:
        raise CacheError(f"{name} must be one of {tuple(choices)}, got {value!r}")


def _parse_shard(shard: str | tuple[int, int] | None) -> tuple[int, int] | None:
    if shard is None:
        return None
    if isinstance(shard, str):
        try:
            k, n = (int(part) for part in shard.split("/"))
        except ValueError:
            raise CacheError(f"shard must look like K/N (e.g. 1/4), got {shard!r}") from None
    else:
        try:
            k, n = shard
        except (TypeError, ValueError):
            raise CacheError(f"shard must be 'K/N' or (K, N), got {shard!r}") from None
    n = _check_int("shard count N", n, 1)
    k = _check_int("shard number K", k, 1, n)
    return k, n


def _build_config(
    listing: Source,
    assigner: CameraAssigner,
    *,
    layout: str,
    size: int,
    fit: str,
    test_fraction: float,
    folds: int,
    compression: str,
    rgb: bool,
    shard: tuple[int, int] | None,
) -> dict[str, Any]:
    return {
        "source": str(listing.location),
        "source_format": listing.format,
        "labels": listing.labels,
        "unc": listing.unc,
        "listing": {
            "n_items": len(listing),
            "n_dropped": listing.n_dropped,
            "sha256": listing.fingerprint(),
        },
        "layout": layout,
        "size": size,
        "fit": fit,
        "cameras": assigner.to_dict(),
        "test_fraction": test_fraction,
        "folds": folds,
        "compression": compression,
        "rgb": rgb,
        "shard": list(shard) if shard is not None else None,
        "rawspace_version": __version__,
    }


def _check_build_options(
    *,
    layout: str,
    fit: str,
    compression: str,
    camera_per: str,
    noise: str | None,
    noise_per: str,
    size: Any,
    jobs: Any,
    folds: Any,
    test_fraction: Any,
) -> tuple[int, int, int]:
    """Check the options of :func:`build`; return ``size``, ``jobs`` and ``folds`` as ints."""
    _check_choice("layout", layout, LAYOUTS)
    _check_choice("fit", fit, FITS)
    _check_choice("compression", compression, COMPRESSIONS)
    _check_choice("camera_per", camera_per, CAMERA_POLICIES)
    _check_choice("noise_per", noise_per, CAMERA_POLICIES)
    _check_choice("noise", noise, (None, "brooks"))
    size = _check_int("size", size, MIN_SIDE)
    if size % 2:
        raise CacheError(f"size must be even, got {size}")
    jobs = _check_int("jobs", jobs, 1)
    folds = _check_int("folds", folds, 0, MAX_FOLDS)
    if folds == 1:
        raise CacheError("folds must be 0 (no folds) or at least 2, got 1")
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)):
        raise CacheError(f"test_fraction must be a number, got {test_fraction!r}")
    if not 0.0 <= test_fraction < 1.0:
        raise CacheError(f"test_fraction must be in [0, 1), got {test_fraction}")
    return size, jobs, folds


def build(
    source: str | os.PathLike[str],
    cache: str | os.PathLike[str],
    *,
    labels: str | None = None,
    unc: str | None = None,
    layout: str = "bayer",
    camera: CameraParams | str | os.PathLike[str] | None = None,
    camera_per: str = "dataset",
    noise: str | None = None,
    noise_per: str = "image",
    seed: int = 0,
    size: int = 400,
    fit: str = "pad",
    test_fraction: float = 0.1,
    folds: int = 5,
    compression: str = "none",
    rgb: bool = True,
    jobs: int = 1,
    resume: bool = False,
    overwrite: bool = False,
    shard: str | tuple[int, int] | None = None,
    progress: bool = False,
) -> BuildReport:
    """Build an HDF5 cache of raw (and RGB) images from a labelled SOURCE.

    Parameters
    ----------
    source : path
        A class-folder tree, a Matek-19 root or a CSV file (see :mod:`rawspace.sources`).
    cache : path
        The cache file to write (``.h5``); built as ``cache + ".partial"``, then renamed.
    labels, unc : str, optional
        Matek-19 label column (``"original"`` or ``"reannotation"``) and UNC handling
        (``"drop"`` or ``"keep"``); see :func:`rawspace.sources.read_source`.
    layout : {"bayer", "packed", "linear"}
        Raw layout (see :func:`rawspace.invert`); samples are uint16.
    camera : CameraParams, path or None
        A fixed camera (or a JSON / raw file to load it from with
        :func:`rawspace.cameras.load_camera`); None draws cameras per ``camera_per``.
    camera_per, noise_per : {"dataset", "group", "image"}
        Scopes of the cameras and of the noise levels (see
        :class:`rawspace.cameras.CameraAssigner`); ``"group"`` needs a source with groups.
    noise : {None, "brooks"}
        Sensor noise.
    seed : int
        Global seed of cameras, noise and splits.
    size : int
        Side S of the square samples (even, >= 16); images are fitted with ``fit``.
    fit : {"pad", "crop", "resize"}
        See :func:`rawspace.images.fit_image`.
    test_fraction : float
        Share of each class in the test set, in [0, 1).
    folds : int
        Cross-validation folds of the training set: 0 (none) or 2 to 127.
    compression : {"none", "lzf", "gzip"}
        Compression of ``raw`` and ``rgb`` (default none: reads at random are ~20×
        faster than with lzf or gzip).
    rgb : bool
        Store the fitted RGB images too.
    jobs : int
        Worker processes (spawned; one Numba thread each) that decode, convert and
        compress; the calling process alone writes the file. 1 works in-process.
    resume : bool
        Continue the partial file of an interrupted build made with the same options.
    overwrite : bool
        Replace an existing cache (at the end, atomically) and discard a partial file.
    shard : "K/N" or (K, N), optional
        Build only the images of shard K of N (see :func:`shard_of`); merge the N
        shards with :func:`merge`.
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    BuildReport

    Raises
    ------
    FileNotFoundError
        ``source`` or the camera file does not exist.
    CacheError
        An option is invalid, ``cache`` exists without ``overwrite``, a partial file
        exists without ``resume`` or ``overwrite`` (or was made with other options),
        or a group scope was asked of a source without groups.
    rawspace.sources.SourceError
        ``source`` cannot be listed.
    """
    size, jobs, folds = _check_build_options(
        layout=layout, fit=fit, compression=compression, camera_per=camera_per,
        noise=noise, noise_per=noise_per, size=size, jobs=jobs, folds=folds,
        test_fraction=test_fraction,
    )  # fmt: skip
    shard_kn = _parse_shard(shard)

    cache = Path(cache)
    partial = cache.with_name(cache.name + PARTIAL_SUFFIX)
    if cache.is_dir():
        raise CacheError(f"CACHE {cache} is a folder; name the .h5 file to write")
    if cache.exists() and not overwrite:
        raise CacheError(f"{cache} exists; use overwrite (--overwrite) to replace it")
    if partial.exists() and not (resume or overwrite):
        raise CacheError(
            f"{partial} exists (an interrupted build?): use resume (--resume) to continue it "
            "or overwrite (--overwrite) to start again"
        )
    listing = read_source(source, labels=labels, unc=unc)
    scopes = ["camera_per"] if camera_per == "group" else []
    if noise is not None and noise_per == "group":
        scopes.append("noise_per")
    if scopes and not listing.has_groups:
        raise CacheError(
            f"{' and '.join(scopes)}='group' needs groups, but SOURCE {source} "
            f"({listing.format}) has none: use a CSV source with a 'group' column"
        )
    if camera is not None and not isinstance(camera, CameraParams):
        camera = load_camera(camera)
    try:
        assigner = CameraAssigner(
            camera_per, seed=seed, camera=camera, noise=noise, noise_per=noise_per
        )
    except (TypeError, ValueError) as exc:
        raise CacheError(str(exc)) from None
    config = _build_config(
        listing, assigner, layout=layout, size=size, fit=fit,
        test_fraction=float(test_fraction), folds=folds, compression=compression, rgb=rgb,
        shard=shard_kn,
    )  # fmt: skip
    label_array = np.array([item.label for item in listing.items], dtype=np.int64)
    groups = [item.group for item in listing.items] if listing.has_groups else None
    splits = assign_splits(
        label_array, groups=groups, test_fraction=float(test_fraction), folds=folds, seed=seed
    )
    selected = [
        i for i, item in enumerate(listing.items)
        if shard_kn is None or shard_of(item.relpath, shard_kn[1]) == shard_kn[0]
    ]  # fmt: skip

    if overwrite and not resume:
        partial.unlink(missing_ok=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    writer = _CacheWriter(
        partial, config=config, n_rows=len(selected), resume=resume, groups=listing.has_groups
    )
    report = BuildReport(cache=cache, dropped=listing.n_dropped)
    try:
        settings = _Settings(str(listing.root), assigner, layout, size, fit, compression, rgb)
        start = writer.n_processed
        tasks = [(i, listing.items[i].relpath, listing.items[i].group) for i in selected[start:]]
        _log.info("building %s: %d images to convert (%d done)", cache, len(tasks), start)
        t0 = time.perf_counter()
        bar = tqdm(
            total=len(selected), initial=start, disable=not progress, file=sys.stderr,
            unit="img", desc="build",
        )  # fmt: skip
        with bar, closing(_results(settings, tasks, jobs)) as results:
            for result in results:
                item = listing.items[result.source_index]
                _store(writer, listing, item, result, splits)
                report.processed += 1
                bar.update(1)
        report.seconds = time.perf_counter() - t0
        writer.checkpoint()
        report.failures = writer.failures()
        writer.finish(
            _final_attrs(config, listing.class_names, writer.params(), len(report.failures))
        )
        report.built = writer.n_written
    except KeyboardInterrupt:
        writer.checkpoint()  # keep what was converted: resume continues from here
        raise
    finally:
        writer.close()
    failures_csv = _write_failures_csv(cache, report.failures)
    report.failures_csv = failures_csv if report.failures else None
    os.replace(partial, cache)
    return report


def _store(
    writer: _CacheWriter,
    listing: Source,
    item: SourceItem,
    result: _Converted | _Failed,
    splits: Any,
) -> None:
    index = result.source_index
    label = listing.class_names[item.label]
    if isinstance(result, _Failed):
        _log.info("failed %s: %s", item.relpath, result.reason)
        writer.fail(index, item.relpath, label, result.reason)
        return
    row = {
        "label": item.label,
        "path": item.relpath,
        "params": result.params,
        "split": splits.split[index],
        "fold": splits.fold[index],
        "source_index": index,
        "group": item.group,
    }
    writer.add(row, result.chunks)


# ----------------------------------------------------------------------- reading
@dataclass(frozen=True)
class Sample:
    """One cached sample.

    Attributes
    ----------
    raw : numpy.ndarray
        uint16: (S, S) Bayer, (S/2, S/2, 4) packed or (S, S, 3) linear.
    rgb : numpy.ndarray or None
        uint8 (S, S, 3), the image that was converted; None when not stored or not read.
    label : int
        Index into the cache's ``class_names``.
    path : str
        Path of the source image relative to the source root.
    params : CameraParams
        The sample's camera.
    """

    raw: np.ndarray
    rgb: np.ndarray | None
    label: int
    path: str
    params: CameraParams


@dataclass(frozen=True)
class SampleArrays:
    """Several cached samples, stacked (see :meth:`CacheReader.load_all`).

    Attributes
    ----------
    raw : numpy.ndarray, shape (N, ...)
        uint16 raw samples.
    rgb : numpy.ndarray, shape (N, S, S, 3), or None
        uint8 RGB images; None when not stored or not read.
    label : numpy.ndarray, shape (N,), int64
    path : numpy.ndarray, shape (N,), object (str)
    params : numpy.ndarray, shape (N,), :data:`PARAMS_DTYPE`
        Camera and noise records (see :meth:`CacheReader.params` for one camera).
    """

    raw: np.ndarray
    rgb: np.ndarray | None
    label: np.ndarray
    path: np.ndarray
    params: np.ndarray


def _open_h5(path: Path) -> h5py.File:
    """Open a complete cache for reading; check that the files of virtual datasets exist."""
    if not path.is_file():
        partial = path.with_name(path.name + PARTIAL_SUFFIX)
        hint = f" ({partial} exists: the build was interrupted)" if partial.exists() else ""
        raise FileNotFoundError(f"cache not found: {path}{hint}")
    f = h5py.File(path, "r")
    try:
        if "config" not in f.attrs or "raw" not in f:
            raise CacheError(f"{path} is not a rawspace cache (no 'raw' dataset or 'config')")
        if "n_processed" in f.attrs:
            raise CacheError(f"{path} is an incomplete build; resume it first")
        for name in _IMAGES:
            if name in f and f[name].is_virtual:
                for source in f[name].virtual_sources():
                    if source.file_name == ".":
                        continue
                    file = Path(source.file_name)
                    if not file.is_absolute():
                        file = path.parent / file
                    if not file.is_file():
                        raise CacheError(
                            f"{path}: dataset {name!r} reads from {file}, which is missing "
                            "(keep merged caches next to their shards, or merge with copy)"
                        )
    except BaseException:
        f.close()
        raise
    return f


class _CacheFile:
    """A cache file opened lazily, once per process, with its small columns cached.

    Pickling keeps only the path, so a reader can be sent to worker processes; a
    handle inherited through ``fork`` is replaced by a fresh one.
    """

    def __init__(self, path: Path):
        self.path = path
        self._file: h5py.File | None = None
        self._pid: int | None = None
        self._datasets: dict[str, h5py.Dataset] = {}
        self._direct: dict[str, bool] = {}
        self._names: frozenset[str] = frozenset()
        self._columns: dict[str, np.ndarray] = {}
        self._attrs: dict[str, Any] | None = None
        self._cameras: dict[bytes, CameraParams] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"])

    def file(self) -> h5py.File:
        pid = os.getpid()
        if self._file is None or self._pid != pid:
            # A handle inherited through fork belongs to the parent: do not close it here.
            self._file = _open_h5(self.path)
            self._pid = pid
            self._datasets = {}
            self._names = frozenset(self._file.keys())
        return self._file

    def dataset(self, name: str) -> h5py.Dataset:
        f = self.file()
        dataset = self._datasets.get(name)
        if dataset is None:
            dataset = self._datasets[name] = f[name]
            # One sample per chunk, no filters, stored here: read the chunk as it is.
            self._direct[name] = (
                not dataset.is_virtual
                and dataset.chunks == (1, *dataset.shape[1:])
                and dataset.id.get_create_plist().get_nfilters() == 0
            )
        return dataset

    def has(self, name: str) -> bool:
        self.file()
        return name in self._names

    def sample(self, name: str, row: int) -> np.ndarray:
        """Row ``row`` of the image dataset ``name`` (a new array)."""
        dataset = self.dataset(name)
        if not self._direct[name]:
            return dataset[row]
        out = np.empty(dataset.shape[1:], dtype=dataset.dtype)
        offset = (row,) + (0,) * (dataset.ndim - 1)
        dataset.id.read_direct_chunk(offset, out=out.reshape(-1).view(np.uint8))
        return out

    def column(self, name: str) -> np.ndarray:
        values = self._columns.get(name)
        if values is None:
            dataset = self.dataset(name)
            values = dataset.asstr()[:] if dataset.dtype == _STR else dataset[:]
            values.setflags(write=False)
            self._columns[name] = values
        return values

    @property
    def attrs(self) -> dict[str, Any]:
        if self._attrs is None:
            self._attrs = {key: _attr_value(value) for key, value in self.file().attrs.items()}
        return self._attrs

    def camera(self, record: np.void) -> CameraParams:
        key = record.tobytes()
        params = self._cameras.get(key)
        if params is None:
            attrs = self.attrs
            params = self._cameras[key] = CameraParams(
                rgb2cam=record["rgb2cam"], rgb_gain=float(record["rgb_gain"]),
                red_gain=float(record["red_gain"]), blue_gain=float(record["blue_gain"]),
                cfa=attrs["cfa"], black_level=attrs["black_level"],
                white_level=attrs["white_level"], tone=attrs["tone"], gamma=attrs["gamma"],
            )  # fmt: skip
        return params

    def close(self) -> None:
        if self._file is not None and self._pid == os.getpid() and self._file.id.valid:
            self._file.close()
        self._file = None
        self._datasets = {}


def _attr_value(value: Any) -> Any:
    """Plain Python value of an HDF5 attribute (strings decoded, scalars unwrapped)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        return tuple(_attr_value(v) for v in value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def _runs(rows: np.ndarray) -> Iterator[tuple[int, int, int]]:
    """``(position, first row, count)`` of each run of consecutive rows."""
    if not len(rows):
        return
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    starts = np.concatenate([[0], breaks])
    stops = np.concatenate([breaks, [len(rows)]])
    for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
        yield a, int(rows[a]), b - a


def _read_rows(dataset: h5py.Dataset, rows: np.ndarray) -> np.ndarray:
    out = np.empty((len(rows), *dataset.shape[1:]), dtype=dataset.dtype)
    for position, first, count in _runs(rows):
        dataset.read_direct(out, np.s_[first : first + count], np.s_[position : position + count])
    return out


class CacheReader:
    """Read access to a cache, or to a subset of its samples (a *view*).

    Create it with :func:`open`. A view (``reader.train``, ``reader.test``,
    ``reader.fold(k)``) shares the file of its reader and lists some of its rows,
    in file order. Readers are picklable and open the file lazily, once per
    process, so they can be handed to DataLoader workers.

    Supports ``len(reader)``, ``reader[i]`` (a :class:`Sample`, negative ``i``
    counting from the end) and iteration.
    """

    def __init__(self, handle: _CacheFile, rows: np.ndarray | None = None, *, rgb: bool = True):
        self._handle = handle
        self._rgb = rgb
        if rows is None:
            rows = np.arange(handle.dataset("label").shape[0], dtype=np.int64)
        rows.setflags(write=False)
        self._rows = rows

    # ------------------------------------------------------------ description
    @property
    def path(self) -> Path:
        """The cache file."""
        return self._handle.path

    @property
    def attrs(self) -> dict[str, Any]:
        """The file's attributes as plain Python values (``config`` still JSON text)."""
        return dict(self._handle.attrs)

    @property
    def config(self) -> dict[str, Any]:
        """The resolved configuration the cache was built with."""
        return json.loads(self._handle.attrs["config"])

    @property
    def class_names(self) -> tuple[str, ...]:
        """Class names; labels index into them."""
        return tuple(self._handle.attrs["class_names"])

    @property
    def layout(self) -> str:
        """Raw layout: ``"bayer"``, ``"packed"`` or ``"linear"``."""
        return self._handle.attrs["layout"]

    @property
    def has_rgb(self) -> bool:
        """Whether samples come with their RGB image."""
        return self._rgb and self._handle.has("rgb")

    @property
    def n_folds(self) -> int:
        """Number of cross-validation folds (0 when built without folds)."""
        return int(self.config["folds"])

    @property
    def rows(self) -> np.ndarray:
        """Rows of the file in this view, increasing (int64, read-only)."""
        return self._rows

    @property
    def labels(self) -> np.ndarray:
        """Label of each sample of the view (int64, shape (len(self),))."""
        return self._handle.column("label")[self._rows]

    @property
    def paths(self) -> list[str]:
        """Relative path of each sample of the view."""
        return self._handle.column("path")[self._rows].tolist()

    @property
    def groups(self) -> list[str] | None:
        """Group of each sample of the view, or None when the source has no groups."""
        if not self._handle.has("group"):
            return None
        return self._handle.column("group")[self._rows].tolist()

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return f"<CacheReader {self.path} ({len(self)} samples, {self.layout})>"

    # ---------------------------------------------------------------- samples
    def _row(self, index: int) -> int:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"index must be an int, got {type(index).__name__}")
        n = len(self._rows)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for {n} samples")
        return int(self._rows[index])

    def __getitem__(self, index: int) -> Sample:
        row = self._row(index)
        handle = self._handle
        raw = handle.sample("raw", row)
        rgb = handle.sample("rgb", row) if self.has_rgb else None
        return Sample(
            raw=raw,
            rgb=rgb,
            label=int(handle.column("label")[row]),
            path=str(handle.column("path")[row]),
            params=handle.camera(handle.column("params")[row]),
        )

    def __iter__(self) -> Iterator[Sample]:
        for i in range(len(self)):
            yield self[i]

    def params(self, index: int) -> CameraParams:
        """The camera of sample ``index``."""
        return self._handle.camera(self._handle.column("params")[self._row(index)])

    def invert_args(self, index: int) -> dict[str, Any]:
        """Arguments that re-create sample ``index`` with :func:`rawspace.invert`.

        ``rawspace.invert(rgb, **reader.invert_args(i)).data`` equals ``reader[i].raw``
        when ``rgb`` is the fitted image the sample was made from (for 8-bit sources,
        ``reader[i].rgb``).

        Returns
        -------
        dict
            ``params`` (CameraParams), ``seed`` (int or None: the noise seed),
            ``noise`` ((shot, read) or None), ``layout`` and ``dtype`` (numpy.uint16).
        """
        record = self._handle.column("params")[self._row(index)]
        noisy = not np.isnan(record["noise_shot"])
        return {
            "params": self._handle.camera(record),
            "seed": int(record["noise_seed"]) if record["noise_seed"] >= 0 else None,
            "noise": (float(record["noise_shot"]), float(record["noise_read"])) if noisy else None,
            "layout": self.layout,
            "dtype": np.uint16,
        }

    def load_all(self) -> SampleArrays:
        """Every sample of the view, stacked in memory (raw is N × the raw shape)."""
        handle = self._handle
        rows = self._rows
        return SampleArrays(
            raw=_read_rows(handle.dataset("raw"), rows),
            rgb=_read_rows(handle.dataset("rgb"), rows) if self.has_rgb else None,
            label=handle.column("label")[rows],
            path=handle.column("path")[rows],
            params=handle.column("params")[rows],
        )

    # ------------------------------------------------------------------ views
    def _subset(self, mask: np.ndarray) -> CacheReader:
        return CacheReader(self._handle, self._rows[mask], rgb=self._rgb)

    @property
    def train(self) -> CacheReader:
        """View of the training samples (split 0)."""
        return self._subset(self._handle.column("split")[self._rows] == 0)

    @property
    def test(self) -> CacheReader:
        """View of the test samples (split 1)."""
        return self._subset(self._handle.column("split")[self._rows] == 1)

    def fold(self, k: int) -> tuple[CacheReader, CacheReader]:
        """Cross-validation fold ``k``: (training view, validation view).

        The validation view holds the samples of fold ``k``; the training view the
        other training samples. Test samples are in neither.
        """
        if self.n_folds == 0:
            raise CacheError(f"{self.path} was built without cross-validation folds")
        if (
            isinstance(k, bool)
            or not isinstance(k, (int, np.integer))
            or not (0 <= k < self.n_folds)
        ):
            raise IndexError(f"fold must be an int in [0, {self.n_folds}), got {k!r}")
        split = self._handle.column("split")[self._rows]
        fold = self._handle.column("fold")[self._rows]
        return self._subset((split == 0) & (fold != k)), self._subset(fold == k)

    # -------------------------------------------------------------- lifetime
    def close(self) -> None:
        """Close the file handle of this process (reopened on the next access)."""
        self._handle.close()

    def __enter__(self) -> CacheReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open(path: str | os.PathLike[str], *, rgb: bool = True) -> CacheReader:
    """Open a cache for reading.

    Parameters
    ----------
    path : path
        A cache written by :func:`build` or :func:`merge`.
    rgb : bool, default True
        Read the RGB images with the samples (when stored); False skips them
        (``Sample.rgb`` is None), which is faster for raw-only training.

    Returns
    -------
    CacheReader
        Over every sample of the file. The file is opened now to check it, and
        reopened lazily in other processes.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    CacheError
        ``path`` is not a complete rawspace cache, or a shard file of a merged
        cache is missing.
    """
    handle = _CacheFile(Path(path))
    handle.file()
    return CacheReader(handle, rgb=rgb)


# ------------------------------------------------------------------------- merge
@dataclass
class MergeReport:
    """What :func:`merge` did.

    Attributes
    ----------
    cache : pathlib.Path
        The merged cache.
    shards : int
        Number of shards joined.
    samples : int
        Samples in the merged cache.
    failures : list of (str, str, str)
        ``(relative path, class name, reason)`` of the images the shards left out.
    virtual : bool
        Whether ``raw`` and ``rgb`` are virtual datasets reading from the shards.
    failures_csv : pathlib.Path or None
        The CSV listing the failures, when there are any.
    """

    cache: Path
    shards: int = 0
    samples: int = 0
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    virtual: bool = True
    failures_csv: Path | None = None

    def summary(self) -> str:
        """One line: shards, samples, failures, storage."""
        kind = "virtual datasets over the shards" if self.virtual else "copied data"
        return (
            f"merged {self.shards} shards: {self.samples} samples, {len(self.failures)} failed "
            f"({kind}) -> {self.cache}"
        )


@dataclass
class _Shard:
    """A shard's configuration and small datasets (the images stay in the file)."""

    path: Path
    config: dict[str, Any]
    class_names: tuple[str, ...]
    columns: dict[str, np.ndarray]
    failures: list[tuple[int, str, str, str]]

    @property
    def source_index(self) -> np.ndarray:
        return self.columns["source_index"]


def _read_shard(path: Path) -> _Shard:
    if not path.is_file():
        raise FileNotFoundError(f"shard not found: {path}")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise CacheError(f"{path} is not an HDF5 file: {exc}") from None
    with f:
        if "n_processed" in f.attrs:
            raise CacheError(f"{path} is an incomplete build; resume it before merging")
        if "config" not in f.attrs or "shard" not in f.attrs:
            raise CacheError(f"{path} is not a shard of a rawspace cache (built with shard)")
        return _Shard(
            path,
            json.loads(f.attrs["config"]),
            tuple(_attr_value(f.attrs["class_names"])),
            {name: f[name][:] for name in _SMALL if name in f},
            _read_failures(f),
        )


def _check_shards(shards: list[_Shard]) -> tuple[dict[str, Any], int]:
    """Check that the shards form one complete, disjoint set; return the common config."""
    first = shards[0]
    base = {**first.config, "shard": None}
    for shard in shards[1:]:
        other = {**shard.config, "shard": None}
        if other != base:
            changed = sorted(k for k in set(base) | set(other) if base.get(k) != other.get(k))
            raise CacheError(
                f"{shard.path} and {first.path} were built with different options "
                f"({', '.join(changed)}); shards must differ only in the shard"
            )
    count = first.config["shard"][1]
    seen: dict[int, Path] = {}
    for shard in shards:
        k, n = shard.config["shard"]
        if n != count:
            raise CacheError(
                f"{shard.path} is shard {k}/{n} but {first.path} is one of {count} shards"
            )
        if k in seen:
            raise CacheError(f"shard {k}/{n} given twice: {seen[k]} and {shard.path}")
        seen[k] = shard.path
    missing = sorted(set(range(1, count + 1)) - set(seen))
    if missing:
        raise CacheError(
            f"shards {', '.join(f'{k}/{count}' for k in missing)} are missing; "
            f"a merge needs all {count}"
        )
    indices = np.concatenate([shard.source_index for shard in shards])
    if len(np.unique(indices)) != len(indices):
        raise CacheError("the shards overlap: some images are in more than one shard")
    return base, count


def _virtual_images(
    f: h5py.File, name: str, shards: list[_Shard], which: np.ndarray, row: np.ndarray, out: Path
) -> None:
    """Make ``name`` a virtual dataset: merged row j is row ``row[j]`` of shard ``which[j]``."""
    sources = []
    for shard in shards:
        with h5py.File(shard.path, "r") as g:
            dataset = g[name]
            link = os.path.relpath(os.path.abspath(shard.path), os.path.abspath(out.parent))
            sources.append(h5py.VirtualSource(link, name, shape=dataset.shape, dtype=dataset.dtype))
    shape = (len(row), *sources[0].shape[1:])
    layout = h5py.VirtualLayout(shape=shape, dtype=sources[0].dtype)
    breaks = np.flatnonzero((np.diff(which) != 0) | (np.diff(row) != 1)) + 1
    starts = np.concatenate([[0], breaks]).tolist()
    stops = np.concatenate([breaks, [len(row)]]).tolist()
    for a, b in zip(starts, stops, strict=True):
        first = int(row[a])
        layout[a:b] = sources[which[a]][first : first + (b - a)]
    f.create_virtual_dataset(name, layout)


def _copy_images(
    f: h5py.File, name: str, shards: list[_Shard], which: np.ndarray, row: np.ndarray
) -> None:
    """Copy the stored chunks of ``name`` (one sample each) in merged order, undecoded."""
    target = f[name].id
    handles = [h5py.File(shard.path, "r") for shard in shards]
    try:
        datasets = [h[name].id for h in handles]
        tail = (0,) * (len(f[name].shape) - 1)
        for j, (s, r) in enumerate(zip(which.tolist(), row.tolist(), strict=True)):
            mask, data = datasets[s].read_direct_chunk((r, *tail))
            target.write_direct_chunk((j, *tail), data, filter_mask=mask)
    finally:
        for h in handles:
            h.close()


def merge(
    out: str | os.PathLike[str],
    shards: Sequence[str | os.PathLike[str]],
    *,
    copy: bool = False,
    overwrite: bool = False,
) -> MergeReport:
    """Join the shards of a sharded build into one cache.

    The merged cache equals, dataset by dataset, the cache an unsharded build with
    the same options would give: samples in source order, same splits, folds,
    cameras and attributes (its ``config`` has ``"shard": null``).

    Parameters
    ----------
    out : path
        The merged cache; written as ``out + ".partial"`` and renamed when complete.
    shards : sequence of paths
        All N shards of one build (``shard`` 1/N to N/N), in any order.
    copy : bool, default False
        Copy the image data (stored chunks, not recompressed). By default ``raw``
        and ``rgb`` are HDF5 virtual datasets that read from the shard files, which
        must then stay next to the merged file (they are found by relative path).
    overwrite : bool, default False
        Replace an existing ``out``.

    Returns
    -------
    MergeReport

    Raises
    ------
    FileNotFoundError
        A shard does not exist.
    CacheError
        ``out`` exists without ``overwrite``, a file is not a complete shard, the
        shards come from different options, overlap, or some are missing.
    """
    out = Path(out)
    paths = [Path(p) for p in shards]
    if not paths:
        raise CacheError("merge needs at least one shard")
    if out.exists() and not overwrite:
        raise CacheError(f"{out} exists; use overwrite (--overwrite) to replace it")
    for path in paths:
        if path.exists() and out.exists() and path.samefile(out):
            raise CacheError(f"the merged cache {out} cannot be one of its shards")
    parts = [_read_shard(p) for p in paths]
    config, _ = _check_shards(parts)
    parts.sort(key=lambda shard: shard.config["shard"][0])
    indices = np.concatenate([shard.source_index for shard in parts])
    which = np.concatenate(
        [np.full(len(shard.source_index), s, dtype=np.int64) for s, shard in enumerate(parts)]
    )
    row = np.concatenate([np.arange(len(shard.source_index)) for shard in parts])
    order = np.argsort(indices, kind="stable")
    which, row = which[order], row[order]
    n = len(order)
    virtual = not copy and n > 0

    partial = out.with_name(out.name + PARTIAL_SUFFIX)
    partial.unlink(missing_ok=True)
    try:
        with h5py.File(partial, "w") as f:
            _create_cache_datasets(
                f, n, layout=config["layout"], size=config["size"],
                compression=config["compression"], rgb=config["rgb"],
                groups="group" in parts[0].columns, images=not virtual,
            )  # fmt: skip
            for name in parts[0].columns:
                if n:
                    f[name][:] = np.concatenate([shard.columns[name] for shard in parts])[order]
            failures = sorted(failure for shard in parts for failure in shard.failures)
            if failures:
                f["failures"].resize((len(failures),))
                f["failures"][:] = np.array(failures, dtype=_FAILURES_DTYPE)
            for name in _IMAGES if config["rgb"] else ("raw",):
                if virtual:
                    _virtual_images(f, name, parts, which, row, out)
                else:
                    _copy_images(f, name, parts, which, row)
            params = f["params"][:]
            f.attrs.update(_final_attrs(config, parts[0].class_names, params, len(failures)))
        listed = [(path, label, reason) for _, path, label, reason in failures]
        failures_csv = _write_failures_csv(out, listed)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return MergeReport(
        cache=out,
        shards=len(parts),
        samples=n,
        failures=listed,
        virtual=virtual,
        failures_csv=failures_csv if listed else None,
    )


# ----------------------------------------------------------------------- summary
def _size_text(n_bytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n_bytes < 1000 or unit == "GB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1000
    raise AssertionError("unreachable")


def _stored_bytes(f: h5py.File, path: Path) -> tuple[int, str]:
    """Bytes on disk of the image data (the shards' for a virtual merge), and a description."""
    if not f["raw"].is_virtual:
        total = sum(f[name].id.get_storage_size() for name in _IMAGES if name in f)
        return total, "stored in this file"
    files = {s.file_name for s in f["raw"].virtual_sources()}
    total = 0
    for name in files:
        file = Path(name) if Path(name).is_absolute() else path.parent / name
        with h5py.File(file, "r") as g:
            total += sum(g[k].id.get_storage_size() for k in _IMAGES if k in g)
    return total, f"virtual, read from {len(files)} shard file(s): {', '.join(sorted(files))}"


def summary(path: str | os.PathLike[str]) -> str:
    """A readable description of a cache: source, classes, layout, cameras, splits, storage.

    Parameters
    ----------
    path : path
        A cache written by :func:`build` or :func:`merge` (or a shard).

    Returns
    -------
    str
        Several lines of text, without a trailing newline.
    """
    reader = open(path)
    try:
        attrs = reader.attrs
        config = reader.config
        f = reader._handle.file()
        n = len(reader)
        labels = reader._handle.column("label")
        split = reader._handle.column("split")
        fold = reader._handle.column("fold")
        stored, storage = _stored_bytes(f, reader.path)
        raw_shape = f["raw"].shape
        rgb_text = f"; rgb uint8 {f['rgb'].shape}" if "rgb" in f else "; no rgb"
    finally:
        reader.close()
    file_size = os.path.getsize(reader.path)
    cameras = config["cameras"]
    noise = attrs["noise"] + ("" if attrs["noise"] == "none" else f" (per {attrs['noise_per']})")
    fixed = " (fixed camera)" if cameras["camera"] is not None else ""
    lines = [
        f"{reader.path}: rawspace cache, {n} samples"
        + (f" (shard {attrs['shard']})" if "shard" in attrs else ""),
        f"  created      {attrs['created']} with rawspace {attrs['rawspace_version']} "
        f"(format {attrs['format_version']})",
        f"  source       {attrs['source']} ({attrs['source_format']}"
        + (f", labels {config['labels']}, UNC {config['unc']}" if config["labels"] else "")
        + f"): {attrs['n_listed']} listed, {attrs['n_failed']} failed"
        + (f", {attrs['n_dropped']} dropped as UNC" if attrs["n_dropped"] else ""),
        f"  layout       {attrs['layout']} uint16 {raw_shape}{rgb_text}; "
        f"fit {config['fit']} to {attrs['size']}x{attrs['size']}",
        f"  cameras      per {attrs['camera_policy']}{fixed}: {attrs['n_cameras']} distinct; "
        f"CFA {attrs['cfa']}, levels {attrs['black_level']}..{attrs['white_level']}, "
        f"tone {attrs['tone']}, gamma {attrs['gamma']}; noise {noise}; seed {attrs['seed']}",
        f"  splits       train {int(np.sum(split == 0))}, test {int(np.sum(split == 1))} "
        f"(test fraction {config['test_fraction']})",
    ]
    if config["folds"]:
        sizes = np.bincount(fold[fold >= 0], minlength=config["folds"])
        lines.append(f"  folds        {config['folds']}: {', '.join(str(s) for s in sizes)}")
    else:
        lines.append("  folds        none")
    per_sample = f", {_size_text(stored / n)} per sample" if n else ""
    lines.append(
        f"  storage      compression {attrs['compression']}, image data {_size_text(stored)}"
        f"{per_sample} ({storage}); file {_size_text(file_size)}"
    )
    names = attrs["class_names"]
    width = max([len("class"), *(len(name) for name in names)])
    lines.append(f"  classes ({len(names)}):")
    lines.append(f"    {'class':<{width}}  {'total':>6}  {'train':>6}  {'test':>6}")
    for index, name in enumerate(names):
        mine = labels == index
        lines.append(
            f"    {name:<{width}}  {int(mine.sum()):>6}  {int((mine & (split == 0)).sum()):>6}"
            f"  {int((mine & (split == 1)).sum()):>6}"
        )
    return "\n".join(lines)
