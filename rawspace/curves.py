"""Tone curves and gammas, forward and inverse, and the look-up tables built from them.

All functions take and return float arrays of any shape with values in [0, 1]
(inputs are clipped to [0, 1] first, as Brooks et al. do).

Forward ("develop") direction: linear → :func:`gamma_compress` → :func:`tone_map`.
Inverse ("unprocess") direction: :func:`inverse_tone_map` → :func:`gamma_expand` → linear.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .hints import GAMMAS, TONES, Gamma, Tone
from .spec import (
    GAMMA_CURVES,
    GAMMA_FLOOR,
    POWER_GAMMA,
    SRGB_EXPONENT,
    SRGB_KNEE,
    SRGB_LINEAR_KNEE,
    SRGB_OFFSET,
    SRGB_SCALE,
    SRGB_SLOPE,
    TONE_CURVES,
)

__all__ = [
    "GAMMA_FLOOR",
    "gamma_code",
    "gamma_compress",
    "gamma_expand",
    "inverse_tone_map",
    "linearize_lut",
    "render_thresholds",
    "tone_code",
    "tone_map",
]

_SMOOTHSTEP = TONE_CURVES["smoothstep"].code
_POWER = GAMMA_CURVES["power2.2"].code


def tone_code(tone: Tone) -> int:
    """Integer code of a tone curve for the kernels: ``TONE_CURVES[tone].code``.

    Examples
    --------
    >>> tone_code("none"), tone_code("smoothstep")
    (0, 1)
    """
    if tone not in TONE_CURVES:
        raise ValueError(f"tone must be one of {TONES}, got {tone!r}")
    return TONE_CURVES[tone].code


def gamma_code(gamma: Gamma) -> int:
    """Integer code of a gamma for the kernels: ``GAMMA_CURVES[gamma].code``.

    Examples
    --------
    >>> gamma_code("power2.2"), gamma_code("srgb")
    (0, 1)
    """
    if gamma not in GAMMA_CURVES:
        raise ValueError(f"gamma must be one of {GAMMAS}, got {gamma!r}")
    return GAMMA_CURVES[gamma].code


def tone_map(x: np.ndarray, tone: Tone = "smoothstep") -> np.ndarray:
    """Apply the tone curve: smoothstep ``3x² − 2x³`` or the identity."""
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    if tone_code(tone) != _SMOOTHSTEP:
        return x
    return 3.0 * x**2 - 2.0 * x**3


def inverse_tone_map(y: np.ndarray, tone: Tone = "smoothstep") -> np.ndarray:
    """Invert :func:`tone_map`: ``0.5 − sin(asin(1 − 2y) / 3)`` for smoothstep."""
    y = np.clip(np.asarray(y, dtype=np.float64), 0.0, 1.0)
    if tone_code(tone) != _SMOOTHSTEP:
        return y
    return 0.5 - np.sin(np.arcsin(1.0 - 2.0 * y) / 3.0)


def gamma_expand(x: np.ndarray, gamma: Gamma = "power2.2") -> np.ndarray:
    """Gamma-encoded → linear: ``max(x, 1e-8) ** 2.2`` or the exact sRGB EOTF."""
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    if gamma_code(gamma) == _POWER:
        return np.maximum(x, GAMMA_FLOOR) ** POWER_GAMMA
    return np.where(
        x <= SRGB_KNEE, x / SRGB_SLOPE, ((x + SRGB_OFFSET) / SRGB_SCALE) ** SRGB_EXPONENT
    )


def gamma_compress(x: np.ndarray, gamma: Gamma = "power2.2") -> np.ndarray:
    """Linear → gamma-encoded: ``max(x, 1e-8) ** (1 / 2.2)`` or the exact sRGB OETF."""
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    if gamma_code(gamma) == _POWER:
        return np.maximum(x, GAMMA_FLOOR) ** (1.0 / POWER_GAMMA)
    return np.where(
        x <= SRGB_LINEAR_KNEE,
        SRGB_SLOPE * x,
        SRGB_SCALE * x ** (1.0 / SRGB_EXPONENT) - SRGB_OFFSET,
    )


def linearize_lut(dtype: np.dtype | type, tone: Tone, gamma: Gamma) -> np.ndarray:
    """Linear value of every code of an integer image: inverse tone, then gamma expansion.

    Parameters
    ----------
    dtype : numpy.uint8 or numpy.uint16
        Integer type of the image; code ``k`` stands for ``k / max``.
    tone, gamma : str
        Curves of the rendering to undo.

    Returns
    -------
    numpy.ndarray, shape (256,) or (65536,), float64, read-only
        Cached: the same table is returned for the same arguments.
    """
    return _linearize_lut(np.dtype(dtype), tone, gamma)


@lru_cache(maxsize=16)
def _linearize_lut(dtype: np.dtype, tone: Tone, gamma: Gamma) -> np.ndarray:
    if dtype not in (np.dtype(np.uint8), np.dtype(np.uint16)):
        raise ValueError(f"dtype must be uint8 or uint16, got {dtype}")
    codes = np.arange(np.iinfo(dtype).max + 1, dtype=np.float64) / np.iinfo(dtype).max
    table = gamma_expand(inverse_tone_map(codes, tone), gamma)
    table.setflags(write=False)
    return table


def render_thresholds(tone: Tone, gamma: Gamma) -> tuple[np.ndarray, np.ndarray]:
    """Linear values at which the rendered 8-bit code steps up, and a grid index of them.

    ``round(255 * tone_map(gamma_compress(v)))`` equals the number of thresholds
    ``<= v``: entry ``k`` is the linear value whose rendering is ``(k + 0.5) / 255``.

    Returns
    -------
    thresholds : numpy.ndarray, shape (255,), float64, increasing
    start : numpy.ndarray, shape (16385,), uint8
        ``start[i]`` is the number of thresholds ``<= i / 16384``.

    Both are read-only and cached.
    """
    return _render_thresholds(tone, gamma)


_GRID = 16384


@lru_cache(maxsize=8)
def _render_thresholds(tone: Tone, gamma: Gamma) -> tuple[np.ndarray, np.ndarray]:
    steps = (np.arange(255, dtype=np.float64) + 0.5) / 255.0
    thresholds = gamma_expand(inverse_tone_map(steps, tone), gamma)
    grid = np.arange(_GRID + 1, dtype=np.float64) / _GRID
    start = np.searchsorted(thresholds, grid, side="right").astype(np.uint8)
    thresholds.setflags(write=False)
    start.setflags(write=False)
    return thresholds, start
