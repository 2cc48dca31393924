"""Bayer colour filter arrays: patterns, mosaic, demosaic, pack and unpack.

Patterns are named by their top-left 2×2 block read row by row, as
colour-demosaicing and LibRaw do: ``"RGGB"``, ``"BGGR"``, ``"GRBG"``, ``"GBRG"``.
(OpenCV and kornia name them differently: their ``BG`` is RGGB, ``GB`` is GRBG,
``RG`` is BGGR and ``GR`` is GBRG.)

A packed image is ``(H/2, W/2, 4)`` with the four sites of each 2×2 block in
the order (0,0), (0,1), (1,0), (1,1): R, Gr, Gb, B for RGGB.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from . import _kernels
from ._checks import check_array, check_choice
from .hints import CFA_PATTERNS, DEMOSAIC_METHODS, Cfa, DemosaicMethod

__all__ = [
    "cfa_channels",
    "demosaic",
    "mosaic",
    "mosaic_view",
    "pack",
    "unpack",
]

_CHANNEL = {"R": 0, "G": 1, "B": 2}


def cfa_channels(cfa: Cfa) -> np.ndarray:
    """Channel index (0 R, 1 G, 2 B) of each site of the 2×2 block, shape (2, 2), int64.

    The one map from CFA letters to colour channels; ``cfa_channels(cfa).ravel()``
    lists the sites in packed order (0,0), (0,1), (1,0), (1,1).
    """
    check_choice("cfa", cfa, CFA_PATTERNS)
    return np.array([_CHANNEL[letter] for letter in cfa], dtype=np.int64).reshape(2, 2)


def mosaic_view(data: np.ndarray, layout: Literal["bayer", "packed"]) -> np.ndarray:
    """View ``[..., i, dy, j, dx]`` of pixel ``(2i + dy, 2j + dx)`` of a Bayer or packed array.

    ``data`` is (..., H, W) for ``"bayer"`` or (..., H/2, W/2, 4) for ``"packed"``; leading
    (batch) axes are kept. No data is copied; writes through the view change ``data``.
    """
    if layout == "bayer":
        *lead, h, w = data.shape
        return data.reshape(*lead, h // 2, 2, w // 2, 2)
    if layout == "packed":
        *lead, h2, w2, _ = data.shape
        return data.reshape(*lead, h2, w2, 2, 2).swapaxes(-3, -2)
    raise ValueError(f"layout must be 'bayer' or 'packed' for a mosaic view, got {layout!r}")


def mosaic(rgb: np.ndarray, cfa: Cfa = "RGGB") -> np.ndarray:
    """Sample an RGB image through a Bayer filter.

    Parameters
    ----------
    rgb : numpy.ndarray, shape (H, W, 3)
        Any numeric dtype; any height and width.
    cfa : {"RGGB", "BGGR", "GRBG", "GBRG"}

    Returns
    -------
    numpy.ndarray, shape (H, W), same dtype as ``rgb``
        A new array; the input is not modified.

    Examples
    --------
    >>> import numpy as np
    >>> rgb = np.arange(2 * 2 * 3).reshape(2, 2, 3)
    >>> mosaic(rgb, "RGGB")  # R at (0, 0), G at (0, 1) and (1, 0), B at (1, 1)
    array([[ 0,  4],
           [ 7, 11]])
    """
    rgb = check_array("rgb", rgb, ndim=3, channels=3)
    chan = cfa_channels(cfa)
    out = np.empty(rgb.shape[:2], dtype=rgb.dtype)
    for dy in range(2):
        for dx in range(2):
            out[dy::2, dx::2] = rgb[dy::2, dx::2, chan[dy, dx]]
    return out


def _check_even(name: str, shape: tuple[int, ...]) -> None:
    if shape[0] % 2 or shape[1] % 2 or shape[0] == 0 or shape[1] == 0:
        raise ValueError(
            f"{name} must have even, non-zero height and width for a Bayer mosaic, "
            f"got {shape[0]}×{shape[1]}"
        )


def pack(bayer: np.ndarray, cfa: Cfa = "RGGB") -> np.ndarray:
    """Bayer plane (..., H, W) → packed (..., H/2, W/2, 4) in site order (0,0), (0,1), (1,0), (1,1).

    ``cfa`` is checked but does not change the order: the planes of an RGGB
    mosaic are R, Gr, Gb, B; of a BGGR mosaic B, Gb, Gr, R. Leading (batch) axes
    are kept. Returns a new contiguous array of the input's dtype.

    Examples
    --------
    >>> import numpy as np
    >>> bayer = np.array([[1, 2, 1, 2], [3, 4, 3, 4]])
    >>> pack(bayer).shape, pack(bayer)[0, 1]
    ((1, 2, 4), array([1, 2, 3, 4]))
    """
    bayer = _check_leading("bayer", bayer, ndim=2)
    check_choice("cfa", cfa, CFA_PATTERNS)
    _check_even("bayer", bayer.shape[-2:])
    *lead, h, w = bayer.shape
    packed = np.ascontiguousarray(mosaic_view(bayer, "bayer").swapaxes(-3, -2))
    return packed.reshape(*lead, h // 2, w // 2, 4)


def unpack(packed: np.ndarray, cfa: Cfa = "RGGB") -> np.ndarray:
    """Inverse of :func:`pack`: (..., H/2, W/2, 4) → Bayer plane (..., H, W), a new array.

    Examples
    --------
    >>> import numpy as np
    >>> packed = np.array([[[1, 2, 3, 4]]])
    >>> unpack(packed)
    array([[1, 2],
           [3, 4]])
    >>> bool((pack(unpack(packed)) == packed).all())
    True
    """
    packed = _check_leading("packed", packed, ndim=3)
    if packed.shape[-1] != 4:
        raise ValueError(f"packed must have 4 channels in its last axis, got shape {packed.shape}")
    check_choice("cfa", cfa, CFA_PATTERNS)
    *lead, h2, w2, _ = packed.shape
    if h2 == 0 or w2 == 0:
        raise ValueError(f"packed must not be empty, got shape {packed.shape}")
    bayer = np.ascontiguousarray(mosaic_view(packed, "packed"))
    return bayer.reshape(*lead, 2 * h2, 2 * w2)


def _check_leading(name: str, value: np.ndarray, *, ndim: int) -> np.ndarray:
    """``check_array`` for an image of ``ndim`` dimensions with any leading (batch) axes."""
    if isinstance(value, np.ndarray) and value.ndim > ndim:
        return check_array(name, value, ndim=value.ndim)
    return check_array(name, value, ndim=ndim)


def demosaic(
    bayer: np.ndarray, cfa: Cfa = "RGGB", method: DemosaicMethod = "bilinear"
) -> np.ndarray:
    """Interpolate the missing colours of a Bayer plane.

    Parameters
    ----------
    bayer : numpy.ndarray, shape (H, W)
        Any real dtype, even height and width, finite values.
    cfa : {"RGGB", "BGGR", "GRBG", "GBRG"}
    method : {"bilinear", "malvar2004"}
        Bilinear interpolation (3×3 kernels) or the gradient-corrected linear
        interpolation of Malvar, He and Cutler (ICASSP 2004, 5×5 kernels).

    Returns
    -------
    numpy.ndarray, shape (H, W, 3)
        float64 for float64 input, float32 otherwise. Values are not clipped
        (Malvar's kernels can overshoot the input range).

    Notes
    -----
    Away from the border the result equals colour-demosaicing's functions of the
    same name. At the border the image is mirrored without repeating the edge
    pixel (``… 2 1 | 0 1 2 …``), which keeps the CFA phase, so every missing
    colour is interpolated from true sites of that colour; colour-demosaicing
    repeats the edge (SciPy's ``reflect``), which mixes colours in the outer
    one or two pixels.

    Examples
    --------
    >>> import numpy as np
    >>> flat = mosaic(np.full((4, 4, 3), [0.2, 0.5, 0.8]), "RGGB")
    >>> demosaic(flat, "RGGB")[1, 2]  # a flat colour comes back everywhere
    array([0.2, 0.5, 0.8])
    """
    bayer = check_array("bayer", bayer, ndim=2, finite=True)
    chan = cfa_channels(cfa)
    check_choice("method", method, DEMOSAIC_METHODS)
    _check_even("bayer", bayer.shape)
    dtype = np.float64 if bayer.dtype == np.float64 else np.float32
    out = np.empty((*bayer.shape, 3), dtype=dtype)
    _kernels._demosaic(
        bayer, chan, DEMOSAIC_METHODS.index(method), _kernels.band_count(bayer.shape[0]), out
    )
    return out
