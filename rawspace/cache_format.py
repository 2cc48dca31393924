"""The file format of the dataset cache: constants, dtypes and small shared helpers.

Names of the datasets and attributes, their dtypes, the geometry and storage
options of the image datasets, the error type, and the helpers that read and
encode small values the same way for :mod:`rawspace.cache_build`,
:mod:`rawspace.cache_reader` and :mod:`rawspace.cache_merge`. The layout itself
is described in :mod:`rawspace.dataset`.
"""

from __future__ import annotations

import json
from typing import Any

import h5py
import numpy as np

__all__ = [
    "COMPRESSIONS",
    "FAILURES_SUFFIX",
    "FORMAT_VERSION",
    "PARAMS_DTYPE",
    "PARTIAL_SUFFIX",
    "CacheError",
]

COMPRESSIONS = ("none", "lzf", "gzip")
#: Suffix of the file a build writes before renaming it to the cache's name.
PARTIAL_SUFFIX = ".partial"
#: Suffix of the CSV (``path,label,reason``) listing the images a build could not read.
FAILURES_SUFFIX = ".failures.csv"
#: Version of the file layout described in the module notes.
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


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _read_failures(f: h5py.File) -> list[tuple[int, str, str, str]]:
    table = f["failures"][:]
    return [
        (int(r["source_index"]), *(_text(r[k]) for k in ("path", "label", "reason"))) for r in table
    ]


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _attr_value(value: Any) -> Any:
    """Plain Python value of an HDF5 attribute (strings decoded, scalars unwrapped)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        return tuple(_attr_value(v) for v in value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value
