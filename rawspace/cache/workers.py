"""Converting listed images to stored cache chunks, in-process and in worker processes.

A :class:`Converter` decodes, fits, inverts and encodes (compresses) one image;
:class:`Conversion` runs it over the tasks of a build, in order, in the calling
process and, with ``jobs > 1``, in ``jobs - 1`` workers of
:func:`rawspace.processes.worker_pool` (started, and warmed up, while the cache is
being prepared), which write uncompressed chunks in place and hand compressed ones
back through a shared-memory slot file. Used by :func:`rawspace.cache.build`.
"""

from __future__ import annotations

import dataclasses
import mmap
import os
import tempfile
import uuid
from collections.abc import Generator, Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass
from multiprocessing import reduction
from typing import Any

import h5py
import numpy as np

from ..cameras import CameraAssigner
from ..files import bytes_digest
from ..hints import Compression, Fit, Layout
from ..images import ImageError, decode_image, fit_image
from ..processes import one_job_here, shared_with_workers, worker_pool
from ..rawimage import raw_shape
from .format import PARAMS_DTYPE, pixel_digest, storage_options

__all__ = ["Chunk", "Conversion", "Converted", "Converter", "Failed", "Settings"]


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    """uint8 copy of an image: uint16 and float [0, 1] rounded half up to 0–255."""
    if rgb.dtype == np.uint8:
        return rgb
    if rgb.dtype == np.uint16:
        return ((rgb.astype(np.uint32) * 2 + 257) // 514).astype(np.uint8)
    return np.floor(rgb.astype(np.float64) * 255.0 + 0.5).astype(np.uint8)


# ------------------------------------------------------------------- conversion
@dataclass(frozen=True)
class Settings:
    """What a worker needs to turn a listed image into cache chunks; picklable."""

    root: str
    assigner: CameraAssigner
    layout: Layout
    size: int
    fit: Fit
    compression: Compression
    rgb: bool
    page: int | None = None
    #: The partial file, where tasks that carry chunk offsets write their chunks.
    partial: str | None = None


#: ``(source_index, relpath, group, offsets)``: an image to convert; with ``offsets``
#: (byte offsets of its raw and rgb chunks in the partial file) the converter writes
#: the chunks there itself and returns none.
Task = tuple[int, str, str | None, tuple[int, ...] | None]


@dataclass(frozen=True)
class Chunk:
    """One stored chunk: its filter mask and its bytes.

    ``data`` holds the bytes; it is None in a result sent by a worker, whose bytes
    wait in the shared slot file at ``offset`` (see :class:`_SlotFile`).
    """

    mask: int
    size: int
    data: bytes | memoryview | None = None
    offset: int = 0


@dataclass(frozen=True)
class Converted:
    """The chunks (as stored: compressed), camera record and name, and digests of one image.

    ``source_digest`` is the :func:`rawspace.files.file_digest` of the source file,
    ``digest`` the :func:`~rawspace.cache.format.pixel_digest` of the stored pixels.
    """

    source_index: int
    chunks: tuple[Chunk, ...]  # raw, then rgb when stored
    params: np.ndarray  # one PARAMS_DTYPE record
    camera: str  # the camera's name, "" when unnamed
    source_digest: str
    digest: str


@dataclass(frozen=True)
class Failed:
    """An image that could not be converted, why, and the digest of its file ("" if unread)."""

    source_index: int
    reason: str
    source_digest: str = ""


class _ChunkEncoder:
    """Encode a sample to the bytes of its chunk, filters applied, as HDF5 would store it.

    Compressed chunks are made by writing the sample to a scratch dataset with the
    cache's creation options in an in-memory HDF5 file and reading the stored
    chunk back, so workers compress in parallel and the writer stores the bytes
    with ``write_direct_chunk``, unchanged.
    """

    def __init__(
        self, shapes: dict[str, tuple[tuple[int, ...], np.dtype]], compression: Compression
    ):
        self._datasets: dict[str, h5py.Dataset] = {}
        self._file = None
        if compression == "none":
            return
        name = f"rawspace-chunks-{os.getpid()}-{uuid.uuid4().hex}.h5"
        self._file = h5py.File(name, "w", driver="core", backing_store=False)
        for key, (shape, dtype) in shapes.items():
            self._datasets[key] = self._file.create_dataset(
                key, shape=(1, *shape), dtype=dtype, chunks=(1, *shape),
                **storage_options(compression, dtype),
            )  # fmt: skip

    def encode(self, key: str, array: np.ndarray) -> Chunk:
        """The chunk holding ``array``.

        Its mask has a bit set for each optional filter skipped (LZF and deflate
        store a chunk uncompressed when compressing would not make it smaller).
        """
        if self._file is None:
            data = np.ascontiguousarray(array).data.cast("B")
            return Chunk(0, data.nbytes, data)
        dataset = self._datasets[key]
        dataset[0] = array
        mask, data = dataset.id.read_direct_chunk((0,) * dataset.ndim)
        return Chunk(mask, len(data), data)


class Converter:
    """Decode, fit, invert and encode one listed image."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.encoder = _ChunkEncoder(_image_shapes(settings), settings.compression)
        self._partial: int | None = None  # descriptor of the partial file, once opened

    def convert(self, task: Task) -> Converted | Failed:
        """Convert a :data:`Task`; a bad image gives a :class:`Failed`.

        Raises
        ------
        OSError
            The chunks of a task with offsets cannot be written (a full disk).
        """
        source_index, relpath, group, offsets = task
        s = self.settings
        path = os.path.join(s.root, relpath)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return Failed(source_index, "file not found")
        except OSError as exc:
            return Failed(source_index, f"cannot be read: {exc.strerror or exc}")
        source_digest = bytes_digest(data)  # of the very bytes converted
        try:
            image = decode_image(data, page=s.page, path=path)
            fitted = fit_image(image, s.size, fit=s.fit)
            raw = s.assigner.invert(fitted, relpath, group, layout=s.layout, dtype=np.uint16)
        except ImageError as exc:
            return Failed(source_index, exc.reason, source_digest)
        except FileNotFoundError:
            return Failed(source_index, "file not found")
        except Exception as exc:  # one bad input must not stop a build: report it and go on
            return Failed(source_index, f"{type(exc).__name__}: {exc}", source_digest)
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
        rgb = _to_uint8(fitted) if s.rgb else None
        chunks = [self.encoder.encode("raw", raw.data)]
        if rgb is not None:
            chunks.append(self.encoder.encode("rgb", rgb))
        digest = pixel_digest(raw.data, rgb)
        if offsets is not None:
            self._write_in_place(chunks, offsets)
            chunks = []
        camera = params.name or ""
        return Converted(source_index, tuple(chunks), record, camera, source_digest, digest)

    def warm_up(self) -> None:
        """Run a small made-up image through the fit, invert and encode steps of
        :meth:`convert` (nothing is written), so that their kernels are compiled or
        loaded before the first task. It never raises: a step that fails here fails
        for the tasks too, and :meth:`convert` reports that for each image (an error
        in a worker's initialiser would instead make the pool restart it forever)."""
        s = self.settings
        try:
            fitted = fit_image(np.zeros((8, 8, 3), np.uint8), s.size, fit=s.fit)
            raw = s.assigner.invert(fitted, "", "", layout=s.layout, dtype=np.uint16)
            self.encoder.encode("raw", raw.data)
        except Exception:  # see the docstring
            return

    def _write_in_place(self, chunks: list[Chunk], offsets: tuple[int, ...]) -> None:
        if self._partial is None:
            if self.settings.partial is None:
                raise ValueError("chunk offsets given without a partial file")
            self._partial = os.open(self.settings.partial, os.O_WRONLY)
        for chunk, offset in zip(chunks, offsets, strict=True):
            assert chunk.data is not None, "a converted chunk holds its bytes"
            view = memoryview(chunk.data).cast("B")
            done = 0
            while done < len(view):  # a write cut short by a full disk is retried, and fails
                done += os.pwrite(self._partial, view[done:], offset + done)

    def close(self) -> None:
        """Close the partial file, if it was opened."""
        if self._partial is not None:
            os.close(self._partial)
            self._partial = None


def _image_shapes(settings: Settings) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    shapes: dict[str, tuple[tuple[int, ...], np.dtype]] = {
        "raw": (raw_shape(settings.layout, settings.size, settings.size), np.dtype(np.uint16))
    }
    if settings.rgb:
        shapes["rgb"] = ((settings.size, settings.size, 3), np.dtype(np.uint8))
    return shapes


class _SlotFile:
    """A file of fixed-size slots mapped into memory by the main process and the workers.

    Workers put the chunks of a converted image into the slot the main process
    gave its task, and return only their positions: the bytes cross from worker to
    writer through shared pages instead of being pickled through a pipe. The file
    lives in ``/dev/shm`` where there is one and has no name: it is handed to the
    workers as an open descriptor when they are spawned (see :meth:`__reduce__`),
    so nothing is left behind however the build ends, a SIGKILL included.
    """

    def __init__(self, count: int, size: int):
        folder = (
            "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        )
        self._file = tempfile.TemporaryFile(prefix="rawspace-build-", suffix=".slots", dir=folder)
        try:
            os.ftruncate(self._file.fileno(), count * size)
            self.map = mmap.mmap(self._file.fileno(), count * size)
        except BaseException:
            self._file.close()
            raise
        self.count = count
        self.size = size

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled for a worker being spawned: a duplicate of the descriptor goes with it."""
        return _map_slots, (reduction.DupFd(self._file.fileno()), self.size)

    def close(self) -> None:
        self.map.close()
        self._file.close()


def _map_slots(handle: Any, size: int) -> tuple[mmap.mmap, int]:
    """In a worker: the slot file (received as a descriptor) mapped, and the slot size."""
    fd = handle.detach()
    try:
        return mmap.mmap(fd, 0), size
    finally:
        os.close(fd)


_WORKER: Converter | None = None
_WORKER_SLOTS: tuple[mmap.mmap, int] | None = None


def _init_worker(settings: Settings, slots: tuple[mmap.mmap, int]) -> None:
    global _WORKER, _WORKER_SLOTS
    _WORKER = Converter(settings)
    _WORKER.warm_up()
    _WORKER_SLOTS = slots


def _convert_in_worker(batch: list[Task], slot: int) -> list[Converted | Failed]:
    """Convert a batch of images in a worker; put their chunks into ``slot`` of the slot file."""
    assert _WORKER is not None and _WORKER_SLOTS is not None, "worker not initialised"
    shared, slot_size = _WORKER_SLOTS
    offset, end = slot * slot_size, (slot + 1) * slot_size
    results: list[Converted | Failed] = []
    for task in batch:
        result = _WORKER.convert(task)
        if isinstance(result, Converted):
            parked = []
            for chunk in result.chunks:
                if offset + chunk.size > end:
                    raise RuntimeError(f"a chunk of {chunk.size} bytes overflows its slot")
                assert chunk.data is not None, "a converted chunk holds its bytes"
                shared[offset : offset + chunk.size] = chunk.data
                parked.append(Chunk(chunk.mask, chunk.size, None, offset))
                offset += chunk.size
            result = dataclasses.replace(result, chunks=tuple(parked))
        results.append(result)
    return results


def _slot_size(settings: Settings) -> int:
    """Bytes that hold the stored chunks of a batch of images, whatever the compression.

    LZF stores a chunk uncompressed when it does not shrink; deflate may grow it up
    to zlib's ``compressBound(n) = n + n/4096 + n/16384 + n/2**25 + 13`` bytes.
    """
    if settings.compression == "none":
        return 1  # uncompressed chunks are written in place by the workers, not handed over
    total = 0
    for shape, dtype in _image_shapes(settings).values():
        n = int(np.prod(shape)) * dtype.itemsize
        total += n + n // 1000 + 64
    return _BATCH * total


#: Images per task sent to a worker (fewer, larger messages between processes).
_BATCH = 4
#: Tasks in flight per worker process (each holds one slot of the shared slot file).
_SLOTS_PER_JOB = 3


class Conversion:
    """The converters of a build, started before its tasks are known.

    ``jobs`` processes convert: the calling process and ``jobs - 1`` workers. With
    ``jobs > 1`` entering starts the workers, which import, set up and compile while
    the calling process prepares the cache; :meth:`results` then keeps them busy and
    converts images itself whenever the next result in order is not ready (so no
    core waits on the process that stores the results, and one worker fewer has to
    start). Use it as a context manager; leaving it ends the workers.
    """

    def __init__(self, settings: Settings, jobs: int):
        self.settings = settings
        self.jobs = jobs
        self._stack = ExitStack()
        self._pool: Any = None
        self._slots: _SlotFile | None = None

    def __enter__(self) -> Conversion:
        workers = self.jobs - 1
        if workers:
            try:
                self._slots = self._stack.enter_context(
                    closing(_SlotFile(_SLOTS_PER_JOB * workers, _slot_size(self.settings)))
                )
                self._pool = self._stack.enter_context(
                    worker_pool(workers, _init_worker, (self.settings, self._slots))
                )
            except BaseException:
                self._stack.close()
                raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def results(self, tasks: list[Task]) -> Generator[Converted | Failed, None, None]:
        """Convert ``tasks``; yield their results in order.

        A result's chunks are only valid until the next one is asked for.
        """
        with one_job_here(), closing(Converter(self.settings)) as converter:
            if self._pool is not None and self._slots is not None:
                yield from _shared_with_workers(converter, self._pool, self._slots, tasks)
            else:
                for task in tasks:
                    yield converter.convert(task)


def _shared_with_workers(
    converter: Converter, pool: Any, slots: _SlotFile, tasks: list[Task]
) -> Iterator[Converted | Failed]:
    """Convert ``tasks`` in batches, here and in the workers; yield the results in task order.

    A worker's batch leaves its chunks in its slot of the slot file (when
    compressed); they are yielded as views of it, valid until the next result.
    """
    batches = [tasks[i : i + _BATCH] for i in range(0, len(tasks), _BATCH)]
    for slot, results in shared_with_workers(
        batches,
        here=lambda batch: [converter.convert(task) for task in batch],
        there=lambda batch, slot: pool.apply_async(_convert_in_worker, (batch, slot)),
        slots=slots.count,
    ):
        for result in results:
            if slot is None or isinstance(result, Failed):
                yield result
                continue
            views = [memoryview(slots.map)[c.offset : c.offset + c.size] for c in result.chunks]
            chunks = tuple(
                Chunk(c.mask, c.size, view) for c, view in zip(result.chunks, views, strict=True)
            )
            try:
                yield dataclasses.replace(result, chunks=chunks)
            finally:
                for view in views:
                    view.release()
