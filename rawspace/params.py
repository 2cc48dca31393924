"""Camera parameters: colour matrix, gains, CFA, levels and curves.

The parameters follow Brooks et al., "Unprocessing Images for Learned Raw
Denoising" (CVPR 2019): a camera is described by its sRGB→camera colour
matrix, a digital gain, red and blue white-balance gains, its Bayer pattern
and its black and white levels, plus the tone curve and gamma that its
(simulated) image pipeline applied.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

import numpy as np

from .hints import CFA_PATTERNS, GAMMAS, TONES, Cfa, Gamma, Tone

__all__ = [
    "GAIN_RANGE",
    "HIGHLIGHT_START",
    "RGB2XYZ",
    "XYZ2CAM_PRESETS",
    "CameraParams",
    "as_rng",
]

#: sRGB (linear, D65) to CIE XYZ.
RGB2XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
RGB2XYZ.setflags(write=False)

#: XYZ→camera matrices of the four cameras that Brooks et al. sample between.
XYZ2CAM_PRESETS = np.array(
    [
        [[1.0234, -0.2969, -0.2266], [-0.5625, 1.6328, -0.0469], [-0.0703, 0.2188, 0.6406]],
        [[0.4913, -0.0541, -0.0202], [-0.613, 1.3513, 0.2906], [-0.1564, 0.2151, 0.7183]],
        [[0.838, -0.263, -0.0639], [-0.2887, 1.0725, 0.2496], [-0.0627, 0.1427, 0.5438]],
        [[0.6596, -0.2079, -0.0562], [-0.4782, 1.3016, 0.1933], [-0.097, 0.1581, 0.5181]],
    ]
)
XYZ2CAM_PRESETS.setflags(write=False)

#: Gray level above which Brooks' inverse gains blend towards 1 to keep highlights.
HIGHLIGHT_START = 0.9

#: Smallest and largest gain a camera may apply (each gain, and each channel's
#: effective gain ``rgb_gain * red_gain``, ``rgb_gain``, ``rgb_gain * blue_gain``).
#: The kernels multiply values in [0, 1] by these gains and by their inverses in
#: float64; within this range every product stays finite and far from overflow, and
#: the range is 10**5 times wider on each side than any real camera needs (white
#: balance gains of 1 to 4, digital gains of 0.25 to 4). Beyond it a 16-bit raw
#: image would be all black or all white anyway.
GAIN_RANGE = (1e-6, 1e6)

_ROW_SUM_TOL = 1e-6
_MAX_CONDITION = 1e8


def as_rng(seed_or_rng: int | np.random.Generator | None) -> np.random.Generator:
    """Return a NumPy ``Generator`` for an integer seed, a generator or ``None``."""
    if isinstance(seed_or_rng, np.random.Generator):
        return seed_or_rng
    if seed_or_rng is None or isinstance(seed_or_rng, (int, np.integer)):
        if seed_or_rng is not None and seed_or_rng < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed_or_rng!r}")
        return np.random.default_rng(seed_or_rng)
    raise TypeError(
        f"seed must be an int, a numpy.random.Generator or None, got {type(seed_or_rng).__name__}"
    )


def _check_gain(name: str, value: float, detail: str = "") -> float:
    """``value`` if it lies in :data:`GAIN_RANGE`, else a ValueError naming ``name``."""
    low, high = GAIN_RANGE
    if not low <= value <= high:  # NaN fails too
        raise ValueError(f"{name} must be in [{low:g}, {high:g}], got {value!r}{detail}")
    return value


def _normalise_rows(matrix: np.ndarray) -> np.ndarray:
    sums = matrix.sum(axis=1, keepdims=True)
    if np.any(np.abs(sums) < 1e-12):
        raise ValueError(f"colour matrix has a row that sums to zero: {matrix.tolist()}")
    return matrix / sums


@dataclass(frozen=True, eq=False)
class CameraParams:
    """Parameters of one simulated (or real) camera.

    Parameters
    ----------
    rgb2cam : array_like, shape (3, 3)
        Linear sRGB → camera RGB matrix, applied per pixel as ``cam = rgb2cam @ rgb``.
        Each row sums to 1, so white stays white before white balance.
    rgb_gain : float
        Digital (exposure) gain. The inverse pipeline divides by it.
    red_gain, blue_gain : float
        White-balance gains of the red and blue channels (green is 1). Every gain,
        and the effective gains ``rgb_gain * red_gain`` and ``rgb_gain * blue_gain``,
        must lie in :data:`GAIN_RANGE` (1e-6 to 1e6).
    cfa : {"RGGB", "BGGR", "GRBG", "GBRG"}
        Bayer pattern, named by the top-left 2×2 block read row by row.
    black_level : int, default 0
        Raw value of black, ``0 <= black_level < white_level``.
    white_level : int, default 16383
        Raw value of saturation (14-bit by default), at most 65535.
    tone : {"smoothstep", "none"}, default "smoothstep"
        Tone curve of the camera's rendering: ``3x² − 2x³`` or none.
    gamma : {"power2.2", "srgb"}, default "power2.2"
        Gamma of the rendering: the pure 2.2 power of Brooks et al. or the
        exact piecewise sRGB curve.
    highlight_blend : bool, default True
        Brooks' highlight-preserving inverse gains: above a gray level of 0.9 the
        gains blend towards 1, so bright pixels do not clip when a gain exceeds 1.
        False gives the plain white balance of a real camera (as LibRaw applies
        it), which `rawspace.read_raw` uses for camera files.

    Notes
    -----
    Instances are immutable and compare equal when every field is equal;
    ``dataclasses.replace(params, ...)`` gives a changed copy, validated again.
    ``rgb2cam`` is stored as a read-only float64 array. A camera of a real raw
    file comes from :func:`rawspace.read_camera`.
    """

    rgb2cam: np.ndarray
    rgb_gain: float
    red_gain: float
    blue_gain: float
    cfa: Cfa = "RGGB"
    black_level: int = 0
    white_level: int = 16383
    tone: Tone = "smoothstep"
    gamma: Gamma = "power2.2"
    highlight_blend: bool = True
    _cam2rgb: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        matrix = np.array(self.rgb2cam, dtype=np.float64, copy=True)
        if matrix.shape != (3, 3):
            raise ValueError(f"rgb2cam must have shape (3, 3), got {matrix.shape}")
        if not np.all(np.isfinite(matrix)):
            raise ValueError(f"rgb2cam must be finite, got {matrix.tolist()}")
        sums = matrix.sum(axis=1)
        if np.any(np.abs(sums - 1.0) > _ROW_SUM_TOL):
            raise ValueError(
                f"rgb2cam rows must sum to 1 (got row sums {sums.tolist()}); "
                "use CameraParams.from_xyz2cam() to normalise a camera matrix"
            )
        if np.linalg.cond(matrix) > _MAX_CONDITION:
            raise ValueError(f"rgb2cam is singular or nearly so: {matrix.tolist()}")
        matrix.setflags(write=False)
        inverse = np.linalg.inv(matrix)
        inverse.setflags(write=False)
        object.__setattr__(self, "rgb2cam", matrix)
        object.__setattr__(self, "_cam2rgb", inverse)

        for name in ("rgb_gain", "red_gain", "blue_gain"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
            object.__setattr__(self, name, _check_gain(name, float(value)))
        for name in ("red_gain", "blue_gain"):
            # The kernels apply these products and their inverses: check them, not only
            # their factors.
            value = getattr(self, name)
            _check_gain(
                f"rgb_gain * {name}",
                self.rgb_gain * value,
                f" (rgb_gain={self.rgb_gain!r}, {name}={value!r})",
            )

        if self.cfa not in CFA_PATTERNS:
            raise ValueError(f"cfa must be one of {CFA_PATTERNS}, got {self.cfa!r}")
        if self.tone not in TONES:
            raise ValueError(f"tone must be one of {TONES}, got {self.tone!r}")
        if self.gamma not in GAMMAS:
            raise ValueError(f"gamma must be one of {GAMMAS}, got {self.gamma!r}")
        if not isinstance(self.highlight_blend, (bool, np.bool_)):
            raise TypeError(
                f"highlight_blend must be a bool, got {type(self.highlight_blend).__name__}"
            )
        object.__setattr__(self, "highlight_blend", bool(self.highlight_blend))

        for name in ("black_level", "white_level"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
            if not float(value).is_integer():
                raise ValueError(f"{name} must be an integer, got {value!r}")
            object.__setattr__(self, name, int(value))
        if not 0 <= self.black_level < self.white_level <= 65535:
            raise ValueError(
                "levels must satisfy 0 <= black_level < white_level <= 65535, got "
                f"black_level={self.black_level}, white_level={self.white_level}"
            )

    # ------------------------------------------------------------------ derived
    @property
    def cam2rgb(self) -> np.ndarray:
        """Camera RGB → linear sRGB, the inverse of ``rgb2cam`` (read-only, 3×3)."""
        return self._cam2rgb

    @property
    def xyz2cam(self) -> np.ndarray:
        """CIE XYZ (D65) → camera matrix, ``rgb2cam @ inv(RGB2XYZ)``.

        Its rows are scaled so that ``xyz2cam @ RGB2XYZ`` has rows summing to 1,
        which is the normalisation raw developers (and LibRaw) apply anyway.
        """
        return self.rgb2cam @ np.linalg.inv(RGB2XYZ)

    @property
    def wb_gains(self) -> np.ndarray:
        """Per-channel gains of the forward pipeline, ``[red, 1, blue] * rgb_gain``."""
        return np.array([self.red_gain, 1.0, self.blue_gain]) * self.rgb_gain

    # ---------------------------------------------------------------- creators
    @classmethod
    def from_xyz2cam(cls, xyz2cam: Any, **kwargs: Any) -> CameraParams:
        """Build parameters from an XYZ→camera matrix (any row scale).

        ``rgb2cam = xyz2cam @ RGB2XYZ`` with each row divided by its sum.
        The other fields are passed as keyword arguments.
        """
        matrix = np.asarray(xyz2cam, dtype=np.float64)
        if matrix.shape != (3, 3):
            raise ValueError(f"xyz2cam must have shape (3, 3), got {matrix.shape}")
        return cls(rgb2cam=_normalise_rows(matrix @ RGB2XYZ), **kwargs)

    @classmethod
    def sample(
        cls,
        seed_or_rng: int | np.random.Generator | None = None,
        *,
        cfa: Cfa = "RGGB",
        black_level: int = 0,
        white_level: int = 16383,
        tone: Tone = "smoothstep",
        gamma: Gamma = "power2.2",
    ) -> CameraParams:
        """Draw a random camera exactly as Brooks et al. do.

        The colour matrix is a random convex combination of four real cameras'
        XYZ→camera matrices with weights ``U(1e-8, 1e8)``; ``rgb_gain = 1 / N(0.8, 0.1)``,
        ``red_gain ~ U(1.9, 2.4)``, ``blue_gain ~ U(1.5, 1.9)``, drawn in this order.

        Parameters
        ----------
        seed_or_rng : int, numpy.random.Generator or None
            Seed or generator; the same seed gives the same camera.
        cfa, black_level, white_level, tone, gamma
            Fixed fields of the result (see the class).
        """
        rng = as_rng(seed_or_rng)
        weights = rng.uniform(1e-8, 1e8, size=len(XYZ2CAM_PRESETS))
        xyz2cam = np.tensordot(weights, XYZ2CAM_PRESETS, axes=1) / weights.sum()
        rgb_gain = 1.0 / rng.normal(0.8, 0.1)
        red_gain = rng.uniform(1.9, 2.4)
        blue_gain = rng.uniform(1.5, 1.9)
        return cls.from_xyz2cam(
            xyz2cam,
            rgb_gain=rgb_gain,
            red_gain=red_gain,
            blue_gain=blue_gain,
            cfa=cfa,
            black_level=black_level,
            white_level=white_level,
            tone=tone,
            gamma=gamma,
        )

    # -------------------------------------------------------------- JSON round trip
    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (lists, floats, ints, strings), JSON-serialisable and exact."""
        values = {name: getattr(self, name) for name in _FIELDS}
        values["rgb2cam"] = self.rgb2cam.tolist()
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> CameraParams:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        if not isinstance(values, dict):
            raise TypeError(f"values must be a dict, got {type(values).__name__}")
        unknown = sorted(set(values) - set(_FIELDS))
        if unknown:
            raise ValueError(f"unknown CameraParams fields: {unknown}")
        missing = sorted(set(_REQUIRED) - set(values))
        if missing:
            raise ValueError(f"missing CameraParams fields: {missing}")
        return cls(**values)

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict` (floats written with full precision)."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> CameraParams:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    # -------------------------------------------------------------- comparison
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CameraParams):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def __repr__(self) -> str:
        matrix = np.array2string(self.rgb2cam, precision=4, separator=", ")
        return (
            f"CameraParams(rgb2cam={matrix}, rgb_gain={self.rgb_gain:.4f}, "
            f"red_gain={self.red_gain:.4f}, blue_gain={self.blue_gain:.4f}, cfa={self.cfa!r}, "
            f"black_level={self.black_level}, white_level={self.white_level}, "
            f"tone={self.tone!r}, gamma={self.gamma!r}, highlight_blend={self.highlight_blend})"
        )


#: The fields of a camera, in order (the derived ``_cam2rgb`` is not one).
_FIELDS = tuple(f.name for f in fields(CameraParams) if f.init)
_REQUIRED = tuple(f.name for f in fields(CameraParams) if f.init and f.default is MISSING)
