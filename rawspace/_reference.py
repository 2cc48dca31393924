"""Vectorised NumPy twins of the Numba kernels in `rawspace._kernels`.

They follow the same formulas step by step on whole arrays (one temporary image
per step), so the tests can compare each kernel with an independent
implementation and the benchmarks can time the fused kernels against a
straightforward NumPy pipeline. Inputs are assumed valid (no argument checks).
"""

from __future__ import annotations

import numpy as np

from .cfa import cfa_channels, mosaic, pack, unpack
from .curves import gamma_compress, gamma_expand, inverse_tone_map, tone_map
from .hints import Cfa, DemosaicMethod, Layout, Output
from .params import CameraParams
from .spec import HIGHLIGHT_START, HIGHLIGHT_WIDTH

__all__ = [
    "apply_inverse_gains",
    "demosaic_reference",
    "develop_reference",
    "invert_reference",
    "undo_inverse_gains",
]


def _highlight_mask(gray: np.ndarray) -> np.ndarray:
    return (np.maximum(gray - HIGHLIGHT_START, 0.0) / HIGHLIGHT_WIDTH) ** 2


def apply_inverse_gains(cam: np.ndarray, gains: np.ndarray, *, blend: bool = True) -> np.ndarray:
    """Brooks' highlight-preserving inverse gains on (..., 3): ``x * max(m + (1 - m) g, g)``.

    ``blend=False`` is the plain product ``x * g``.
    """
    if not blend:
        return cam * gains
    mask = _highlight_mask(cam.mean(axis=-1, keepdims=True))
    return cam * np.maximum(mask + (1.0 - mask) * gains, gains)


def undo_inverse_gains(
    raw: np.ndarray, gains: np.ndarray, *, blend: bool = True, iterations: int = 60
) -> np.ndarray:
    """Invert :func:`apply_inverse_gains` for non-negative (..., 3) values.

    Outside the highlight blend this is ``raw / gains``; inside, the gray level
    ``t`` solving ``mean(raw / f(t)) = t`` is found by bisection on
    ``(0.9, mean(raw / gains)]`` (the left side does not increase with ``t``).
    """
    out = raw / gains
    t0 = out.mean(axis=-1)
    blend = (t0 > HIGHLIGHT_START) & blend
    if not np.any(blend):
        return out
    r = raw[blend]
    slope = np.maximum(1.0 - gains, 0.0)
    lo = np.full(r.shape[0], HIGHLIGHT_START)
    hi = t0[blend]
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        f = gains + _highlight_mask(mid)[:, None] * slope
        above = (r / f).mean(axis=-1) > mid
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    t = 0.5 * (lo + hi)
    out[blend] = r / (gains + _highlight_mask(t)[:, None] * slope)
    return out


def _to_unit(rgb: np.ndarray) -> np.ndarray:
    if np.issubdtype(rgb.dtype, np.integer):
        return rgb.astype(np.float64) / np.iinfo(rgb.dtype).max
    return rgb.astype(np.float64)


def _scale(values: np.ndarray, dtype: np.dtype, lo: float, hi: float) -> np.ndarray:
    if np.issubdtype(dtype, np.integer):
        return np.floor(values * (hi - lo) + lo + 0.5).astype(dtype)
    return values.astype(dtype)


def invert_reference(
    rgb: np.ndarray,
    params: CameraParams,
    *,
    layout: Layout = "bayer",
    dtype: type | np.dtype = np.uint16,
    noise: tuple[float, float] | None = None,
    noise_z: np.ndarray | None = None,
) -> np.ndarray:
    """NumPy twin of `_invert_mosaic` / `_invert_linear`; returns the raw array.

    ``noise_z`` are the standard normal draws (shape of the output) used with
    ``noise = (shot, read)``.
    """
    linear = gamma_expand(inverse_tone_map(_to_unit(rgb), params.tone), params.gamma)
    cam = linear @ params.rgb2cam.T
    gains = 1.0 / params.wb_gains
    cam = np.clip(apply_inverse_gains(cam, gains, blend=params.highlight_blend), 0.0, 1.0)
    if layout == "bayer":
        out = mosaic(cam, params.cfa)
    elif layout == "packed":
        out = pack(mosaic(cam, params.cfa), params.cfa)
    else:
        out = cam
    if noise is not None:
        if noise_z is None:
            raise ValueError("noise_z must be given with noise")
        shot, read = noise
        sigma = np.sqrt(np.maximum(out * shot + read, 0.0))
        out = np.clip(out + sigma * noise_z.astype(np.float64), 0.0, 1.0)
    return _scale(out, np.dtype(dtype), params.black_level, params.white_level)


def demosaic_reference(bayer: np.ndarray, cfa: Cfa, method: DemosaicMethod) -> np.ndarray:
    """NumPy twin of `_demosaic`: (H, W) → (H, W, 3) float64, mirrored borders."""
    chan = cfa_channels(cfa)
    h, w = bayer.shape
    p = np.pad(bayer.astype(np.float64), 2, mode="reflect")

    def at(dy: int, dx: int) -> np.ndarray:
        return p[2 + dy : 2 + dy + h, 2 + dx : 2 + dx + w]

    v = at(0, 0)
    cross = at(-1, 0) + at(1, 0) + at(0, -1) + at(0, 1)
    diag = at(-1, -1) + at(-1, 1) + at(1, -1) + at(1, 1)
    if method == "bilinear":
        along_row = 0.5 * (at(0, -1) + at(0, 1))
        along_col = 0.5 * (at(-1, 0) + at(1, 0))
        green = 0.25 * cross
        other = 0.25 * diag
    else:
        far_row = at(0, -2) + at(0, 2)
        far_col = at(-2, 0) + at(2, 0)
        base = 5.0 * v - diag
        along_row = (base + 4.0 * (at(0, -1) + at(0, 1)) - far_row + 0.5 * far_col) / 8.0
        along_col = (base + 4.0 * (at(-1, 0) + at(1, 0)) - far_col + 0.5 * far_row) / 8.0
        green = (4.0 * v + 2.0 * cross - (far_row + far_col)) / 8.0
        other = (6.0 * v + 2.0 * diag - 1.5 * (far_row + far_col)) / 8.0

    site = np.tile(chan, (h // 2, w // 2))
    red_row = np.tile((chan == 0).any(axis=1), h // 2)[:, None]
    out = np.empty((h, w, 3))
    for c in range(3):
        out[..., c] = np.where(site == c, v, 0.0)
    g_site = site == 1
    out[..., 0] = np.where(g_site & red_row, along_row, out[..., 0])
    out[..., 0] = np.where(g_site & ~red_row, along_col, out[..., 0])
    out[..., 2] = np.where(g_site & red_row, along_col, out[..., 2])
    out[..., 2] = np.where(g_site & ~red_row, along_row, out[..., 2])
    out[..., 1] = np.where(g_site, v, green)
    out[..., 2] = np.where(site == 0, other, out[..., 2])
    out[..., 0] = np.where(site == 2, other, out[..., 0])
    return out


def develop_reference(
    data: np.ndarray,
    params: CameraParams,
    *,
    layout: Layout = "bayer",
    demosaic: DemosaicMethod = "bilinear",
    output: Output = "srgb",
    dtype: type | np.dtype = np.uint8,
) -> np.ndarray:
    """NumPy twin of `_develop_mosaic` / `_develop_linear`; returns (H, W, 3)."""
    if data.dtype == np.uint16:
        black, white = params.black_level, params.white_level
        values = np.maximum((data.astype(np.float64) - black) / (white - black), 0.0)
    else:
        values = np.maximum(data.astype(np.float64), 0.0)
    if layout == "packed":
        values = unpack(values, params.cfa)
        layout = "bayer"
    gains = 1.0 / params.wb_gains
    if layout == "linear":
        cam = values
    else:
        if not params.highlight_blend:  # saturate each site after its gain, as LibRaw
            limits = np.tile(
                gains[cfa_channels(params.cfa)], (values.shape[0] // 2, values.shape[1] // 2)
            )
            values = np.minimum(values, limits)
        cam = demosaic_reference(values, params.cfa, demosaic)
    cam = undo_inverse_gains(np.clip(cam, 0.0, 1.0), gains, blend=params.highlight_blend)
    if not params.highlight_blend:
        cam = np.clip(cam, 0.0, 1.0)
    srgb = np.clip(cam @ params.cam2rgb.T, 0.0, 1.0)
    if output == "srgb":
        srgb = tone_map(gamma_compress(srgb, params.gamma), params.tone)
    dtype = np.dtype(dtype)
    top = float(np.iinfo(dtype).max) if dtype.kind == "u" else 1.0
    return _scale(srgb, dtype, 0.0, top)
