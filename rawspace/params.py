"""Camera parameters: colour matrix, gains, CFA, levels and curves.

The parameters follow Brooks et al., "Unprocessing Images for Learned Raw
Denoising" (CVPR 2019): a camera is described by its sRGB→camera colour
matrix, a digital gain, red and blue white-balance gains, its Bayer pattern
and its black and white levels, plus the tone curve and gamma that its
(simulated) image pipeline applied.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Literal

import numpy as np

from .catalogue import Camera, select_cameras
from .hints import CFA_PATTERNS, GAMMAS, TONES, Cfa, Gamma, Tone
from .spec import (
    BLUE_GAIN_RANGE,
    CCM_WEIGHT_RANGE,
    HIGHLIGHT_START,
    RED_GAIN_RANGE,
    RGB2XYZ,
    RGB_GAIN_INVERSE,
    XYZ2CAM_PRESETS,
)

__all__ = [
    "GAIN_RANGE",
    "HIGHLIGHT_START",
    "RGB2XYZ",
    "XYZ2CAM_PRESETS",
    "CameraParams",
    "GainModel",
    "MatrixModel",
    "NoiseProfile",
    "as_rng",
    "daylight_gains",
]

#: Where :meth:`CameraParams.sample` takes its colour matrix from.
MatrixModel = Literal["brooks", "catalogue"]
#: Where :meth:`CameraParams.sample` takes its white-balance gains from.
GainModel = Literal["brooks", "daylight"]
#: A DNG noise profile: one ``(S, O)`` pair per colour plane (or one for all planes);
#: the variance of a normalised raw value ``x`` is ``S * x + O``.
NoiseProfile = tuple[tuple[float, float], ...]

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
    """Return a NumPy ``Generator`` for an integer seed, a generator or ``None``.

    Examples
    --------
    >>> rng = as_rng(3)
    >>> as_rng(rng) is rng, float(as_rng(3).random()) == float(np.random.default_rng(3).random())
    (True, True)
    """
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


def daylight_gains(xyz2cam: Any) -> tuple[float, float]:
    """The red and blue white-balance gains of a camera under D65 daylight.

    A camera with XYZ→camera matrix ``M`` records the D65 white (``RGB2XYZ @ [1, 1, 1]``)
    as ``s = (M @ RGB2XYZ) @ [1, 1, 1]``, the row sums; its white balance scales the
    channels back to equal values, so ``red_gain = s[1] / s[0]`` and
    ``blue_gain = s[1] / s[2]``.

    Parameters
    ----------
    xyz2cam : array_like, shape (3, 3)
        XYZ (D65) → camera matrix, any scale.

    Returns
    -------
    (float, float)
        ``(red_gain, blue_gain)``.

    Raises
    ------
    ValueError
        The camera records the white with a channel that is not positive.

    Examples
    --------
    >>> red, blue = daylight_gains(XYZ2CAM_PRESETS[0])
    >>> round(red, 4), round(blue, 4)
    (2.4403, 1.2326)
    """
    matrix = np.asarray(xyz2cam, dtype=np.float64)
    if matrix.shape != (3, 3):
        raise ValueError(f"xyz2cam must have shape (3, 3), got {matrix.shape}")
    white = (matrix @ RGB2XYZ).sum(axis=1)
    if not np.all(white > 0):
        raise ValueError(
            f"xyz2cam records the D65 white as {white.tolist()}: every channel must be positive"
        )
    return float(white[1] / white[0]), float(white[1] / white[2])


def _check_noise_profile(value: Any) -> NoiseProfile:
    """``value`` as a tuple of ``(S, O)`` float pairs (1 or 3), or a ValueError."""
    try:
        pairs = tuple((float(s), float(o)) for s, o in value)
    except (TypeError, ValueError):
        raise ValueError(
            f"noise_profile must be (S, O) pairs, one per colour plane or one for all, "
            f"got {value!r}"
        ) from None
    if len(pairs) not in (1, 3):
        raise ValueError(
            f"noise_profile must hold 1 or 3 (S, O) pairs, got {len(pairs)}: {value!r}"
        )
    for s, o in pairs:
        if not (math.isfinite(s) and math.isfinite(o)) or s < 0 or o < 0:
            raise ValueError(f"noise_profile values must be finite and >= 0, got {value!r}")
    return pairs


def _draw_catalogue_matrix(
    rng: np.random.Generator, pool: tuple[Camera, ...], mix: bool
) -> tuple[np.ndarray, str]:
    """A catalogue camera's XYZ→camera matrix (or a mix of two of one maker) and its name."""
    first = pool[int(rng.integers(len(pool)))]
    if not mix:
        return first.xyz2cam, first.name
    partners = [camera for camera in pool if camera.maker == first.maker and camera != first]
    if not partners:
        return first.xyz2cam, first.name
    second = partners[int(rng.integers(len(partners)))]
    weight = float(rng.uniform())
    xyz2cam = weight * first.xyz2cam + (1.0 - weight) * second.xyz2cam
    return xyz2cam, f"{weight:.3f} {first.name} + {1.0 - weight:.3f} {second.name}"


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
    name : str, optional
        The camera's name, e.g. ``"Nikon D850"`` for a catalogue camera (see
        :mod:`rawspace.catalogue`); None for a camera without one.
    noise_profile : tuple of (float, float), optional
        The sensor's noise as a DNG NoiseProfile: ``(S, O)`` per colour plane (R, G, B)
        or one pair for all, the variance of a raw value ``x`` in [0, 1] being
        ``S * x + O`` (Brooks et al.'s shot and read variance). ``invert(...,
        noise="camera")`` adds this noise.

    Notes
    -----
    Instances are immutable and compare equal when every field is equal;
    ``dataclasses.replace(params, ...)`` gives a changed copy, validated again.
    ``rgb2cam`` is stored as a read-only float64 array. A camera of a real raw
    file comes from :func:`rawspace.read_camera`. :meth:`to_dict` leaves ``name``
    and ``noise_profile`` out while they are None.

    Examples
    --------
    >>> params = CameraParams.sample(0)
    >>> round(params.red_gain, 4), params.cfa
    (2.3564, 'RGGB')
    >>> CameraParams.from_json(params.to_json()) == params
    True
    >>> import numpy as np
    >>> np.allclose(params.rgb2cam.sum(axis=1), 1.0)
    True
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
    name: str | None = None
    noise_profile: NoiseProfile | None = None
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
        if self.name is not None and not isinstance(self.name, str):
            raise TypeError(f"name must be a str or None, got {type(self.name).__name__}")
        if self.noise_profile is not None:
            object.__setattr__(self, "noise_profile", _check_noise_profile(self.noise_profile))

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

        Examples
        --------
        >>> params = CameraParams.from_xyz2cam(
        ...     XYZ2CAM_PRESETS[0], rgb_gain=1.0, red_gain=2.0, blue_gain=1.5
        ... )
        >>> np.allclose(params.rgb2cam @ np.ones(3), 1.0)
        True
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
        matrices: MatrixModel = "brooks",
        include: Iterable[Camera | str] | None = None,
        exclude: Iterable[Camera | str] | None = None,
        mix: bool = False,
        gains: GainModel = "brooks",
        cfa: Cfa = "RGGB",
        black_level: int = 0,
        white_level: int = 16383,
        tone: Tone = "smoothstep",
        gamma: Gamma = "power2.2",
    ) -> CameraParams:
        """Draw a random camera: as Brooks et al. do, or a real camera of the catalogue.

        ``matrices="brooks"`` (the default): the colour matrix is a random convex
        combination of four real cameras' XYZ→camera matrices with weights
        ``U(1e-8, 1e8)``; ``rgb_gain = 1 / N(0.8, 0.1)``, ``red_gain ~ U(1.9, 2.4)``,
        ``blue_gain ~ U(1.5, 1.9)``, drawn in this order.

        ``matrices="catalogue"``: a camera drawn uniformly from the cameras of
        :mod:`rawspace.catalogue` that ``include`` and ``exclude`` leave (with ``mix``, a
        second camera of the same maker and a weight ``w ~ U(0, 1)``: the matrix is
        ``w * first + (1 - w) * second``), then the gains as above. The result's
        ``name`` says which camera (or mix) it is.

        Parameters
        ----------
        seed_or_rng : int, numpy.random.Generator or None
            Seed or generator; the same seed gives the same camera.
        matrices : {"brooks", "catalogue"}, default "brooks"
            Where the colour matrix comes from.
        include, exclude : iterable of Camera or str, optional
            With ``matrices="catalogue"``: the cameras to draw from (cameras, their
            names or their makers; default all) and those to leave out, e.g.
            ``include=rawspace.catalogue.held_out_cameras()``.
        mix : bool, default False
            With ``matrices="catalogue"``: mix two cameras of one maker (a maker with
            a single camera in the pool gives that camera).
        gains : {"brooks", "daylight"}, default "brooks"
            ``"brooks"``: red and blue gains drawn as above. ``"daylight"``: the
            camera's own D65 white balance (:func:`daylight_gains` of the matrix);
            only ``rgb_gain`` is drawn.
        cfa, black_level, white_level, tone, gamma
            Fixed fields of the result (see the class).

        Examples
        --------
        >>> CameraParams.sample(0) == CameraParams.sample(0)
        True
        >>> from rawspace.catalogue import held_out_cameras
        >>> camera = CameraParams.sample(1, matrices="catalogue", include=held_out_cameras())
        >>> camera.name in {c.name for c in held_out_cameras()}
        True
        """
        if matrices not in ("brooks", "catalogue"):
            raise ValueError(f"matrices must be 'brooks' or 'catalogue', got {matrices!r}")
        if gains not in ("brooks", "daylight"):
            raise ValueError(f"gains must be 'brooks' or 'daylight', got {gains!r}")
        rng = as_rng(seed_or_rng)
        name = None
        if matrices == "brooks":
            if include is not None or exclude is not None or mix:
                raise ValueError(
                    "include, exclude and mix choose catalogue cameras: pass "
                    "matrices='catalogue' with them"
                )
            weights = rng.uniform(*CCM_WEIGHT_RANGE, size=len(XYZ2CAM_PRESETS))
            xyz2cam = np.tensordot(weights, XYZ2CAM_PRESETS, axes=1) / weights.sum()
        else:
            xyz2cam, name = _draw_catalogue_matrix(rng, select_cameras(include, exclude), mix)
        rgb_gain = 1.0 / rng.normal(*RGB_GAIN_INVERSE)
        if gains == "brooks":
            red_gain = rng.uniform(*RED_GAIN_RANGE)
            blue_gain = rng.uniform(*BLUE_GAIN_RANGE)
        else:
            red_gain, blue_gain = daylight_gains(xyz2cam)
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
            name=name,
        )

    # -------------------------------------------------------------- JSON round trip
    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (lists, floats, ints, strings), JSON-serialisable and exact.

        ``name`` and ``noise_profile`` are present only when set.
        """
        values = {name: getattr(self, name) for name in _FIELDS}
        values["rgb2cam"] = self.rgb2cam.tolist()
        for name in _OPTIONAL:
            if values[name] is None:
                del values[name]
        if self.noise_profile is not None:
            values["noise_profile"] = [list(pair) for pair in self.noise_profile]
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
            f"tone={self.tone!r}, gamma={self.gamma!r}, highlight_blend={self.highlight_blend}"
            + "".join(f", {n}={getattr(self, n)!r}" for n in _OPTIONAL if getattr(self, n))
            + ")"
        )


#: The fields of a camera, in order (the derived ``_cam2rgb`` is not one).
_FIELDS = tuple(f.name for f in fields(CameraParams) if f.init)
_REQUIRED = tuple(f.name for f in fields(CameraParams) if f.init and f.default is MISSING)
#: Fields that :meth:`CameraParams.to_dict` leaves out while they are None.
_OPTIONAL = ("name", "noise_profile")
