"""Samples of an HDF5 cache as batches of stored tensors, on the training device.

:func:`read_info` reads a cache's metadata (labels, splits, folds, raw format) without
its images. :func:`load` returns either :class:`ResidentSamples` — every requested
sample converted once (:func:`classifiers.spaces.to_stored`) and kept on the device as
uint8/int16, so that a batch is one gather and loading never starves the model — or,
when they do not fit, :class:`StreamedSamples`, a ``DataLoader`` whose workers each open
the HDF5 file lazily. Both yield (stored (B, C, h, w) uint8/int16, labels (B,) int64)
on the device; :class:`classifiers.spaces.InputPipeline` turns the first into the model
input.

Cache layout read here: datasets ``raw``, ``label``, ``split`` (0 train, 1 test),
``fold`` (−1 for test, 0..k−1 for train) and optionally ``rgb``; attributes
``class_names``, ``layout``, ``cfa``, ``black_level``, ``white_level``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from . import spaces

__all__ = [
    "CacheInfo",
    "ResidentSamples",
    "StreamedSamples",
    "fits_in_memory",
    "load",
    "read_info",
]

_REQUIRED_DATASETS = ("raw", "label", "split", "fold")
_REQUIRED_ATTRS = ("class_names", "layout", "cfa", "black_level", "white_level")
_MEMORY_SHARE = 0.5
_CHUNK = 256


@dataclass(frozen=True)
class CacheInfo:
    """Metadata of an HDF5 cache.

    Attributes
    ----------
    path : Path
    class_names : tuple of str
    fmt : spaces.RawFormat
    height, width : int
        Image size (of the ``rgb`` images and of the full-resolution raw mosaic).
    has_rgb : bool
        Whether the cache holds the ``rgb`` dataset.
    labels : ndarray
        (N,) int64 class indices.
    split : ndarray
        (N,) int8, 0 train and 1 test.
    fold : ndarray
        (N,) int8, −1 for test samples and 0..k−1 for training samples.
    """

    path: Path
    class_names: tuple[str, ...]
    fmt: spaces.RawFormat
    height: int
    width: int
    has_rgb: bool
    labels: np.ndarray
    split: np.ndarray
    fold: np.ndarray

    @property
    def train_indices(self) -> np.ndarray:
        """Indices (int64, ascending) of the training split."""
        return np.flatnonzero(self.split == 0)

    @property
    def test_indices(self) -> np.ndarray:
        """Indices (int64, ascending) of the test split."""
        return np.flatnonzero(self.split == 1)

    @property
    def n_folds(self) -> int:
        """Number of folds of the training split (0 when the cache has none)."""
        folds = self.fold[self.split == 0]
        return int(folds.max()) + 1 if folds.size and folds.max() >= 0 else 0


def read_info(path: str | os.PathLike[str]) -> CacheInfo:
    """Read a cache's metadata.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        Not an HDF5 file, or a dataset or attribute of the layout is missing or invalid.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"cache file not found: {path}")
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"cannot open {path} as an HDF5 cache: {error}") from error
    with handle:
        missing = [k for k in _REQUIRED_DATASETS if k not in handle]
        missing += [f"attribute {k}" for k in _REQUIRED_ATTRS if k not in handle.attrs]
        if missing:
            raise ValueError(f"{path} is not a rawspace cache: missing {', '.join(missing)}")
        attrs = handle.attrs
        fmt = spaces.RawFormat(
            layout=_text(attrs["layout"]),
            cfa=_text(attrs["cfa"]),
            black_level=_level(attrs["black_level"], "black_level", path),
            white_level=_level(attrs["white_level"], "white_level", path),
        )
        class_names = tuple(_text(c) for c in np.atleast_1d(attrs["class_names"]))
        raw_shape = handle["raw"].shape
        height, width = {
            "bayer": lambda s: (s[1], s[2]),
            "packed": lambda s: (2 * s[1], 2 * s[2]),
            "linear": lambda s: (s[1], s[2]),
        }[fmt.layout](raw_shape)
        info = CacheInfo(
            path=path,
            class_names=class_names,
            fmt=fmt,
            height=int(height),
            width=int(width),
            has_rgb="rgb" in handle,
            labels=handle["label"][()].astype(np.int64),
            split=handle["split"][()].astype(np.int8),
            fold=handle["fold"][()].astype(np.int8),
        )
    n = raw_shape[0]
    if not (info.labels.shape == info.split.shape == info.fold.shape == (n,)):
        raise ValueError(f"{path}: label, split and fold must each have one entry per image")
    if n and (info.labels.min() < 0 or info.labels.max() >= len(class_names)):
        raise ValueError(f"{path}: labels must lie in 0..{len(class_names) - 1}")
    return info


def fits_in_memory(nbytes: int, device: torch.device) -> bool:
    """Whether ``nbytes`` of samples fit in half of the device's free memory.

    CUDA: ``torch.cuda.mem_get_info``; CPU: the available physical memory. The other
    half is headroom for the model, its activations and the optimiser.
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
    info : CacheInfo
    space : str
    indices : ndarray
        Cache indices to load (any order, no duplicates).
    device : torch.device
    input_size : int or None
        See :func:`classifiers.spaces.to_stored`.
    """

    resident = True

    def __init__(
        self,
        info: CacheInfo,
        space: str,
        *,
        indices: np.ndarray,
        device: torch.device,
        input_size: int | None,
    ) -> None:
        wanted = np.unique(np.asarray(indices, dtype=np.int64))
        self._row = np.full(len(info.labels), -1, dtype=np.int64)
        self._row[wanted] = np.arange(wanted.size)
        self.device = device
        self.labels = torch.as_tensor(info.labels, device=device)
        source = spaces.get(space).source
        parts = []
        with h5py.File(info.path, "r") as handle:
            dataset = handle[source]
            for start in range(0, wanted.size, _CHUNK):
                rows = wanted[start : start + _CHUNK]
                span = rows[-1] + 1 - rows[0]
                if span <= 2 * rows.size:
                    array = dataset[rows[0] : rows[-1] + 1][rows - rows[0]]
                else:
                    array = dataset[rows]
                chunk = spaces.from_cache(space, array).to(device)
                parts.append(spaces.to_stored(space, chunk, fmt=info.fmt, input_size=input_size))
        shape = spaces.stored_shape(
            space, height=info.height, width=info.width, input_size=input_size
        )
        empty = torch.empty((0, *shape), dtype=_stored_dtype(space), device=device)
        self.stored = torch.cat(parts) if parts else empty

    @property
    def nbytes(self) -> int:
        """Bytes held on the device."""
        return self.stored.numel() * self.stored.element_size()

    def batches(
        self,
        indices: np.ndarray,
        *,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield (stored (B, C, h, w), labels (B,) int64) on the device.

        ``shuffle`` permutes ``indices`` with ``numpy.random.default_rng(seed)``;
        ``drop_last`` drops a last incomplete batch.
        """
        order = _order(indices, shuffle=shuffle, seed=seed)
        rows = self._row[order]
        if (rows < 0).any():
            raise ValueError("batches() asked for samples that were not loaded")
        rows_t = torch.as_tensor(rows, device=self.device)
        labels = self.labels[torch.as_tensor(order, device=self.device)]
        for start in _starts(len(order), batch_size, drop_last):
            sel = rows_t[start : start + batch_size]
            yield self.stored.index_select(0, sel), labels[start : start + batch_size]


class _CacheRows(Dataset):
    """One stored tensor per cache index; opens the HDF5 file lazily in each process."""

    def __init__(self, info: CacheInfo, space: str, input_size: int | None) -> None:
        self.info, self.space, self.input_size = info, space, input_size
        self._handle: h5py.File | None = None
        self._pid: int | None = None

    def __len__(self) -> int:
        return len(self.info.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        if self._handle is None or self._pid != os.getpid():
            self._handle = h5py.File(self.info.path, "r")
            self._pid = os.getpid()
        array = self._handle[spaces.get(self.space).source][index]
        row = spaces.from_cache(self.space, array[None])
        stored = spaces.to_stored(self.space, row, fmt=self.info.fmt, input_size=self.input_size)
        return stored[0], int(self.info.labels[index])

    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "_handle": None, "_pid": None}


class StreamedSamples:
    """Samples read from the HDF5 file per batch by a ``DataLoader`` (``workers`` processes,
    each with its own lazily opened file handle) and moved to ``device``."""

    resident = False

    def __init__(
        self,
        info: CacheInfo,
        space: str,
        *,
        device: torch.device,
        input_size: int | None,
        workers: int,
    ) -> None:
        self.device = device
        self.workers = workers
        self._rows = _CacheRows(info, space, input_size)

    def batches(
        self,
        indices: np.ndarray,
        *,
        batch_size: int,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """As :meth:`ResidentSamples.batches`."""
        loader = DataLoader(
            self._rows,
            batch_size=batch_size,
            sampler=_order(indices, shuffle=shuffle, seed=seed).tolist(),
            num_workers=self.workers,
            pin_memory=self.device.type == "cuda",
            drop_last=drop_last,
        )
        for stored, labels in loader:
            yield (
                stored.to(self.device, non_blocking=True),
                labels.to(self.device, non_blocking=True),
            )


def load(
    info: CacheInfo,
    space: str,
    *,
    indices: np.ndarray,
    device: torch.device,
    input_size: int | None,
    resident: bool | None = None,
    workers: int = 4,
) -> ResidentSamples | StreamedSamples:
    """The samples ``indices`` of ``info`` in ``space``, resident when they fit.

    Parameters
    ----------
    resident : bool, optional
        Force one kind; by default resident when :func:`fits_in_memory` says so.
    workers : int
        ``DataLoader`` worker processes for :class:`StreamedSamples`.
    """
    spaces.check_available(space, layout=info.fmt.layout, has_rgb=info.has_rgb)
    if resident is None:
        shape = spaces.stored_shape(
            space, height=info.height, width=info.width, input_size=input_size
        )
        itemsize = torch.empty((), dtype=_stored_dtype(space)).element_size()
        nbytes = len(np.unique(indices)) * int(np.prod(shape)) * itemsize
        resident = fits_in_memory(nbytes, device)
    if resident:
        return ResidentSamples(info, space, indices=indices, device=device, input_size=input_size)
    return StreamedSamples(info, space, device=device, input_size=input_size, workers=workers)


def _stored_dtype(space: str) -> torch.dtype:
    return torch.uint8 if spaces.get(space).source == "rgb" else torch.int16


def _order(indices: np.ndarray, *, shuffle: bool, seed: int) -> np.ndarray:
    order = np.asarray(indices, dtype=np.int64)
    return np.random.default_rng(seed).permutation(order) if shuffle else order


def _starts(n: int, batch_size: int, drop_last: bool) -> range:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
    stop = n - n % batch_size if drop_last else n
    return range(0, stop, batch_size)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _level(value: object, name: str, path: Path) -> float:
    levels = np.unique(np.asarray(value, dtype=np.float64))
    if levels.size != 1:
        raise ValueError(f"{path}: {name} must be one value; got {np.asarray(value).tolist()}")
    return float(levels[0])
