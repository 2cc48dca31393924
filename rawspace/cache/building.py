"""Building a dataset cache from a labelled source, whole or one shard of it.

:func:`build` lists the source, assigns splits and folds over the full listing,
converts the selected images (see :mod:`rawspace.cache.workers`), writes them
into a partial file that it can resume (see :mod:`rawspace.cache.write`), and
renames it to the cache when complete; :func:`shard_of` says which shard an
image belongs to.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from .._version import __version__
from ..cameras import CameraAssigner, load_camera
from ..files import check_outputs, make_folder, printable, write_error
from ..hints import (
    CAMERA_POLICIES,
    COMPRESSIONS,
    FITS,
    LAYOUTS,
    NOISE_MODELS,
    CameraPolicy,
    Compression,
    Fit,
    LabelMode,
    Layout,
    NoiseModel,
    UncMode,
)
from ..images import MIN_SIDE
from ..params import CameraParams
from ..shards import parse_shard, shard_of
from ..sources import Source, SourceItem, read_source
from ..splits import MAX_FOLDS, Splits, assign_splits
from .format import FAILURES_SUFFIX, LOCK_SUFFIX, PARTIAL_SUFFIX, CacheError, writing_lock
from .workers import Converted, Failed, Settings, results
from .write import CacheWriter, final_attrs, write_failures_csv

__all__ = ["BuildReport", "build", "shard_of"]

_log = logging.getLogger(__name__)


# ------------------------------------------------------------------------ build
@dataclass
class BuildReport:
    """What :func:`build` did.

    Attributes
    ----------
    cache : pathlib.Path
        The cache written.
    built : int
        Samples in the cache.
    failures : list of (str, str, str)
        ``(relative path, class name, reason)`` of each folder that could not be listed
        (class name ``""`` outside the classes), then of each image left out, in source
        order.
    dropped : int
        Matek-19 images left out because they are labelled UNC.
    processed : int
        Images converted (or failed) by this call; less than ``built + failed``
        when it resumed a partial build.
    seconds : float
        Wall time of the conversion loop.
    failures_csv : pathlib.Path or None
        The CSV listing the failures, when there are any.
    """

    cache: Path
    built: int = 0
    failures: list[tuple[str, str, str]] = field(default_factory=list)
    dropped: int = 0
    processed: int = 0
    seconds: float = 0.0
    failures_csv: Path | None = None

    @property
    def failed(self) -> int:
        """Number of images (and folders) left out because they could not be read."""
        return len(self.failures)

    @property
    def images_per_second(self) -> float:
        """Images processed per second of wall time (0 when none were)."""
        return self.processed / self.seconds if self.processed and self.seconds > 0 else 0.0

    def summary(self) -> str:
        """One line: built, failed, dropped, throughput."""
        dropped = f", {self.dropped} dropped (UNC)" if self.dropped else ""
        return (
            f"built {self.built}, failed {self.failed}{dropped} in {self.seconds:.1f} s "
            f"({self.images_per_second:.1f} images/s) -> {self.cache}"
        )


def _check_int(name: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise CacheError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"between {low} and {high}"
        raise CacheError(f"{name} must be {bound}, got {value}")
    return int(value)


def _check_choice(name: str, value: Any, choices: Sequence[Any]) -> None:
    if value not in choices:
        raise CacheError(f"{name} must be one of {tuple(choices)}, got {value!r}")


def _parse_shard(shard: str | tuple[int, int] | None) -> tuple[int, int] | None:
    if shard is None:
        return None
    if isinstance(shard, str):
        try:
            return parse_shard(shard)
        except ValueError as exc:
            raise CacheError(str(exc)) from None
    try:
        k, n = shard
    except (TypeError, ValueError):
        raise CacheError(f"shard must be 'K/N' or (K, N), got {shard!r}") from None
    n = _check_int("shard count N", n, 1)
    k = _check_int("shard number K", k, 1, n)
    return k, n


def _build_config(
    listing: Source,
    assigner: CameraAssigner,
    *,
    layout: str,
    size: int,
    fit: str,
    test_fraction: float,
    folds: int,
    compression: str,
    rgb: bool,
    shard: tuple[int, int] | None,
) -> dict[str, Any]:
    return {
        "source": str(listing.location),
        "source_format": listing.format,
        "labels": listing.labels,
        "unc": listing.unc,
        "listing": {
            "n_items": len(listing),
            "n_dropped": listing.n_dropped,
            "sha256": listing.fingerprint(),
        },
        "layout": layout,
        "size": size,
        "fit": fit,
        "cameras": assigner.to_dict(),
        "test_fraction": test_fraction,
        "folds": folds,
        "compression": compression,
        "rgb": rgb,
        "shard": list(shard) if shard is not None else None,
        "rawspace_version": __version__,
    }


def _check_build_options(
    *,
    layout: str,
    fit: str,
    compression: str,
    camera_per: str,
    noise: str | None,
    noise_per: str,
    size: Any,
    jobs: Any,
    folds: Any,
    test_fraction: Any,
) -> tuple[int, int, int]:
    """Check the options of :func:`build`; return ``size``, ``jobs`` and ``folds`` as ints."""
    _check_choice("layout", layout, LAYOUTS)
    _check_choice("fit", fit, FITS)
    _check_choice("compression", compression, COMPRESSIONS)
    _check_choice("camera_per", camera_per, CAMERA_POLICIES)
    _check_choice("noise_per", noise_per, CAMERA_POLICIES)
    _check_choice("noise", noise, (None, *NOISE_MODELS))
    size = _check_int("size", size, MIN_SIDE)
    if size % 2:
        raise CacheError(f"size must be even, got {size}")
    jobs = _check_int("jobs", jobs, 1)
    folds = _check_int("folds", folds, 0, MAX_FOLDS)
    if folds == 1:
        raise CacheError("folds must be 0 (no folds) or at least 2, got 1")
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)):
        raise CacheError(f"test_fraction must be a number, got {test_fraction!r}")
    if not 0.0 <= test_fraction < 1.0:
        raise CacheError(f"test_fraction must be in [0, 1), got {test_fraction}")
    return size, jobs, folds


def build(
    source: str | os.PathLike[str],
    cache: str | os.PathLike[str],
    *,
    labels: LabelMode | None = None,
    unc: UncMode | None = None,
    layout: Layout = "bayer",
    camera: CameraParams | str | os.PathLike[str] | None = None,
    camera_per: CameraPolicy = "dataset",
    noise: NoiseModel | None = None,
    noise_per: CameraPolicy = "image",
    seed: int = 0,
    size: int = 400,
    fit: Fit = "pad",
    test_fraction: float = 0.1,
    folds: int = 5,
    compression: Compression = "none",
    rgb: bool = True,
    jobs: int = 1,
    resume: bool = False,
    overwrite: bool = False,
    shard: str | tuple[int, int] | None = None,
    progress: bool = False,
) -> BuildReport:
    """Build an HDF5 cache of raw (and RGB) images from a labelled SOURCE.

    Parameters
    ----------
    source : path
        A class-folder tree, a Matek-19 root or a CSV file (see :mod:`rawspace.sources`).
    cache : path
        The cache file to write (``.h5``); built as ``cache + ".partial"``, then renamed.
        It must not be an input (the source, the camera file, a listed image) nor lie
        inside a class-folder source. While the build runs it holds ``cache + ".lock"``:
        a second build (or merge) of the same cache is refused.
    labels, unc : str, optional
        Matek-19 label column (``"original"`` or ``"reannotation"``) and UNC handling
        (``"drop"`` or ``"keep"``); see :func:`rawspace.sources.read_source`.
    layout : {"bayer", "packed", "linear"}
        Raw layout (see :func:`rawspace.invert`); samples are uint16.
    camera : CameraParams, path or None
        A fixed camera (or a JSON / raw file to load it from with
        :func:`rawspace.cameras.load_camera`); None draws cameras per ``camera_per``.
    camera_per, noise_per : {"dataset", "group", "image"}
        Scopes of the cameras and of the noise levels (see
        :class:`rawspace.cameras.CameraAssigner`); ``"group"`` needs a source with groups.
    noise : {None, "brooks"}
        Sensor noise.
    seed : int
        Global seed of cameras, noise and splits.
    size : int
        Side S of the square samples (even, >= 16); images are fitted with ``fit``.
    fit : {"pad", "crop", "resize"}
        See :func:`rawspace.images.fit_image`.
    test_fraction : float
        Share of each class in the test set, in [0, 1).
    folds : int
        Cross-validation folds of the training set: 0 (none) or 2 to 127.
    compression : {"none", "lzf", "gzip"}
        Compression of ``raw`` and ``rgb`` (default none: reads at random are ~20×
        faster than with lzf or gzip).
    rgb : bool
        Store the fitted RGB images too.
    jobs : int
        Worker processes (spawned; one Numba thread each) that decode, convert and
        compress; the calling process alone writes the file. 1 works in-process.
    resume : bool
        Continue the partial file of an interrupted build made with the same options.
    overwrite : bool
        Replace an existing cache (at the end, atomically) and discard a partial file.
    shard : "K/N", "auto" or (K, N), optional
        Build only the images of shard K of N (see :func:`rawspace.shards.shard_of`);
        ``"auto"`` takes K and N from a SLURM array job
        (:func:`rawspace.shards.parse_shard`). Merge the N shards with :func:`merge`.
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    BuildReport

    Raises
    ------
    FileNotFoundError
        ``source`` or the camera file does not exist.
    CacheError
        An option is invalid, ``cache`` exists without ``overwrite``, a partial file
        exists without ``resume`` or ``overwrite`` (or was made with other options),
        a group scope was asked of a source without groups, or another build of
        ``cache`` is in progress.
    rawspace.files.OutputError
        ``cache`` (or its partial, lock or failure file) is an input or lies inside a
        class-folder source.
    rawspace.files.WriteError
        A file cannot be written (no permission, a full disk). The partial file keeps
        its last checkpoint: ``resume`` continues from it.
    rawspace.sources.SourceError
        ``source`` cannot be listed.
    """
    size, jobs, folds = _check_build_options(
        layout=layout, fit=fit, compression=compression, camera_per=camera_per,
        noise=noise, noise_per=noise_per, size=size, jobs=jobs, folds=folds,
        test_fraction=test_fraction,
    )  # fmt: skip
    shard_kn = _parse_shard(shard)

    cache = Path(cache)
    if cache.is_dir():
        raise CacheError(f"CACHE {cache} is a folder; name the .h5 file to write")
    listing = read_source(source, labels=labels, unc=unc)
    scopes = ["camera_per"] if camera_per == "group" else []
    if noise is not None and noise_per == "group":
        scopes.append("noise_per")
    if scopes and not listing.has_groups:
        raise CacheError(
            f"{' and '.join(scopes)}='group' needs groups, but SOURCE {source} "
            f"({listing.format}) has none: use a CSV source with a 'group' column"
        )
    inputs = [listing.location, *(listing.root / item.relpath for item in listing.items)]
    if camera is not None and not isinstance(camera, CameraParams):
        inputs.append(Path(camera))
        camera = load_camera(camera)
    try:
        assigner = CameraAssigner(
            camera_per, seed=seed, camera=camera, noise=noise, noise_per=noise_per
        )
    except (TypeError, ValueError) as exc:
        raise CacheError(str(exc)) from None
    config = _build_config(
        listing, assigner, layout=layout, size=size, fit=fit,
        test_fraction=float(test_fraction), folds=folds, compression=compression, rgb=rgb,
        shard=shard_kn,
    )  # fmt: skip
    label_array = np.array([item.label for item in listing.items], dtype=np.int64)
    groups = [item.group for item in listing.items] if listing.has_groups else None
    splits = assign_splits(
        label_array, groups=groups, test_fraction=float(test_fraction), folds=folds, seed=seed
    )
    selected = [
        i for i, item in enumerate(listing.items)
        if shard_kn is None or shard_of(item.relpath, shard_kn[1]) == shard_kn[0]
    ]  # fmt: skip

    partial = cache.with_name(cache.name + PARTIAL_SUFFIX)
    outputs = [cache.with_name(cache.name + suffix) for suffix in (FAILURES_SUFFIX, LOCK_SUFFIX)]
    check_outputs([cache, partial, *outputs], inputs)
    make_folder(cache.parent)
    with writing_lock(cache):
        if cache.exists() and not overwrite:
            raise CacheError(f"{cache} exists; use overwrite (--overwrite) to replace it")
        if partial.exists() and not (resume or overwrite):
            raise CacheError(
                f"{partial} exists (an interrupted build?): use resume (--resume) to continue "
                "it or overwrite (--overwrite) to start again"
            )
        if overwrite and not resume:
            partial.unlink(missing_ok=True)
        writer = CacheWriter(
            partial, config=config, n_rows=len(selected), resume=resume,
            groups=listing.has_groups, failures=_folder_failures(listing),
        )  # fmt: skip
        report = BuildReport(cache=cache, dropped=listing.n_dropped)
        try:
            settings = Settings(str(listing.root), assigner, layout, size, fit, compression, rgb)
            start = writer.n_processed
            tasks = [
                (i, listing.items[i].relpath, listing.items[i].group) for i in selected[start:]
            ]
            _log.info(
                "building %s: %d images to convert (%d done)", printable(cache), len(tasks), start
            )
            t0 = time.perf_counter()
            bar = tqdm(
                total=len(selected), initial=start, disable=not progress, file=sys.stderr,
                unit="img", desc="build",
            )  # fmt: skip
            with bar, closing(results(settings, tasks, jobs)) as converted:
                for result in converted:
                    item = listing.items[result.source_index]
                    _store(writer, listing, item, result, splits)
                    report.processed += 1
                    bar.update(1)
            report.seconds = time.perf_counter() - t0
            writer.checkpoint()
            report.failures = writer.failures()
            writer.finish(
                final_attrs(config, listing.class_names, writer.params(), len(report.failures))
            )
            report.built = writer.n_written
        except KeyboardInterrupt:
            writer.checkpoint()  # keep what was converted: resume continues from here
            raise
        finally:
            writer.close()
        failures_csv = write_failures_csv(cache, report.failures)
        report.failures_csv = failures_csv if report.failures else None
        try:
            os.replace(partial, cache)
        except OSError as exc:
            raise write_error(cache, exc) from None
    return report


def _folder_failures(listing: Source) -> list[tuple[str, str, str]]:
    """``(path, class name, reason)`` of each folder of the source that could not be listed."""
    failures = []
    for path, reason in listing.unreadable:
        top = path.split("/")[0]
        label = top if top in listing.class_names else ""
        failures.append((path, label, f"folder cannot be read: {reason}"))
    return failures


def _store(
    writer: CacheWriter,
    listing: Source,
    item: SourceItem,
    result: Converted | Failed,
    splits: Splits,
) -> None:
    index = result.source_index
    label = listing.class_names[item.label]
    if isinstance(result, Failed):
        _log.info("failed %s: %s", printable(item.relpath), printable(result.reason))
        writer.fail(index, item.relpath, label, result.reason)
        return
    row = {
        "label": item.label,
        "path": item.relpath,
        "params": result.params,
        "split": splits.split[index],
        "fold": splits.fold[index],
        "source_index": index,
        "group": item.group,
    }
    writer.add(row, result.chunks)
