"""Writing a cache file: its datasets, final attributes, failures, and checkpointed rows.

Shared by :func:`rawspace.cache.build`, which fills a partial file row by row
through :class:`CacheWriter` (recording its progress every
:data:`CHECKPOINT_EVERY` images so that an interrupted build can resume), and
:func:`rawspace.cache.merge`, which creates the datasets and the final
attributes of the merged cache.

A write that fails (a full disk, a file-size limit) stops the build with a
:class:`rawspace.files.WriteError`, and the partial file keeps its last
checkpoint: HDF5 writes it through :class:`_PartialFile`, which drops every
write after the failed one (so closing the file changes nothing on disk), and
space for a checkpoint is allocated before the checkpoint starts (so a full disk
stops a build between checkpoints, not halfway through one).
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..files import allocate, write_error, write_text
from ..hints import Compression, Layout
from ..params import CameraParams
from ..rawimage import raw_shape
from .format import (
    DESCRIPTIONS,
    FAILURES_DTYPE,
    FAILURES_SUFFIX,
    FORMAT_VERSION,
    IMAGES,
    PROGRESS_ATTRS,
    SMALL,
    SMALL_DTYPES,
    STR,
    CacheError,
    Failure,
    canonical_json,
    failures_table,
    read_failures,
    storage_options,
    stored,
)
from .workers import Chunk

__all__ = [
    "CHECKPOINT_EVERY",
    "RESERVE_BYTES",
    "CacheWriter",
    "create_datasets",
    "describe",
    "final_attrs",
    "write_failures_csv",
]

#: A build records its progress every this many images.
CHECKPOINT_EVERY = 256
#: Bytes allocated ahead of the data before each checkpoint: more than a checkpoint
#: and the final attributes write (at most two chunks of each small dataset, about
#: 1.2 MB, and their metadata).
RESERVE_BYTES = 8 << 20
#: Errors of a file system that is full (or a file that reached its size limit).
_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


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


def final_attrs(
    config: dict[str, Any], class_names: Sequence[str], params: np.ndarray, n_failed: int
) -> dict[str, Any]:
    """The attributes of a complete cache (or shard), from its configuration and contents."""
    cameras = config["cameras"]
    reference = _reference_camera(cameras)
    attrs = {
        "class_names": stored(list(class_names)),
        "layout": config["layout"],
        "size": config["size"],
        "cfa": reference.cfa,
        "black_level": reference.black_level,
        "white_level": reference.white_level,
        "tone": reference.tone,
        "gamma": reference.gamma,
        "highlight_blend": reference.highlight_blend,
        "seed": cameras["seed"],
        "camera_policy": cameras["policy"],
        "noise": cameras["noise"] or "none",
        "noise_per": cameras["noise_per"],
        "n_cameras": _count_cameras(params),
        "source": stored(config["source"]),
        "source_format": config["source_format"],
        "compression": config["compression"],
        "n_listed": config["listing"]["n_items"],
        "n_failed": n_failed,
        "n_dropped": config["listing"]["n_dropped"],
        "config": stored(canonical_json(config)),
        "rawspace_version": config["rawspace_version"],
        "format_version": FORMAT_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if config["shard"] is not None:
        attrs["shard"] = "{}/{}".format(*config["shard"])
    return attrs


def write_failures_csv(cache: Path, failures: Sequence[tuple[str, str, str]]) -> Path:
    """Write (or, without failures, remove a stale) ``CACHE.h5.failures.csv``; return its path."""
    path = cache.with_name(cache.name + FAILURES_SUFFIX)
    if not failures:
        path.unlink(missing_ok=True)
        return path
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["path", "label", "reason"])
    writer.writerows(failures)
    write_text(path, buffer.getvalue())
    return path


def create_datasets(
    f: h5py.File,
    n: int,
    *,
    layout: Layout,
    size: int,
    compression: Compression,
    rgb: bool,
    groups: bool,
    cameras: bool = True,
    images: bool = True,
    in_place: bool = False,
) -> None:
    """Create the per-sample datasets of a cache with room for ``n`` samples.

    ``groups=False`` leaves out ``group``, ``cameras=False`` the camera names
    (``camera``, for a merge of shards written before it existed), ``images=False``
    ``raw`` and ``rgb`` (a merge makes them virtual).
    ``in_place=True`` (uncompressed images only) allocates every image chunk now,
    without writing it, so that each has a fixed place in the file where a worker
    process can write it (see :meth:`CacheWriter.chunk_offsets`).
    """
    if in_place and compression != "none":
        raise CacheError(f"compressed chunks have no fixed place, got {compression!r}")
    image_shapes: dict[str, tuple[tuple[int, ...], np.dtype]] = {
        "raw": (raw_shape(layout, size, size), np.dtype(np.uint16))
    }
    if rgb:
        image_shapes["rgb"] = ((size, size, 3), np.dtype(np.uint8))
    for name, (shape, dtype) in image_shapes.items() if images else ():
        placement: dict[str, Any] = {}
        if in_place and n:
            dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
            dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
            placement = {"dcpl": dcpl, "fill_time": "never"}
        f.create_dataset(
            name, shape=(n, *shape), maxshape=(None, *shape), dtype=dtype, chunks=(1, *shape),
            **storage_options(compression, dtype), **placement,
        )  # fmt: skip
    chunk = (min(max(n, 1), 4096),)
    for name in SMALL:
        if (name == "group" and not groups) or (name == "camera" and not cameras):
            continue
        f.create_dataset(name, shape=(n,), maxshape=(None,), dtype=SMALL_DTYPES[name], chunks=chunk)
    f.create_dataset("failures", shape=(0,), maxshape=(None,), dtype=FAILURES_DTYPE, chunks=(256,))
    describe(f)


def describe(f: h5py.File) -> None:
    """Give each dataset of ``f`` its ``description`` attribute (what its values mean)."""
    for name, description in DESCRIPTIONS.items():
        if name in f:
            f[name].attrs["description"] = description


class _PartialFile(io.FileIO):
    """The partial file of a build, as HDF5 writes it (h5py's file-object driver).

    After the first write that fails, every later write and truncation is dropped
    (reported as done): closing the HDF5 file after a failure then changes nothing
    on disk, and the file keeps the state of its last checkpoint.
    """

    def __init__(self, path: Path, mode: str):
        super().__init__(path, mode)
        self.failure: OSError | None = None
        self._end = os.fstat(self.fileno()).st_size

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        if self.failure is None:
            position = self.tell()
            try:
                done = 0
                while done < len(view):  # a write cut short by a full disk is retried, and fails
                    done += super().write(view[done:])
            except OSError as exc:
                self.failure = exc
                raise
            self._end = max(self._end, position + done)
        return len(view)

    def truncate(self, size: int | None = None) -> int:
        if self.failure is not None:
            return self.tell() if size is None else size
        try:
            return super().truncate(size)
        except OSError as exc:
            self.failure = exc
            raise

    def reserve(self, nbytes: int, end: int = 0) -> None:
        """Allocate ``nbytes`` after the data written so far, or after ``end`` (HDF5's end
        of file) when that lies beyond (where the file system can)."""
        self.allocate(max(self._end, end), nbytes)

    def allocate(self, offset: int, nbytes: int) -> None:
        """Allocate ``nbytes`` from ``offset`` on (see :func:`rawspace.files.allocate`);
        a full disk is a failed write."""
        if self.failure is not None:
            return
        try:
            allocate(self.fileno(), offset, nbytes)
        except OSError as exc:
            if exc.errno in _FULL:
                self.failure = exc
                raise
            # the file system cannot allocate ahead: write without it


class CacheWriter:
    """Writes samples into a partial cache file at consecutive rows, with checkpoints.

    Parameters
    ----------
    partial : pathlib.Path
        The partial file: created, or opened to resume it.
    config : dict
        The build configuration; a resumed file must have been started with it.
    n_rows : int
        Room for this many samples (and the number of images the build processes).
    resume : bool
        Continue ``partial`` when it exists.
    groups : bool
        Whether the samples have groups.
    failures : sequence of (str, str, str)
        ``(path, label, reason)`` of failures found before any image is converted
        (folders that cannot be listed); recorded when the file is created.

    Raises
    ------
    CacheError
        ``partial`` cannot be resumed.
    rawspace.files.WriteError
        A write failed (any method). The file keeps its last checkpoint.
    """

    def __init__(
        self,
        partial: Path,
        *,
        config: dict[str, Any],
        n_rows: int,
        resume: bool,
        groups: bool,
        failures: Sequence[tuple[str, str, str]] = (),
    ):
        self.partial = partial
        config_json = canonical_json(config)
        resuming = resume and partial.exists()
        try:
            self._io = _PartialFile(partial, "r+" if resuming else "x+")
        except OSError as exc:
            raise write_error(partial, exc) from None
        self._failures: list[Failure] = []
        self._h5: h5py.File | None = None
        try:
            if resuming:
                self._h5 = self._open_to_resume(config, config_json)
            else:
                with self._writing():
                    self._h5 = h5py.File(self._io, "w")
                    self.file.attrs["config"] = stored(config_json)
                    create_datasets(
                        self.file, n_rows, layout=config["layout"], size=config["size"],
                        compression=config["compression"], rgb=config["rgb"], groups=groups,
                        in_place=config["compression"] == "none",
                    )  # fmt: skip
                self.n_processed = self.n_written = 0
                self._failures = [(-1, *failure, "") for failure in failures]
            self._images = [self.file[name].id for name in IMAGES if name in self.file]
            #: Images are written in place, at the row of their position in the build,
            #: by whoever converts them (see :meth:`chunk_offsets`), and compacted at the end.
            self.in_place = config["compression"] == "none"
            self._pending: dict[str, list[Any]] = {n: [] for n in SMALL if n in self.file}
            self._committed = self.n_written
            if not resuming:
                self.checkpoint()
        except BaseException:
            try:
                self.close()
            finally:
                if not resuming:
                    partial.unlink(missing_ok=True)  # nothing to resume in it
            raise

    @property
    def file(self) -> h5py.File:
        """The partial file, open."""
        if self._h5 is None:
            raise CacheError(f"{self.partial} is not open")
        return self._h5

    def _open_to_resume(self, config: dict[str, Any], config_json: str) -> h5py.File:
        try:
            f = h5py.File(self._io, "r+")
        except OSError as exc:
            raise CacheError(
                f"{self.partial} cannot be opened to resume it ({exc}); use overwrite to "
                "start again"
            ) from None
        recorded = f.attrs.get("config")
        if recorded != config_json:
            f.close()
            raise CacheError(_config_mismatch(self.partial, recorded, config))
        if "source_digest" not in f or "n_processed" not in f.attrs:
            f.close()
            raise CacheError(
                f"{self.partial} was written by an older rawspace (no source digests); "
                "use overwrite to start again"
            )
        self.n_processed = int(f.attrs["n_processed"])
        self.n_written = int(f.attrs["n_written"])
        return f

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Raise a failed write of the partial file as a WriteError naming it."""
        try:
            yield
        except Exception:
            if self._io.failure is None:
                raise
            raise write_error(self.partial, self._io.failure) from None

    def processed_digests(self) -> dict[int, str]:
        """The source digest of each image processed so far, converted or failed, by its
        source index (after a checkpoint)."""
        rows = self.file["source_index"][: self.n_written].tolist()
        digests = self.file["source_digest"].asstr(errors="surrogateescape")[: self.n_written]
        processed = dict(zip(rows, digests.tolist(), strict=True))
        for index, _, _, _, digest in read_failures(self.file):
            if index >= 0:
                processed[index] = digest
        return processed

    def rewind(self, n_processed: int) -> None:
        """Forget every image processed after the first ``n_processed`` ones (rows and
        failures alike), so that the build converts them again; then checkpoint."""
        if self._failures or self._committed != self.n_written:
            raise CacheError(f"{self.partial}: rewind needs a checkpoint first")
        kept = self.file["source_index"][: self.n_written]
        table = self.file["failures"]
        failures = table[:]
        processed = np.concatenate([kept, failures["source_index"][failures["source_index"] >= 0]])
        cut = np.sort(processed)[n_processed] if n_processed < len(processed) else None
        if cut is None:
            return
        with self._writing():
            keep = failures["source_index"] < cut  # folders (-1) are kept too
            table.resize((int(keep.sum()),))
            table[:] = failures[keep]
            self.n_written = int(np.sum(kept < cut))
            self.n_processed = n_processed
            self._committed = self.n_written
            self.file.attrs["n_processed"] = self.n_processed
            self.file.attrs["n_written"] = self.n_written
            self.file.flush()

    def write_failed(self, exc: OSError) -> None:
        """Record that a write to the partial file outside HDF5 failed (an image written
        in place): every later write is dropped, so the file keeps its last checkpoint."""
        if self._io.failure is None:
            self._io.failure = exc

    def chunk_offsets(self, positions: Sequence[int]) -> list[tuple[int, ...]]:
        """Byte offsets in the partial file of the image chunks (raw, then rgb) of the
        images at ``positions`` of the build, for writing them in place."""
        if not self.in_place:
            raise CacheError(f"{self.partial}: compressed chunks have no fixed place")
        rows = np.asarray(positions, dtype=np.int64)
        per_dataset = []
        for dataset in self._images:  # one pass over the chunk index, not a lookup per row
            offsets = np.full(dataset.shape[0], -1, dtype=np.int64)

            def place(info: Any, offsets: np.ndarray = offsets) -> None:
                offsets[info.chunk_offset[0]] = info.byte_offset

            dataset.chunk_iter(place)
            if np.any(offsets[rows] < 0):
                raise CacheError(f"{self.partial}: image chunks are not allocated")
            per_dataset.append(offsets[rows].tolist())
        return list(zip(*per_dataset, strict=True))

    def allocate_chunks(self, offsets: Sequence[tuple[int, ...]]) -> None:
        """Allocate the disk space of the image chunks at ``offsets`` (from
        :meth:`chunk_offsets`) now, where the file system can: a full disk then stops
        the build before their images are converted, and writing them in place costs
        less (see :func:`rawspace.files.allocate`).

        Raises
        ------
        WriteError
            The disk cannot hold them; the partial file keeps its last checkpoint.
        """
        sizes = [int(np.prod(d.shape[1:])) * d.dtype.itemsize for d in self._images]
        places = sorted(
            (offset, size) for row in offsets for offset, size in zip(row, sizes, strict=True)
        )
        spans: list[list[int]] = []  # [start, end) of adjacent chunks
        for offset, size in places:
            if spans and offset <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], offset + size)
            else:
                spans.append([offset, offset + size])
        try:
            for start, end in spans:
                self._io.allocate(start, end - start)
        except OSError as exc:
            raise write_error(self.partial, exc) from None

    def add(self, row: dict[str, Any], chunks: Sequence[Chunk]) -> None:
        """Store one sample: its image chunks (raw, then rgb; none when they were written
        in place) and its small values (``row`` also holds its ``source_digest`` and
        ``digest``)."""
        with self._writing():
            for dataset, chunk in zip(self._images, chunks, strict=True) if chunks else ():
                offset = (self.n_written,) + (0,) * (len(dataset.shape) - 1)
                dataset.write_direct_chunk(offset, chunk.data, filter_mask=chunk.mask)
        for name, values in self._pending.items():
            values.append(row[name])
        self.n_written += 1
        self._processed()

    def fail(
        self, source_index: int, path: str, label: str, reason: str, source_digest: str = ""
    ) -> None:
        """Record an image that could not be converted (``source_digest`` of its file)."""
        self._failures.append((source_index, path, label, reason, source_digest))
        self._processed()

    def _processed(self) -> None:
        self.n_processed += 1
        if self.n_processed % CHECKPOINT_EVERY == 0:
            self.checkpoint()

    def checkpoint(self) -> None:
        """Write the pending small values and failures, then record the progress."""
        with self._writing():
            self._io.reserve(RESERVE_BYTES, self.file.id.get_filesize())
            start, stop = self._committed, self.n_written
            if stop > start:
                for name, values in self._pending.items():
                    dataset = self.file[name]
                    if name == "params":
                        dataset[start:stop] = np.stack(values)
                    elif dataset.dtype == STR:
                        dataset[start:stop] = stored(values)
                    else:
                        dataset[start:stop] = np.array(values, dtype=dataset.dtype)
            if self._failures:
                table = self.file["failures"]
                old = len(table)
                table.resize((old + len(self._failures),))
                table[old:] = failures_table(self._failures)
            self.file.attrs["n_processed"] = self.n_processed
            self.file.attrs["n_written"] = self.n_written
            self.file.flush()
        for values in self._pending.values():
            values.clear()
        self._failures.clear()
        self._committed = stop

    def failures(self) -> list[tuple[str, str, str]]:
        """``(path, label, reason)`` of every failure recorded so far (after a checkpoint)."""
        return [(path, label, reason) for _, path, label, reason, _ in read_failures(self.file)]

    def finish(self, attrs: dict[str, Any], positions: np.ndarray) -> None:
        """Close the gaps that failed images left (images written in place at
        ``positions``, the position in the build of each written sample), trim the
        datasets to the samples written and write the final attributes."""
        self.checkpoint()
        with self._writing():
            if self.in_place:
                self._compact(positions)
            for name in (*IMAGES, *SMALL):
                if name in self.file:
                    dataset = self.file[name]
                    dataset.resize((self.n_written, *dataset.shape[1:]))
            for name in PROGRESS_ATTRS:
                del self.file.attrs[name]
            self.file.attrs.update(attrs)

    def _compact(self, positions: np.ndarray) -> None:
        """Move the image chunks at ``positions`` to rows 0, 1, ... (where they differ)."""
        moves = [(row, int(p)) for row, p in enumerate(positions.tolist()) if p != row]
        if not moves:
            return
        # Should a move fail, the file is left at a checkpoint before the first gap, from
        # which a resumed build converts the rest again.
        failures = self.file["failures"][:]
        n_processed, n_written = self.n_processed, self.n_written
        self.rewind(moves[0][0])
        fd = self._io.fileno()
        sources = self.chunk_offsets([p for _, p in moves])
        targets = self.chunk_offsets([row for row, _ in moves])
        sizes = [dataset.get_chunk_info(0).size for dataset in self._images]
        try:
            for source, target in zip(sources, targets, strict=True):
                for start, end, size in zip(source, target, sizes, strict=True):
                    data = os.pread(fd, size, start)
                    if os.pwrite(fd, data, end) != size:
                        raise OSError(errno.EIO, "short write")
        except OSError as exc:
            self._io.failure = exc
            raise
        table = self.file["failures"]
        table.resize((len(failures),))
        table[:] = failures
        self.n_processed = n_processed
        self.n_written = self._committed = n_written

    def params(self) -> np.ndarray:
        return self.file["params"][: self.n_written]

    def close(self) -> None:
        """Close the file; after a failed write, without writing anything more."""
        try:
            with self._writing():
                # the dataset handles go first: the file closes (and flushes) with the last
                # handle, here, where a failed write is caught, not later when one is freed
                self._images = []
                if self._h5 is not None and self._h5.id.valid:
                    self._h5.close()
                self._h5 = None
        finally:
            self._io.close()
        if self._io.failure is not None:  # also when HDF5 wrote while freeing a handle
            raise write_error(self.partial, self._io.failure)


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
