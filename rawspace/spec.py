"""The specification of the pipeline in one place: Brooks et al.'s constants, the sRGB
curve's constants, and the registries of tone curves and gammas with their kernel codes.

Every implementation of the pipeline reads its numbers from here: the Numba kernels
(`rawspace._kernels`, which see these floats as compile-time globals), their NumPy
twins (`rawspace._reference`), the curves (`rawspace.curves`), the camera sampler, the
noise model and the torch backend of the add-on. This module imports only NumPy and
`rawspace.hints`.

The curve vocabulary is two registries, :data:`TONE_CURVES` and :data:`GAMMA_CURVES`,
mapping each name to a record with its integer ``code``; a (tone, gamma) pair has the
index :func:`curve_pair_index` into :data:`CURVE_PAIRS`, so that tables with one row
per pair never spell the arithmetic out.

Sources: Brooks et al., "Unprocessing Images for Learned Raw Denoising" (CVPR 2019);
IEC 61966-2-1 (sRGB).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Generic, TypeVar

import numpy as np

from .hints import GAMMAS, TONES, Gamma, Tone

__all__ = [
    "BLUE_GAIN_RANGE",
    "CCM_WEIGHT_RANGE",
    "CURVE_PAIRS",
    "GAMMA_CURVES",
    "GAMMA_FLOOR",
    "HIGHLIGHT_SLOPE",
    "HIGHLIGHT_START",
    "HIGHLIGHT_WIDTH",
    "LOG_READ_OFFSET",
    "LOG_READ_SIGMA",
    "LOG_READ_SLOPE",
    "LOG_SHOT_RANGE",
    "POWER_GAMMA",
    "RED_GAIN_RANGE",
    "RGB2XYZ",
    "RGB_GAIN_INVERSE",
    "SRGB_EXPONENT",
    "SRGB_KNEE",
    "SRGB_LINEAR_KNEE",
    "SRGB_OFFSET",
    "SRGB_SCALE",
    "SRGB_SLOPE",
    "TONE_CURVES",
    "XYZ2CAM_PRESETS",
    "Curve",
    "curve_pair_index",
]

# ----------------------------------------------------------------------------- colour
#: sRGB (linear, D65) to CIE XYZ.
RGB2XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
RGB2XYZ.setflags(write=False)

#: XYZ→camera matrices of the four cameras that Brooks et al. sample between, (4, 3, 3).
XYZ2CAM_PRESETS = np.array(
    [
        [[1.0234, -0.2969, -0.2266], [-0.5625, 1.6328, -0.0469], [-0.0703, 0.2188, 0.6406]],
        [[0.4913, -0.0541, -0.0202], [-0.613, 1.3513, 0.2906], [-0.1564, 0.2151, 0.7183]],
        [[0.838, -0.263, -0.0639], [-0.2887, 1.0725, 0.2496], [-0.0627, 0.1427, 0.5438]],
        [[0.6596, -0.2079, -0.0562], [-0.4782, 1.3016, 0.1933], [-0.097, 0.1581, 0.5181]],
    ]
)
XYZ2CAM_PRESETS.setflags(write=False)

# ----------------------------------------------------------------------------- random camera
#: Range of the uniform weights of the random mix of :data:`XYZ2CAM_PRESETS`.
CCM_WEIGHT_RANGE = (1e-8, 1e8)
#: Mean and standard deviation of ``1 / rgb_gain`` (normal).
RGB_GAIN_INVERSE = (0.8, 0.1)
#: Range of the red white-balance gain (uniform).
RED_GAIN_RANGE = (1.9, 2.4)
#: Range of the blue white-balance gain (uniform).
BLUE_GAIN_RANGE = (1.5, 1.9)

# ----------------------------------------------------------------------------- highlight blend
#: Gray level above which the inverse gains blend towards 1 to keep highlights.
HIGHLIGHT_START = 0.9
#: Width of the blend: its weight is ``(max(gray - start, 0) / width) ** 2``.
HIGHLIGHT_WIDTH = 0.1
#: ``1 / HIGHLIGHT_WIDTH`` (exactly 10.0 in float64), what the kernels multiply by.
HIGHLIGHT_SLOPE = 1.0 / HIGHLIGHT_WIDTH

# ----------------------------------------------------------------------------- gammas
#: Exponent of the pure power gamma ("power2.2").
POWER_GAMMA = 2.2
#: Values below this are raised to it before a power gamma (as in Brooks et al.).
GAMMA_FLOOR = 1e-8
#: Encoded value where the sRGB curve turns from linear to power.
SRGB_KNEE = 0.04045
#: Linear value where the sRGB curve turns from linear to power (``SRGB_KNEE / 12.92``).
SRGB_LINEAR_KNEE = 0.0031308
#: Slope of the linear segment of the sRGB curve.
SRGB_SLOPE = 12.92
#: Scale and offset of the power segment: ``encoded = 1.055 * x ** (1 / 2.4) - 0.055``.
SRGB_SCALE = 1.055
SRGB_OFFSET = 0.055
#: Exponent of the power segment of the sRGB curve.
SRGB_EXPONENT = 2.4

# ----------------------------------------------------------------------------- noise
#: Range of ``ln(shot)`` (uniform; natural logarithms).
LOG_SHOT_RANGE = (math.log(1e-4), math.log(0.012))
#: ``ln(read) = LOG_READ_SLOPE * ln(shot) + LOG_READ_OFFSET + N(0, LOG_READ_SIGMA)``.
LOG_READ_SLOPE = 2.18
LOG_READ_OFFSET = 1.20
LOG_READ_SIGMA = 0.26


# ----------------------------------------------------------------------------- registries
_Name = TypeVar("_Name", Tone, Gamma)


@dataclass(frozen=True)
class Curve(Generic[_Name]):
    """A curve of the vocabulary: a tone curve or a gamma.

    Attributes
    ----------
    name : str
        Its option string (:data:`rawspace.hints.TONES` or :data:`rawspace.hints.GAMMAS`).
    code : int
        Its integer code in the kernels and in the torch camera table.
    formula : str
        The forward curve ``y(x)`` on [0, 1] (for a gamma: the encoding of a linear value).
    """

    name: _Name
    code: int
    formula: str


#: Tone curves by name; code 0 is the identity.
TONE_CURVES: Mapping[Tone, Curve[Tone]] = MappingProxyType(
    {
        "none": Curve("none", 0, "x"),
        "smoothstep": Curve("smoothstep", 1, "3 x**2 - 2 x**3"),
    }
)

#: Gammas by name; code 0 is the power curve of Brooks et al.
GAMMA_CURVES: Mapping[Gamma, Curve[Gamma]] = MappingProxyType(
    {
        "power2.2": Curve("power2.2", 0, f"max(x, {GAMMA_FLOOR}) ** (1 / {POWER_GAMMA})"),
        "srgb": Curve(
            "srgb",
            1,
            f"{SRGB_SLOPE} x if x <= {SRGB_LINEAR_KNEE} "
            f"else {SRGB_SCALE} x ** (1 / {SRGB_EXPONENT}) - {SRGB_OFFSET}",
        ),
    }
)


def curve_pair_index(tone: Tone, gamma: Gamma) -> int:
    """Index of a (tone, gamma) pair in :data:`CURVE_PAIRS`.

    Tables with one row per pair of curves (the torch backend's look-up tables) use it.

    Examples
    --------
    >>> curve_pair_index("smoothstep", "power2.2")
    2
    >>> CURVE_PAIRS[curve_pair_index("none", "srgb")]
    ('none', 'srgb')
    """
    if tone not in TONE_CURVES:
        raise ValueError(f"tone must be one of {TONES}, got {tone!r}")
    if gamma not in GAMMA_CURVES:
        raise ValueError(f"gamma must be one of {GAMMAS}, got {gamma!r}")
    return TONE_CURVES[tone].code * len(GAMMA_CURVES) + GAMMA_CURVES[gamma].code


def _pairs() -> tuple[tuple[Tone, Gamma], ...]:
    tones = sorted(TONE_CURVES.values(), key=lambda c: c.code)
    gammas = sorted(GAMMA_CURVES.values(), key=lambda c: c.code)
    return tuple((t.name, g.name) for t in tones for g in gammas)


#: Every (tone, gamma) pair, at its :func:`curve_pair_index`.
CURVE_PAIRS: tuple[tuple[Tone, Gamma], ...] = _pairs()
