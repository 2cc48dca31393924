"""The options of a build as one frozen, validated record (:class:`BuildOptions`).

:func:`rawspace.cache.build` takes a :class:`BuildOptions`, keyword arguments, or both
(keywords override the record's fields); every value is checked once, here, and an
invalid one raises a :class:`~rawspace.cache.format.CacheError` naming the field and
what it received.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..hints import (
    CAMERA_POLICIES,
    CAMERA_SOURCES,
    COMPRESSIONS,
    FITS,
    LABEL_MODES,
    LAYOUTS,
    NOISE_MODELS,
    UNC_MODES,
    CameraPolicy,
    CameraSource,
    Compression,
    Fit,
    LabelMode,
    Layout,
    NoiseModel,
    UncMode,
)
from ..images import MIN_SIDE
from ..params import CameraParams
from ..shards import parse_shard
from ..splits import MAX_FOLDS
from .format import CacheError

__all__ = ["BuildOptions"]


def _check_int(name: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise CacheError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"between {low} and {high}"
        raise CacheError(f"{name} must be {bound}, got {value}")
    return int(value)


def _check_optional_count(name: str, value: Any) -> int | None:
    return None if value is None else _check_int(name, value, 1)


def _check_choice(name: str, value: Any, choices: Sequence[Any]) -> None:
    if value not in choices:
        raise CacheError(f"{name} must be one of {tuple(choices)}, got {value!r}")


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise CacheError(f"{name} must be True or False, got {value!r}")


def _check_seed(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise CacheError(f"seed must be a non-negative integer, got {value!r}")
    return int(value)


def _parse_shard(shard: Any) -> tuple[int, int] | None:
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


@dataclass(frozen=True)
class BuildOptions:
    """How :func:`rawspace.cache.build` turns a labelled source into a cache.

    Every field is checked when the record is made; ``size``, ``folds``, ``jobs``,
    ``seed`` and ``page`` become ``int``, ``test_fraction`` ``float`` and ``shard``
    ``(K, N)`` or None (``"auto"`` is resolved from the SLURM environment then).

    Attributes
    ----------
    labels, unc : str, optional
        Matek-19 label column (``"original"`` or ``"reannotation"``) and UNC handling
        (``"drop"`` or ``"keep"``); see :func:`rawspace.sources.read_source`.
    test_list : path, optional
        Pin the test set to the images this file names (a CSV with a ``path`` column, or
        one path a line), e.g. a published split; a CSV source may pin it instead with a
        ``split`` column. Only the folds are drawn then, and ``test_fraction`` is unused.
    per_class, limit : int, optional
        Keep that many images of each class / in all, chosen by a hash of their relative
        path (see :func:`rawspace.sources.read_source`).
    layout : {"bayer", "packed", "linear"}
        Raw layout (see :func:`rawspace.invert`); samples are uint16.
    camera : CameraParams, path or None
        A fixed camera (or a JSON / raw file to load it from with
        :func:`rawspace.cameras.load_camera`); None draws cameras per ``camera_per``.
    cameras : {"brooks", "catalogue", "training", "held-out"}
        Where sampled cameras come from: Brooks et al.'s mixes of four matrices, or real
        cameras of the catalogue (all, its training part or its held-out part; see
        :mod:`rawspace.catalogue`).
    camera_per, noise_per : {"dataset", "group", "image"}
        Scopes of the cameras and of the noise levels (see
        :class:`rawspace.cameras.CameraAssigner`); ``"group"`` needs a source with groups.
    noise : {None, "brooks", "camera"}
        Sensor noise: none, drawn as Brooks et al., or the camera's own noise profile.
    seed : int
        Global seed of cameras, noise and splits (>= 0).
    size : int
        Side S of the square samples (even, >= 16); images are fitted with ``fit``.
    fit : {"pad", "crop", "resize"}
        See :func:`rawspace.images.fit_image`.
    page : int, optional
        Page of multi-page images (TIFF stacks) to convert, from 0; None refuses them.
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
        Processes that decode, convert and digest the images, one Numba thread each:
        the calling process and ``jobs - 1`` spawned workers, which write their images
        into the file (uncompressed) or compress them for the calling process to
        write; 1 works in-process. The cache is the same for any number of jobs.
    resume : bool
        Continue the partial file of an interrupted build made with the same options;
        rows whose source file changed since are converted again.
    overwrite : bool
        Replace an existing cache (at the end, atomically) and discard a partial file.
    shard : "K/N", "auto" or (K, N), optional
        Build only the images of shard K of N (see :func:`rawspace.shards.shard_of`).
    progress : bool
        Show a progress bar on stderr.

    Examples
    --------
    >>> from rawspace.cache import BuildOptions
    >>> options = BuildOptions(size=64, folds=0)
    >>> options.size, options.layout, options.shard
    (64, 'bayer', None)
    >>> options.replace(shard="2/4").shard
    (2, 4)
    >>> BuildOptions(size=63)
    Traceback (most recent call last):
    ...
    rawspace.cache.format.CacheError: size must be even, got 63
    """

    labels: LabelMode | None = None
    unc: UncMode | None = None
    test_list: str | os.PathLike[str] | None = None
    per_class: int | None = None
    limit: int | None = None
    layout: Layout = "bayer"
    camera: CameraParams | str | os.PathLike[str] | None = None
    cameras: CameraSource = "brooks"
    camera_per: CameraPolicy = "dataset"
    noise: NoiseModel | None = None
    noise_per: CameraPolicy = "image"
    seed: int = 0
    size: int = 400
    fit: Fit = "pad"
    page: int | None = None
    test_fraction: float = 0.1
    folds: int = 5
    compression: Compression = "none"
    rgb: bool = True
    jobs: int = 1
    resume: bool = False
    overwrite: bool = False
    shard: str | tuple[int, int] | None = None
    progress: bool = False

    def __post_init__(self) -> None:
        _check_choice("labels", self.labels, (None, *LABEL_MODES))
        _check_choice("unc", self.unc, (None, *UNC_MODES))
        _check_choice("layout", self.layout, LAYOUTS)
        _check_choice("fit", self.fit, FITS)
        _check_choice("compression", self.compression, COMPRESSIONS)
        _check_choice("camera_per", self.camera_per, CAMERA_POLICIES)
        _check_choice("noise_per", self.noise_per, CAMERA_POLICIES)
        _check_choice("noise", self.noise, (None, *NOISE_MODELS))
        _check_choice("cameras", self.cameras, CAMERA_SOURCES)
        if self.test_list is not None and not isinstance(self.test_list, (str, os.PathLike)):
            raise CacheError(f"test_list must be a path or None, got {self.test_list!r}")
        camera = self.camera
        if camera is not None and not isinstance(camera, (CameraParams, str, os.PathLike)):
            raise CacheError(
                f"camera must be CameraParams, a path or None, got {type(camera).__name__}"
            )
        size = _check_int("size", self.size, MIN_SIDE)
        if size % 2:
            raise CacheError(f"size must be even, got {size}")
        folds = _check_int("folds", self.folds, 0, MAX_FOLDS)
        if folds == 1:
            raise CacheError("folds must be 0 (no folds) or at least 2, got 1")
        test_fraction = self.test_fraction
        if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)):
            raise CacheError(f"test_fraction must be a number, got {test_fraction!r}")
        if not 0.0 <= test_fraction < 1.0:
            raise CacheError(f"test_fraction must be in [0, 1), got {test_fraction}")
        for name in ("rgb", "resume", "overwrite", "progress"):
            _check_bool(name, getattr(self, name))
        values = {
            "size": size,
            "folds": folds,
            "test_fraction": float(test_fraction),
            "seed": _check_seed(self.seed),
            "jobs": _check_int("jobs", self.jobs, 1),
            "page": None if self.page is None else _check_int("page", self.page, 0),
            "per_class": None
            if self.per_class is None
            else _check_int("per_class", self.per_class, 1),
            "limit": None if self.limit is None else _check_int("limit", self.limit, 1),
            "shard": _parse_shard(self.shard),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @classmethod
    def of(cls, options: BuildOptions | None = None, **overrides: Any) -> BuildOptions:
        """``options`` (or the defaults) with the fields named in ``overrides`` replaced.

        Raises
        ------
        CacheError
            An override names no field, or a value is invalid.
        """
        if options is not None and not isinstance(options, BuildOptions):
            raise CacheError(f"options must be BuildOptions or None, got {type(options).__name__}")
        base = options if options is not None else cls()
        return base.replace(**overrides) if overrides else base

    def replace(self, **changes: Any) -> BuildOptions:
        """A copy with the fields named in ``changes`` replaced (and checked)."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise CacheError(
                f"unknown build option(s) {', '.join(unknown)}; the options are "
                f"{', '.join(f.name for f in dataclasses.fields(self))}"
            )
        return dataclasses.replace(self, **changes)
