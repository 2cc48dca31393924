"""The file format of the dataset cache: names, dtypes, storage options and small codecs.

The layout itself is described in :mod:`rawspace.cache`. Everything that writes
or reads a cache (:mod:`~rawspace.cache.write`, :mod:`~rawspace.cache.reader`,
:mod:`~rawspace.cache.merging`) takes the names and dtypes from here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..files import LockedError, exclusive_lock, lock_holder, name_bytes
from ..hints import COMPRESSIONS, Compression

__all__ = [
    "COMPRESSIONS",
    "DESCRIPTIONS",
    "DIGEST_DATASETS",
    "FAILURES_DTYPE",
    "FAILURES_SUFFIX",
    "FORMAT_VERSION",
    "IMAGES",
    "LOCK_SUFFIX",
    "PARAMS_DTYPE",
    "PARTIAL_SUFFIX",
    "PROGRESS_ATTRS",
    "SMALL",
    "SMALL_DTYPES",
    "STR",
    "CacheError",
    "EmptyBuildError",
    "Failure",
    "attr_value",
    "build_in_progress",
    "canonical_json",
    "failures_table",
    "pixel_digest",
    "read_failures",
    "runs",
    "storage_options",
    "stored",
    "text",
    "writing_lock",
]

#: Suffix of the file a build writes before renaming it to the cache's name.
PARTIAL_SUFFIX = ".partial"
#: Suffix of the lock file held while a build or merge writes the cache (see :func:`writing_lock`).
LOCK_SUFFIX = ".lock"
#: Suffix of the CSV (``path,label,reason``) listing the images a build could not read.
FAILURES_SUFFIX = ".failures.csv"
#: Version of the file layout described in :mod:`rawspace.cache` (2: content digests).
FORMAT_VERSION = 2

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
#: Variable-length UTF-8 strings (written with :func:`stored`, read with :func:`text`).
STR = h5py.string_dtype("utf-8")
#: The ``failures`` table: images a build could not read.
FAILURES_DTYPE = np.dtype(
    [
        ("source_index", "<i8"),
        ("path", STR),
        ("label", STR),
        ("reason", STR),
        ("source_digest", STR),
    ]
)
#: One row of the ``failures`` table: source_index, path, label, reason, source_digest.
Failure = tuple[int, str, str, str, str]
#: The per-sample datasets other than the images, in the order they are written
#: (``camera`` is absent from caches written before it existed: no names then).
SMALL = (
    "label",
    "path",
    "params",
    "camera",
    "split",
    "fold",
    "source_index",
    "group",
    "source_digest",
    "digest",
)
#: The per-sample content digests, present from format version 2.
DIGEST_DATASETS = ("source_digest", "digest")
SMALL_DTYPES = {
    "label": np.dtype(np.int64),
    "path": STR,
    "params": PARAMS_DTYPE,
    "camera": STR,
    "split": np.dtype(np.int8),
    "fold": np.dtype(np.int8),
    "source_index": np.dtype(np.int64),
    "group": STR,
    "source_digest": STR,
    "digest": STR,
}
#: What the values of each dataset mean: its ``description`` attribute.
DESCRIPTIONS = {
    "raw": (
        "simulated camera raw, uint16 between the file attributes black_level and "
        "white_level; (N, S, S) for layout bayer (CFA pattern: attribute cfa), "
        "(N, S/2, S/2, 4) for packed (channels R, G1, G2, B), (N, S, S, 3) for linear"
    ),
    "rgb": "the sRGB image each raw sample was made from, uint8 (N, S, S, 3), after fitting",
    "label": "class of each sample: index into the file attribute class_names",
    "path": "path of the source image relative to the source root (attribute source)",
    "params": (
        "camera of each sample: rgb2cam (sRGB->camera, 3x3), rgb_gain, red_gain, blue_gain; "
        "camera_seed (-1: fixed camera); noise_shot, noise_read (variances, NaN: no noise); "
        "noise_seed (-1: no noise)"
    ),
    "camera": (
        "name of each sample's camera (a rawspace.cameras catalogue name or the camera "
        "file's name); empty when unnamed (cameras sampled from Brooks' matrices)"
    ),
    "split": "0 train, 1 test",
    "fold": (
        "cross-validation fold of a training sample, 0 to folds-1 (folds in the "
        "attribute config); -1 for test samples and for every sample when folds=0"
    ),
    "source_index": "position of the sample in the full source listing",
    "group": "group of the sample (from the source's group column); splits never separate one",
    "source_digest": (
        "content identity of the source file when it was converted: "
        "blake2b-128:HEX:SIZE (rawspace.files.file_digest)"
    ),
    "digest": (
        "SHA-256 (first 32 hex digits) of the stored pixels of the sample: the bytes of raw, "
        "then of rgb when stored (C order, little-endian); see CacheReader.verify"
    ),
    "failures": (
        "images (source_index >= 0) and folders (-1) that could not be read, why, and the "
        "source_digest of the file (empty when it could not be read)"
    ),
}
#: The image datasets, one sample per chunk.
IMAGES = ("raw", "rgb")
#: Attributes of a partial file that record how far its build got.
PROGRESS_ATTRS = ("n_processed", "n_written")


class CacheError(ValueError):
    """A cache that cannot be built, read or merged as asked; the message says why."""


class EmptyBuildError(CacheError):
    """A build in which every selected image failed: it writes nothing."""


def pixel_digest(raw: np.ndarray, rgb: np.ndarray | None = None) -> str:
    """The ``digest`` of a stored sample: SHA-256 of its raw bytes, then of its rgb bytes.

    Parameters
    ----------
    raw : numpy.ndarray
        The sample's raw image (uint16, any stored layout).
    rgb : numpy.ndarray, optional
        Its uint8 RGB image, when the cache stores one.

    Returns
    -------
    str
        The first 32 hexadecimal digits (128 bits) of the SHA-256.

    Examples
    --------
    >>> import numpy as np
    >>> pixel_digest(np.zeros((2, 2), np.uint16))
    'af5570f5a1810b7af78caf4bc70a660f'
    """
    digest = hashlib.sha256(np.ascontiguousarray(raw, dtype="<u2").data)
    if rgb is not None:
        digest.update(np.ascontiguousarray(rgb, dtype=np.uint8).data)
    return digest.hexdigest()[:32]


def storage_options(compression: Compression, dtype: np.dtype) -> dict[str, Any]:
    """h5py creation options of an image dataset (one sample per chunk is set separately)."""
    if compression == "none":
        return {}
    options: dict[str, Any] = {"compression": compression, "shuffle": dtype.itemsize > 1}
    if compression == "gzip":
        options["compression_opts"] = 4
    return options


def canonical_json(value: Any) -> str:
    """JSON text with sorted keys and no spaces: equal values give equal text.

    Non-ASCII text is kept as it is (stored with :func:`stored`, a file name that is
    not UTF-8 keeps its bytes).
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def stored(values: str | Sequence[str]) -> np.ndarray:
    """One string (a 0-d array) or a sequence of strings (1-d) as the cache stores them.

    Each is stored as its UTF-8 bytes, the bytes of a file name that are not UTF-8
    as they are (:func:`rawspace.files.name_bytes`), so that :func:`text` gives the
    same string back.
    """
    if isinstance(values, str):
        return np.array(name_bytes(values), dtype=STR)
    return np.array([name_bytes(value) for value in values], dtype=STR)


def text(value: Any) -> str:
    """A stored string as ``str`` (HDF5 may hand back bytes); the inverse of :func:`stored`."""
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else str(value)


def failures_table(rows: Sequence[Failure]) -> np.ndarray:
    """``(source_index, path, label, reason, source_digest)`` rows as a
    :data:`FAILURES_DTYPE` array."""
    table = np.empty(len(rows), dtype=FAILURES_DTYPE)
    for i, (index, *strings) in enumerate(rows):
        table[i] = (index, *(name_bytes(value) for value in strings))
    return table


def read_failures(f: h5py.File) -> list[Failure]:
    """The ``failures`` table: ``(source_index, path, label, reason, source_digest)`` per
    failed image (``source_index`` -1 for a folder that could not be listed; digest ""
    for a file that could not be read, and in caches of format 1)."""
    table = f["failures"][:]
    digests = "source_digest" in (table.dtype.names or ())
    return [
        (
            int(r["source_index"]),
            text(r["path"]),
            text(r["label"]),
            text(r["reason"]),
            text(r["source_digest"]) if digests else "",
        )
        for r in table
    ]


def attr_value(value: Any) -> Any:
    """Plain Python value of an HDF5 attribute (strings decoded, scalars unwrapped)."""
    if isinstance(value, bytes):
        return text(value)
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


# ------------------------------------------------------------------------- locking
def _lock_path(cache: Path) -> Path:
    return cache.with_name(cache.name + LOCK_SUFFIX)


def _in_progress(cache: Path, pid: int) -> str:
    by = f" (process {pid})" if pid else ""
    return (
        f"a build of {cache} is in progress{by}: it is written to "
        f"{cache.name}{PARTIAL_SUFFIX} and renamed to {cache.name} when complete"
    )


def build_in_progress(cache: Path) -> str | None:
    """A message saying that a build (or merge) is writing ``cache`` now, or None."""
    pid = lock_holder(_lock_path(cache))
    return None if pid is None else _in_progress(cache, pid)


@contextmanager
def writing_lock(cache: Path) -> Iterator[None]:
    """Hold the lock of ``cache`` (``CACHE.h5.lock``) while a build or merge writes it.

    Raises
    ------
    CacheError
        Another process is writing ``cache``.
    rawspace.files.WriteError
        The lock file cannot be created (a read-only folder, a full disk).
    """
    with ExitStack() as stack:
        try:
            stack.enter_context(exclusive_lock(_lock_path(cache)))
        except LockedError as exc:
            raise CacheError(f"{_in_progress(cache, exc.pid)}; not starting another") from None
        yield
