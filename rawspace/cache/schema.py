"""Checking that an HDF5 file is a sound rawspace cache before anything is read from it.

:func:`check_cache` is run once when a cache is opened (:func:`rawspace.cache.open`,
:func:`rawspace.cache.summary`, the shards of :func:`rawspace.cache.merge`): every
dataset present with its dtype, shape and length, the labels within the class
names, the split and fold codes, the camera records, and the image data fully
stored (no chunk that would read back as fill values). A file that fails raises a
:class:`~rawspace.cache.format.CacheError` naming the file and the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import h5py
import numpy as np

from ..hints import GAMMAS, LAYOUTS, TONES, Cfa
from ..images import MIN_SIDE
from ..rawimage import raw_shape
from .format import DIGEST_DATASETS, FORMAT_VERSION, PARAMS_DTYPE, CacheError, attr_value

__all__ = ["REQUIRED", "check_cache", "image_files"]

#: Datasets every cache holds (``rgb``, ``group`` and ``camera`` are optional; the
#: digests are required from format version 2).
REQUIRED = ("raw", "label", "path", "params", "split", "fold", "source_index")
_REQUIRED_ATTRS = (
    "config",
    "class_names",
    "layout",
    "size",
    "cfa",
    "black_level",
    "white_level",
    "tone",
    "gamma",
)
_INTEGER_COLUMNS = ("label", "split", "fold", "source_index")
_STRING_COLUMNS = ("path", "group", "camera", *DIGEST_DATASETS)


def _fail(path: Path, field: str, problem: str) -> CacheError:
    return CacheError(f"{path}: {field}: {problem}")


def _attrs(f: h5py.File, path: Path) -> dict[str, Any]:
    """The attributes a reader relies on, checked."""
    attrs = {key: attr_value(value) for key, value in f.attrs.items()}
    missing = [key for key in _REQUIRED_ATTRS if key not in attrs]
    if missing:
        raise CacheError(
            f"{path} is not a rawspace cache (attribute(s) {', '.join(missing)} missing)"
        )
    try:
        config = json.loads(attrs["config"])
        folds = int(config["folds"])
    except (TypeError, ValueError, KeyError):
        raise _fail(path, "attribute config", "not the JSON of a build configuration") from None
    names = attrs["class_names"]
    if isinstance(names, str) or not names or not all(isinstance(n, str) for n in names):
        raise _fail(path, "attribute class_names", f"must be a list of names, got {names!r}")
    checks = {
        "layout": attrs["layout"] in LAYOUTS,
        "cfa": attrs["cfa"] in get_args(Cfa),
        "tone": attrs["tone"] in TONES,
        "gamma": attrs["gamma"] in GAMMAS,
    }
    for key, ok in checks.items():
        if not ok:
            raise _fail(path, f"attribute {key}", f"unknown value {attrs[key]!r}")
    size, black, white = attrs["size"], attrs["black_level"], attrs["white_level"]
    if not isinstance(size, int) or size < MIN_SIDE or size % 2:
        raise _fail(path, "attribute size", f"must be an even integer >= {MIN_SIDE}, got {size!r}")
    if not (isinstance(black, int) and isinstance(white, int) and 0 <= black < white <= 65535):
        raise _fail(
            path, "attributes black_level, white_level", f"invalid levels {black!r}, {white!r}"
        )
    version = attrs.get("format_version", 1)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise _fail(
            path,
            "attribute format_version",
            f"{version!r} is newer than this rawspace reads ({FORMAT_VERSION}): upgrade rawspace",
        )
    return {**attrs, "folds": folds, "format_version": version}


def _dataset(f: h5py.File, path: Path, name: str, n: int | None) -> h5py.Dataset:
    item = f.get(name)
    if not isinstance(item, h5py.Dataset):
        what = "missing" if item is None else "not a dataset"
        raise _fail(path, f"dataset {name!r}", what)
    if not item.shape:
        raise _fail(path, f"dataset {name!r}", "a scalar, not one value per sample")
    if n is not None and item.shape[0] != n:
        raise _fail(path, f"dataset {name!r}", f"holds {item.shape[0]} rows but 'label' holds {n}")
    return item


def _read(dataset: h5py.Dataset, path: Path, name: str) -> np.ndarray:
    try:
        return dataset[:]
    except (OSError, ValueError, TypeError) as exc:
        raise _fail(path, f"dataset {name!r}", f"cannot be read ({exc})") from None


def _check_images(f: h5py.File, path: Path, attrs: dict[str, Any], n: int) -> None:
    size = attrs["size"]
    shapes = {
        "raw": (np.dtype(np.uint16), raw_shape(attrs["layout"], size, size)),
        "rgb": (np.dtype(np.uint8), (size, size, 3)),
    }
    for name, (dtype, shape) in shapes.items():
        if name == "rgb" and name not in f:
            continue
        dataset = _dataset(f, path, name, n)
        if dataset.dtype != dtype or dataset.shape[1:] != shape:
            raise _fail(
                path,
                f"dataset {name!r}",
                f"{dataset.dtype} {dataset.shape[1:]} per sample, expected {dtype} {shape} "
                f"(layout {attrs['layout']}, size {size})",
            )
        if dataset.is_virtual:
            _check_virtual(dataset, path, name)
        else:
            _check_stored(dataset, path, name)


def _check_stored(dataset: h5py.Dataset, path: Path, name: str) -> None:
    """Every row of an image dataset is stored (none would read back as fill values)."""
    n = dataset.shape[0]
    if not n:
        return
    if dataset.chunks is not None:
        per_chunk = dataset.chunks[0]
        expected = -(-n // per_chunk) * int(
            np.prod(
                [-(-s // c) for s, c in zip(dataset.shape[1:], dataset.chunks[1:], strict=True)]
            )
        )
        stored = dataset.id.get_num_chunks()
    else:
        expected = 1
        stored = 1 if dataset.id.get_storage_size() else 0
    if stored < expected:
        raise _fail(
            path,
            f"dataset {name!r}",
            f"only {stored} of {expected} chunks are stored (an incomplete or damaged "
            "file: the rest would read as zeros)",
        )


def _check_virtual(dataset: h5py.Dataset, path: Path, name: str) -> None:
    """Every source of a virtual image dataset exists and holds the rows it maps."""
    for source in dataset.virtual_sources():
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
        try:
            with h5py.File(file, "r") as g:
                target = g.get(source.dset_name)
                if not isinstance(target, h5py.Dataset) or target.dtype != dataset.dtype:
                    raise _fail(file, f"dataset {name!r}", f"missing or not {dataset.dtype}")
                _, high = source.src_space.get_select_bounds()
                if high[0] >= target.shape[0] or target.shape[1:] != dataset.shape[1:]:
                    raise _fail(
                        file,
                        f"dataset {name!r}",
                        f"holds {target.shape} but {path} reads rows up to {high[0]}",
                    )
                _check_stored(target, file, name)
        except OSError as exc:
            raise CacheError(f"{path}: dataset {name!r} reads from {file}: {exc}") from None


def _check_columns(
    f: h5py.File, path: Path, attrs: dict[str, Any], n: int, label: np.ndarray
) -> dict[str, np.ndarray]:
    columns = {"label": label}
    for name in ("split", "fold", "source_index"):
        columns[name] = _read(_dataset(f, path, name, n), path, name)
    for name in _INTEGER_COLUMNS:
        values = columns[name]
        if values.ndim != 1 or not np.issubdtype(values.dtype, np.integer):
            raise _fail(path, f"dataset {name!r}", f"must be 1-d integers, got {values.dtype}")
    n_classes = len(attrs["class_names"])
    bad = (label < 0) | (label >= n_classes)
    if bad.any():
        raise _fail(
            path,
            "dataset 'label'",
            f"value {label[bad][0]} at row {int(np.flatnonzero(bad)[0])} is not an index into "
            f"the {n_classes} class_names",
        )
    split, fold, folds = columns["split"], columns["fold"], attrs["folds"]
    bad = (split != 0) & (split != 1)
    if bad.any():
        raise _fail(path, "dataset 'split'", f"value {split[bad][0]} is neither 0 (train) nor 1")
    bad = (fold < -1) | (fold >= folds) | ((split == 1) & (fold != -1))
    bad |= (split == 0) & (fold < 0) if folds else fold != -1
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise _fail(
            path,
            "dataset 'fold'",
            f"value {fold[row]} at row {row} (split {split[row]}) is not a fold of {folds} "
            "(-1 for test samples)",
        )
    if (columns["source_index"] < 0).any():
        raise _fail(path, "dataset 'source_index'", "negative positions")
    params = _dataset(f, path, "params", n)
    if params.dtype != PARAMS_DTYPE or params.ndim != 1:
        raise _fail(path, "dataset 'params'", f"dtype {params.dtype}, expected {PARAMS_DTYPE}")
    records = _read(params, path, "params")
    gains = np.stack([records[k] for k in ("rgb_gain", "red_gain", "blue_gain")])
    if not (
        np.isfinite(records["rgb2cam"]).all() and np.isfinite(gains).all() and (gains > 0).all()
    ):
        raise _fail(path, "dataset 'params'", "camera matrices or gains not finite and positive")
    columns["params"] = records
    for name in _STRING_COLUMNS:
        if name in f or name == "path" or (name in DIGEST_DATASETS and attrs["format_version"] > 1):
            dataset = _dataset(f, path, name, n)
            if h5py.check_string_dtype(dataset.dtype) is None or dataset.ndim != 1:
                raise _fail(path, f"dataset {name!r}", f"must hold strings, got {dataset.dtype}")
    return columns


def check_cache(f: h5py.File, path: Path) -> dict[str, np.ndarray]:
    """Check the layout and values of the open cache ``f`` (at ``path``).

    Returns
    -------
    dict of str to numpy.ndarray
        The columns read to check them: ``label``, ``split``, ``fold``,
        ``source_index`` and ``params`` (one value per sample).

    Raises
    ------
    CacheError
        A dataset or attribute is missing or wrong; the message names the file and
        the field.
    """
    if "n_processed" in f.attrs:
        raise CacheError(f"{path} is an incomplete build; resume it first")
    if "config" not in f.attrs or "raw" not in f:
        raise CacheError(f"{path} is not a rawspace cache (no 'raw' dataset or 'config')")
    attrs = _attrs(f, path)
    label_dataset = _dataset(f, path, "label", None)
    label = _read(label_dataset, path, "label")
    if label.ndim != 1 or not np.issubdtype(label.dtype, np.integer):
        raise _fail(path, "dataset 'label'", f"must be 1-d integers, got {label.dtype}")
    n = len(label)
    for name in REQUIRED:
        _dataset(f, path, name, n)
    _check_images(f, path, attrs, n)
    return _check_columns(f, path, attrs, n, label)


def image_files(f: h5py.File, path: Path) -> list[Path]:
    """The files that hold the image data of the cache ``f``: itself, or its shards."""
    files = [path]
    for name in ("raw", "rgb"):
        if name in f and f[name].is_virtual:
            for source in f[name].virtual_sources():
                if source.file_name != ".":
                    file = Path(source.file_name)
                    files.append(file if file.is_absolute() else path.parent / file)
    return list(dict.fromkeys(files))
