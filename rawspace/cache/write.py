"""Writing a cache file: its datasets, final attributes, failures, and checkpointed rows.

Shared by :func:`rawspace.cache.build`, which fills a partial file row by row
through :class:`CacheWriter` (recording its progress every
:data:`CHECKPOINT_EVERY` images so that an interrupted build can resume), and
:func:`rawspace.cache.merge`, which creates the datasets and the final
attributes of the merged cache.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..files import write_text
from ..hints import Compression, Layout
from ..params import CameraParams
from ..rawimage import raw_shape
from .format import (
    FAILURES_DTYPE,
    FAILURES_SUFFIX,
    FORMAT_VERSION,
    IMAGES,
    PROGRESS_ATTRS,
    SMALL,
    SMALL_DTYPES,
    CacheError,
    canonical_json,
    read_failures,
    storage_options,
)
from .workers import Chunk

__all__ = [
    "CHECKPOINT_EVERY",
    "CacheWriter",
    "create_datasets",
    "final_attrs",
    "write_failures_csv",
]

#: A build records its progress every this many images.
CHECKPOINT_EVERY = 64


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
        "config": canonical_json(config),
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
    images: bool = True,
) -> None:
    """Create the per-sample datasets of a cache with room for ``n`` samples.

    ``images=False`` leaves out ``raw`` and ``rgb`` (a merge makes them virtual).
    """
    image_shapes = {"raw": (raw_shape(layout, size, size), np.dtype(np.uint16))}
    if rgb:
        image_shapes["rgb"] = ((size, size, 3), np.dtype(np.uint8))
    for name, (shape, dtype) in image_shapes.items() if images else ():
        f.create_dataset(
            name, shape=(n, *shape), maxshape=(None, *shape), dtype=dtype, chunks=(1, *shape),
            **storage_options(compression, dtype),
        )  # fmt: skip
    chunk = (min(max(n, 1), 4096),)
    for name in SMALL:
        if name == "group" and not groups:
            continue
        f.create_dataset(name, shape=(n,), maxshape=(None,), dtype=SMALL_DTYPES[name], chunks=chunk)
    f["params"].attrs["fields"] = (
        "rgb2cam: sRGB->camera matrix (3x3); rgb_gain, red_gain, blue_gain; camera_seed: seed "
        "of the sampled camera (-1: fixed camera); noise_shot, noise_read: noise variances "
        "(NaN: no noise); noise_seed: seed of the noise realisation (-1: no noise)"
    )
    f.create_dataset("failures", shape=(0,), maxshape=(None,), dtype=FAILURES_DTYPE, chunks=(256,))


class CacheWriter:
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
        config_json = canonical_json(config)
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
            create_datasets(
                self.file, n_rows, layout=config["layout"], size=config["size"],
                compression=config["compression"], rgb=config["rgb"], groups=groups,
            )  # fmt: skip
            self.n_processed = self.n_written = 0
            self._save_progress()
        self._images = [self.file[name].id for name in IMAGES if name in self.file]
        self._pending: dict[str, list[Any]] = {name: [] for name in SMALL if name in self.file}
        self._failures: list[tuple[int, str, str, str]] = []
        self._committed = self.n_written

    def _save_progress(self) -> None:
        self.file.attrs["n_processed"] = self.n_processed
        self.file.attrs["n_written"] = self.n_written
        self.file.flush()

    def add(self, row: dict[str, Any], chunks: Sequence[Chunk]) -> None:
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
            table[old:] = np.array(self._failures, dtype=FAILURES_DTYPE)
            self._failures.clear()
        self._committed = stop
        self._save_progress()

    def failures(self) -> list[tuple[str, str, str]]:
        """``(path, label, reason)`` of every failure recorded so far (after a checkpoint)."""
        return [(path, label, reason) for _, path, label, reason in read_failures(self.file)]

    def finish(self, attrs: dict[str, Any]) -> None:
        """Trim the datasets to the samples written and write the final attributes."""
        self.checkpoint()
        for name in (*IMAGES, *SMALL):
            if name in self.file:
                dataset = self.file[name]
                dataset.resize((self.n_written, *dataset.shape[1:]))
        for name in PROGRESS_ATTRS:
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
