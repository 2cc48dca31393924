"""A raw image and the geometry of its layouts.

:class:`RawImage` holds the samples of a raw image (a Bayer mosaic, its packed
site planes, or camera RGB without a mosaic) together with the camera that made
them; :func:`raw_shape` gives the array shape of a layout for an image size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._checks import check_array, check_choice
from .hints import LAYOUTS, Layout
from .noise import NoiseLevels
from .params import CameraParams

__all__ = ["RAW_DTYPES", "RawImage", "image_size", "raw_shape"]

#: Sample types of raw data: integers between the black and white level, or floats in [0, 1].
RAW_DTYPES = (np.dtype(np.uint16), np.dtype(np.float32))


def raw_shape(layout: Layout, height: int, width: int) -> tuple[int, ...]:
    """Array shape of a ``height × width`` raw image in ``layout``.

    ``(H, W)`` for ``"bayer"``, ``(H/2, W/2, 4)`` for ``"packed"``, ``(H, W, 3)`` for
    ``"linear"``.

    Examples
    --------
    >>> raw_shape("packed", 4, 6)
    (2, 3, 4)
    """
    check_choice("layout", layout, LAYOUTS)
    return {
        "bayer": (height, width),
        "packed": (height // 2, width // 2, 4),
        "linear": (height, width, 3),
    }[layout]


def image_size(layout: Layout, shape: tuple[int, ...]) -> tuple[int, int]:
    """Height and width in pixels of a raw array of ``shape`` in ``layout`` (inverse of
    :func:`raw_shape`).

    Examples
    --------
    >>> image_size("packed", (2, 3, 4))
    (4, 6)
    """
    if layout == "packed":
        return 2 * shape[0], 2 * shape[1]
    return shape[0], shape[1]


@dataclass(frozen=True, eq=False)
class RawImage:
    """A raw image and everything needed to develop or re-create it.

    Attributes
    ----------
    data : numpy.ndarray
        ``"bayer"``: (H, W); ``"packed"``: (H/2, W/2, 4) in site order (0,0), (0,1),
        (1,0), (1,1); ``"linear"``: (H, W, 3) camera RGB. uint16 between
        ``params.black_level`` and ``params.white_level``, or float32 in [0, 1].
    params : CameraParams
        The camera: colour matrix, gains, CFA, levels and curves.
    layout : {"bayer", "packed", "linear"}
    noise : (float, float) or None
        ``(shot, read)`` variances of the noise that was added, or None.
    seed : int or None
        Seed that drew the parameters and noise, when one was given.

    Examples
    --------
    >>> raw = RawImage(np.zeros((4, 6), np.uint16), CameraParams.sample(0))
    >>> raw.shape, raw.layout, raw.to_dict()["dtype"]
    ((4, 6), 'bayer', 'uint16')
    """

    data: np.ndarray
    params: CameraParams
    layout: Layout = "bayer"
    noise: NoiseLevels | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.params, CameraParams):
            raise TypeError(f"params must be a CameraParams, got {type(self.params).__name__}")
        check_choice("layout", self.layout, LAYOUTS)
        ndim = 2 if self.layout == "bayer" else 3
        channels = {"bayer": None, "packed": 4, "linear": 3}[self.layout]
        check_array("data", self.data, ndim=ndim, channels=channels)
        if self.data.dtype not in RAW_DTYPES:
            raise TypeError(f"data must be uint16 or float32, got {self.data.dtype}")
        h, w = image_size(self.layout, self.data.shape)
        if self.layout == "bayer" and (h % 2 or w % 2):
            raise ValueError(f"a Bayer image must have even height and width, got {h}×{w}")
        if h == 0 or w == 0:
            raise ValueError(f"data must not be empty, got shape {self.data.shape}")

    @property
    def shape(self) -> tuple[int, int]:
        """Height and width of the image in pixels (twice the packed array's)."""
        return image_size(self.layout, self.data.shape)

    def to_dict(self) -> dict[str, Any]:
        """Metadata (not the pixels) as plain Python: layout, dtype, shape, noise, seed, params."""
        return {
            "layout": self.layout,
            "dtype": str(self.data.dtype),
            "shape": list(self.data.shape),
            "noise": list(self.noise) if self.noise is not None else None,
            "seed": self.seed,
            "params": self.params.to_dict(),
        }
