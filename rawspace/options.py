"""How images become raw: the options that :func:`rawspace.convert.convert` and
:func:`rawspace.cache.build` share, as one frozen, validated record.

:class:`ConversionOptions` holds the camera policy, the layout, the size and fit,
the sensor noise, the seed and the page of multi-page images. Both commands
extend it with their own options (:class:`rawspace.convert.ConvertOptions` for
``convert``) and accept the record beside keyword arguments, which override its
fields. Every field is checked when the record is made: an invalid value raises
a ``ValueError`` (or ``TypeError`` for a value of the wrong type) that names the
field and the value received.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, TypeVar

import numpy as np

from ._checks import check_choice
from .hints import (
    CAMERA_POLICIES,
    CAMERA_SOURCES,
    FITS,
    LAYOUTS,
    NOISE_MODELS,
    CameraPolicy,
    CameraSource,
    Fit,
    Layout,
    NoiseModel,
)
from .images import MIN_SIDE
from .params import CameraParams

__all__ = ["ConversionKeywords", "ConversionOptions", "check_count", "with_overrides"]

_Options = TypeVar("_Options", bound="ConversionOptions")


def check_count(name: str, value: Any, *, low: int = 0, optional: bool = False) -> int | None:
    """``value`` as an int if it is an integer >= ``low`` (or None when ``optional``).

    Raises
    ------
    ValueError
        ``value`` is not such an integer; the message names ``name`` and the value.

    Examples
    --------
    >>> check_count("jobs", 2, low=1)
    2
    >>> check_count("page", None, optional=True) is None
    True
    """
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        kind = {0: "a non-negative integer", 1: "a positive integer"}.get(
            low, f"an integer >= {low}"
        )
        raise ValueError(f"{name} must be {'None or ' if optional else ''}{kind}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class ConversionOptions:
    """How every image of a conversion or a cache becomes raw.

    Attributes
    ----------
    layout : {"bayer", "packed", "linear"}
        Raw layout (see :func:`rawspace.invert`).
    camera : CameraParams, pathlib.Path or None
        A fixed camera, or the JSON / raw file to load it from (a ``str`` is taken
        as a path; see :func:`rawspace.cameras.load_camera`); None draws cameras
        per ``camera_per``.
    cameras : {"brooks", "catalogue", "training", "held-out"}
        Where sampled cameras come from: Brooks et al.'s mixes of four matrices, or real
        cameras of the catalogue (all, its training part or its held-out part; see
        :mod:`rawspace.catalogue`).
    camera_per, noise_per : {"dataset", "group", "image"}
        Scopes of the cameras and of the noise levels (see
        :class:`rawspace.cameras.CameraAssigner`).
    noise : {None, "brooks", "camera"}
        Sensor noise: none, drawn as Brooks et al., or the camera's own noise profile.
    seed : int
        Global seed of every draw (cameras, noise and, for a cache, splits); >= 0.
    size : int or None
        Side of the square images (even, >= 16), or None to keep each image's
        size cropped to even height and width (``convert`` only).
    fit : {"pad", "crop", "resize"}
        How images are brought to ``size`` (see :func:`rawspace.images.fit_image`).
    page : int or None
        The page (0 = the first) of multi-page images (TIFF stacks) to convert;
        None refuses multi-page images (see :func:`rawspace.images.read_image`).

    Examples
    --------
    >>> options = ConversionOptions(layout="packed", size=64)
    >>> options.layout, options.size, options.page
    ('packed', 64, None)
    >>> ConversionOptions(size=15)
    Traceback (most recent call last):
    ...
    ValueError: size must be None or an even integer >= 16, got 15
    """

    layout: Layout = "bayer"
    camera: CameraParams | Path | None = None
    cameras: CameraSource = "brooks"
    camera_per: CameraPolicy = "dataset"
    noise: NoiseModel | None = None
    noise_per: CameraPolicy = "image"
    seed: int = 0
    size: int | None = 400
    fit: Fit = "pad"
    page: int | None = None

    def __post_init__(self) -> None:
        check_choice("layout", self.layout, LAYOUTS)
        if isinstance(self.camera, (str, os.PathLike)):
            object.__setattr__(self, "camera", Path(self.camera))
        elif self.camera is not None and not isinstance(self.camera, CameraParams):
            raise TypeError(
                f"camera must be None, a CameraParams or a path, got {type(self.camera).__name__}"
            )
        check_choice("cameras", self.cameras, CAMERA_SOURCES)
        check_choice("camera_per", self.camera_per, CAMERA_POLICIES)
        if self.noise is not None:
            check_choice("noise", self.noise, NOISE_MODELS)
        check_choice("noise_per", self.noise_per, CAMERA_POLICIES)
        object.__setattr__(self, "seed", check_count("seed", self.seed))
        size = self.size
        if size is not None and (
            isinstance(size, bool)
            or not isinstance(size, (int, np.integer))
            or size < MIN_SIDE
            or size % 2
        ):
            raise ValueError(f"size must be None or an even integer >= {MIN_SIDE}, got {size!r}")
        object.__setattr__(self, "size", None if size is None else int(size))
        check_choice("fit", self.fit, FITS)
        object.__setattr__(self, "page", check_count("page", self.page, optional=True))

    @property
    def camera_file(self) -> Path | None:
        """The file the fixed camera is loaded from (an input of the run), or None."""
        return self.camera if isinstance(self.camera, Path) else None

    def camera_params(self) -> CameraParams | None:
        """The fixed camera (loaded from :attr:`camera_file` if need be), or None."""
        if isinstance(self.camera, Path):
            from .cameras import load_camera

            return load_camera(self.camera)
        return self.camera


class ConversionKeywords(TypedDict, total=False):
    """The fields of :class:`ConversionOptions` as keyword arguments (for ``**overrides``)."""

    layout: Layout
    camera: CameraParams | str | os.PathLike[str] | None
    camera_per: CameraPolicy
    noise: NoiseModel | None
    noise_per: CameraPolicy
    seed: int
    size: int | None
    fit: Fit
    page: int | None


def with_overrides(
    kind: type[_Options], options: _Options | None, overrides: dict[str, Any]
) -> _Options:
    """``options`` (or ``kind()``) with the fields named in ``overrides`` replaced.

    Raises
    ------
    TypeError
        ``options`` is not a ``kind``, or an override names no field of ``kind``.
    ValueError
        A value is invalid (the message names the field and the value).

    Examples
    --------
    >>> with_overrides(ConversionOptions, None, {"seed": 3}).seed
    3
    >>> with_overrides(ConversionOptions, None, {"colour": "red"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: unknown option 'colour'; options are layout, camera, ..., fit, page
    """
    if options is None:
        options = kind()
    elif not isinstance(options, kind):
        raise TypeError(f"options must be a {kind.__name__}, got {type(options).__name__}")
    names = [f.name for f in dataclasses.fields(kind)]
    for name in overrides:
        if name not in names:
            raise TypeError(f"unknown option {name!r}; options are {', '.join(names)}")
    return dataclasses.replace(options, **overrides) if overrides else options
