"""Building a dataset cache from a labelled source, whole or one shard of it.

:func:`build` lists the source, assigns splits and folds over the full listing,
converts the selected images (see :mod:`rawspace.cache.workers`), writes them
into a partial file that it can resume (see :mod:`rawspace.cache.write`), and
renames it to the cache when complete; :func:`shard_of` says which shard an
image belongs to.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import time
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
from tqdm import tqdm

from .._version import __version__
from ..cameras import CameraAssigner, load_camera
from ..files import check_outputs, file_digest, make_folder, printable, write_error
from ..params import CameraParams
from ..shards import shard_of
from ..sources import Source, read_source
from ..splits import Splits, assign_splits
from .format import (
    FAILURES_SUFFIX,
    LOCK_SUFFIX,
    PARTIAL_SUFFIX,
    CacheError,
    EmptyBuildError,
    writing_lock,
)
from .options import BuildOptions
from .workers import Conversion, Converted, Failed, Settings, Task
from .write import CacheWriter, final_attrs, write_failures_csv

__all__ = ["BuildOptions", "BuildReport", "build", "shard_of"]

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
    resumed : int
        Images taken over from the partial file of an interrupted build (0 when it
        started from scratch); those after the first whose file changed since are not.
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
    resumed: int = 0
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


def _build_config(listing: Source, assigner: CameraAssigner, opts: BuildOptions) -> dict[str, Any]:
    """The resolved configuration recorded in the cache: what its samples are made from."""
    config = {
        "source": str(listing.location),
        "source_format": listing.format,
        "labels": listing.labels,
        "unc": listing.unc,
        "listing": {
            "n_items": len(listing),
            "n_dropped": listing.n_dropped,
            "sha256": listing.fingerprint(),
        },
        "layout": opts.layout,
        "size": opts.size,
        "fit": opts.fit,
        "cameras": assigner.to_dict(),
        "test_fraction": opts.test_fraction,
        "folds": opts.folds,
        "compression": opts.compression,
        "rgb": opts.rgb,
        "shard": list(opts.shard) if opts.shard is not None else None,
        "rawspace_version": __version__,
    }
    if opts.page is not None:
        config["page"] = opts.page
    if listing.has_splits:  # a pinned test set: test_fraction played no part
        config["test_fraction"] = None
        config["pinned_split"] = (
            str(opts.test_list) if opts.test_list is not None else "split column"
        )
    if opts.per_class is not None or opts.limit is not None:
        config["subset"] = {"per_class": opts.per_class, "limit": opts.limit}
    return config


def build(
    source: str | os.PathLike[str],
    cache: str | os.PathLike[str],
    options: BuildOptions | None = None,
    **overrides: Any,
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
    options : BuildOptions, optional
        How to build (the defaults of :class:`BuildOptions` when None).
    **overrides
        Fields of :class:`BuildOptions` (``size=64``, ``jobs=2``, ...), replacing those
        of ``options``.

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
    EmptyBuildError
        Every image selected for the build failed: nothing is written (the message
        gives the first failure and asks whether SOURCE is the dataset root).
    rawspace.files.OutputError
        ``cache`` (or its partial, lock or failure file) is an input or lies inside a
        class-folder source.
    rawspace.files.WriteError
        A file cannot be written (no permission, a full disk). The partial file keeps
        its last checkpoint: ``resume`` continues from it.
    rawspace.sources.SourceError
        ``source`` cannot be listed.

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
    >>> from rawspace.cache import BuildOptions, build
    >>> report = build(root / "cells", root / "cells.h5", BuildOptions(size=32), folds=2)
    >>> report.built, report.failed
    (10, 0)
    """
    opts = BuildOptions.of(options, **overrides)

    cache = Path(cache)
    if cache.is_dir():
        raise CacheError(f"CACHE {cache} is a folder; name the .h5 file to write")
    plan = _plan(source, opts)
    partial = cache.with_name(cache.name + PARTIAL_SUFFIX)
    outputs = [cache.with_name(cache.name + suffix) for suffix in (FAILURES_SUFFIX, LOCK_SUFFIX)]
    check_outputs([cache, partial, *outputs], plan.inputs)
    make_folder(cache.parent)
    with writing_lock(cache), ExitStack() as stack:
        if cache.exists() and not opts.overwrite:
            raise CacheError(f"{cache} exists; use overwrite (--overwrite) to replace it")
        if partial.exists() and not (opts.resume or opts.overwrite):
            raise CacheError(
                f"{partial} exists (an interrupted build?): use resume (--resume) to continue "
                "it or overwrite (--overwrite) to start again"
            )
        if opts.overwrite and not opts.resume:
            partial.unlink(missing_ok=True)
        if opts.resume and not partial.exists():
            _log.warning("no partial build %s to resume: starting from scratch", printable(partial))
        listing = plan.listing
        # The workers start now: they import and compile while the cache is prepared.
        settings = dataclasses.replace(plan.settings, partial=str(partial))
        conversion = stack.enter_context(Conversion(settings, opts.jobs))
        writer = CacheWriter(
            partial, config=plan.config, n_rows=len(plan.selected), resume=opts.resume,
            groups=listing.has_groups, failures=_folder_failures(listing),
        )  # fmt: skip
        report = BuildReport(cache=cache, dropped=listing.n_dropped)
        nothing = ""
        try:
            _rewind_changed(writer, plan)
            report.resumed = writer.n_processed
            _convert(writer, conversion, plan, opts, report)
            writer.checkpoint()
            report.failures = writer.failures()
            if plan.selected and not writer.n_written:
                nothing = _nothing_built(source, listing, report.failures)
            else:
                attrs = final_attrs(
                    plan.config, listing.class_names, writer.params(), len(report.failures)
                )
                indices = writer.file["source_index"][: writer.n_written]
                writer.finish(attrs, np.searchsorted(np.asarray(plan.selected), indices))
                report.built = writer.n_written
        except KeyboardInterrupt:
            writer.checkpoint()  # keep what was converted: resume continues from here
            raise
        finally:
            writer.close()
        if nothing:
            partial.unlink(missing_ok=True)  # no sample: leave nothing behind
            raise EmptyBuildError(nothing)
        failures_csv = write_failures_csv(cache, report.failures)
        report.failures_csv = failures_csv if report.failures else None
        try:
            os.replace(partial, cache)
        except OSError as exc:
            raise write_error(cache, exc) from None
    return report


@dataclass(frozen=True)
class _Plan:
    """What a build converts: the listing, cameras, configuration, splits, selected items."""

    listing: Source
    settings: Settings
    config: dict[str, Any]
    splits: Splits
    selected: list[int]  # positions in the listing, increasing
    inputs: list[Path]  # files the outputs must not overwrite


def _plan(source: str | os.PathLike[str], opts: BuildOptions) -> _Plan:
    listing = read_source(
        source, labels=opts.labels, unc=opts.unc, test_list=opts.test_list,
        per_class=opts.per_class, limit=opts.limit,
    )  # fmt: skip
    scopes = ["camera_per"] if opts.camera_per == "group" else []
    if opts.noise is not None and opts.noise_per == "group":
        scopes.append("noise_per")
    if scopes and not listing.has_groups:
        raise CacheError(
            f"{' and '.join(scopes)}='group' needs groups, but SOURCE {source} "
            f"({listing.format}) has none: use a CSV source with a 'group' column"
        )
    inputs = [listing.location, *(listing.root / item.relpath for item in listing.items)]
    camera = opts.camera
    if camera is not None and not isinstance(camera, CameraParams):
        inputs.append(Path(camera))
        camera = load_camera(camera)
    try:
        assigner = CameraAssigner(
            opts.camera_per, seed=opts.seed, camera=camera, noise=opts.noise,
            noise_per=opts.noise_per, cameras=opts.cameras,
        )  # fmt: skip
    except (TypeError, ValueError) as exc:
        raise CacheError(str(exc)) from None
    label_array = np.array([item.label for item in listing.items], dtype=np.int64)
    groups = [item.group or "" for item in listing.items] if listing.has_groups else None
    splits = assign_splits(
        label_array, groups=groups, test_fraction=opts.test_fraction, folds=opts.folds,
        seed=opts.seed, test=listing.test_mask(),
    )  # fmt: skip
    shard = cast("tuple[int, int] | None", opts.shard)  # resolved when the options were made
    selected = [
        i for i, item in enumerate(listing.items)
        if shard is None or shard_of(item.relpath, shard[1]) == shard[0]
    ]  # fmt: skip
    settings = Settings(
        str(listing.root), assigner, opts.layout, opts.size, opts.fit, opts.compression,
        opts.rgb, opts.page,
    )  # fmt: skip
    config = _build_config(listing, assigner, opts)
    return _Plan(listing, settings, config, splits, selected, inputs)


def _rewind_changed(writer: CacheWriter, plan: _Plan) -> None:
    """Convert again, from the first one, the images of a resumed build whose file changed."""
    done = writer.n_processed
    if not done:
        return
    root = plan.listing.root
    digests = writer.processed_digests()
    for position, index in enumerate(plan.selected[:done]):
        recorded = digests.get(index)
        relpath = plan.listing.items[index].relpath
        try:
            now = file_digest(root / relpath)
        except OSError:
            now = ""
        if now != recorded:
            _log.warning(
                "%s changed since it was converted: converting again from it (%d of %d done "
                "images kept)", printable(relpath), position, done,
            )  # fmt: skip
            writer.rewind(position)
            return


def _convert(
    writer: CacheWriter,
    conversion: Conversion,
    plan: _Plan,
    opts: BuildOptions,
    report: BuildReport,
) -> None:
    """Convert the images not yet processed and store them in ``writer``."""
    start = writer.n_processed
    items = plan.listing.items
    todo = plan.selected[start:]
    if writer.in_place:  # each image is written where its row lies, by its converter
        offsets = writer.chunk_offsets(range(start, len(plan.selected)))
        writer.allocate_chunks(offsets)
        tasks: list[Task] = [
            (i, items[i].relpath, items[i].group, offset)
            for i, offset in zip(todo, offsets, strict=True)
        ]
    else:
        tasks = [(i, items[i].relpath, items[i].group, None) for i in todo]
    _log.info(
        "building %s: %d images to convert (%d done)",
        printable(writer.partial), len(tasks), start,
    )  # fmt: skip
    t0 = time.perf_counter()
    bar = tqdm(
        total=len(plan.selected), initial=start, disable=not opts.progress, file=sys.stderr,
        unit="img", desc="build",
    )  # fmt: skip
    with bar, closing(conversion.results(tasks)) as converted:
        try:
            for result in converted:
                _store(writer, plan, result)
                report.processed += 1
                bar.update(1)
        except OSError as exc:  # an image written in place could not be
            writer.write_failed(exc)
            raise write_error(writer.partial, exc) from None
    report.seconds = time.perf_counter() - t0


def _nothing_built(
    source: str | os.PathLike[str], listing: Source, failures: list[tuple[str, str, str]]
) -> str:
    """Why a build in which every image failed writes nothing, and what to check."""
    images = [failure for failure in failures if not failure[2].startswith("folder cannot")]
    path, _, reason = images[0] if images else failures[0]
    hint = "is SOURCE the dataset root?"
    if listing.format == "csv":
        hint = "are the CSV's paths relative to its folder?"
    return (
        f"no image of SOURCE {source} could be read ({len(images)} of {len(listing)} failed, "
        f"e.g. {printable(path)}: {printable(reason)}): {hint} Nothing was written"
    )


def _folder_failures(listing: Source) -> list[tuple[str, str, str]]:
    """``(path, class name, reason)`` of each folder of the source that could not be listed."""
    failures = []
    for path, reason in listing.unreadable:
        top = path.split("/")[0]
        label = top if top in listing.class_names else ""
        failures.append((path, label, f"folder cannot be read: {reason}"))
    return failures


def _store(writer: CacheWriter, plan: _Plan, result: Converted | Failed) -> None:
    index = result.source_index
    listing = plan.listing
    item = listing.items[index]
    label = listing.class_names[item.label]
    if isinstance(result, Failed):
        _log.info("failed %s: %s", printable(item.relpath), printable(result.reason))
        writer.fail(index, item.relpath, label, result.reason, result.source_digest)
        return
    row = {
        "label": item.label,
        "path": item.relpath,
        "params": result.params,
        "camera": result.camera,
        "split": plan.splits.split[index],
        "fold": plan.splits.fold[index],
        "source_index": index,
        "group": item.group,
        "source_digest": result.source_digest,
        "digest": result.digest,
    }
    writer.add(row, result.chunks)
