"""A map-style torch ``Dataset`` over any view of a rawspace cache.

:class:`CacheDataset` yields ``(x, label)``: ``x`` a float32 tensor (C, H, W) of one
sample in an input space — exactly the scaling of the project's own training path
(:meth:`classifiers.spaces.Space.to_stored`, then :meth:`~classifiers.spaces.Space.to_unit`:
RGB / 255, raw (v − black) / (white − black), packed planes, resizing) and its
per-channel normalisation (:attr:`CacheDataset.normalisation`) — and ``label`` an int
indexing ``reader.class_names``. It works in ``DataLoader`` worker processes started by
fork or spawn: a dataset pickles as the cache's path and its rows, and each process opens
the HDF5 file itself, on first use.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch.utils.data import Dataset

import rawspace.cache
from rawspace.cache import CacheReader

from .data import stored_batch
from .spaces import Normalization, RawFormat, Space, fit_normalization, get

__all__ = ["CacheDataset", "MeanStd"]

_CHUNK = 256


class MeanStd(Protocol):
    """Anything with per-channel ``mean`` and ``std`` (``spaces.Normalization``,
    ``pretrained.InputNormalization``).

    Examples
    --------
    >>> def channels(n: MeanStd) -> int:
    ...     return len(n.mean)
    >>> channels(Normalization.identity(4))
    4
    """

    @property
    def mean(self) -> tuple[float, ...]: ...

    @property
    def std(self) -> tuple[float, ...]: ...


class CacheDataset(Dataset[tuple[torch.Tensor, int]]):
    """Samples of a cache view in an input space, for a ``torch.utils.data.DataLoader``.

    Parameters
    ----------
    cache_or_view : rawspace.cache.CacheReader, str or path
        A reader or any of its views (``reader.train``, ``reader.test``,
        ``reader.fold(k)[0]`` …), or the path of a cache (all its samples).
    space : Space or str
        The input space (:func:`classifiers.spaces.get`); not a camera space (``*_cam``,
        which unprocess on the device with a camera per sample).
    transform : callable, optional
        Applied to each sample's (C, H, W) float32 tensor in [0, 1] (before the
        normalisation), e.g. an augmentation.
    rows : numpy.ndarray, optional
        Cache rows (``reader.rows``) to keep, in this order; all rows of the view by default.
    input_size : int, optional
        Side S of the model input (even) as in ``rawspace compare --input-size``; None
        keeps the cache's size.
    normalization : Normalization, optional
        Per-channel mean and std (any object with ``mean`` and ``std``, such as
        :func:`classifiers.pretrained.input_normalization`'s); by default fitted on this
        dataset's samples as the project fits a run's on its training rows
        (:func:`classifiers.spaces.fit_normalization`). Pass a training dataset's
        :attr:`normalisation` to its validation and test datasets.

    Attributes
    ----------
    rows : numpy.ndarray
        The cache row of each index (int64).
    labels : numpy.ndarray
        The label of each index (int64).
    class_names : tuple of str

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from rawspace.images import write_png
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for k, name in enumerate(("a", "b")):
    ...     (root / "cells" / name).mkdir(parents=True)
    ...     for i in range(4):
    ...         _ = write_png(root / "cells" / name / f"{i}.png",
    ...                       np.full((16, 16, 3), 60 + 100 * k + i, np.uint8))
    >>> _ = rawspace.cache.build(root / "cells", root / "cells.h5", size=16, folds=0,
    ...                          test_fraction=0.25)
    >>> reader = rawspace.cache.open(root / "cells.h5")
    >>> train = CacheDataset(reader.train, "raw_packed")
    >>> x, label = train[0]
    >>> x.shape, x.dtype, label in (0, 1), len(train.normalisation.mean)
    (torch.Size([4, 8, 8]), torch.float32, True, 4)
    >>> test = CacheDataset(reader.test, "raw_packed", normalization=train.normalisation)
    >>> len(train) + len(test) == len(reader)
    True
    """

    def __init__(
        self,
        cache_or_view: CacheReader | str | os.PathLike[str],
        space: Space | str,
        *,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        rows: np.ndarray | None = None,
        input_size: int | None = None,
        normalization: MeanStd | None = None,
    ) -> None:
        view = (
            cache_or_view
            if isinstance(cache_or_view, CacheReader)
            else rawspace.cache.open(Path(cache_or_view))
        )
        self.space = get(space) if isinstance(space, str) else space
        if self.space.camera:
            raise ValueError(
                f"space {self.space.name!r} unprocesses with a camera per sample on the device; "
                f"use its base space with a camera transform instead"
            )
        self.space.check_available(layout=view.layout, has_rgb=view.has_rgb)
        self.transform = transform
        self.input_size = input_size
        self.fmt = RawFormat.of(view)
        self.class_names = view.class_names
        self._view = view
        self._positions = _positions(view, rows)
        self.rows = view.rows[self._positions]
        self.labels = view.labels[self._positions]
        if normalization is None:
            self._normalisation = fit_normalization(self._units())
        else:
            self._normalisation = Normalization(tuple(normalization.mean), tuple(normalization.std))

    @property
    def normalisation(self) -> Normalization:
        """The per-channel ``(x − mean) / std`` applied to every sample (after
        ``transform``); ``normalisation(batch)`` reproduces it on (N, C, H, W)."""
        return self._normalisation

    def __len__(self) -> int:
        return len(self._positions)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} samples")
        position = self._positions[index]
        unit = self._unit(np.array([position], dtype=np.int64))[0]
        if self.transform is not None:
            unit = self.transform(unit)
        return self._normalisation(unit[None])[0], int(self.labels[index])

    def _unit(self, positions: np.ndarray) -> torch.Tensor:
        """Samples at view ``positions`` → (n, C, H, W) float32 in [0, 1]."""
        array = self._view.read(self.space.source, positions)
        stored = stored_batch(array, self.space, fmt=self.fmt, input_size=self.input_size)
        return self.space.to_unit(stored, fmt=self.fmt)

    def _units(self) -> Iterator[torch.Tensor]:
        for start in range(0, len(self._positions), _CHUNK):
            yield self._unit(self._positions[start : start + _CHUNK])


def _positions(view: CacheReader, rows: np.ndarray | None) -> np.ndarray:
    """Positions in ``view`` of the cache ``rows`` (all of the view's when None)."""
    if rows is None:
        return np.arange(len(view), dtype=np.int64)
    wanted = np.asarray(rows, dtype=np.int64)
    if wanted.ndim != 1 or len(view) == 0:
        raise ValueError(f"rows must be a 1-D array of the view's rows; got {wanted.shape}")
    positions = np.searchsorted(view.rows, wanted)
    found = view.rows[np.minimum(positions, len(view) - 1)] == wanted
    if not found.all():
        raise ValueError(f"rows {wanted[~found][:5].tolist()} are not in the view")
    return positions.astype(np.int64)
