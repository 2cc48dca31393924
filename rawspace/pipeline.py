"""The camera pipeline and its exact inverse: :func:`invert` (sRGB → raw) and
:func:`develop` (raw → sRGB).

``invert`` undoes, in order, the tone curve, the gamma, the sRGB→camera colour
matrix and the white balance and digital gain (highlight-preserving, as Brooks
et al.), clips to [0, 1], samples the Bayer pattern, optionally adds sensor
noise and scales to the raw range. ``develop`` undoes each of these steps:
black/white normalisation, demosaic, the exact inverse of the gain blend,
camera→sRGB, gamma and tone curve.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from . import _kernels
from ._checks import check_array, check_choice, check_unit_range
from .cfa import cfa_channels, mosaic_view, unpack
from .curves import gamma_code, linearize_lut, render_thresholds, tone_code
from .hints import DEMOSAIC_METHODS, LAYOUTS, OUTPUTS, DemosaicMethod, Layout, Output
from .noise import resolve_noise
from .params import CameraParams, as_rng
from .rawimage import RAW_DTYPES, RawImage, raw_shape
from .spec import HIGHLIGHT_START

__all__ = ["develop", "invert"]

_OUT_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32))


def _input_scale(rgb: np.ndarray) -> float:
    if np.issubdtype(rgb.dtype, np.integer):
        return 1.0 / np.iinfo(rgb.dtype).max
    return 1.0


def _check_rgb(rgb: Any) -> np.ndarray:
    rgb = check_array("rgb", rgb, ndim=3, channels=3)
    if np.issubdtype(rgb.dtype, np.integer):
        if rgb.dtype not in (np.dtype(np.uint8), np.dtype(np.uint16)):
            raise TypeError(f"rgb must be uint8, uint16 or float in [0, 1], got {rgb.dtype}")
    elif rgb.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"rgb must be uint8, uint16, float32 or float64, got {rgb.dtype}")
    check_unit_range("rgb", rgb)
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError(f"rgb must not be empty, got shape {rgb.shape}")
    return rgb


def _blend_start(params: CameraParams) -> float:
    """Gray level where the highlight-preserving gain blend starts; inf without the blend."""
    return HIGHLIGHT_START if params.highlight_blend else math.inf


def _site_limits(params: CameraParams) -> np.ndarray:
    """Upper clip of each CFA site before demosaicing (2×2).

    With the highlight blend: inf (the values are clipped to [0, 1] after the
    interpolation). Without it: ``1 / gain`` of the site's channel, so that the
    white-balanced value saturates at 1 before interpolation, as in LibRaw.
    """
    if params.highlight_blend:
        return np.full((2, 2), math.inf)
    return 1.0 / params.wb_gains[cfa_channels(params.cfa)]


def _output_scaling(dtype: np.dtype, lo: float, hi: float) -> tuple[float, float]:
    """Scale and offset that map [0, 1] to [lo, hi] with rounding for integer dtypes."""
    if np.issubdtype(dtype, np.integer):
        return hi - lo, lo + 0.5
    return 1.0, 0.0


def invert(
    rgb: np.ndarray,
    params: CameraParams | None = None,
    *,
    seed: int | np.random.Generator | None = None,
    layout: Layout = "bayer",
    dtype: type | np.dtype = np.uint16,
    noise: Literal["brooks"] | tuple[float, float] | None = None,
) -> RawImage:
    """Turn an sRGB image into the raw image a camera would have recorded.

    Parameters
    ----------
    rgb : numpy.ndarray, shape (H, W, 3)
        Channel-last sRGB image: uint8, uint16, or float32/float64 in [0, 1].
        Not modified.
    params : CameraParams, optional
        The camera. When None, one is drawn with :meth:`CameraParams.sample` from
        ``seed``.
    seed : int or numpy.random.Generator, optional
        Seeds the camera (when ``params`` is None) and then the noise.
    layout : {"bayer", "packed", "linear"}
        ``"bayer"``: (H, W) mosaic; ``"packed"``: (H/2, W/2, 4) planes in site order
        (0,0), (0,1), (1,0), (1,1); ``"linear"``: (H, W, 3) camera RGB, no mosaic.
        Mosaic layouts need even H and W.
    dtype : numpy.uint16 or numpy.float32
        uint16 is rounded to the range ``[black_level, white_level]``; float32 is in [0, 1].
    noise : None, "brooks" or (shot, read)
        Sensor noise added after the mosaic: none, levels drawn as Brooks et al.,
        or explicit variances. The result is clipped to [0, 1] again.

    Returns
    -------
    RawImage
        ``data``, the ``params`` used, ``layout``, the ``noise`` levels and ``seed``.

    Notes
    -----
    Without noise and clipping, :func:`develop` inverts this exactly: a uint8 image
    comes back bit for bit from a float32 linear raw image. Clipping happens where
    a colour lies outside the camera's gamut or saturates after the gains.
    """
    rgb = _check_rgb(rgb)
    check_choice("layout", layout, LAYOUTS)
    dtype = np.dtype(dtype)
    if dtype not in RAW_DTYPES:
        raise TypeError(f"dtype must be numpy.uint16 or numpy.float32, got {dtype}")
    h, w = rgb.shape[:2]
    if layout != "linear" and (h % 2 or w % 2):
        raise ValueError(
            f"rgb must have even height and width for layout={layout!r}, got {h}×{w}; "
            "crop or pad it, or use layout='linear'"
        )
    rng = as_rng(seed)
    if params is None:
        params = CameraParams.sample(rng)
    elif not isinstance(params, CameraParams):
        raise TypeError(f"params must be a CameraParams or None, got {type(params).__name__}")
    levels = resolve_noise(noise, rng)

    out = np.empty(raw_shape(layout, h, w), dtype=dtype)
    noise_z = (
        rng.standard_normal(out.shape).astype(np.float32)
        if levels is not None
        else np.zeros((0,) * out.ndim, dtype=np.float32)
    )
    shot, read = levels if levels is not None else (0.0, 0.0)
    use_lut = np.issubdtype(rgb.dtype, np.integer)
    lut = linearize_lut(rgb.dtype, params.tone, params.gamma) if use_lut else np.zeros(1)
    scale, offset = _output_scaling(dtype, params.black_level, params.white_level)
    inverse_gains = 1.0 / params.wb_gains
    common = (
        rgb, lut, use_lut, _input_scale(rgb), tone_code(params.tone), gamma_code(params.gamma),
        params.rgb2cam, inverse_gains, _blend_start(params),
    )  # fmt: skip
    if layout == "linear":
        _kernels._invert_linear(
            *common, noise_z, levels is not None, shot, read, scale, offset, out
        )
    else:
        z4 = mosaic_view(noise_z, layout) if levels is not None else noise_z.reshape(0, 0, 0, 0)
        _kernels._invert_mosaic(
            *common, cfa_channels(params.cfa), z4, levels is not None, shot, read,
            scale, offset, mosaic_view(out, layout),
        )  # fmt: skip
    return RawImage(
        data=out,
        params=params,
        layout=layout,
        noise=levels,
        seed=int(seed) if isinstance(seed, (int, np.integer)) else None,
    )


def develop(
    raw: RawImage,
    *,
    demosaic: DemosaicMethod = "bilinear",
    output: Output = "srgb",
    dtype: type | np.dtype = np.uint8,
) -> np.ndarray:
    """Render a raw image to sRGB: the exact inverse of :func:`invert`.

    Steps: subtract black and divide by ``white - black`` (negatives become 0),
    demosaic, clip to [0, 1], undo the highlight-preserving gains exactly (the gray
    level of each pixel is solved for), camera→linear sRGB, clip to [0, 1], then
    for ``output="srgb"`` the gamma and the tone curve.

    Parameters
    ----------
    raw : RawImage
        From :func:`invert` or :func:`rawspace.read_raw`. Not modified.
    demosaic : {"bilinear", "malvar2004"}
        Interpolation for the mosaic layouts (ignored for ``"linear"``).
    output : {"srgb", "linear"}
        ``"linear"`` stops before gamma and tone: linear sRGB, as LibRaw's
        linear development with the camera's white balance.
    dtype : numpy.uint8, numpy.uint16 or numpy.float32
        Integers use their full range (rounded); float32 is in [0, 1].

    Returns
    -------
    numpy.ndarray, shape (H, W, 3)
    """
    if not isinstance(raw, RawImage):
        raise TypeError(f"raw must be a RawImage, got {type(raw).__name__}")
    check_choice("demosaic", demosaic, DEMOSAIC_METHODS)
    check_choice("output", output, OUTPUTS)
    dtype = np.dtype(dtype)
    if dtype not in _OUT_DTYPES:
        raise TypeError(f"dtype must be numpy.uint8, numpy.uint16 or numpy.float32, got {dtype}")
    params = raw.params
    data = raw.data
    if data.dtype == np.uint16:
        black = float(params.black_level)
        norm = 1.0 / (params.white_level - params.black_level)
    else:
        check_array("raw.data", data, ndim=data.ndim, finite=True)
        black, norm = 0.0, 1.0
    h, w = raw.shape
    out = np.empty((h, w, 3), dtype=dtype)
    render = output == "srgb"
    if dtype == np.uint8 and render:
        thresholds, grid = render_thresholds(params.tone, params.gamma)
    else:
        thresholds, grid = np.empty(0), np.zeros(1, dtype=np.uint8)
    top = float(np.iinfo(dtype).max) if dtype.kind == "u" else 1.0
    scale, offset = _output_scaling(dtype, 0.0, top)
    curves = (
        render, tone_code(params.tone), gamma_code(params.gamma), thresholds, grid, scale, offset
    )  # fmt: skip
    gains = params.wb_gains
    if raw.layout == "linear":
        _kernels._develop_linear(
            data, black, norm, gains, _blend_start(params), params.cam2rgb, *curves, out
        )
    else:
        bayer = unpack(data, params.cfa) if raw.layout == "packed" else data
        _kernels._develop_mosaic(
            bayer, cfa_channels(params.cfa), DEMOSAIC_METHODS.index(demosaic), black, norm,
            _site_limits(params), gains, _blend_start(params), params.cam2rgb, *curves,
            _kernels.band_count(h), out,
        )  # fmt: skip
    return out
