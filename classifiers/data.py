"""Samples of an HDF5 cache as batches of stored tensors, on the training device.

The cache is read through :class:`rawspace.cache.CacheReader` (its labels, splits,
folds and raw format without the images; its images by rows). :func:`load` returns
either :class:`ResidentSamples` — every requested sample converted once
(:meth:`classifiers.spaces.Space.to_stored`) and kept on the device as uint8/int16, so
that a batch is one gather and loading never starves the model — or, when they do not
fit, :class:`StreamedSamples`, a ``DataLoader`` whose workers each open the cache
lazily. Both turn a sequence of batches, each an array of cache rows (see
:func:`batch_rows`), into (stored (B, C, h, w) uint8/int16, labels (B,) int64) on the
device; :class:`classifiers.spaces.InputPipeline` turns the first into the model input.

Rows are rows of the whole cache (``reader.rows`` of its views), in any order.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from rawspace.cache import CacheReader

from .spaces import RawFormat, Space

__all__ = [
    "ResidentSamples",
    "Samples",
    "StreamedSamples",
    "batch_rows",
    "fits_in_memory",
    "load",
    "stored_batch",
]

_MEMORY_SHARE = 0.5
_CHUNK = 256


def stored_batch(
    array: np.ndarray,
    space: Space,
    *,
    fmt: RawFormat,
    input_size: int | None,
    device: torch.device | None = None,
) -> torch.Tensor:
    """Rows of the cache dataset ``space.source`` → the space's stored tensor.

    ``array`` is what ``reader.read(space.source, rows)`` returns; it is moved to
    ``device`` (default: the CPU) before resizing, so a GPU resizes its own batches.

    Returns
    -------
    torch.Tensor
        (n, C, h, w) uint8 (RGB spaces) or int16 holding v − 32768 (raw spaces), as
        :meth:`classifiers.spaces.Space.to_stored`.

    Examples
    --------
    >>> from classifiers import spaces
    >>> fmt = spaces.RawFormat(layout="bayer", cfa="RGGB", black_level=64, white_level=1023)
    >>> raw = np.full((2, 8, 8), 64, np.uint16)
    >>> stored = stored_batch(raw, spaces.get("raw_packed"), fmt=fmt, input_size=None)
    >>> tuple(stored.shape), stored.dtype, int(stored[0, 0, 0, 0]) + 32768
    ((2, 4, 4, 4), torch.int16, 64)
    """
    tensor = space.from_cache(array)
    if device is not None:
        tensor = tensor.to(device)
    return space.to_stored(tensor, fmt=fmt, input_size=input_size)


def fits_in_memory(nbytes: int, device: torch.device) -> bool:
    """Whether ``nbytes`` of samples fit in half of the device's free memory.

    CUDA: ``torch.cuda.mem_get_info``; CPU: the available physical memory. The other
    half is headroom for the model, its activations and the optimiser.

    Examples
    --------
    >>> fits_in_memory(1024, torch.device("cpu")), fits_in_memory(1 << 60, torch.device("cpu"))
    (True, False)
    """
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
    else:
        free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return nbytes <= _MEMORY_SHARE * free


class ResidentSamples:
    """Samples converted once and kept on ``device`` as one stored tensor.

    Parameters
    ----------
    reader : rawspace.cache.CacheReader
        The whole cache.
    space : Space
    rows : numpy.ndarray
        Cache rows to load (any order, no duplicates).
    device : torch.device
    input_size : int or None
        See :meth:`classifiers.spaces.Space.to_stored`.
    read : callable, optional
        ``read(rows) -> array``: the cache rows of the space's source dataset; default
        ``reader.read(space.source, rows)``. Lets a caller substitute other raw data
        (for instance the test images unprocessed with an unseen camera).

    Examples
    --------
    See :func:`load`.
    """

    resident = True
    #: Data-loading worker processes (none: the samples are on the device).
    workers = 0

    def __init__(
        self,
        reader: CacheReader,
        space: Space,
        *,
        rows: np.ndarray,
        device: torch.device,
        input_size: int | None,
        read: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        wanted = np.unique(np.asarray(rows, dtype=np.int64))
        self._position = np.full(len(reader), -1, dtype=np.int64)
        self._position[wanted] = np.arange(wanted.size)
        self.device = device
        self.labels = torch.as_tensor(reader.labels, device=device)
        fmt = RawFormat.of(reader)
        parts = []
        for start in range(0, wanted.size, _CHUNK):
            chunk_rows = wanted[start : start + _CHUNK]
            array = reader.read(space.source, chunk_rows) if read is None else read(chunk_rows)
            parts.append(stored_batch(array, space, fmt=fmt, input_size=input_size, device=device))
        shape = space.stored_shape(height=reader.size, width=reader.size, input_size=input_size)
        empty = torch.empty((0, *shape), dtype=space.stored_dtype, device=device)
        self.stored = torch.cat(parts) if parts else empty

    @property
    def nbytes(self) -> int:
        """Bytes held on the device."""
        return self.stored.numel() * self.stored.element_size()

    def batches(self, batches: Sequence[np.ndarray]) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield (stored (B, C, h, w), labels (B,) int64) on the device for each array of
        cache rows in ``batches`` (e.g. from :func:`batch_rows`)."""
        for rows in batches:
            rows = np.array(rows, dtype=np.int64)  # writable: torch refuses read-only arrays
            positions = self._position[rows]
            if (positions < 0).any():
                raise ValueError("batches() asked for samples that were not loaded")
            selected = torch.as_tensor(positions, device=self.device)
            yield (
                self.stored.index_select(0, selected),
                self.labels[torch.as_tensor(rows, device=self.device)],
            )


class _CacheRows(Dataset):
    """One stored tensor per cache row; the reader opens the file lazily in each process."""

    def __init__(self, reader: CacheReader, space: Space, input_size: int | None) -> None:
        self.reader, self.space, self.input_size = reader, space, input_size
        self.fmt = RawFormat.of(reader)
        self.labels = reader.labels

    def __len__(self) -> int:
        return len(self.reader)

    def __getitem__(self, row: int) -> tuple[torch.Tensor, int]:
        array = self.reader.read(self.space.source, np.array([row], dtype=np.int64))
        stored = stored_batch(array, self.space, fmt=self.fmt, input_size=self.input_size)
        return stored[0], int(self.labels[row])


class StreamedSamples:
    """Samples read from the cache per batch by a ``DataLoader`` (``workers`` processes,
    each with its own lazily opened file handle) and moved to ``device``.

    Examples
    --------
    See :func:`load`.
    """

    resident = False

    def __init__(
        self,
        reader: CacheReader,
        space: Space,
        *,
        device: torch.device,
        input_size: int | None,
        workers: int,
    ) -> None:
        self.device = device
        self.workers = workers
        self._rows = _CacheRows(reader, space, input_size)

    def batches(self, batches: Sequence[np.ndarray]) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """As :meth:`ResidentSamples.batches`; the workers read ahead."""
        loader = DataLoader(
            self._rows,
            batch_sampler=[np.asarray(rows, dtype=np.int64).tolist() for rows in batches],
            num_workers=self.workers,
            pin_memory=self.device.type == "cuda",
            worker_init_fn=_single_threaded,
        )
        for stored, labels in loader:
            yield (
                stored.to(self.device, non_blocking=True),
                labels.to(self.device, non_blocking=True),
            )


#: Either kind of samples: both turn batches of cache rows into device tensors.
Samples = ResidentSamples | StreamedSamples


def _single_threaded(worker: int) -> None:
    """A DataLoader worker runs one torch thread (torch's default) and one Numba thread,
    so that workers and the training process do not compete for the CPUs."""
    numba = sys.modules.get("numba")
    if numba is not None:
        numba.set_num_threads(1)


def load(
    reader: CacheReader,
    space: Space,
    *,
    rows: np.ndarray,
    device: torch.device,
    input_size: int | None,
    resident: bool | None = None,
    workers: int = 4,
) -> ResidentSamples | StreamedSamples:
    """The samples at ``rows`` of the cache in ``space``, resident when they fit.

    Parameters
    ----------
    reader : rawspace.cache.CacheReader
        The whole cache (not a view).
    resident : bool, optional
        Force one kind; by default resident when :func:`fits_in_memory` says so.
    workers : int
        ``DataLoader`` worker processes for :class:`StreamedSamples`.

    Examples
    --------
    >>> import tempfile, pathlib, rawspace.cache
    >>> from rawspace.images import write_png
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for k in range(2):
    ...     (root / "cells" / f"c{k}").mkdir(parents=True)
    ...     for i in range(6):
    ...         _ = write_png(root / "cells" / f"c{k}" / f"{i}.png",
    ...                       np.full((16, 16, 3), 60 + 90 * k + i, np.uint8))
    >>> _ = rawspace.cache.build(root / "cells", root / "c.h5", size=16, folds=2,
    ...                          test_fraction=0.25)
    >>> reader = rawspace.cache.open(root / "c.h5")
    >>> from classifiers import spaces
    >>> cpu = torch.device("cpu")
    >>> samples = load(reader, spaces.get("raw_bayer"), rows=reader.rows, device=cpu,
    ...                input_size=None)
    >>> (stored, labels), = samples.batches([reader.test.rows])
    >>> samples.resident, tuple(stored.shape), stored.dtype, labels.tolist()
    (True, (4, 1, 16, 16), torch.int16, [0, 0, 1, 1])
    >>> streamed = load(reader, spaces.get("raw_bayer"), rows=reader.rows, device=cpu,
    ...                 input_size=None, resident=False, workers=0)
    >>> torch.equal(next(streamed.batches([reader.test.rows]))[0], stored)
    True
    """
    space.check_available(layout=reader.layout, has_rgb=reader.has_rgb)
    if resident is None:
        shape = space.stored_shape(height=reader.size, width=reader.size, input_size=input_size)
        itemsize = torch.empty((), dtype=space.stored_dtype).element_size()
        nbytes = len(np.unique(rows)) * int(np.prod(shape)) * itemsize
        resident = fits_in_memory(nbytes, device)
    if resident:
        return ResidentSamples(reader, space, rows=rows, device=device, input_size=input_size)
    return StreamedSamples(reader, space, device=device, input_size=input_size, workers=workers)


def batch_rows(
    rows: np.ndarray,
    *,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    drop_last: bool = False,
) -> list[np.ndarray]:
    """Cut ``rows`` into batches of ``batch_size`` (the last may be shorter).

    ``shuffle`` permutes ``rows`` first with ``numpy.random.default_rng(seed)``;
    ``drop_last`` drops a last incomplete batch (unless it is the only one).

    Examples
    --------
    >>> [b.tolist() for b in batch_rows(np.arange(5), batch_size=2)]
    [[0, 1], [2, 3], [4]]
    >>> [b.tolist() for b in batch_rows(np.arange(5), batch_size=2, drop_last=True)]
    [[0, 1], [2, 3]]
    >>> sorted(np.concatenate(batch_rows(np.arange(5), batch_size=2, shuffle=True)).tolist())
    [0, 1, 2, 3, 4]
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    order = np.array(rows, dtype=np.int64)  # a writable copy: torch refuses read-only arrays
    if shuffle:
        order = np.random.default_rng(seed).permutation(order)
    stop = len(order) - len(order) % batch_size if drop_last else len(order)
    if stop == 0:
        stop = len(order)
    return [order[start : start + batch_size] for start in range(0, stop, batch_size)]
