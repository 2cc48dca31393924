"""The file format of the dataset cache: names, dtypes, storage options and small codecs.

The layout itself is described in :mod:`rawspace.cache`. Everything that writes
or reads a cache (:mod:`~rawspace.cache.write`, :mod:`~rawspace.cache.reader`,
:mod:`~rawspace.cache.merge`) takes the names and dtypes from here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import h5py
import numpy as np

from ..hints import COMPRESSIONS, Compression

__all__ = [
    "COMPRESSIONS",
    "FAILURES_DTYPE",
    "FAILURES_SUFFIX",
    "FORMAT_VERSION",
    "IMAGES",
    "PARAMS_DTYPE",
    "PARTIAL_SUFFIX",
    "PROGRESS_ATTRS",
    "SMALL",
    "SMALL_DTYPES",
    "STR",
    "CacheError",
    "attr_value",
    "canonical_json",
    "read_failures",
    "runs",
    "storage_options",
    "text",
]

#: Suffix of the file a build writes before renaming it to the cache's name.
PARTIAL_SUFFIX = ".partial"
#: Suffix of the CSV (``path,label,reason``) listing the images a build could not read.
FAILURES_SUFFIX = ".failures.csv"
#: Version of the file layout described in :mod:`rawspace.cache`.
FORMAT_VERSION = 1

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
#: Variable-length UTF-8 strings.
STR = h5py.string_dtype("utf-8")
#: The ``failures`` table: images a build could not read.
FAILURES_DTYPE = np.dtype([("source_index", "<i8"), ("path", STR), ("label", STR), ("reason", STR)])
#: The per-sample datasets other than the images, in the order they are written.
SMALL = ("label", "path", "params", "split", "fold", "source_index", "group")
SMALL_DTYPES = {
    "label": np.dtype(np.int64),
    "path": STR,
    "params": PARAMS_DTYPE,
    "split": np.dtype(np.int8),
    "fold": np.dtype(np.int8),
    "source_index": np.dtype(np.int64),
    "group": STR,
}
#: The image datasets, one sample per chunk.
IMAGES = ("raw", "rgb")
#: Attributes of a partial file that record how far its build got.
PROGRESS_ATTRS = ("n_processed", "n_written")


class CacheError(ValueError):
    """A cache that cannot be built, read or merged as asked; the message says why."""


def storage_options(compression: Compression, dtype: np.dtype) -> dict[str, Any]:
    """h5py creation options of an image dataset (one sample per chunk is set separately)."""
    if compression == "none":
        return {}
    options: dict[str, Any] = {"compression": compression, "shuffle": dtype.itemsize > 1}
    if compression == "gzip":
        options["compression_opts"] = 4
    return options


def canonical_json(value: Any) -> str:
    """JSON text with sorted keys and no spaces: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def text(value: Any) -> str:
    """A stored string as ``str`` (HDF5 may hand back bytes)."""
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else str(value)


def read_failures(f: h5py.File) -> list[tuple[int, str, str, str]]:
    """The ``failures`` table: ``(source_index, path, label, reason)`` per failed image."""
    table = f["failures"][:]
    return [
        (int(r["source_index"]), *(text(r[k]) for k in ("path", "label", "reason"))) for r in table
    ]


def attr_value(value: Any) -> Any:
    """Plain Python value of an HDF5 attribute (strings decoded, scalars unwrapped)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        return tuple(attr_value(v) for v in value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def runs(rows: np.ndarray, owners: np.ndarray | None = None) -> Iterator[tuple[int, int, int]]:
    """``(position, first row, count)`` of each run of consecutive rows in ``rows``.

    A run is a maximal stretch where each row is one more than the previous one
    (and, with ``owners``, all rows belong to the same owner, e.g. shard file), so
    that it can be read or linked as one slice.
    """
    rows = np.asarray(rows, dtype=np.int64)
    if not len(rows):
        return
    step = np.diff(rows) != 1
    if owners is not None:
        step |= np.diff(owners) != 0
    breaks = np.flatnonzero(step) + 1
    starts = np.concatenate([[0], breaks]).tolist()
    stops = np.concatenate([breaks, [len(rows)]]).tolist()
    for a, b in zip(starts, stops, strict=True):
        yield a, int(rows[a]), b - a
