"""Merging the shards of a sharded build into one cache (:func:`merge`).

The merged cache has the samples of all shards in source order; its ``raw`` and
``rgb`` datasets are virtual datasets over the shard files, or copies of their
stored chunks.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..files import check_outputs, write_error
from .format import (
    FAILURES_SUFFIX,
    IMAGES,
    LOCK_SUFFIX,
    PARTIAL_SUFFIX,
    SMALL,
    CacheError,
    Failure,
    attr_value,
    failures_table,
    read_failures,
    runs,
    writing_lock,
)
from .schema import check_cache
from .write import create_datasets, describe, final_attrs, write_failures_csv

__all__ = ["MergeReport", "merge"]


# ------------------------------------------------------------------------- merge
@dataclass
class MergeReport:
    """What :func:`merge` did.

    Attributes
    ----------
    cache : pathlib.Path
        The merged cache.
    shards : int
        Number of shards joined.
    samples : int
        Samples in the merged cache.
    failures : list of (str, str, str)
        ``(relative path, class name, reason)`` of the images the shards left out.
    virtual : bool
        Whether ``raw`` and ``rgb`` are virtual datasets reading from the shards.
    failures_csv : pathlib.Path or None
        The CSV listing the failures, when there are any.
    """

    cache: Path
    shards: int = 0
    samples: int = 0
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    virtual: bool = True
    failures_csv: Path | None = None

    def summary(self) -> str:
        """One line: shards, samples, failures, storage."""
        kind = "virtual datasets over the shards" if self.virtual else "copied data"
        return (
            f"merged {self.shards} shards: {self.samples} samples, {len(self.failures)} failed "
            f"({kind}) -> {self.cache}"
        )


@dataclass
class _Shard:
    """A shard's configuration and small datasets (the images stay in the file)."""

    path: Path
    config: dict[str, Any]
    class_names: tuple[str, ...]
    columns: dict[str, np.ndarray]
    failures: list[Failure]

    @property
    def source_index(self) -> np.ndarray:
        return self.columns["source_index"]


def _read_shard(path: Path) -> _Shard:
    if not path.is_file():
        raise FileNotFoundError(f"shard not found: {path}")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise CacheError(f"{path} is not an HDF5 file: {exc}") from None
    with f:
        if "n_processed" in f.attrs:
            raise CacheError(f"{path} is an incomplete build; resume it before merging")
        if "config" not in f.attrs or "shard" not in f.attrs:
            raise CacheError(f"{path} is not a shard of a rawspace cache (built with shard)")
        check_cache(f, path)
        return _Shard(
            path,
            json.loads(f.attrs["config"]),
            tuple(attr_value(f.attrs["class_names"])),
            {name: f[name][:] for name in SMALL if name in f},
            read_failures(f),
        )


def _check_shards(shards: list[_Shard]) -> tuple[dict[str, Any], int]:
    """Check that the shards form one complete, disjoint set; return the common config."""
    first = shards[0]
    base = {**first.config, "shard": None}
    for shard in shards[1:]:
        other = {**shard.config, "shard": None}
        if other != base:
            changed = sorted(k for k in set(base) | set(other) if base.get(k) != other.get(k))
            raise CacheError(
                f"{shard.path} and {first.path} were built with different options "
                f"({', '.join(changed)}); shards must differ only in the shard"
            )
    count = first.config["shard"][1]
    seen: dict[int, Path] = {}
    for shard in shards:
        k, n = shard.config["shard"]
        if n != count:
            raise CacheError(
                f"{shard.path} is shard {k}/{n} but {first.path} is one of {count} shards"
            )
        if k in seen:
            raise CacheError(f"shard {k}/{n} given twice: {seen[k]} and {shard.path}")
        seen[k] = shard.path
    missing = sorted(set(range(1, count + 1)) - set(seen))
    if missing:
        raise CacheError(
            f"shards {', '.join(f'{k}/{count}' for k in missing)} are missing; "
            f"a merge needs all {count}"
        )
    indices = np.concatenate([shard.source_index for shard in shards])
    if len(np.unique(indices)) != len(indices):
        raise CacheError("the shards overlap: some images are in more than one shard")
    return base, count


def _virtual_images(
    f: h5py.File, name: str, shards: list[_Shard], which: np.ndarray, row: np.ndarray, out: Path
) -> None:
    """Make ``name`` a virtual dataset: merged row j is row ``row[j]`` of shard ``which[j]``."""
    sources = []
    for shard in shards:
        with h5py.File(shard.path, "r") as g:
            dataset = g[name]
            link = os.path.relpath(os.path.abspath(shard.path), os.path.abspath(out.parent))
            sources.append(h5py.VirtualSource(link, name, shape=dataset.shape, dtype=dataset.dtype))
    shape = (len(row), *sources[0].shape[1:])
    layout = h5py.VirtualLayout(shape=shape, dtype=sources[0].dtype)
    for position, first, count in runs(row, which):
        layout[position : position + count] = sources[which[position]][first : first + count]
    f.create_virtual_dataset(name, layout)


def _copy_images(
    f: h5py.File, name: str, shards: list[_Shard], which: np.ndarray, row: np.ndarray
) -> None:
    """Copy the stored chunks of ``name`` (one sample each) in merged order, undecoded."""
    target = f[name].id
    handles = [h5py.File(shard.path, "r") for shard in shards]
    try:
        datasets = [h[name].id for h in handles]
        tail = (0,) * (len(f[name].shape) - 1)
        for j, (s, r) in enumerate(zip(which.tolist(), row.tolist(), strict=True)):
            mask, data = datasets[s].read_direct_chunk((r, *tail))
            target.write_direct_chunk((j, *tail), data, filter_mask=mask)
    finally:
        for h in handles:
            h.close()


def merge(
    out: str | os.PathLike[str],
    shards: Sequence[str | os.PathLike[str]],
    *,
    copy: bool = False,
    overwrite: bool = False,
) -> MergeReport:
    """Join the shards of a sharded build into one cache.

    The merged cache equals, dataset by dataset, the cache an unsharded build with
    the same options would give: samples in source order, same splits, folds,
    cameras and attributes (its ``config`` has ``"shard": null``).

    Parameters
    ----------
    out : path
        The merged cache; written as ``out + ".partial"`` and renamed when complete,
        holding ``out + ".lock"`` meanwhile (as :func:`build` does). It must not be
        one of the shards.
    shards : sequence of paths
        All N shards of one build (``shard`` 1/N to N/N), in any order.
    copy : bool, default False
        Copy the image data (stored chunks, not recompressed). By default ``raw``
        and ``rgb`` are HDF5 virtual datasets that read from the shard files, which
        must then stay next to the merged file (they are found by relative path).
    overwrite : bool, default False
        Replace an existing ``out``.

    Returns
    -------
    MergeReport

    Raises
    ------
    FileNotFoundError
        A shard does not exist.
    CacheError
        ``out`` exists without ``overwrite``, a file is not a complete shard, the
        shards come from different options, overlap, or some are missing, or ``out``
        is being written by another build or merge.
    rawspace.files.OutputError
        ``out`` (or its partial, lock or failure file) is one of the shards.
    rawspace.files.WriteError
        A file cannot be written.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from skimage import data
    >>> from rawspace.images import write_png
    >>> root = Path(tempfile.mkdtemp())
    >>> for name in ("cat", "coffee"):  # two classes of five 32x32 crops
    ...     image = getattr(data, name)()
    ...     (root / "cells" / name).mkdir(parents=True)
    ...     for i in range(5):
    ...         _ = write_png(root / "cells" / name / f"{i}.png", image[40 * i : 40 * i + 32, :32])
    >>> import rawspace.cache
    >>> shards = [root / f"part{k}.h5" for k in (1, 2)]
    >>> for k, shard in enumerate(shards, 1):
    ...     _ = rawspace.cache.build(root / "cells", shard, size=32, folds=2, shard=(k, 2))
    >>> rawspace.cache.merge(root / "cells.h5", shards, copy=True).samples
    10
    """
    out = Path(out)
    paths = [Path(p) for p in shards]
    if not paths:
        raise CacheError("merge needs at least one shard")
    partial = out.with_name(out.name + PARTIAL_SUFFIX)
    suffixes = (PARTIAL_SUFFIX, FAILURES_SUFFIX, LOCK_SUFFIX)
    check_outputs([out, *(out.with_name(out.name + suffix) for suffix in suffixes)], paths)
    with writing_lock(out):
        if out.exists() and not overwrite:
            raise CacheError(f"{out} exists; use overwrite (--overwrite) to replace it")
        return _merge(out, partial, paths, copy=copy)


def _merge(out: Path, partial: Path, paths: list[Path], *, copy: bool) -> MergeReport:
    """Join the shards at ``paths`` in ``partial``, then rename it to ``out``."""
    parts = [_read_shard(p) for p in paths]
    config, _ = _check_shards(parts)
    parts.sort(key=lambda shard: shard.config["shard"][0])
    indices = np.concatenate([shard.source_index for shard in parts])
    which = np.concatenate(
        [np.full(len(shard.source_index), s, dtype=np.int64) for s, shard in enumerate(parts)]
    )
    row = np.concatenate([np.arange(len(shard.source_index)) for shard in parts])
    order = np.argsort(indices, kind="stable")
    which, row = which[order], row[order]
    n = len(order)
    virtual = not copy and n > 0
    # shards written before a dataset existed (camera names) lack it: keep what all hold
    columns = [name for name in parts[0].columns if all(name in s.columns for s in parts)]

    partial.unlink(missing_ok=True)
    try:
        with h5py.File(partial, "w") as f:
            create_datasets(
                f, n, layout=config["layout"], size=config["size"],
                compression=config["compression"], rgb=config["rgb"],
                groups="group" in columns, cameras="camera" in columns, images=not virtual,
            )  # fmt: skip
            for name in columns:
                if n:
                    f[name][:] = np.concatenate([shard.columns[name] for shard in parts])[order]
            # Every shard lists the folders that could not be listed: keep each once.
            failures = sorted({failure for shard in parts for failure in shard.failures})
            if failures:
                f["failures"].resize((len(failures),))
                f["failures"][:] = failures_table(failures)
            for name in IMAGES if config["rgb"] else ("raw",):
                if virtual:
                    _virtual_images(f, name, parts, which, row, out)
                else:
                    _copy_images(f, name, parts, which, row)
            describe(f)
            params = f["params"][:]
            f.attrs.update(final_attrs(config, parts[0].class_names, params, len(failures)))
        listed = [(path, label, reason) for _, path, label, reason, _ in failures]
        failures_csv = write_failures_csv(out, listed)
        os.replace(partial, out)
    except OSError as exc:
        raise write_error(partial, exc) from None
    finally:
        partial.unlink(missing_ok=True)
    return MergeReport(
        cache=out,
        shards=len(parts),
        samples=n,
        failures=listed,
        virtual=virtual,
        failures_csv=failures_csv if listed else None,
    )
